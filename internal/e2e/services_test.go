package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
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

// TestServiceLifecycle drives a service of 3 through the aws CLI and the Go SDK: create and
// wait for services-stable, a stopped task replaced, scale up and down, a rollout to a new
// definition within maximumPercent, a broken image that trips the circuit breaker and rolls
// back, the cluster's service count, and DeleteService --force until services-inactive.
func TestServiceLifecycle(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	cli := newCLI(t, s)
	client := newSDK(t, s)
	appImage(t, s)
	td1 := svcRegister(t, client, "web", ecrRef, "serve", ":8080")

	var created struct {
		Service struct {
			ServiceArn  string `json:"serviceArn"`
			Status      string `json:"status"`
			Deployments []struct {
				ID           string `json:"id"`
				Status       string `json:"status"`
				RolloutState string `json:"rolloutState"`
			} `json:"deployments"`
			DeploymentConfiguration struct {
				MinimumHealthyPercent int `json:"minimumHealthyPercent"`
				MaximumPercent        int `json:"maximumPercent"`
			} `json:"deploymentConfiguration"`
		} `json:"service"`
	}
	cli.json(&created, "ecs", "create-service", "--service-name", "web", "--task-definition", td1, "--desired-count", "3",
		"--launch-type", "FARGATE", "--network-configuration", networkJSON(cli), "--client-token", "create-web-1",
		"--deployment-configuration", "deploymentCircuitBreaker={enable=true,rollback=true}")
	c := created.Service
	if c.ServiceArn != "arn:aws:ecs:us-east-1:000000000000:service/default/web" || c.Status != "ACTIVE" ||
		len(c.Deployments) != 1 || c.Deployments[0].Status != "PRIMARY" || c.Deployments[0].RolloutState != "IN_PROGRESS" ||
		c.DeploymentConfiguration.MinimumHealthyPercent != 100 || c.DeploymentConfiguration.MaximumPercent != 200 {
		t.Fatalf("create-service answered %+v", c)
	}
	// The same call with the same token answers the same service; another token is refused.
	var again struct {
		Service struct {
			Deployments []struct {
				ID string `json:"id"`
			} `json:"deployments"`
		} `json:"service"`
	}
	cli.json(&again, "ecs", "create-service", "--service-name", "web", "--task-definition", td1, "--desired-count", "3",
		"--launch-type", "FARGATE", "--network-configuration", networkJSON(cli), "--client-token", "create-web-1")
	if len(again.Service.Deployments) != 1 || again.Service.Deployments[0].ID != c.Deployments[0].ID {
		t.Errorf("idempotent create-service answered deployments %+v, want %s", again.Service.Deployments, c.Deployments[0].ID)
	}
	cli.fail("InvalidParameterException", "ecs", "create-service", "--service-name", "web", "--task-definition", td1,
		"--desired-count", "3", "--network-configuration", networkJSON(cli))
	cli.fail("InvalidParameterException", "ecs", "create-service", "--service-name", "nonet", "--task-definition", td1,
		"--desired-count", "1")
	cli.fail("InvalidParameterException", "ecs", "create-service", "--service-name", "badlb", "--task-definition", td1,
		"--desired-count", "1", "--network-configuration", networkJSON(cli),
		"--load-balancers", "targetGroupArn=arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/x/1,containerName=nope,containerPort=8080")

	// aws ecs wait services-stable polls every 15 s; the service is usually stable by its
	// second look.
	cli.json(nil, "ecs", "wait", "services-stable", "--services", "web")
	svc := waitService(t, client, "web", 30*time.Second, "steady", func(s types.Service) bool {
		return len(s.Events) > 0 && aws.ToString(s.Events[0].Message) == "(service web) has reached a steady state."
	})
	dep := aws.ToString(svc.Deployments[0].Id)
	if svc.RunningCount != 3 || svc.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted ||
		!hasEvent(svc, "(service web) has reached a steady state.") || !hasEvent(svc, "(service web) has started 3 tasks: (task ") ||
		!hasEvent(svc, "(service web) (deployment "+dep+") deployment completed.") {
		t.Fatalf("after services-stable:\n%s", serviceSummary(svc))
	}
	if !strings.HasPrefix(dep, "ecs-svc/") || len(dep) != len("ecs-svc/")+19 {
		t.Errorf("deployment id %q, want ecs-svc/ and 19 digits", dep)
	}
	tasks := serviceTasks(t, client, "web", types.DesiredStatusRunning)
	zones := map[string]int{}
	for _, task := range tasks {
		if aws.ToString(task.StartedBy) != dep || aws.ToString(task.Group) != "service:web" || aws.ToString(task.LastStatus) != "RUNNING" {
			t.Errorf("service task %s: startedBy %q group %q status %s, want %s service:web RUNNING", aws.ToString(task.TaskArn),
				aws.ToString(task.StartedBy), aws.ToString(task.Group), aws.ToString(task.LastStatus), dep)
		}
		zones[aws.ToString(task.AvailabilityZone)]++
	}
	if len(tasks) != 3 {
		t.Fatalf("ListTasks --service-name web: %d tasks, want 3", len(tasks))
	}
	var clusters struct {
		Clusters []struct {
			ActiveServicesCount int `json:"activeServicesCount"`
		} `json:"clusters"`
	}
	cli.json(&clusters, "ecs", "describe-clusters")
	if len(clusters.Clusters) != 1 || clusters.Clusters[0].ActiveServicesCount != 1 {
		t.Errorf("describe-clusters: %+v, want activeServicesCount 1", clusters)
	}
	cli.fail("ClusterContainsServicesException", "ecs", "delete-cluster", "--cluster", "default")

	t.Run("killed task is replaced", func(t *testing.T) {
		victim := aws.ToString(tasks[0].TaskArn)
		if n := killTaskProcess(t, taskIDOf(victim), "serve :8080"); n != 1 {
			t.Fatalf("killed %d processes of task %s, want its app", n, victim)
		}
		if got := waitStopped(t, client, victim)[0]; got.StopCode != types.TaskStopCodeEssentialContainerExited {
			t.Errorf("killed task: %s, want EssentialContainerExited", taskSummary(got))
		}
		svc := waitService(t, client, "web", 2*time.Minute, "replacing the stopped task", func(s types.Service) bool {
			return hasEvent(s, "(service web) has started 1 tasks: (task ") && s.RunningCount == 3 && stable(s) &&
				eventMessages(s)[0] == "(service web) has reached a steady state."
		})
		for _, task := range serviceTasks(t, client, "web", types.DesiredStatusRunning) {
			if aws.ToString(task.TaskArn) == victim {
				t.Errorf("the stopped task %s is still listed as running:\n%s", victim, serviceSummary(svc))
			}
		}
	})

	t.Run("stopped task is replaced", func(t *testing.T) {
		victim := aws.ToString(serviceTasks(t, client, "web", types.DesiredStatusRunning)[0].TaskArn)
		stopTask(t, client, victim)
		waitService(t, client, "web", 2*time.Minute, "replacing the stopped task", func(s types.Service) bool {
			return s.RunningCount == 3 && stable(s) && eventMessages(s)[0] == "(service web) has reached a steady state." &&
				!slices.ContainsFunc(serviceTasks(t, client, "web", types.DesiredStatusRunning), func(t types.Task) bool { return aws.ToString(t.TaskArn) == victim })
		})
	})

	t.Run("scale up and down", func(t *testing.T) {
		if _, err := client.UpdateService(t.Context(), &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(5)}); err != nil {
			t.Fatal(err)
		}
		waitService(t, client, "web", 2*time.Minute, "scaled to 5", func(s types.Service) bool { return stable(s) && s.RunningCount == 5 })
		cli.json(nil, "ecs", "update-service", "--service", "web", "--desired-count", "2")
		svc := waitService(t, client, "web", 2*time.Minute, "scaled to 2", func(s types.Service) bool {
			return stable(s) && s.RunningCount == 2 && liveTasks(t, client, "web") == 2
		})
		if !hasEvent(svc, "(service web) has stopped 3 running tasks: (task ") {
			t.Errorf("no event for the 3 stopped tasks:\n%s", serviceSummary(svc))
		}
		for _, task := range serviceTasks(t, client, "web", types.DesiredStatusStopped) {
			if aws.ToString(task.StoppedReason) == "Scaling activity initiated by (deployment "+dep+")" &&
				task.StopCode != types.TaskStopCodeServiceSchedulerInitiated {
				t.Errorf("scaled-in task %s: stop code %s", aws.ToString(task.TaskArn), task.StopCode)
			}
		}
	})

	td2 := svcRegister(t, client, "web", ecrRef, "serve", ":8081")
	t.Run("rollout within maximumPercent", func(t *testing.T) {
		var peak atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if n := int64(liveTasks(t, client, "web")); n > peak.Load() {
					peak.Store(n)
				}
			}
		})
		out, err := client.UpdateService(t.Context(), &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String(td2)})
		if err != nil {
			close(stop)
			wg.Wait()
			t.Fatal(err)
		}
		if len(out.Service.Deployments) != 2 || aws.ToString(out.Service.Deployments[0].Status) != "PRIMARY" ||
			aws.ToString(out.Service.Deployments[1].Status) != "ACTIVE" {
			t.Errorf("UpdateService answered deployments:\n%s", serviceSummary(*out.Service))
		}
		newDep := aws.ToString(out.Service.Deployments[0].Id)
		svc := waitService(t, client, "web", 3*time.Minute, "rolled out", func(s types.Service) bool {
			return stable(s) && aws.ToString(s.Deployments[0].Id) == newDep && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
		})
		close(stop)
		wg.Wait()
		if p := peak.Load(); p > 4 {
			t.Errorf("%d tasks at once during the rollout of 2 tasks at maximumPercent 200, want at most 4", p)
		}
		for _, task := range serviceTasks(t, client, "web", types.DesiredStatusRunning) {
			if aws.ToString(task.TaskDefinitionArn) != td2 || aws.ToString(task.StartedBy) != newDep {
				t.Errorf("task %s runs %s started by %s after the rollout, want %s by %s", aws.ToString(task.TaskArn),
					aws.ToString(task.TaskDefinitionArn), aws.ToString(task.StartedBy), td2, newDep)
			}
		}
		if aws.ToString(svc.TaskDefinition) != td2 {
			t.Errorf("service task definition %s, want %s", aws.ToString(svc.TaskDefinition), td2)
		}
	})

	t.Run("circuit breaker rolls back", func(t *testing.T) {
		broken := svcRegister(t, client, "web", "000000000000.dkr.ecr.us-east-1.amazonaws.com/app:does-not-exist", "serve", ":8080")
		out, err := client.UpdateService(t.Context(), &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String(broken)})
		if err != nil {
			t.Fatal(err)
		}
		failedDep := aws.ToString(out.Service.Deployments[0].Id)
		svc := waitService(t, client, "web", 4*time.Minute, "rolled back", func(s types.Service) bool {
			return stable(s) && aws.ToString(s.TaskDefinition) == td2 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted &&
				hasEvent(s, "(service web) rolling back to deployment ")
		})
		if !hasEvent(svc, "(service web) (deployment "+failedDep+") deployment failed: tasks failed to start.") {
			t.Errorf("no failure event for %s:\n%s", failedDep, serviceSummary(svc))
		}
		if r := aws.ToString(svc.Deployments[0].RolloutStateReason); !strings.HasPrefix(r, "ECS deployment ") {
			t.Errorf("rollback deployment reason %q", r)
		}
		failedStarts := 0
		for _, task := range serviceTasks(t, client, "web", types.DesiredStatusStopped) {
			if aws.ToString(task.StartedBy) == failedDep {
				failedStarts++
			}
		}
		if failedStarts < 3 {
			t.Errorf("%d tasks of the broken deployment, want at least the threshold 3", failedStarts)
		}
	})

	t.Run("delete", func(t *testing.T) {
		cli.fail("InvalidParameterException", "ecs", "delete-service", "--service", "web")
		var del struct {
			Service struct {
				Status string `json:"status"`
			} `json:"service"`
		}
		cli.json(&del, "ecs", "delete-service", "--service", "web", "--force")
		if del.Service.Status != "DRAINING" {
			t.Errorf("delete-service --force answered status %s, want DRAINING", del.Service.Status)
		}
		cli.json(nil, "ecs", "wait", "services-inactive", "--services", "web")
		if n := liveTasks(t, client, "web"); n != 0 {
			t.Errorf("%d tasks left after services-inactive", n)
		}
		var list struct {
			ServiceArns []string `json:"serviceArns"`
		}
		cli.json(&list, "ecs", "list-services")
		if len(list.ServiceArns) != 0 {
			t.Errorf("list-services after delete: %v", list.ServiceArns)
		}
		cli.fail("ServiceNotActiveException", "ecs", "update-service", "--service", "web", "--desired-count", "1")
		// The name is free again.
		cli.json(nil, "ecs", "create-service", "--service-name", "web", "--task-definition", td2, "--desired-count", "0",
			"--network-configuration", networkJSON(cli))
		cli.json(nil, "ecs", "delete-service", "--service", "web")
	})
}

