package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestLoadTaskKeepsTheRecordWhileItsFileIsTheSame: a record is read from its file once and
// again only when the file is replaced or gone; a deleted task is forgotten.
func TestLoadTaskKeepsTheRecordWhileItsFileIsTheSame(t *testing.T) {
	r := &Runc{cfg: Config{StateRoot: t.TempDir()}}
	d := r.dir("t1")
	if err := os.MkdirAll(string(d), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := writeJSONAtomic(d.record(), taskRecord{ID: "t1", LogDir: "/logs/one"}); err != nil {
		t.Fatal(err)
	}
	_, rec, err := r.loadTask("t1")
	if err != nil || rec.LogDir != "/logs/one" {
		t.Fatalf("loadTask = %+v, %v", rec, err)
	}
	// What answers an unchanged file is the kept record: a planted one comes back.
	r.recMu.Lock()
	c := r.records["t1"]
	c.rec.LogDir = "/planted"
	r.records["t1"] = c
	r.recMu.Unlock()
	if _, rec, _ := r.loadTask("t1"); rec.LogDir != "/planted" {
		t.Fatalf("loadTask of an unchanged file = %q, want the kept record", rec.LogDir)
	}
	// A replaced file (same size, a rename as writeJSONAtomic does) is read again.
	if err := writeJSONAtomic(d.record(), taskRecord{ID: "t1", LogDir: "/logs/two"}); err != nil {
		t.Fatal(err)
	}
	if _, rec, _ := r.loadTask("t1"); rec.LogDir != "/logs/two" {
		t.Fatalf("loadTask after the file was replaced = %q, want /logs/two", rec.LogDir)
	}
	// A file that is gone is a task that is gone, and nothing of it is kept.
	if err := os.Remove(d.record()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.loadTask("t1"); !errors.Is(err, ErrTaskNotFound) {
		t.Fatalf("loadTask without a record: %v, want ErrTaskNotFound", err)
	}
	if _, ok := r.records["t1"]; ok {
		t.Error("the record of a task without a file is still kept")
	}
	// DeleteTask forgets it too (here: a task whose directory is already gone).
	if err := os.MkdirAll(filepath.Dir(d.record()), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := writeJSONAtomic(d.record(), taskRecord{ID: "t1"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.loadTask("t1"); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(string(d)); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteTask(t.Context(), "t1"); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.records["t1"]; ok {
		t.Error("DeleteTask left the task's record kept")
	}
}
