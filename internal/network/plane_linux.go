package network

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/gantry-dev/gantry/internal/network/netns"
	"github.com/gantry-dev/gantry/internal/network/nft"
	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Interface names inside the namespaces (each namespace has its own, so fixed names will do).
const (
	routerUplink = "up0"
	taskLink     = "eth0"
)

// Plane is the real data plane on this host.
type Plane struct {
	stateDir   string
	uplinks    netip.Prefix
	resolvConf string
	log        *slog.Logger

	mu     sync.Mutex
	vpcs   map[string]*vpcRuntime
	enis   map[string]*eniRecord
	closed bool // no spare is made after Close
	// written holds each record file's content as this process last wrote it, so that an
	// unchanged record is not written again (each write makes a new file: see writeRecordLocked).
	written map[string][]byte

	// names are the DNS names each VPC's resolver answers besides the private zone (load
	// balancers'), by VPC id; SetDNSNames replaces a VPC's.
	namesMu sync.RWMutex
	names   map[string]map[string][]netip.Addr
}

// vpcRecord is what the state dir keeps of a VPC; vpcRuntime adds the open handles.
type vpcRecord struct {
	VPC         VPC                     `json:"vpc"`
	UplinkIndex int                     `json:"uplink_index"`
	HostLink    string                  `json:"host_link"`
	Groups      []SecurityGroup         `json:"groups,omitempty"`
	Members     map[string][]netip.Addr `json:"members,omitempty"`
	ENIGroups   map[netip.Addr][]string `json:"eni_groups,omitempty"`
	// LocalAddrs are the router's own interface addresses (load balancer nodes) and their
	// groups: on the router's lo, and in the rules like an interface's (SetLocalAddrs).
	LocalAddrs map[netip.Addr][]string `json:"local_addrs,omitempty"`
}

type vpcRuntime struct {
	rec    vpcRecord
	nsPath string
	nsFile *os.File        // nil until the namespace exists
	nl     *netlink.Handle // netlink socket inside the router namespace
	// applied is the ruleset last applied by this process; nil after a restart or a failure,
	// which makes the next change apply whole.
	applied *nft.Ruleset
	// combos are the security group combinations this process's rules had chains for, kept
	// while no interface has them (nft.Spec.Combos); at most maxKeptCombos.
	combos map[string][]string
	// dns is the VPC's resolver, started by EnsureVPC; nil until then.
	dns *vpcResolver
	// spares are task namespaces made ahead for this VPC (spare_linux.go).
	spares []spare
}

// eniRecord is what the state dir keeps of an attached interface.
type eniRecord struct {
	ENI        ENI        `json:"eni"`
	Gateway    netip.Addr `json:"gateway"`
	NetnsPath  string     `json:"netns"`
	RouterLink string     `json:"router_link"`
	// detaching leaves the interface out of the rules while Detach removes it.
	detaching bool
}

