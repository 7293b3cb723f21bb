package runtime

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// specOptions carries what the sandbox, not the container, decides.
type specOptions struct {
	NetNSPath   string
	CgroupsPath string // cgroupfs form: /parent/task/container
	InitPath    string // host path of the init binary, used when InitProcessEnabled
	Unified     bool   // cgroup v2 only host
	// TaskCPUUnits, when set, becomes the container cgroup's CPU quota too (see taskCPUWrites).
	TaskCPUUnits int64
	// NofileCeiling caps the default open-files limit when the runtime cannot raise its own
	// hard limit (no CAP_SYS_RESOURCE); zero means no cap.
	NofileCeiling uint64
}

const (
	initMountPoint = "/.gantry-init"
	defaultPath    = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	cfsPeriod      = 100000
	minCPUShares   = 2
	maxCPUShares   = 262144
	mib            = 1 << 20
)

// namePattern is what validName allows. It is checked by hand: compiling it (a 127-fold
// repetition) was a measurable part of every shim's start.
const namePattern = `^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`

// validName keeps IDs usable as runc container IDs, cgroup names and file names.
func validName(kind, s string) error {
	ok := len(s) >= 1 && len(s) <= 128
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || i > 0 && (c == '_' || c == '.' || c == '-')
	}
	if !ok {
		return fmt.Errorf("%s %q: must match %s: %w", kind, s, namePattern, ErrInvalidSpec)
	}
	return nil
}

// buildSpec turns a container description into an OCI runtime spec.
func buildSpec(c ContainerSpec, o specOptions) (*specs.Spec, error) {
	if err := validateContainer(c); err != nil {
		return nil, err
	}
	root := rootView{c.Rootfs}
	if ov := c.RootOverlay; ov != nil {
		root = append(rootView{ov.Upper}, ov.Lower...)
	}
	cwd, err := checkCwd(root, c.Cwd)
	if err != nil {
		return nil, err
	}
	user, home, err := resolveUser(root, c.User)
	if err != nil {
		return nil, err
	}
	rlimits, err := rlimitsFor(c.Ulimits, o.NofileCeiling)
	if err != nil {
		return nil, err
	}
	caps, err := capabilitiesFor(c.AddSysPtrace, c.DropCapabilities)
	if err != nil {
		return nil, err
	}
	mounts, err := mountsFor(c, o)
	if err != nil {
		return nil, err
	}
	if ov := c.RootOverlay; ov != nil {
		// First, so that runc mounts everything else on top of it.
		mounts = append([]specs.Mount{{Destination: "/", Type: "overlay", Source: "overlay",
			Options: []string{"lowerdir=" + strings.Join(ov.Lower, ":"), "upperdir=" + ov.Upper, "workdir=" + ov.Work}}}, mounts...)
	}
	args := c.Args
	if c.InitProcessEnabled {
		args = append([]string{initMountPoint, "init", "--"}, c.Args...)
	}
	s := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: c.Rootfs, Readonly: c.ReadonlyRootfs},
		Process: &specs.Process{
			User:            user,
			Args:            args,
			Env:             envFor(c.Env, home),
			Cwd:             cwd,
			Capabilities:    &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps},
			Rlimits:         rlimits,
			NoNewPrivileges: true,
		},
		Hostname: c.Hostname,
		Mounts:   mounts,
		Linux: &specs.Linux{
			CgroupsPath:   o.CgroupsPath,
			Resources:     resourcesFor(c, o.TaskCPUUnits),
			Namespaces:    namespacesFor(o),
			Sysctl:        c.Sysctls,
			Seccomp:       defaultSeccomp(caps),
			MaskedPaths:   append([]string(nil), maskedPaths...),
			ReadonlyPaths: append([]string(nil), readonlyPaths...),
		},
	}
	return s, nil
}

// CheckOverlay refuses an overlay runc could not mount as a RootOverlay: relative paths, paths
// with overlayfs's separators, or options longer than the page mount(2) copies.
func CheckOverlay(ov Overlay) error {
	if len(ov.Lower) == 0 || ov.Upper == "" || ov.Work == "" {
		return fmt.Errorf("root overlay: lower, upper and work directories are required: %w", ErrInvalidSpec)
	}
	size := 0
	for _, p := range append([]string{ov.Upper, ov.Work}, ov.Lower...) {
		if !path.IsAbs(p) || strings.ContainsAny(p, ",:\\") {
			return fmt.Errorf("root overlay: %q must be an absolute path without ',', ':' or '\\': %w", p, ErrInvalidSpec)
		}
		size += len(p) + 10
	}
	if size > maxOverlayData {
		return fmt.Errorf("root overlay: %d bytes of options, more than mount(2) takes (%d): %w", size, maxOverlayData, ErrInvalidSpec)
	}
	return nil
}

// maxOverlayData bounds a root overlay's options: mount(2) copies one page of them, with room
// kept for what runc adds.
const maxOverlayData = 3900

