package runtime

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fakeRootfs writes an image's user database into a temporary rootfs.
func fakeRootfs(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "etc/passwd"), []byte(
		"root:x:0:0:root:/root:/bin/sh\n# comment\nweb:x:33:33:www:/var/www:/bin/false\napp:x:1000:1001::/home/app:/bin/sh\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "etc/group"), []byte(
		"root:x:0:\nweb:x:33:\nstaff:x:50:app,web\napps:x:1001:\ndocker:x:999:app\n"), 0o644))
	return root
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestCPUMath(t *testing.T) {
	tests := []struct {
		name   string
		units  int64
		quota  int64
		shares uint64
	}{
		{"quarter vCPU", 256, 25000, 256},
		{"one vCPU", 1024, 100000, 1024},
		{"four vCPU", 4096, 400000, 4096},
		{"tiny task floors at 1ms", 2, 1000, 2},
		{"zero container units get ECS's minimum shares", 0, 1000, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cfsQuota(tt.units); got != tt.quota {
				t.Errorf("cfsQuota(%d) = %d, want %d", tt.units, got, tt.quota)
			}
			if got := cpuShares(tt.units); got != tt.shares {
				t.Errorf("cpuShares(%d) = %d, want %d", tt.units, got, tt.shares)
			}
		})
	}
}

func TestTaskLimitWrites(t *testing.T) {
	tests := []struct {
		name     string
		unified  bool
		cpu, mem int64
		memsw    bool
		cpuW     []cgroupWrite
		memW     []cgroupWrite
	}{
		{"v1 cpu and memory with swap accounting", false, 512, 1024, true,
			[]cgroupWrite{{"cpu", "cpu.cfs_period_us", "100000"}, {"cpu", "cpu.cfs_quota_us", "50000"}},
			[]cgroupWrite{{"memory", "memory.limit_in_bytes", "1073741824"}, {"memory", "memory.memsw.limit_in_bytes", "1073741824"}}},
		{"v1 without swap accounting", false, 0, 512, false, nil,
			[]cgroupWrite{{"memory", "memory.limit_in_bytes", "536870912"}}},
		{"v2", true, 2048, 512, false,
			[]cgroupWrite{{"cpu", "cpu.max", "200000 100000"}},
			[]cgroupWrite{{"memory", "memory.max", "536870912"}, {"memory", "memory.swap.max", "0"}}},
		{"no limits", false, 0, 0, true, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := taskCPUWrites(tt.unified, tt.cpu); !reflect.DeepEqual(got, tt.cpuW) {
				t.Errorf("cpu: got %v, want %v", got, tt.cpuW)
			}
			if got := taskMemoryWrites(tt.unified, tt.mem, tt.memsw); !reflect.DeepEqual(got, tt.memW) {
				t.Errorf("memory: got %v, want %v", got, tt.memW)
			}
		})
	}
}

func TestParseCgroupMounts(t *testing.T) {
	hybrid := `25 31 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw
30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct
31 25 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory
32 25 0:29 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd`
	l := parseCgroupMounts(hybrid)
	if l.Unified || l.Controllers["cpu"] != "/sys/fs/cgroup/cpu,cpuacct" || l.Controllers["memory"] != "/sys/fs/cgroup/memory" {
		t.Errorf("hybrid: %+v", l)
	}
	if len(l.Mounts) != 4 {
		t.Errorf("hybrid mounts = %v, want all four cgroup mounts", l.Mounts)
	}
	v2 := `25 31 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate`
	l = parseCgroupMounts(v2)
	if !l.Unified || l.Controllers["memory"] != "/sys/fs/cgroup" || l.Controllers["cpu"] != "/sys/fs/cgroup" {
		t.Errorf("v2: %+v", l)
	}
}

// The shim takes the cgroup layout from the task's record, as the server wrote it (a JSON
// round trip), and reads the host's mount table only for a record without one.
func TestShimTakesTheRecordedCgroups(t *testing.T) {
	recorded := parseCgroupMounts(`30 25 0:27 / /elsewhere/cpu rw - cgroup cgroup rw,cpu,cpuacct
31 25 0:28 / /elsewhere/memory rw - cgroup cgroup rw,memory`)
	b, err := json.Marshal(taskRecord{ID: "t", Cgroups: &recorded})
	if err != nil {
		t.Fatal(err)
	}
	var rec taskRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	got, err := shimCgroups(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recorded) {
		t.Errorf("from the record: %+v, want %+v", got, recorded)
	}
	host, err := detectCgroups()
	if err != nil {
		t.Fatal(err)
	}
	for _, old := range []taskRecord{{ID: "t"}, {ID: "t", Cgroups: &cgroupLayout{}}} {
		if got, err := shimCgroups(old); err != nil || !reflect.DeepEqual(got, host) {
			t.Errorf("record %+v: %+v, %v; want the host's %+v", old, got, err, host)
		}
	}
}

