package logstore

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestCompaction: a sealed segment whose older half has expired is rewritten without the
// expired events; sequence numbers and reads stay as they were, also after a restart, and a
// crash that left the old segment beside its compacted copy reads no event twice.
func TestCompaction(t *testing.T) {
	now := time.UnixMilli(100 * 86400_000)
	clock := func() time.Time { return now }
	dir := t.TempDir()
	day := int64(86400_000)
	s := openTest(t, dir, 400, clock)
	if err := s.CreateStream(g, "s", 1); err != nil {
		t.Fatal(err)
	}
	for d := int64(10); d >= 1; d-- { // one event a day, ten days ago to one: one segment
		if _, err := s.Append(g, "s", []Event{{Timestamp: now.UnixMilli() - d*day, Message: fmt.Sprintf("day -%02d", d)}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Append(g, "s", []Event{{Timestamp: now.UnixMilli(), Message: "today"}}); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "groups", "*", "streams", "*", "*.seg"))
	if len(segs) != 2 {
		t.Fatalf("%d segments, want a sealed one and the active one", len(segs))
	}
	old, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	before := segBytesOnDisk(t, dir)
	if err := s.SetRetention(g, 5); err != nil { // days -10 .. -6 expire
		t.Fatal(err)
	}
	if after := segBytesOnDisk(t, dir); after >= before {
		t.Fatalf("segment bytes %d -> %d: the half-expired segment was not compacted", before, after)
	}
	want := []string{"day -05", "day -04", "day -03", "day -02", "day -01", "today"}
	check := func(s *Store, when string) {
		t.Helper()
		pg, err := s.Read(g, "s", Query{})
		if err != nil {
			t.Fatal(err)
		}
		if got := messages(pg.Events); !slices.Equal(got, want) {
			t.Fatalf("%s: %v, want %v", when, got, want)
		}
		if pg.Events[0].Seq != 6 || pg.Events[5].Seq != 11 {
			t.Fatalf("%s: seqs %d..%d, want 6..11", when, pg.Events[0].Seq, pg.Events[5].Seq)
		}
		if info, _ := s.Stream(g, "s"); info.Events != 6 {
			t.Fatalf("%s: stream info %+v, want 6 events", when, info)
		}
	}
	check(s, "after compaction")
	s.Close()
	s = openTest(t, dir, 400, clock)
	check(s, "after a restart")
	s.Close()
	// A crash between writing the compacted segment and removing the old one.
	if err := os.WriteFile(segs[0], old, 0o600); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir, 400, clock)
	check(s, "after a crash mid-compaction")
	if got, _ := filepath.Glob(filepath.Join(dir, "groups", "*", "streams", "*", "*.seg")); len(got) != 2 {
		t.Errorf("%d segments after recovery, want 2", len(got))
	}
	out, err := s.Append(g, "s", []Event{{Timestamp: now.UnixMilli(), Message: "later"}})
	if err != nil || out[0].Seq != 12 {
		t.Fatalf("append after recovery: %v %v, want seq 12", out, err)
	}
}
