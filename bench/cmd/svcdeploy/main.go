// Command svcdeploy measures how long an ECS service rollout takes in gantry: a 4-task service
// behind an application load balancer is updated (forceNewDeployment) and timed from
// UpdateService to steady state (one deployment, COMPLETED, only new tasks left), against the
// floor its settings impose: the target group's health-check interval x healthy threshold
// (before a new task counts) plus the deregistration delay (before an old one stops). It prints
// the ratio of each round and of the median.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/gantry-dev/gantry/bench"
	"github.com/gantry-dev/gantry/internal/e2e"
	"github.com/gantry-dev/gantry/internal/testimage"
)

// goal is issue 6's: a rollout within 1.2x of the floor its health-check settings set.
const goal = 1.2

func main() {
	gantry := flag.String("gantry", "bin/gantry", "the gantry binary to measure")
	rounds := flag.Int("rounds", 3, "rollouts to time")
	tasks := flag.Int("tasks", 4, "the service's desired count")
	interval := flag.Int("interval", 5, "target group health-check interval, seconds")
	healthy := flag.Int("healthy", 2, "target group healthy threshold")
	drain := flag.Int("drain", 5, "target group deregistration delay, seconds")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *gantry, *rounds, *tasks, *interval, *healthy, *drain); err != nil {
		fmt.Fprintln(os.Stderr, "svcdeploy:", err)
		os.Exit(1)
	}
}

type clients struct {
	ecs *ecs.Client
	ec2 *ec2.Client
	elb *elb.Client
}

func newClients(ctx context.Context, url string) (clients, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}))
	if err != nil {
		return clients{}, err
	}
	return clients{
		ecs: ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = aws.String(url) }),
		ec2: ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = aws.String(url) }),
		elb: elb.NewFromConfig(cfg, func(o *elb.Options) { o.BaseEndpoint = aws.String(url) }),
	}, nil
}

func run(ctx context.Context, bin string, rounds, n, interval, healthy, drain int) error {
	if err := bench.BecomeSubreaper(); err != nil {
		return fmt.Errorf("subreaper: %w", err)
	}
	defer bench.ReapOrphans()
	dir, err := os.MkdirTemp("", "gantry-svcdeploy-")
	if err != nil {
		return err
	}
	defer func() {
		unmountUnder(dir) // the VPC routers' namespaces are bind mounts in the data dir
		os.RemoveAll(dir)
	}()
	dnsAddr, err := e2e.FreeAddr()
	if err != nil {
		return err
	}
	s, err := e2e.Start(ctx, e2e.Options{Binary: bin, DataDir: dir, Args: []string{"--dns-listen", dnsAddr,
		"--lb-address-pool", fmt.Sprintf("127.80.%d.0/24", os.Getpid()%250+1), "--cgroup-parent", "gantry-svcdeploy-" + strconv.Itoa(os.Getpid())}})
	// Tasks outlive their server by design: the service is deleted (its tasks stopped) before
	// the server stops.
	if err != nil {
		return err
	}
	parent := "gantry-svcdeploy-" + strconv.Itoa(os.Getpid())
	defer func() {
		_, _ = s.Stop(30 * time.Second)
		bench.ReapOrphans()
		removeCgroupParent(parent)
	}()
	c, err := newClients(ctx, s.URL)
	if err != nil {
		return err
	}
	img, err := testimage.Build(ctx, testimage.Options{})
	if err != nil {
		return fmt.Errorf("build test image: %w", err)
	}
	if _, err := testimage.Push(ctx, img, s.Addr, "app", "v1"); err != nil {
		return err
	}
	svcName, err := setUp(ctx, c, s.Addr+"/app:v1", n, interval, healthy, drain)
	defer deleteService(context.WithoutCancel(ctx), c, svcName)
	if err != nil {
		return err
	}
	if _, err := waitSteady(ctx, c, svcName, "", n, 3*time.Minute); err != nil {
		return fmt.Errorf("first deployment: %w", err)
	}
	floor := time.Duration(interval*healthy+drain) * time.Second
	fmt.Printf("svcdeploy: %d tasks, maximumPercent 200, minimumHealthyPercent 100; health check every %ds, healthy after %d, deregistration delay %ds; floor %v; %s\n",
		n, interval, healthy, drain, floor, bench.Load())
	fmt.Println("(as ALB does, the load balancer counts a newly registered target healthy after one passing check and ends a drain early when no request is in flight, so a rollout may beat this floor)")
	var took []time.Duration
	for i := range rounds {
		began := time.Now()
		out, err := c.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String(svcName), ForceNewDeployment: true})
		if err != nil {
			return err
		}
		at, err := waitSteady(ctx, c, svcName, aws.ToString(out.Service.Deployments[0].Id), n, 5*time.Minute)
		if err != nil {
			return fmt.Errorf("round %d: %w", i+1, err)
		}
		d := at.Sub(began)
		took = append(took, d)
		fmt.Printf("round %d: UpdateService to steady state %v, %.2fx the floor\n", i+1, d.Round(10*time.Millisecond), d.Seconds()/floor.Seconds())
	}
	slices.Sort(took)
	med := took[len(took)/2]
	verdict := "within"
	if med.Seconds()/floor.Seconds() > goal {
		verdict = "NOT within"
	}
	fmt.Printf("median %v = %.2fx the floor %v (%s the goal of %.1fx)\n", med.Round(10*time.Millisecond), med.Seconds()/floor.Seconds(), floor, verdict, goal)
	return nil
}

