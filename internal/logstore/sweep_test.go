package logstore

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// segBytesOnDisk sums the sizes of a store's segment files.
func segBytesOnDisk(t *testing.T, dir string) int64 {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "groups", "*", "streams", "*", "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

// TestSweepExpiresIdleStreams: retention deletes the events of streams that no one writes or
// reads any more, the segment still taking appends included, also after a restart; sequence
// numbers go on after the expired segment.
func TestSweepExpiresIdleStreams(t *testing.T) {
	now := time.UnixMilli(100 * 86400_000)
	clock := func() time.Time { return now }
	dir := t.TempDir()
	s := openTest(t, dir, DefaultSegmentBytes, clock)
	day := int64(86400_000)
	for _, name := range []string{"old", "fresh"} {
		if err := s.CreateStream(g, name, 1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Append(g, "old", []Event{{Timestamp: now.UnixMilli() - 5*day, Message: "five days old"}, {Timestamp: now.UnixMilli() - 4*day, Message: "four days old"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(g, "fresh", []Event{{Timestamp: now.UnixMilli(), Message: "today"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRetention(g, 7); err != nil {
		t.Fatal(err)
	}
	before := segBytesOnDisk(t, dir)
	s.Close()

	// A restart: nothing is loaded until the sweep, which must find the group on disk.
	now = now.Add(4 * 24 * time.Hour)
	s = openTest(t, dir, DefaultSegmentBytes, clock)
	if err := s.Sweep(); err != nil {
		t.Fatal(err)
	}
	after := segBytesOnDisk(t, dir)
	if after >= before {
		t.Fatalf("segment bytes on disk %d -> %d: the expired events were not deleted", before, after)
	}
	info, err := s.Stream(g, "old")
	if err != nil {
		t.Fatal(err)
	}
	if info.Events != 0 || info.StoredBytes != 0 {
		t.Errorf("old stream after retention: %+v, want no events", info)
	}
	if info, _ := s.Stream(g, "fresh"); info.Events != 1 {
		t.Errorf("fresh stream after retention: %+v, want its event", info)
	}
	out, err := s.Append(g, "old", []Event{{Timestamp: now.UnixMilli(), Message: "new"}})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Seq != 3 {
		t.Errorf("seq after expiry %d, want 3", out[0].Seq)
	}
	s.Close()
	s = openTest(t, dir, DefaultSegmentBytes, clock)
	pg, err := s.Read(g, "old", Query{})
	if err != nil {
		t.Fatal(err)
	}
	if got := messages(pg.Events); !slices.Equal(got, []string{"new"}) || pg.Events[0].Seq != 3 {
		t.Errorf("old stream after restart: %v (seq %d), want [new] seq 3", got, pg.Events[0].Seq)
	}
}

// TestSweepClosesIdleFiles: many streams written once do not keep a file open each.
func TestSweepClosesIdleFiles(t *testing.T) {
	now := time.UnixMilli(100 * 86400_000)
	clock := func() time.Time { return now }
	s := openTest(t, t.TempDir(), DefaultSegmentBytes, clock)
	const n = 200
	for i := range n {
		name := fmt.Sprint("task-", i)
		if err := s.CreateStream(g, name, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(g, name, []Event{{Timestamp: now.UnixMilli(), Message: "hello"}}); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.openFiles(); got != n {
		t.Fatalf("open files %d, want %d", got, n)
	}
	now = now.Add(DefaultIdleClose / 2)
	if _, err := s.Append(g, "task-0", []Event{{Timestamp: now.UnixMilli(), Message: "again"}}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(DefaultIdleClose/2 + time.Second)
	if err := s.Sweep(); err != nil {
		t.Fatal(err)
	}
	if got := s.openFiles(); got != 1 {
		t.Errorf("open files after the sweep %d, want 1 (the stream written lately)", got)
	}
	if _, err := s.Append(g, "task-7", []Event{{Timestamp: now.UnixMilli(), Message: "back"}}); err != nil {
		t.Fatal(err)
	}
	pg, err := s.Read(g, "task-7", Query{})
	if err != nil {
		t.Fatal(err)
	}
	if got := messages(pg.Events); !slices.Equal(got, []string{"hello", "back"}) {
		t.Errorf("task-7 %v", got)
	}
}
