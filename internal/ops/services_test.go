package ops

import (
	"context"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

func svcInput(mut func(*CreateServiceInput)) CreateServiceInput {
	in := CreateServiceInput{ServiceName: "web", TaskDefinition: "api-service", DesiredCount: new(2), LaunchType: "FARGATE",
		Network: &model.AwsVpcConfiguration{Subnets: []string{runTestSubnet}}}
	if mut != nil {
		mut(&in)
	}
	return in
}

func wantKind(t *testing.T, err error, k apierr.Kind, msgPart string) {
	t.Helper()
	if apierr.KindOf(err) != k || !strings.Contains(err.Error(), msgPart) {
		t.Fatalf("error %v, want %s containing %q", err, k, msgPart)
	}
}

func TestCreateServiceValidation(t *testing.T) {
	e := runTestECS(t)
	for _, tc := range []struct {
		name string
		mut  func(*CreateServiceInput)
		kind apierr.Kind
		msg  string
	}{
		{"blank name", func(in *CreateServiceInput) { in.ServiceName = "" }, apierr.InvalidParameter, "serviceName can not be blank."},
		{"bad name", func(in *CreateServiceInput) { in.ServiceName = "a b" }, apierr.InvalidParameter, "Invalid service name"},
		{"no desired count", func(in *CreateServiceInput) { in.DesiredCount = nil }, apierr.InvalidParameter, "desiredCount"},
		{"negative desired", func(in *CreateServiceInput) { in.DesiredCount = new(-1) }, apierr.InvalidParameter, "desiredCount must be at least 0"},
		{"both launch choices", func(in *CreateServiceInput) {
			in.CapacityProviderStrategy = []model.CapacityProviderStrategyItem{{CapacityProvider: "FARGATE", Weight: 1}}
		}, apierr.InvalidParameter, "Specifying both a launch type and capacity provider strategy"},
		{"no network for awsvpc", func(in *CreateServiceInput) { in.Network = nil }, apierr.InvalidParameter, "Network Configuration must be provided"},
		{"unknown subnet", func(in *CreateServiceInput) { in.Network.Subnets = []string{"subnet-0123456789abcdef0"} }, apierr.InvalidParameter, "Error retrieving subnet information"},
		{"bad assignPublicIp", func(in *CreateServiceInput) { in.Network.AssignPublicIP = "YES" }, apierr.InvalidParameter, "assignPublicIp"},
		{"min healthy > 100", func(in *CreateServiceInput) {
			in.Deployment = &DeploymentConfigurationInput{MinimumHealthyPercent: new(101)}
		}, apierr.InvalidParameter, "minimumHealthyPercent must be between 0 and 100"},
		{"max < 100", func(in *CreateServiceInput) { in.Deployment = &DeploymentConfigurationInput{MaximumPercent: new(50)} }, apierr.InvalidParameter, "maximumPercent"},
		{"lb container missing", func(in *CreateServiceInput) {
			in.LoadBalancers = []model.ServiceLoadBalancer{{TargetGroupARN: "arn:tg", ContainerName: "nope", ContainerPort: 8080}}
		}, apierr.InvalidParameter, "The container nope does not exist in the task definition."},
		{"lb port missing", func(in *CreateServiceInput) {
			in.LoadBalancers = []model.ServiceLoadBalancer{{TargetGroupARN: "arn:tg", ContainerName: "api", ContainerPort: 9090}}
		}, apierr.InvalidParameter, "did not have a container port 9090 defined"},
		{"lb no target group", func(in *CreateServiceInput) {
			in.LoadBalancers = []model.ServiceLoadBalancer{{ContainerName: "api", ContainerPort: 8080}}
		}, apierr.InvalidParameter, "Target Group ARN can not be blank."},
		{"daemon", func(in *CreateServiceInput) { in.SchedulingStrategy = "DAEMON" }, apierr.InvalidParameter, "DAEMON"},
		{"unknown definition", func(in *CreateServiceInput) { in.TaskDefinition = "nope" }, apierr.Client, "Unable to describe task definition."},
		{"propagateTags", func(in *CreateServiceInput) { in.PropagateTags = "ALL" }, apierr.InvalidParameter, "Valid values are: TASK_DEFINITION, SERVICE, NONE."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.CreateService(t.Context(), clTestScope, svcInput(tc.mut))
			wantKind(t, err, tc.kind, tc.msg)
		})
	}
}

