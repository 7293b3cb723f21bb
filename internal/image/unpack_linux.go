package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
	// overlayOpaque marks a directory whose lower-layer contents overlayfs must hide.
	overlayOpaque = "trusted.overlay.opaque"
)

// resolveStrict makes openat2 refuse any symlink and any escape from the directory it starts at,
// so no entry can be written through a link planted by an earlier entry.
const resolveStrict = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV

// UnpackOptions tunes Unpack.
type UnpackOptions struct {
	// AllowDevices creates character and block device nodes; otherwise they are skipped.
	// Whiteouts (character device 0/0) and FIFOs are always created.
	AllowDevices bool
}

// Unpack extracts the uncompressed tar stream r into dir, an existing directory. OCI whiteouts
// become overlayfs whiteouts. No entry can create or modify anything outside dir: names with ".."
// escaping the root, hard links to outside and paths through symlinks fail with ErrUnsafePath;
// absolute names are taken relative to dir.
func Unpack(r io.Reader, dir string, opts UnpackOptions) error {
	root, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open layer root %q: %w", dir, err)
	}
	defer unix.Close(root)
	u := &unpacker{root: root, rootPath: dir, opts: opts}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read layer tar: %w", err)
		}
		if err := u.entry(hdr, tr); err != nil {
			return fmt.Errorf("layer entry %q: %w", hdr.Name, err)
		}
	}
	return u.finishDirs()
}

type dirTime struct {
	rel   string
	atime time.Time
	mtime time.Time
}

type unpacker struct {
	root     int
	rootPath string
	opts     UnpackOptions
	// dirTimes are applied last, since entries written into a directory change its mtime.
	dirTimes []dirTime
}

// cleanName maps a tar entry name to a path relative to the layer root; "" is the root itself.
func cleanName(name string) (string, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return "", fmt.Errorf("%w: name contains NUL", ErrUnsafePath)
	}
	n := path.Clean(strings.TrimLeft(name, "/"))
	if n == "." {
		return "", nil
	}
	if n == ".." || strings.HasPrefix(n, "../") {
		return "", fmt.Errorf("%w: %q escapes the layer root", ErrUnsafePath, name)
	}
	return n, nil
}

func (u *unpacker) entry(hdr *tar.Header, r io.Reader) error {
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if rel == "" {
		if hdr.Typeflag == tar.TypeDir {
			return u.rootMeta(hdr)
		}
		return nil
	}
	dirRel, base := path.Dir(rel), path.Base(rel)
	if base == whiteoutOpaque {
		return u.opaque(dirRel)
	}
	if strings.HasPrefix(base, whiteoutMeta) {
		return nil // other AUFS metadata (.wh..wh.plnk, .wh..wh.aufs) means nothing to overlayfs
	}
	if strings.HasPrefix(base, whiteoutPrefix) {
		return u.whiteout(dirRel, strings.TrimPrefix(base, whiteoutPrefix))
	}
	if !u.wanted(hdr.Typeflag) {
		return nil
	}
	parent, err := u.openDir(dirRel, true)
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	switch hdr.Typeflag {
	case tar.TypeDir:
		return u.dir(parent, rel, base, hdr)
	case tar.TypeReg:
		return u.file(parent, base, hdr, r)
	case tar.TypeSymlink:
		return u.symlink(parent, base, hdr)
	case tar.TypeLink:
		return u.hardlink(parent, base, hdr)
	default:
		return u.node(parent, base, hdr)
	}
}

// wanted reports whether entries of this type are created at all.
func (u *unpacker) wanted(t byte) bool {
	switch t {
	case tar.TypeDir, tar.TypeReg, tar.TypeSymlink, tar.TypeLink, tar.TypeFifo:
		return true
	case tar.TypeChar, tar.TypeBlock:
		return u.opts.AllowDevices
	default:
		return false // global headers, GNU volume labels and the like
	}
}

// openDir opens the directory rel below the root without following any symlink, creating missing
// directories (mode 0755, owned by the unpacking user) when create is set.
func (u *unpacker) openDir(rel string, create bool) (int, error) {
	how := &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: resolveStrict}
	fd, err := unix.Openat2(u.root, rel, how)
	if err == nil || !errors.Is(err, unix.ENOENT) || !create {
		return fd, classify(rel, err)
	}
	fd, err = unix.Openat2(u.root, ".", how)
	if err != nil {
		return -1, err
	}
	for _, c := range strings.Split(rel, "/") {
		if err := unix.Mkdirat(fd, c, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			unix.Close(fd)
			return -1, fmt.Errorf("mkdir %q: %w", c, err)
		}
		next, err := unix.Openat2(fd, c, how)
		unix.Close(fd)
		if err != nil {
			return -1, classify(rel, err)
		}
		fd = next
	}
	return fd, nil
}

func classify(rel string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.EXDEV):
		return fmt.Errorf("%w: %q goes through a symlink", ErrUnsafePath, rel)
	default:
		return fmt.Errorf("open %q: %w", rel, err)
	}
}

// removeExisting clears name in parent so a new entry can take its place; later entries win.
func removeExisting(parent int, name string) error {
	var st unix.Stat_t
	err := unix.Fstatat(parent, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return removeAllAt(parent, name)
	}
	return unix.Unlinkat(parent, name, 0)
}

func removeAllAt(parent int, name string) error {
	fd, err := unix.Openat(parent, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), name)
	names, err := f.Readdirnames(-1)
	if err == nil {
		for _, n := range names {
			if err = removeExisting(fd, n); err != nil {
				break
			}
		}
	}
	f.Close()
	if err != nil {
		return err
	}
	return unix.Unlinkat(parent, name, unix.AT_REMOVEDIR)
}

