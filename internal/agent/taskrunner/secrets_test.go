package taskrunner_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/agent/taskrunner"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/runtime"
)

// fakeSecrets answers valueFroms from a map, recording the role each was read as.
type fakeSecrets struct {
	mu     sync.Mutex
	values map[string]string
	roles  []string
}

func (f *fakeSecrets) ResolveSecret(_ context.Context, _ model.Scope, role, valueFrom string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roles = append(f.roles, role)
	v, ok := f.values[valueFrom]
	if !ok {
		return "", errors.New("ResourceNotFoundException: Secrets Manager can't find the specified secret.")
	}
	return v, nil
}

// fakeEndpoint records what it was asked to serve.
type fakeEndpoint struct {
	mu     sync.Mutex
	served []taskrunner.EndpointTask
	closed []string
}

func (f *fakeEndpoint) Serve(_ context.Context, t taskrunner.EndpointTask) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.served = append(f.served, t)
	return nil
}

func (f *fakeEndpoint) Close(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = append(f.closed, id)
}

const dbARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf"

func (h *harness) startWith(t *testing.T, a model.Assignment, sec taskrunner.SecretResolver, ep taskrunner.Endpoint) *taskrunner.Runner {
	t.Helper()
	h.ctl.Assign(a)
	r := taskrunner.New(taskrunner.Config{Assignment: a, Runtime: h.rt, Puller: h.puller, Reporter: h.ctl,
		Rootfs: taskrunner.FakeRootfs{}, StateDir: filepath.Join(h.dir, a.Task.ID), TimeUnit: unit, Secrets: sec, Endpoint: ep})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// TestSecretsInjected: secrets reach the container's environment, read as the execution role,
// and never the runner's record on disk; a task role gets a credentials URI the endpoint serves.
func TestSecretsInjected(t *testing.T) {
	h := newHarness(t)
	var mu sync.Mutex
	var env []string
	h.rt.StartHook = func(_ string, spec runtime.ContainerSpec) error {
		mu.Lock()
		defer mu.Unlock()
		env = spec.Env
		return nil
	}
	d := app("app")
	d.Secrets = []model.Secret{{Name: "DB_PASSWORD", ValueFrom: dbARN + ":password::"}, {Name: "API_KEY", ValueFrom: "/prod/api-key"}}
	a := assignment(d)
	a.Definition.ExecutionRoleArn = "arn:aws:iam::000000000000:role/exec"
	a.Definition.TaskRoleArn = "arn:aws:iam::000000000000:role/app"
	sec := &fakeSecrets{values: map[string]string{dbARN + ":password::": "hunter2-value", "/prod/api-key": "k3y-value"}}
	ep := &fakeEndpoint{}
	h.startWith(t, a, sec, ep)
	h.waitStatus(t, a.Task.ID, model.TaskRunning)

	mu.Lock()
	got := slices.Clone(env)
	mu.Unlock()
	for _, w := range []string{"DB_PASSWORD=hunter2-value", "API_KEY=k3y-value", "AWS_ENDPOINT_URL=http://169.254.170.2:4566"} {
		if !slices.Contains(got, w) {
			t.Errorf("env %q lacks %q", got, w)
		}
	}
	if slices.ContainsFunc(sec.roles, func(r string) bool { return r != a.Definition.ExecutionRoleArn }) {
		t.Errorf("secrets read as %q, want the execution role", sec.roles)
	}
	ep.mu.Lock()
	served := slices.Clone(ep.served)
	ep.mu.Unlock()
	if len(served) != 1 || len(served[0].CredentialsID) != 32 || served[0].TaskRoleARN != a.Definition.TaskRoleArn {
		t.Fatalf("endpoint served %+v", served)
	}
	if !slices.Contains(got, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/"+served[0].CredentialsID) {
		t.Errorf("env %q lacks the credentials URI of id %s", got, served[0].CredentialsID)
	}
	if st := served[0].State(); st.Report.LastStatus != model.TaskRunning || st.DesiredStatus != model.TaskRunning {
		t.Errorf("endpoint state = %+v", st)
	}
	b, err := os.ReadFile(filepath.Join(h.dir, a.Task.ID, "runner.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"hunter2-value", "k3y-value"} {
		if strings.Contains(string(b), v) {
			t.Errorf("the runner's record holds a secret value: %s", b)
		}
	}
}

// TestSecretMissing: a secret that cannot be read stops the task before any pull, with
// Fargate's reason naming the secret's ARN (without its json-key suffix).
func TestSecretMissing(t *testing.T) {
	h := newHarness(t)
	d := app("app")
	d.Secrets = []model.Secret{{Name: "DB", ValueFrom: dbARN + ":password:AWSCURRENT:"}}
	a := assignment(d)
	h.startWith(t, a, &fakeSecrets{}, nil)
	r := h.waitStatus(t, a.Task.ID, model.TaskStopped)
	want := "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: " +
		"unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret " + dbARN +
		" from secrets manager: ResourceNotFoundException"
	if r.StopCode != model.StopTaskFailedToStart || !strings.HasPrefix(r.StoppedReason, want) {
		t.Errorf("stop = %s %q, want %s %q...", r.StopCode, r.StoppedReason, model.StopTaskFailedToStart, want)
	}
	if len(h.startOrder()) != 0 {
		t.Errorf("containers started: %v", h.startOrder())
	}
}

// TestSecretOptionsMissingParameter: logConfiguration.secretOptions are read too, and an SSM
// failure says so.
func TestSecretOptionsMissingParameter(t *testing.T) {
	h := newHarness(t)
	d := app("app")
	d.LogConfiguration = &model.LogConfiguration{LogDriver: "awslogs", Options: map[string]string{"awslogs-group": "g"},
		SecretOptions: []model.Secret{{Name: "token", ValueFrom: "/missing/param"}}}
	a := assignment(d)
	h.startWith(t, a, &fakeSecrets{}, nil)
	r := h.waitStatus(t, a.Task.ID, model.TaskStopped)
	if r.StopCode != model.StopTaskFailedToStart || !strings.Contains(r.StoppedReason, "unable to retrieve secrets from ssm") ||
		!strings.Contains(r.StoppedReason, "/missing/param") {
		t.Errorf("stop = %s %q", r.StopCode, r.StoppedReason)
	}
}

// TestSecretsWithoutResolver: an agent without secret access fails tasks that have secrets.
func TestSecretsWithoutResolver(t *testing.T) {
	h := newHarness(t)
	d := app("app")
	d.Secrets = []model.Secret{{Name: "DB", ValueFrom: "/p"}}
	a := assignment(d)
	h.startWith(t, a, nil, nil)
	r := h.waitStatus(t, a.Task.ID, model.TaskStopped)
	if r.StopCode != model.StopTaskFailedToStart || !strings.Contains(r.StoppedReason, "/p") {
		t.Errorf("stop = %s %q", r.StopCode, r.StoppedReason)
	}
}

// TestEndpointServedAgainOnAdopt: an adopted task is served again, with the credentials id
// its containers already have; a stopped task's endpoint is closed.
func TestEndpointServedAgainOnAdopt(t *testing.T) {
	h := newHarness(t)
	a := assignment(app("app"))
	a.Definition.TaskRoleArn = "arn:aws:iam::000000000000:role/app"
	ep := &fakeEndpoint{}
	newRunner := func(adopt bool) (*taskrunner.Runner, context.CancelFunc, chan error) {
		r := taskrunner.New(taskrunner.Config{Assignment: a, Runtime: h.rt, Puller: h.puller, Reporter: h.ctl,
			Rootfs: taskrunner.FakeRootfs{}, StateDir: filepath.Join(h.dir, a.Task.ID), TimeUnit: unit, Endpoint: ep, Adopt: adopt})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		return r, cancel, done
	}
	h.ctl.Assign(a)
	_, cancel, done := newRunner(false)
	h.waitStatus(t, a.Task.ID, model.TaskRunning)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r2, cancel2, done2 := newRunner(true)
	defer func() { cancel2(); <-done2 }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ep.mu.Lock()
		n := len(ep.served)
		ep.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("endpoint served %d times, want 2 (start, adopt)", n)
		}
		time.Sleep(unit)
	}
	ep.mu.Lock()
	first, second := ep.served[0], ep.served[1]
	ep.mu.Unlock()
	if first.CredentialsID == "" || first.CredentialsID != second.CredentialsID {
		t.Errorf("credentials id %q, then %q after adoption", first.CredentialsID, second.CredentialsID)
	}
	stopped := a
	stopped.Task.DesiredStatus = model.TaskStopped
	r2.Update(stopped)
	h.waitStatus(t, a.Task.ID, model.TaskStopped)
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if !slices.Contains(ep.closed, a.Task.ID) {
		t.Errorf("endpoint of the stopped task not closed: %v", ep.closed)
	}
}
