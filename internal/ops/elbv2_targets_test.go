package ops_test

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

func TestELBTargets(t *testing.T) {
	env := newELBEnv(t)
	ctx := t.Context()
	lb := env.lb(t, "web")
	tg := env.tg(t, "a")
	ip := func(i int, host byte) string {
		p := netip.MustParsePrefix(env.subnets[i].CidrBlock).Addr().As4()
		p[3] = host
		return netip.AddrFrom4(p).String()
	}
	for _, c := range []struct {
		name, code, contains string
		targets              []model.Target
	}{
		{"empty", "ValidationError", "cannot be empty", nil},
		{"not an ip", "InvalidTarget", "not a valid IPv4", []model.Target{{ID: "i-0123456789"}}},
		{"outside vpc", "InvalidTarget", "not within the CIDR", []model.Target{{ID: "10.1.2.3"}}},
		{"port", "ValidationError", "between 1 and 65535", []model.Target{{ID: ip(0, 10), Port: 70000}}},
		{"zone", "InvalidTarget", "Availability Zone", []model.Target{{ID: ip(0, 10), AvailabilityZone: env.subnets[1].AvailabilityZone}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantELBCode(t, env.elb.RegisterTargets(ctx, ec2Scope, tg.ARN, c.targets), c.code, c.contains)
		})
	}
	wantELBCode(t, env.elb.RegisterTargets(ctx, ec2Scope, model.TargetGroupARN(ec2Scope, "zz", "0000000000000000"), []model.Target{{ID: ip(0, 10)}}), "TargetGroupNotFound", "")
	// No listener: unused; deregistering removes at once.
	a, b := ip(0, 10), ip(1, 11)
	if err := env.elb.RegisterTargets(ctx, ec2Scope, tg.ARN, []model.Target{{ID: a}, {ID: b, Port: 9000}}); err != nil {
		t.Fatal(err)
	}
	health, err := env.elb.DescribeTargetHealth(ctx, ec2Scope, tg.ARN, nil)
	if err != nil || len(health) != 2 || health[0].State != "unused" || health[0].Reason != "Target.NotInUse" ||
		health[0].AvailabilityZone != env.subnets[0].AvailabilityZone || health[1].Port != 9000 || health[1].HealthCheckPort != "9000" {
		t.Fatalf("health %+v %v", health, err)
	}
	if err := env.elb.DeregisterTargets(ctx, ec2Scope, tg.ARN, []model.Target{{ID: b, Port: 9000}}); err != nil {
		t.Fatal(err)
	}
	health, _ = env.elb.DescribeTargetHealth(ctx, ec2Scope, tg.ARN, []model.Target{{ID: b, Port: 9000}})
	if len(health) != 1 || health[0].State != "unused" || health[0].Reason != "Target.NotRegistered" {
		t.Errorf("deregistered unused target: %+v", health)
	}
	wantELBCode(t, env.elb.DeregisterTargets(ctx, ec2Scope, tg.ARN, []model.Target{{ID: b, Port: 9000}}), "InvalidTarget", "not registered")
	// A listener puts the group in use: initial; deregistering drains.
	env.listener(t, lb, 80, tg.ARN)
	health, _ = env.elb.DescribeTargetHealth(ctx, ec2Scope, tg.ARN, nil)
	if len(health) != 1 || health[0].State != "initial" || health[0].Reason != "Elb.RegistrationInProgress" {
		t.Fatalf("in use: %+v", health)
	}
	if err := env.st.SetTargetHealth(ctx, tg.ARN, a, 8080, "healthy", "", ""); err != nil {
		t.Fatal(err)
	}
	// Registering again changes nothing.
	if err := env.elb.RegisterTargets(ctx, ec2Scope, tg.ARN, []model.Target{{ID: a}}); err != nil {
		t.Fatal(err)
	}
	health, _ = env.elb.DescribeTargetHealth(ctx, ec2Scope, tg.ARN, nil)
	if health[0].State != "healthy" {
		t.Errorf("registering again: %+v", health)
	}
	if err := env.elb.DeregisterTargets(ctx, ec2Scope, tg.ARN, []model.Target{{ID: a}}); err != nil {
		t.Fatal(err)
	}
	health, _ = env.elb.DescribeTargetHealth(ctx, ec2Scope, tg.ARN, []model.Target{{ID: a}})
	if len(health) != 1 || health[0].State != "draining" || health[0].Reason != "Target.DeregistrationInProgress" || health[0].DeregisteredAt.IsZero() {
		t.Fatalf("draining: %+v", health)
	}
	// Registering a draining target starts it again.
	if err := env.elb.RegisterTargets(ctx, ec2Scope, tg.ARN, []model.Target{{ID: a}}); err != nil {
		t.Fatal(err)
	}
	health, _ = env.elb.DescribeTargetHealth(ctx, ec2Scope, tg.ARN, nil)
	if health[0].State != "initial" || !health[0].DeregisteredAt.IsZero() {
		t.Errorf("registered again while draining: %+v", health)
	}
	// With a deregistration delay of 0 there is nothing to drain.
	if _, err := env.elb.ModifyTargetGroupAttributes(ctx, ec2Scope, tg.ARN, []model.Tag{{Key: model.AttrDeregistrationDelay, Value: "0"}}); err != nil {
		t.Fatal(err)
	}
	if err := env.elb.DeregisterTargets(ctx, ec2Scope, tg.ARN, []model.Target{{ID: a}}); err != nil {
		t.Fatal(err)
	}
	health, _ = env.elb.DescribeTargetHealth(ctx, ec2Scope, tg.ARN, nil)
	if len(health) != 0 {
		t.Errorf("delay 0: %+v", health)
	}
	// A deleted group's targets go with it.
	tg2 := env.tg(t, "b")
	if err := env.elb.RegisterTargets(ctx, ec2Scope, tg2.ARN, []model.Target{{ID: a}}); err != nil {
		t.Fatal(err)
	}
	if err := env.elb.DeleteTargetGroup(ctx, ec2Scope, tg2.ARN); err != nil {
		t.Fatal(err)
	}
	if ts, _ := env.st.Targets().ListOf(ctx, tg2.ARN); len(ts) != 0 {
		t.Errorf("targets of a deleted group: %+v", ts)
	}
}