func validateContainer(c ContainerSpec) error {
	var errs []error
	if err := validName("container name", c.Name); err != nil {
		errs = append(errs, err)
	}
	if !path.IsAbs(c.Rootfs) {
		errs = append(errs, fmt.Errorf("rootfs %q: must be an absolute path: %w", c.Rootfs, ErrInvalidSpec))
	}
	if ov := c.RootOverlay; ov != nil {
		if err := CheckOverlay(*ov); err != nil {
			errs = append(errs, err)
		}
	}
	if len(c.Args) == 0 {
		errs = append(errs, fmt.Errorf("args: at least one is required: %w", ErrInvalidSpec))
	}
	if c.CPUUnits < 0 || c.MemoryMiB < 0 || c.MemoryReservationMiB < 0 || c.PidsLimit < 0 {
		errs = append(errs, fmt.Errorf("cpu, memory and pids limits must not be negative: %w", ErrInvalidSpec))
	}
	if c.MemoryMiB > 0 && c.MemoryReservationMiB > c.MemoryMiB {
		errs = append(errs, fmt.Errorf("memoryReservation %d MiB exceeds memory %d MiB: %w",
			c.MemoryReservationMiB, c.MemoryMiB, ErrInvalidSpec))
	}
	for _, e := range c.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			errs = append(errs, fmt.Errorf("env %q: must be KEY=value: %w", e, ErrInvalidSpec))
		}
	}
	return errors.Join(errs...)
}

// envFor adds PATH and HOME when the caller did not set them, as Docker does.
func envFor(env []string, home string) []string {
	out := append([]string(nil), env...)
	has := func(key string) bool {
		for _, e := range env {
			if strings.HasPrefix(e, key+"=") {
				return true
			}
		}
		return false
	}
	if !has("PATH") {
		out = append([]string{defaultPath}, out...)
	}
	if !has("HOME") {
		out = append(out, "HOME="+home)
	}
	return out
}

func namespacesFor(o specOptions) []specs.LinuxNamespace {
	ns := []specs.LinuxNamespace{
		{Type: specs.PIDNamespace},
		{Type: specs.IPCNamespace},
		{Type: specs.UTSNamespace},
		{Type: specs.MountNamespace},
		{Type: specs.NetworkNamespace, Path: o.NetNSPath},
	}
	if o.Unified {
		// On cgroup v2 a cgroup namespace hides the host's hierarchy, as containerd does.
		ns = append(ns, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}
	return ns
}

// cpuShares maps ECS container cpu units to cpu.shares with ECS's floor of 2.
func cpuShares(units int64) uint64 {
	return uint64(min(max(units, minCPUShares), maxCPUShares))
}

// cfsQuota maps task cpu units to a CFS quota per 100ms period (1024 units = one CPU).
func cfsQuota(units int64) int64 {
	return max(units*cfsPeriod/1024, 1000) // the kernel refuses quotas under 1ms
}

func resourcesFor(c ContainerSpec, taskCPUUnits int64) *specs.LinuxResources {
	shares := cpuShares(c.CPUUnits)
	pids := c.PidsLimit
	if pids == 0 {
		pids = DefaultPidsLimit
	}
	r := &specs.LinuxResources{
		// Deny every device, then runc adds its default allow list (null, zero, tty, ...).
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
		CPU:     &specs.LinuxCPU{Shares: &shares},
		Pids:    &specs.LinuxPids{Limit: &pids},
		Memory:  &specs.LinuxMemory{},
	}
	if taskCPUUnits > 0 {
		quota, period := cfsQuota(taskCPUUnits), uint64(cfsPeriod)
		r.CPU.Quota, r.CPU.Period = &quota, &period
	}
	if c.MemoryMiB > 0 {
		limit := c.MemoryMiB * mib
		swap := limit // memory+swap equal to memory: the container cannot swap around its limit
		r.Memory.Limit, r.Memory.Swap = &limit, &swap
	}
	if c.MemoryReservationMiB > 0 {
		res := c.MemoryReservationMiB * mib
		r.Memory.Reservation = &res
	}
	return r
}

// rlimitNames maps Docker/ECS ulimit names to their OCI names.
var rlimitNames = map[string]string{
	"core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU", "data": "RLIMIT_DATA", "fsize": "RLIMIT_FSIZE",
	"locks": "RLIMIT_LOCKS", "memlock": "RLIMIT_MEMLOCK", "msgqueue": "RLIMIT_MSGQUEUE",
	"nice": "RLIMIT_NICE", "nofile": "RLIMIT_NOFILE", "nproc": "RLIMIT_NPROC", "rss": "RLIMIT_RSS",
	"rtprio": "RLIMIT_RTPRIO", "rttime": "RLIMIT_RTTIME", "sigpending": "RLIMIT_SIGPENDING",
	"stack": "RLIMIT_STACK",
}

// defaultNofile is Fargate's default open-files limit.
const defaultNofile = 65535

func rlimitsFor(ulimits []Ulimit, nofileCeiling uint64) ([]specs.POSIXRlimit, error) {
	nofile := uint64(defaultNofile)
	if nofileCeiling > 0 {
		nofile = min(nofile, nofileCeiling)
	}
	set := map[string]specs.POSIXRlimit{
		"RLIMIT_NOFILE": {Type: "RLIMIT_NOFILE", Soft: nofile, Hard: nofile},
	}
	var errs []error
	for _, u := range ulimits {
		name, ok := rlimitNames[strings.ToLower(u.Name)]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("ulimit %q: unknown name: %w", u.Name, ErrInvalidSpec))
		case u.Soft > u.Hard:
			errs = append(errs, fmt.Errorf("ulimit %q: soft limit %d exceeds hard limit %d: %w",
				u.Name, u.Soft, u.Hard, ErrInvalidSpec))
		default:
			set[name] = specs.POSIXRlimit{Type: name, Soft: u.Soft, Hard: u.Hard}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	out := make([]specs.POSIXRlimit, 0, len(set))
	for _, r := range set {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out, nil
}
