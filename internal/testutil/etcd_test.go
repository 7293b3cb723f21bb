package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// TestRemoveDeadEtcdDirs: the directory of an exited test binary goes; a live one's, and other
// names, stay.
func TestRemoveDeadEtcdDirs(t *testing.T) {
	tmp := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	deadDir := etcdDirPrefix + strconv.Itoa(dead.Process.Pid) + "-123"
	liveDir := etcdDirPrefix + strconv.Itoa(os.Getpid()) + "-456"
	for _, d := range []string{deadDir, liveDir, etcdDirPrefix + "789", "other"} {
		if err := os.MkdirAll(filepath.Join(tmp, d, "member"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	removeDeadEtcdDirs(tmp)
	for d, want := range map[string]bool{deadDir: false, liveDir: true, etcdDirPrefix + "789": true, "other": true} {
		_, err := os.Stat(filepath.Join(tmp, d))
		if got := err == nil; got != want {
			t.Errorf("%s exists = %v, want %v", d, got, want)
		}
	}
}
