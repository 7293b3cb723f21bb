package agent_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/agent"
	"github.com/gantry-dev/gantry/internal/agent/taskrunner"
	"github.com/gantry-dev/gantry/internal/image"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/runtime"
)

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// fakeHost is an agent over fakes; run starts it and returns a function that stops it.
type fakeHost struct {
	ctl    *agent.FakeControl
	rt     *runtime.Fake
	puller *image.FakePuller
	dir    string
	runDir string // the agent's RunDir; "" for its default
}

func newFakeHost(t *testing.T) *fakeHost {
	h := &fakeHost{ctl: agent.NewFakeControl(), rt: runtime.NewFake(), puller: &image.FakePuller{}, dir: t.TempDir()}
	h.puller.Add("127.0.0.1:4566/app:1", image.Image{Digest: "sha256:aaaa", Config: image.Config{Entrypoint: []string{"/app"}}})
	return h
}

func (h *fakeHost) run(t *testing.T) (*agent.Agent, func()) {
	t.Helper()
	a := agent.New(agent.Config{Control: h.ctl, Runtime: h.rt, RuntimeName: "fake", Puller: h.puller,
		Rootfs: taskrunner.FakeRootfs{}, StateDir: h.dir, RunDir: h.runDir, CPU: 4096, MemoryMiB: 8192,
		LocalRegistryHost: "127.0.0.1:4566", HeartbeatInterval: 20 * time.Millisecond,
		OrphanGrace: 100 * time.Millisecond, TimeUnit: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var stopped bool
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent run: %v", err)
		}
	}
	t.Cleanup(stop)
	return a, stop
}

func (h *fakeHost) hostID(t *testing.T) string {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if ids := h.ctl.Hosts(); len(ids) > 0 {
			return ids[0]
		}
	}
	t.Fatal("host never registered")
	return ""
}

func assignmentOn(host string) model.Assignment {
	t := model.Task{Scope: model.Scope{Account: model.DefaultAccount, Region: "us-east-1"}, ID: newID(), Cluster: "default",
		CPU: "512", Memory: "1024", DesiredStatus: model.TaskRunning, LastStatus: model.TaskProvisioning, HostID: host}
	return model.Assignment{Task: t, Definition: model.TaskDefinition{Family: "fam", Revision: 1,
		ContainerDefinitions: []model.ContainerDefinition{{Name: "app", Image: "000000000000.dkr.ecr.us-east-1.amazonaws.com/app:1"}}}}
}

func waitStatus(t *testing.T, ctl *agent.FakeControl, id string, s model.TaskStatus) model.TaskReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	r, err := ctl.WaitStatus(ctx, id, s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAgentRunsAndStopsTasks(t *testing.T) {
	h := newFakeHost(t)
	a, _ := h.run(t)
	host := h.hostID(t)
	hs, _, _ := h.ctl.Host(host)
	if hs.CapacityCPU != 4096-256 || hs.CapacityMemory != 8192-512 || hs.Runtime != "fake" || hs.Status != model.HostActive {
		t.Errorf("host = %+v", hs)
	}
	as := assignmentOn(host)
	h.ctl.Assign(as)
	waitStatus(t, h.ctl, as.Task.ID, model.TaskRunning)
	if u := a.Usage(); u.ReservedCPU != 512 || u.ReservedMemory != 1024 || u.Tasks != 1 || u.CapacityCPU != 3840 {
		t.Errorf("usage = %+v", u)
	}
	if pulls := h.puller.Pulls(); len(pulls) != 1 || !strings.HasPrefix(pulls[0], "127.0.0.1:4566/") {
		t.Errorf("pulls = %v (ECR reference not resolved to the local registry)", pulls)
	}
	h.ctl.StopTask(as.Task.ID, model.StopUserInitiated, "by test")
	waitStatus(t, h.ctl, as.Task.ID, model.TaskStopped)
	for deadline := time.Now().Add(2 * time.Second); a.Usage().Tasks != 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if u := a.Usage(); u.Tasks != 0 || u.ReservedCPU != 0 {
		t.Errorf("usage after stop = %+v", u)
	}
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, n, _ := h.ctl.Host(host); n >= 2 {
			return
		}
	}
	t.Error("no heartbeats")
}

func TestAgentHostIDPersists(t *testing.T) {
	h := newFakeHost(t)
	_, stop := h.run(t)
	first := h.hostID(t)
	stop()
	b, err := os.ReadFile(filepath.Join(h.dir, "host-id"))
	if err != nil || strings.TrimSpace(string(b)) != first {
		t.Fatalf("host-id file = %q, %v", b, err)
	}
	h.ctl = agent.NewFakeControl()
	h.run(t)
	if second := h.hostID(t); second != first {
		t.Errorf("host id changed across restarts: %s -> %s", first, second)
	}
}

