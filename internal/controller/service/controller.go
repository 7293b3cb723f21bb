package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/controller"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// LaunchRequest is one task a service launches.
type LaunchRequest struct {
	Service    model.Service
	Deployment model.Deployment
	// Token is the launch's client token: the same launch retried runs at most one task.
	Token string
	// Subnets are the subnets to place the task in, the preferred one first.
	Subnets []string
}

// TaskLauncher launches and stops a service's tasks (ops in the server).
type TaskLauncher interface {
	// LaunchServiceTask runs one task. When it cannot be placed, reason says why (as ECS
	// words it) and the task is zero.
	LaunchServiceTask(ctx context.Context, req LaunchRequest) (task model.Task, reason string, err error)
	// StopServiceTask asks a task to stop, as the service scheduler does.
	StopServiceTask(ctx context.Context, sc model.Scope, cluster, taskID, reason string) error
}

// Target is a load balancer target: a task's address and container port.
type Target struct {
	IP   string
	Port int
}

// TargetRegistry registers a service's tasks in target groups (the ELBv2 operations).
type TargetRegistry interface {
	RegisterTargets(ctx context.Context, sc model.Scope, targetGroupARN string, targets []Target) error
	DeregisterTargets(ctx context.Context, sc model.Scope, targetGroupARN string, targets []Target) error
	// TargetHealth returns the state of every target of a group.
	TargetHealth(ctx context.Context, sc model.Scope, targetGroupARN string) (map[Target]string, error)
}

// Controller reconciles services: one key per service (store.ServiceKey).
type Controller struct {
	st       *store.Store
	launcher TaskLauncher
	targets  TargetRegistry // nil: services with load balancers cannot be served
	logger   *slog.Logger
	now      func() time.Time
}

// New returns the service controller. targets may be nil until load balancers exist.
func New(st *store.Store, launcher TaskLauncher, targets TargetRegistry, logger *slog.Logger) *Controller {
	return &Controller{st: st, launcher: launcher, targets: targets, logger: logger.With("component", "controller.service"), now: time.Now}
}

// Run reconciles every service until ctx ends: on changes to services and tasks, and
// periodically.
func (c *Controller) Run(ctx context.Context) error {
	q := controller.NewQueue(controller.Backoff{})
	go c.feed(ctx, q)
	controller.Run(ctx, q, c, 4, c.logger)
	return ctx.Err()
}

// feed lists every service, then watches services and tasks and queues the services they
// touch; a failed watch lists again.
func (c *Controller) feed(ctx context.Context, q *controller.Queue) {
	for ctx.Err() == nil {
		rev, err := c.listAll(ctx, q)
		if err != nil {
			c.logger.Warn("list services", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		svcs := c.st.Services().Watch(wctx, rev)
		tasks := c.st.Tasks().Watch(wctx, rev)
		resync := time.NewTicker(30 * time.Second)
		c.watch(wctx, q, svcs, tasks, resync.C)
		resync.Stop()
		cancel()
	}
}

func (c *Controller) watch(ctx context.Context, q *controller.Queue, svcs <-chan store.Event[model.Service], tasks <-chan store.Event[model.Task], resync <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-resync:
			return
		case ev, ok := <-svcs:
			if !ok || ev.Err != nil {
				return
			}
			q.Add(ev.Key)
		case ev, ok := <-tasks:
			if !ok || ev.Err != nil {
				return
			}
			t := ev.Value
			if name, found := strings.CutPrefix(t.Group, "service:"); found {
				q.Add(store.ServiceKey(t.Scope, t.Cluster, name))
			}
		}
	}
}

func (c *Controller) listAll(ctx context.Context, q *controller.Queue) (int64, error) {
	after := ""
	var rev int64
	for {
		page, err := c.st.Services().ListAll(ctx, after, 500)
		if err != nil {
			return 0, err
		}
		if rev == 0 {
			rev = page.Revision
		}
		for i, it := range page.Items {
			if it.Value.Status != model.ServiceInactive {
				q.Add(page.Keys[i])
			}
			after = page.Keys[i]
		}
		if !page.More || len(page.Items) == 0 {
			return rev, nil
		}
	}
}

// errRetry asks for a quick new pass: a fenced write lost a race.
var errRetry = errors.New("service changed during the pass")

