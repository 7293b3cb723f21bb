// Package service is the ECS service controller: a pure plan from a service's desired state
// and its observed tasks and targets, and a thin apply that launches, stops and (de)registers.
package service

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
)

// Target health states, as ELBv2 reports them.
const (
	TargetInitial     = "initial"
	TargetHealthy     = "healthy"
	TargetUnhealthy   = "unhealthy"
	TargetUnused      = "unused"
	TargetDraining    = "draining"
	TargetUnavailable = "unavailable"
)

// TargetState is a task's state across its deployment's target groups: Registered when it is
// a target of at least one group, and Health the worst state among them (healthy only when
// healthy in every group).
type TargetState struct {
	Registered bool
	Health     string
}

// Observed is what a pass saw: the service's tasks (every status), the target states of its
// tasks by task id, each in the target groups of the task's own deployment (only with load
// balancers), the time, and ids for what the plan creates.
type Observed struct {
	Tasks   []model.Task
	Targets map[string]TargetState
	// HealthChecked says which task definitions ("family:revision") have a container health
	// check on an essential container: their tasks count as healthy only once HEALTHY.
	HealthChecked map[string]bool
	Now           time.Time
	// NewID returns a fresh event id; NewDeploymentID a fresh deployment id.
	NewID           func() string
	NewDeploymentID func() string
}

// Launch asks for Count new tasks of a deployment.
type Launch struct {
	Deployment model.Deployment
	Count      int
}

// Stop asks for a task to stop.
type Stop struct {
	TaskID string
	Reason string
}

// Plan is what a pass does: write Service (when it differs from what was read), then stop,
// deregister, register and launch. A task is (de)registered in the target groups of its own
// deployment (LoadBalancersOf, TargetsByGroup), not in the service's current ones.
type Plan struct {
	Service    model.Service
	Launch     *Launch
	Stop       []Stop
	Register   []model.Task
	Deregister []model.Task
	// RequeueAfter is when to look again even if nothing changes (0: on changes only).
	RequeueAfter time.Duration
}

// Requeue intervals.
const (
	requeueBusy   = time.Second
	requeueSteady = 15 * time.Second
)

// class is what a pass makes of one task.
type class struct {
	t        model.Task
	done     bool // STOPPED
	stopping bool // asked to stop, or draining before its stop
	running  bool
	healthy  bool
}

// Compute plans one pass over svc.
func Compute(svc model.Service, obs Observed) Plan {
	p := planner{s: cloneService(svc), obs: obs}
	return p.run()
}

// LoadBalancersOf returns the load balancers task t is registered in: its deployment's.
func LoadBalancersOf(svc model.Service, t model.Task) []model.ServiceLoadBalancer {
	return svc.LoadBalancersOf(t.StartedBy)
}

// TargetsByGroup splits tasks by the load balancers of their deployments in svc, in the
// order the load balancers are first met.
func TargetsByGroup(svc model.Service, tasks []model.Task) ([]model.ServiceLoadBalancer, map[model.ServiceLoadBalancer][]model.Task) {
	var order []model.ServiceLoadBalancer
	by := map[model.ServiceLoadBalancer][]model.Task{}
	for _, t := range tasks {
		for _, lb := range LoadBalancersOf(svc, t) {
			if _, ok := by[lb]; !ok {
				order = append(order, lb)
			}
			by[lb] = append(by[lb], t)
		}
	}
	return order, by
}

type planner struct {
	s       model.Service
	obs     Observed
	classes []*class
	plan    Plan
	stopped []string
	drained []model.Task
	busy    bool
}

// hasLB reports whether t's deployment registers its tasks in target groups.
func (p *planner) hasLB(t model.Task) bool { return len(LoadBalancersOf(p.s, t)) > 0 }

func (p *planner) run() Plan {
	if p.s.Status == model.ServiceInactive {
		p.plan.Service = p.s
		return p.plan
	}
	p.classify()
	p.finishDraining()
	primary := p.primaryIndex()
	if primary >= 0 && p.s.Status == model.ServiceActive {
		p.circuitBreaker(primary)
		primary = p.primaryIndex()
	}
	p.replaceUnhealthy()
	desired := p.s.DesiredCount
	if p.s.Status != model.ServiceActive {
		desired = 0
	}
	if primary >= 0 && p.s.Status == model.ServiceActive {
		p.launch(primary, desired)
	}
	p.retireOld(primary, desired)
	if primary >= 0 {
		p.scaleDown(primary, desired)
	}
	p.activate()
	p.bookkeeping(primary, desired)
	p.events()
	p.plan.Service = p.s
	if p.plan.RequeueAfter == 0 {
		p.plan.RequeueAfter = requeueSteady
		if p.busy || p.plan.Launch != nil || len(p.plan.Stop) > 0 || len(p.s.Draining) > 0 {
			p.plan.RequeueAfter = requeueBusy
		}
	}
	return p.plan
}

