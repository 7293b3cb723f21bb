package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestLogFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	w, err := OpenLogWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	w.now = func() time.Time { return at }
	long := strings.Repeat("x", maxLogLine+10)
	must(t, w.Copy(StreamStdout, strings.NewReader("one\ntwo\n"+long+"\nno newline")))
	must(t, w.Copy(StreamStderr, strings.NewReader("err\n")))
	must(t, w.Close())

	first, off, err := ReadLogFile(path, 0, 2)
	if err != nil || len(first) != 2 || first[0].Line != "one" || first[1].Line != "two" || !first[0].Time.Equal(at) {
		t.Fatalf("first page = %+v, %v", first, err)
	}
	rest, end, err := ReadLogFile(path, off, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []LogEntry{
		{Time: at, Stream: "stdout", Partial: true, Line: long[:maxLogLine]},
		{Time: at, Stream: "stdout", Line: long[maxLogLine:]},
		{Time: at, Stream: "stdout", Line: "no newline"},
		{Time: at, Stream: "stderr", Line: "err"},
	}
	if len(rest) != len(want) {
		t.Fatalf("rest = %d entries, want %d", len(rest), len(want))
	}
	for i := range want {
		if rest[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, rest[i], want[i])
		}
	}
	// A record still being written is not returned, and the offset stays before it.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	_, _ = io.WriteString(f, "2026-01-02T03:04:05Z stdout F half")
	f.Close()
	more, off2, err := ReadLogFile(path, end, 0)
	if err != nil || len(more) != 0 || off2 != end {
		t.Errorf("partial record: %+v at %d, %v", more, off2, err)
	}
}

// TestTrimLogFile: trimming frees the disk of a log's consumed part while offsets stay valid:
// reads from a kept offset return the same records, appends go on at the end, and a read that
// starts in the trimmed part skips it without an error.
func TestTrimLogFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	w, err := OpenLogWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines strings.Builder
	for i := range 40000 { // ~4 MB of records
		fmt.Fprintf(&lines, "line %05d %s\n", i, strings.Repeat("y", 40))
	}
	must(t, w.Copy(StreamStdout, strings.NewReader(lines.String())))
	all, end, err := ReadLogFile(path, 0, 0)
	if err != nil || len(all) != 40000 {
		t.Fatalf("read %d records, %v", len(all), err)
	}
	// The offset of record 30000, as a reader that shipped the first 30000 keeps it.
	_, mark, err := ReadLogFile(path, 0, 30000)
	if err != nil {
		t.Fatal(err)
	}
	used := func(size int64) int64 {
		var st unix.Stat_t
		if err := unix.Stat(path, &st); err != nil {
			t.Fatal(err)
		}
		if st.Size != size {
			t.Fatalf("size %d after a trim, want %d: offsets moved", st.Size, size)
		}
		return st.Blocks * 512
	}
	before := used(end)
	if err := TrimLogFile(path, mark, 0); errors.Is(err, ErrTrimUnsupported) {
		t.Fatalf("this host's temporary filesystem cannot punch holes: %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	trimmed := used(end)
	if want := end - mark + 64<<10; trimmed > want {
		t.Fatalf("%d bytes on disk after trimming to offset %d of %d (were %d), want at most %d", trimmed, mark, end, before, want)
	}
	// Again, with nothing left to free: nothing changes.
	must(t, TrimLogFile(path, mark, 0))
	if got := used(end); got != trimmed {
		t.Fatalf("a second trim to the same offset: %d bytes on disk, were %d", got, trimmed)
	}
	rest, _, err := ReadLogFile(path, mark, 0)
	if err != nil || len(rest) != 10000 || rest[0].Line != all[30000].Line || rest[9999].Line != all[39999].Line {
		t.Fatalf("after the trim, from the kept offset: %d records, %v", len(rest), err)
	}
	fromZero, _, err := ReadLogFile(path, 0, 0)
	if err != nil || len(fromZero) < 10000 || len(fromZero) > 10100 || fromZero[len(fromZero)-1].Line != all[39999].Line {
		t.Fatalf("after the trim, from offset 0: %d records, %v; want the untrimmed ones only", len(fromZero), err)
	}
	// The writer goes on at the end; a trim that keeps a tail keeps it.
	must(t, w.Copy(StreamStderr, strings.NewReader("after\n")))
	must(t, w.Close())
	must(t, TrimLogFile(path, 1<<62, 100<<10))
	tail, size, err := ReadLogFile(path, 0, 0)
	if perRecord := end / 40000; err != nil || int64(len(tail)) < 100<<10/perRecord-100 || tail[len(tail)-1].Line != "after" {
		t.Fatalf("after trimming all but 100 KiB: %d records, %v", len(tail), err)
	}
	if got := used(size); got > 100<<10+64<<10 {
		t.Fatalf("%d bytes on disk, want about 100 KiB", got)
	}
	must(t, TrimLogFile(filepath.Join(t.TempDir(), "none"), 1<<20, 0))
}