func TestAgentReadoptsAndCleansUp(t *testing.T) {
	h := newFakeHost(t)
	_, stop := h.run(t)
	host := h.hostID(t)
	kept, gone := assignmentOn(host), assignmentOn(host)
	h.ctl.Assign(kept)
	h.ctl.Assign(gone)
	waitStatus(t, h.ctl, kept.Task.ID, model.TaskRunning)
	waitStatus(t, h.ctl, gone.Task.ID, model.TaskRunning)
	stop()

	// While the agent is down: one task's container exits, another task is forgotten by the
	// control plane, and a stray sandbox appears.
	_ = h.rt.Exit(gone.Task.ID, "app", 4)
	ctl := agent.NewFakeControl()
	k := kept
	k.Task.LastStatus = model.TaskRunning
	ctl.Assign(k)
	g := gone
	g.Task.LastStatus = model.TaskRunning
	ctl.Assign(g)
	stray := newID()
	if err := h.rt.CreateTask(t.Context(), runtime.TaskSpec{ID: stray}); err != nil {
		t.Fatal(err)
	}
	h.ctl = ctl
	h.run(t)
	r := waitStatus(t, ctl, gone.Task.ID, model.TaskStopped)
	if r.StopCode != model.StopEssentialContainerExited || *r.Containers[0].ExitCode != 4 {
		t.Errorf("task that exited while down: %+v", r)
	}
	waitStatus(t, ctl, kept.Task.ID, model.TaskRunning)
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		ids, _ := h.rt.ListTasks(t.Context())
		if len(ids) == 1 && ids[0] == kept.Task.ID {
			return
		}
	}
	ids, _ := h.rt.ListTasks(t.Context())
	t.Errorf("runtime tasks = %v, want only %s", ids, kept.Task.ID)
}

// TestAgentFindsTaskDirsWhereTheyAre: a task whose directory a server configured otherwise left
// in the other place (here under RunDir, while this agent, without ephemeral storage, keeps new
// ones on disk) is adopted from there, not lost; new tasks go where this agent keeps them.
func TestAgentFindsTaskDirsWhereTheyAre(t *testing.T) {
	h := newFakeHost(t)
	h.runDir = filepath.Join(h.dir, "run")
	_, stop := h.run(t)
	host := h.hostID(t)
	as := assignmentOn(host)
	h.ctl.Assign(as)
	waitStatus(t, h.ctl, as.Task.ID, model.TaskRunning)
	onDisk, inRun := filepath.Join(h.dir, "tasks", as.Task.ID), filepath.Join(h.runDir, "tasks", as.Task.ID)
	if _, err := os.Stat(filepath.Join(onDisk, "runner.json")); err != nil {
		t.Fatalf("without ephemeral storage the task's record is not under the state dir: %v", err)
	}
	stop()

	if err := os.MkdirAll(filepath.Dir(inRun), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(onDisk, inRun); err != nil {
		t.Fatal(err)
	}
	h.ctl = agent.NewFakeControl()
	running := as
	running.Task.LastStatus = model.TaskRunning
	h.ctl.Assign(running)
	h.run(t)
	if r := waitStatus(t, h.ctl, as.Task.ID, model.TaskRunning); r.StopCode != "" {
		t.Fatalf("adopted task reported %+v", r)
	}
	if _, err := os.Stat(onDisk); err == nil {
		t.Fatalf("the adopted task got a second directory %s", onDisk)
	}
	h.ctl.StopTask(as.Task.ID, model.StopUserInitiated, "by test")
	if r := waitStatus(t, h.ctl, as.Task.ID, model.TaskStopped); r.StopCode != "" || r.StoppedReason != "" {
		t.Fatalf("stopped task reported %+v, want it stopped as asked, not lost", r)
	}
	eventually(t, "the task's directory removed where it was", func() bool {
		_, err := os.Stat(inRun)
		return errors.Is(err, os.ErrNotExist)
	})
}

// TestAgentStartsTaskWhoseFirstSaveWasCut: a directory without a runner's record (an agent
// killed between making a task's directory and writing its first record, before anything of
// the task was made) does not make its task lost: the task starts. An unclaimed one is removed.
func TestAgentStartsTaskWhoseFirstSaveWasCut(t *testing.T) {
	h := newFakeHost(t)
	h.runDir = h.dir // both task roots in one place
	_, stop := h.run(t)
	host := h.hostID(t)
	stop()

	as, unclaimed := assignmentOn(host), newID()
	for _, id := range []string{as.Task.ID, unclaimed} {
		if err := os.MkdirAll(filepath.Join(h.dir, "tasks", id), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	h.ctl = agent.NewFakeControl()
	h.ctl.Assign(as)
	h.run(t)
	if r := waitStatus(t, h.ctl, as.Task.ID, model.TaskRunning); r.StopCode != "" {
		t.Fatalf("task reported %+v", r)
	}
	eventually(t, "the unclaimed directory removed", func() bool {
		_, err := os.Stat(filepath.Join(h.dir, "tasks", unclaimed))
		return errors.Is(err, os.ErrNotExist)
	})
}
