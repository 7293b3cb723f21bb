package store_test

import (
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

var elbScope = model.Scope{Account: model.DefaultAccount, Region: "us-east-1"}

func elbFixtures() (model.LoadBalancer, model.TargetGroup, model.Listener, model.Rule, model.Target) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	lbARN := model.LoadBalancerARN(elbScope, "web", "0123456789abcdef")
	lb := model.LoadBalancer{Scope: elbScope, ARN: lbARN, Name: "web", Type: "application", Scheme: "internet-facing",
		VpcID: "vpc-1", Nodes: []model.LoadBalancerNode{{SubnetID: "subnet-1", AvailabilityZone: "us-east-1a", ENIID: "eni-1", PrivateIP: "172.31.0.10"}},
		SecurityGroups: []string{"sg-1"}, DNSName: "web-1234567890.us-east-1.elb.amazonaws.com", CanonicalHostedZoneID: "Z35SXDOTRQ7X7K",
		State: "provisioning", IPAddressType: "ipv4", HostAddress: "127.77.0.1", Attributes: map[string]string{"idle_timeout.timeout_seconds": "60"},
		Tags: []model.Tag{{Key: "k", Value: "v"}}, CreatedAt: at}
	tgARN := model.TargetGroupARN(elbScope, "api", "fedcba9876543210")
	tg := model.TargetGroup{Scope: elbScope, ARN: tgARN, Name: "api", Protocol: "HTTP", ProtocolVersion: "HTTP1", Port: 8080, VpcID: "vpc-1",
		TargetType: "ip", IPAddressType: "ipv4", HealthCheck: model.TargetGroupHealthCheck{Enabled: true, Protocol: "HTTP", Port: "traffic-port",
			Path: "/", IntervalSeconds: 30, TimeoutSeconds: 5, HealthyThresholdCount: 5, UnhealthyThresholdCount: 2},
		Matcher: model.Matcher{HTTPCode: "200"}, Attributes: map[string]string{"deregistration_delay.timeout_seconds": "300"}, CreatedAt: at}
	lis := model.Listener{Scope: elbScope, ARN: model.ListenerARN(lbARN, "1111111111111111"), LoadBalancerARN: lbARN, Port: 443, Protocol: "HTTPS",
		SslPolicy: "ELBSecurityPolicy-2016-08", Certificates: []model.ListenerCertificate{{CertificateARN: "arn:aws:acm:us-east-1:000000000000:certificate/x"}},
		DefaultActions: []model.Action{{Type: "forward", Order: 1, TargetGroupARN: tgARN, ForwardConfig: &model.ForwardConfig{
			TargetGroups: []model.WeightedTargetGroup{{TargetGroupARN: tgARN, Weight: 1}}, StickinessEnabled: true, StickinessDuration: 60}}},
		AlpnPolicy: []string{"HTTP2Preferred"}}
	rule := model.Rule{Scope: elbScope, ARN: model.RuleARN(lis.ARN, "2222222222222222"), ListenerARN: lis.ARN, Priority: 10,
		Conditions: []model.RuleCondition{{Field: "path-pattern", Values: []string{"/api/*"}}, {Field: "http-header", HTTPHeaderName: "X-A", Values: []string{"b"}},
			{Field: "query-string", QueryStrings: []model.QueryStringKeyValue{{Key: "a", Value: "b"}, {Value: "c"}}}},
		Actions: []model.Action{{Type: "redirect", Order: 1, RedirectConfig: &model.RedirectConfig{Protocol: "HTTPS", Port: "443", Host: "#{host}",
			Path: "/#{path}", Query: "#{query}", StatusCode: "HTTP_301"}}, {Type: "fixed-response", Order: 2,
			FixedResponseConfig: &model.FixedResponseConfig{StatusCode: "404", ContentType: "text/plain", MessageBody: "no"}}}}
	tgt := model.Target{TargetGroupARN: tgARN, ID: "172.31.5.6", Port: 8080, AvailabilityZone: "us-east-1a", State: "initial",
		Reason: "Elb.RegistrationInProgress", Description: "Target registration is in progress", RegisteredAt: at}
	return lb, tg, lis, rule, tgt
}