func TestResolveUser(t *testing.T) {
	root := fakeRootfs(t)
	tests := []struct {
		user    string
		want    specs.User
		home    string
		wantErr bool
	}{
		{"", specs.User{}, "/root", false},
		{"0", specs.User{}, "/root", false},
		{"1000", specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{50, 999}}, "/home/app", false},
		{"app", specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{50, 999}}, "/home/app", false},
		{"app:staff", specs.User{UID: 1000, GID: 50}, "/home/app", false},
		{"web:7", specs.User{UID: 33, GID: 7}, "/var/www", false},
		{"4242", specs.User{UID: 4242}, "/", false},
		{"4242:4343", specs.User{UID: 4242, GID: 4343}, "/", false},
		{"ghost", specs.User{}, "", true},
		{"app:ghosts", specs.User{}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			got, home, err := resolveUser(rootView{root}, tt.user)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidSpec) {
					t.Fatalf("err = %v, want ErrInvalidSpec", err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) || home != tt.home {
				t.Errorf("resolveUser(%q) = %+v, %q, %v; want %+v, %q", tt.user, got, home, err, tt.want, tt.home)
			}
		})
	}
}

func TestResolveUserStaysInRootfs(t *testing.T) {
	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	// Followed naively from the host, this would read the host's /etc/passwd.
	must(t, os.Symlink("../../../../../../../../usr/share/base-passwd/passwd.master", filepath.Join(root, "etc/passwd")))
	if _, _, err := resolveUser(rootView{root}, "root"); !errors.Is(err, ErrInvalidSpec) {
		t.Fatalf("err = %v: a symlink must not read the host's /etc/passwd", err)
	}
	loop := t.TempDir()
	must(t, os.Symlink("/etc", filepath.Join(loop, "etc")))
	if _, _, err := resolveUser(rootView{loop}, "root"); err == nil {
		t.Fatal("a symlink loop resolved")
	}
}

func TestCheckCwd(t *testing.T) {
	root := t.TempDir()
	must(t, os.Symlink("/proc/self/fd/7", filepath.Join(root, "evil")))
	must(t, os.Symlink("../../proc", filepath.Join(root, "relevil")))
	must(t, os.MkdirAll(filepath.Join(root, "app"), 0o755))
	tests := []struct {
		cwd     string
		want    string
		wantErr bool
	}{
		{"", "/", false},
		{"/app", "/app", false},
		{"/not/yet/there", "/not/yet/there", false},
		{"relative", "", true},
		{"/app/../app", "", true},
		{"/proc/self/fd/7", "", true},
		{"/proc", "", true},
		{"/evil", "", true},
		{"/relevil/1/cwd", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.cwd, func(t *testing.T) {
			got, err := checkCwd(rootView{root}, tt.cwd)
			if tt.wantErr != (err != nil) || got != tt.want {
				t.Errorf("checkCwd(%q) = %q, %v", tt.cwd, got, err)
			}
		})
	}
}

func TestCapabilities(t *testing.T) {
	tests := []struct {
		name    string
		ptrace  bool
		drop    []string
		want    []string
		wantErr bool
	}{
		{"docker default", false, nil, defaultCapabilities, false},
		{"with ptrace", true, nil, append(slices.Clone(defaultCapabilities), "CAP_SYS_PTRACE"), false},
		{"drop two", false, []string{"NET_RAW", "cap_mknod"}, without(defaultCapabilities, "CAP_NET_RAW", "CAP_MKNOD"), false},
		{"drop all", true, []string{"ALL"}, []string{}, false},
		{"unknown", false, []string{"FLY"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := capabilitiesFor(tt.ptrace, tt.drop)
			want := slices.Sorted(slices.Values(tt.want))
			if tt.wantErr != (err != nil) || (!tt.wantErr && !slices.Equal(got, want)) {
				t.Errorf("got %v, %v; want %v", got, err, want)
			}
		})
	}
	if got := CapabilityMask(defaultCapabilities); got != 0xa80425fb {
		t.Errorf("default mask = %#x, want Docker's 0xa80425fb", got)
	}
}

