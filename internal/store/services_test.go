package store_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

func fullService() model.Service {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	net := &model.AwsVpcConfiguration{Subnets: []string{"subnet-1", "subnet-2"}, SecurityGroups: []string{"sg-1"}, AssignPublicIP: "DISABLED"}
	return model.Service{
		Scope: clusterScope, Name: "web", Cluster: "default", Status: model.ServiceActive, DesiredCount: 3,
		TaskDefinition: "arn:td:2", LaunchType: "FARGATE", PlatformVersion: "LATEST", Network: net,
		CapacityProviderStrategy: []model.CapacityProviderStrategyItem{{CapacityProvider: "FARGATE", Weight: 1, Base: 1}},
		LoadBalancers:            []model.ServiceLoadBalancer{{TargetGroupARN: "arn:tg", ContainerName: "app", ContainerPort: 8080}},
		HealthCheckGracePeriod:   30,
		Deployment: model.DeploymentConfiguration{MinimumHealthyPercent: 50, MaximumPercent: 150,
			CircuitBreaker: model.CircuitBreaker{Enable: true, Rollback: true}},
		PropagateTags: "SERVICE", EnableECSManagedTags: true, EnableExecuteCommand: true,
		Tags: []model.Tag{{Key: "team", Value: "a"}}, ClientToken: "tok", CreatedAt: at, CreatedBy: "arn:iam",
		Deployments: []model.Deployment{
			{ID: "ecs-svc/2", Status: model.DeploymentPrimary, TaskDefinition: "arn:td:2", DesiredCount: 3, FailedTasks: 1,
				CreatedAt: at, UpdatedAt: at.Add(time.Second), LaunchType: "FARGATE", PlatformVersion: "LATEST", Network: net,
				LoadBalancers: []model.ServiceLoadBalancer{{TargetGroupARN: "arn:tg", ContainerName: "app", ContainerPort: 8080}},
				RolloutState:  model.RolloutInProgress, RolloutStateReason: "in progress", Launched: 4},
			{ID: "ecs-svc/1", Status: model.DeploymentActive, TaskDefinition: "arn:td:1", RolloutState: model.RolloutCompleted,
				CapacityProviderStrategy: []model.CapacityProviderStrategyItem{{CapacityProvider: "FARGATE_SPOT", Weight: 2}}, CreatedAt: at, UpdatedAt: at},
		},
		Events:   []model.ServiceEvent{{ID: "e1", CreatedAt: at, Message: "(service web) has reached a steady state."}},
		Draining: []model.DrainingTask{{TaskID: "t1", Reason: "Scaling activity"}},
	}
}

func TestServicesRoundTripAndFencing(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	st := store.New(cli, prefix)
	ctx := t.Context()
	want := fullService()
	if _, err := st.Services().Create(ctx, want); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Services().Create(ctx, want); !errors.Is(err, apierr.AlreadyExists) {
		t.Fatalf("second create: %v, want AlreadyExists", err)
	}
	got, err := st.Services().Get(ctx, clusterScope, "default", "web")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Value, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got.Value, want)
	}
	byKey, err := st.Services().GetKey(ctx, store.ServiceKey(clusterScope, "default", "web"))
	if err != nil || byKey.Revision != got.Revision {
		t.Fatalf("GetKey: %+v, %v", byKey, err)
	}
	// A fenced write at the revision read wins once; the same revision again loses.
	next := got.Value
	next.DesiredCount = 5
	if _, err := st.Services().Update(ctx, next, got.Revision); err != nil {
		t.Fatal(err)
	}
	next.DesiredCount = 7
	if _, err := st.Services().Update(ctx, next, got.Revision); !errors.Is(err, apierr.Conflict) {
		t.Fatalf("stale fenced write: %v, want Conflict", err)
	}
	other := fullService()
	other.Name = "api"
	if _, err := st.Services().Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	page, err := st.Services().List(ctx, clusterScope, "default", "", 0)
	if err != nil || len(page.Items) != 2 || page.Items[0].Value.Name != "api" || page.Items[1].Value.DesiredCount != 5 {
		t.Fatalf("List: %+v, %v", page.Items, err)
	}
	after, err := st.Services().List(ctx, clusterScope, "default", "api", 0)
	if err != nil || len(after.Items) != 1 || after.Items[0].Value.Name != "web" {
		t.Fatalf("List after api: %+v, %v", after.Items, err)
	}
	all, err := st.Services().ListAll(ctx, "", 1)
	if err != nil || len(all.Items) != 1 || !all.More || all.Keys[0] != store.ServiceKey(clusterScope, "default", "api") {
		t.Fatalf("ListAll: %+v, %v", all, err)
	}
}