func (p *planner) draining(id string) int {
	return slices.IndexFunc(p.s.Draining, func(d model.DrainingTask) bool { return d.TaskID == id })
}

func (p *planner) classify() {
	for _, t := range p.obs.Tasks {
		c := &class{t: t, done: t.LastStatus == model.TaskStopped}
		c.stopping = !c.done && (t.DesiredStatus == model.TaskStopped || p.draining(t.ID) >= 0)
		c.running = !c.done && !c.stopping && t.LastStatus == model.TaskRunning
		c.healthy = c.running && p.containerHealthy(t) && (!p.hasLB(t) || p.obs.Targets[t.ID].Health == TargetHealthy)
		p.classes = append(p.classes, c)
	}
	// Oldest first, so choices are stable from pass to pass.
	slices.SortStableFunc(p.classes, func(a, b *class) int {
		return cmp.Or(a.t.Times.CreatedAt.Compare(b.t.Times.CreatedAt), cmp.Compare(a.t.ID, b.t.ID))
	})
}

// DefinitionKey is the key of a task's definition in Observed.HealthChecked.
func DefinitionKey(t model.Task) string { return t.Family + ":" + strconv.Itoa(t.Revision) }

func (p *planner) hasHealthCheck(t model.Task) bool { return p.obs.HealthChecked[DefinitionKey(t)] }

func (p *planner) containerHealthy(t model.Task) bool {
	return !p.hasHealthCheck(t) || t.HealthStatus == model.HealthHealthy
}

func (p *planner) live() []*class {
	var out []*class
	for _, c := range p.classes {
		if !c.done && !c.stopping {
			out = append(out, c)
		}
	}
	return out
}

func (p *planner) total() int {
	n := 0
	for _, c := range p.classes {
		if !c.done {
			n++
		}
	}
	return n
}

func (p *planner) primaryIndex() int {
	return slices.IndexFunc(p.s.Deployments, func(d model.Deployment) bool { return d.Status == model.DeploymentPrimary })
}

// retire takes a live task out of service: with load balancers, a registered task is
// deregistered first (DEACTIVATING) and stopped once its targets are gone; otherwise it stops.
func (p *planner) retire(c *class, reason string) {
	c.stopping, c.running, c.healthy = true, false, false
	p.busy = true
	if p.hasLB(c.t) && p.obs.Targets[c.t.ID].Registered {
		p.s.Draining = append(p.s.Draining, model.DrainingTask{TaskID: c.t.ID, Reason: reason})
		p.plan.Deregister = append(p.plan.Deregister, c.t)
		p.drained = append(p.drained, c.t)
		return
	}
	p.stop(c.t.ID, reason)
}

func (p *planner) stop(id, reason string) {
	p.plan.Stop = append(p.plan.Stop, Stop{TaskID: id, Reason: reason})
	p.stopped = append(p.stopped, id)
}

// finishDraining stops draining tasks whose targets are gone, deregisters again those still
// registered (a crash may have lost the first call), and forgets those already stopping.
func (p *planner) finishDraining() {
	byID := map[string]*class{}
	for _, c := range p.classes {
		byID[c.t.ID] = c
	}
	kept := p.s.Draining[:0:0]
	for _, d := range p.s.Draining {
		c := byID[d.TaskID]
		if c == nil || c.done || c.t.DesiredStatus == model.TaskStopped {
			continue
		}
		ts := p.obs.Targets[d.TaskID]
		switch {
		case !ts.Registered:
			p.stop(d.TaskID, d.Reason)
		case ts.Health != TargetDraining:
			p.plan.Deregister = append(p.plan.Deregister, c.t)
			kept = append(kept, d)
		default:
			kept = append(kept, d)
		}
	}
	p.s.Draining = kept
}