// TestServiceKills rolls a 4-task service to a new definition and
// kills the server with SIGKILL three times during the rollout, restarting it on the same data
// dir: the deployment completes with exactly 4 tasks of the new definition, no task of it was
// launched twice or lost to a crash, and the service never had more tasks than maximumPercent
// allows.
func TestServiceKills(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dir)
	client := newSDK(t, s)
	appImage(t, s)
	td1 := svcRegister(t, client, "kills", ecrRef, "serve", ":8080")
	td2 := svcRegister(t, client, "kills", ecrRef, "serve", ":8081")
	if _, err := client.CreateService(t.Context(), &ecs.CreateServiceInput{ServiceName: aws.String("kills"), TaskDefinition: aws.String(td1),
		DesiredCount: aws.Int32(4), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: sdkNetwork(t, client),
		DeploymentConfiguration: &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50), MaximumPercent: aws.Int32(150)}}); err != nil {
		t.Fatal(err)
	}
	waitService(t, client, "kills", 2*time.Minute, "stable", stable)
	out, err := client.UpdateService(t.Context(), &ecs.UpdateServiceInput{Service: aws.String("kills"), TaskDefinition: aws.String(td2)})
	if err != nil {
		t.Fatal(err)
	}
	newDep := aws.ToString(out.Service.Deployments[0].Id)
	peak := 0
	for i := range 3 {
		deadline := time.Now().Add(time.Duration(300+200*i) * time.Millisecond)
		for time.Now().Before(deadline) {
			peak = max(peak, liveTasks(t, client, "kills"))
		}
		s.Kill()
		s = startServer(t, dir)
		client = newSDK(t, s)
		peak = max(peak, liveTasks(t, client, "kills"))
	}
	svc := waitService(t, client, "kills", 3*time.Minute, "rolled out after three kills", func(s types.Service) bool {
		peak = max(peak, liveTasks(t, client, "kills"))
		return stable(s) && aws.ToString(s.Deployments[0].Id) == newDep && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted &&
			liveTasks(t, client, "kills") == 4
	})
	if peak > 6 {
		t.Errorf("%d tasks at once, want at most 6 (maximumPercent 150 of 4)", peak)
	}
	running := serviceTasks(t, client, "kills", types.DesiredStatusRunning)
	if len(running) != 4 {
		t.Errorf("%d running tasks after the rollout, want 4:\n%s", len(running), serviceSummary(svc))
	}
	for _, task := range running {
		if aws.ToString(task.StartedBy) != newDep || aws.ToString(task.TaskDefinitionArn) != td2 {
			t.Errorf("task %s: %s by %s, want %s by %s", aws.ToString(task.TaskArn), aws.ToString(task.TaskDefinitionArn),
				aws.ToString(task.StartedBy), td2, newDep)
		}
	}
	// None duplicated and none lost: a launch that ran twice would leave a surplus task of the
	// new deployment that the scheduler scales in, and a task a crash cut while it started goes
	// on starting after the restart (it is not stopped and replaced).
	for _, task := range serviceTasks(t, client, "kills", types.DesiredStatusStopped) {
		if aws.ToString(task.StartedBy) == newDep {
			t.Errorf("task %s of the new deployment stopped: %s", aws.ToString(task.TaskArn), taskSummary(task))
		}
	}
	if pids := shimPids(t, dir); len(pids) != 4 {
		t.Errorf("%d shim processes after the rollout, want 4 (%v)", len(pids), pids)
	}
	raw, _ := json.Marshal(eventMessages(svc))
	t.Logf("peak %d tasks; events %s", peak, raw)
}

