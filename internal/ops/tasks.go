package ops

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/scheduler"
	"github.com/gantry-dev/gantry/internal/store"
)

// Stopped tasks stay in the store, describable and listable with desiredStatus STOPPED. ECS
// forgets them after about an hour; a reaper that does the same comes later.

// Task messages, worded as ECS words them.
var (
	errTaskNotFound       = apierr.New(apierr.InvalidParameter, "The referenced task was not found.")
	errTooManyLaunchTries = apierr.New(apierr.Client, "Too many concurrent attempts to place tasks. Try again.")
	errExecNeedsTaskRole  = apierr.New(apierr.InvalidParameter, "The execute command failed because a valid task role is not being used. Specify a valid task role in your task definition or as a task override and try again.")
)

// Limits and values of the task operations.
const (
	maxDescribeTasks     = 100
	maxLaunchAttempts    = 64
	defaultStopReason    = "Task stopped by user"
	failureMissing       = "MISSING"
	attachmentENI        = "ElasticNetworkInterface"
	attachmentPrecreated = "PRECREATED"
	platformFamilyLinux  = "Linux"
)

// placementConfig says how RunTask places tasks; the zero value is the default. It also holds
// the EC2 operations RunTask checks awsvpcConfiguration with (enis.go), made on first use.
type placementConfig struct {
	overcommit scheduler.Overcommit
	ec2Once    sync.Once
	ec2        *EC2
}

// SetPlacement sets how far RunTask may overcommit a host's cpu and memory (default
// scheduler.DefaultOvercommit). Call it before serving requests.
func (e *ECS) SetPlacement(oc scheduler.Overcommit) { e.placement.overcommit = oc }

func (e *ECS) overcommit() scheduler.Overcommit {
	if e.placement.overcommit == (scheduler.Overcommit{}) {
		return scheduler.DefaultOvercommit
	}
	return e.placement.overcommit
}

// RunTaskInput is RunTask's request. Placement constraints and strategies, referenceId,
// enableECSManagedTags and volumeConfigurations are not modelled: Fargate ignores the first two.
type RunTaskInput struct {
	Cluster                  string
	TaskDefinition           string
	Count                    *int // nil: 1
	LaunchType               string
	CapacityProviderStrategy []model.CapacityProviderStrategyItem
	Overrides                model.TaskOverride
	StartedBy                string
	Group                    string
	Tags                     []model.Tag
	PropagateTags            string
	ClientToken              string
	Network                  *model.AwsVpcConfiguration // nil: no networkConfiguration given
	EnableExecuteCommand     bool
	PlatformVersion          string
}

// TaskFailure is an entry of a task call's failures list.
type TaskFailure struct {
	ARN    string
	Reason string
	Detail string
}

