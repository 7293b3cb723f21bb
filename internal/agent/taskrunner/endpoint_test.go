package taskrunner_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/agent/taskrunner"
	"github.com/gantry-dev/gantry/internal/image"
	"github.com/gantry-dev/gantry/internal/model"
)

// slowEndpoint's Serve begins by closing began, then waits for release (if set) and returns
// err. It notes a Close that comes while a Serve is still under way: that Serve would then
// leave the task's listeners behind. A real endpoint serves until its Serve's context ends.
type slowEndpoint struct {
	began     chan struct{}
	beganOnce sync.Once
	release   chan struct{}
	err       error
	serving   atomic.Bool
	overtaken atomic.Bool

	mu     sync.Mutex
	served []taskrunner.EndpointTask
	ctxs   []context.Context // each Serve's
	closed []string
}

func newSlowEndpoint() *slowEndpoint { return &slowEndpoint{began: make(chan struct{})} }

func (e *slowEndpoint) Serve(ctx context.Context, t taskrunner.EndpointTask) error {
	e.serving.Store(true)
	defer e.serving.Store(false)
	e.beganOnce.Do(func() { close(e.began) })
	if e.release != nil {
		<-e.release
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.served = append(e.served, t)
	e.ctxs = append(e.ctxs, ctx)
	return e.err
}

func (e *slowEndpoint) Close(id string) {
	if e.serving.Load() {
		e.overtaken.Store(true)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = append(e.closed, id)
}

// endpointFirstRootfs prepares a root filesystem only once the endpoint's Serve has begun: a
// runner that served the endpoint after the filesystems would wait here in vain.
type endpointFirstRootfs struct{ ep *slowEndpoint }

func (r endpointFirstRootfs) Prepare(img image.Image, dir string, ro bool) (taskrunner.Root, error) {
	select {
	case <-r.ep.began:
		return taskrunner.FakeRootfs{}.Prepare(img, dir, ro)
	case <-time.After(2 * time.Second):
		return taskrunner.Root{}, errors.New("the endpoint is not being served beside the root filesystems")
	}
}

func (endpointFirstRootfs) Release(string) error { return nil }

func (h *harness) startServed(t *testing.T, a model.Assignment, ep *slowEndpoint) {
	t.Helper()
	h.ctl.Assign(a)
	r := taskrunner.New(taskrunner.Config{Assignment: a, Runtime: h.rt, Puller: h.puller, Reporter: h.ctl,
		Rootfs: endpointFirstRootfs{ep}, StateDir: filepath.Join(h.dir, a.Task.ID), TimeUnit: unit, Endpoint: ep, Network: h.net})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestEndpointServedBesideImages: with a namespace from the network, the task's endpoint is
// served while the images and root filesystems are made, with the credentials id its
// containers get; a failed serve fails the start; a stop never overtakes a serve under way.
func TestEndpointServedBesideImages(t *testing.T) {
	h := newHarness(t)
	h.net = gatedNetwork{rt: h.rt, puller: h.puller}
	a := assignment(app("app"))
	a.Definition.TaskRoleArn = "arn:aws:iam::000000000000:role/app"
	ep := newSlowEndpoint()
	h.startServed(t, a, ep)
	h.waitStatus(t, a.Task.ID, model.TaskRunning)
	ep.mu.Lock()
	served, ctxs := slices.Clone(ep.served), slices.Clone(ep.ctxs)
	ep.mu.Unlock()
	if len(served) != 1 || served[0].NetNSPath != gatedNetns || served[0].CredentialsID == "" {
		t.Fatalf("served %+v, want once in %s with a credentials id", served, gatedNetns)
	}
	if err := ctxs[0].Err(); err != nil {
		t.Errorf("the running task's endpoint was served under a context that ended: %v", err)
	}
	spec, err := h.rt.Spec(a.Task.ID, "app")
	if err != nil || !slices.Contains(spec.Env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/"+served[0].CredentialsID) {
		t.Errorf("container environment %v lacks the served credentials id %s", spec.Env, served[0].CredentialsID)
	}

	t.Run("serve fails", func(t *testing.T) {
		h := newHarness(t)
		h.net = gatedNetwork{rt: h.rt, puller: h.puller}
		ep := newSlowEndpoint()
		ep.err = errors.New("address in use")
		b := assignment(app("app"))
		h.startServed(t, b, ep)
		r := h.waitStatus(t, b.Task.ID, model.TaskStopped)
		if r.StopCode != model.StopTaskFailedToStart || !strings.Contains(r.StoppedReason, "task metadata endpoint: address in use") {
			t.Errorf("stop = %s %q", r.StopCode, r.StoppedReason)
		}
		if ids, _ := h.rt.ListTasks(t.Context()); len(ids) != 0 {
			t.Errorf("runtime tasks left: %v", ids)
		}
	})

	t.Run("start fails while serving", func(t *testing.T) {
		h := newHarness(t)
		h.net = gatedNetwork{rt: h.rt, puller: h.puller}
		ep := newSlowEndpoint()
		ep.release = make(chan struct{})
		b := assignment(model.ContainerDefinition{Name: "app", Image: "missing:1"})
		h.startServed(t, b, ep)
		<-ep.began
		time.AfterFunc(20*unit, func() { close(ep.release) })
		r := h.waitStatus(t, b.Task.ID, model.TaskStopped)
		if r.StopCode != model.StopTaskFailedToStart || !strings.Contains(r.StoppedReason, "CannotPullContainerError") {
			t.Errorf("stop = %s %q", r.StopCode, r.StoppedReason)
		}
		ep.mu.Lock()
		defer ep.mu.Unlock()
		if ep.overtaken.Load() || !slices.Contains(ep.closed, b.Task.ID) {
			t.Errorf("closed %v (while a serve was under way: %v), want closed after the serve", ep.closed, ep.overtaken.Load())
		}
	})
}
