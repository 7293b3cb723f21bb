package service

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const (
	depA = "ecs-svc/1000000000000000001"
	depB = "ecs-svc/2000000000000000002"
	depC = "ecs-svc/3000000000000000003"
	tgX  = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/x/1"
)

// svcOf is a service of desired tasks whose deployments are given newest first; the first is
// PRIMARY and IN_PROGRESS, the others ACTIVE and COMPLETED.
func svcOf(desired, minPct, maxPct int, deps ...string) model.Service {
	s := model.Service{Scope: model.Scope{Account: "000000000000", Region: "us-east-1"}, Name: "web", Cluster: "default",
		Status: model.ServiceActive, DesiredCount: desired,
		Deployment: model.DeploymentConfiguration{MinimumHealthyPercent: minPct, MaximumPercent: maxPct}}
	for i, id := range deps {
		d := model.Deployment{ID: id, Status: model.DeploymentActive, TaskDefinition: "td:" + id, RolloutState: model.RolloutCompleted}
		if i == 0 {
			d.Status, d.RolloutState = model.DeploymentPrimary, model.RolloutInProgress
		}
		s.Deployments = append(s.Deployments, d)
	}
	return s
}

// task states used by the tables.
const (
	running  = "running"
	pending  = "pending"
	stopping = "stopping"
	stopped  = "stopped"
	failedSt = "failed" // stopped without ever running
	sick     = "unhealthy"
)

type tk struct {
	id, dep, state string
}

func tasksOf(specs ...tk) []model.Task {
	var out []model.Task
	for i, s := range specs {
		t := model.Task{ID: s.id, StartedBy: s.dep, Group: "service:web", Family: "f", Revision: 1,
			DesiredStatus: model.TaskRunning, LastStatus: model.TaskRunning, HealthStatus: model.HealthHealthy, AvailabilityZone: "us-east-1a",
			Times:       model.TaskTimes{CreatedAt: t0.Add(time.Duration(i) * time.Second), StartedAt: t0.Add(time.Duration(i) * time.Second)},
			TaskNetwork: &model.TaskNetwork{PrivateIP: fmt.Sprintf("10.0.0.%d", i+10)}}
		switch s.state {
		case pending:
			t.LastStatus, t.Times.StartedAt = model.TaskPending, time.Time{}
		case stopping:
			t.DesiredStatus = model.TaskStopped
		case stopped:
			t.DesiredStatus, t.LastStatus, t.StopCode = model.TaskStopped, model.TaskStopped, model.StopServiceSchedulerInit
		case failedSt:
			t.DesiredStatus, t.LastStatus, t.StopCode, t.Times.StartedAt = model.TaskStopped, model.TaskStopped, model.StopTaskFailedToStart, time.Time{}
		case sick:
			t.HealthStatus = model.HealthUnhealthy
		}
		out = append(out, t)
	}
	return out
}

// withLB gives the service and every one of its deployments target group tg.
func withLB(s model.Service, tg string) model.Service {
	s.LoadBalancers = []model.ServiceLoadBalancer{{TargetGroupARN: tg, ContainerName: "app", ContainerPort: 8080}}
	s.Deployments = slices.Clone(s.Deployments)
	for i := range s.Deployments {
		s.Deployments[i].LoadBalancers = s.LoadBalancers
	}
	return s
}

func observed(tasks []model.Task) Observed {
	n := 0
	return Observed{Tasks: tasks, HealthChecked: map[string]bool{"f:1": true}, Now: t0.Add(time.Hour), NewID: func() string { n++; return fmt.Sprintf("ev-%d", n) },
		NewDeploymentID: func() string { return depC }}
}

func stopIDs(p Plan) string {
	var ids []string
	for _, s := range p.Stop {
		ids = append(ids, s.TaskID)
	}
	slices.Sort(ids)
	return strings.Join(ids, ",")
}

func launchOf(p Plan) string {
	if p.Launch == nil {
		return ""
	}
	return fmt.Sprintf("%s+%d", p.Launch.Deployment.ID, p.Launch.Count)
}