func TestCreateServiceDefaultsIdempotenceAndTargetGroups(t *testing.T) {
	e := runTestECS(t)
	ctx := t.Context()
	d, err := e.CreateService(ctx, clTestScope, svcInput(func(in *CreateServiceInput) { in.ClientToken = "t1" }))
	if err != nil {
		t.Fatal(err)
	}
	s := d.Service
	if s.Status != model.ServiceActive || s.Deployment.MinimumHealthyPercent != 100 || s.Deployment.MaximumPercent != 200 ||
		len(s.Deployments) != 1 || s.Deployments[0].Status != model.DeploymentPrimary || s.Deployments[0].RolloutState != model.RolloutInProgress ||
		!strings.HasPrefix(s.Deployments[0].ID, "ecs-svc/") || len(s.Deployments[0].ID) != 27 || s.PropagateTags != "NONE" ||
		s.ARN() != "arn:aws:ecs:us-east-1:000000000000:service/default/web" {
		t.Fatalf("created %+v", s)
	}
	again, err := e.CreateService(ctx, clTestScope, svcInput(func(in *CreateServiceInput) { in.ClientToken = "t1" }))
	if err != nil || again.Service.Deployments[0].ID != s.Deployments[0].ID {
		t.Fatalf("same token: %+v, %v", again.Service.Deployments, err)
	}
	_, err = e.CreateService(ctx, clTestScope, svcInput(nil))
	wantKind(t, err, apierr.InvalidParameter, "Creation of service was not idempotent.")

	e.SetTargetGroups(func(_ context.Context, _ model.Scope, arn string) (TargetGroupInfo, error) {
		switch arn {
		case "arn:ip":
			return TargetGroupInfo{ARN: arn, TargetType: "ip", Attached: true}, nil
		case "arn:instance":
			return TargetGroupInfo{ARN: arn, TargetType: "instance", Attached: true}, nil
		case "arn:alone":
			return TargetGroupInfo{ARN: arn, TargetType: "ip"}, nil
		}
		return TargetGroupInfo{}, apierr.NotFound
	})
	lb := func(arn string) func(*CreateServiceInput) {
		return func(in *CreateServiceInput) {
			in.ServiceName = "lb"
			in.LoadBalancers = []model.ServiceLoadBalancer{{TargetGroupARN: arn, ContainerName: "api", ContainerPort: 8080}}
		}
	}
	_, err = e.CreateService(ctx, clTestScope, svcInput(lb("arn:missing")))
	wantKind(t, err, apierr.InvalidParameter, "Target group arn:missing not found")
	_, err = e.CreateService(ctx, clTestScope, svcInput(lb("arn:alone")))
	wantKind(t, err, apierr.InvalidParameter, "does not have an associated load balancer")
	_, err = e.CreateService(ctx, clTestScope, svcInput(lb("arn:instance")))
	wantKind(t, err, apierr.InvalidParameter, "incompatible with the awsvpc network mode")
	if _, err := e.CreateService(ctx, clTestScope, svcInput(lb("arn:ip"))); err != nil {
		t.Fatal(err)
	}
	counts, err := e.clusterCounts(ctx, clTestScope, "default")
	if err != nil || counts.ActiveFargateServices != 2 {
		t.Fatalf("cluster counts %+v, %v; want 2 active services", counts, err)
	}
	_, err = e.DeleteCluster(ctx, clTestScope, "default")
	wantKind(t, err, apierr.ClusterContainsServices, "The Cluster cannot be deleted while Services are active.")
}