// lbLoad sends GETs through a load balancer at about rate per second from several workers
// until stop closes, counting answers that are not 200.
type lbLoad struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	errs       []string
	wg         sync.WaitGroup
	stop       chan struct{}
	started    time.Time
}

func startLoad(t *testing.T, addr string, rate int) *lbLoad {
	l := &lbLoad{stop: make(chan struct{}), started: time.Now()}
	const workers = 8
	c := &http.Client{Timeout: 10 * time.Second}
	interval := time.Duration(workers) * time.Second / time.Duration(rate)
	for range workers {
		l.wg.Go(func() {
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for {
				select {
				case <-l.stop:
					return
				case <-tick.C:
				}
				resp, err := c.Get("http://" + addr + "/")
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != http.StatusOK {
					l.failed.Add(1)
					l.mu.Lock()
					if len(l.errs) < 10 {
						if err != nil {
							l.errs = append(l.errs, err.Error())
						} else {
							l.errs = append(l.errs, resp.Status)
						}
					}
					l.mu.Unlock()
					continue
				}
				l.ok.Add(1)
			}
		})
	}
	return l
}

// end stops the load and returns requests per second, the failures and a few of their errors.
func (l *lbLoad) end() (float64, int64, []string) {
	close(l.stop)
	l.wg.Wait()
	n := l.ok.Load() + l.failed.Load()
	return float64(n) / time.Since(l.started).Seconds(), l.failed.Load(), l.errs
}