func TestPlanTransitions(t *testing.T) {
	for _, tc := range []struct {
		name       string
		svc        model.Service
		tasks      []model.Task
		wantLaunch string
		wantStop   string
		wantState  string // primary's rollout state after the pass
	}{
		{name: "new service launches desired", svc: svcOf(3, 100, 200, depA), wantLaunch: depA + "+3", wantState: model.RolloutInProgress},
		{name: "scale up launches the difference", svc: svcOf(5, 100, 200, depA),
			tasks: tasksOf(tk{"a1", depA, running}, tk{"a2", depA, running}, tk{"a3", depA, running}), wantLaunch: depA + "+2"},
		{name: "pending tasks are not launched again", svc: svcOf(3, 100, 200, depA),
			tasks: tasksOf(tk{"a1", depA, pending}, tk{"a2", depA, pending}, tk{"a3", depA, pending}), wantState: model.RolloutInProgress},
		{name: "steady completes the deployment", svc: svcOf(2, 100, 200, depA),
			tasks: tasksOf(tk{"a1", depA, running}, tk{"a2", depA, running}), wantState: model.RolloutCompleted},
		{name: "scale down stops pending first, then the newest", svc: svcOf(1, 100, 200, depA),
			tasks: tasksOf(tk{"a1", depA, running}, tk{"a2", depA, running}, tk{"a3", depA, pending}), wantStop: "a2,a3"},
		{name: "a stopped task is replaced", svc: svcOf(3, 100, 200, depA),
			tasks: tasksOf(tk{"a1", depA, running}, tk{"a2", depA, running}, tk{"a3", depA, stopped}), wantLaunch: depA + "+1"},
		{name: "a stopping task is replaced within maximumPercent", svc: svcOf(2, 100, 100, depA),
			tasks: tasksOf(tk{"a1", depA, running}, tk{"a2", depA, stopping})},
		{name: "unhealthy task is stopped and replaced", svc: svcOf(2, 100, 200, depA),
			tasks: tasksOf(tk{"a1", depA, running}, tk{"a2", depA, sick}), wantStop: "a2", wantLaunch: depA + "+1"},
		{name: "rollout 100/200 starts all new first", svc: svcOf(3, 100, 200, depB, depA),
			tasks: tasksOf(tk{"a1", depA, running}, tk{"a2", depA, running}, tk{"a3", depA, running}), wantLaunch: depB + "+3"},
		{name: "rollout 100/200 keeps old while new are pending", svc: svcOf(3, 100, 200, depB, depA),
			tasks: tasksOf(tk{"a1", depA, running}, tk{"a2", depA, running}, tk{"a3", depA, running},
				tk{"b1", depB, pending}, tk{"b2", depB, running}, tk{"b3", depB, pending}), wantStop: "a3"},
		{name: "rollout 100/200 retires old once new are healthy", svc: svcOf(3, 100, 200, depB, depA),
			tasks: tasksOf(tk{"a1", depA, running}, tk{"a2", depA, running}, tk{"a3", depA, running},
				tk{"b1", depB, running}, tk{"b2", depB, running}, tk{"b3", depB, running}), wantStop: "a1,a2,a3"},
		{name: "rollout 50/100 stops half first", svc: svcOf(4, 50, 100, depB, depA),
			tasks:    tasksOf(tk{"a1", depA, running}, tk{"a2", depA, running}, tk{"a3", depA, running}, tk{"a4", depA, running}),
			wantStop: "a3,a4"},
		{name: "rollout 50/100 launches into the room", svc: svcOf(4, 50, 100, depB, depA),
			tasks:      tasksOf(tk{"a1", depA, running}, tk{"a2", depA, running}, tk{"a3", depA, stopped}, tk{"a4", depA, stopped}),
			wantLaunch: depB + "+2"},
		{name: "rollout 0/100 stops everything old", svc: svcOf(2, 0, 100, depB, depA),
			tasks: tasksOf(tk{"a1", depA, running}, tk{"a2", depA, running}), wantStop: "a1,a2"},
		{name: "min healthy rounds up: 3 x 50% keeps 2", svc: svcOf(3, 50, 100, depB, depA),
			tasks: tasksOf(tk{"a1", depA, running}, tk{"a2", depA, running}, tk{"a3", depA, running}), wantStop: "a3"},
		{name: "max rounds down: 3 x 150% is 4", svc: svcOf(3, 100, 150, depB, depA),
			tasks: tasksOf(tk{"a1", depA, running}, tk{"a2", depA, running}, tk{"a3", depA, running}), wantLaunch: depB + "+1"},
		{name: "old unhealthy tasks go at once", svc: svcOf(2, 100, 200, depB, depA),
			tasks: tasksOf(tk{"a1", depA, running}, tk{"a2", depA, pending}), wantStop: "a2", wantLaunch: depB + "+2"},
		{name: "circuit breaker below threshold keeps launching", svc: withBreaker(svcOf(3, 100, 200, depB, depA), true),
			tasks: tasksOf(tk{"a1", depA, running}, tk{"a2", depA, running}, tk{"a3", depA, running},
				tk{"b1", depB, failedSt}, tk{"b2", depB, failedSt}), wantLaunch: depB + "+3", wantState: model.RolloutInProgress},
		{name: "circuit breaker trips and rolls back", svc: withBreaker(svcOf(3, 100, 200, depB, depA), true),
			tasks: tasksOf(tk{"a1", depA, running}, tk{"a2", depA, running}, tk{"a3", depA, running},
				tk{"b1", depB, failedSt}, tk{"b2", depB, failedSt}, tk{"b3", depB, failedSt}),
			wantLaunch: depC + "+3", wantState: model.RolloutInProgress},
		{name: "circuit breaker without rollback fails and stops launching", svc: withBreaker(svcOf(3, 100, 200, depB, depA), false),
			tasks: tasksOf(tk{"a1", depA, running}, tk{"a2", depA, running}, tk{"a3", depA, running},
				tk{"b1", depB, failedSt}, tk{"b2", depB, failedSt}, tk{"b3", depB, failedSt}), wantState: model.RolloutFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Compute(tc.svc, observed(tc.tasks))
			if got := launchOf(p); got != tc.wantLaunch {
				t.Errorf("launch %q, want %q", got, tc.wantLaunch)
			}
			if got := stopIDs(p); got != tc.wantStop {
				t.Errorf("stop %q, want %q", got, tc.wantStop)
			}
			if tc.wantState != "" {
				d, _ := p.Service.Primary()
				if d.RolloutState != tc.wantState {
					t.Errorf("primary %s rollout %s, want %s", d.ID, d.RolloutState, tc.wantState)
				}
			}
		})
	}
}