// failed reports whether a task of a deployment counts against its circuit breaker: it stopped
// without ever running, or the service stopped it for failing its health checks.
func failed(t model.Task) bool {
	if t.LastStatus != model.TaskStopped {
		return false
	}
	if t.Times.StartedAt.IsZero() && t.StopCode != model.StopServiceSchedulerInit && t.StopCode != model.StopUserInitiated {
		return true
	}
	return t.StopCode == model.StopServiceSchedulerInit && (t.StoppedReason == model.StopReasonUnhealthy ||
		len(t.StoppedReason) > len("Task failed ELB") && t.StoppedReason[:len("Task failed ELB")] == "Task failed ELB")
}

func (p *planner) circuitBreaker(pi int) {
	d := &p.s.Deployments[pi]
	n := 0
	for _, c := range p.classes {
		if c.t.StartedBy == d.ID && failed(c.t) {
			n++
		}
	}
	if n > d.FailedTasks {
		d.FailedTasks = n
		d.UpdatedAt = p.obs.Now
	}
	cb := p.s.Deployment.CircuitBreaker
	if !cb.Enable || d.RolloutState != model.RolloutInProgress || d.FailedTasks < model.CircuitBreakerThreshold(p.s.DesiredCount) {
		return
	}
	d.RolloutState, d.RolloutStateReason, d.UpdatedAt = model.RolloutFailed, model.RolloutReasonFailed, p.obs.Now
	p.addEvent(model.EventDeploymentFailed(p.s.Name, d.ID))
	if !cb.Rollback {
		return
	}
	li := slices.IndexFunc(p.s.Deployments, func(o model.Deployment) bool {
		return o.ID != d.ID && o.RolloutState == model.RolloutCompleted
	})
	if li < 0 {
		return
	}
	last := p.s.Deployments[li]
	d.Status = model.DeploymentActive
	nd := model.Deployment{ID: p.obs.NewDeploymentID(), Status: model.DeploymentPrimary, TaskDefinition: last.TaskDefinition,
		DesiredCount: p.s.DesiredCount, CreatedAt: p.obs.Now, UpdatedAt: p.obs.Now, LaunchType: last.LaunchType,
		CapacityProviderStrategy: last.CapacityProviderStrategy, PlatformVersion: last.PlatformVersion, Network: last.Network,
		LoadBalancers: slices.Clone(last.LoadBalancers),
		RolloutState:  model.RolloutInProgress, RolloutStateReason: model.RolloutReasonRollback(last.ID)}
	p.s.Deployments = append([]model.Deployment{nd}, p.s.Deployments...)
	p.s.TaskDefinition, p.s.LoadBalancers = nd.TaskDefinition, slices.Clone(last.LoadBalancers)
	p.addEvent(model.EventRollingBack(p.s.Name, last.ID))
	p.busy = true
}

// replaceUnhealthy retires running tasks that failed their container health checks or that
// their load balancer found unhealthy, once healthCheckGracePeriodSeconds have passed since
// they started.
func (p *planner) replaceUnhealthy() {
	grace := time.Duration(p.s.HealthCheckGracePeriod) * time.Second
	for _, c := range p.live() {
		sick := p.hasHealthCheck(c.t) && c.t.HealthStatus == model.HealthUnhealthy
		lbSick := p.hasLB(c.t) && c.running && p.obs.Targets[c.t.ID].Health == TargetUnhealthy
		if !sick && !lbSick {
			continue
		}
		started := cmp.Or(c.t.Times.StartedAt, c.t.Times.CreatedAt)
		if wait := started.Add(grace).Sub(p.obs.Now); wait > 0 {
			p.requeue(wait)
			continue
		}
		if sick {
			p.addEvent(model.EventUnhealthy(p.s.Name, c.t.ID))
			p.retire(c, model.StopReasonUnhealthy)
			continue
		}
		lb := LoadBalancersOf(p.s, c.t)[0]
		p.addEvent(model.EventTargetUnhealthy(p.s.Name, c.t.ID, lb.ContainerPort, lb.TargetGroupARN))
		p.retire(c, model.StopReasonELB(lb.TargetGroupARN))
	}
}

func (p *planner) requeue(d time.Duration) {
	if p.plan.RequeueAfter == 0 || d < p.plan.RequeueAfter {
		p.plan.RequeueAfter = max(d, 10*time.Millisecond)
	}
}

