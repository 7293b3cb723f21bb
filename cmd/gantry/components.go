package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/gantry-dev/gantry/internal/agent"
	"github.com/gantry-dev/gantry/internal/agent/taskrunner"
	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/api/acm"
	"github.com/gantry-dev/gantry/internal/api/ec2"
	"github.com/gantry-dev/gantry/internal/api/ecr"
	"github.com/gantry-dev/gantry/internal/api/ecs"
	"github.com/gantry-dev/gantry/internal/api/elbv2"
	"github.com/gantry-dev/gantry/internal/api/logs"
	"github.com/gantry-dev/gantry/internal/api/secretsmanager"
	"github.com/gantry-dev/gantry/internal/api/ssm"
	"github.com/gantry-dev/gantry/internal/controller/service"
	"github.com/gantry-dev/gantry/internal/ecrbackend"
	"github.com/gantry-dev/gantry/internal/hostlink"
	"github.com/gantry-dev/gantry/internal/image"
	"github.com/gantry-dev/gantry/internal/lbsync"
	"github.com/gantry-dev/gantry/internal/logsink"
	"github.com/gantry-dev/gantry/internal/logstore"
	"github.com/gantry-dev/gantry/internal/logstore/logsbackend"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/network"
	"github.com/gantry-dev/gantry/internal/network/dns"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/registry"
	"github.com/gantry-dev/gantry/internal/runtime"
	"github.com/gantry-dev/gantry/internal/scheduler"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/taskauth"
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
	vpcUplinkPrefix  string
	vpcRouterLinger  time.Duration
	imageCleanupAge  time.Duration
	ephemeralLimit   bool
	diskReserve      int64
}

func (h *hostFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&h.runtime, "runtime", "runc", "task sandbox: runc, or runsc for gVisor's per-task kernel")
	fs.StringVar(&h.cgroupParent, "cgroup-parent", "gantry", "cgroup under which every task's cgroup is made")
	fs.DurationVar(&h.imageCleanupAge, "image-cleanup-age", agent.DefaultImageCleanupAge, "how long a cached image stays after the last task here pulled it before it is removed, unless a task still uses it (0: keep every image)")
	fs.BoolVar(&h.ephemeralLimit, "ephemeral-storage-limit", true, "give each task a filesystem of its ephemeralStorage size (default 20 GiB) for its writable layers and volumes, "+
		"as Fargate does (needs loop devices and mkfs.ext4); false lets tasks write to the data dir's filesystem without a limit")
	fs.Int64Var(&h.diskReserve, "disk-reserve", agent.DefaultDiskReserveMiB, "MiB of the data dir's filesystem kept free for gantry and the running tasks, with --ephemeral-storage-limit: "+
		"the tasks' filesystems are thin, so while less is free no task starts and the task using the most ephemeral storage is stopped (TerminationNotice), one at a time (0: no guard)")
	fs.StringVar(&h.initBinary, "init-binary", "", "static binary bind-mounted as a task's init (initProcessEnabled); default gantry-shim beside this binary")
	fs.Float64Var(&h.cpuOvercommit, "cpu-overcommit", scheduler.DefaultOvercommit.CPU, "how far task cpu reservations may exceed the host's cpu (each task keeps its own quota)")
	fs.Float64Var(&h.memoryOvercommit, "memory-overcommit", scheduler.DefaultOvercommit.Memory, "how far task memory reservations may exceed the host's memory (1: never)")
	fs.Int64Var(&h.hostCPU, "host-cpu", 0, "cpu units this host offers before the reserve (default: cores x 1024)")
	fs.Int64Var(&h.hostMemory, "host-memory", 0, "memory MiB this host offers before the reserve (default: all of it)")
	fs.Int64Var(&h.reserveCPU, "reserve-cpu", 256, "cpu units kept back for gantry and the system")
	fs.Int64Var(&h.reserveMemory, "reserve-memory", 512, "memory MiB kept back for gantry and the system")
	fs.StringVar(&h.vpcUplinkPrefix, "vpc-uplink-prefix", "", "IPv4 prefix (/30 or wider) carved into one /31 per VPC router's link to the host; "+
		"default: a /24 of "+agent.DefaultUplinkPool.String()+" that no other gantry on the host uses, kept in the data dir")
	fs.DurationVar(&h.vpcRouterLinger, "vpc-router-linger", 5*time.Minute, "how long a VPC's router stays on this host after the VPC's last task here stopped, so the next one starts faster (0: removed at once)")
}

