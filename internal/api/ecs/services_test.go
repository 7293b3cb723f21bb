package ecs

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// TestServiceToWire checks the Service shape's member names and that the inactive deployment
// kept for rollback is not shown while the service is active.
func TestServiceToWire(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := model.Service{Scope: model.Scope{Account: "000000000000", Region: "us-east-1"}, Name: "web", Cluster: "default",
		Status: model.ServiceActive, DesiredCount: 2, TaskDefinition: "arn:td", LaunchType: "FARGATE", PlatformVersion: "LATEST",
		Network:       &model.AwsVpcConfiguration{Subnets: []string{"subnet-1"}},
		LoadBalancers: []model.ServiceLoadBalancer{{TargetGroupARN: "arn:tg", ContainerName: "app", ContainerPort: 8080}},
		Deployment:    model.DeploymentConfiguration{MinimumHealthyPercent: 100, MaximumPercent: 200, CircuitBreaker: model.CircuitBreaker{Enable: true}},
		CreatedAt:     at,
		Deployments: []model.Deployment{
			{ID: "ecs-svc/2", Status: model.DeploymentPrimary, RolloutState: model.RolloutInProgress, DesiredCount: 2, CreatedAt: at, UpdatedAt: at},
			{ID: "ecs-svc/1", Status: model.DeploymentActive, RolloutState: model.RolloutCompleted, DesiredCount: 1},
			{ID: "ecs-svc/0", Status: model.DeploymentInactive, RolloutState: model.RolloutCompleted},
		},
		Events: []model.ServiceEvent{{ID: "e1", CreatedAt: at, Message: "(service web) has reached a steady state."}},
	}
	d := ops.ServiceDetail{Service: s, Running: 3, Pending: 1, DeploymentRunning: map[string]int{"ecs-svc/1": 1, "ecs-svc/2": 2},
		DeploymentPending: map[string]int{"ecs-svc/2": 1}}
	raw, err := json.Marshal(serviceToWire(d))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"serviceArn": "arn:aws:ecs:us-east-1:000000000000:service/default/web", "serviceName": "web",
		"clusterArn": "arn:aws:ecs:us-east-1:000000000000:cluster/default", "status": "ACTIVE", "desiredCount": 2.0, "runningCount": 3.0,
		"pendingCount": 1.0, "launchType": "FARGATE", "schedulingStrategy": "REPLICA", "taskDefinition": "arn:td",
		"healthCheckGracePeriodSeconds": 0.0, "createdAt": float64(at.Unix())} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	deps := got["deployments"].([]any)
	if len(deps) != 2 {
		t.Fatalf("deployments %v, want PRIMARY and ACTIVE only", deps)
	}
	first := deps[0].(map[string]any)
	if first["id"] != "ecs-svc/2" || first["status"] != "PRIMARY" || first["rolloutState"] != "IN_PROGRESS" ||
		first["runningCount"] != 2.0 || first["pendingCount"] != 1.0 || first["failedTasks"] != 0.0 {
		t.Errorf("primary deployment %v", first)
	}
	dc := got["deploymentConfiguration"].(map[string]any)
	if dc["maximumPercent"] != 200.0 || dc["minimumHealthyPercent"] != 100.0 ||
		dc["deploymentCircuitBreaker"].(map[string]any)["enable"] != true {
		t.Errorf("deploymentConfiguration %v", dc)
	}
	lb := got["loadBalancers"].([]any)[0].(map[string]any)
	if lb["targetGroupArn"] != "arn:tg" || lb["containerName"] != "app" || lb["containerPort"] != 8080.0 {
		t.Errorf("loadBalancers %v", lb)
	}
	if ev := got["events"].([]any)[0].(map[string]any); !strings.HasSuffix(ev["message"].(string), "steady state.") || ev["id"] != "e1" {
		t.Errorf("events %v", ev)
	}
}
