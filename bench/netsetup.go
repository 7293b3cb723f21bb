package bench

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/internal/network"
	"github.com/gantry-dev/gantry/internal/network/netns"
	"golang.org/x/sys/unix"
)

// NetBench sets up task networking through the VPC data plane (network.Plane) and through a
// shell script doing the same `ip` and `nft` steps, on this host, as root.
type NetBench struct {
	Plane    *network.Plane
	stateDir string
	runNetns string // the script's router namespace, bound under /run/netns
	vpc      network.VPC
	script   network.VPC
}

// benchGroup is the one security group of every benchmark interface: tcp 8080 from its own
// members, all egress. Attaching an interface adds it to the group's set and the interface maps,
// as the script's `nft add element` does.
var benchGroup = network.SecurityGroup{ID: "sg-bench",
	Ingress: []network.Permission{{Protocol: "tcp", FromPort: 8080, ToPort: 8080, Groups: []string{"sg-bench"}}},
	Egress:  []network.Permission{{Protocol: "-1", CIDRs: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}}}

// seedAddr is an address in each VPC's group from the start, so that every measured attach of
// either kind only adds elements to existing sets and maps.
func seedAddr(v network.VPC) netip.Addr { return addrAt(v.Subnets[0].CIDR, 4000) }

// addrAt is the i-th address of p (from 0).
func addrAt(p netip.Prefix, i int) netip.Addr {
	b := p.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) + uint32(i)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// NewNetBench makes a Plane over a fresh state dir with uplinks, a VPC for the Plane's tasks and
// one for the script's (its router is the Plane's too: the script only adds tasks to it).
func NewNetBench(ctx context.Context, uplinks netip.Prefix) (*NetBench, error) {
	dir, err := os.MkdirTemp("", "gantry-netbench-")
	if err != nil {
		return nil, err
	}
	p, err := network.New(network.Config{StateDir: dir, HostUplinkPrefix: uplinks})
	if err != nil {
		return nil, err
	}
	b := &NetBench{Plane: p, stateDir: dir,
		vpc: network.VPC{ID: "vpc-plane", CIDR: netip.MustParsePrefix("10.50.0.0/16"),
			Subnets: []network.Subnet{{ID: "subnet-plane", CIDR: netip.MustParsePrefix("10.50.0.0/20")}}},
		script: network.VPC{ID: "vpc-script", CIDR: netip.MustParsePrefix("10.60.0.0/16"),
			Subnets: []network.Subnet{{ID: "subnet-script", CIDR: netip.MustParsePrefix("10.60.0.0/20")}}},
	}
	for _, v := range []network.VPC{b.vpc, b.script} {
		if err := p.EnsureVPC(ctx, v); err != nil {
			b.Close()
			return nil, err
		}
		seed := seedAddr(v)
		if err := p.ApplySecurityGroups(ctx, v.ID, []network.SecurityGroup{benchGroup},
			map[string][]netip.Addr{"sg-bench": {seed}}, map[netip.Addr][]string{seed: {"sg-bench"}}); err != nil {
			b.Close()
			return nil, err
		}
	}
	// `ip -n` finds namespaces by name under /run/netns.
	b.runNetns = fmt.Sprintf("gbench-r%d", os.Getpid())
	target := filepath.Join("/run/netns", b.runNetns)
	if err := netnsDirMounted(); err != nil {
		b.Close()
		return nil, err
	}
	if err := os.WriteFile(target, nil, 0o444); err != nil {
		b.Close()
		return nil, err
	}
	if err := unix.Mount(filepath.Join(dir, "netns", "vpc", b.script.ID), target, "none", unix.MS_BIND, ""); err != nil {
		b.Close()
		return nil, fmt.Errorf("bind the script's router namespace: %w", err)
	}
	return b, nil
}