// components are the parts of one server, built from flags; build has no side effects beyond
// creating directories, and run starts the background ones.
type components struct {
	front  *api.Server
	ecs    *ops.ECS
	ec2    *ops.EC2
	agent  *agent.Agent
	images *image.Store
	// registry is the built-in registry behind /v2/ and ECR.
	registry *registry.Registry
	logs     *logstore.Store
	// iam serves IAM and STS and issues task roles' credentials.
	iam *ops.IAM
	// targets registers services' tasks in their target groups (nil: no load balancers yet).
	targets service.TargetRegistry
	// lbSync runs the load balancers' data plane; lbNames are their names for --dns-listen
	// and lbCerts their certificates (ACM's key pairs).
	lbSync  *lbsync.Syncer
	lbNames *dns.Table
	lbCerts *acmCertificates
}

// close releases what the components hold open; call it after the HTTP server has drained.
func (c *components) close() error { return c.logs.Close() }

func buildComponents(f serverFlags, st *store.Store, endpoint string, logger *slog.Logger) (*components, error) {
	if f.host.cpuOvercommit < 1 || f.host.memoryOvercommit < 1 {
		return nil, fmt.Errorf("--cpu-overcommit and --memory-overcommit must be at least 1")
	}
	ecsOps := ops.NewECS(st, logger)
	ecsOps.SetPlacement(scheduler.Overcommit{CPU: f.host.cpuOvercommit, Memory: f.host.memoryOvercommit})
	reg := registry.New(filepath.Join(f.dataDir, "registry"), registry.Options{Logger: logger})
	ec2Ops := ops.NewEC2(st, logger)
	logEvents, err := logstore.Open(filepath.Join(f.dataDir, "logs"), logstore.Options{})
	if err != nil {
		return nil, err
	}
	logsOps := ops.NewLogs(st, logsbackend.New(logEvents), logger)
	front := api.New(logger, ecs.Service(ecsOps), ecr.Service(ops.NewECR(ecrbackend.New(reg), endpoint)), ec2.Service(ec2Ops),
		logs.Service(logsOps))
	front.Handle("/v2/", reg)
	front.SetOpTimeout(f.apiTimeout)
	seal, err := openSealer(f.dataDir)
	if err != nil {
		logEvents.Close()
		return nil, err
	}
	iamOps, err := buildIAM(f.iam, st, seal, front, logger)
	if err != nil {
		logEvents.Close()
		return nil, err
	}
	// Secrets Manager, Parameter Store and ACM: values and private keys sealed at rest.
	secretsOps, acmOps := ops.NewSecrets(st, seal, logger), ops.NewACM(st, seal, logger)
	front.Register(secretsmanager.Service(secretsOps))
	front.Register(ssm.Service(ops.NewSSM(st, seal, logger)))
	front.Register(acm.Service(acmOps))
	// ELBv2: each load balancer takes an address of --lb-address-pool; HTTPS listeners'
	// certificates are ACM's, and ACM refuses to delete one a listener uses.
	lbPool, err := netip.ParsePrefix(f.lbAddressPool)
	if err == nil && (!lbPool.Addr().Is4() || lbPool.Bits() > 30) {
		err = fmt.Errorf("%s: want an IPv4 prefix of /30 or wider", f.lbAddressPool)
	}
	if err != nil {
		logEvents.Close()
		return nil, fmt.Errorf("--lb-address-pool: %w", err)
	}
	elbOps := ops.NewELBv2(st, ec2Ops, lbPool, logger)
	elbOps.SetCertificateChecker(acmOps)
	acmOps.SetUsage(elbOps.CertificateUsers)
	front.Register(elbv2.Service(elbOps))
	ecsOps.SetTargetGroups(targetGroupLookup(elbOps))

	rt, err := newRuntime(f, logger)
	if err != nil {
		logEvents.Close()
		return nil, err
	}
	images := image.New(filepath.Join(f.dataDir, "images"), image.Options{Logger: logger})
	plane, err := newPlane(f, logger)
	if err != nil {
		logEvents.Close()
		return nil, err
	}
	lbNames, lbCerts := &dns.Table{}, &acmCertificates{acm: acmOps}
	lbSync := lbsync.New(lbsync.Config{Store: st, Network: lbNetwork{plane}, Certificates: lbCerts,
		HostNames: hostNames{lbNames}, Logger: logger})
	taskAuth := taskauth.New(secretsOps, iamOps, f.iam.mode == "enforce")
	ag := agent.New(agent.Config{
		Control:           hostlink.New(st, logger),
		Logs:              logsink.New(logsOps),
		TaskEndpoint:      true,     // 169.254.170.2 in every task: metadata, credentials,
		TaskAPI:           front,    // and this front door at http://169.254.170.2:4566
		Secrets:           taskAuth, // secrets, ECR pulls and awslogs at start, as the execution role
		Credentials:       taskAuth, // the task roles' credentials
		Runtime:           rt,
		Rootfs:            taskrunner.Overlay{InContainer: rt.MountsRootOverlay()},
		Plane:             plane,
		RuntimeName:       f.host.runtime,
		Puller:            images,
		StateDir:          filepath.Join(f.dataDir, "agent"),
		RunDir:            filepath.Join(f.dataDir, "run", "agent"),
		LocalRegistryHost: endpoint,
		VPCRouterLinger:   lingerFlag(f.host.vpcRouterLinger),
		ImageCleanupAge:   lingerFlag(f.host.imageCleanupAge),
		EphemeralStorage:  f.host.ephemeralLimit,
		DiskReserveMiB:    orNone(f.host.diskReserve),
		CPU:               f.host.hostCPU,
		MemoryMiB:         f.host.hostMemory,
		ReserveCPU:        orNone(f.host.reserveCPU),
		ReserveMemoryMiB:  orNone(f.host.reserveMemory),
		Logger:            logger,
	})
	return &components{front: front, ecs: ecsOps, ec2: ec2Ops, agent: ag, images: images, registry: reg, logs: logEvents, iam: iamOps,
		lbSync: lbSync, lbNames: lbNames, lbCerts: lbCerts, targets: serviceTargets{elbOps}}, nil
}