// Reconcile runs one pass over the service at key.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	cur, err := c.st.Services().GetKey(ctx, key)
	if errors.Is(err, apierr.NotFound) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	svc := cur.Value
	if svc.Status == model.ServiceInactive {
		return controller.Result{}, nil
	}
	tasks, err := c.serviceTasks(ctx, svc)
	if err != nil {
		return controller.Result{}, err
	}
	obs := Observed{Tasks: tasks, Now: c.now().UTC(), NewID: newUUID, NewDeploymentID: NewDeploymentID}
	if obs.HealthChecked, err = c.healthChecked(ctx, tasks); err != nil {
		return controller.Result{}, err
	}
	if svc.HasLoadBalancers() {
		if c.targets == nil {
			return controller.Result{}, fmt.Errorf("service %s has load balancers but no target registry is configured", svc.Name)
		}
		if obs.Targets, err = c.targetStates(ctx, svc, tasks); err != nil {
			return controller.Result{}, err
		}
	}
	plan := Compute(svc, obs)
	next := plan.Service
	var seq int
	if l := plan.Launch; l != nil {
		i := slices.IndexFunc(next.Deployments, func(d model.Deployment) bool { return d.ID == l.Deployment.ID })
		seq = next.Deployments[i].Launched
		next.Deployments[i].Launched += l.Count
		l.Deployment = next.Deployments[i]
	}
	if !reflect.DeepEqual(next, svc) {
		// The fence: nothing below runs unless the service is still as this pass read it.
		if _, err := c.st.Services().Update(ctx, next, cur.Revision); err != nil {
			if errors.Is(err, apierr.Conflict) {
				return controller.Result{RequeueAfter: 20 * time.Millisecond}, nil
			}
			return controller.Result{}, err
		}
	}
	if err := c.apply(ctx, next, tasks, plan, seq); err != nil {
		return controller.Result{}, err
	}
	return controller.Result{RequeueAfter: plan.RequeueAfter}, nil
}

func (c *Controller) apply(ctx context.Context, svc model.Service, tasks []model.Task, plan Plan, seq int) error {
	if err := c.setTargets(ctx, svc, plan.Deregister, false); err != nil {
		return err
	}
	for _, s := range plan.Stop {
		if err := c.launcher.StopServiceTask(ctx, svc.Scope, svc.Cluster, s.TaskID, s.Reason); err != nil && apierr.KindOf(err) != apierr.InvalidParameter {
			return fmt.Errorf("stop task %s: %w", s.TaskID, err)
		}
	}
	if err := c.setTargets(ctx, svc, plan.Register, true); err != nil {
		return err
	}
	if plan.Launch == nil {
		return nil
	}
	var started []string
	var reason string
	var launchErr error
	live := slices.Clone(tasks)
	for i := range plan.Launch.Count {
		req := LaunchRequest{Service: svc, Deployment: plan.Launch.Deployment,
			Token:   LaunchToken(svc, plan.Launch.Deployment.ID, seq+i),
			Subnets: spreadSubnets(plan.Launch.Deployment.Network, live)}
		t, why, err := c.launcher.LaunchServiceTask(ctx, req)
		if err != nil {
			launchErr = err
			break
		}
		if why != "" {
			reason = why
			break
		}
		started = append(started, t.ID)
		live = append(live, t)
	}
	if len(started) > 0 || reason != "" {
		if err := c.addEvents(ctx, svc, started, reason); err != nil {
			return err
		}
	}
	if launchErr != nil {
		return launchErr
	}
	if reason != "" {
		return fmt.Errorf("service %s: %w", svc.Name, errUnplaced)
	}
	return nil
}

// errUnplaced makes the runtime retry with backoff while no host has room.
var errUnplaced = errors.New("a task could not be placed")

// addEvents records the tasks a pass started and why one could not be placed. Events are not
// fenced: they describe what happened, whoever changed the service since.
func (c *Controller) addEvents(ctx context.Context, svc model.Service, started []string, reason string) error {
	now := c.now().UTC()
	_, err := c.st.Services().Mutate(ctx, svc.Scope, svc.Cluster, svc.Name, func(s *model.Service) error {
		if len(started) > 0 {
			s.AddEvent(model.ServiceEvent{ID: newUUID(), CreatedAt: now, Message: model.EventStarted(s.Name, started)})
		}
		if reason != "" {
			msg := model.EventUnableToPlace(s.Name, reason)
			if len(s.Events) == 0 || s.Events[0].Message != msg {
				s.AddEvent(model.ServiceEvent{ID: newUUID(), CreatedAt: now, Message: msg})
			}
		}
		return nil
	})
	if errors.Is(err, apierr.NotFound) {
		return nil
	}
	return err
}

// healthChecked reads which of the tasks' definitions have a container health check on an
// essential container.
func (c *Controller) healthChecked(ctx context.Context, tasks []model.Task) (map[string]bool, error) {
	out := map[string]bool{}
	for _, t := range tasks {
		k := DefinitionKey(t)
		if _, ok := out[k]; ok || t.LastStatus == model.TaskStopped {
			continue
		}
		td, err := c.st.TaskDefinitions().Get(ctx, t.Scope, t.Family, t.Revision)
		if errors.Is(err, apierr.NotFound) {
			out[k] = false
			continue
		}
		if err != nil {
			return nil, err
		}
		out[k] = slices.ContainsFunc(td.Value.ContainerDefinitions, func(d model.ContainerDefinition) bool {
			return d.HealthCheck != nil && d.IsEssential()
		})
	}
	return out, nil
}