// TestServiceDeploymentLoadBalancers: each deployment keeps its own load balancers (none is
// kept as none, not the service's), and a deployment stored before deployments kept them
// falls back to the service's.
func TestServiceDeploymentLoadBalancers(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	st := store.New(cli, prefix)
	ctx := t.Context()
	svc := fullService()
	svc.LoadBalancers = []model.ServiceLoadBalancer{{TargetGroupARN: "arn:tg-y", ContainerName: "app", ContainerPort: 8080}}
	svc.Deployments[0].LoadBalancers = svc.LoadBalancers
	svc.Deployments[1].LoadBalancers = nil // created before the service had load balancers
	if _, err := st.Services().Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	got, err := st.Services().Get(ctx, clusterScope, "default", "web")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Value.Deployments, svc.Deployments) {
		t.Fatalf("deployments:\n got %+v\nwant %+v", got.Value.Deployments, svc.Deployments)
	}
	legacy := `{"v":1,"body":{"account":"000000000000","region":"us-east-1","name":"old","cluster":"default","status":"ACTIVE",
		"desiredCount":1,"taskDefinition":"arn:td:1","loadBalancers":[{"targetGroupArn":"arn:tg-x","containerName":"app","containerPort":80}],
		"deploymentConfiguration":{"minimumHealthyPercent":100,"maximumPercent":200},"createdAt":"2026-01-02T03:04:05Z",
		"deployments":[{"id":"ecs-svc/1","status":"PRIMARY","taskDefinition":"arn:td:1","desiredCount":1,
		"createdAt":"2026-01-02T03:04:05Z","updatedAt":"2026-01-02T03:04:05Z"}]}}`
	sc := model.Scope{Account: "000000000000", Region: "us-east-1"}
	if _, err := cli.Put(ctx, prefix+"/ecs/services/"+store.ServiceKey(sc, "default", "old"), legacy); err != nil {
		t.Fatal(err)
	}
	old, err := st.Services().Get(ctx, sc, "default", "old")
	if err != nil {
		t.Fatal(err)
	}
	want := []model.ServiceLoadBalancer{{TargetGroupARN: "arn:tg-x", ContainerName: "app", ContainerPort: 80}}
	if got := old.Value.Deployments[0].LoadBalancers; !reflect.DeepEqual(got, want) {
		t.Fatalf("legacy deployment load balancers %+v, want the service's %+v", got, want)
	}
}

func TestServicesWatch(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	st := store.New(cli, prefix)
	ctx := t.Context()
	page, err := st.Services().ListAll(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	ch := st.Services().Watch(ctx, page.Revision)
	s := fullService()
	if _, err := st.Services().Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Services().Mutate(ctx, clusterScope, "default", "web", func(s *model.Service) error {
		s.Status = model.ServiceDraining
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{model.ServiceActive, model.ServiceDraining} {
		select {
		case ev := <-ch:
			if ev.Err != nil || ev.Type != store.Put || ev.Key != store.ServiceKey(clusterScope, "default", "web") || ev.Value.Status != want {
				t.Fatalf("event %+v, want a put of status %s", ev, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no watch event")
		}
	}
}