func without(list []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(list), func(s string) bool { return slices.Contains(drop, s) })
}

func TestRlimits(t *testing.T) {
	got, err := rlimitsFor([]Ulimit{{Name: "nproc", Soft: 100, Hard: 200}, {Name: "NOFILE", Soft: 10, Hard: 20}}, 0)
	want := []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 10, Hard: 20}, {Type: "RLIMIT_NPROC", Soft: 100, Hard: 200}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, %v; want %v", got, err, want)
	}
	got, _ = rlimitsFor(nil, 0)
	if want := []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 65535, Hard: 65535}}; !reflect.DeepEqual(got, want) {
		t.Errorf("default = %v, want Fargate's nofile 65535", got)
	}
	got, _ = rlimitsFor(nil, 4096)
	if got[0].Hard != 4096 {
		t.Errorf("default under a ceiling = %v", got)
	}
	for _, bad := range []Ulimit{{Name: "wings", Soft: 1, Hard: 1}, {Name: "nofile", Soft: 2, Hard: 1}} {
		if _, err := rlimitsFor([]Ulimit{bad}, 0); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("%+v: err = %v", bad, err)
		}
	}
}

func TestBuildSpec(t *testing.T) {
	root := fakeRootfs(t)
	c := ContainerSpec{
		Name: "web", Rootfs: root, ReadonlyRootfs: true, Args: []string{"nginx", "-g", "daemon off;"},
		Env: []string{"A=1"}, Cwd: "/srv", User: "web", Hostname: "ip-10-0-0-5",
		CPUUnits: 512, MemoryMiB: 256, MemoryReservationMiB: 128,
		Mounts:    []Mount{{Source: "/var/lib/vol", Destination: "/data", ReadOnly: true}},
		HostsFile: "/run/t/hosts", ResolvConfFile: "/run/t/resolv.conf", InitProcessEnabled: true,
	}
	s, err := buildSpec(c, specOptions{NetNSPath: "/run/netns/t", CgroupsPath: "/gantry/t/web", InitPath: "/usr/bin/gantry"})
	if err != nil {
		t.Fatal(err)
	}
	p := s.Process
	if !s.Root.Readonly || s.Root.Path != root || s.Hostname != "ip-10-0-0-5" || p.Terminal || !p.NoNewPrivileges {
		t.Errorf("root/hostname/terminal/nnp wrong: %+v %+v", s.Root, p)
	}
	if want := []string{"/.gantry-init", "init", "--", "nginx", "-g", "daemon off;"}; !slices.Equal(p.Args, want) {
		t.Errorf("args = %q, want %q", p.Args, want)
	}
	if want := []string{defaultPath, "A=1", "HOME=/var/www"}; !slices.Equal(p.Env, want) {
		t.Errorf("env = %q, want %q", p.Env, want)
	}
	if p.Cwd != "/srv" || p.User.UID != 33 || p.User.GID != 33 || !slices.Equal(p.User.AdditionalGids, []uint32{50}) {
		t.Errorf("cwd/user = %q %+v", p.Cwd, p.User)
	}
	r := s.Linux.Resources
	if *r.CPU.Shares != 512 || *r.Memory.Limit != 256<<20 || *r.Memory.Swap != 256<<20 ||
		*r.Memory.Reservation != 128<<20 || *r.Pids.Limit != DefaultPidsLimit || r.Devices[0].Allow {
		t.Errorf("resources = %+v", r)
	}
	if s.Linux.CgroupsPath != "/gantry/t/web" || !slices.Equal(s.Linux.MaskedPaths, maskedPaths) || !slices.Equal(s.Linux.ReadonlyPaths, readonlyPaths) {
		t.Errorf("cgroups path or masked/readonly paths wrong")
	}
	var nsTypes []specs.LinuxNamespaceType
	for _, ns := range s.Linux.Namespaces {
		nsTypes = append(nsTypes, ns.Type)
		if ns.Type == specs.NetworkNamespace && ns.Path != "/run/netns/t" {
			t.Errorf("network namespace path = %q", ns.Path)
		}
	}
	if want := []specs.LinuxNamespaceType{"pid", "ipc", "uts", "mount", "network"}; !slices.Equal(nsTypes, want) {
		t.Errorf("namespaces = %v, want %v", nsTypes, want)
	}
	dests := map[string]specs.Mount{}
	for _, m := range s.Mounts {
		dests[m.Destination] = m
	}
	for _, d := range []string{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/.gantry-init", "/data", "/etc/hosts", "/etc/resolv.conf"} {
		if _, ok := dests[d]; !ok {
			t.Errorf("no mount at %s", d)
		}
	}
	if !slices.Contains(dests["/sys"].Options, "ro") || !slices.Contains(dests["/data"].Options, "ro") ||
		dests["/.gantry-init"].Source != "/usr/bin/gantry" || !slices.Contains(dests["/.gantry-init"].Options, "ro") {
		t.Errorf("mount options wrong: %+v", s.Mounts)
	}
	sc := s.Linux.Seccomp
	if sc.DefaultAction != specs.ActErrno || !slices.Contains(sc.Syscalls[0].Names, "futex") || slices.Contains(sc.Syscalls[0].Names, "ptrace") ||
		slices.Contains(sc.Syscalls[0].Names, "mount") || slices.Contains(sc.Syscalls[0].Names, "unshare") {
		t.Errorf("seccomp profile is not the default one")
	}
}