func putELB(t *testing.T, st *store.Store) (model.LoadBalancer, model.TargetGroup, model.Listener, model.Rule, model.Target) {
	t.Helper()
	lb, tg, lis, rule, tgt := elbFixtures()
	w := &store.Write{}
	must(t, st.LoadBalancers().PutIn(w, lb, 0))
	must(t, st.TargetGroups().PutIn(w, tg, 0))
	must(t, st.Listeners().PutIn(w, lis, 0))
	must(t, st.Rules().PutIn(w, rule, 0))
	must(t, st.Targets().PutIn(w, tgt, 0))
	must(t, st.HostAddresses().ClaimIn(w, lb.HostAddress, lb.ARN))
	if _, err := st.Commit(t.Context(), w); err != nil {
		t.Fatal(err)
	}
	return lb, tg, lis, rule, tgt
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestELBSnapshotRoundTrip(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	st := store.New(cli, prefix)
	lb, tg, lis, rule, tgt := putELB(t, st)
	snap, err := st.ELBSnapshot(t.Context())
	must(t, err)
	if snap.Revision == 0 {
		t.Error("snapshot has no revision")
	}
	for _, c := range []struct{ got, want any }{
		{snap.LoadBalancers, []model.LoadBalancer{lb}}, {snap.TargetGroups, []model.TargetGroup{tg}},
		{snap.Listeners, []model.Listener{lis}}, {snap.Rules, []model.Rule{rule}}, {snap.Targets, []model.Target{tgt}},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("snapshot:\n got %+v\nwant %+v", c.got, c.want)
		}
	}
	used, err := st.HostAddresses().InUse(t.Context())
	must(t, err)
	if used[lb.HostAddress] != lb.ARN {
		t.Errorf("host addresses = %v", used)
	}
	// A second claim of the same address fails.
	w := &store.Write{}
	must(t, st.HostAddresses().ClaimIn(w, lb.HostAddress, "other"))
	if _, err := st.Commit(t.Context(), w); apierr.KindOf(err) != apierr.Conflict {
		t.Errorf("second claim: %v, want conflict", err)
	}
}