// RunTask validates in as ECS does, places count tasks on hosts with free capacity, gives each
// an ENI in one of the awsvpcConfiguration's subnets (enis.go), and stores them with their
// hosts' new reservations, ENIs and address pools in one transaction. Tasks that fit nowhere
// are failures (RESOURCE:CPU, RESOURCE:MEMORY, AGENT when no host is up, RESOURCE:ENI when no
// subnet has a free address) while the others run.
// With a clientToken, a retry answers what the first call answered and runs nothing.
func (e *ECS) RunTask(ctx context.Context, sc model.Scope, in RunTaskInput) ([]model.Task, []TaskFailure, error) {
	if err := validateRunTask(in); err != nil {
		return nil, nil, err
	}
	cl, err := e.Cluster(ctx, sc, in.Cluster)
	if err != nil {
		return nil, nil, err
	}
	if err := validateStrategyFor(cl, in.CapacityProviderStrategy); err != nil {
		return nil, nil, err
	}
	fp := fingerprint(in)
	if in.ClientToken != "" {
		if ts, fs, ok, err := e.replay(ctx, sc, cl.Name, in.ClientToken, fp); ok || err != nil {
			return ts, fs, err
		}
	}
	td, err := e.TaskDefinition(ctx, sc, in.TaskDefinition)
	if err != nil {
		return nil, nil, err
	}
	if in.EnableExecuteCommand && td.TaskRoleArn == "" && in.Overrides.TaskRoleArn == "" {
		return nil, nil, errExecNeedsTaskRole
	}
	tasks, err := e.newTasks(ctx, cl, td, in)
	if err != nil {
		return nil, nil, err
	}
	var net *netRequest
	if in.Network != nil {
		req, err := e.checkAwsVpc(ctx, sc, *in.Network)
		if err != nil {
			return nil, nil, err
		}
		net = &req
	}
	for attempt := range maxLaunchAttempts {
		launch, failures, err := e.planLaunch(ctx, td, tasks, net)
		if err != nil {
			return nil, nil, err
		}
		if len(launch.Tasks) == 0 {
			// Nothing to write, so no compare on the token: look again, in case a concurrent
			// call with the same token ran meanwhile.
			if in.ClientToken != "" {
				if ts, fs, ok, err := e.replay(ctx, sc, cl.Name, in.ClientToken, fp); ok || err != nil {
					return ts, fs, err
				}
			}
			return []model.Task{}, failures, nil
		}
		if in.ClientToken != "" {
			launch.Token = &store.ClientToken{Scope: sc, Cluster: cl.Name, Token: in.ClientToken, Fingerprint: fp,
				TaskIDs: taskIDs(launch.Tasks), Failures: failuresToStore(failures), CreatedAt: e.now().UTC()}
		}
		_, err = e.store.Tasks().Launch(ctx, launch)
		if err == nil {
			return launch.Tasks, failures, nil
		}
		if !errors.Is(err, apierr.Conflict) || ctx.Err() != nil {
			return nil, nil, fmt.Errorf("run task: %w", err)
		}
		if err := launchBackoff(ctx, attempt); err != nil {
			return nil, nil, err
		}
		if in.ClientToken != "" {
			if ts, fs, ok, err := e.replay(ctx, sc, cl.Name, in.ClientToken, fp); ok || err != nil {
				return ts, fs, err
			}
		}
	}
	return nil, nil, errTooManyLaunchTries
}

// newTasks checks in against the cluster and definition and returns the tasks to place, not yet
// placed.
func (e *ECS) newTasks(ctx context.Context, cl model.Cluster, td model.TaskDefinition, in RunTaskInput) ([]model.Task, error) {
	if td.Status != model.TaskDefinitionActive {
		return nil, apierr.New(apierr.Client, "TaskDefinition is inactive")
	}
	if !slices.Contains(td.Compatibilities, model.CompatibilityFargate) {
		return nil, apierr.New(apierr.Client, "Task definition does not support launch_type FARGATE.")
	}
	if td.NetworkMode == model.NetworkModeAwsvpc && in.Network == nil {
		return nil, errNetworkRequired
	}
	cpu, mem, err := validateOverridesFor(td, in.Overrides)
	if err != nil {
		return nil, err
	}
	tags := in.Tags
	if in.PropagateTags == propagateTaskDef {
		tdTags, err := e.store.TaskDefinitions().Tags(ctx, td.Scope, td.Family, td.Revision)
		if err != nil {
			return nil, err
		}
		if tags, err = tagsMerged(tdTags, in.Tags); err != nil {
			return nil, err
		}
	}
	count := 1
	if in.Count != nil {
		count = *in.Count
	}
	strategy := in.CapacityProviderStrategy
	if in.LaunchType == "" && len(strategy) == 0 {
		strategy = cl.DefaultCapacityProviderStrategy
	}
	providers := pickProviders(strategy, count)
	now := e.now().UTC()
	out := make([]model.Task, count)
	for i := range out {
		t := model.Task{
			Scope: cl.Scope, ID: newTaskID(), Cluster: cl.Name, TaskDefinitionARN: td.ARN(), Family: td.Family,
			Revision: td.Revision, LaunchType: model.CompatibilityFargate, CapacityProvider: providers[i],
			CPU: strconv.Itoa(cpu), Memory: strconv.Itoa(mem), Overrides: in.Overrides,
			EphemeralStorageGiB: model.EphemeralStorageFor(td, in.Overrides), StartedBy: in.StartedBy,
			Group: cmp.Or(in.Group, "family:"+td.Family), Tags: tags, ClientToken: in.ClientToken,
			EnableExecuteCommand: in.EnableExecuteCommand, Network: in.Network,
			DesiredStatus: model.TaskRunning, LastStatus: model.TaskProvisioning, HealthStatus: model.HealthUnknown,
			Times: model.TaskTimes{CreatedAt: now}, AvailabilityZone: cl.Scope.Region + "a",
			PlatformVersion: platformVersion14, PlatformFamily: platformFamilyLinux, Version: 1,
		}
		t.Containers = newContainers(td, in.Overrides)
		out[i] = t
	}
	return out, nil
}

