package service

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/internal/model"
)

const tgY = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/y/2"

// groups is a simulated ELB: target group ARN -> task id -> target state.
type groups map[string]map[string]string

// observe derives what the controller would read: each task's state in its own deployment's
// groups (as targetStates does).
func (g groups) observe(svc model.Service, tasks []model.Task) map[string]TargetState {
	out := map[string]TargetState{}
	for _, t := range tasks {
		for i, lb := range LoadBalancersOf(svc, t) {
			state, registered := g[lb.TargetGroupARN][t.ID]
			cur := out[t.ID]
			switch {
			case i == 0:
				cur = TargetState{Registered: registered, Health: state}
			case registered:
				cur.Registered = true
			}
			out[t.ID] = cur
		}
	}
	return out
}

// apply (de)registers as the controller's setTargets does, by each task's deployment.
func (g groups) apply(svc model.Service, p Plan) {
	order, by := TargetsByGroup(svc, p.Deregister)
	for _, lb := range order {
		for _, t := range by[lb] {
			if _, ok := g[lb.TargetGroupARN][t.ID]; ok {
				g[lb.TargetGroupARN][t.ID] = TargetDraining
			}
		}
	}
	order, by = TargetsByGroup(svc, p.Register)
	for _, lb := range order {
		if g[lb.TargetGroupARN] == nil {
			g[lb.TargetGroupARN] = map[string]string{}
		}
		for _, t := range by[lb] {
			g[lb.TargetGroupARN][t.ID] = TargetInitial
		}
	}
}

// byGroup renders a plan's (de)registrations as "group:task,task" by target group name.
func byGroup(svc model.Service, tasks []model.Task) string {
	order, by := TargetsByGroup(svc, tasks)
	var out []string
	for _, lb := range order {
		var ids []string
		for _, t := range by[lb] {
			ids = append(ids, t.ID)
		}
		name := map[string]string{tgX: "X", tgY: "Y"}[lb.TargetGroupARN]
		out = append(out, name+":"+strings.Join(ids, ","))
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// TestPlanLoadBalancerSwitch walks an UpdateService from target group X to Y: the new
// deployment's task registers in Y only, the old deployment's task deregisters from X (never
// from Y) and drains there before it stops. Passes whose calls are lost (a crash after the
// fenced write, before the ELB calls) are repeated and still do the right thing.
func TestPlanLoadBalancerSwitch(t *testing.T) {
	old := withLB(svcOf(1, 100, 200, depA), tgX)
	svc := withLB(svcOf(1, 100, 200, depB, depA), tgY) // the update: B is primary, with Y
	svc.Deployments[1].LoadBalancers = old.LoadBalancers
	g := groups{tgX: {"a1": TargetHealthy}}
	tasks := tasksOf(tk{"a1", depA, running})

	steps := []struct {
		name        string
		world       func()
		crash       bool // the pass's calls are lost
		launch      string
		register    string
		deregister  string
		stop        string
		wantEvent   string
		wantDrained bool
	}{
		{name: "launch the new deployment's task", launch: depB + "+1"},
		{name: "new task runs: register in Y", world: func() {
			tasks = append(tasks, tasksOf(tk{"a1", depA, running}, tk{"b1", depB, running})[1])
		}, register: "Y:b1", crash: true, wantEvent: model.EventRegistered("web", 1, tgY)},
		{name: "after a crash: register in Y again", register: "Y:b1"},
		{name: "b1 initial in Y: wait"},
		{name: "b1 healthy in Y: deregister a1 from X", world: func() { g[tgY]["b1"] = TargetHealthy },
			deregister: "X:a1", crash: true, wantEvent: model.EventDeregistered("web", 1, tgX), wantDrained: true},
		{name: "after a crash: deregister from X again, no stop", deregister: "X:a1", wantDrained: true},
		{name: "a1 draining in X: wait", wantDrained: true},
		{name: "a1 gone from X: stop it", world: func() { delete(g[tgX], "a1") }, stop: "a1"},
	}
	for _, st := range steps {
		if st.world != nil {
			st.world()
		}
		obs := observed(tasks)
		obs.Targets = g.observe(svc, tasks)
		p := Compute(svc, obs)
		if got := launchOf(p); got != st.launch {
			t.Errorf("%s: launch %q, want %q", st.name, got, st.launch)
		}
		if got := byGroup(p.Service, p.Register); got != st.register {
			t.Errorf("%s: register %q, want %q", st.name, got, st.register)
		}
		if got := byGroup(p.Service, p.Deregister); got != st.deregister {
			t.Errorf("%s: deregister %q, want %q", st.name, got, st.deregister)
		}
		if got := stopIDs(p); got != st.stop {
			t.Errorf("%s: stop %q, want %q", st.name, got, st.stop)
		}
		if st.wantEvent != "" && !slices.Contains(eventsOf(p.Service), st.wantEvent) {
			t.Errorf("%s: events %q, want %q", st.name, eventsOf(p.Service), st.wantEvent)
		}
		if drained := slices.ContainsFunc(p.Service.Draining, func(d model.DrainingTask) bool { return d.TaskID == "a1" }); drained != st.wantDrained {
			t.Errorf("%s: a1 draining %v, want %v", st.name, drained, st.wantDrained)
		}
		svc = p.Service // the fenced write happened
		if !st.crash {
			g.apply(svc, p)
		}
		if _, ok := g[tgY]["a1"]; ok {
			t.Fatalf("%s: the old task is in the new group Y", st.name)
		}
		if _, ok := g[tgX]["b1"]; ok {
			t.Fatalf("%s: the new task is in the old group X", st.name)
		}
	}
	if !slices.Equal(slices.Sorted(maps.Keys(g[tgY])), []string{"b1"}) || len(g[tgX]) != 0 {
		t.Fatalf("groups at the end: %v, want X empty and Y with b1", g)
	}
}

// TestLoadBalancersOfFallsBack: a task of a deployment the service no longer has uses the
// service's load balancers; a deployment without load balancers has none, whatever the service has.
func TestLoadBalancersOfFallsBack(t *testing.T) {
	svc := withLB(svcOf(1, 100, 200, depB, depA), tgY)
	svc.Deployments[1].LoadBalancers = nil
	if got := LoadBalancersOf(svc, model.Task{StartedBy: depA}); len(got) != 0 {
		t.Errorf("deployment without load balancers: %v", got)
	}
	if got := LoadBalancersOf(svc, model.Task{StartedBy: depC}); len(got) != 1 || got[0].TargetGroupARN != tgY {
		t.Errorf("unknown deployment: %v, want the service's", got)
	}
}