// newPlane builds the VPC data plane under <data-dir>/run/net, on the runtime's tmpfs (newRuntime
// mounts it first): its records change with every task's start and stop, and they describe
// namespaces, links and rules that a reboot ends anyway. A data dir whose data plane an older
// server kept in <data-dir>/net keeps it there. Its names are its own: host links are named by
// a hash of the state dir, namespaces live under it, and its uplink prefix is
// --vpc-uplink-prefix or a /24 claimed host-wide, so servers sharing a host never collide.
func newPlane(f serverFlags, logger *slog.Logger) (*network.Plane, error) {
	dir := filepath.Join(f.dataDir, "run", "net")
	if legacy := filepath.Join(f.dataDir, "net"); isDir(legacy) {
		dir = legacy
	}
	var prefix netip.Prefix
	var err error
	if f.host.vpcUplinkPrefix != "" {
		if prefix, err = netip.ParsePrefix(f.host.vpcUplinkPrefix); err != nil {
			return nil, fmt.Errorf("--vpc-uplink-prefix: %w", err)
		}
	} else if prefix, err = agent.UplinkPrefix(dir, agent.DefaultUplinkPool, agent.DefaultUplinkClaims); err != nil {
		return nil, fmt.Errorf("vpc uplink prefix: %w", err)
	}
	return network.New(network.Config{StateDir: dir, HostUplinkPrefix: prefix, Logger: logger})
}

// lingerFlag maps a duration flag's 0 (a router removed at once, every image kept) to the agent's
// negative.
func lingerFlag(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}

// orNone maps a reserve flag's 0 ("keep nothing back", "no disk guard") to the agent's "none"
// (negative).
func orNone(v int64) int64 {
	if v == 0 {
		return -1
	}
	return v
}

func newRuntime(f serverFlags, logger *slog.Logger) (*runtime.Runc, error) {
	if f.host.runtime != "runc" && f.host.runtime != "runsc" {
		return nil, fmt.Errorf("--runtime %q: use runc or runsc", f.host.runtime)
	}
	// The tasks' state in memory, their output on disk (runtime.InMemoryStateRoot).
	cfg := runtime.Config{
		StateRoot:    filepath.Join(f.dataDir, "run"),
		LogRoot:      filepath.Join(f.dataDir, "tasklogs"),
		MountsDir:    f.dataDir,
		CgroupParent: f.host.cgroupParent,
		InitPath:     f.host.initBinary,
		Logger:       logger,
	}
	if shim := siblingShim(); shim != "" {
		cfg.ShimPath, cfg.ShimArgs = shim, []string{"shim"}
		if cfg.InitPath == "" {
			cfg.InitPath = shim
		}
	} else {
		logger.Warn("gantry-shim not found next to gantry: every task's shim runs the whole gantry binary (more memory, slower starts); build it with `make build`")
	}
	switch inMemory, why, err := runtime.InMemoryStateRoot(cfg.StateRoot); {
	case err != nil:
		return nil, err
	case !inMemory:
		logger.Warn("the tasks' runtime state stays on disk (slower starts); a server started while no task runs on this host tries again", "reason", why)
	}
	if f.host.runtime == "runsc" {
		return runtime.NewRunsc(cfg)
	}
	return runtime.NewRunc(cfg)
}

