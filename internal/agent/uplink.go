package agent

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultUplinkPool is where a host's VPC routers get their uplinks to the host from: a slice
// of IPv4 link-local space, which no LAN, VPN, container bridge or carrier-grade NAT routes
// (100.64.0.0/10 is Tailscale's and CGNAT's), clear of 169.254.169.254 and 169.254.170.2 (the
// metadata addresses). Each data plane on the host gets one /24 of it: 128 VPCs, 64 planes.
var DefaultUplinkPool = netip.MustParsePrefix("169.254.64.0/18")

// DefaultUplinkClaims is the host-wide directory where data planes claim their /24 of the
// pool; it is on tmpfs, as the links are gone after a reboot too.
const DefaultUplinkClaims = "/run/gantry/uplinks"

// uplinkSize is the prefix length each plane is given.
const uplinkSize = 24

// UplinkPrefix returns the uplink prefix of the data plane whose state is in stateDir: the one
// recorded there by an earlier start, else the first /24 of pool that no other plane on the host
// claims and no interface of the host uses. Several servers, each with its own data dir, can so
// share one host without two uplinks getting the same addresses. A claim whose state dir is
// gone (a test's temporary directory) is free again.
func UplinkPrefix(stateDir string, pool netip.Prefix, claimDir string) (netip.Prefix, error) {
	dir, err := filepath.Abs(stateDir)
	if err != nil {
		return netip.Prefix{}, err
	}
	pool = pool.Masked()
	if !pool.Addr().Is4() || pool.Bits() > uplinkSize {
		return netip.Prefix{}, fmt.Errorf("uplink pool %s: want an IPv4 prefix of /%d or wider", pool, uplinkSize)
	}
	if err := os.MkdirAll(claimDir, 0o755); err != nil {
		return netip.Prefix{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return netip.Prefix{}, err
	}
	lock, err := os.OpenFile(filepath.Join(claimDir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return netip.Prefix{}, err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return netip.Prefix{}, fmt.Errorf("lock %s: %w", claimDir, err)
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN)

	recorded := filepath.Join(dir, "uplink-prefix")
	if b, err := os.ReadFile(recorded); err == nil {
		p, err := netip.ParsePrefix(strings.TrimSpace(string(b)))
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%s: %w", recorded, err)
		}
		return p, claim(claimDir, p, dir)
	} else if !errors.Is(err, os.ErrNotExist) {
		return netip.Prefix{}, err
	}
	used := hostPrefixes()
	for p := range subPrefixes(pool, uplinkSize) {
		if owner := claimOwner(claimDir, p); owner != "" && owner != dir && exists(owner) {
			continue
		}
		if overlapsAny(p, used) {
			continue
		}
		if err := claim(claimDir, p, dir); err != nil {
			return netip.Prefix{}, err
		}
		if err := os.WriteFile(recorded, []byte(p.String()+"\n"), 0o600); err != nil {
			return netip.Prefix{}, err
		}
		return p, nil
	}
	return netip.Prefix{}, fmt.Errorf("uplink pool %s: every /%d is in use on this host", pool, uplinkSize)
}

func claimFile(claimDir string, p netip.Prefix) string {
	return filepath.Join(claimDir, strings.ReplaceAll(p.String(), "/", "_"))
}

func claimOwner(claimDir string, p netip.Prefix) string {
	b, err := os.ReadFile(claimFile(claimDir, p))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func claim(claimDir string, p netip.Prefix, owner string) error {
	path := claimFile(claimDir, p)
	if err := os.WriteFile(path+".tmp", []byte(owner+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// subPrefixes yields the prefixes of length bits that make up pool, in order.
func subPrefixes(pool netip.Prefix, bits int) func(func(netip.Prefix) bool) {
	return func(yield func(netip.Prefix) bool) {
		a := pool.Addr().As4()
		base := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
		step := uint32(1) << (32 - bits)
		for i := uint32(0); i < uint32(1)<<(bits-pool.Bits()); i++ {
			v := base + i*step
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), bits)
			if !yield(p) {
				return
			}
		}
	}
}

// hostPrefixes lists the IPv4 networks of the host's interfaces.
func hostPrefixes() []netip.Prefix {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Prefix
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(n.IP)
		if !ok || !ip.Unmap().Is4() {
			continue
		}
		ones, _ := n.Mask.Size()
		out = append(out, netip.PrefixFrom(ip.Unmap(), ones).Masked())
	}
	return out
}

func overlapsAny(p netip.Prefix, ps []netip.Prefix) bool {
	for _, q := range ps {
		if p.Overlaps(q) {
			return true
		}
	}
	return false
}
