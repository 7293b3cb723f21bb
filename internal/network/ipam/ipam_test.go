package ipam

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"
)

func TestNewPool(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		ok     bool
	}{
		{"slash16", "10.0.0.0/16", true},
		{"slash28", "10.0.0.16/28", true},
		{"host bits masked", "10.0.1.7/24", true},
		{"too small", "10.0.0.0/29", false},
		{"too big", "10.0.0.0/15", false},
		{"ipv6", "fd00::/64", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPool(netip.MustParsePrefix(tt.prefix))
			if (err == nil) != tt.ok {
				t.Fatalf("NewPool(%s) err = %v, want ok=%v", tt.prefix, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidPrefix) {
				t.Fatalf("err = %v, want ErrInvalidPrefix", err)
			}
			if err == nil && p.Prefix != p.Prefix.Masked() {
				t.Fatalf("prefix %s not masked", p.Prefix)
			}
		})
	}
}

func TestReservedAddresses(t *testing.T) {
	pfx := netip.MustParsePrefix("10.0.1.0/24")
	for _, s := range []string{"10.0.1.0", "10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.255"} {
		if !Reserved(pfx, netip.MustParseAddr(s)) {
			t.Errorf("%s not reserved", s)
		}
	}
	for _, s := range []string{"10.0.1.4", "10.0.1.254"} {
		if Reserved(pfx, netip.MustParseAddr(s)) {
			t.Errorf("%s reserved", s)
		}
	}
	if g := Gateway(pfx); g != netip.MustParseAddr("10.0.1.1") {
		t.Errorf("Gateway = %s", g)
	}
	if b := Broadcast(netip.MustParsePrefix("172.31.16.0/20")); b != netip.MustParseAddr("172.31.31.255") {
		t.Errorf("Broadcast = %s", b)
	}
}

func TestAllocateFirstAndExhaust(t *testing.T) {
	p, _ := NewPool(netip.MustParsePrefix("10.0.0.16/28")) // 16 addresses, 11 usable
	if p.Size() != 11 {
		t.Fatalf("Size = %d", p.Size())
	}
	a, p, err := p.Allocate()
	if err != nil || a != netip.MustParseAddr("10.0.0.20") {
		t.Fatalf("first = %s, %v", a, err)
	}
	for range 10 {
		if _, p, err = p.Allocate(); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := p.Allocate(); !errors.Is(err, ErrExhausted) {
		t.Fatalf("err = %v, want ErrExhausted", err)
	}
}

func TestClaimErrors(t *testing.T) {
	p, _ := NewPool(netip.MustParsePrefix("10.0.1.0/24"))
	p, err := p.Claim(netip.MustParseAddr("10.0.1.9"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, addr string
		want       error
	}{
		{"in use", "10.0.1.9", ErrInUse},
		{"gateway", "10.0.1.1", ErrReserved},
		{"broadcast", "10.0.1.255", ErrReserved},
		{"outside", "10.0.2.9", ErrOutOfRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := p.Claim(netip.MustParseAddr(tt.addr)); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestValueSemantics(t *testing.T) {
	p, _ := NewPool(netip.MustParsePrefix("10.0.1.0/24"))
	_, q, _ := p.Allocate()
	if len(p.Used) != 0 || len(q.Used) != 1 {
		t.Fatalf("Allocate changed its receiver: %v %v", p.Used, q.Used)
	}
	r := q.Release(q.Used[0])
	if len(q.Used) != 1 || len(r.Used) != 0 {
		t.Fatalf("Release changed its receiver: %v %v", q.Used, r.Used)
	}
}

// TestAllocationProperties drives random allocate/release sequences and checks the invariants
// after every step: no address is handed out twice, none is reserved or outside the subnet, Used
// stays sorted, and allocation fails exactly when the pool is full.
func TestAllocationProperties(t *testing.T) {
	prefixes := []string{"10.0.0.0/28", "10.0.0.0/27", "192.168.4.0/26", "172.31.16.0/24"}
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, seed*7+1))
		pfx := netip.MustParsePrefix(prefixes[rng.IntN(len(prefixes))])
		p, _ := NewPool(pfx)
		live := map[netip.Addr]bool{}
		for step := range 600 {
			if rng.IntN(3) > 0 || len(live) == 0 {
				a, q, err := p.Allocate()
				if len(live) == p.Size() {
					if !errors.Is(err, ErrExhausted) {
						t.Fatalf("seed %d step %d: full pool gave %s, %v", seed, step, a, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("seed %d step %d: %v with %d/%d used", seed, step, err, len(live), p.Size())
				}
				if live[a] || Reserved(pfx, a) || !pfx.Contains(a) {
					t.Fatalf("seed %d step %d: bad allocation %s", seed, step, a)
				}
				live[a], p = true, q
			} else {
				i := rng.IntN(len(p.Used))
				a := p.Used[i]
				delete(live, a)
				p = p.Release(a)
			}
			if len(p.Used) != len(live) {
				t.Fatalf("seed %d step %d: Used has %d, live %d", seed, step, len(p.Used), len(live))
			}
			for i := 1; i < len(p.Used); i++ {
				if p.Used[i-1].Compare(p.Used[i]) >= 0 {
					t.Fatalf("seed %d step %d: Used not sorted: %v", seed, step, p.Used)
				}
			}
		}
	}
}
