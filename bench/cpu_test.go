package bench

import (
	"os"
	"path/filepath"
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
	deadline := time.Now().Add(60 * time.Millisecond)
	for time.Now().Before(deadline) { // burn CPU, so the window has some
	}
	b, err := SampleCPU(filepath.Base(os.Args[0]))
	if err != nil {
		t.Fatal(err)
	}
	d := b.Sub(a)
	// Self is measured in ns; the machine's and the processes' in 10 ms ticks.
	if d.Self < 40*time.Millisecond || d.Self > 2*time.Second {
		t.Errorf("own CPU over a 60 ms busy loop: %v", d.Self)
	}
	if d.Busy < 2*clockTick {
		t.Errorf("machine busy over a 60 ms busy loop: %v", d.Busy)
	}
	if got := d.Add(d); got.Self != 2*d.Self || got.Children != 2*d.Children {
		t.Errorf("Add: %+v of %+v", got, d)
	}
}
