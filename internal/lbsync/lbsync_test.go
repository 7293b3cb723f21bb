package lbsync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

// fakeNetwork stands in for the VPC data plane: listeners "inside the VPC" open on a loopback
// address instead, dials go straight to the target, and everything is recorded.
type fakeNetwork struct {
	mu       sync.Mutex
	nodes    map[string]map[netip.Addr][]string
	names    map[string]map[string][]netip.Addr
	inVPC    map[netip.AddrPort]net.Addr // node listener -> where it really listens
	dialSrcs map[netip.AddrPort]netip.Addr
	vpcs     map[string]VPC
}

func newFakeNetwork() *fakeNetwork {
	return &fakeNetwork{nodes: map[string]map[netip.Addr][]string{}, names: map[string]map[string][]netip.Addr{},
		inVPC: map[netip.AddrPort]net.Addr{}, dialSrcs: map[netip.AddrPort]netip.Addr{}, vpcs: map[string]VPC{}}
}

func (f *fakeNetwork) SetNodes(ctx context.Context, vpc VPC, nodes map[netip.Addr][]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(nodes) == 0 {
		delete(f.nodes, vpc.ID)
		return nil
	}
	f.nodes[vpc.ID] = maps.Clone(nodes)
	f.vpcs[vpc.ID] = vpc
	return nil
}

func (f *fakeNetwork) NodeVPCs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Collect(maps.Keys(f.nodes))
}

func (f *fakeNetwork) SetDNSNames(vpcID string, names map[string][]netip.Addr) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.names[vpcID] = maps.Clone(names)
}

func (f *fakeNetwork) ListenInVPC(ctx context.Context, vpcID string, addr netip.AddrPort) (net.Listener, error) {
	f.mu.Lock()
	_, ok := f.nodes[vpcID][addr.Addr()]
	f.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%s is no node of %s", addr, vpcID)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.inVPC[addr] = ln.Addr()
	f.mu.Unlock()
	return ln, nil
}

func (f *fakeNetwork) DialFrom(ctx context.Context, vpcID string, src netip.Addr, dst netip.AddrPort) (net.Conn, error) {
	f.mu.Lock()
	f.dialSrcs[dst] = src
	f.mu.Unlock()
	return (&net.Dialer{}).DialContext(ctx, "tcp4", dst.String())
}

type fakeHostNames struct {
	mu    sync.Mutex
	names map[string][]netip.Addr
}

func (h *fakeHostNames) SetNames(n map[string][]netip.Addr) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.names = maps.Clone(n)
}

func eventually(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s (last: %s)", what, timeout, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func mustCommit(t *testing.T, st *store.Store, put func(w *store.Write) error) {
	t.Helper()
	var w store.Write
	if err := put(&w); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Commit(t.Context(), &w); err != nil {
		t.Fatal(err)
	}
}

