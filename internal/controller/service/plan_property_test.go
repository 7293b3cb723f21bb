package service

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
)

// world simulates the rest of gantry for the plan: launched tasks go PENDING, then RUNNING
// after a random number of steps; stopped tasks go STOPPED after a random number of steps;
// with a load balancer, registered targets turn healthy and deregistered ones drain away.
type world struct {
	rng     *rand.Rand
	tasks   []model.Task
	wait    map[string]int // steps until the task's next transition
	targets map[string]TargetState
	lb      bool
	now     time.Time
	n       int
}

func (w *world) step() {
	w.now = w.now.Add(time.Second)
	for i := range w.tasks {
		t := &w.tasks[i]
		if w.wait[t.ID] > 0 {
			w.wait[t.ID]--
			continue
		}
		switch {
		case t.LastStatus == model.TaskStopped:
		case t.DesiredStatus == model.TaskStopped:
			t.LastStatus = model.TaskStopped
		case t.LastStatus == model.TaskPending:
			t.LastStatus, t.Times.StartedAt = model.TaskRunning, w.now
		}
		w.wait[t.ID] = w.rng.IntN(3)
	}
	for id, ts := range w.targets {
		switch {
		case ts.Health == TargetInitial && w.rng.IntN(2) == 0:
			w.targets[id] = TargetState{Registered: true, Health: TargetHealthy}
		case ts.Health == TargetDraining && w.rng.IntN(2) == 0:
			delete(w.targets, id)
		}
	}
}

func (w *world) apply(p Plan) {
	for _, s := range p.Stop {
		for i := range w.tasks {
			if w.tasks[i].ID == s.TaskID {
				w.tasks[i].DesiredStatus = model.TaskStopped
			}
		}
	}
	for _, t := range p.Deregister {
		if ts, ok := w.targets[t.ID]; ok {
			ts.Health = TargetDraining
			w.targets[t.ID] = ts
		}
	}
	for _, t := range p.Register {
		w.targets[t.ID] = TargetState{Registered: true, Health: TargetInitial}
	}
	if l := p.Launch; l != nil {
		for range l.Count {
			w.n++
			id := fmt.Sprintf("t%03d", w.n)
			w.tasks = append(w.tasks, model.Task{ID: id, StartedBy: l.Deployment.ID, Group: "service:web", Family: "f", Revision: 1,
				DesiredStatus: model.TaskRunning, LastStatus: model.TaskPending, Times: model.TaskTimes{CreatedAt: w.now},
				AvailabilityZone: fmt.Sprintf("z%d", w.n%3)})
			w.wait[id] = w.rng.IntN(4)
		}
	}
}

func (w *world) counts(primary string, hasLB bool) (total, healthy, newLive int) {
	for _, t := range w.tasks {
		if t.LastStatus == model.TaskStopped {
			continue
		}
		total++
		if t.StartedBy == primary && t.DesiredStatus != model.TaskStopped {
			newLive++
		}
		if t.DesiredStatus != model.TaskStopped && t.LastStatus == model.TaskRunning && (!hasLB || w.targets[t.ID].Health == TargetHealthy) {
			healthy++
		}
	}
	return
}

// TestPlanRolloutProperties rolls random services from one definition to another in a
// simulated world and checks, after every pass: never more tasks than maximumPercent allows,
// never fewer healthy than minimumHealthyPercent once reached, and the rollout completes with
// exactly desired tasks of the new deployment.
func TestPlanRolloutProperties(t *testing.T) {
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 7))
		desired := rng.IntN(8)
		minPct := []int{0, 25, 50, 75, 100}[rng.IntN(5)]
		maxPct := []int{100, 125, 150, 200}[rng.IntN(4)]
		dc := model.DeploymentConfiguration{MinimumHealthyPercent: minPct, MaximumPercent: maxPct}
		if desired > 0 && dc.MaxTotal(desired) == desired && dc.MinHealthy(desired) >= desired {
			minPct = 0 // a rollout that may neither start nor stop a task cannot move, on ECS too
		}
		hasLB := rng.IntN(2) == 0
		name := fmt.Sprintf("seed %d: desired %d min %d max %d lb %v", seed, desired, minPct, maxPct, hasLB)
		w := &world{rng: rng, wait: map[string]int{}, targets: map[string]TargetState{}, lb: hasLB, now: t0}
		svc := svcOf(desired, minPct, maxPct, depA)
		if hasLB {
			svc = withLB(svc, tgX)
		}
		svc = converge(t, name+" (first deployment)", w, svc, depA, hasLB)
		// Roll to B.
		svc.Deployments[0].Status = model.DeploymentActive
		svc.Deployments = append([]model.Deployment{{ID: depB, Status: model.DeploymentPrimary, RolloutState: model.RolloutInProgress,
			LoadBalancers: svc.LoadBalancers}}, svc.Deployments...)
		converge(t, name+" (rollout)", w, svc, depB, hasLB)
	}
}

func converge(t *testing.T, name string, w *world, svc model.Service, primary string, hasLB bool) model.Service {
	t.Helper()
	maxTotal := svc.Deployment.MaxTotal(svc.DesiredCount)
	minHealthy := svc.Deployment.MinHealthy(svc.DesiredCount)
	reached := false
	for step := range 400 {
		obs := Observed{Tasks: w.tasks, Targets: w.targets, Now: w.now, NewID: func() string { return "e" },
			NewDeploymentID: func() string { return depC }}
		p := Compute(svc, obs)
		svc = p.Service
		w.apply(p)
		total, healthy, _ := w.counts(primary, hasLB)
		if total > maxTotal && total > svc.DesiredCount {
			t.Fatalf("%s: step %d: %d tasks, more than maximumPercent allows (%d)", name, step, total, maxTotal)
		}
		if reached && healthy < minHealthy {
			t.Fatalf("%s: step %d: %d healthy, fewer than minimumHealthyPercent keeps (%d)", name, step, healthy, minHealthy)
		}
		w.step()
		total, healthy, newLive := w.counts(primary, hasLB)
		reached = reached || healthy >= minHealthy
		d, _ := svc.Primary()
		if d.RolloutState == model.RolloutCompleted && total == svc.DesiredCount && newLive == svc.DesiredCount {
			if healthy != svc.DesiredCount {
				t.Fatalf("%s: completed with %d healthy of %d", name, healthy, svc.DesiredCount)
			}
			return svc
		}
	}
	total, healthy, newLive := w.counts(primary, hasLB)
	t.Fatalf("%s: no steady state after 400 passes: total %d healthy %d new %d deployments %+v", name, total, healthy, newLive, svc.Deployments)
	return svc
}
