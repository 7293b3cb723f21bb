package bench

import (
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

func TestProcCPU(t *testing.T) {
	// A name with spaces and parentheses, as a process may give itself; utime 7, stime 5,
	// cutime 20, cstime 3 ticks.
	line := "4242 (we (ird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 5 20 3 20 0 1 0 12345 1000 10 18446744073709551615\n"
	p := filepath.Join(t.TempDir(), "stat")
	if err := os.WriteFile(p, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	comm, cpu, ok := procCPU(p)
	if !ok || comm != "we (ird) name" || cpu != 35*clockTick {
		t.Fatalf("procCPU = %q, %v, %v; want \"we (ird) name\", 350ms, true", comm, cpu, ok)
	}
	if _, _, ok := procCPU(filepath.Join(t.TempDir(), "gone")); ok {
		t.Fatal("a process that is gone was read")
	}
}

func TestSampleCPUWindow(t *testing.T) {
	a, err := SampleCPU(filepath.Base(os.Args[0]))
	if err != nil {
		t.Fatal(err)
	}
	// Burn 60 ms of this process's CPU, however long a loaded machine takes to give it.
	start, deadline := time.Now(), time.Now().Add(10*time.Second)
	for ownCPU(t)-a.selfAfter < 60*time.Millisecond && time.Now().Before(deadline) {
		for range 100000 {
		}
	}
	wall := time.Since(start)
	b, err := SampleCPU(filepath.Base(os.Args[0]))
	if err != nil {
		t.Fatal(err)
	}
	d := b.Sub(a)
	if d.Self < 60*time.Millisecond || d.Self > wall*time.Duration(runtime.NumCPU())+10*time.Millisecond {
		t.Errorf("own CPU %v over %v of wall time burning 60 ms", d.Self, wall)
	}
	// The machine's and the processes' CPU is counted in 10 ms ticks.
	if d.Busy < 60*time.Millisecond-2*clockTick {
		t.Errorf("machine busy %v while this process used %v", d.Busy, d.Self)
	}
	if got := d.Add(d); got.Self != 2*d.Self || got.Children != 2*d.Children || got.Busy != 2*d.Busy {
		t.Errorf("Add: %+v of %+v", got, d)
	}
}

func ownCPU(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
