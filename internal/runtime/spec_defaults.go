package runtime

import (
	"fmt"
	"path"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// maskedPaths and readonlyPaths are containerd's defaults (oci/spec.go).
var maskedPaths = []string{
	"/proc/acpi",
	"/proc/asound",
	"/proc/kcore",
	"/proc/keys",
	"/proc/latency_stats",
	"/proc/timer_list",
	"/proc/timer_stats",
	"/proc/sched_debug",
	"/sys/firmware",
	"/sys/devices/virtual/powercap",
	"/proc/scsi",
}

var readonlyPaths = []string{
	"/proc/bus",
	"/proc/fs",
	"/proc/irq",
	"/proc/sys",
	"/proc/sysrq-trigger",
}

// defaultCapabilities is Docker's (and Fargate's) default set.
var defaultCapabilities = []string{
	"CAP_AUDIT_WRITE",
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_MKNOD",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_RAW",
	"CAP_SETFCAP",
	"CAP_SETGID",
	"CAP_SETPCAP",
	"CAP_SETUID",
	"CAP_SYS_CHROOT",
}

// capabilitiesFor returns the sorted effective set. Only SYS_PTRACE may be added, as on Fargate.
func capabilitiesFor(addPtrace bool, drop []string) ([]string, error) {
	caps := slices.Clone(defaultCapabilities)
	if addPtrace {
		caps = append(caps, "CAP_SYS_PTRACE")
	}
	for _, d := range drop {
		name := strings.ToUpper(d)
		if !strings.HasPrefix(name, "CAP_") {
			name = "CAP_" + name
		}
		if name == "CAP_ALL" {
			return []string{}, nil
		}
		if !validCapability(name) {
			return nil, fmt.Errorf("drop capability %q: unknown: %w", d, ErrInvalidSpec)
		}
		caps = slices.DeleteFunc(caps, func(c string) bool { return c == name })
	}
	slices.Sort(caps)
	return caps, nil
}

// capabilityBits numbers every capability, for validation and for tests that read CapEff.
var capabilityBits = map[string]uint{
	"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
	"CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8,
	"CAP_LINUX_IMMUTABLE": 9, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11,
	"CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15,
	"CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19,
	"CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
	"CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27,
	"CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31,
	"CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35,
	"CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39,
	"CAP_CHECKPOINT_RESTORE": 40,
}

func validCapability(name string) bool {
	_, ok := capabilityBits[name]
	return ok
}

// CapabilityMask returns the bitmask /proc/<pid>/status shows as CapEff for caps.
func CapabilityMask(caps []string) uint64 {
	var m uint64
	for _, c := range caps {
		if b, ok := capabilityBits[c]; ok {
			m |= 1 << b
		}
	}
	return m
}

// DefaultCapabilities returns the capability set a container gets.
func DefaultCapabilities(addSysPtrace bool) []string {
	caps, _ := capabilitiesFor(addSysPtrace, nil)
	return caps
}

// defaultMounts are containerd's standard container mounts.
func defaultMounts() []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
	}
}

// reservedDestinations cannot be replaced by caller mounts: they carry the sandbox's own
// protections.
var reservedDestinations = []string{"/proc", "/sys", "/dev", initMountPoint}

func bindMount(src, dst string, ro bool) specs.Mount {
	opts := []string{"rbind", "rprivate", "nosuid", "nodev"}
	if ro {
		opts = append(opts, "ro")
	}
	return specs.Mount{Destination: dst, Type: "bind", Source: src, Options: opts}
}

func mountsFor(c ContainerSpec, o specOptions) ([]specs.Mount, error) {
	mounts := defaultMounts()
	if c.InitProcessEnabled {
		if o.InitPath == "" {
			return nil, fmt.Errorf("initProcessEnabled: no init binary configured: %w", ErrInvalidSpec)
		}
		m := bindMount(o.InitPath, initMountPoint, true)
		m.Options = []string{"bind", "rprivate", "nosuid", "nodev", "ro"}
		mounts = append(mounts, m)
	}
	for _, m := range c.Mounts {
		if err := checkMount(m); err != nil {
			return nil, err
		}
		mounts = append(mounts, bindMount(m.Source, m.Destination, m.ReadOnly))
	}
	if c.HostsFile != "" {
		mounts = append(mounts, bindMount(c.HostsFile, "/etc/hosts", false))
	}
	if c.ResolvConfFile != "" {
		mounts = append(mounts, bindMount(c.ResolvConfFile, "/etc/resolv.conf", false))
	}
	return mounts, nil
}

func checkMount(m Mount) error {
	if !path.IsAbs(m.Source) {
		return fmt.Errorf("mount source %q: must be an absolute path: %w", m.Source, ErrInvalidSpec)
	}
	if !path.IsAbs(m.Destination) || path.Clean(m.Destination) != m.Destination {
		return fmt.Errorf("mount destination %q: must be an absolute clean path: %w", m.Destination, ErrInvalidSpec)
	}
	for _, r := range reservedDestinations {
		if m.Destination == "/" || m.Destination == r || strings.HasPrefix(m.Destination, r+"/") {
			return fmt.Errorf("mount destination %q: reserved: %w", m.Destination, ErrInvalidSpec)
		}
	}
	return nil
}