// serviceTasks reads the tasks of svc's cluster in svc's group.
func (c *Controller) serviceTasks(ctx context.Context, svc model.Service) ([]model.Task, error) {
	var out []model.Task
	after := ""
	group := svc.Group()
	for {
		page, err := c.st.Tasks().List(ctx, svc.Scope, svc.Cluster, after, 500)
		if err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			if it.Value.Group == group && !stoppedLongAgo(it.Value, svc) {
				out = append(out, it.Value)
			}
			after = it.Value.ID
		}
		if !page.More || len(page.Items) == 0 {
			return out, nil
		}
	}
}

// stoppedLongAgo drops stopped tasks of deployments the service no longer has: they cannot
// matter to any plan.
func stoppedLongAgo(t model.Task, svc model.Service) bool {
	if t.LastStatus != model.TaskStopped {
		return false
	}
	return !slices.ContainsFunc(svc.Deployments, func(d model.Deployment) bool { return d.ID == t.StartedBy })
}

// targetStates reads each task's state in the target groups of its own deployment: a task of
// an old deployment is looked for in the groups it was registered in, not the service's
// current ones. Each group's health is read once.
func (c *Controller) targetStates(ctx context.Context, svc model.Service, tasks []model.Task) (map[string]TargetState, error) {
	health := map[string]map[Target]string{}
	out := map[string]TargetState{}
	for _, t := range tasks {
		for i, lb := range LoadBalancersOf(svc, t) {
			h, ok := health[lb.TargetGroupARN]
			if !ok {
				var err error
				if h, err = c.targets.TargetHealth(ctx, svc.Scope, lb.TargetGroupARN); err != nil {
					return nil, fmt.Errorf("target health of %s: %w", lb.TargetGroupARN, err)
				}
				health[lb.TargetGroupARN] = h
			}
			tg, ok := targetOf(t, lb)
			if !ok {
				continue
			}
			state, registered := h[tg]
			cur := out[t.ID]
			switch {
			case i == 0:
				cur = TargetState{Registered: registered, Health: state}
			case registered:
				cur.Registered = true
				if cur.Health == TargetHealthy || cur.Health == "" {
					cur.Health = state
				}
			}
			out[t.ID] = cur
		}
	}
	return out, nil
}

func targetOf(t model.Task, lb model.ServiceLoadBalancer) (Target, bool) {
	if t.TaskNetwork == nil || t.TaskNetwork.PrivateIP == "" {
		return Target{}, false
	}
	return Target{IP: t.TaskNetwork.PrivateIP, Port: lb.ContainerPort}, true
}

func (c *Controller) setTargets(ctx context.Context, svc model.Service, tasks []model.Task, register bool) error {
	if len(tasks) == 0 || c.targets == nil {
		return nil
	}
	order, by := TargetsByGroup(svc, tasks)
	for _, lb := range order {
		var targets []Target
		for _, t := range by[lb] {
			if tg, ok := targetOf(t, lb); ok {
				targets = append(targets, tg)
			}
		}
		if len(targets) == 0 {
			continue
		}
		var err error
		if register {
			err = c.targets.RegisterTargets(ctx, svc.Scope, lb.TargetGroupARN, targets)
		} else {
			err = c.targets.DeregisterTargets(ctx, svc.Scope, lb.TargetGroupARN, targets)
		}
		if err != nil {
			return fmt.Errorf("targets of %s: %w", lb.TargetGroupARN, err)
		}
	}
	return nil
}

// spreadSubnets orders a deployment's subnets for the next task: the one with the fewest of
// the service's live tasks first, so tasks spread across subnets and so zones.
func spreadSubnets(n *model.AwsVpcConfiguration, tasks []model.Task) []string {
	if n == nil || len(n.Subnets) == 0 {
		return nil
	}
	count := map[string]int{}
	for _, t := range tasks {
		if t.LastStatus != model.TaskStopped && t.DesiredStatus != model.TaskStopped && t.TaskNetwork != nil {
			count[t.TaskNetwork.Subnet.ID]++
		}
	}
	out := slices.Clone(n.Subnets)
	slices.SortStableFunc(out, func(a, b string) int { return count[a] - count[b] })
	return out
}

// LaunchToken is the client token of a service's seq-th launch in a deployment: the same
// launch retried after a crash reuses it, so it runs once.
func LaunchToken(svc model.Service, deployment string, seq int) string {
	sum := sha256.Sum256([]byte(svc.ARN() + "\x00" + deployment + "\x00" + strconv.Itoa(seq)))
	return "ecs-svc-" + hex.EncodeToString(sum[:24])
}

// NewDeploymentID returns a random deployment id: "ecs-svc/" and 19 digits.
func NewDeploymentID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return model.DeploymentID(binary.BigEndian.Uint64(b[:]))
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
