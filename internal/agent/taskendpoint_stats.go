package agent

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/internal/runtime"
)

// The stats documents have the shape of Docker's ContainerStats (API v1.30), as the ECS agent
// serves them at ${ECS_CONTAINER_METADATA_URI_V4}/stats: read from the container's cgroups
// (cgroup v1 or v2) and its network namespace's counters.

type statsDoc struct {
	Read         time.Time           `json:"read"`
	Preread      time.Time           `json:"preread"`
	PidsStats    pidsStats           `json:"pids_stats"`
	BlkioStats   blkioStats          `json:"blkio_stats"`
	NumProcs     uint32              `json:"num_procs"`
	StorageStats struct{}            `json:"storage_stats"`
	CPUStats     cpuStats            `json:"cpu_stats"`
	PreCPUStats  cpuStats            `json:"precpu_stats"`
	MemoryStats  memoryStats         `json:"memory_stats"`
	Name         string              `json:"name"`
	ID           string              `json:"id"`
	Networks     map[string]netStats `json:"networks,omitempty"`
}

type pidsStats struct {
	Current uint64 `json:"current,omitempty"`
}

type blkioStats struct {
	IoServiceBytesRecursive []struct{} `json:"io_service_bytes_recursive"`
	IoServicedRecursive     []struct{} `json:"io_serviced_recursive"`
}

type cpuUsage struct {
	TotalUsage        uint64   `json:"total_usage"`
	PercpuUsage       []uint64 `json:"percpu_usage,omitempty"`
	UsageInKernelmode uint64   `json:"usage_in_kernelmode"`
	UsageInUsermode   uint64   `json:"usage_in_usermode"`
}

type throttlingData struct {
	Periods          uint64 `json:"periods"`
	ThrottledPeriods uint64 `json:"throttled_periods"`
	ThrottledTime    uint64 `json:"throttled_time"`
}

type cpuStats struct {
	CPUUsage       cpuUsage       `json:"cpu_usage"`
	SystemUsage    uint64         `json:"system_cpu_usage,omitempty"`
	OnlineCPUs     uint32         `json:"online_cpus,omitempty"`
	ThrottlingData throttlingData `json:"throttling_data"`
}

type memoryStats struct {
	Usage    uint64            `json:"usage,omitempty"`
	MaxUsage uint64            `json:"max_usage,omitempty"`
	Stats    map[string]uint64 `json:"stats,omitempty"`
	Limit    uint64            `json:"limit,omitempty"`
}

type netStats struct {
	RxBytes   uint64 `json:"rx_bytes"`
	RxPackets uint64 `json:"rx_packets"`
	RxErrors  uint64 `json:"rx_errors"`
	RxDropped uint64 `json:"rx_dropped"`
	TxBytes   uint64 `json:"tx_bytes"`
	TxPackets uint64 `json:"tx_packets"`
	TxErrors  uint64 `json:"tx_errors"`
	TxDropped uint64 `json:"tx_dropped"`
}

// statsCache keeps each container's previous sample, for precpu_stats.
type statsCache struct {
	mu   sync.Mutex
	prev map[string]statsDoc
}

func (c *statsCache) swap(name string, cur statsDoc) (prev statsDoc, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.prev == nil {
		c.prev = map[string]statsDoc{}
	}
	prev, ok = c.prev[name]
	c.prev[name] = cur
	return prev, ok
}

func (st *servedTask) handleContainerStats(w http.ResponseWriter, r *http.Request) {
	name, ok := st.containerName(w, r)
	if !ok {
		return
	}
	all := st.taskStats(r.Context())
	doc, ok := all[runtimeID(st.t.Assignment.Task, name)]
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{}) // not running: ECS answers an empty object
		return
	}
	writeJSON(w, http.StatusOK, doc)
}

