package ops

import (
	"context"
	"slices"
	"testing"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// TestUpdateServiceLoadBalancersStartDeployment: each deployment keeps the load balancers it
// was created with; changing them starts a new deployment, validated as CreateService
// validates them; the same load balancers again start none.
func TestUpdateServiceLoadBalancersStartDeployment(t *testing.T) {
	e := runTestECS(t)
	ctx := t.Context()
	e.SetTargetGroups(func(_ context.Context, _ model.Scope, arn string) (TargetGroupInfo, error) {
		switch arn {
		case "arn:x", "arn:y":
			return TargetGroupInfo{ARN: arn, TargetType: "ip", Attached: true}, nil
		case "arn:instance":
			return TargetGroupInfo{ARN: arn, TargetType: "instance", Attached: true}, nil
		}
		return TargetGroupInfo{}, apierr.NotFound
	})
	lbs := func(arn string) []model.ServiceLoadBalancer {
		return []model.ServiceLoadBalancer{{TargetGroupARN: arn, ContainerName: "api", ContainerPort: 8080}}
	}
	d, err := e.CreateService(ctx, clTestScope, svcInput(func(in *CreateServiceInput) { in.LoadBalancers = lbs("arn:x") }))
	if err != nil {
		t.Fatal(err)
	}
	first := d.Service.Deployments[0]
	if !slices.Equal(first.LoadBalancers, lbs("arn:x")) {
		t.Fatalf("first deployment's load balancers %+v", first.LoadBalancers)
	}
	for _, tc := range []struct {
		lbs  []model.ServiceLoadBalancer
		kind apierr.Kind
		msg  string
	}{
		{lbs("arn:missing"), apierr.InvalidParameter, "Target group arn:missing not found"},
		{lbs("arn:instance"), apierr.InvalidParameter, "incompatible with the awsvpc network mode"},
		{[]model.ServiceLoadBalancer{{TargetGroupARN: "arn:y", ContainerName: "nope", ContainerPort: 8080}}, apierr.InvalidParameter, "The container nope does not exist"},
		{[]model.ServiceLoadBalancer{{TargetGroupARN: "arn:y", ContainerName: "api", ContainerPort: 9090}}, apierr.InvalidParameter, "did not have a container port 9090"},
		{[]model.ServiceLoadBalancer{{ContainerName: "api", ContainerPort: 8080}}, apierr.InvalidParameter, "Target Group ARN can not be blank."},
		{[]model.ServiceLoadBalancer{{TargetGroupARN: "arn:y", ContainerName: "api"}}, apierr.InvalidParameter, "containerPort must be between 1 and 65535."},
	} {
		_, err := e.UpdateService(ctx, clTestScope, UpdateServiceInput{Service: "web", LoadBalancers: &tc.lbs})
		wantKind(t, err, tc.kind, tc.msg)
	}
	// The same load balancers: no new deployment.
	same := lbs("arn:x")
	if d, err = e.UpdateService(ctx, clTestScope, UpdateServiceInput{Service: "web", LoadBalancers: &same}); err != nil || len(d.Service.Deployments) != 1 {
		t.Fatalf("same load balancers: %+v, %v", d.Service.Deployments, err)
	}
	y := lbs("arn:y")
	if d, err = e.UpdateService(ctx, clTestScope, UpdateServiceInput{Service: "web", LoadBalancers: &y}); err != nil {
		t.Fatal(err)
	}
	deps := d.Service.Deployments
	if len(deps) != 2 || deps[0].Status != model.DeploymentPrimary || deps[1].ID != first.ID ||
		!slices.Equal(deps[0].LoadBalancers, y) || !slices.Equal(deps[1].LoadBalancers, lbs("arn:x")) ||
		!slices.Equal(d.Service.LoadBalancers, y) {
		t.Fatalf("switch to Y: service %+v deployments %+v", d.Service.LoadBalancers, deps)
	}
	// Read back from the store: the old deployment still has X.
	v, err := e.store.Services().Get(ctx, clTestScope, "default", "web")
	if err != nil || !slices.Equal(v.Value.LoadBalancersOf(first.ID), lbs("arn:x")) {
		t.Fatalf("stored old deployment's load balancers %+v, %v", v.Value.LoadBalancersOf(first.ID), err)
	}
	// Removing them: a new deployment without load balancers; the older ones keep theirs.
	none := []model.ServiceLoadBalancer{}
	if d, err = e.UpdateService(ctx, clTestScope, UpdateServiceInput{Service: "web", LoadBalancers: &none}); err != nil {
		t.Fatal(err)
	}
	deps = d.Service.Deployments
	if len(deps) != 3 || len(deps[0].LoadBalancers) != 0 || len(d.Service.LoadBalancers) != 0 || !slices.Equal(deps[1].LoadBalancers, y) {
		t.Fatalf("remove: service %+v deployments %+v", d.Service.LoadBalancers, deps)
	}
}
