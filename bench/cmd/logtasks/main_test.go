package main

import (
	"testing"
	"time"

	"github.com/gantry-dev/gantry/bench"
)

// The raw rate is over the union of the containers' own windows: first start to last end.
func TestReportRaw(t *testing.T) {
	t0 := time.Unix(1000, 0)
	check := func(want int, seqs ...int) *bench.SeqCheck {
		c := bench.NewSeqCheck(want, 12)
		for _, i := range seqs {
			c.Add(bench.FloodLineForTest(i, 12))
		}
		return c
	}
	rs := []bench.RawFlood{
		{ID: "a", WallStart: t0, WallEnd: t0.Add(900 * time.Millisecond), Start: t0.Add(100 * time.Millisecond), End: t0.Add(300 * time.Millisecond), Check: check(3, 0, 1, 2)},
		{ID: "b", WallStart: t0, WallEnd: t0.Add(time.Second), Start: t0.Add(200 * time.Millisecond), End: t0.Add(600 * time.Millisecond), Check: check(3, 0, 1, 2)},
	}
	rate, ok := reportRaw(rs, 1000)
	if !ok || rate != 2000 { // 1000 events over 100ms..600ms
		t.Errorf("reportRaw = %v, %v; want 2000 events/s, ok", rate, ok)
	}
	rs[1].Check = check(3, 0, 2)
	if _, ok := reportRaw(rs, 1000); ok {
		t.Error("a container with a missing line passed")
	}
	rs[0].End, rs[1].Start, rs[1].End = rs[0].Start, rs[0].Start, rs[0].Start
	if rate, _ := reportRaw(rs, 1000); rate != 0 {
		t.Errorf("empty window gave %v events/s, want 0", rate)
	}
}
