package runtime

import (
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
// used as it is. A dir on disk that holds a file (tasks' state that a server of an older
// version, or one that could not mount, left there for running tasks) is kept on disk, with
// the reason: mounting over it would hide those tasks. So is a dir where the mount fails (no
// CAP_SYS_ADMIN). Others keep their state under dir too (the agent's task records), so any
// file counts, not only the runtime's.
// The mount outlives the process, as the shims do; nothing here unmounts it.
func InMemoryStateRoot(dir string) (bool, string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, "", fmt.Errorf("state root: %w", err)
	}
	if inMemory, err := onTmpfs(dir); err != nil || inMemory {
		return inMemory, "", err
	}
	if file, err := firstFile(dir); err != nil {
		return false, "", fmt.Errorf("state root: %w", err)
	} else if file != "" {
		return false, fmt.Sprintf("%s holds state on disk (%s)", dir, file), nil
	}
	if err := unix.Mount("gantry-state", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, stateTmpfsOptions); err != nil {
		// Slower starts, not a server that cannot start.
		return false, fmt.Sprintf("mount a tmpfs on %s: %v", dir, err), nil
	}
	return true, "", nil
}

// firstFile returns the path of a file under dir, or "" when dir holds directories only.
func firstFile(dir string) (string, error) {
	found := ""
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			found = path
			return fs.SkipAll
		}
		return nil
	})
	return found, err
}

func onTmpfs(dir string) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false, fmt.Errorf("state root: %w", err)
	}
	return st.Type == unix.TMPFS_MAGIC, nil
}
