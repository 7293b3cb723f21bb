package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is USER_HZ, the unit of /proc's CPU times; 100 on every Linux this runs on.
const clockTick = 10 * time.Millisecond

// CPUSample is the CPU time the machine, and the processes of a few names, had used at one moment.
// Differences of two samples say where a burst's CPU went: a host with 2 CPUs is CPU-bound in a
// burst, so CPU per task start is what sets the rate.
type CPUSample struct {
	// Busy is all CPUs' non-idle time: user, nice, system, irq, softirq and steal.
	Busy time.Duration
	// Self is this process's own CPU, without its children: the benchmark's SDK client.
	Self time.Duration
	// Children is the CPU of this process's children it reaped: the peer's `runc run` calls
	// (the peer's containers are reaped after a window, when they are removed).
	Children time.Duration
	// ByComm is the CPU of the live processes of each name asked for, children they reaped
	// included (a shim's `runc run` calls are counted in the shim's).
	ByComm map[string]time.Duration
	// busyAfter, selfAfter and childrenAfter are read again once the processes were read: a
	// window starts there, so reading /proc (a few ms with many processes) is not counted in it.
	busyAfter, selfAfter, childrenAfter time.Duration
}

// SampleCPU reads /proc/stat and the processes named in comms.
func SampleCPU(comms ...string) (CPUSample, error) {
	busy, self, children, err := machineAndSelf()
	if err != nil {
		return CPUSample{}, err
	}
	s := CPUSample{Busy: busy, Self: self, Children: children, ByComm: map[string]time.Duration{}}
	if len(comms) > 0 {
		stats, _ := filepath.Glob("/proc/[0-9]*/stat")
		for _, p := range stats {
			comm, cpu, ok := procCPU(p)
			if !ok {
				continue
			}
			for _, c := range comms {
				if comm == c {
					s.ByComm[c] += cpu
				}
			}
		}
	}
	if s.busyAfter, s.selfAfter, s.childrenAfter, err = machineAndSelf(); err != nil {
		return CPUSample{}, err
	}
	return s, nil
}

// machineAndSelf reads all CPUs' busy time, this process's own and its reaped children's.
func machineAndSelf() (busy, self, children time.Duration, err error) {
	var ru, rc syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, 0, err
	}
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &rc); err != nil {
		return 0, 0, 0, err
	}
	self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	children = time.Duration(rc.Utime.Nano() + rc.Stime.Nano())
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, 0, err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("/proc/stat: %w", err)
		}
		busy += time.Duration(n) * clockTick
	}
	return busy, self, children, nil
}

// procCPU reads a /proc/<pid>/stat: the process's name and its CPU time with its reaped children's.
func procCPU(path string) (string, time.Duration, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", 0, false // gone meanwhile
	}
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return "", 0, false
	}
	// After "pid (comm) ": state is field 3, utime..cstime are fields 14-17.
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 15 {
		return "", 0, false
	}
	var total time.Duration
	for _, v := range f[11:15] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "", 0, false
		}
		total += time.Duration(n) * clockTick
	}
	return string(b[open+1 : end]), total, true
}

// Sub is the CPU used between o and s: from the end of o's reading to the start of s's.
func (s CPUSample) Sub(o CPUSample) CPUSample {
	d := CPUSample{Busy: s.Busy - o.busyAfter, Self: s.Self - o.selfAfter, Children: s.Children - o.childrenAfter,
		ByComm: map[string]time.Duration{}}
	for c, v := range s.ByComm {
		d.ByComm[c] = v - o.ByComm[c]
	}
	return d
}

// PerTask formats the sample's CPU divided by n tasks, in ms: the machine's, then each name's
// and, with names, this benchmark's own (its SDK client) and the rest (the kernel's threads,
// the containers' runc init, other processes).
func (s CPUSample) PerTask(n int, comms ...string) string {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(n) }
	out := fmt.Sprintf("%.1f ms", ms(s.Busy))
	if len(comms) == 0 {
		return out
	}
	named := s.Self
	for _, c := range comms {
		out += fmt.Sprintf(", %s %.1f", c, ms(s.ByComm[c]))
		named += s.ByComm[c]
	}
	return out + fmt.Sprintf(", SDK client %.1f, the rest %.1f", ms(s.Self), ms(s.Busy-named))
}

// PeerPerTask formats the sample's CPU divided by n raw runc starts, in ms: the machine's, the
// `runc run` processes' (this process's reaped children) and the rest (the containers' runc
// init, the kernel's threads, other processes).
func (s CPUSample) PeerPerTask(n int) string {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(n) }
	return fmt.Sprintf("%.1f ms, runc run %.1f, the rest %.1f", ms(s.Busy), ms(s.Children), ms(s.Busy-s.Children-s.Self))
}

// Add sums two differences, to average CPU over many runs.
func (s CPUSample) Add(o CPUSample) CPUSample {
	d := CPUSample{Busy: s.Busy + o.Busy, Self: s.Self + o.Self, Children: s.Children + o.Children, ByComm: map[string]time.Duration{}}
	for c, v := range s.ByComm {
		d.ByComm[c] += v
	}
	for c, v := range o.ByComm {
		d.ByComm[c] += v
	}
	return d
}