// netnsDirMounted makes /run/netns a shared mount of itself, as `ip netns add` does the first
// time it runs on a host. Done by the script's `ip netns add` instead, after the router's bind
// below, that mount would hide the bind, which Close could then neither unmount nor remove.
func netnsDirMounted() error {
	const dir = "/run/netns"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	err := unix.Mount("", dir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if err == unix.EINVAL { // not a mount point yet
		if err := unix.Mount(dir, dir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s: %w", dir, err)
		}
		err = unix.Mount("", dir, "none", unix.MS_SHARED|unix.MS_REC, "")
	}
	if err != nil {
		return fmt.Errorf("make %s shared: %w", dir, err)
	}
	return nil
}

// Close removes everything the benchmark made.
func (b *NetBench) Close() {
	ctx := context.Background()
	if b.runNetns != "" {
		target := filepath.Join("/run/netns", b.runNetns)
		_ = unix.Unmount(target, unix.MNT_DETACH)
		_ = os.Remove(target)
	}
	for _, v := range []string{b.vpc.ID, b.script.ID} {
		_ = b.Plane.DeleteVPC(ctx, v)
	}
	b.Plane.Close()
	_ = os.RemoveAll(b.stateDir)
}

// PlaneENI is the i-th benchmark interface of the Plane's VPC.
func (b *NetBench) PlaneENI(i int) network.ENI {
	return network.ENI{ID: fmt.Sprintf("eni-bench-%d", i), VPCID: b.vpc.ID, SubnetID: b.vpc.Subnets[0].ID,
		IP: addrAt(b.vpc.Subnets[0].CIDR, 10+i), SecurityGroups: []string{"sg-bench"}}
}

// PlaneBatch attaches n interfaces and then detaches them, returning the time of each phase.
func (b *NetBench) PlaneBatch(ctx context.Context, first, n int) (attach, detach time.Duration, err error) {
	start := time.Now()
	for i := first; i < first+n; i++ {
		if _, err := b.Plane.Attach(ctx, b.PlaneENI(i)); err != nil {
			return 0, 0, err
		}
	}
	attach = time.Since(start)
	start = time.Now()
	for i := first; i < first+n; i++ {
		if err := b.Plane.Detach(ctx, b.PlaneENI(i).ID); err != nil {
			return 0, 0, err
		}
	}
	return attach, time.Since(start), nil
}

// ScriptBatch does the same as PlaneBatch with one bash script per phase running `ip` and `nft`:
// the task namespace with IPv6 off and lo up, the veth with its MAC into the router, the address
// (noprefixroute) and the default route in the task, the router's end up with its /32 route, and
// the address added to the group's set and the interface maps; then the reverse.
func (b *NetBench) ScriptBatch(ctx context.Context, first, n int) (attach, detach time.Duration, err error) {
	sub := b.script.Subnets[0].CIDR
	gw := sub.Addr().Next()
	var up, down strings.Builder
	up.WriteString("set -e\n")
	down.WriteString("set -e\n")
	for i := first; i < first+n; i++ {
		t, rl, ip := fmt.Sprintf("gbench-t%d-%d", os.Getpid(), i), fmt.Sprintf("sbr%d", i), addrAt(sub, 10+i)
		mac := fmt.Sprintf("02:00:00:00:%02x:%02x", byte(i>>8), byte(i))
		fmt.Fprintf(&up, "ip netns add %s\n", t)
		fmt.Fprintf(&up, "ip netns exec %s sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1\n", t)
		fmt.Fprintf(&up, "ip -n %s link set lo up\n", t)
		fmt.Fprintf(&up, "ip -n %s link add eth0 address %s type veth peer name %s netns %s\n", t, mac, rl, b.runNetns)
		fmt.Fprintf(&up, "ip -n %s link set eth0 up\n", t)
		fmt.Fprintf(&up, "ip -n %s addr add %s/%d dev eth0 noprefixroute\n", t, ip, sub.Bits())
		fmt.Fprintf(&up, "ip -n %s route add default via %s dev eth0 onlink\n", t, gw)
		fmt.Fprintf(&up, "ip -n %s link set %s up\n", b.runNetns, rl)
		fmt.Fprintf(&up, "ip -n %s route replace %s/32 dev %s scope link src %s\n", b.runNetns, ip, rl, gw)
		fmt.Fprintf(&up, "ip netns exec %s nft 'add element inet gantry sg-bench { %s }; add element inet gantry eni_in { %s : jump eni_in_sg-bench }; add element inet gantry eni_out { %s : jump eni_out_sg-bench }'\n",
			b.runNetns, ip, ip, ip)

		fmt.Fprintf(&down, "ip -n %s link del %s\n", b.runNetns, rl)
		fmt.Fprintf(&down, "ip netns exec %s nft 'delete element inet gantry sg-bench { %s }; delete element inet gantry eni_in { %s }; delete element inet gantry eni_out { %s }'\n",
			b.runNetns, ip, ip, ip)
		fmt.Fprintf(&down, "ip netns del %s\n", t)
	}
	run := func(script string) (time.Duration, error) {
		start := time.Now()
		out, err := exec.CommandContext(ctx, "bash", "-c", script).CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("script: %w\n%s", err, out)
		}
		return time.Since(start), nil
	}
	if attach, err = run(up.String()); err != nil {
		return 0, 0, err
	}
	detach, err = run(down.String())
	return attach, detach, err
}