func withBreaker(s model.Service, rollback bool) model.Service {
	s.Deployment.CircuitBreaker = model.CircuitBreaker{Enable: true, Rollback: rollback}
	return s
}

func TestPlanRollbackDeployment(t *testing.T) {
	svc := withBreaker(svcOf(3, 100, 200, depB, depA), true)
	p := Compute(svc, observed(tasksOf(tk{"a1", depA, running}, tk{"b1", depB, failedSt}, tk{"b2", depB, failedSt}, tk{"b3", depB, failedSt})))
	s := p.Service
	// The failed deployment has no task left: it is INACTIVE at once, and not kept (only the
	// last completed one is).
	if len(s.Deployments) != 2 || s.Deployments[1].ID != depA || s.Deployments[0].ID != depC || s.Deployments[0].TaskDefinition != "td:"+depA ||
		s.Deployments[0].RolloutStateReason != model.RolloutReasonRollback(depA) {
		t.Fatalf("deployments after the trip: %+v", s.Deployments)
	}
	// With a task still running, the failed deployment stays ACTIVE and FAILED.
	p = Compute(svc, observed(tasksOf(tk{"a1", depA, running}, tk{"b0", depB, running}, tk{"b1", depB, failedSt}, tk{"b2", depB, failedSt}, tk{"b3", depB, failedSt})))
	if b := p.Service.Deployments[1]; b.ID != depB || b.Status != model.DeploymentActive || b.RolloutState != model.RolloutFailed ||
		b.FailedTasks != 3 || b.RolloutStateReason != model.RolloutReasonFailed {
		t.Errorf("failed deployment %+v", b)
	}
	if s.TaskDefinition != "td:"+depA {
		t.Errorf("service task definition %s, want the rolled-back one", s.TaskDefinition)
	}
	msgs := eventsOf(s)
	for _, want := range []string{model.EventDeploymentFailed("web", depB), model.EventRollingBack("web", depA)} {
		if !slices.Contains(msgs, want) {
			t.Errorf("events %q lack %q", msgs, want)
		}
	}
}

func eventsOf(s model.Service) []string {
	var out []string
	for _, e := range s.Events {
		out = append(out, e.Message)
	}
	return out
}

