package network

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sync"
)

// Fake is an in-memory DataPlane for other packages' tests: it validates and records like Plane
// and touches no kernel state. RunInVPC runs fn in place and DialContext dials from the host.
type Fake struct {
	// AttachErr, if set, is returned by every Attach (to test a full subnet or a broken host).
	AttachErr error

	mu   sync.Mutex
	vpcs map[string]*FakeVPC
	enis map[string]ENI
}

// FakeVPC is what the Fake holds of a VPC: its definition and the last rules applied.
type FakeVPC struct {
	VPC       VPC
	Groups    []SecurityGroup
	Members   map[string][]netip.Addr
	ENIGroups map[netip.Addr][]string
}

// NewFake returns an empty Fake.
func NewFake() *Fake { return &Fake{vpcs: map[string]*FakeVPC{}, enis: map[string]ENI{}} }

func (f *Fake) EnsureVPC(ctx context.Context, vpc VPC) error {
	vpc, err := validateVPC(vpc)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if old, ok := f.vpcs[vpc.ID]; ok {
		if old.VPC.CIDR != vpc.CIDR {
			return fmt.Errorf("vpc %s cidr is %s: %w", vpc.ID, old.VPC.CIDR, ErrConflict)
		}
		old.VPC = vpc
		return nil
	}
	f.vpcs[vpc.ID] = &FakeVPC{VPC: vpc}
	return nil
}

func (f *Fake) DeleteVPC(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.enis {
		if e.VPCID == id {
			return fmt.Errorf("vpc %s: interface %s: %w", id, e.ID, ErrVPCInUse)
		}
	}
	delete(f.vpcs, id)
	return nil
}

// NetnsPath is the path Attach returns.
func (f *Fake) NetnsPath(eniID string) string { return "/fake/netns/" + eniID }

func (f *Fake) Attach(ctx context.Context, eni ENI) (string, error) {
	if f.AttachErr != nil {
		return "", f.AttachErr
	}
	if err := checkID("eni", eni.ID); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vpcs[eni.VPCID]
	if !ok {
		return "", fmt.Errorf("vpc %s: %w", eni.VPCID, ErrVPCNotFound)
	}
	s, ok := v.VPC.subnet(eni.SubnetID)
	if !ok {
		return "", fmt.Errorf("subnet %s: %w", eni.SubnetID, ErrSubnetNotFound)
	}
	if !s.CIDR.Contains(eni.IP) {
		return "", fmt.Errorf("eni %s address %s not in %s: %w", eni.ID, eni.IP, s.CIDR, ErrInvalid)
	}
	if len(eni.MAC) == 0 {
		eni.MAC = derivedMAC(eni.ID)
	}
	eni.SubnetCIDR = s.CIDR
	if old, ok := f.enis[eni.ID]; ok && old.IP != eni.IP {
		return "", fmt.Errorf("eni %s: %w", eni.ID, ErrConflict)
	}
	for _, o := range f.enis {
		if o.ID != eni.ID && o.VPCID == eni.VPCID && o.IP == eni.IP {
			return "", fmt.Errorf("eni %s address %s: %w", eni.ID, eni.IP, ErrConflict)
		}
	}
	f.enis[eni.ID] = eni
	return f.NetnsPath(eni.ID), nil
}

func (f *Fake) Detach(ctx context.Context, eniID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.enis, eniID)
	return nil
}

func (f *Fake) ApplySecurityGroups(ctx context.Context, vpcID string, groups []SecurityGroup,
	members map[string][]netip.Addr, eniGroups map[netip.Addr][]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vpcs[vpcID]
	if !ok {
		return fmt.Errorf("vpc %s: %w", vpcID, ErrVPCNotFound)
	}
	v.Groups, v.Members, v.ENIGroups = slices.Clone(groups), copyMembers(members), copyENIGroups(eniGroups)
	return nil
}

func (f *Fake) RunInVPC(ctx context.Context, vpcID string, fn func() error) error {
	f.mu.Lock()
	_, ok := f.vpcs[vpcID]
	f.mu.Unlock()
	if !ok {
		return fmt.Errorf("vpc %s: %w", vpcID, ErrVPCNotFound)
	}
	return fn()
}

func (f *Fake) DialContext(ctx context.Context, vpcID, network, address string) (net.Conn, error) {
	var conn net.Conn
	err := f.RunInVPC(ctx, vpcID, func() error {
		var err error
		conn, err = (&net.Dialer{}).DialContext(ctx, network, address)
		return err
	})
	return conn, err
}

func (f *Fake) Recover(ctx context.Context) error { return nil }

// VPC returns a copy of what the Fake holds of a VPC.
func (f *Fake) VPC(id string) (FakeVPC, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vpcs[id]
	if !ok {
		return FakeVPC{}, false
	}
	return FakeVPC{VPC: v.VPC, Groups: slices.Clone(v.Groups), Members: copyMembers(v.Members), ENIGroups: copyENIGroups(v.ENIGroups)}, true
}

// ENIs returns the attached interfaces, sorted by id.
func (f *Fake) ENIs() []ENI {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.SortedFunc(maps.Values(f.enis), func(a, b ENI) int {
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
}
