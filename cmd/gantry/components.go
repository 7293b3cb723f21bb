package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/gantry-dev/gantry/internal/agent"
	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/api/ecr"
	"github.com/gantry-dev/gantry/internal/api/ecs"
	"github.com/gantry-dev/gantry/internal/ecrbackend"
	"github.com/gantry-dev/gantry/internal/hostlink"
	"github.com/gantry-dev/gantry/internal/image"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/registry"
	"github.com/gantry-dev/gantry/internal/runtime"
	"github.com/gantry-dev/gantry/internal/scheduler"
	"github.com/gantry-dev/gantry/internal/store"
)

// hostFlags configure the local agent and what the scheduler may promise of its host.
type hostFlags struct {
	runtime          string
	cgroupParent     string
	initBinary       string
	cpuOvercommit    float64
	memoryOvercommit float64
	hostCPU          int64
	hostMemory       int64
	reserveCPU       int64
	reserveMemory    int64
}

func (h *hostFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&h.runtime, "runtime", "runc", "task sandbox: runc, or runsc for gVisor's per-task kernel")
	fs.StringVar(&h.cgroupParent, "cgroup-parent", "gantry", "cgroup under which every task's cgroup is made")
	fs.StringVar(&h.initBinary, "init-binary", "", "static gantry binary bind-mounted as a task's init (initProcessEnabled); default this binary")
	fs.Float64Var(&h.cpuOvercommit, "cpu-overcommit", scheduler.DefaultOvercommit.CPU, "how far task cpu reservations may exceed the host's cpu (each task keeps its own quota)")
	fs.Float64Var(&h.memoryOvercommit, "memory-overcommit", scheduler.DefaultOvercommit.Memory, "how far task memory reservations may exceed the host's memory (1: never)")
	fs.Int64Var(&h.hostCPU, "host-cpu", 0, "cpu units this host offers before the reserve (default: cores x 1024)")
	fs.Int64Var(&h.hostMemory, "host-memory", 0, "memory MiB this host offers before the reserve (default: all of it)")
	fs.Int64Var(&h.reserveCPU, "reserve-cpu", 256, "cpu units kept back for gantry and the system")
	fs.Int64Var(&h.reserveMemory, "reserve-memory", 512, "memory MiB kept back for gantry and the system")
}

// components are the parts of one server, built from flags; build has no side effects beyond
// creating directories, and run starts the background ones.
type components struct {
	front  *api.Server
	ecs    *ops.ECS
	agent  *agent.Agent
	images *image.Store
}

func buildComponents(f serverFlags, st *store.Store, endpoint string, logger *slog.Logger) (*components, error) {
	if f.host.cpuOvercommit < 1 || f.host.memoryOvercommit < 1 {
		return nil, fmt.Errorf("--cpu-overcommit and --memory-overcommit must be at least 1")
	}
	ecsOps := ops.NewECS(st, logger)
	ecsOps.SetPlacement(scheduler.Overcommit{CPU: f.host.cpuOvercommit, Memory: f.host.memoryOvercommit})
	reg := registry.New(filepath.Join(f.dataDir, "registry"), registry.Options{Logger: logger})
	front := api.New(logger, ecs.Service(ecsOps), ecr.Service(ops.NewECR(ecrbackend.New(reg), endpoint)))
	front.Handle("/v2/", reg)

	rt, err := newRuntime(f, logger)
	if err != nil {
		return nil, err
	}
	images := image.New(filepath.Join(f.dataDir, "images"), image.Options{Logger: logger})
	ag := agent.New(agent.Config{
		Control:           hostlink.New(st, logger),
		Runtime:           rt,
		RuntimeName:       f.host.runtime,
		Puller:            images,
		StateDir:          filepath.Join(f.dataDir, "agent"),
		LocalRegistryHost: endpoint,
		CPU:               f.host.hostCPU,
		MemoryMiB:         f.host.hostMemory,
		ReserveCPU:        orNone(f.host.reserveCPU),
		ReserveMemoryMiB:  orNone(f.host.reserveMemory),
		Logger:            logger,
	})
	return &components{front: front, ecs: ecsOps, agent: ag, images: images}, nil
}

// orNone maps the flag's 0 ("keep nothing back") to the agent's "none" (negative).
func orNone(v int64) int64 {
	if v == 0 {
		return -1
	}
	return v
}

func newRuntime(f serverFlags, logger *slog.Logger) (*runtime.Runc, error) {
	cfg := runtime.Config{
		StateRoot:    filepath.Join(f.dataDir, "run"),
		CgroupParent: f.host.cgroupParent,
		InitPath:     f.host.initBinary,
		Logger:       logger,
	}
	switch f.host.runtime {
	case "runc":
		return runtime.NewRunc(cfg)
	case "runsc":
		return runtime.NewRunsc(cfg)
	}
	return nil, fmt.Errorf("--runtime %q: use runc or runsc", f.host.runtime)
}

// healthBody is what GET /_gantry/health answers once ready: the local host's capacity as the
// agent sees it, and every host as the scheduler sees it.
func (c *components) healthBody(ctx context.Context) ([]byte, error) {
	hosts, err := c.ecs.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		Status string             `json:"status"`
		Agent  agent.Usage        `json:"agent"`
		Hosts  []ops.HostCapacity `json:"hosts"`
	}{"ok", c.agent.Usage(), hosts})
}