// New returns a Plane; it touches nothing until the first call.
func New(cfg Config) (*Plane, error) {
	if cfg.StateDir == "" {
		return nil, fmt.Errorf("state dir is required: %w", ErrInvalid)
	}
	dir, err := filepath.Abs(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	p := cfg.HostUplinkPrefix
	if !p.IsValid() || !p.Addr().Is4() || p.Bits() > 30 {
		return nil, fmt.Errorf("host uplink prefix %s: want an IPv4 prefix of /30 or wider: %w", p, ErrInvalid)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Plane{
		stateDir: dir, uplinks: p.Masked(), resolvConf: cmp.Or(cfg.ResolvConf, "/etc/resolv.conf"),
		log:  log.With("component", "network"),
		vpcs: map[string]*vpcRuntime{}, enis: map[string]*eniRecord{}, written: map[string][]byte{},
	}, nil
}

// Close releases the Plane's handles and removes its spare namespaces. Networking stays as it
// is: tasks keep running and a new Plane's Recover picks them up.
func (p *Plane) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	var errs []error
	for _, rt := range p.vpcs {
		errs = append(errs, p.dropSparesLocked(rt))
		rt.stopResolver()
		rt.close()
	}
	return errors.Join(errs...)
}

func (rt *vpcRuntime) close() {
	if rt.nl != nil {
		rt.nl.Close()
		rt.nl = nil
	}
	if rt.nsFile != nil {
		rt.nsFile.Close()
		rt.nsFile = nil
	}
}

// open opens the router namespace's descriptor and netlink handle if it exists.
func (rt *vpcRuntime) open() error {
	if rt.nl != nil {
		return nil
	}
	f, err := netns.Open(rt.nsPath)
	if err != nil {
		return err
	}
	h, err := netlink.NewHandleAt(nsHandle(f))
	if err != nil {
		f.Close()
		return fmt.Errorf("netlink in %s: %w", rt.nsPath, err)
	}
	rt.nsFile, rt.nl = f, h
	return nil
}

// Paths and names, all derived from ids so a crash at any point leaves things Detach and
// DeleteVPC can find.
func (p *Plane) vpcNetns(id string) string { return filepath.Join(p.stateDir, "netns", "vpc", id) }
func (p *Plane) eniNetns(id string) string { return filepath.Join(p.stateDir, "netns", "eni", id) }
func (p *Plane) vpcFile(id string) string  { return filepath.Join(p.stateDir, "vpcs", id+".json") }
func (p *Plane) eniFile(id string) string  { return filepath.Join(p.stateDir, "enis", id+".json") }

// NetnsPath is where Attach puts the ENI's namespace.
func (p *Plane) NetnsPath(eniID string) string { return p.eniNetns(eniID) }

// hostLinkName is unique on the host across Planes (it hashes the state dir too): Linux
// interface names are at most 15 bytes, too short for the ids themselves.
func (p *Plane) hostLinkName(vpcID string) string {
	return "gv" + shortHash(p.stateDir+"\x00"+vpcID, 10)
}

func routerLinkName(eniID string) string { return "eni" + shortHash(eniID, 12) }

func shortHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

// derivedMAC is a locally administered unicast address from the ENI id, stable across restarts.
func derivedMAC(eniID string) net.HardwareAddr {
	sum := sha256.Sum256([]byte("mac\x00" + eniID))
	return net.HardwareAddr{0x02, sum[0], sum[1], sum[2], sum[3], sum[4]}
}

// writeRecordLocked writes a record file atomically, unless this process last wrote the same
// bytes there.
func (p *Plane) writeRecordLocked(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	// A record is replaced whole (a new file renamed over the old), which on some filesystems
	// costs far more than the bytes: ext4 without a journal scans past every inode freed in
	// the last minutes for each new file. The agent applies a VPC's groups after each attach
	// and detach, mostly unchanged.
	if prev, ok := p.written[path]; ok && bytes.Equal(prev, b) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	p.written[path] = b
	return nil
}

// removeRecordLocked removes a record file and forgets its content.
func (p *Plane) removeRecordLocked(path string) error {
	delete(p.written, path)
	return removeFile(path)
}

func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// applyRulesLocked rebuilds the VPC's whole nftables table from its record, atomically.
func (p *Plane) applyRulesLocked(rt *vpcRuntime) error {
	var egress []netip.Addr
	for _, e := range p.enis {
		if e.ENI.VPCID == rt.rec.VPC.ID && !e.detaching && rt.rec.VPC.egressENI(e.ENI) {
			egress = append(egress, e.ENI.IP)
		}
	}
	members, eniGroups := rt.rec.withLocalAddrs()
	rt.keepCombos(eniGroups)
	rs, err := nft.Build(nft.Spec{
		Uplink:        routerUplink,
		EgressSubnets: rt.rec.VPC.egressSubnets(),
		EgressENIs:    egress,
		Resolver:      ResolverAddr(rt.rec.VPC.CIDR),
		VPC:           rt.rec.VPC.CIDR,
		Groups:        rt.rec.Groups,
		Members:       members,
		ENIGroups:     eniGroups,
		Combos:        slices.Collect(maps.Values(rt.combos)),
	})
	if err != nil {
		return fmt.Errorf("vpc %s rules: %w: %w", rt.rec.VPC.ID, ErrInvalid, err)
	}
	c, err := nftables.New(nftables.WithNetNSFd(int(rt.nsFile.Fd())))
	if err != nil {
		return err
	}
	prev := rt.applied
	rt.applied = nil
	if d, ok := nft.Changes(prev, rs); ok {
		if !d.Empty() {
			err = d.Apply(c)
		}
	} else {
		err = rs.Apply(c)
	}
	if err != nil {
		return fmt.Errorf("vpc %s: %w", rt.rec.VPC.ID, err)
	}
	rt.applied = rs
	return nil
}

// maxKeptCombos bounds the security group combinations a router keeps chains for.
const maxKeptCombos = 64

// keepCombos adds the interfaces' group combinations to those kept; past maxKeptCombos only the
// current ones stay.
func (rt *vpcRuntime) keepCombos(eniGroups map[netip.Addr][]string) {
	if rt.combos == nil || len(rt.combos) > maxKeptCombos {
		rt.combos = map[string][]string{}
	}
	for _, gs := range eniGroups {
		key, ids := nft.Combo(gs)
		rt.combos[key] = ids
	}
}

func (p *Plane) vpcLocked(id string) (*vpcRuntime, error) {
	rt, ok := p.vpcs[id]
	if !ok {
		return nil, fmt.Errorf("vpc %s: %w", id, ErrVPCNotFound)
	}
	if err := rt.open(); err != nil {
		return nil, fmt.Errorf("vpc %s router namespace: %w", id, err)
	}
	return rt, nil
}

// ApplySecurityGroups replaces the VPC's security group rules in one atomic nftables
// transaction. members maps a group to its members' addresses (for rules that name the group as
// a peer); eniGroups maps each interface's address to its groups. Established connections
// continue; new ones meet the new rules.
func (p *Plane) ApplySecurityGroups(ctx context.Context, vpcID string, groups []SecurityGroup,
	members map[string][]netip.Addr, eniGroups map[netip.Addr][]string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	rt, err := p.vpcLocked(vpcID)
	if err != nil {
		return err
	}
	prev := rt.rec
	rt.rec.Groups, rt.rec.Members, rt.rec.ENIGroups = groups, copyMembers(members), copyENIGroups(eniGroups)
	if err := p.applyRulesLocked(rt); err != nil {
		rt.rec = prev
		return err
	}
	return p.writeRecordLocked(p.vpcFile(vpcID), rt.rec)
}

func copyMembers(m map[string][]netip.Addr) map[string][]netip.Addr {
	out := make(map[string][]netip.Addr, len(m))
	for k, v := range m {
		out[k] = append([]netip.Addr(nil), v...)
	}
	return out
}

func copyENIGroups(m map[netip.Addr][]string) map[netip.Addr][]string {
	out := make(map[netip.Addr][]string, len(m))
	for k, v := range m {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// RunInVPC runs fn on a thread inside the VPC's router namespace: sockets it opens (the load
// balancer's connections to targets) live in the VPC. Goroutines fn starts run outside.
func (p *Plane) RunInVPC(ctx context.Context, vpcID string, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	rt, ok := p.vpcs[vpcID]
	p.mu.Unlock()
	if !ok {
		return fmt.Errorf("vpc %s: %w", vpcID, ErrVPCNotFound)
	}
	return netns.Do(rt.nsPath, fn)
}

// DialContext connects to address from inside the VPC's router. The source address is the
// gateway of the target's subnet, so the target's security groups must allow it (as an ALB's
// targets must allow the ALB).
func (p *Plane) DialContext(ctx context.Context, vpcID, network, address string) (net.Conn, error) {
	var conn net.Conn
	err := p.RunInVPC(ctx, vpcID, func() error {
		var err error
		conn, err = (&net.Dialer{}).DialContext(ctx, network, address)
		return err
	})
	return conn, err
}

// Recover reloads the state dir after a restart. It changes nothing in the kernel: running
// tasks keep their networking; a missing namespace is logged and left for EnsureVPC or Detach.
func (p *Plane) Recover(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	errs := []error{p.removeSpareFiles()} // the last process's: nobody's now
	vpcFiles, _ := filepath.Glob(filepath.Join(p.stateDir, "vpcs", "*.json"))
	for _, f := range vpcFiles {
		var rec vpcRecord
		if err := readJSON(f, &rec); err != nil {
			errs = append(errs, err)
			continue
		}
		if old, ok := p.vpcs[rec.VPC.ID]; ok {
			old.stopResolver()
			old.close()
		}
		rt := &vpcRuntime{rec: rec, nsPath: p.vpcNetns(rec.VPC.ID)}
		if err := rt.open(); err != nil {
			p.log.Warn("vpc router namespace missing", "vpc", rec.VPC.ID, "err", err)
		} else if err := p.ensureResolverLocked(rt); err != nil {
			// The resolver is this process's goroutines: it died with the previous process.
			// If that one still holds the port, the next EnsureVPC starts it.
			p.log.Warn("vpc resolver not restarted", "vpc", rec.VPC.ID, "err", err)
		}
		p.vpcs[rec.VPC.ID] = rt
		p.refillLater(rec.VPC.ID)
	}
	eniFiles, _ := filepath.Glob(filepath.Join(p.stateDir, "enis", "*.json"))
	for _, f := range eniFiles {
		var rec eniRecord
		if err := readJSON(f, &rec); err != nil {
			errs = append(errs, err)
			continue
		}
		if !netns.Exists(rec.NetnsPath) {
			p.log.Warn("task namespace missing", "eni", rec.ENI.ID, "netns", rec.NetnsPath)
		}
		p.enis[rec.ENI.ID] = &rec
	}
	return errors.Join(errs...)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// sysctls runs on a thread inside a namespace.
func sysctls(kv ...string) error {
	var errs []error
	for i := 0; i+1 < len(kv); i += 2 {
		if err := netns.Sysctl(kv[i], kv[i+1]); err != nil && !(strings.HasPrefix(kv[i], "net/ipv6") && errors.Is(err, os.ErrNotExist)) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func isNotFound(err error) bool {
	var lnf netlink.LinkNotFoundError
	return errors.As(err, &lnf) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH)
}