// TestServiceLoadBalancer runs a service of 2 behind an application load balancer: its tasks
// spread over two zones' subnets, are registered as targets (with events) and counted only once
// healthy; a rollout under continuous load of at least 100 requests per second registers the
// new tasks, drains and deregisters the old ones before stopping them, and fails no request.
func TestServiceLoadBalancer(t *testing.T) {
	t.Parallel()
	dnsAddr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	lbPool := fmt.Sprintf("127.79.%d.0/24", time.Now().UnixNano()%250+1)
	s := startServer(t, "", "--dns-listen", dnsAddr, "--lb-address-pool", lbPool)
	e := &vpcEnv{s: s, ecs: newSDK(t, s), ec2: newEC2(t, s), cli: newCLI(t, s)}
	client := e.ecs
	appImage(t, s)
	td1 := svcRegister(t, client, "lbweb", ecrRef, "serve", ":8080")
	lbc := newELB(t, s)
	ctx := t.Context()
	subnetA := defaultSubnet(t, s.URL)
	subs, err := e.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{
		{Name: aws.String("default-for-az"), Values: []string{"true"}}, {Name: aws.String("availability-zone"), Values: []string{"us-east-1b"}}}})
	if err != nil || len(subs.Subnets) != 1 {
		t.Fatalf("default subnet of us-east-1b: %v %v", subs, err)
	}
	subnetB, vpc := aws.ToString(subs.Subnets[0].SubnetId), aws.ToString(subs.Subnets[0].VpcId)
	sgLB, sgTask := e.createGroup(t, vpc, "svc-lb"), e.createGroup(t, vpc, "svc-task")
	e.authorize(t, sgLB, tcpFromCIDR(80, "0.0.0.0/0"))
	e.authorize(t, sgTask, tcpFromGroup(8080, sgLB))

	lbOut, err := lbc.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("svc-alb"), Subnets: []string{subnetA, subnetB},
		SecurityGroups: []string{sgLB}})
	if err != nil {
		t.Fatal(err)
	}
	lbARN, dnsName := aws.ToString(lbOut.LoadBalancers[0].LoadBalancerArn), aws.ToString(lbOut.LoadBalancers[0].DNSName)
	tgOut, err := lbc.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("svc-tg"), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(8080), VpcId: aws.String(vpc), TargetType: elbtypes.TargetTypeEnumIp, HealthCheckPath: aws.String("/health"),
		HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2),
		HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	tg := aws.ToString(tgOut.TargetGroups[0].TargetGroupArn)
	if _, err := lbc.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(tg),
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("5")}}}); err != nil {
		t.Fatal(err)
	}
	lbs := []types.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080)}}
	network := &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{subnetA, subnetB},
		SecurityGroups: []string{sgTask}}}
	// A target group no load balancer uses is refused, as ECS refuses it.
	if _, err := client.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("lbweb"), TaskDefinition: aws.String(td1),
		DesiredCount: aws.Int32(2), NetworkConfiguration: network, LoadBalancers: lbs}); err == nil ||
		!strings.Contains(err.Error(), "does not have an associated load balancer") {
		t.Fatalf("CreateService with an unattached target group: %v", err)
	}
	listener, err := lbc.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(lbARN), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(80), DefaultActions: forwardTo(weighted(tg, 1))})
	if err != nil {
		t.Fatal(err)
	}
	e.cli.json(nil, "elbv2", "wait", "load-balancer-available", "--load-balancer-arns", lbARN)
	addrs := resolveVia(t, dnsAddr, dnsName)
	if len(addrs) != 1 {
		t.Fatalf("%s resolves to %v", dnsName, addrs)
	}
	lbAddr := addrs[0]

	if _, err := client.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("lbweb"), TaskDefinition: aws.String(td1),
		DesiredCount: aws.Int32(2), NetworkConfiguration: network, LoadBalancers: lbs, HealthCheckGracePeriodSeconds: aws.Int32(20)}); err != nil {
		t.Fatal(err)
	}
	svc := waitService(t, client, "lbweb", 2*time.Minute, "steady behind the load balancer", func(s types.Service) bool {
		return stable(s) && len(s.Events) > 0 && aws.ToString(s.Events[0].Message) == "(service lbweb) has reached a steady state."
	})
	registered := 0
	for _, m := range eventMessages(svc) {
		var n int
		if _, err := fmt.Sscanf(m, "(service lbweb) registered %d targets in (target-group "+tg+")", &n); err == nil {
			registered += n
		}
	}
	if registered != 2 {
		t.Errorf("no registration event:\n%s", serviceSummary(svc))
	}
	tasks := serviceTasks(t, client, "lbweb", types.DesiredStatusRunning)
	zones := map[string]bool{}
	h := health(t, lbc, tg)
	for _, task := range tasks {
		zones[aws.ToString(task.AvailabilityZone)] = true
		if ip := detail(task, "privateIPv4Address"); h[ip][0] != "healthy" {
			t.Errorf("target %s of task %s: %v, want healthy", ip, aws.ToString(task.TaskArn), h[ip])
		}
	}
	if len(zones) != 2 {
		t.Errorf("tasks in zones %v, want spread over us-east-1a and us-east-1b", zones)
	}

	load := startLoad(t, lbAddr, 150)
	time.Sleep(2 * time.Second)
	began := time.Now()
	out, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("lbweb"), ForceNewDeployment: true})
	if err != nil {
		load.end()
		t.Fatal(err)
	}
	newDep := aws.ToString(out.Service.Deployments[0].Id)
	svc = waitService(t, client, "lbweb", 3*time.Minute, "rolled out behind the load balancer", func(s types.Service) bool {
		return stable(s) && aws.ToString(s.Deployments[0].Id) == newDep && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted &&
			liveTasks(t, client, "lbweb") == 2
	})
	took := time.Since(began)
	time.Sleep(2 * time.Second)
	rate, failed, errs := load.end()
	t.Logf("rollout behind the load balancer took %v under %.0f requests/s; %d failed %v", took, rate, failed, errs)
	if failed != 0 {
		t.Errorf("%d requests failed during the rollout: %v", failed, errs)
	}
	if rate < 100 {
		t.Errorf("load was %.0f requests/s, want at least 100", rate)
	}
	for _, want := range []string{"(service lbweb) has begun draining connections on ", "(service lbweb) deregistered ",
		"(service lbweb) has stopped "} {
		if !hasEvent(svc, want) {
			t.Errorf("no event %q:\n%s", want, serviceSummary(svc))
		}
	}
	h = health(t, lbc, tg)
	newTasks := serviceTasks(t, client, "lbweb", types.DesiredStatusRunning)
	for _, task := range newTasks {
		if ip := detail(task, "privateIPv4Address"); h[ip][0] != "healthy" || aws.ToString(task.StartedBy) != newDep {
			t.Errorf("task %s (%s) target %v after the rollout", aws.ToString(task.TaskArn), aws.ToString(task.StartedBy), h[ip])
		}
	}
	if len(h) != 2 {
		t.Errorf("targets after the rollout: %v, want only the 2 new tasks", h)
	}

	// A broken image under load: the circuit breaker trips and rolls back; no request fails.
	broken := svcRegister(t, client, "lbweb", "000000000000.dkr.ecr.us-east-1.amazonaws.com/app:does-not-exist", "serve", ":8080")
	load = startLoad(t, lbAddr, 150)
	out, err = client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("lbweb"), TaskDefinition: aws.String(broken),
		DeploymentConfiguration: &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}}})
	if err != nil {
		load.end()
		t.Fatal(err)
	}
	svc = waitService(t, client, "lbweb", 4*time.Minute, "rolled back behind the load balancer", func(s types.Service) bool {
		return stable(s) && aws.ToString(s.TaskDefinition) == td1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted &&
			hasEvent(s, "(service lbweb) rolling back to deployment ") && liveTasks(t, client, "lbweb") == 2
	})
	rate, failed, errs = load.end()
	t.Logf("circuit breaker and rollback behind the load balancer under %.0f requests/s; %d failed %v", rate, failed, errs)
	if failed != 0 {
		t.Errorf("%d requests failed during the failed deployment and its rollback: %v", failed, errs)
	}
	if !hasEvent(svc, "(service lbweb) (deployment "+aws.ToString(out.Service.Deployments[0].Id)+") deployment failed: tasks failed to start.") {
		t.Errorf("no circuit breaker event:\n%s", serviceSummary(svc))
	}
	switchTargetGroup(t, client, lbc, aws.ToString(listener.Listeners[0].ListenerArn), vpc, tg)
}

