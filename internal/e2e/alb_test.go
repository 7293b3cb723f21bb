package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// TestALB drives one server's Application Load Balancer with the aws CLI and the Go SDK, in
// front of two real tasks in the default VPC, and sends real HTTP through it from the host (its
// host address, found through the server's DNS for load balancer names) and from a task (an
// internal load balancer, by its DNS name through the VPC's resolver).
func TestALB(t *testing.T) {
	dnsAddr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	// Its own slice of loopback for load balancer addresses: other tests' servers may run
	// load balancers on the same ports at the same time.
	lbPool := fmt.Sprintf("127.78.%d.0/24", time.Now().UnixNano()%250+1)
	s := startServer(t, "", "--dns-listen", dnsAddr, "--lb-address-pool", lbPool)
	e := &vpcEnv{s: s, ecs: newSDK(t, s), ec2: newEC2(t, s), cli: newCLI(t, s)}
	appImage(t, s)
	e.serveTD = vpcRegister(t, e.ecs, "alb-serve", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef),
		Command: []string{"serve", ":8080"}})
	lbc := newELB(t, s)
	ctx := t.Context()
	// An ALB needs subnets in two zones: the default ones of us-east-1a (where the tasks run)
	// and us-east-1b.
	subnet := defaultSubnet(t, s.URL)
	subs, err := e.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{
		{Name: aws.String("default-for-az"), Values: []string{"true"}}, {Name: aws.String("availability-zone"), Values: []string{"us-east-1b"}}}})
	if err != nil || len(subs.Subnets) != 1 {
		t.Fatalf("default subnet of us-east-1b: %v %v", subs, err)
	}
	subnetB, vpc := aws.ToString(subs.Subnets[0].SubnetId), aws.ToString(subs.Subnets[0].VpcId)
	sgLB := e.createGroup(t, vpc, "alb-lb")
	sgTask := e.createGroup(t, vpc, "alb-task")
	e.authorize(t, sgLB, tcpFromCIDR(80, "0.0.0.0/0"))
	e.authorize(t, sgLB, tcpFromCIDR(443, "0.0.0.0/0"))
	task1, t1 := e.serve(t, subnet, sgTask)
	task2, t2 := e.serve(t, subnet, sgTask)
	ip1, ip2 := detail(t1, "privateIPv4Address"), detail(t2, "privateIPv4Address")

	// The load balancer, by the CLI, and its waiter.
	var created struct {
		LoadBalancers []struct {
			LoadBalancerArn, DNSName string
		}
	}
	e.cli.json(&created, "elbv2", "create-load-balancer", "--name", "e2e-alb", "--subnets", subnet, subnetB, "--security-groups", sgLB)
	lbARN, dnsName := created.LoadBalancers[0].LoadBalancerArn, created.LoadBalancers[0].DNSName
	e.cli.json(nil, "elbv2", "wait", "load-balancer-available", "--load-balancer-arns", lbARN)
	addrs := resolveVia(t, dnsAddr, dnsName)
	if len(addrs) != 1 {
		t.Fatalf("%s resolves to %v, want the host address", dnsName, addrs)
	}
	host := addrs[0]
	t.Logf("load balancer %s at %s", dnsName, host)

	newTG := func(name string, port int32) string {
		out, err := lbc.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String(name), Protocol: elbtypes.ProtocolEnumHttp,
			Port: aws.Int32(port), VpcId: aws.String(vpc), TargetType: elbtypes.TargetTypeEnumIp, HealthCheckPath: aws.String("/health"),
			HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2),
			HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2)})
		if err != nil {
			t.Fatalf("CreateTargetGroup %s: %v", name, err)
		}
		arn := aws.ToString(out.TargetGroups[0].TargetGroupArn)
		if _, err := lbc.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(arn),
			Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("5")}}}); err != nil {
			t.Fatal(err)
		}
		return arn
	}
	register := func(tg string, ips ...string) {
		var ts []elbtypes.TargetDescription
		for _, ip := range ips {
			ts = append(ts, elbtypes.TargetDescription{Id: aws.String(ip)})
		}
		if _, err := lbc.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(tg), Targets: ts}); err != nil {
			t.Fatalf("RegisterTargets: %v", err)
		}
	}
	tgA, tgB := newTG("alb-a", 8080), newTG("alb-b", 8080)
	register(tgA, ip1)
	register(tgB, ip2)
	if h := health(t, lbc, tgA)[ip1]; h != [2]string{"unused", "Target.NotInUse"} {
		t.Errorf("target of a group no listener uses: %v, want unused Target.NotInUse", h)
	}
	ln, err := lbc.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(lbARN), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(80), DefaultActions: forwardTo(weighted(tgA, 1))})
	if err != nil {
		t.Fatalf("CreateListener: %v", err)
	}
	listener := aws.ToString(ln.Listeners[0].ListenerArn)
	// Used now: checked from the start, initial until the thresholds decide.
	waitHealth(t, lbc, tgA, ip1, "initial", "", 5*time.Second)
	rule := func(prio int32, cond elbtypes.RuleCondition, actions []elbtypes.Action) {
		if _, err := lbc.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: aws.String(listener), Priority: aws.Int32(prio),
			Conditions: []elbtypes.RuleCondition{cond}, Actions: actions}); err != nil {
			t.Fatalf("CreateRule %d: %v", prio, err)
		}
	}
	path := func(p ...string) elbtypes.RuleCondition {
		return elbtypes.RuleCondition{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: p}}
	}
	rule(10, path("/b/*", "/health/*"), forwardTo(weighted(tgB, 1)))
	rule(20, elbtypes.RuleCondition{Field: aws.String("host-header"), HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: []string{"api.example.com"}}},
		[]elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
			StatusCode: aws.String("200"), ContentType: aws.String("text/plain"), MessageBody: aws.String("api here")}}})

	t.Run("classic mistake: the task's group does not allow the load balancer's", func(t *testing.T) {
		waitHealth(t, lbc, tgA, ip1, "unhealthy", "Target.Timeout", 40*time.Second)
		waitHealth(t, lbc, tgB, ip2, "unhealthy", "Target.Timeout", 40*time.Second)
		e.authorize(t, sgTask, tcpFromGroup(8080, sgLB))
		start := time.Now()
		waitHealth(t, lbc, tgA, ip1, "healthy", "", 40*time.Second)
		t.Logf("healthy %s after authorizing the load balancer's group (interval 5s, healthy threshold 2)", time.Since(start).Round(100*time.Millisecond))
		e.cli.json(nil, "elbv2", "wait", "target-in-service", "--target-group-arn", tgA, "--targets", "Id="+ip1)
		e.cli.json(nil, "elbv2", "wait", "target-in-service", "--target-group-arn", tgB, "--targets", "Id="+ip2)
	})
	c := newALBClient(t, net.JoinHostPort(host, "80"))

	t.Run("routing by path and host, forwarded headers", func(t *testing.T) {
		w := c.who("/whoami", "")
		if w.IP != ip1 || w.Proto != "http" || w.Port != "80" || w.XFF == "" {
			t.Errorf("default route: %+v, want %s with X-Forwarded-Proto http, -Port 80 and -For", w, ip1)
		}
		if w := c.who("/b/whoami", ""); w.IP != ip2 {
			t.Errorf("/b/*: answered by %s, want %s", w.IP, ip2)
		}
		// The task sees the load balancer's node (its requester-managed ENI) as the client.
		src, _, _ := net.SplitHostPort(w.Remote)
		enis, err := e.ec2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{
			{Name: aws.String("addresses.private-ip-address"), Values: []string{src}}}})
		if err != nil || len(enis.NetworkInterfaces) != 1 || !aws.ToBool(enis.NetworkInterfaces[0].RequesterManaged) {
			t.Errorf("the target saw %s: %+v %v; want a load balancer node's address", src, enis, err)
		} else {
			t.Logf("target sees the node %s (%s)", src, aws.ToString(enis.NetworkInterfaces[0].Description))
		}
		if code, body, err := c.get("/whoami", "API.example.com"); err != nil || code != 200 || body != "api here" {
			t.Errorf("host api.example.com: %d %q %v", code, body, err)
		}
	})

	t.Run("weighted forwarding", func(t *testing.T) {
		if _, err := lbc.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(listener),
			DefaultActions: forwardTo(weighted(tgA, 80), weighted(tgB, 20))}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		n := map[string]int{}
		for range 200 {
			n[c.who("/whoami", "").IP]++
		}
		t.Logf("80/20 weights: %v", n)
		if n[ip1] < 135 || n[ip1] > 185 || n[ip1]+n[ip2] != 200 {
			t.Errorf("80/20 weights over 200 requests: %v", n)
		}
		if _, err := lbc.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(listener),
			DefaultActions: forwardTo(weighted(tgA, 1))}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("health endpoint turns bad, fail-open, recovers", func(t *testing.T) {
		if code, body, err := c.get("/health/fail", ""); err != nil || code != 200 || strings.TrimSpace(body) != ip2 {
			t.Fatalf("/health/fail: %d %q %v", code, body, err)
		}
		waitHealth(t, lbc, tgB, ip2, "unhealthy", "Target.ResponseCodeMismatch", 30*time.Second)
		// Every target of the group is unhealthy: the load balancer fails open.
		if w := c.who("/b/whoami", ""); w.IP != ip2 {
			t.Errorf("fail-open: answered by %s", w.IP)
		}
		if code, _, err := c.get("/health/ok", ""); err != nil || code != 200 {
			t.Fatalf("/health/ok: %d %v", code, err)
		}
		waitHealth(t, lbc, tgB, ip2, "healthy", "", 30*time.Second)
	})

	t.Run("503 without targets, 502 on a closed port, 504 on a slow target", func(t *testing.T) {
		tgEmpty := newTG("alb-empty", 8080)
		tgClosed := newTG("alb-closed", 9999)
		e.authorize(t, sgTask, tcpFromGroup(9999, sgLB))
		register(tgClosed, ip1)
		rule(30, path("/empty"), forwardTo(weighted(tgEmpty, 1)))
		rule(31, path("/closed"), forwardTo(weighted(tgClosed, 1)))
		waitHealth(t, lbc, tgClosed, ip1, "unhealthy", "", 30*time.Second)
		if code, _, err := c.get("/empty", ""); err != nil || code != 503 {
			t.Errorf("no targets: %d %v, want 503", code, err)
		}
		if code, _, err := c.get("/closed", ""); err != nil || code != 502 {
			t.Errorf("closed port: %d %v, want 502", code, err)
		}
		if _, err := lbc.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(lbARN),
			Attributes: []elbtypes.LoadBalancerAttribute{{Key: aws.String("idle_timeout.timeout_seconds"), Value: aws.String("2")}}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		c2 := newALBClient(t, net.JoinHostPort(host, "80"))
		start := time.Now()
		code, _, err := c2.get("/slow?ms=5000", "")
		took := time.Since(start)
		t.Logf("slow target answered %d after %s with a 2s idle timeout", code, took.Round(10*time.Millisecond))
		if err != nil || code != 504 || took > 4500*time.Millisecond {
			t.Errorf("slow target: %d after %s, %v; want 504 after about 2s", code, took, err)
		}
		if _, err := lbc.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(lbARN),
			Attributes: []elbtypes.LoadBalancerAttribute{{Key: aws.String("idle_timeout.timeout_seconds"), Value: aws.String("60")}}}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("websocket", func(t *testing.T) {
		got := wsEcho(t, net.JoinHostPort(host, "80"), "/ws", "hello")
		if !strings.HasPrefix(got, ip1+" ") {
			t.Errorf("websocket echo %q, want it from %s", got, ip1)
		}
	})

	t.Run("draining under continuous load", func(t *testing.T) {
		register(tgA, ip2)
		e.cli.json(nil, "elbv2", "wait", "target-in-service", "--target-group-arn", tgA, "--targets", "Id="+ip2)
		var ok, failed atomic.Int64
		var firstErr atomic.Value
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				kc := &http.Client{Timeout: 10 * time.Second} // keep-alive: draining must close idle connections
				for {
					select {
					case <-stop:
						return
					default:
					}
					resp, err := kc.Get("http://" + net.JoinHostPort(host, "80") + "/slow?ms=20")
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode != 200 {
							err = fmt.Errorf("status %d", resp.StatusCode)
						}
					}
					if err != nil {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, err.Error())
						continue
					}
					ok.Add(1)
				}
			}()
		}
		time.Sleep(time.Second)
		if _, err := lbc.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: aws.String(tgA),
			Targets: []elbtypes.TargetDescription{{Id: aws.String(ip1)}}}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		e.cli.json(nil, "elbv2", "wait", "target-deregistered", "--target-group-arn", tgA, "--targets", "Id="+ip1)
		t.Logf("deregistered after %s", time.Since(start).Round(100*time.Millisecond))
		time.Sleep(time.Second)
		close(stop)
		wg.Wait()
		t.Logf("draining under load: %d requests ok, %d failed", ok.Load(), failed.Load())
		if failed.Load() != 0 || ok.Load() < 50 {
			t.Errorf("draining: %d ok, %d failed (first: %v)", ok.Load(), failed.Load(), firstErr.Load())
		}
		for range 20 {
			if w := c.who("/whoami", ""); w.IP != ip2 {
				t.Fatalf("a deregistered target still gets requests: %s", w.IP)
			}
		}
	})

	t.Run("internal load balancer from a task, by its DNS name", func(t *testing.T) {
		var in struct {
			LoadBalancers []struct{ LoadBalancerArn, DNSName string }
		}
		e.cli.json(&in, "elbv2", "create-load-balancer", "--name", "e2e-internal", "--scheme", "internal", "--subnets", subnet, subnetB, "--security-groups", sgLB)
		arn, name := in.LoadBalancers[0].LoadBalancerArn, in.LoadBalancers[0].DNSName
		// A target group belongs to one load balancer (AWS's TargetGroupAssociationLimit).
		tgInternal := newTG("alb-internal", 8080)
		register(tgInternal, ip2)
		if _, err := lbc.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(arn), Protocol: elbtypes.ProtocolEnumHttp,
			Port: aws.Int32(80), DefaultActions: forwardTo(weighted(tgInternal, 1))}); err != nil {
			t.Fatal(err)
		}
		e.cli.json(nil, "elbv2", "wait", "load-balancer-available", "--load-balancer-arns", arn)
		out, err := e.ecs.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String(e.serveTD), LaunchType: types.LaunchTypeFargate,
			NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{subnet}, SecurityGroups: []string{sgTask}}},
			Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("app"),
				Command: []string{"get", "http://" + name + "/whoami", "30"}}}}})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("RunTask: %v %+v", err, out)
		}
		task := waitStopped(t, e.ecs, aws.ToString(out.Tasks[0].TaskArn))[0]
		if code := aws.ToInt32(task.Containers[0].ExitCode); code != 0 {
			t.Errorf("a task fetching http://%s/whoami exited %d", name, code)
		}
		// Its name answers on the host too.
		if a := resolveVia(t, dnsAddr, name); len(a) != 1 || a[0] == host {
			t.Errorf("internal load balancer's host address %v", a)
		} else if w := newALBClient(t, net.JoinHostPort(a[0], "80")).who("/whoami", ""); w.IP != ip2 {
			t.Errorf("internal load balancer from the host: answered by %s", w.IP)
		}

		// Deleting it closes its listeners, frees its nodes' addresses in the router and
		// drops its name; the other load balancer keeps its own.
		nodes := func() map[string]bool {
			out, err := e.ec2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{
				{Name: aws.String("requester-managed"), Values: []string{"true"}}}})
			if err != nil {
				t.Fatal(err)
			}
			m := map[string]bool{}
			for _, n := range out.NetworkInterfaces {
				if strings.HasPrefix(aws.ToString(n.Description), "ELB app/") { // tasks' ENIs are requester-managed too
					m[aws.ToString(n.PrivateIpAddress)] = true
				}
			}
			return m
		}
		before := nodes()
		hostAddr := resolveVia(t, dnsAddr, name)[0]
		e.cli.json(nil, "elbv2", "delete-load-balancer", "--load-balancer-arn", arn)
		after := nodes()
		if len(after) != len(before)-2 {
			t.Fatalf("nodes before %v, after %v: want two fewer", before, after)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			lo := inRouter(t, s.DataDir, vpc, "ip", "-4", "-o", "addr", "show", "dev", "lo")
			var stale, missing []string
			for ip := range before {
				has := strings.Contains(lo, " "+ip+"/32")
				if after[ip] && !has {
					missing = append(missing, ip)
				} else if !after[ip] && has {
					stale = append(stale, ip)
				}
			}
			_, _, gone := newALBClient(t, net.JoinHostPort(hostAddr, "80")).get("/whoami", "")
			if len(stale) == 0 && len(missing) == 0 && gone != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after deleting: node addresses still on the router's lo %v, missing %v; listener error %v\n%s", stale, missing, gone, lo)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if _, err := (&net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "udp", dnsAddr)
		}}).LookupHost(ctx, name); err == nil {
			t.Errorf("%s still resolves after deletion", name)
		}
	})

	t.Run("https with an imported certificate, http/2", func(t *testing.T) {
		certPEM, keyPEM := selfSigned(t, "app.example.com")
		dir := t.TempDir()
		for n, b := range map[string][]byte{"cert.pem": certPEM, "key.pem": keyPEM} {
			if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		var imp struct{ CertificateArn string }
		e.cli.json(&imp, "acm", "import-certificate", "--certificate", "fileb://"+filepath.Join(dir, "cert.pem"),
			"--private-key", "fileb://"+filepath.Join(dir, "key.pem"))
		if _, err := lbc.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(lbARN), Protocol: elbtypes.ProtocolEnumHttps,
			Port: aws.Int32(443), Certificates: []elbtypes.Certificate{{CertificateArn: aws.String(imp.CertificateArn)}},
			DefaultActions: forwardTo(weighted(tgB, 1))}); err != nil {
			t.Fatalf("CreateListener HTTPS: %v", err)
		}
		tc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{ForceAttemptHTTP2: true,
			TLSClientConfig: &tls.Config{ServerName: "app.example.com", RootCAs: pool(t, certPEM)}}}
		var resp *http.Response
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp, err = tc.Get("https://" + net.JoinHostPort(host, "443") + "/whoami")
			if err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("HTTPS: %v", err)
		}
		defer resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.PeerCertificates[0].Subject.CommonName != "app.example.com" {
			t.Errorf("HTTPS: %s %d", resp.Proto, resp.StatusCode)
		}
	})

	e.stop(t, task1, task2)
}