func (st *servedTask) handleTaskStats(w http.ResponseWriter, r *http.Request) {
	if _, ok := st.containerName(w, r); !ok {
		return
	}
	writeJSON(w, http.StatusOK, st.taskStats(r.Context()))
}

// taskStats samples every running container of the task, keyed by DockerId.
func (st *servedTask) taskStats(ctx context.Context) map[string]statsDoc {
	out := map[string]statsDoc{}
	if st.ep.runtime == nil {
		return out
	}
	t := st.t.Assignment.Task
	state, err := st.ep.runtime.TaskState(ctx, t.ID)
	if err != nil {
		return out
	}
	for _, c := range state.Containers {
		if c.Status != runtime.StatusRunning || c.Pid <= 0 {
			continue
		}
		doc, ok := sampleStats(c.Pid, st.ep.now())
		if !ok {
			continue
		}
		id := runtimeID(t, c.Name)
		doc.ID, doc.Name = id, "/"+id
		if prev, ok := st.stats.swap(c.Name, doc); ok {
			doc.Preread, doc.PreCPUStats = prev.Read, prev.CPUStats
		}
		out[id] = doc
	}
	return out
}

// sampleStats reads a process's cgroups and network namespace counters.
func sampleStats(pid int, now time.Time) (statsDoc, bool) {
	groups, err := procCgroups(pid)
	if err != nil {
		return statsDoc{}, false
	}
	doc := statsDoc{Read: now.UTC(), BlkioStats: blkioStats{IoServiceBytesRecursive: []struct{}{}, IoServicedRecursive: []struct{}{}}}
	// A hybrid host lists an empty unified hierarchy beside its v1 controllers: v1 wins there.
	if _, v1 := groups["memory"]; v1 {
		readV1(groups, &doc)
	} else if dir, ok := groups[""]; ok {
		readV2(dir, &doc)
	}
	doc.CPUStats.SystemUsage = systemCPUUsage()
	doc.CPUStats.OnlineCPUs = uint32(goruntime.NumCPU())
	doc.Networks = netDev(pid)
	return doc, true
}

// procCgroups maps each controller of the process to its directory: v1 controllers by name,
// the v2 unified hierarchy under "".
func procCgroups(pid int) (map[string]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			if parts[0] == "0" {
				out[""] = filepath.Join("/sys/fs/cgroup", parts[2])
			}
			continue
		}
		for _, ctl := range strings.Split(parts[1], ",") {
			out[ctl] = filepath.Join("/sys/fs/cgroup", parts[1], parts[2])
		}
	}
	return out, nil
}

func readV1(g map[string]string, doc *statsDoc) {
	if d, ok := g["cpuacct"]; ok {
		doc.CPUStats.CPUUsage.TotalUsage = readUint(filepath.Join(d, "cpuacct.usage"))
		for _, f := range strings.Fields(readString(filepath.Join(d, "cpuacct.usage_percpu"))) {
			n, _ := strconv.ParseUint(f, 10, 64)
			doc.CPUStats.CPUUsage.PercpuUsage = append(doc.CPUStats.CPUUsage.PercpuUsage, n)
		}
		st := readKV(filepath.Join(d, "cpuacct.stat"))
		const tick = uint64(time.Second / 100) // USER_HZ
		doc.CPUStats.CPUUsage.UsageInUsermode, doc.CPUStats.CPUUsage.UsageInKernelmode = st["user"]*tick, st["system"]*tick
	}
	if d, ok := g["cpu"]; ok {
		st := readKV(filepath.Join(d, "cpu.stat"))
		doc.CPUStats.ThrottlingData = throttlingData{Periods: st["nr_periods"], ThrottledPeriods: st["nr_throttled"], ThrottledTime: st["throttled_time"]}
	}
	if d, ok := g["memory"]; ok {
		doc.MemoryStats.Usage = readUint(filepath.Join(d, "memory.usage_in_bytes"))
		doc.MemoryStats.MaxUsage = readUint(filepath.Join(d, "memory.max_usage_in_bytes"))
		doc.MemoryStats.Stats = readKV(filepath.Join(d, "memory.stat"))
		// The container's own limit, else its task's: containers share the task's cgroup limit.
		doc.MemoryStats.Limit = min(limitOr(readUint(filepath.Join(d, "memory.limit_in_bytes"))),
			limitOr(readUint(filepath.Join(filepath.Dir(d), "memory.limit_in_bytes"))), hostMemory())
	}
	if d, ok := g["pids"]; ok {
		doc.PidsStats.Current = readUint(filepath.Join(d, "pids.current"))
	}
}