// Propagation is the rule-change figures of one VPC with many interfaces attached.
type Propagation struct {
	ENIs int
	// Apply is how long each ApplySecurityGroups call took (revokes and authorizations alike).
	Apply []time.Duration
	// Refused is, for each revoke, the time from the ApplySecurityGroups call until the first
	// new connection attempt that failed began (a prober opens new connections back to back,
	// each given up after ProbeTimeout).
	Refused      []time.Duration
	ProbeTimeout time.Duration
}

// MeasurePropagation attaches n interfaces to the Plane's VPC (from index base), serves tcp
// 8080 in the first, and from the second connects again and again while the group's ingress
// rule is revoked and authorized reps times.
func (b *NetBench) MeasurePropagation(ctx context.Context, base, n, reps int) (Propagation, error) {
	res := Propagation{ENIs: n, ProbeTimeout: 20 * time.Millisecond}
	var enis []network.ENI
	defer func() {
		for _, e := range enis {
			_ = b.Plane.Detach(context.WithoutCancel(ctx), e.ID)
		}
	}()
	members := map[string][]netip.Addr{}
	eniGroups := map[netip.Addr][]string{}
	paths := make([]string, n)
	for i := range n {
		e := b.PlaneENI(base + i)
		p, err := b.Plane.Attach(ctx, e)
		if err != nil {
			return res, err
		}
		enis, paths[i] = append(enis, e), p
		members["sg-bench"] = append(members["sg-bench"], e.IP)
		eniGroups[e.IP] = []string{"sg-bench"}
	}
	server := netip.AddrPortFrom(enis[0].IP, 8080).String()
	var ln net.Listener
	if err := netns.Do(paths[0], func() error {
		var err error
		ln, err = net.Listen("tcp4", server)
		return err
	}); err != nil {
		return res, err
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	closed := benchGroup
	closed.Ingress = nil
	apply := func(g network.SecurityGroup) error {
		start := time.Now()
		err := b.Plane.ApplySecurityGroups(ctx, b.vpc.ID, []network.SecurityGroup{g}, members, eniGroups)
		res.Apply = append(res.Apply, time.Since(start))
		return err
	}
	// The prober: one new connection after another from the second interface.
	type attempt struct {
		at time.Time
		ok bool
	}
	var mu sync.Mutex
	var attempts []attempt
	pctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for pctx.Err() == nil {
			at := time.Now()
			var c net.Conn
			err := netns.Do(paths[1], func() error {
				var err error
				c, err = net.DialTimeout("tcp4", server, res.ProbeTimeout)
				return err
			})
			if err == nil {
				c.Close()
			}
			mu.Lock()
			attempts = append(attempts, attempt{at, err == nil})
			mu.Unlock()
		}
	}()
	defer func() { stop(); <-done }()
	waitFor := func(ok bool, since time.Time) (time.Time, error) {
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			for _, a := range attempts {
				if !a.at.Before(since) && a.ok == ok {
					mu.Unlock()
					return a.at, nil
				}
			}
			attempts = slices.DeleteFunc(attempts, func(a attempt) bool { return a.at.Before(since.Add(-time.Second)) })
			mu.Unlock()
			time.Sleep(time.Millisecond)
		}
		return time.Time{}, fmt.Errorf("no %v connection attempt within 5s", ok)
	}
	for range reps {
		if err := apply(benchGroup); err != nil {
			return res, err
		}
		if _, err := waitFor(true, time.Now()); err != nil {
			return res, fmt.Errorf("after authorize: %w", err)
		}
		start := time.Now()
		if err := apply(closed); err != nil {
			return res, err
		}
		at, err := waitFor(false, start)
		if err != nil {
			return res, fmt.Errorf("after revoke: %w", err)
		}
		res.Refused = append(res.Refused, at.Sub(start))
	}
	return res, nil
}

// Median returns the median of ds (0 for none).
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	return s[len(s)/2]
}