func TestELBTags(t *testing.T) {
	env := newELBEnv(t)
	ctx := t.Context()
	lb := env.lb(t, "web")
	tg := env.tg(t, "a")
	l := env.listener(t, lb, 80, tg.ARN)
	arns := []string{lb.ARN, tg.ARN, l.ARN}
	if err := env.elb.AddTags(ctx, ec2Scope, arns, []model.Tag{{Key: "env", Value: "prod"}, {Key: "team", Value: "a"}}); err != nil {
		t.Fatal(err)
	}
	if err := env.elb.AddTags(ctx, ec2Scope, arns, []model.Tag{{Key: "env", Value: "dev"}}); err != nil {
		t.Fatal(err)
	}
	if err := env.elb.RemoveTags(ctx, ec2Scope, arns, []string{"team"}); err != nil {
		t.Fatal(err)
	}
	descs, err := env.elb.DescribeTags(ctx, ec2Scope, arns)
	if err != nil || len(descs) != 3 {
		t.Fatal(descs, err)
	}
	for _, d := range descs {
		if !slices.Equal(d.Tags, []model.Tag{{Key: "env", Value: "dev"}}) {
			t.Errorf("%s: %+v", d.ResourceARN, d.Tags)
		}
	}
	many := make([]model.Tag, 50)
	for i := range many {
		many[i] = model.Tag{Key: "k" + string(rune('a'+i%26)) + string(rune('a'+i/26))}
	}
	wantELBCode(t, env.elb.AddTags(ctx, ec2Scope, []string{lb.ARN}, many), "TooManyTags", "50")
	_, err = env.elb.DescribeTags(ctx, ec2Scope, []string{model.LoadBalancerARN(ec2Scope, "zz", "0000000000000000")})
	wantELBCode(t, err, "LoadBalancerNotFound", "")
	_, err = env.elb.DescribeTags(ctx, ec2Scope, []string{"arn:aws:s3:::bucket"})
	wantELBCode(t, err, "ValidationError", "not a valid resource ARN")
}