func TestPlanEventsAndSteadyState(t *testing.T) {
	svc := svcOf(2, 100, 200, depA)
	p := Compute(svc, observed(tasksOf(tk{"a1", depA, running}, tk{"a2", depA, running})))
	if got := eventsOf(p.Service); !slices.Equal(got, []string{model.EventSteadyState("web"), model.EventDeploymentCompleted("web", depA)}) {
		t.Errorf("events %q", got)
	}
	// Steady again: no second steady-state event.
	p2 := Compute(p.Service, observed(tasksOf(tk{"a1", depA, running}, tk{"a2", depA, running})))
	if len(p2.Service.Events) != 2 || p2.RequeueAfter != requeueSteady {
		t.Errorf("second steady pass: events %q requeue %v", eventsOf(p2.Service), p2.RequeueAfter)
	}
	// Scale in: the stop event names the task.
	svc = p2.Service
	svc.DesiredCount = 1
	p3 := Compute(svc, observed(tasksOf(tk{"a1", depA, running}, tk{"a2", depA, running})))
	if got := eventsOf(p3.Service)[0]; got != "(service web) has stopped 1 running tasks: (task a2)." {
		t.Errorf("scale-in event %q", got)
	}
	if p3.Stop[0].Reason != model.StopReasonScaling(depA) {
		t.Errorf("stop reason %q", p3.Stop[0].Reason)
	}
}

func TestPlanInactiveDeploymentsAreDropped(t *testing.T) {
	svc := svcOf(1, 100, 200, depC, depB, depA)
	svc.Deployments[2].Status = model.DeploymentInactive
	p := Compute(svc, observed(tasksOf(tk{"c1", depC, running}, tk{"b1", depB, stopped})))
	var got []string
	for _, d := range p.Service.Deployments {
		got = append(got, d.ID+" "+d.Status)
	}
	// depB has no task left: INACTIVE, and kept (it is the newest completed); depA is dropped.
	if want := []string{depC + " PRIMARY", depB + " INACTIVE"}; !slices.Equal(got, want) {
		t.Errorf("deployments %q, want %q", got, want)
	}
}

func TestPlanDrainingService(t *testing.T) {
	svc := svcOf(2, 100, 200, depA)
	svc.Status, svc.DesiredCount = model.ServiceDraining, 0
	p := Compute(svc, observed(tasksOf(tk{"a1", depA, running}, tk{"a2", depA, pending})))
	if stopIDs(p) != "a1,a2" || p.Launch != nil {
		t.Errorf("draining service: stop %q launch %q", stopIDs(p), launchOf(p))
	}
	p = Compute(svc, observed(tasksOf(tk{"a1", depA, stopped}, tk{"a2", depA, stopped})))
	if p.Service.Status != model.ServiceInactive {
		t.Errorf("drained service status %s, want INACTIVE", p.Service.Status)
	}
}

// TestPlanLoadBalancer walks a task through ACTIVATING (register, wait for healthy) and an old
// one through DEACTIVATING (deregister, wait until gone, then stop).
func TestPlanLoadBalancer(t *testing.T) {
	svc := svcOf(1, 100, 200, depB, depA)
	svc = withLB(svc, tgX)
	tasks := tasksOf(tk{"a1", depA, running}, tk{"b1", depB, running})
	obs := observed(tasks)
	obs.Targets = map[string]TargetState{"a1": {Registered: true, Health: TargetHealthy}}

	// b1 runs but is no target: register it; a1 stays (b1 is not healthy yet).
	p := Compute(svc, obs)
	if len(p.Register) != 1 || p.Register[0].ID != "b1" || stopIDs(p) != "" || len(p.Deregister) != 0 {
		t.Fatalf("activating: register %v stop %q deregister %v", p.Register, stopIDs(p), p.Deregister)
	}
	if got := eventsOf(p.Service)[0]; got != model.EventRegistered("web", 1, tgX) {
		t.Errorf("event %q", got)
	}
	// b1 registered, initial: still waiting.
	obs.Targets["b1"] = TargetState{Registered: true, Health: TargetInitial}
	p = Compute(p.Service, obs)
	if len(p.Register)+len(p.Deregister)+len(p.Stop) != 0 {
		t.Fatalf("waiting for health: %+v", p)
	}
	// b1 healthy: a1 is deregistered, not stopped.
	obs.Targets["b1"] = TargetState{Registered: true, Health: TargetHealthy}
	p = Compute(p.Service, obs)
	if len(p.Deregister) != 1 || p.Deregister[0].ID != "a1" || stopIDs(p) != "" {
		t.Fatalf("deactivating: deregister %v stop %q", p.Deregister, stopIDs(p))
	}
	if msgs := eventsOf(p.Service); !slices.Contains(msgs, model.EventDraining("web", 1)) || !slices.Contains(msgs, model.EventDeregistered("web", 1, tgX)) {
		t.Errorf("events %q", msgs)
	}
	// a1 draining: wait.
	obs.Targets["a1"] = TargetState{Registered: true, Health: TargetDraining}
	p = Compute(p.Service, obs)
	if len(p.Deregister)+len(p.Stop)+len(p.Register) != 0 {
		t.Fatalf("draining: %+v", p)
	}
	// a1 gone from the group: now it stops.
	delete(obs.Targets, "a1")
	p = Compute(p.Service, obs)
	if stopIDs(p) != "a1" || len(p.Register) != 0 {
		t.Fatalf("drained: stop %q register %v", stopIDs(p), p.Register)
	}
	if len(p.Service.Draining) != 0 {
		t.Errorf("draining list %v after the stop", p.Service.Draining)
	}
}

