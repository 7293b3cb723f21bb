package logstore

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// TestManyStreamsBoundedMemory: memory grows with the number of streams by their segment
// indexes only (not their events), and after the sweep no stream keeps a file open.
func TestManyStreamsBoundedMemory(t *testing.T) {
	now := time.UnixMilli(100 * 86400_000)
	clock := func() time.Time { return now }
	s, err := Open(t.TempDir(), Options{NoSync: true, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	const streams, events = 1000, 50
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	msg := fmt.Sprintf("%0200d", 7) // 200 bytes: 1000 x 50 x 200 = 10 MB of events
	for i := range streams {
		name := fmt.Sprint("ecs/app/", i)
		if err := s.CreateStream(g, name, 1); err != nil {
			t.Fatal(err)
		}
		batch := make([]Event, events)
		for j := range batch {
			batch[j] = Event{Timestamp: now.UnixMilli() + int64(j), Message: msg}
		}
		if _, err := s.Append(g, name, batch); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(DefaultIdleClose + time.Second)
	if err := s.Sweep(); err != nil {
		t.Fatal(err)
	}
	after := heap()
	per := (int64(after) - int64(before)) / streams
	t.Logf("%d streams of %d events (%d bytes each): heap %d -> %d bytes, %d per stream", streams, events, len(msg), before, after, per)
	if per > 4096 {
		t.Errorf("%d heap bytes per stream: more than its index", per)
	}
	if n := s.openFiles(); n != 0 {
		t.Errorf("%d streams keep a file open after the sweep", n)
	}
}