func readV2(d string, doc *statsDoc) {
	st := readKV(filepath.Join(d, "cpu.stat"))
	const us = uint64(time.Microsecond)
	doc.CPUStats.CPUUsage = cpuUsage{TotalUsage: st["usage_usec"] * us, UsageInUsermode: st["user_usec"] * us, UsageInKernelmode: st["system_usec"] * us}
	doc.CPUStats.ThrottlingData = throttlingData{Periods: st["nr_periods"], ThrottledPeriods: st["nr_throttled"], ThrottledTime: st["throttled_usec"] * us}
	doc.MemoryStats.Usage = readUint(filepath.Join(d, "memory.current"))
	doc.MemoryStats.MaxUsage = readUint(filepath.Join(d, "memory.peak"))
	doc.MemoryStats.Stats = readKV(filepath.Join(d, "memory.stat"))
	doc.MemoryStats.Limit = min(limitOr(readUint(filepath.Join(d, "memory.max"))),
		limitOr(readUint(filepath.Join(filepath.Dir(d), "memory.max"))), hostMemory())
	doc.PidsStats.Current = readUint(filepath.Join(d, "pids.current"))
}

// limitOr reads 0 (unreadable, or "max") as no limit.
func limitOr(v uint64) uint64 {
	if v == 0 {
		return ^uint64(0)
	}
	return v
}

// hostMemory is the host's memory in bytes, the limit of a cgroup without one.
func hostMemory() uint64 {
	kv := readKV("/proc/meminfo")
	if kb := kv["MemTotal:"]; kb > 0 {
		return kb * 1024
	}
	return ^uint64(0)
}

// systemCPUUsage is the host's cumulative CPU time in nanoseconds, as Docker's system_cpu_usage.
func systemCPUUsage() uint64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 2 || f[0] != "cpu" {
		return 0
	}
	var ticks uint64
	for _, s := range f[1:min(len(f), 9)] { // user .. steal
		n, _ := strconv.ParseUint(s, 10, 64)
		ticks += n
	}
	return ticks * uint64(time.Second/100)
}

// netDev reads the interface counters of the process's network namespace, loopback aside.
func netDev(pid int) map[string]netStats {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/net/dev")
	if err != nil {
		return nil
	}
	defer f.Close()
	out := map[string]netStats{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		name = strings.TrimSpace(name)
		if !ok || name == "lo" {
			continue
		}
		v := strings.Fields(rest)
		if len(v) < 12 {
			continue
		}
		n := func(i int) uint64 { x, _ := strconv.ParseUint(v[i], 10, 64); return x }
		out[name] = netStats{RxBytes: n(0), RxPackets: n(1), RxErrors: n(2), RxDropped: n(3),
			TxBytes: n(8), TxPackets: n(9), TxErrors: n(10), TxDropped: n(11)}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func readString(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func readUint(path string) uint64 {
	n, _ := strconv.ParseUint(readString(path), 10, 64)
	return n
}

// readKV reads "key value" lines (memory.stat, cpu.stat, cpuacct.stat, meminfo).
func readKV(path string) map[string]uint64 {
	out := map[string]uint64{}
	for _, line := range strings.Split(readString(path), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if n, err := strconv.ParseUint(f[1], 10, 64); err == nil {
			out[f[0]] = n
		}
	}
	return out
}