func TestELBWatchSignalsChanges(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	st := store.New(cli, prefix)
	putELB(t, st)
	snap, err := st.ELBSnapshot(t.Context())
	must(t, err)
	ch := st.WatchELB(t.Context(), snap.Revision)
	select {
	case <-ch:
		t.Fatal("signal before any change")
	case <-time.After(200 * time.Millisecond):
	}
	lb := snap.LoadBalancers[0]
	must(t, st.SetLoadBalancerState(t.Context(), lb.ARN, model.LoadBalancerActive))
	select {
	case _, ok := <-ch:
		if !ok {
			t.Fatal("watch closed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no signal after a change")
	}
	got, err := st.LoadBalancers().Get(t.Context(), elbScope, lb.Name)
	must(t, err)
	if got.Value.State != model.LoadBalancerActive {
		t.Errorf("state = %q", got.Value.State)
	}
	// Another ARN (a recreated load balancer) is not found.
	other := model.LoadBalancerARN(elbScope, lb.Name, "ffffffffffffffff")
	if err := st.SetLoadBalancerState(t.Context(), other, "active"); !errors.Is(err, apierr.NotFound) {
		t.Errorf("state of another ARN: %v", err)
	}
}

func TestTargetHealthAndRemoval(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	st := store.New(cli, prefix)
	ctx := t.Context()
	_, tg, _, _, tgt := putELB(t, st)
	must(t, st.SetTargetHealth(ctx, tg.ARN, tgt.ID, tgt.Port, "healthy", "", ""))
	got, err := st.Targets().Get(ctx, tg.ARN, tgt.ID, tgt.Port)
	must(t, err)
	if got.Value.State != "healthy" || got.Value.Reason != "" {
		t.Errorf("after health: %+v", got.Value)
	}
	// Unknown targets and groups are no-ops.
	must(t, st.SetTargetHealth(ctx, tg.ARN, "10.9.9.9", 80, "healthy", "", ""))
	must(t, st.SetTargetHealth(ctx, "bogus", "10.9.9.9", 80, "healthy", "", ""))
	if _, err := st.Targets().Get(ctx, tg.ARN, "10.9.9.9", 80); !errors.Is(err, apierr.NotFound) {
		t.Errorf("health created a target: %v", err)
	}
	// Removing a target that is not draining does nothing.
	must(t, st.RemoveTarget(ctx, tg.ARN, tgt.ID, tgt.Port))
	if _, err := st.Targets().Get(ctx, tg.ARN, tgt.ID, tgt.Port); err != nil {
		t.Fatalf("healthy target removed: %v", err)
	}
	_, err = st.Targets().Mutate(ctx, tg.ARN, tgt.ID, tgt.Port, func(v *model.Target) error {
		v.State, v.Reason, v.DeregisteredAt = "draining", "Target.DeregistrationInProgress", time.Now()
		return nil
	})
	must(t, err)
	// A draining target keeps draining whatever health the data plane reports.
	must(t, st.SetTargetHealth(ctx, tg.ARN, tgt.ID, tgt.Port, "healthy", "", ""))
	got, err = st.Targets().Get(ctx, tg.ARN, tgt.ID, tgt.Port)
	must(t, err)
	if got.Value.State != "draining" {
		t.Errorf("draining target became %q", got.Value.State)
	}
	must(t, st.RemoveTarget(ctx, tg.ARN, tgt.ID, tgt.Port))
	if _, err := st.Targets().Get(ctx, tg.ARN, tgt.ID, tgt.Port); !errors.Is(err, apierr.NotFound) {
		t.Errorf("drained target still there: %v", err)
	}
	must(t, st.RemoveTarget(ctx, tg.ARN, tgt.ID, tgt.Port)) // gone: fine
}

// Concurrent health reports never lose a deregistration made between them.
func TestTargetHealthKeepsConcurrentDeregistration(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	st := store.New(cli, prefix)
	ctx := t.Context()
	_, tg, _, _, tgt := putELB(t, st)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			state := "healthy"
			if i%2 == 0 {
				state = "unhealthy"
			}
			if err := st.SetTargetHealth(ctx, tg.ARN, tgt.ID, tgt.Port, state, "", ""); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Go(func() {
		_, err := st.Targets().Mutate(ctx, tg.ARN, tgt.ID, tgt.Port, func(v *model.Target) error {
			v.State = "draining"
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	got, err := st.Targets().Get(ctx, tg.ARN, tgt.ID, tgt.Port)
	must(t, err)
	if got.Value.State != "draining" {
		t.Errorf("state = %q, the deregistration was lost", got.Value.State)
	}
}

func TestELBDeleteAllOf(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	st := store.New(cli, prefix)
	ctx := t.Context()
	lb, tg, _, _, _ := putELB(t, st)
	w := &store.Write{}
	st.Listeners().DeleteAllOfIn(w, elbScope, lb.Name)
	st.Rules().DeleteAllOfIn(w, elbScope, lb.Name, "")
	st.Targets().DeleteAllOfIn(w, elbScope, tg.Name)
	st.HostAddresses().ReleaseIn(w, lb.HostAddress)
	_, err := st.Commit(ctx, w)
	must(t, err)
	snap, err := st.ELBSnapshot(ctx)
	must(t, err)
	if len(snap.Listeners)+len(snap.Rules)+len(snap.Targets) != 0 || len(snap.LoadBalancers) != 1 || len(snap.TargetGroups) != 1 {
		t.Errorf("after deletes: %+v", snap)
	}
	used, err := st.HostAddresses().InUse(ctx)
	must(t, err)
	if len(used) != 0 {
		t.Errorf("addresses still held: %v", used)
	}
}
