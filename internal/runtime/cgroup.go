package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroupLayout says where the host's cgroup hierarchies are mounted.
type cgroupLayout struct {
	// Unified is true on a cgroup v2 only host.
	Unified bool `json:"unified,omitempty"`
	// Controllers maps a v1 controller to its mount point; on v2 every controller maps to the
	// single mount.
	Controllers map[string]string `json:"controllers"`
	// Mounts lists every cgroup mount (v1 hierarchies, named ones, and any v2 mount), for cleanup.
	Mounts []string `json:"mounts,omitempty"`
}

var v1Controllers = []string{"cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "devices", "freezer", "hugetlb", "net_cls", "net_prio", "perf_event", "rdma", "misc"}

// detectCgroups reads the host's cgroup mounts from mountinfo.
func detectCgroups() (cgroupLayout, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return cgroupLayout{}, fmt.Errorf("read mountinfo: %w", err)
	}
	return parseCgroupMounts(string(data)), nil
}

func parseCgroupMounts(mountinfo string) cgroupLayout {
	l := cgroupLayout{Controllers: map[string]string{}}
	var v2 string
	sc := bufio.NewScanner(strings.NewReader(mountinfo))
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(tail) < 3 {
			continue
		}
		mnt := fields[4]
		switch tail[0] {
		case "cgroup2":
			v2 = mnt
			l.Mounts = append(l.Mounts, mnt)
		case "cgroup":
			l.Mounts = append(l.Mounts, mnt)
			for _, opt := range strings.Split(tail[2], ",") {
				for _, c := range v1Controllers {
					if opt == c {
						l.Controllers[c] = mnt
					}
				}
			}
		}
	}
	if len(l.Controllers) == 0 && v2 != "" {
		l.Unified = true
		for _, c := range []string{"cpu", "memory", "pids", "cpuset", "io", "hugetlb"} {
			l.Controllers[c] = v2
		}
	}
	return l
}

// cgroupWrite is one value written to one cgroup file.
type cgroupWrite struct {
	Controller string
	File       string
	Value      string
}

// taskMemoryWrites computes the task cgroup's memory limits, written when it is made. Memory
// comes first so memsw (memory+swap), which must not be below it, can follow.
func taskMemoryWrites(unified bool, memoryMiB int64, haveMemsw bool) []cgroupWrite {
	if memoryMiB <= 0 {
		return nil
	}
	limit := strconv.FormatInt(memoryMiB*mib, 10)
	if unified {
		return []cgroupWrite{{"memory", "memory.max", limit}, {"memory", "memory.swap.max", "0"}}
	}
	w := []cgroupWrite{{"memory", "memory.limit_in_bytes", limit}}
	if haveMemsw {
		w = append(w, cgroupWrite{"memory", "memory.memsw.limit_in_bytes", limit})
	}
	return w
}

// taskCPUWrites computes the task cgroup's CPU quota. It is written once the task's first
// container runs, not when the cgroup is made: runc's init does its setup (tens of ms of CPU)
// inside the container's cgroup, and a quota already on the parent throttled that setup into
// later CFS periods (a 0.25 vCPU task's start took twice a raw runc run). Each container's own
// cgroup carries the same quota, which runc writes before the container's process execs, so no
// process of the task ever runs without the task's limit.
func taskCPUWrites(unified bool, cpuUnits int64) []cgroupWrite {
	if cpuUnits <= 0 {
		return nil
	}
	if unified {
		return []cgroupWrite{{"cpu", "cpu.max", fmt.Sprintf("%d %d", cfsQuota(cpuUnits), cfsPeriod)}}
	}
	return []cgroupWrite{{"cpu", "cpu.cfs_period_us", strconv.Itoa(cfsPeriod)},
		{"cpu", "cpu.cfs_quota_us", strconv.FormatInt(cfsQuota(cpuUnits), 10)}}
}

// createTaskCgroup makes the task cgroup (path like /gantry/task-1) and applies its memory
// limit; limitTaskCPU adds the CPU quota later (see taskCPUWrites).
func (l cgroupLayout) createTaskCgroup(path string, memoryMiB int64) error {
	if l.Unified {
		if err := l.enableV2Controllers(path); err != nil {
			return err
		}
	} else {
		for _, c := range []string{"cpu", "memory", "pids"} {
			if mnt, ok := l.Controllers[c]; ok {
				if err := os.MkdirAll(filepath.Join(mnt, path), 0o755); err != nil {
					return fmt.Errorf("create task cgroup: %w", err)
				}
			}
		}
	}
	_, err := os.Stat(filepath.Join(l.Controllers["memory"], path, "memory.memsw.limit_in_bytes"))
	return l.write(path, taskMemoryWrites(l.Unified, memoryMiB, err == nil))
}

// limitTaskCPU puts the task's CPU quota on its cgroup.
func (l cgroupLayout) limitTaskCPU(path string, cpuUnits int64) error {
	return l.write(path, taskCPUWrites(l.Unified, cpuUnits))
}

func (l cgroupLayout) write(path string, writes []cgroupWrite) error {
	for _, w := range writes {
		mnt, ok := l.Controllers[w.Controller]
		if !ok {
			return fmt.Errorf("task cgroup: controller %s not mounted", w.Controller)
		}
		if err := os.WriteFile(filepath.Join(mnt, path, w.File), []byte(w.Value), 0o644); err != nil {
			return fmt.Errorf("task cgroup limit %s=%s: %w", w.File, w.Value, err)
		}
	}
	return nil
}

// enableV2Controllers creates each level of path and delegates cpu, memory and pids to it.
func (l cgroupLayout) enableV2Controllers(path string) error {
	dir := l.Controllers["memory"]
	for _, part := range strings.Split(strings.Trim(path, "/"), "/") {
		ctl := filepath.Join(dir, "cgroup.subtree_control")
		for _, c := range []string{"+cpu", "+memory", "+pids"} {
			// A controller the host lacks is not fatal here; writing the limit will say so.
			_ = os.WriteFile(ctl, []byte(c), 0o644)
		}
		dir = filepath.Join(dir, part)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create task cgroup: %w", err)
		}
	}
	return nil
}

// oomKills returns how many processes the kernel's OOM killer killed in the cgroup.
func (l cgroupLayout) oomKills(path string) uint64 {
	mnt := l.Controllers["memory"]
	file := "memory.oom_control"
	if l.Unified {
		file = "memory.events"
	}
	data, err := os.ReadFile(filepath.Join(mnt, path, file))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// removeCgroup kills whatever still runs under path and removes it from every hierarchy.
func (l cgroupLayout) removeCgroup(path string) error {
	var errs []error
	for _, mnt := range l.Mounts {
		if err := removeCgroupDir(filepath.Join(mnt, path)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func removeCgroupDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove cgroup: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := removeCgroupDir(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		killCgroupProcs(dir)
		err := syscall.Rmdir(dir)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
			return fmt.Errorf("remove cgroup %s: %w", dir, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func killCgroupProcs(dir string) {
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
