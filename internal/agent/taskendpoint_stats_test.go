package agent

import (
	"os"
	"testing"
	"time"
)

// TestSampleStats reads this process's own cgroups and namespace, as the endpoint reads a
// container's: the counters a stats document is made of are there and non-zero.
func TestSampleStats(t *testing.T) {
	doc, ok := sampleStats(os.Getpid(), time.Now())
	if !ok {
		t.Fatal("no stats for this process")
	}
	if doc.CPUStats.CPUUsage.TotalUsage == 0 || doc.MemoryStats.Usage == 0 || doc.MemoryStats.Limit == 0 ||
		doc.CPUStats.SystemUsage == 0 || doc.CPUStats.OnlineCPUs == 0 {
		t.Errorf("stats = %+v", doc)
	}
	if doc.MemoryStats.Limit > hostMemory() {
		t.Errorf("memory limit %d above the host's %d", doc.MemoryStats.Limit, hostMemory())
	}
}

func TestProcCgroupsParsesBothVersions(t *testing.T) {
	g, err := procCgroups(os.Getpid())
	if err != nil || len(g) == 0 {
		t.Fatalf("procCgroups: %v %v", g, err)
	}
}