func newContainers(td model.TaskDefinition, o model.TaskOverride) []model.Container {
	out := make([]model.Container, 0, len(td.ContainerDefinitions))
	for _, d := range td.ContainerDefinitions {
		var ov *model.ContainerOverride
		if i := slices.IndexFunc(o.ContainerOverrides, func(c model.ContainerOverride) bool { return c.Name == d.Name }); i >= 0 {
			ov = &o.ContainerOverrides[i]
		}
		cpu, mem, res := containerSize(d, ov)
		c := model.Container{Name: d.Name, ID: newUUID(), Image: d.Image, LastStatus: model.ContainerPending,
			CPU: cpu, Memory: mem, MemoryReservation: res, Essential: d.IsEssential()}
		if d.HealthCheck != nil {
			c.HealthStatus = model.HealthUnknown
		}
		out = append(out, c)
	}
	return out
}

// planLaunch reads the hosts, places tasks on them, gives the placed ones their ENIs when net
// is set, and returns the write that runs them and the failures of the others.
func (e *ECS) planLaunch(ctx context.Context, td model.TaskDefinition, tasks []model.Task, net *netRequest) (store.Launch, []TaskFailure, error) {
	hosts, err := e.store.Hosts().List(ctx)
	if err != nil {
		return store.Launch{}, nil, err
	}
	reqs := make([]scheduler.Request, len(tasks))
	for i, t := range tasks {
		cpu, mem := store.TaskSize(t)
		reqs[i] = scheduler.Request{TaskID: t.ID, Need: scheduler.Resources{CPU: cpu, Memory: mem}}
	}
	plan := scheduler.Place(schedulerHosts(hosts, e.now()), reqs, e.overcommit(), scheduler.BinPack)
	l, failures, err := applyPlan(plan, tasks, hosts, td)
	if err != nil || net == nil || len(l.Tasks) == 0 {
		return l, failures, err
	}
	netFailures, err := e.planNetwork(ctx, td.Scope, *net, &l, td.ARN())
	if err != nil {
		return store.Launch{}, nil, err
	}
	return l, append(failures, netFailures...), nil
}

// applyPlan turns a placement plan into the tasks to write, the hosts' new reservations and the
// failures.
func applyPlan(plan scheduler.Plan, tasks []model.Task, hosts []store.Versioned[model.Host], td model.TaskDefinition) (store.Launch, []TaskFailure, error) {
	byID := make(map[string]model.Task, len(tasks))
	for _, t := range tasks {
		byID[t.ID] = t
	}
	hostIdx := make(map[string]int, len(hosts))
	for i, h := range hosts {
		hostIdx[h.Value.ID] = i
	}
	var l store.Launch
	touched := map[string]*store.Versioned[model.Host]{}
	for _, p := range plan.Placements {
		t := byID[p.TaskID]
		t.HostID = p.HostID
		l.Tasks = append(l.Tasks, t)
		h := touched[p.HostID]
		if h == nil {
			cp := hosts[hostIdx[p.HostID]]
			h = &cp
			touched[p.HostID] = h
		}
		cpu, mem := store.TaskSize(t)
		h.Value.ReservedCPU += cpu
		h.Value.ReservedMemory += mem
	}
	for _, h := range touched {
		l.Hosts = append(l.Hosts, *h)
	}
	slices.SortFunc(l.Hosts, func(a, b store.Versioned[model.Host]) int { return cmp.Compare(a.Value.ID, b.Value.ID) })
	failures := []TaskFailure{}
	for _, f := range plan.Failures {
		failures = append(failures, TaskFailure{ARN: td.ARN(), Reason: f.Reason})
	}
	return l, failures, nil
}

