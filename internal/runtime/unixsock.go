package runtime

import (
	"fmt"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// maxUnixPath is the longest path a unix socket's address holds (sun_path, less its NUL).
const maxUnixPath = len(unix.RawSockaddrUnix{}.Path) - 1

// shortUnixPath names the socket file at path in a way that fits a unix socket's address: path
// itself when it fits, else the same file through a descriptor of its directory
// (/proc/self/fd/N/name), so that a deep state root (a long --data-dir) still works. done
// closes that descriptor once the bind or connect is made.
func shortUnixPath(path string) (short string, done func(), err error) {
	if len(path) <= maxUnixPath {
		return path, func() {}, nil
	}
	fd, err := unix.Open(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, fmt.Errorf("socket directory: %w", err)
	}
	return "/proc/self/fd/" + strconv.Itoa(fd) + "/" + filepath.Base(path), func() { unix.Close(fd) }, nil
}