// countEvents sums the counts of a service's events not in seen that match format (one %d).
func countEvents(s types.Service, format string, seen map[string]bool) int {
	total := 0
	for _, ev := range s.Events {
		var n int
		if seen[aws.ToString(ev.Id)] {
			continue
		}
		if _, err := fmt.Sscanf(aws.ToString(ev.Message), format, &n); err == nil {
			total += n
		}
	}
	return total
}

// switchTargetGroup moves service lbweb from target group old to a second group on the same
// listener (a rule): the new deployment's tasks end healthy in the new group and the old
// deployment's tasks are deregistered from the old group, which ends empty.
func switchTargetGroup(t *testing.T, client *ecs.Client, lbc *elb.Client, listenerARN, vpc, old string) {
	ctx := t.Context()
	tgOut, err := lbc.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("svc-tg2"), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(8080), VpcId: aws.String(vpc), TargetType: elbtypes.TargetTypeEnumIp, HealthCheckPath: aws.String("/health"),
		HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2),
		HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	tg2 := aws.ToString(tgOut.TargetGroups[0].TargetGroupArn)
	if _, err := lbc.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: aws.String(listenerARN), Priority: aws.Int32(10),
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"),
			PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{"/v2/*"}}}},
		Actions: forwardTo(weighted(tg2, 1))}); err != nil {
		t.Fatal(err)
	}
	oldTasks := serviceTasks(t, client, "lbweb", types.DesiredStatusRunning)
	seen := map[string]bool{}
	for _, ev := range describeService(t, client, "lbweb").Events {
		seen[aws.ToString(ev.Id)] = true
	}
	began := time.Now()
	out, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("lbweb"),
		LoadBalancers: []types.LoadBalancer{{TargetGroupArn: aws.String(tg2), ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080)}}})
	if err != nil {
		t.Fatal(err)
	}
	newDep := aws.ToString(out.Service.Deployments[0].Id)
	if len(out.Service.Deployments) < 2 || len(out.Service.LoadBalancers) != 1 || aws.ToString(out.Service.LoadBalancers[0].TargetGroupArn) != tg2 {
		t.Fatalf("UpdateService to a second target group: deployments %d, load balancers %+v", len(out.Service.Deployments), out.Service.LoadBalancers)
	}
	svc := waitService(t, client, "lbweb", 2*time.Minute, "moved to the second target group", func(s types.Service) bool {
		return stable(s) && aws.ToString(s.Deployments[0].Id) == newDep && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted &&
			liveTasks(t, client, "lbweb") == 2 && len(health(t, lbc, old)) == 0
	})
	t.Logf("switch to a second target group took %v", time.Since(began))
	for _, want := range []struct {
		format string
		n      int
	}{{"(service lbweb) registered %d targets in (target-group " + tg2 + ")", 2},
		{"(service lbweb) deregistered %d targets in (target-group " + old + ")", 2},
		{"(service lbweb) registered %d targets in (target-group " + old + ")", 0}} {
		if got := countEvents(svc, want.format, seen); got != want.n {
			t.Errorf("%d targets in events %q since the switch, want %d:\n%s", got, want.format, want.n, serviceSummary(svc))
		}
	}
	h2 := health(t, lbc, tg2)
	newTasks := serviceTasks(t, client, "lbweb", types.DesiredStatusRunning)
	for _, task := range newTasks {
		if ip := detail(task, "privateIPv4Address"); h2[ip][0] != "healthy" || aws.ToString(task.StartedBy) != newDep {
			t.Errorf("task %s (%s) in the second group: %v, want healthy", aws.ToString(task.TaskArn), aws.ToString(task.StartedBy), h2[ip])
		}
	}
	for _, task := range oldTasks {
		if ip := detail(task, "privateIPv4Address"); h2[ip] != ([2]string{}) {
			t.Errorf("old task %s is a target of the second group: %v", aws.ToString(task.TaskArn), h2[ip])
		}
	}
	if len(h2) != 2 {
		t.Errorf("second group's targets %v, want the 2 new tasks", h2)
	}
	if h := health(t, lbc, old); len(h) != 0 {
		t.Errorf("first group's targets %v, want none", h)
	}
}

