package model

import (
	"fmt"
	"testing"
)

func TestDeploymentBoundsRounding(t *testing.T) {
	for _, tc := range []struct{ desired, minPct, maxPct, minHealthy, maxTotal int }{
		{3, 50, 150, 2, 4}, // 1.5 up to 2; 4.5 down to 4
		{4, 50, 200, 2, 8},
		{1, 100, 200, 1, 2},
		{3, 33, 133, 1, 3}, // 0.99 up to 1; 3.99 down to 3
		{0, 100, 200, 0, 0},
		{10, 0, 100, 0, 10},
	} {
		c := DeploymentConfiguration{MinimumHealthyPercent: tc.minPct, MaximumPercent: tc.maxPct}
		if got := c.MinHealthy(tc.desired); got != tc.minHealthy {
			t.Errorf("MinHealthy(%d) at %d%% = %d, want %d", tc.desired, tc.minPct, got, tc.minHealthy)
		}
		if got := c.MaxTotal(tc.desired); got != tc.maxTotal {
			t.Errorf("MaxTotal(%d) at %d%% = %d, want %d", tc.desired, tc.maxPct, got, tc.maxTotal)
		}
	}
}

func TestServiceNamesAndEvents(t *testing.T) {
	if got := DeploymentID(42); got != "ecs-svc/0000000000000000042" {
		t.Errorf("DeploymentID = %q", got)
	}
	if got := DeploymentID(1<<64 - 1); len(got) != len("ecs-svc/")+19 {
		t.Errorf("DeploymentID(max) = %q, want 19 digits", got)
	}
	s := Service{Scope: Scope{Account: "000000000000", Region: "us-east-1"}, Name: "web", Cluster: "prod"}
	if s.ARN() != "arn:aws:ecs:us-east-1:000000000000:service/prod/web" || s.Group() != "service:web" {
		t.Errorf("ARN %q group %q", s.ARN(), s.Group())
	}
	for got, want := range map[string]string{
		EventStarted("web", []string{"a", "b"}): "(service web) has started 2 tasks: (task a) (task b).",
		EventStopped("web", []string{"a"}):      "(service web) has stopped 1 running tasks: (task a).",
		EventSteadyState("web"):                 "(service web) has reached a steady state.",
		EventDraining("web", 1):                 "(service web) has begun draining connections on 1 tasks.",
		EventRegistered("web", 1, "arn:tg"):     "(service web) registered 1 targets in (target-group arn:tg)",
		EventDeregistered("web", 1, "arn:tg"):   "(service web) deregistered 1 targets in (target-group arn:tg)",
		EventUnableToPlace("web", "No Container Instances were found in your cluster."): "(service web) was unable to place a task because no container instance met all of its requirements. Reason: No Container Instances were found in your cluster.",
	} {
		if got != want {
			t.Errorf("event %q, want %q", got, want)
		}
	}
	for i := range MaxServiceEvents + 5 {
		s.AddEvent(ServiceEvent{ID: fmt.Sprint(i)})
	}
	if len(s.Events) != MaxServiceEvents || s.Events[0].ID != fmt.Sprint(MaxServiceEvents+4) {
		t.Errorf("%d events, newest %q", len(s.Events), s.Events[0].ID)
	}
}

func TestServiceDeploymentLoadBalancers(t *testing.T) {
	x := []ServiceLoadBalancer{{TargetGroupARN: "arn:x", ContainerName: "app", ContainerPort: 80}}
	s := Service{Deployments: []Deployment{{ID: "ecs-svc/2"}, {ID: "ecs-svc/1", LoadBalancers: x}}}
	if got := s.LoadBalancersOf("ecs-svc/1"); len(got) != 1 || got[0] != x[0] {
		t.Errorf("old deployment's load balancers %v, want %v", got, x)
	}
	if got := s.LoadBalancersOf("ecs-svc/2"); len(got) != 0 {
		t.Errorf("new deployment's load balancers %v, want none", got)
	}
	if got := s.LoadBalancersOf("ecs-svc/9"); len(got) != 0 {
		t.Errorf("unknown deployment: %v, want the service's (none)", got)
	}
	if !s.HasLoadBalancers() {
		t.Error("a deployment has load balancers but HasLoadBalancers is false")
	}
	if (Service{Deployments: []Deployment{{ID: "ecs-svc/1"}}}).HasLoadBalancers() {
		t.Error("HasLoadBalancers without any")
	}
}