func TestUpdateServiceDeploymentsAndDelete(t *testing.T) {
	e := runTestECS(t)
	ctx := t.Context()
	if _, err := e.CreateService(ctx, clTestScope, svcInput(nil)); err != nil {
		t.Fatal(err)
	}
	// Desired count alone: no new deployment.
	d, err := e.UpdateService(ctx, clTestScope, UpdateServiceInput{Service: "web", DesiredCount: new(4)})
	if err != nil || len(d.Service.Deployments) != 1 || d.Service.DesiredCount != 4 || d.Service.Deployments[0].DesiredCount != 4 {
		t.Fatalf("scale: %+v, %v", d.Service, err)
	}
	first := d.Service.Deployments[0].ID
	// forceNewDeployment: a new PRIMARY, the old one ACTIVE.
	d, err = e.UpdateService(ctx, clTestScope, UpdateServiceInput{Service: "web", ForceNewDeployment: true,
		Deployment: &DeploymentConfigurationInput{MinimumHealthyPercent: new(50), CircuitBreaker: &model.CircuitBreaker{Enable: true}}})
	if err != nil {
		t.Fatal(err)
	}
	deps := d.Service.Deployments
	if len(deps) != 2 || deps[0].Status != model.DeploymentPrimary || deps[1].ID != first || deps[1].Status != model.DeploymentActive ||
		d.Service.Deployment.MinimumHealthyPercent != 50 || d.Service.Deployment.MaximumPercent != 200 || !d.Service.Deployment.CircuitBreaker.Enable {
		t.Fatalf("force new deployment: %+v", d.Service)
	}
	_, err = e.UpdateService(ctx, clTestScope, UpdateServiceInput{Service: "nope", DesiredCount: new(1)})
	wantKind(t, err, apierr.ServiceNotFound, "Service not found.")
	_, err = e.UpdateService(ctx, clTestScope, UpdateServiceInput{Service: "web", TaskDefinition: "nope"})
	wantKind(t, err, apierr.Client, "Unable to describe task definition.")

	ds, fs, err := e.DescribeServices(ctx, clTestScope, "", []string{"web", "arn:aws:ecs:us-east-1:000000000000:service/default/web", "gone"}, false)
	if err != nil || len(ds) != 2 || len(fs) != 1 || fs[0].Reason != "MISSING" || fs[0].ARN != "arn:aws:ecs:us-east-1:000000000000:service/default/gone" {
		t.Fatalf("describe: %d services, failures %+v, %v", len(ds), fs, err)
	}
	arns, next, err := e.ListServices(ctx, clTestScope, ListServicesInput{})
	if err != nil || len(arns) != 1 || next != "" {
		t.Fatalf("list: %v %q %v", arns, next, err)
	}

	_, err = e.DeleteService(ctx, clTestScope, "", "web", false)
	wantKind(t, err, apierr.InvalidParameter, "The service cannot be stopped while it is scaled above 0.")
	d, err = e.DeleteService(ctx, clTestScope, "", "web", true)
	if err != nil || d.Service.Status != model.ServiceDraining || d.Service.DesiredCount != 0 {
		t.Fatalf("delete --force: %+v, %v", d.Service, err)
	}
	_, err = e.DeleteService(ctx, clTestScope, "", "web", true)
	wantKind(t, err, apierr.ServiceNotActive, "Service was not ACTIVE.")
	_, err = e.UpdateService(ctx, clTestScope, UpdateServiceInput{Service: "web", DesiredCount: new(1)})
	wantKind(t, err, apierr.ServiceNotActive, "Service was not ACTIVE.")
	counts, _ := e.clusterCounts(ctx, clTestScope, "default")
	if counts.DrainingFargateServices != 1 || counts.ActiveFargateServices != 0 {
		t.Errorf("counts %+v", counts)
	}
}

// TestLaunchServiceTaskIsIdempotent: the same launch token runs one task; the task carries the
// deployment, the group and the service's tags.
func TestLaunchServiceTaskIsIdempotent(t *testing.T) {
	e := runTestECS(t)
	ctx := t.Context()
	d, err := e.CreateService(ctx, clTestScope, svcInput(func(in *CreateServiceInput) {
		in.PropagateTags, in.Tags, in.EnableECSManagedTags = "SERVICE", []model.Tag{{Key: "team", Value: "web"}}, true
	}))
	if err != nil {
		t.Fatal(err)
	}
	in := ServiceTaskInput{Service: d.Service, Deployment: d.Service.Deployments[0], Token: "ecs-svc-tok-1", Subnets: []string{runTestSubnet}}
	t1, why, err := e.LaunchServiceTask(ctx, in)
	if err != nil || why != "" {
		t.Fatalf("launch: %q %v", why, err)
	}
	t2, why, err := e.LaunchServiceTask(ctx, in)
	if err != nil || why != "" || t2.ID != t1.ID {
		t.Fatalf("relaunch with the same token ran %s after %s (%q %v)", t2.ID, t1.ID, why, err)
	}
	if t1.StartedBy != d.Service.Deployments[0].ID || t1.Group != "service:web" || t1.TaskNetwork == nil {
		t.Errorf("task %+v", t1)
	}
	tags := map[string]string{}
	for _, tg := range t1.Tags {
		tags[tg.Key] = tg.Value
	}
	if tags["team"] != "web" || tags["aws:ecs:serviceName"] != "web" || tags["aws:ecs:clusterName"] != "default" {
		t.Errorf("tags %v", t1.Tags)
	}
	// The host (1024 cpu) holds 2 tasks of 512: the third cannot be placed, and says why.
	in.Token = "ecs-svc-tok-2"
	if _, why, err := e.LaunchServiceTask(ctx, in); err != nil || why != "" {
		t.Fatalf("second task: %q %v", why, err)
	}
	in.Token = "ecs-svc-tok-3"
	if _, why, err := e.LaunchServiceTask(ctx, in); err != nil || !strings.Contains(why, "RESOURCE:CPU") {
		t.Fatalf("third task: reason %q, %v; want a RESOURCE:CPU reason", why, err)
	}
	if err := e.StopServiceTask(ctx, clTestScope, "default", t1.ID, "Scaling activity initiated by (deployment x)"); err != nil {
		t.Fatal(err)
	}
	got, err := e.store.Tasks().Get(ctx, clTestScope, "default", t1.ID)
	if err != nil || got.Value.DesiredStatus != model.TaskStopped || got.Value.StopCode != model.StopServiceSchedulerInit {
		t.Fatalf("stopped task %+v, %v", got.Value, err)
	}
}
