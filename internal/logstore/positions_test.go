package logstore

import (
	"testing"
	"time"
)

// TestReadPositions: a forward read reports where each event starts, and reading from there
// returns that event first, across segments.
func TestReadPositions(t *testing.T) {
	now := time.UnixMilli(100 * 86400_000)
	s := openTest(t, t.TempDir(), 400, func() time.Time { return now })
	if err := s.CreateStream(g, "s", 1); err != nil {
		t.Fatal(err)
	}
	fill(t, s, "s", 50, 7, now.UnixMilli()-1000)
	pg, err := s.Read(g, "s", Query{Positions: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(pg.Positions) != len(pg.Events) || len(pg.Events) != 50 {
		t.Fatalf("%d positions for %d events", len(pg.Positions), len(pg.Events))
	}
	segs := map[uint64]bool{}
	for i, p := range pg.Positions {
		segs[p.Seg] = true
		tok, err := ParsePos(p.String())
		if err != nil {
			t.Fatal(err)
		}
		from, err := s.Read(g, "s", Query{From: &tok, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(from.Events) != 1 || from.Events[0].Seq != pg.Events[i].Seq {
			t.Fatalf("read from position %d: %v, want seq %d", i, from.Events, pg.Events[i].Seq)
		}
	}
	if len(segs) < 2 {
		t.Errorf("positions in %d segments; the test wants several", len(segs))
	}
	if pg, _ := s.Read(g, "s", Query{}); pg.Positions != nil {
		t.Error("positions without asking")
	}
}
