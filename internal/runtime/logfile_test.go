package runtime

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
