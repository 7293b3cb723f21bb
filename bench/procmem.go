package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Mem is a sum of process memory in KiB: proportional set size (shared pages split between the
// processes that map them) and resident set size.
type Mem struct {
	Procs    int
	PSS, RSS int64
}

func (m *Mem) Add(o Mem) { m.Procs += o.Procs; m.PSS += o.PSS; m.RSS += o.RSS }

// ProcMem reads one process's PSS and RSS from /proc/<pid>/smaps_rollup.
func ProcMem(pid int) (Mem, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return Mem{}, err
	}
	defer f.Close()
	m := Mem{Procs: 1}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "Pss":
			m.PSS = n
		case "Rss":
			m.RSS = n
		}
	}
	return m, sc.Err()
}

// SumMem adds up the memory of pids, skipping those that are gone.
func SumMem(pids []int) Mem {
	var total Mem
	for _, p := range pids {
		if m, err := ProcMem(p); err == nil {
			total.Add(m)
		}
	}
	return total
}

// ServerPid finds the gantry server process serving dataDir.
func ServerPid(dataDir string) (int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := bytes.Split(bytes.TrimSuffix(b, []byte{0}), []byte{0})
		if len(args) > 1 && string(args[1]) == "server" && bytes.Contains(b, []byte("\x00"+dataDir+"\x00")) {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no gantry server process for %s", dataDir)
}

// TaskPids returns gantry's shim processes and the containers' init processes, from the pid
// files the runtime keeps in its state root.
func TaskPids(runtimeDir string) (shims, containers []int) {
	read := func(pattern string) []int {
		files, _ := filepath.Glob(pattern)
		var out []int
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				out = append(out, pid)
			}
		}
		return out
	}
	return read(filepath.Join(runtimeDir, "tasks", "*", "shim.pid")),
		read(filepath.Join(runtimeDir, "tasks", "*", "containers", "*", "init.pid"))
}

// UsedKiB is what the filesystem holding dir uses: for gantry's state root, a tmpfs, the
// memory its files take, which no process's size shows.
func UsedKiB(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0
	}
	return int64(st.Blocks-st.Bfree) * st.Bsize / 1024
}

// MemAvailableKiB is the host's MemAvailable: it sees kernel memory (cgroups, namespaces,
// mounts) that process sizes do not, and every other process on the machine too.
func MemAvailableKiB() int64 {
	v, _ := meminfo("MemAvailable")
	return v
}
