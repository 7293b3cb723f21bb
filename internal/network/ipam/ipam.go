// Package ipam allocates task addresses from a subnet's CIDR as AWS does: never the network
// address, the first three hosts (router, DNS, reserved) or the broadcast address.
//
// A Pool is a plain value: the control plane stores it (in etcd, under a compare-on-revision
// write) and every operation returns a new Pool rather than changing the one it was given, so a
// failed write leaves nothing half-updated in memory.
package ipam

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

var (
	// ErrExhausted means every allocatable address of the subnet is in use.
	ErrExhausted = errors.New("subnet has no free addresses")
	// ErrReserved means the address is one AWS reserves (network, .1, .2, .3, broadcast).
	ErrReserved = errors.New("address is reserved")
	// ErrInUse means the address is already allocated.
	ErrInUse = errors.New("address is already in use")
	// ErrOutOfRange means the address is not inside the pool's subnet.
	ErrOutOfRange = errors.New("address is outside the subnet")
	// ErrInvalidPrefix means the subnet cannot hold a pool (not IPv4, or narrower than /28 or wider than /16).
	ErrInvalidPrefix = errors.New("subnet must be an IPv4 CIDR between /16 and /28")
)

// Pool is the allocation state of one subnet. Used is sorted and holds no duplicates.
type Pool struct {
	Prefix netip.Prefix `json:"prefix"`
	Used   []netip.Addr `json:"used,omitempty"`
}

// NewPool returns an empty pool for the subnet prefix (host bits are masked off).
func NewPool(prefix netip.Prefix) (Pool, error) {
	if !prefix.IsValid() || !prefix.Addr().Is4() || prefix.Bits() < 16 || prefix.Bits() > 28 {
		return Pool{}, fmt.Errorf("%s: %w", prefix, ErrInvalidPrefix)
	}
	return Pool{Prefix: prefix.Masked()}, nil
}

// Gateway returns the subnet's router address (network + 1), which the VPC router owns.
func Gateway(prefix netip.Prefix) netip.Addr { return prefix.Masked().Addr().Next() }

// Broadcast returns the last address of an IPv4 prefix.
func Broadcast(prefix netip.Prefix) netip.Addr {
	a := prefix.Masked().Addr().As4()
	host := uint32(1)<<(32-prefix.Bits()) - 1
	v := (uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// Reserved says whether a is one of the five addresses AWS reserves in prefix.
func Reserved(prefix netip.Prefix, a netip.Addr) bool {
	first := prefix.Masked().Addr()
	return a == first || a == first.Next() || a == first.Next().Next() ||
		a == first.Next().Next().Next() || a == Broadcast(prefix)
}

// Size returns how many addresses the pool can hand out in total.
func (p Pool) Size() int { return 1<<(32-p.Prefix.Bits()) - 5 }

// Free returns how many addresses are still available.
func (p Pool) Free() int { return p.Size() - len(p.Used) }

// InUse says whether a is allocated.
func (p Pool) InUse(a netip.Addr) bool {
	_, found := slices.BinarySearchFunc(p.Used, a, netip.Addr.Compare)
	return found
}

// Allocate returns the lowest free address and the pool with it marked used.
func (p Pool) Allocate() (netip.Addr, Pool, error) {
	if p.Free() <= 0 {
		return netip.Addr{}, p, fmt.Errorf("%s: %w", p.Prefix, ErrExhausted)
	}
	// Used is sorted, so the first gap after the reserved head is the lowest free address.
	a := p.Prefix.Addr().Next().Next().Next().Next()
	for _, u := range p.Used {
		if u != a {
			break
		}
		a = a.Next()
	}
	q, err := p.Claim(a)
	return a, q, err
}

// Claim marks a specific address used, for re-adopting an address recorded elsewhere.
func (p Pool) Claim(a netip.Addr) (Pool, error) {
	if err := p.check(a); err != nil {
		return p, err
	}
	i, found := slices.BinarySearchFunc(p.Used, a, netip.Addr.Compare)
	if found {
		return p, fmt.Errorf("%s: %w", a, ErrInUse)
	}
	used := make([]netip.Addr, 0, len(p.Used)+1)
	used = append(append(append(used, p.Used[:i]...), a), p.Used[i:]...)
	return Pool{Prefix: p.Prefix, Used: used}, nil
}

// Release returns the pool with a free again; releasing a free address is not an error, so a
// retried release is harmless.
func (p Pool) Release(a netip.Addr) Pool {
	i, found := slices.BinarySearchFunc(p.Used, a, netip.Addr.Compare)
	if !found {
		return p
	}
	return Pool{Prefix: p.Prefix, Used: slices.Concat(p.Used[:i], p.Used[i+1:])}
}

func (p Pool) check(a netip.Addr) error {
	if !p.Prefix.Contains(a) {
		return fmt.Errorf("%s not in %s: %w", a, p.Prefix, ErrOutOfRange)
	}
	if Reserved(p.Prefix, a) {
		return fmt.Errorf("%s in %s: %w", a, p.Prefix, ErrReserved)
	}
	return nil
}
