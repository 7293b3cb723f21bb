package main

import (
	"bufio"
	"fmt"
	"os"
	"time"
)

// floodSeqDigits is the width of the sequence number that begins every flood line.
const floodSeqDigits = 9

// flood writes n lines of size bytes each (newline not counted) to stdout as fast as it can,
// through one buffer: line i (from 0) begins with i in floodSeqDigits zero-padded digits and a
// space, the rest is filler, so a reader can check that no line was lost or repeated. With stats
// it then writes "flood lines=N bytes=B start=<unix ns> end=<unix ns>" to stderr.
func flood(n, size int, stats bool) {
	if n < 0 || n >= 1_000_000_000 {
		fail(fmt.Sprintf("flood: %d lines: want 0 to 999999999", n))
	}
	if size < floodSeqDigits+1 || size > 1<<20 {
		fail(fmt.Sprintf("flood: %d bytes a line: want %d to %d", size, floodSeqDigits+1, 1<<20))
	}
	line := make([]byte, size+1)
	for i := floodSeqDigits + 1; i < size; i++ {
		line[i] = 'a' + byte(i%26)
	}
	line[floodSeqDigits], line[size] = ' ', '\n'
	w := bufio.NewWriterSize(os.Stdout, 64<<10)
	start := time.Now()
	for i := range n {
		for d, v := floodSeqDigits-1, i; d >= 0; d, v = d-1, v/10 {
			line[d] = '0' + byte(v%10)
		}
		if _, err := w.Write(line); err != nil {
			fail("flood: " + err.Error())
		}
	}
	check(w.Flush())
	end := time.Now()
	if stats {
		fmt.Fprintf(os.Stderr, "flood lines=%d bytes=%d start=%d end=%d\n", n, size, start.UnixNano(), end.UnixNano())
	}
}