func (u *unpacker) opaque(dirRel string) error {
	fd, err := u.openDir(dirRel, true)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Fsetxattr(fd, overlayOpaque, []byte("y"), 0); err != nil {
		return fmt.Errorf("mark %q opaque: %w", dirRel, err)
	}
	return nil
}

func (u *unpacker) whiteout(dirRel, name string) error {
	if name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
		return fmt.Errorf("%w: bad whiteout name %q", ErrUnsafePath, name)
	}
	parent, err := u.openDir(dirRel, true)
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	if err := removeExisting(parent, name); err != nil {
		return err
	}
	// overlayfs reads a 0/0 character device in a lower layer as "deleted".
	if err := unix.Mknodat(parent, name, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("whiteout %q: %w", name, err)
	}
	return nil
}

func (u *unpacker) rootMeta(hdr *tar.Header) error {
	if err := applyMeta(u.root, hdr); err != nil {
		return err
	}
	u.dirTimes = append(u.dirTimes, dirTime{rel: ".", atime: hdr.AccessTime, mtime: hdr.ModTime})
	return nil
}

func (u *unpacker) dir(parent int, rel, base string, hdr *tar.Header) error {
	err := unix.Mkdirat(parent, base, 0o700)
	if errors.Is(err, unix.EEXIST) {
		var st unix.Stat_t
		if err = unix.Fstatat(parent, base, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			if err = removeExisting(parent, base); err == nil {
				err = unix.Mkdirat(parent, base, 0o700)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("mkdir: %w", err)
	}
	fd, err := unix.Openat(parent, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open dir: %w", err)
	}
	defer unix.Close(fd)
	if err := applyMeta(fd, hdr); err != nil {
		return err
	}
	u.dirTimes = append(u.dirTimes, dirTime{rel: rel, atime: hdr.AccessTime, mtime: hdr.ModTime})
	return nil
}

func (u *unpacker) file(parent int, base string, hdr *tar.Header, r io.Reader) error {
	if err := removeExisting(parent, base); err != nil {
		return err
	}
	fd, err := unix.Openat(parent, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	f := os.NewFile(uintptr(fd), base)
	defer f.Close()
	if _, err := io.Copy(f, r); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err := applyMeta(fd, hdr); err != nil {
		return err
	}
	return setTimes(parent, base, hdr)
}

func (u *unpacker) symlink(parent int, base string, hdr *tar.Header) error {
	if err := removeExisting(parent, base); err != nil {
		return err
	}
	// The target is stored verbatim: it is resolved later inside the container's root.
	if err := unix.Symlinkat(hdr.Linkname, parent, base); err != nil {
		return fmt.Errorf("symlink: %w", err)
	}
	if err := unix.Fchownat(parent, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown symlink: %w", err)
	}
	return setTimes(parent, base, hdr)
}

func (u *unpacker) hardlink(parent int, base string, hdr *tar.Header) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil {
		return err
	}
	if target == "" {
		return fmt.Errorf("%w: hard link to the layer root", ErrUnsafePath)
	}
	tparent, err := u.openDir(path.Dir(target), false)
	if err != nil {
		return err
	}
	defer unix.Close(tparent)
	if err := removeExisting(parent, base); err != nil {
		return err
	}
	// Flags 0: a link to a symlink links the symlink itself, never what it points at.
	if err := unix.Linkat(tparent, path.Base(target), parent, base, 0); err != nil {
		return fmt.Errorf("hard link to %q: %w", target, err)
	}
	return nil
}

func (u *unpacker) node(parent int, base string, hdr *tar.Header) error {
	mode := uint32(hdr.Mode & 0o7777)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode |= unix.S_IFCHR
	case tar.TypeBlock:
		mode |= unix.S_IFBLK
	case tar.TypeFifo:
		mode |= unix.S_IFIFO
	}
	if err := removeExisting(parent, base); err != nil {
		return err
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	if err := unix.Mknodat(parent, base, mode, int(dev)); err != nil {
		return fmt.Errorf("mknod: %w", err)
	}
	if err := unix.Fchownat(parent, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if err := unix.Fchmodat(parent, base, mode&0o7777, 0); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	return setTimes(parent, base, hdr)
}

// applyMeta sets ownership, then mode (chown clears set-id bits), then xattrs on an open fd.
func applyMeta(fd int, hdr *tar.Header) error {
	if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode&0o7777)); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		// trusted.* would let a layer forge overlayfs metadata (redirects, opaque dirs).
		if !ok || strings.HasPrefix(name, "trusted.") {
			continue
		}
		err := unix.Fsetxattr(fd, name, []byte(v), 0)
		if err != nil && !errors.Is(err, unix.ENOTSUP) && !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("set xattr %q: %w", name, err)
		}
	}
	return nil
}

func setTimes(parent int, base string, hdr *tar.Header) error {
	return utimes(parent, base, hdr.AccessTime, hdr.ModTime)
}

func utimes(parent int, base string, atime, mtime time.Time) error {
	if atime.IsZero() {
		atime = mtime
	}
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	if err := unix.UtimesNanoAt(parent, base, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

func (u *unpacker) finishDirs() error {
	for i := len(u.dirTimes) - 1; i >= 0; i-- {
		d := u.dirTimes[i]
		parent, base := path.Dir(d.rel), path.Base(d.rel)
		if d.rel == "." {
			parent, base = ".", "."
		}
		fd, err := u.openDir(parent, false)
		if err != nil {
			continue // removed by a later entry
		}
		err = utimes(fd, base, d.atime, d.mtime)
		unix.Close(fd)
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("directory %q: %w", d.rel, err)
		}
	}
	return nil
}