// launch starts tasks of the primary deployment up to desired, within maximumPercent.
func (p *planner) launch(pi, desired int) {
	d := p.s.Deployments[pi]
	if d.RolloutState == model.RolloutFailed {
		return // a failed deployment without rollback launches nothing more
	}
	if wait := p.throttle(d.ID); wait > 0 {
		p.requeue(wait)
		p.busy = true
		return
	}
	mine := 0
	for _, c := range p.live() {
		if c.t.StartedBy == d.ID {
			mine++
		}
	}
	room := p.s.Deployment.MaxTotal(desired) - p.total()
	if n := min(desired-mine, room); n > 0 {
		p.plan.Launch = &Launch{Deployment: d, Count: n}
		p.busy = true
	}
}

// Launch throttling: a deployment whose tasks keep failing to start launches again only after
// a delay that doubles with each failure since its last task ran, as ECS throttles a service
// that cannot start tasks.
const (
	throttleBase = time.Second
	throttleMax  = 30 * time.Second
)

// throttle returns how long the deployment must wait before its next launch.
func (p *planner) throttle(dep string) time.Duration {
	var lastRun, lastFail time.Time
	for _, c := range p.classes {
		if c.t.StartedBy == dep && c.t.Times.StartedAt.After(lastRun) {
			lastRun = c.t.Times.StartedAt
		}
	}
	n := 0
	for _, c := range p.classes {
		if c.t.StartedBy == dep && failed(c.t) && c.t.Times.StoppedAt.After(lastRun) {
			n++
			if c.t.Times.StoppedAt.After(lastFail) {
				lastFail = c.t.Times.StoppedAt
			}
		}
	}
	if n == 0 {
		return 0
	}
	delay := throttleMax
	if n < 6 {
		delay = min(throttleBase<<(n-1), throttleMax)
	}
	return lastFail.Add(delay).Sub(p.obs.Now)
}

// retireOld retires the tasks of every deployment but the primary: those not healthy at once,
// healthy ones only while at least minimumHealthyPercent of desired stay healthy.
func (p *planner) retireOld(pi, desired int) {
	primaryID := ""
	if pi >= 0 {
		primaryID = p.s.Deployments[pi].ID
	}
	var old []*class
	healthy := 0
	for _, c := range p.live() {
		if c.healthy {
			healthy++
		}
		if c.t.StartedBy != primaryID {
			old = append(old, c)
		}
	}
	if len(old) == 0 {
		return
	}
	p.busy = true
	sortForRetirement(old)
	budget := healthy - p.s.Deployment.MinHealthy(desired)
	if p.s.Status != model.ServiceActive {
		budget = len(old)
	}
	for _, c := range old {
		switch {
		case !c.healthy:
			p.retire(c, model.StopReasonScaling(primaryID))
		case budget > 0:
			budget--
			p.retire(c, model.StopReasonScaling(primaryID))
		}
	}
}

