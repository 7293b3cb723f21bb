package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// stateTmpfsOptions bound the in-memory state root. A task's state is a few files of a few KiB
// (its output is under Config.LogRoot), so the size only stops a runaway from taking the
// host's memory; a tmpfs takes memory for what it holds, not for its size.
const stateTmpfsOptions = "mode=0700,size=256m"

// InMemoryStateRoot makes dir, a runtime's StateRoot, a tmpfs, as runc's /run/runc and
// containerd's /run/containerd are on most hosts: each task start creates and replaces a dozen
// small files there, and on a disk each costs an inode allocation, which an ext4 without a
// journal makes slow for minutes after files were deleted (docs/performance.md). The state
// describes processes, which a reboot ends anyway, so it loses nothing with the tmpfs.
//
// It reports whether the state is in memory. A dir already on a tmpfs (a restart, or /run) is
// used as it is. A dir on disk that holds tasks' state (a server of an older version left
// tasks running) is kept on disk, with the reason: mounting over it would hide those tasks.
// So is a dir where the mount fails (no CAP_SYS_ADMIN).
// The mount outlives the process, as the shims do; nothing here unmounts it.
func InMemoryStateRoot(dir string) (bool, string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, "", fmt.Errorf("state root: %w", err)
	}
	if inMemory, err := onTmpfs(dir); err != nil || inMemory {
		return inMemory, "", err
	}
	tasks, err := os.ReadDir(filepath.Join(dir, "tasks"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, "", fmt.Errorf("state root: %w", err)
	}
	if len(tasks) > 0 {
		return false, fmt.Sprintf("%s holds tasks' state on disk (%d)", dir, len(tasks)), nil
	}
	if err := unix.Mount("gantry-state", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, stateTmpfsOptions); err != nil {
		// Slower starts, not a server that cannot start.
		return false, fmt.Sprintf("mount a tmpfs on %s: %v", dir, err), nil
	}
	return true, "", nil
}

func onTmpfs(dir string) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false, fmt.Errorf("state root: %w", err)
	}
	return st.Type == unix.TMPFS_MAGIC, nil
}