// deleteService deletes the service with force and waits until it is INACTIVE: its tasks are
// stopped.
func deleteService(ctx context.Context, c clients, name string) {
	if name == "" {
		return
	}
	if _, err := c.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String(name), Force: aws.Bool(true)}); err != nil {
		fmt.Fprintln(os.Stderr, "delete service:", err)
		return
	}
	if err := ecs.NewServicesInactiveWaiter(c.ecs, func(o *ecs.ServicesInactiveWaiterOptions) {
		o.MinDelay, o.MaxDelay = 200*time.Millisecond, time.Second
	}).Wait(ctx, &ecs.DescribeServicesInput{Services: []string{name}}, 2*time.Minute); err != nil {
		fmt.Fprintln(os.Stderr, "wait for the service to be inactive:", err)
	}
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(dir string) {
	raw, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var points []string
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			points = append(points, f[4])
		}
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	for _, p := range points {
		_ = syscall.Unmount(p, syscall.MNT_DETACH)
	}
}

// removeCgroupParent removes name under every cgroup mount, children first.
func removeCgroupParent(name string) {
	mounts, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, m := range append(mounts, "/sys/fs/cgroup") {
		var dirs []string
		_ = filepath.WalkDir(filepath.Join(m, name), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for _, d := range slices.Backward(dirs) {
			_ = os.Remove(d)
		}
	}
}

// setUp makes the load balancer, target group, listener, groups, definition and service.
func setUp(ctx context.Context, c clients, image string, n, interval, healthy, drain int) (string, error) {
	subs, err := c.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{
		{Name: aws.String("default-for-az"), Values: []string{"true"}}}})
	if err != nil || len(subs.Subnets) < 2 {
		return "", fmt.Errorf("default subnets: %d, %v", len(subs.Subnets), err)
	}
	vpc := aws.ToString(subs.Subnets[0].VpcId)
	subnets := []string{aws.ToString(subs.Subnets[0].SubnetId), aws.ToString(subs.Subnets[1].SubnetId)}
	group := func(name string, perm ec2types.IpPermission) (string, error) {
		g, err := c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: aws.String(vpc), GroupName: aws.String(name), Description: aws.String(name)})
		if err != nil {
			return "", err
		}
		_, err = c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: g.GroupId, IpPermissions: []ec2types.IpPermission{perm}})
		return aws.ToString(g.GroupId), err
	}
	sgLB, err := group("bench-lb", ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80),
		IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}})
	if err != nil {
		return "", err
	}
	sgTask, err := group("bench-task", ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8080), ToPort: aws.Int32(8080),
		UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(sgLB)}}})
	if err != nil {
		return "", err
	}
	lb, err := c.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("bench-alb"), Subnets: subnets, SecurityGroups: []string{sgLB}})
	if err != nil {
		return "", err
	}
	tg, err := c.elb.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("bench-tg"), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(8080), VpcId: aws.String(vpc), TargetType: elbtypes.TargetTypeEnumIp, HealthCheckPath: aws.String("/health"),
		HealthCheckIntervalSeconds: aws.Int32(int32(interval)), HealthCheckTimeoutSeconds: aws.Int32(2),
		HealthyThresholdCount: aws.Int32(int32(healthy)), UnhealthyThresholdCount: aws.Int32(2)})
	if err != nil {
		return "", err
	}
	tgARN := tg.TargetGroups[0].TargetGroupArn
	if _, err := c.elb.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: tgARN,
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String(strconv.Itoa(drain))}}}); err != nil {
		return "", err
	}
	if _, err := c.elb.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(80), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tgARN}}}); err != nil {
		return "", err
	}
	td, err := c.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("bench-web"), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(image), Command: []string{"serve", ":8080"},
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}}}}})
	if err != nil {
		return "", err
	}
	_, err = c.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("bench-web"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
		DesiredCount: aws.Int32(int32(n)), LaunchType: types.LaunchTypeFargate,
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: subnets, SecurityGroups: []string{sgTask}}},
		LoadBalancers:        []types.LoadBalancer{{TargetGroupArn: tgARN, ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080)}}})
	return "bench-web", err
}

// waitSteady polls until the service has one deployment (dep, when given), COMPLETED, with n
// running tasks and no other task left, and returns when it saw that.
func waitSteady(ctx context.Context, c clients, name, dep string, n int, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		out, err := c.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{name}})
		if err != nil {
			return time.Time{}, err
		}
		if len(out.Services) == 1 {
			s := out.Services[0]
			if len(s.Deployments) == 1 && (dep == "" || aws.ToString(s.Deployments[0].Id) == dep) &&
				s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted && int(s.RunningCount) == n {
				seen := time.Now()
				left, err := c.ecs.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String(name), DesiredStatus: types.DesiredStatusStopped})
				if err != nil {
					return time.Time{}, err
				}
				stopping := 0
				if len(left.TaskArns) > 0 {
					d, err := c.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: left.TaskArns})
					if err != nil {
						return time.Time{}, err
					}
					for _, t := range d.Tasks {
						if aws.ToString(t.LastStatus) != "STOPPED" {
							stopping++
						}
					}
				}
				if stopping == 0 {
					return seen, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return time.Time{}, errors.New("no steady state before the timeout")
}
