package bench

import (
	"slices"
	"testing"
)

func floodLine(i, size int) string { return FloodLineForTest(i, size) }

func TestFloodSeq(t *testing.T) {
	for _, tc := range []struct {
		line string
		seq  int
		ok   bool
	}{
		{"000000000 abc", 0, true},
		{"000012345 ", 12345, true},
		{"999999999 x", 999999999, true},
		{"00000001 abc", 0, false}, // 8 digits
		{"0000000012 x", 0, false}, // no space after 9 digits
		{"00000a001 x", 0, false},  // not a digit
		{"000000001", 0, false},    // nothing after the number
		{"", 0, false},
	} {
		seq, ok := FloodSeq(tc.line)
		if seq != tc.seq || ok != tc.ok {
			t.Errorf("FloodSeq(%q) = %d, %v; want %d, %v", tc.line, seq, ok, tc.seq, tc.ok)
		}
	}
}

func TestSeqCheck(t *testing.T) {
	const size = 20
	lines := func(seqs ...int) []string {
		var out []string
		for _, s := range seqs {
			out = append(out, floodLine(s, size))
		}
		return out
	}
	for _, tc := range []struct {
		name                                    string
		in                                      []string
		ok                                      bool
		lost, dups, bad, outOfOrder, count, dis int
	}{
		{"complete", lines(0, 1, 2, 3), true, 0, 0, 0, 0, 4, 4},
		{"lost", lines(0, 1, 3), false, 1, 0, 0, 1, 3, 3},
		{"duplicated", lines(0, 1, 1, 2, 3), false, 0, 1, 0, 1, 5, 4},
		{"reordered", lines(0, 2, 1, 3), false, 0, 0, 0, 3, 4, 4},
		{"out of range", lines(0, 1, 2, 3, 4), false, 0, 0, 1, 0, 5, 4},
		{"wrong size", append(lines(0, 1, 2), floodLine(3, size+1)), false, 1, 0, 1, 0, 4, 3},
		{"garbage", append(lines(0, 1, 2, 3), "hello"), false, 0, 0, 1, 0, 5, 4},
		{"empty", nil, false, 4, 0, 0, 0, 0, 0},
	} {
		c := NewSeqCheck(4, size)
		for _, l := range tc.in {
			c.Add(l)
		}
		if c.OK() != tc.ok || c.Lost() != tc.lost || c.Dups != tc.dups || c.Bad != tc.bad || c.OutOfOrder != tc.outOfOrder ||
			c.Lines != tc.count || c.Distinct != tc.dis {
			t.Errorf("%s: %s, ok %v; want ok %v lost %d dups %d bad %d out of order %d lines %d distinct %d",
				tc.name, c, c.OK(), tc.ok, tc.lost, tc.dups, tc.bad, tc.outOfOrder, tc.count, tc.dis)
		}
	}
}

func TestFloodCommand(t *testing.T) {
	// As internal/testimage's flood writes it (its test checks the same line).
	if got := FloodLineForTest(1, 14); got != "000000001 klmn" {
		t.Errorf("FloodLineForTest(1, 14) = %q", got)
	}
	if got := FloodCommand(250000, 100, false); !slices.Equal(got, []string{"flood", "250000", "100"}) {
		t.Errorf("FloodCommand = %q", got)
	}
	if got := FloodCommand(5, 10, true); !slices.Equal(got, []string{"flood", "5", "10", "stats"}) {
		t.Errorf("FloodCommand with stats = %q", got)
	}
	if got := FloodStream("arn:aws:ecs:us-east-1:000000000000:task/default/abc123"); got != "bench/app/abc123" {
		t.Errorf("FloodStream = %q", got)
	}
}

func TestProcStatCPU(t *testing.T) {
	stat := "1234 (gantry (x) y) S 1 1234 1234 0 -1 4194560 5000 0 0 0 250 75 0 0 20 0 12 0 100 0 0\n"
	if d, err := procStatCPU(stat); err != nil || d.Milliseconds() != 3250 {
		t.Errorf("procStatCPU = %v, %v; want 3.25s", d, err)
	}
	if _, err := procStatCPU("1234 (x) S 1"); err == nil {
		t.Error("short stat: no error")
	}
}
