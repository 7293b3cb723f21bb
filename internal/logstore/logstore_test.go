package logstore

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const g = "000000000000/us-east-1/app"

func openTest(t *testing.T, dir string, segBytes int64, now func() time.Time) *Store {
	t.Helper()
	s, err := Open(dir, Options{SegmentBytes: segBytes, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fill appends n events with timestamps base, base+1 ... in batches of batch.
func fill(t *testing.T, s *Store, stream string, n, batch int, base int64) {
	t.Helper()
	for i := 0; i < n; i += batch {
		var evs []Event
		for j := i; j < min(n, i+batch); j++ {
			evs = append(evs, Event{Timestamp: base + int64(j), Message: fmt.Sprintf("line %d", j)})
		}
		if _, err := s.Append(g, stream, evs); err != nil {
			t.Fatal(err)
		}
	}
}

func messages(evs []Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Message)
	}
	return out
}

func lines(from, to int) []string {
	var out []string
	if from <= to {
		for i := from; i <= to; i++ {
			out = append(out, fmt.Sprintf("line %d", i))
		}
		return out
	}
	for i := from; i >= to; i-- {
		out = append(out, fmt.Sprintf("line %d", i))
	}
	return out
}

func TestRead(t *testing.T) {
	s := openTest(t, t.TempDir(), 300, nil) // a few events per segment
	if err := s.CreateStream(g, "s", 1); err != nil {
		t.Fatal(err)
	}
	fill(t, s, "s", 50, 7, 1000)
	tests := []struct {
		name string
		q    Query
		want []string
		end  bool
	}{
		{"all forward", Query{}, lines(0, 49), true},
		{"all backward", Query{Backward: true}, lines(49, 0), true},
		{"limit forward", Query{Limit: 5}, lines(0, 4), false},
		{"limit backward", Query{Backward: true, Limit: 3}, lines(49, 47), false},
		{"time range", Query{Start: 1010, End: 1013}, lines(10, 12), true},
		{"time range backward", Query{Start: 1010, End: 1013, Backward: true}, lines(12, 10), true},
		{"start past end", Query{Start: 5000}, nil, true},
		{"match", Query{Match: func(e Event) bool { return strings.HasSuffix(e.Message, "7") }}, []string{"line 7", "line 17", "line 27", "line 37", "line 47"}, true},
		{"max bytes", Query{MaxBytes: 3 * (6 + 26), Overhead: 26}, lines(0, 2), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pg, err := s.Read(g, "s", tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := messages(pg.Events); !slices.Equal(got, tt.want) {
				t.Errorf("events = %v, want %v", got, tt.want)
			}
			if pg.End != tt.end {
				t.Errorf("end = %v, want %v", pg.End, tt.end)
			}
		})
	}
}

func TestPaging(t *testing.T) {
	for _, backward := range []bool{false, true} {
		t.Run(fmt.Sprintf("backward=%v", backward), func(t *testing.T) {
			s := openTest(t, t.TempDir(), 256, nil)
			if err := s.CreateStream(g, "s", 1); err != nil {
				t.Fatal(err)
			}
			fill(t, s, "s", 100, 9, 0)
			var got []string
			var from *Pos
			for range 100 {
				pg, err := s.Read(g, "s", Query{From: from, Limit: 7, Backward: backward})
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, messages(pg.Events)...)
				tok, err := ParsePos(pg.Next.String())
				if err != nil || tok != pg.Next {
					t.Fatalf("token round trip: %v %v", tok, err)
				}
				if from != nil && *from == pg.Next {
					break // the same token again: the end, as the CLI's paginator expects
				}
				from = &tok
			}
			want := lines(0, 99)
			if backward {
				want = lines(99, 0)
			}
			if !slices.Equal(got, want) {
				t.Errorf("paged = %v", got)
			}
			// A forward token at the end picks up what is appended later.
			if !backward {
				fill(t, s, "s", 3, 3, 200)
				pg, err := s.Read(g, "s", Query{From: from})
				if err != nil {
					t.Fatal(err)
				}
				if got := messages(pg.Events); !slices.Equal(got, lines(0, 2)) {
					t.Errorf("after append: %v", got)
				}
			}
		})
	}
}

func TestRestart(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, 200, nil)
	if err := s.CreateStream(g, "a/b:c", 42); err != nil {
		t.Fatal(err)
	}
	fill(t, s, "a/b:c", 40, 3, 10)
	before, _ := s.Stream(g, "a/b:c")
	s.Close()

	s2 := openTest(t, dir, 200, nil)
	info, err := s2.Stream(g, "a/b:c")
	if err != nil {
		t.Fatal(err)
	}
	if info != before || info.Events != 40 || info.FirstEventTime != 10 || info.LastEventTime != 49 || info.CreatedAt != 42 {
		t.Errorf("after restart %+v, before %+v", info, before)
	}
	fill(t, s2, "a/b:c", 2, 2, 100)
	pg, err := s2.Read(g, "a/b:c", Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pg.Events) != 42 {
		t.Fatalf("%d events", len(pg.Events))
	}
	for i, e := range pg.Events {
		if e.Seq != uint64(i+1) {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
	}
}