func TestBuildSpecRejects(t *testing.T) {
	root := fakeRootfs(t)
	ok := ContainerSpec{Name: "c", Rootfs: root, Args: []string{"true"}}
	tests := []struct {
		name   string
		mutate func(*ContainerSpec)
	}{
		{"bad name", func(c *ContainerSpec) { c.Name = "../x" }},
		{"relative rootfs", func(c *ContainerSpec) { c.Rootfs = "rootfs" }},
		{"no args", func(c *ContainerSpec) { c.Args = nil }},
		{"reservation over limit", func(c *ContainerSpec) { c.MemoryMiB, c.MemoryReservationMiB = 64, 128 }},
		{"malformed env", func(c *ContainerSpec) { c.Env = []string{"NOEQUALS"} }},
		{"mount over /proc", func(c *ContainerSpec) { c.Mounts = []Mount{{Source: "/tmp", Destination: "/proc/sys"}} }},
		{"relative mount", func(c *ContainerSpec) { c.Mounts = []Mount{{Source: "/tmp", Destination: "data"}} }},
		{"mount over root", func(c *ContainerSpec) { c.Mounts = []Mount{{Source: "/tmp", Destination: "/"}} }},
		{"init without binary", func(c *ContainerSpec) { c.InitProcessEnabled = true }},
		{"unknown user", func(c *ContainerSpec) { c.User = "nobody-here" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mutate(&c)
			if _, err := buildSpec(c, specOptions{}); !errors.Is(err, ErrInvalidSpec) {
				t.Errorf("err = %v, want ErrInvalidSpec", err)
			}
		})
	}
	if _, err := buildSpec(ok, specOptions{}); err != nil {
		t.Errorf("valid spec refused: %v", err)
	}
}

func TestSeccompFollowsCapabilities(t *testing.T) {
	has := func(s *specs.LinuxSeccomp, name string) bool { return slices.Contains(s.Syscalls[0].Names, name) }
	if s := defaultSeccomp(DefaultCapabilities(false)); has(s, "ptrace") || !has(s, "chroot") {
		t.Error("default set: ptrace allowed or chroot refused")
	}
	if s := defaultSeccomp(DefaultCapabilities(true)); !has(s, "ptrace") {
		t.Error("SYS_PTRACE granted but ptrace refused")
	}
}

// validName checks by hand what namePattern says; the two must agree.
func TestValidNameMatchesPattern(t *testing.T) {
	re := regexp.MustCompile(namePattern)
	for _, s := range []string{"", "a", "A9", "app", "app.side-car_1", "-x", ".x", "_x", "x/y", "x y", "é", "x\n",
		strings.Repeat("a", 128), strings.Repeat("a", 129), "a" + strings.Repeat("-", 127), "a" + strings.Repeat("-", 128)} {
		if got, want := validName("name", s) == nil, re.MatchString(s); got != want {
			t.Errorf("validName(%q) ok = %v, pattern says %v", s, got, want)
		}
	}
}