func TestELBSSLPolicies(t *testing.T) {
	env := newELBEnv(t)
	all, _, err := env.elb.DescribeSSLPolicies(t.Context(), ec2Scope, nil, "", "", nil)
	if err != nil || len(all) < 10 {
		t.Fatalf("policies %d %v", len(all), err)
	}
	p, _, err := env.elb.DescribeSSLPolicies(t.Context(), ec2Scope, []string{"ELBSecurityPolicy-TLS13-1-2-2021-06"}, "", "", nil)
	if err != nil || len(p) != 1 || !slices.Equal(p[0].Protocols, []string{"TLSv1.2", "TLSv1.3"}) || p[0].Ciphers[0] != "TLS_AES_128_GCM_SHA256" {
		t.Errorf("TLS13 policy %+v %v", p, err)
	}
	_, _, err = env.elb.DescribeSSLPolicies(t.Context(), ec2Scope, []string{"ELBSecurityPolicy-Nope"}, "", "", nil)
	wantELBCode(t, err, "SSLPolicyNotFound", "ELBSecurityPolicy-Nope")
}

// Concurrent creates (through separate ops values, as several servers would) each get their
// own host address and node addresses: the claims and pools are written in one fenced
// transaction.
func TestELBConcurrentCreates(t *testing.T) {
	env := newELBEnv(t)
	ctx := t.Context()
	const n = 6
	results := make([]model.LoadBalancer, n)
	errs := make([]error, n)
	done := make(chan int)
	for i := range n {
		go func() {
			o := ops.NewELBv2(env.st, env.ec2, netip.MustParsePrefix("127.77.0.0/24"), logx.Discard())
			results[i], errs[i] = o.CreateLoadBalancer(ctx, ec2Scope, ops.CreateLoadBalancerInput{Name: "lb" + string(rune('a'+i)), Subnets: env.subnetIDs(2)})
			done <- i
		}()
	}
	for range n {
		<-done
	}
	hosts, ips := map[string]bool{}, map[string]bool{}
	for i, lb := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if hosts[lb.HostAddress] {
			t.Errorf("host address %s given twice", lb.HostAddress)
		}
		hosts[lb.HostAddress] = true
		for _, nd := range lb.Nodes {
			if ips[nd.PrivateIP] {
				t.Errorf("node address %s given twice", nd.PrivateIP)
			}
			ips[nd.PrivateIP] = true
		}
	}
	used, err := env.st.HostAddresses().InUse(ctx)
	if err != nil || len(used) != n {
		t.Errorf("claims %v %v", used, err)
	}
}

// A group takes at most 1000 targets; a call may register many at once (in several
// transactions: etcd's limit is 128 operations).
func TestELBTooManyTargets(t *testing.T) {
	env := newELBEnv(t)
	ctx := t.Context()
	tg := env.tg(t, "a")
	base := netip.MustParsePrefix(env.subnets[0].CidrBlock).Addr().Next().Next().Next().Next()
	var targets []model.Target
	for a := base; len(targets) < 1001; a = a.Next() {
		targets = append(targets, model.Target{ID: a.String()})
	}
	if err := env.elb.RegisterTargets(ctx, ec2Scope, tg.ARN, targets[:1000]); err != nil {
		t.Fatal(err)
	}
	wantELBCode(t, env.elb.RegisterTargets(ctx, ec2Scope, tg.ARN, targets[1000:]), "TooManyTargets", "1000")
	health, err := env.elb.DescribeTargetHealth(ctx, ec2Scope, tg.ARN, nil)
	if err != nil || len(health) != 1000 {
		t.Errorf("%d targets %v", len(health), err)
	}
	if err := env.elb.DeregisterTargets(ctx, ec2Scope, tg.ARN, targets[:1000]); err != nil {
		t.Fatal(err)
	}
	if health, _ = env.elb.DescribeTargetHealth(ctx, ec2Scope, tg.ARN, nil); len(health) != 0 {
		t.Errorf("%d targets left", len(health))
	}
}