func TestPlanLoadBalancerGracePeriod(t *testing.T) {
	svc := svcOf(1, 100, 200, depA)
	svc = withLB(svc, tgX)
	svc.HealthCheckGracePeriod = 60
	tasks := tasksOf(tk{"a1", depA, running})
	obs := observed(tasks)
	obs.Now = tasks[0].Times.StartedAt.Add(30 * time.Second)
	obs.Targets = map[string]TargetState{"a1": {Registered: true, Health: TargetUnhealthy}}
	p := Compute(svc, obs)
	if len(p.Deregister) != 0 || p.RequeueAfter > 30*time.Second {
		t.Fatalf("within the grace period: deregister %v requeue %v", p.Deregister, p.RequeueAfter)
	}
	obs.Now = tasks[0].Times.StartedAt.Add(61 * time.Second)
	p = Compute(svc, obs)
	if len(p.Deregister) != 1 || p.Service.Draining[0].Reason != model.StopReasonELB(tgX) || p.Launch == nil {
		t.Fatalf("after the grace period: deregister %v draining %v launch %q", p.Deregister, p.Service.Draining, launchOf(p))
	}
}

func TestPlanContainerHealthGracePeriod(t *testing.T) {
	svc := svcOf(1, 100, 200, depA)
	svc.HealthCheckGracePeriod = 60
	tasks := tasksOf(tk{"a1", depA, sick})
	obs := observed(tasks)
	obs.Now = tasks[0].Times.StartedAt.Add(20 * time.Second)
	if p := Compute(svc, obs); len(p.Stop) != 0 || p.RequeueAfter != 40*time.Second {
		t.Fatalf("within the grace period: stop %q requeue %v", stopIDs(p), p.RequeueAfter)
	}
	obs.Now = tasks[0].Times.StartedAt.Add(61 * time.Second)
	p := Compute(svc, obs)
	if stopIDs(p) != "a1" || p.Stop[0].Reason != model.StopReasonUnhealthy || launchOf(p) != depA+"+1" {
		t.Fatalf("after the grace period: stop %q launch %q", stopIDs(p), launchOf(p))
	}
	if msgs := eventsOf(p.Service); !slices.Contains(msgs, model.EventUnhealthy("web", "a1")) {
		t.Errorf("events %q", msgs)
	}
}

func TestPlanThrottlesFailingLaunches(t *testing.T) {
	svc := svcOf(2, 100, 200, depA)
	tasks := tasksOf(tk{"a1", depA, running}, tk{"a2", depA, failedSt}, tk{"a3", depA, failedSt})
	tasks[1].Times.StoppedAt = tasks[0].Times.StartedAt.Add(time.Minute)
	tasks[2].Times.StoppedAt = tasks[0].Times.StartedAt.Add(2 * time.Minute)
	obs := observed(tasks)
	obs.Now = tasks[2].Times.StoppedAt.Add(time.Second) // 2 failures: wait 2 s
	p := Compute(svc, obs)
	if p.Launch != nil || p.RequeueAfter != time.Second {
		t.Fatalf("launch %q requeue %v, want none and 1s", launchOf(p), p.RequeueAfter)
	}
	obs.Now = tasks[2].Times.StoppedAt.Add(2 * time.Second)
	if p := Compute(svc, obs); launchOf(p) != depA+"+1" {
		t.Fatalf("after the delay: launch %q", launchOf(p))
	}
}

func TestCircuitBreakerThreshold(t *testing.T) {
	for desired, want := range map[int]int{0: 3, 1: 3, 5: 3, 6: 3, 7: 4, 10: 5, 399: 200, 1000: 200} {
		if got := model.CircuitBreakerThreshold(desired); got != want {
			t.Errorf("threshold(%d) = %d, want %d", desired, got, want)
		}
	}
}