// replay answers a RunTask whose clientToken was used before: the same tasks and failures when
// the parameters match, an error when they differ. ok is false when the token is unused.
func (e *ECS) replay(ctx context.Context, sc model.Scope, cluster, token, fp string) ([]model.Task, []TaskFailure, bool, error) {
	tok, err := e.store.Tasks().Token(ctx, sc, cluster, token)
	if errors.Is(err, apierr.NotFound) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, err
	}
	arns := make([]string, len(tok.TaskIDs))
	for i, id := range tok.TaskIDs {
		arns[i] = model.TaskARN(sc, cluster, id)
	}
	if tok.Fingerprint != fp {
		return nil, nil, true, apierr.Errorf(apierr.TokenReused,
			"The clientToken %q is already used with different parameters by a RunTask request that started: %s. Retry with the original parameters or use a new clientToken.",
			token, strings.Join(arns, ", "))
	}
	tasks := make([]model.Task, 0, len(tok.TaskIDs))
	for _, id := range tok.TaskIDs {
		v, err := e.store.Tasks().Get(ctx, sc, cluster, id)
		if errors.Is(err, apierr.NotFound) {
			continue // reaped since
		}
		if err != nil {
			return nil, nil, true, err
		}
		tasks = append(tasks, v.Value)
	}
	failures := []TaskFailure{}
	for _, f := range tok.Failures {
		failures = append(failures, TaskFailure(f))
	}
	return tasks, failures, true, nil
}