// TestSync runs a Syncer against a real store: a load balancer with a node and a listener
// forwarding to a group with one real backend, and a group nobody uses. It checks the node,
// names, state, health reports, traffic on the host address and the node, the dial source,
// draining, and cleanup after deletion.
func TestSync(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	st := store.New(cli, prefix)
	ctx := t.Context()
	sc := model.Scope{Account: "000000000000", Region: "us-east-1"}

	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backend %s xff=%s", r.URL.Path, r.Header.Get("X-Forwarded-For"))
	}))
	t.Cleanup(backend.Close)
	bAddr := netip.MustParseAddrPort(backend.Listener.Addr().String())

	mustCommit(t, st, func(w *store.Write) error {
		if err := st.Vpcs().PutIn(w, model.Vpc{Scope: sc, ID: "vpc-1", CidrBlock: "10.5.0.0/16"}, 0); err != nil {
			return err
		}
		return st.Subnets().PutIn(w, model.Subnet{Scope: sc, ID: "subnet-a", VpcID: "vpc-1", CidrBlock: "10.5.1.0/24"}, 0)
	})
	port := freePort(t)
	hostAddr := "127.0.0.1"
	lbARN := model.LoadBalancerARN(sc, "web", "0123456789abcdef")
	tg := model.TargetGroup{Scope: sc, ARN: model.TargetGroupARN(sc, "web", "00000000000000aa"), Name: "web", Protocol: "HTTP", Port: int32(bAddr.Port()),
		VpcID: "vpc-1", TargetType: "ip", HealthCheck: model.TargetGroupHealthCheck{Enabled: true, Protocol: "HTTP", Port: "traffic-port", Path: "/health",
			IntervalSeconds: 1, TimeoutSeconds: 1, HealthyThresholdCount: 2, UnhealthyThresholdCount: 2}, Matcher: model.Matcher{HTTPCode: "200"},
		Attributes: map[string]string{model.AttrDeregistrationDelay: "1"}}
	idle := model.TargetGroup{Scope: sc, ARN: model.TargetGroupARN(sc, "idle", "00000000000000bb"), Name: "idle", Protocol: "HTTP", Port: 80,
		VpcID: "vpc-1", TargetType: "ip", HealthCheck: tg.HealthCheck}
	listenerARN := model.ListenerARN(lbARN, "1111111111111111")
	mustCommit(t, st, func(w *store.Write) error {
		lb := model.LoadBalancer{Scope: sc, ARN: lbARN, Name: "web", Type: "application", Scheme: model.SchemeInternal, VpcID: "vpc-1",
			Nodes:          []model.LoadBalancerNode{{SubnetID: "subnet-a", PrivateIP: "10.5.1.10"}},
			SecurityGroups: []string{"sg-lb"}, DNSName: "internal-web-1.us-east-1.elb.amazonaws.com", State: model.LoadBalancerProvisioning,
			HostAddress: hostAddr, Attributes: map[string]string{model.AttrIdleTimeout: "60", model.AttrHTTP2Enabled: "true"}}
		errs := []error{st.LoadBalancers().PutIn(w, lb, 0), st.TargetGroups().PutIn(w, tg, 0), st.TargetGroups().PutIn(w, idle, 0),
			st.Listeners().PutIn(w, model.Listener{Scope: sc, ARN: listenerARN, LoadBalancerARN: lbARN, Port: int32(port), Protocol: "HTTP",
				DefaultActions: []model.Action{{Type: model.ActionForward, Order: 1, TargetGroupARN: tg.ARN,
					ForwardConfig: &model.ForwardConfig{TargetGroups: []model.WeightedTargetGroup{{TargetGroupARN: tg.ARN, Weight: 1}}}}}}, 0),
			st.Targets().PutIn(w, model.Target{TargetGroupARN: tg.ARN, ID: "127.0.0.1", Port: int32(bAddr.Port()), State: model.TargetInitial,
				Reason: model.ReasonRegistrationInProgress}, 0),
			st.Targets().PutIn(w, model.Target{TargetGroupARN: idle.ARN, ID: "10.5.1.99", Port: 80, State: model.TargetInitial}, 0),
		}
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		return nil
	})

	fnet := newFakeNetwork()
	hosts := &fakeHostNames{}
	s := New(Config{Store: st, Network: fnet, HostNames: hosts, Resync: time.Second})
	t.Cleanup(func() { s.Close() })
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { s.Run(rctx); close(done) }()
	t.Cleanup(func() { stop(); <-done })

	node := netip.MustParseAddr("10.5.1.10")
	eventually(t, "load balancer active", 5*time.Second, func() (bool, string) {
		v, err := st.LoadBalancers().Get(ctx, sc, "web")
		return err == nil && v.Value.State == model.LoadBalancerActive, fmt.Sprint(v.Value.State, err)
	})
	fnet.mu.Lock()
	gotNodes, gotNames, gotVPC := fnet.nodes["vpc-1"], fnet.names["vpc-1"], fnet.vpcs["vpc-1"]
	fnet.mu.Unlock()
	if !slices.Equal(gotNodes[node], []string{"sg-lb"}) || len(gotNodes) != 1 {
		t.Errorf("nodes %v, want %s in sg-lb", gotNodes, node)
	}
	if a := gotNames["internal-web-1.us-east-1.elb.amazonaws.com"]; !slices.Equal(a, []netip.Addr{node}) {
		t.Errorf("vpc names %v", gotNames)
	}
	if gotVPC.CIDR != netip.MustParsePrefix("10.5.0.0/16") || len(gotVPC.Subnets) != 1 || gotVPC.Subnets[0].ID != "subnet-a" {
		t.Errorf("vpc description %+v", gotVPC)
	}
	hosts.mu.Lock()
	if a := hosts.names["internal-web-1.us-east-1.elb.amazonaws.com"]; !slices.Equal(a, []netip.Addr{netip.MustParseAddr(hostAddr)}) {
		t.Errorf("host names %v", hosts.names)
	}
	hosts.mu.Unlock()

	target := func(arn, id string, port int32) model.Target {
		v, err := st.Targets().Get(ctx, arn, id, port)
		if err != nil {
			return model.Target{State: err.Error()}
		}
		return v.Value
	}
	eventually(t, "target healthy", 10*time.Second, func() (bool, string) {
		tt := target(tg.ARN, "127.0.0.1", int32(bAddr.Port()))
		return tt.State == model.TargetHealthy, tt.State + " " + tt.Reason
	})
	eventually(t, "unused group's target unused", 5*time.Second, func() (bool, string) {
		tt := target(idle.ARN, "10.5.1.99", 80)
		return tt.State == model.TargetUnused && tt.Reason == model.ReasonNotInUse, tt.State + " " + tt.Reason
	})

	get := func(addr string) (string, error) {
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get("http://" + addr + "/hello")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, b), nil
	}
	if got, err := get(fmt.Sprintf("%s:%d", hostAddr, port)); err != nil || !strings.HasPrefix(got, "200 backend /hello") {
		t.Fatalf("through the host address: %q, %v", got, err)
	}
	fnet.mu.Lock()
	nodeLn := fnet.inVPC[netip.AddrPortFrom(node, uint16(port))]
	src := fnet.dialSrcs[bAddr]
	fnet.mu.Unlock()
	if nodeLn == nil {
		t.Fatal("no listener on the node")
	}
	if got, err := get(nodeLn.String()); err != nil || !strings.HasPrefix(got, "200 backend /hello") {
		t.Fatalf("through the node: %q, %v", got, err)
	}
	if src != node {
		t.Errorf("target dialed from %v, want the node %s", src, node)
	}

	// Deregistration: draining, then removed once drained.
	if _, err := st.Targets().Mutate(ctx, tg.ARN, "127.0.0.1", int32(bAddr.Port()), func(t *model.Target) error {
		t.State, t.Reason = model.TargetDraining, model.ReasonDeregistrationInProgress
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "drained target removed", 10*time.Second, func() (bool, string) {
		_, err := st.Targets().Get(ctx, tg.ARN, "127.0.0.1", int32(bAddr.Port()))
		return err != nil, fmt.Sprint(err)
	})
	if got, err := get(fmt.Sprintf("%s:%d", hostAddr, port)); err != nil || !strings.HasPrefix(got, "503") {
		t.Errorf("no targets: %q, %v; want 503", got, err)
	}

	// Deleting the load balancer closes its listeners and frees its nodes.
	v, err := st.LoadBalancers().Get(ctx, sc, "web")
	if err != nil {
		t.Fatal(err)
	}
	mustCommit(t, st, func(w *store.Write) error {
		st.LoadBalancers().DeleteIn(w, v.Value, v.Revision)
		st.Listeners().DeleteAllOfIn(w, sc, "web")
		return nil
	})
	eventually(t, "listener closed and nodes freed", 5*time.Second, func() (bool, string) {
		_, err := get(fmt.Sprintf("%s:%d", hostAddr, port))
		return err != nil && len(fnet.NodeVPCs()) == 0, fmt.Sprint(err, fnet.NodeVPCs())
	})
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestListenerFailureKeepsProvisioning: a load balancer whose listener cannot open (its port
// is taken) stays provisioning, and turns active once the port is free.
func TestListenerFailureKeepsProvisioning(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	st := store.New(cli, prefix)
	ctx := t.Context()
	sc := model.Scope{Account: "000000000000", Region: "us-east-1"}
	busy, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := busy.Addr().(*net.TCPAddr).Port
	lbARN := model.LoadBalancerARN(sc, "busy", "0123456789abcdee")
	mustCommit(t, st, func(w *store.Write) error {
		lb := model.LoadBalancer{Scope: sc, ARN: lbARN, Name: "busy", Type: "application", Scheme: model.SchemeInternetFacing,
			State: model.LoadBalancerProvisioning, HostAddress: "127.0.0.1"}
		return errors.Join(st.LoadBalancers().PutIn(w, lb, 0),
			st.Listeners().PutIn(w, model.Listener{Scope: sc, ARN: model.ListenerARN(lbARN, "2222222222222222"), LoadBalancerARN: lbARN, Port: int32(port),
				Protocol: "HTTP", DefaultActions: []model.Action{{Type: model.ActionFixedResponse, Order: 1,
					FixedResponseConfig: &model.FixedResponseConfig{StatusCode: "200", MessageBody: "up"}}}}, 0))
	})
	s := New(Config{Store: st, Resync: 200 * time.Millisecond})
	t.Cleanup(func() { s.Close() })
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { s.Run(rctx); close(done) }()
	t.Cleanup(func() { stop(); <-done })

	state := func() string {
		v, err := st.LoadBalancers().Get(ctx, sc, "busy")
		if err != nil {
			return err.Error()
		}
		return v.Value.State
	}
	time.Sleep(3 * listenRetry / 2)
	if got := state(); got != model.LoadBalancerProvisioning {
		t.Fatalf("state with its port taken: %s, want provisioning", got)
	}
	busy.Close()
	eventually(t, "active once the port is free", 5*time.Second, func() (bool, string) { return state() == model.LoadBalancerActive, state() })
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "up" {
		t.Fatalf("fixed response %q", b)
	}
}