// healthBody is what GET /_gantry/health answers once ready: the local host's capacity as the
// agent sees it, and every host as the scheduler sees it. Its keys are lower camel case and
// stable: scripts read them. cpu is in units (1024 a core), memory in MiB.
func (c *components) healthBody(ctx context.Context) ([]byte, error) {
	hosts, err := c.ecs.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	doc := healthDoc{Status: "ok", Agent: healthAgentFromUsage(c.agent.Usage()), Hosts: make([]healthHost, len(hosts))}
	for i, h := range hosts {
		doc.Hosts[i] = healthHostFromCapacity(h)
	}
	return json.Marshal(doc)
}

type healthDoc struct {
	Status string       `json:"status"`
	Agent  healthAgent  `json:"agent"`
	Hosts  []healthHost `json:"hosts"`
}

type healthResources struct {
	CPU    int64 `json:"cpu"`
	Memory int64 `json:"memory"`
}

// healthAgent is the local agent's view: its host's offer and the sizes of the tasks it runs.
type healthAgent struct {
	HostID   string          `json:"hostId"`
	Capacity healthResources `json:"capacity"`
	Reserved healthResources `json:"reserved"`
	Tasks    int             `json:"tasks"`
}

// healthHost is one host as the scheduler sees it: its offer (capacity), what its tasks
// reserve, the most they may reserve under the overcommit (limit), what is left (free), and
// whether even the smallest task no longer fits (full).
type healthHost struct {
	ID          string          `json:"id"`
	Status      string          `json:"status"`
	Runtime     string          `json:"runtime,omitempty"`
	HeartbeatAt time.Time       `json:"heartbeatAt"`
	Live        bool            `json:"live"`
	Capacity    healthResources `json:"capacity"`
	Reserved    healthResources `json:"reserved"`
	Limit       healthResources `json:"limit"`
	Free        healthResources `json:"free"`
	Full        bool            `json:"full"`
}

func healthAgentFromUsage(u agent.Usage) healthAgent {
	return healthAgent{HostID: u.HostID, Tasks: u.Tasks,
		Capacity: healthResources{u.CapacityCPU, u.CapacityMemory},
		Reserved: healthResources{u.ReservedCPU, u.ReservedMemory}}
}

func healthHostFromCapacity(h ops.HostCapacity) healthHost {
	return healthHost{ID: h.ID, Status: h.Status, Runtime: h.Runtime, HeartbeatAt: h.HeartbeatAt, Live: h.Live,
		Capacity: healthResources(h.Capacity), Reserved: healthResources(h.Reserved),
		Limit: healthResources(h.Limit), Free: healthResources(h.Free), Full: h.Full}
}

// siblingShim is the gantry-shim binary installed beside this one, or "".
func siblingShim() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	shim := filepath.Join(filepath.Dir(exe), "gantry-shim")
	if st, err := os.Stat(shim); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return ""
	}
	return shim
}

// Registry garbage collection: every registryGCEvery, the blobs no manifest refers to and that
// no push touched for registryGCGrace go (a push uploads its blobs before its manifest).
const (
	registryGCEvery = 30 * time.Minute
	registryGCGrace = time.Hour
)

// collectRegistry runs the registry's GC until ctx ends.
func collectRegistry(ctx context.Context, reg *registry.Registry, logger *slog.Logger) {
	runEvery(ctx, registryGCEvery, func(ctx context.Context) {
		got, err := reg.GC(ctx, registryGCGrace)
		switch {
		case err != nil:
			logger.Warn("registry gc", logx.KeyError, err)
		case got.Blobs > 0 || got.Uploads > 0:
			logger.Info("registry gc", "blobs", got.Blobs, "uploads", got.Uploads, "bytes", got.Bytes)
		}
	})
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
