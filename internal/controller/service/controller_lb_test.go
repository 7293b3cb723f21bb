package service

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/gantry-dev/gantry/internal/model"
)

// fakeTargets is a TargetRegistry over in-memory groups that records its calls.
type fakeTargets struct {
	groups map[string]map[Target]string
	calls  []string
	reads  map[string]int
}

func (f *fakeTargets) RegisterTargets(_ context.Context, _ model.Scope, tg string, ts []Target) error {
	for _, t := range ts {
		f.groups[tg][t] = TargetInitial
		f.calls = append(f.calls, fmt.Sprintf("register %s %s:%d", tg, t.IP, t.Port))
	}
	return nil
}

func (f *fakeTargets) DeregisterTargets(_ context.Context, _ model.Scope, tg string, ts []Target) error {
	for _, t := range ts {
		f.groups[tg][t] = TargetDraining
		f.calls = append(f.calls, fmt.Sprintf("deregister %s %s:%d", tg, t.IP, t.Port))
	}
	return nil
}

func (f *fakeTargets) TargetHealth(_ context.Context, _ model.Scope, tg string) (map[Target]string, error) {
	f.reads[tg]++
	return f.groups[tg], nil
}

// TestControllerTargetsFollowDeployments: the controller reads each task's state in its own
// deployment's groups (each group once) and (de)registers it there.
func TestControllerTargetsFollowDeployments(t *testing.T) {
	svc := withLB(svcOf(2, 100, 200, depB, depA), tgY)
	svc.Deployments[1].LoadBalancers = []model.ServiceLoadBalancer{{TargetGroupARN: tgX, ContainerName: "app", ContainerPort: 80}}
	tasks := tasksOf(tk{"a1", depA, running}, tk{"a2", depA, running}, tk{"b1", depB, running})
	f := &fakeTargets{reads: map[string]int{}, groups: map[string]map[Target]string{
		tgX: {{IP: "10.0.0.10", Port: 80}: TargetHealthy, {IP: "10.0.0.11", Port: 80}: TargetDraining},
		tgY: {{IP: "10.0.0.10", Port: 8080}: TargetHealthy}, // a stray target of a1 in Y must not count
	}}
	c := &Controller{targets: f}
	got, err := c.targetStates(t.Context(), svc, tasks)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]TargetState{"a1": {Registered: true, Health: TargetHealthy}, "a2": {Registered: true, Health: TargetDraining},
		"b1": {}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("target states %v, want %v", got, want)
	}
	if f.reads[tgX] != 1 || f.reads[tgY] != 1 {
		t.Errorf("group reads %v, want each once", f.reads)
	}
	if err := c.setTargets(t.Context(), svc, []model.Task{tasks[0]}, false); err != nil {
		t.Fatal(err)
	}
	if err := c.setTargets(t.Context(), svc, []model.Task{tasks[2]}, true); err != nil {
		t.Fatal(err)
	}
	wantCalls := []string{"deregister " + tgX + " 10.0.0.10:80", "register " + tgY + " 10.0.0.12:8080"}
	if !slices.Equal(f.calls, wantCalls) {
		t.Errorf("calls %q, want %q", f.calls, wantCalls)
	}
}