// TestServiceWaitsForRoom: on a host that fits three small tasks, with one already taken by a
// standalone task, a service of 3 runs two, says in its events why it cannot place the third,
// and places it as soon as the standalone task stops.
func TestServiceWaitsForRoom(t *testing.T) {
	t.Parallel()
	c := startCapacityServer(t, 768, 8192, 1, 1)
	standalone, failures := c.run(t, 1)
	if len(standalone) != 1 || len(failures) != 0 {
		t.Fatalf("standalone task: %v %v", standalone, failures)
	}
	if _, err := c.client.CreateService(t.Context(), &ecs.CreateServiceInput{ServiceName: aws.String("tight"), TaskDefinition: aws.String(c.td),
		DesiredCount: aws.Int32(3), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: sdkNetwork(t, c.client)}); err != nil {
		t.Fatal(err)
	}
	const unplaced = "(service tight) was unable to place a task because no container instance met all of its requirements. Reason: "
	svc := waitService(t, c.client, "tight", 2*time.Minute, "two running and the third unplaced", func(s types.Service) bool {
		return s.RunningCount == 2 && hasEvent(s, unplaced)
	})
	for _, m := range eventMessages(svc) {
		if strings.HasPrefix(m, unplaced) && !strings.Contains(m, "RESOURCE:CPU") {
			t.Errorf("event %q does not name the missing resource", m)
		}
	}
	c.stop(t, standalone...)
	waitService(t, c.client, "tight", 2*time.Minute, "placed once room appeared", func(s types.Service) bool {
		return stable(s) && s.RunningCount == 3
	})
	if _, err := c.client.DeleteService(t.Context(), &ecs.DeleteServiceInput{Service: aws.String("tight"), Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if err := ecs.NewServicesInactiveWaiter(c.client, func(o *ecs.ServicesInactiveWaiterOptions) {
		o.MinDelay, o.MaxDelay = 200*time.Millisecond, time.Second
	}).Wait(t.Context(), &ecs.DescribeServicesInput{Services: []string{"tight"}}, 2*time.Minute); err != nil {
		t.Fatalf("services-inactive (SDK waiter): %v", err)
	}
}

// TestServiceReplacesUnhealthyTasks: a task whose container health check fails is stopped by
// the service (with ECS's event and stop reason) and replaced.
func TestServiceReplacesUnhealthyTasks(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	client := newSDK(t, s)
	appImage(t, s)
	td := sdkRegister(t, client, "sick", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef),
		Command: []string{"serve", ":8080"}, HealthCheck: &types.HealthCheck{Command: []string{"CMD", "/app", "exit", "1"},
			Interval: aws.Int32(5), Timeout: aws.Int32(2), Retries: aws.Int32(1), StartPeriod: aws.Int32(0)}})
	if _, err := client.CreateService(t.Context(), &ecs.CreateServiceInput{ServiceName: aws.String("sick"), TaskDefinition: aws.String(td),
		DesiredCount: aws.Int32(1), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: sdkNetwork(t, client)}); err != nil {
		t.Fatal(err)
	}
	svc := waitService(t, client, "sick", 2*time.Minute, "replacing its unhealthy task", func(s types.Service) bool {
		return hasEvent(s, "(service sick) (task ") && strings.Count(strings.Join(eventMessages(s), "\n"), "has started 1 tasks") >= 2
	})
	if s := describeService(t, client, "sick"); s.RunningCount > 1 || s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted {
		t.Errorf("a service whose tasks never turn healthy:\n%s", serviceSummary(s))
	}
	found := false
	for _, task := range serviceTasks(t, client, "sick", types.DesiredStatusStopped) {
		if aws.ToString(task.StoppedReason) == "Task failed container health checks" && task.StopCode == types.TaskStopCodeServiceSchedulerInitiated &&
			task.HealthStatus == types.HealthStatusUnhealthy {
			found = true
		}
	}
	if !found {
		t.Errorf("no task stopped for failing its health checks:\n%s", serviceSummary(svc))
	}
	if _, err := client.DeleteService(t.Context(), &ecs.DeleteServiceInput{Service: aws.String("sick"), Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	waitService(t, client, "sick", 2*time.Minute, "inactive", func(s types.Service) bool { return aws.ToString(s.Status) == "INACTIVE" })
}