// TestTornTail cuts the last segment in the middle of a record at every offset of its last
// record: after reopening, the stream holds exactly the records before it, and appends go on.
func TestTornTail(t *testing.T) {
	for cut := 1; cut < recordOverhead+len("line 9"); cut += 3 {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			dir := t.TempDir()
			s := openTest(t, dir, 1<<20, nil)
			if err := s.CreateStream(g, "s", 1); err != nil {
				t.Fatal(err)
			}
			fill(t, s, "s", 10, 1, 0)
			s.Close()
			segs, _ := filepath.Glob(filepath.Join(dir, "groups", "*", "streams", "*", "*.seg"))
			if len(segs) != 1 {
				t.Fatalf("segments %v", segs)
			}
			fi, _ := os.Stat(segs[0])
			if err := os.Truncate(segs[0], fi.Size()-int64(cut)); err != nil {
				t.Fatal(err)
			}
			s2 := openTest(t, dir, 1<<20, nil)
			fill(t, s2, "s", 1, 1, 100) // "line 0" again, at ts 100
			pg, err := s2.Read(g, "s", Query{})
			if err != nil {
				t.Fatal(err)
			}
			want := append(lines(0, 8), "line 0")
			if got := messages(pg.Events); !slices.Equal(got, want) {
				t.Errorf("events %v, want %v", got, want)
			}
			if last := pg.Events[len(pg.Events)-1]; last.Seq != 10 {
				t.Errorf("new event has seq %d, want 10", last.Seq)
			}
		})
	}
}

func TestCorruptMiddleRecordEndsSegment(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, 1<<20, nil)
	if err := s.CreateStream(g, "s", 1); err != nil {
		t.Fatal(err)
	}
	fill(t, s, "s", 5, 5, 0)
	s.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "groups", "*", "streams", "*", "*.seg"))
	f, err := os.OpenFile(segs[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	rec := int64(recordOverhead + len("line 0"))
	if _, err := f.WriteAt([]byte{0xff}, 2*rec+headerSize+bodyFixed); err != nil { // a byte of event 2's message
		t.Fatal(err)
	}
	f.Close()
	s2 := openTest(t, dir, 1<<20, nil)
	pg, err := s2.Read(g, "s", Query{})
	if err != nil {
		t.Fatal(err)
	}
	if got := messages(pg.Events); !slices.Equal(got, lines(0, 1)) {
		t.Errorf("events %v", got)
	}
}

func TestRetention(t *testing.T) {
	now := time.UnixMilli(100 * 86400_000)
	clock := func() time.Time { return now }
	dir := t.TempDir()
	s := openTest(t, dir, 150, clock)
	if err := s.CreateStream(g, "s", 1); err != nil {
		t.Fatal(err)
	}
	day := int64(86400_000)
	for d := int64(0); d < 10; d++ {
		ts := now.UnixMilli() - (10-d)*day
		if _, err := s.Append(g, "s", []Event{{Timestamp: ts, Message: fmt.Sprint("day ", d)}, {Timestamp: ts + 1, Message: fmt.Sprint("day ", d, "b")}}); err != nil {
			t.Fatal(err)
		}
	}
	segsBefore, _ := filepath.Glob(filepath.Join(dir, "groups", "*", "streams", "*", "*.seg"))
	if err := s.SetRetention(g, 3); err != nil {
		t.Fatal(err)
	}
	segsAfter, _ := filepath.Glob(filepath.Join(dir, "groups", "*", "streams", "*", "*.seg"))
	if len(segsAfter) >= len(segsBefore) {
		t.Errorf("segments %d -> %d: nothing deleted", len(segsBefore), len(segsAfter))
	}
	pg, err := s.Read(g, "s", Query{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"day 7", "day 7b", "day 8", "day 8b", "day 9", "day 9b"}
	if got := messages(pg.Events); !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	info, _ := s.Stream(g, "s")
	if info.FirstEventTime >= now.UnixMilli()-3*day {
		t.Logf("first event time %d", info.FirstEventTime)
	}
}

func TestStreamsAndDelete(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, 0, nil)
	for _, n := range []string{"b", "a", "c"} {
		if err := s.CreateStream(g, n, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateStream(g, "a", 1); err != ErrStreamExists {
		t.Errorf("create again: %v", err)
	}
	if err := s.DeleteStream(g, "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStream(g, "b"); err != ErrStreamNotFound {
		t.Errorf("delete again: %v", err)
	}
	infos, _ := s.Streams(g)
	if len(infos) != 2 || infos[0].Name != "a" || infos[1].Name != "c" {
		t.Errorf("streams %+v", infos)
	}
	if err := s.DeleteGroup(g); err != nil {
		t.Fatal(err)
	}
	if infos, _ := s.Streams(g); len(infos) != 0 {
		t.Errorf("after group delete %+v", infos)
	}
	if _, err := s.Append(g, "a", []Event{{Message: "x"}}); err != ErrStreamNotFound {
		t.Errorf("append after delete: %v", err)
	}
}