// fingerprint identifies a RunTask request's parameters, all but the token itself.
func fingerprint(in RunTaskInput) string {
	in.ClientToken = ""
	if in.Count == nil {
		in.Count = new(1)
	}
	raw, err := json.Marshal(in)
	if err != nil {
		panic(fmt.Sprintf("fingerprint run task input: %v", err)) // plain data always encodes
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// pickProviders chooses each task's capacity provider from a strategy: bases first, then by
// weight (the provider furthest below its share next). No strategy leaves them all blank.
func pickProviders(strategy []model.CapacityProviderStrategyItem, count int) []string {
	out := make([]string, count)
	if len(strategy) == 0 {
		return out
	}
	given := make([]int, len(strategy))
	i := 0
	for j, it := range strategy {
		for ; i < count && given[j] < int(it.Base); i++ {
			out[i] = it.CapacityProvider
			given[j]++
		}
	}
	for ; i < count; i++ {
		best := -1
		for j, it := range strategy {
			if it.Weight <= 0 {
				continue
			}
			// given[j]/weight[j] smallest, compared without division.
			if best < 0 || given[j]*int(strategy[best].Weight) < given[best]*int(it.Weight) {
				best = j
			}
		}
		if best < 0 {
			best = 0
		}
		out[i] = strategy[best].CapacityProvider
		given[best]++
	}
	return out
}

func taskIDs(tasks []model.Task) []string {
	out := make([]string, len(tasks))
	for i, t := range tasks {
		out[i] = t.ID
	}
	return out
}

func failuresToStore(in []TaskFailure) []store.LaunchFailure {
	out := make([]store.LaunchFailure, len(in))
	for i, f := range in {
		out[i] = store.LaunchFailure(f)
	}
	return out
}

// launchBackoff sleeps a random time growing with attempt (up to 20 ms), so RunTask calls that
// collided on a host spread out instead of colliding again.
func launchBackoff(ctx context.Context, attempt int) error {
	t := time.NewTimer(mathrand.N(time.Duration(min(attempt+1, 20)) * time.Millisecond))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// newTaskID is 32 random lowercase hex characters, as ECS task ids are.
func newTaskID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand panics instead
	return hex.EncodeToString(b[:])
}

// newUUID is a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// StopTask asks for a task to stop: desiredStatus STOPPED, stopCode UserInitiated, the reason
// given (ECS's default otherwise) and stoppingAt. The agent stops it and reports STOPPED. A task
// whose host is gone has no agent to do that, so it is STOPPED at once and its reservation freed.
// Stopping a stopping or stopped task changes nothing.
func (e *ECS) StopTask(ctx context.Context, sc model.Scope, clusterRef, taskRef, reason string) (model.Task, error) {
	if taskRef == "" {
		return model.Task{}, apierr.New(apierr.InvalidParameter, "task can not be blank.")
	}
	if n := len([]rune(reason)); n > maxStopReasonLen {
		return model.Task{}, apierr.Errorf(apierr.InvalidParameter, "reason can have up to %d characters; %d were given.", maxStopReasonLen, n)
	}
	cl, err := e.Cluster(ctx, sc, clusterRef)
	if err != nil {
		return model.Task{}, err
	}
	id, ok := parseTaskRef(sc, cl.Name, taskRef)
	if !ok {
		return model.Task{}, errTaskNotFound
	}
	cur, err := e.store.Tasks().Get(ctx, sc, cl.Name, id)
	if errors.Is(err, apierr.NotFound) {
		return model.Task{}, errTaskNotFound
	}
	if err != nil {
		return model.Task{}, err
	}
	orphan, err := e.hostGone(ctx, cur.Value.HostID)
	if err != nil {
		return model.Task{}, err
	}
	now := e.now().UTC()
	v, err := e.store.Tasks().Mutate(ctx, sc, cl.Name, id, func(t *model.Task) error {
		if t.DesiredStatus == model.TaskStopped {
			return nil
		}
		t.DesiredStatus = model.TaskStopped
		t.StopCode = cmp.Or(t.StopCode, model.StopUserInitiated)
		t.StoppedReason = cmp.Or(t.StoppedReason, reason, defaultStopReason)
		if t.Times.StoppingAt.IsZero() {
			t.Times.StoppingAt = now
		}
		if orphan && t.LastStatus != model.TaskStopped {
			t.LastStatus = model.TaskStopped
			t.Times.StoppedAt = now
			t.Times.ExecutionStoppedAt = cmp.Or(t.Times.ExecutionStoppedAt, now)
		}
		t.Version++
		return nil
	})
	if errors.Is(err, apierr.NotFound) {
		return model.Task{}, errTaskNotFound
	}
	return v.Value, err
}

// hostGone reports whether a task's host has no live agent: the host record is missing or its
// heartbeat is older than hostTTL.
func (e *ECS) hostGone(ctx context.Context, hostID string) (bool, error) {
	if hostID == "" {
		return true, nil
	}
	h, err := e.store.Hosts().Get(ctx, hostID)
	if errors.Is(err, apierr.NotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return !hostLive(h.Value, e.now()), nil
}

// parseTaskRef resolves a task id or ARN (new format task/<cluster>/<id>, or the old
// task/<id>) in cluster. ok is false when it cannot name a task of that cluster.
func parseTaskRef(sc model.Scope, cluster, ref string) (id string, ok bool) {
	if strings.HasPrefix(ref, "arn:") {
		r, err := parseECSResourceARN(ref)
		if err != nil || r.Type != "task" || r.Scope != sc {
			return "", false
		}
		ref = r.ID
		if c, rest, found := strings.Cut(ref, "/"); found {
			if c != cluster {
				return "", false
			}
			ref = rest
		}
	}
	return ref, ref != "" && !strings.Contains(ref, "/")
}

// DescribeTasks returns the tasks refs name in a cluster, and a MISSING failure for each that
// does not exist. Tags are shown only withTags, as ECS shows them only when asked.
func (e *ECS) DescribeTasks(ctx context.Context, sc model.Scope, clusterRef string, refs []string, withTags bool) ([]model.Task, []TaskFailure, error) {
	if len(refs) == 0 {
		return nil, nil, apierr.New(apierr.InvalidParameter, "Tasks cannot be empty.")
	}
	if len(refs) > maxDescribeTasks {
		return nil, nil, apierr.Errorf(apierr.InvalidParameter, "Too many tasks were given: %d. DescribeTasks takes at most %d.", len(refs), maxDescribeTasks)
	}
	cl, err := e.Cluster(ctx, sc, clusterRef)
	if err != nil {
		return nil, nil, err
	}
	tasks, failures := []model.Task{}, []TaskFailure{}
	var ids []string
	seen := map[string]bool{}
	for _, ref := range refs {
		id, ok := parseTaskRef(sc, cl.Name, ref)
		if !ok {
			failures = append(failures, TaskFailure{ARN: ref, Reason: failureMissing})
			continue
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	got, err := e.store.Tasks().GetMany(ctx, sc, cl.Name, ids)
	if err != nil {
		return nil, nil, err
	}
	for i, v := range got {
		if v == nil {
			failures = append(failures, TaskFailure{ARN: model.TaskARN(sc, cl.Name, ids[i]), Reason: failureMissing})
			continue
		}
		if !withTags {
			v.Value.Tags = nil
		}
		tasks = append(tasks, v.Value)
	}
	return tasks, failures, nil
}

// ListTasksInput is ListTasks' request. containerInstance matches nothing: Fargate tasks have
// none.
type ListTasksInput struct {
	Cluster           string
	ContainerInstance string
	Family            string
	StartedBy         string
	ServiceName       string
	DesiredStatus     string // RUNNING (default), PENDING or STOPPED
	LaunchType        string
	NextToken         string
	MaxResults        *int
}

// ListTasks returns the ARNs of a cluster's tasks that match in, a page at a time.
func (e *ECS) ListTasks(ctx context.Context, sc model.Scope, in ListTasksInput) ([]string, string, error) {
	match, err := taskFilter(in)
	if err != nil {
		return nil, "", err
	}
	limit := maxListResults
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > maxListResults {
			return nil, "", apierr.Errorf(apierr.InvalidParameter, "maxResults must be between 1 and %d.", maxListResults)
		}
		limit = *in.MaxResults
	}
	after, err := decodeNameToken(in.NextToken)
	if err != nil {
		return nil, "", err
	}
	cl, err := e.Cluster(ctx, sc, in.Cluster)
	if err != nil {
		return nil, "", err
	}
	if in.ServiceName != "" {
		// ECS answers ServiceNotFoundException for a service the cluster never had; a deleted
		// (INACTIVE) one still lists its tasks. An ARN names the service as well as its name.
		svc, err := e.service(ctx, sc, cl, in.ServiceName)
		if err != nil {
			return nil, "", err
		}
		in.ServiceName = svc.Value.Name
		if match, err = taskFilter(in); err != nil {
			return nil, "", err
		}
	}
	arns := []string{}
	for {
		page, err := e.store.Tasks().List(ctx, sc, cl.Name, after, maxListResults)
		if err != nil {
			return nil, "", err
		}
		for i, it := range page.Items {
			after = it.Value.ID
			if !match(it.Value) {
				continue
			}
			arns = append(arns, it.Value.ARN())
			if len(arns) == limit {
				if i < len(page.Items)-1 || page.More {
					return arns, encodeNameToken(after), nil
				}
				return arns, "", nil
			}
		}
		if !page.More || len(page.Items) == 0 {
			return arns, "", nil
		}
	}
}

// taskFilter checks ListTasks' filters and returns the predicate they make. ECS refuses
// startedBy with any filter but desiredStatus, and serviceName with family or
// containerInstance, with these messages.
func taskFilter(in ListTasksInput) (func(model.Task) bool, error) {
	if in.StartedBy != "" && (in.Family != "" || in.ServiceName != "" || in.LaunchType != "" || in.ContainerInstance != "") {
		return nil, apierr.New(apierr.InvalidParameter, "cannot specify startedBy with other arguments")
	}
	if in.ServiceName != "" && (in.Family != "" || in.ContainerInstance != "") {
		return nil, apierr.New(apierr.InvalidParameter, "cannot specify serviceName with other arguments")
	}
	desired := model.TaskStatus(cmp.Or(in.DesiredStatus, string(model.TaskRunning)))
	switch desired {
	case model.TaskRunning, model.TaskPending, model.TaskStopped:
	default:
		return nil, apierr.Errorf(apierr.InvalidParameter, "desiredStatus %q is not valid. Valid values are: RUNNING, PENDING, STOPPED.", in.DesiredStatus)
	}
	switch in.LaunchType {
	case "", model.CompatibilityFargate, model.CompatibilityEC2, model.CompatibilityExternal, "MANAGED_INSTANCES":
	default:
		return nil, apierr.Errorf(apierr.InvalidParameter, "launchType %q is not valid. Valid values are: EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES.", in.LaunchType)
	}
	return func(t model.Task) bool {
		return t.DesiredStatus == desired && in.ContainerInstance == "" &&
			(in.Family == "" || t.Family == in.Family) &&
			(in.StartedBy == "" || t.StartedBy == in.StartedBy) &&
			(in.ServiceName == "" || t.Group == "service:"+in.ServiceName) &&
			(in.LaunchType == "" || t.LaunchType == in.LaunchType)
	}, nil
}

// countTasks counts a cluster's tasks that hold it: those not yet RUNNING are pending, those
// RUNNING or on their way down (but not STOPPED) are running. Every task is a Fargate task.
func (e *ECS) countTasks(ctx context.Context, sc model.Scope, name string) (model.ClusterCounts, error) {
	var n model.ClusterCounts
	after := ""
	for {
		page, err := e.store.Tasks().List(ctx, sc, name, after, 500)
		if err != nil {
			return n, err
		}
		for _, it := range page.Items {
			switch s := it.Value.LastStatus; {
			case s == model.TaskStopped:
			case model.TaskRunning.CanMoveTo(s):
				n.RunningFargateTasks++
			default:
				n.PendingFargateTasks++
			}
			after = it.Value.ID
		}
		if !page.More || len(page.Items) == 0 {
			return n, nil
		}
	}
}