// sortForRetirement puts first the tasks to retire first: not running, then not healthy, then
// from the zone with the most tasks, newest first.
func sortForRetirement(cs []*class) {
	zone := map[string]int{}
	for _, c := range cs {
		zone[c.t.AvailabilityZone]++
	}
	slices.SortStableFunc(cs, func(a, b *class) int {
		return cmp.Or(
			cmp.Compare(boolRank(a.running), boolRank(b.running)),
			cmp.Compare(boolRank(a.healthy), boolRank(b.healthy)),
			cmp.Compare(zone[b.t.AvailabilityZone], zone[a.t.AvailabilityZone]),
			b.t.Times.CreatedAt.Compare(a.t.Times.CreatedAt),
			cmp.Compare(a.t.ID, b.t.ID))
	})
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// scaleDown retires the primary's tasks beyond desired.
func (p *planner) scaleDown(pi, desired int) {
	id := p.s.Deployments[pi].ID
	var mine []*class
	for _, c := range p.live() {
		if c.t.StartedBy == id {
			mine = append(mine, c)
		}
	}
	if len(mine) <= desired {
		return
	}
	sortForRetirement(mine)
	for _, c := range mine[:len(mine)-desired] {
		p.retire(c, model.StopReasonScaling(id))
	}
}

// activate registers running tasks that are not targets yet (ACTIVATING).
func (p *planner) activate() {
	for _, c := range p.live() {
		if c.running && p.hasLB(c.t) && !p.obs.Targets[c.t.ID].Registered {
			p.plan.Register = append(p.plan.Register, c.t)
			p.busy = true
		}
	}
}

// bookkeeping updates deployments: counts, completion, old deployments that have no tasks
// left, and a draining service that has none.
func (p *planner) bookkeeping(pi, desired int) {
	liveBy := map[string]int{}
	healthyBy := map[string]int{}
	for _, c := range p.classes {
		if !c.done {
			liveBy[c.t.StartedBy]++
		}
		if c.healthy {
			healthyBy[c.t.StartedBy]++
		}
	}
	primaryID := ""
	if pi >= 0 {
		primaryID = p.s.Deployments[pi].ID
		d := &p.s.Deployments[pi]
		if d.DesiredCount != desired {
			d.DesiredCount, d.UpdatedAt = desired, p.obs.Now
		}
	}
	othersLeft := 0
	for sid, n := range liveBy {
		if sid != primaryID {
			othersLeft += n
		}
	}
	for i := range p.s.Deployments {
		d := &p.s.Deployments[i]
		if d.Status != model.DeploymentActive {
			continue
		}
		if liveBy[d.ID] == 0 {
			d.Status, d.UpdatedAt = model.DeploymentInactive, p.obs.Now
		} else if d.DesiredCount != liveBy[d.ID] {
			d.DesiredCount = liveBy[d.ID]
		}
	}
	p.trimInactive()
	if p.s.Status == model.ServiceDraining && p.total() == 0 {
		p.s.Status = model.ServiceInactive
		for i := range p.s.Deployments {
			p.s.Deployments[i].Status = model.DeploymentInactive
		}
		return
	}
	if pi < 0 {
		return
	}
	pi = p.primaryIndex()
	d := &p.s.Deployments[pi]
	stable := othersLeft == 0 && liveBy[primaryID] == desired && healthyBy[primaryID] == desired && len(p.s.Draining) == 0 &&
		len(p.plan.Stop) == 0 && p.plan.Launch == nil && len(p.plan.Register) == 0
	if !stable {
		p.busy = true
		return
	}
	if d.RolloutState == model.RolloutInProgress {
		d.RolloutState, d.RolloutStateReason, d.UpdatedAt = model.RolloutCompleted, model.RolloutReasonCompleted(d.ID), p.obs.Now
		p.addEvent(model.EventDeploymentCompleted(p.s.Name, d.ID))
	}
	if p.s.Status == model.ServiceActive && (len(p.s.Events) == 0 || p.s.Events[0].Message != model.EventSteadyState(p.s.Name)) {
		p.addEvent(model.EventSteadyState(p.s.Name))
	}
}

// trimInactive keeps, of the inactive deployments, only the newest completed one: the one a
// failed deployment rolls back to.
func (p *planner) trimInactive() {
	kept := p.s.Deployments[:0:0]
	seen := false
	for _, d := range p.s.Deployments {
		if d.Status == model.DeploymentInactive {
			if seen || d.RolloutState != model.RolloutCompleted {
				continue
			}
			seen = true
		}
		kept = append(kept, d)
	}
	p.s.Deployments = kept
}

// events adds the events of the pass's stops and (de)registrations.
func (p *planner) events() {
	if len(p.drained) > 0 {
		p.addEvent(model.EventDraining(p.s.Name, len(p.drained)))
		order, by := TargetsByGroup(p.s, p.drained)
		for _, lb := range order {
			p.addEvent(model.EventDeregistered(p.s.Name, len(by[lb]), lb.TargetGroupARN))
		}
	}
	if len(p.plan.Register) > 0 {
		order, by := TargetsByGroup(p.s, p.plan.Register)
		for _, lb := range order {
			p.addEvent(model.EventRegistered(p.s.Name, len(by[lb]), lb.TargetGroupARN))
		}
	}
	if len(p.stopped) > 0 {
		p.addEvent(model.EventStopped(p.s.Name, p.stopped))
	}
}

func (p *planner) addEvent(msg string) {
	p.s.AddEvent(model.ServiceEvent{ID: p.obs.NewID(), CreatedAt: p.obs.Now, Message: msg})
}

// cloneService copies the slices a plan changes, so the caller's value stays as read.
func cloneService(s model.Service) model.Service {
	s.Deployments = slices.Clone(s.Deployments)
	s.Events = slices.Clone(s.Events)
	s.Draining = slices.Clone(s.Draining)
	return s
}
