// Package testimage builds small single-layer OCI images around a static Go test program, for
// tests that need real task images, and pushes them to a registry.
package testimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrNoSource reports that the test program's source is not where this package was built from.
var ErrNoSource = errors.New("test program source not found")

// Busybox is where the image's /bin/sh comes from when it exists (Debian's busybox-static).
const Busybox = "/bin/busybox"

// busyboxApplets are linked to busybox under /bin.
var busyboxApplets = []string{"sh", "cat", "echo", "env", "id", "kill", "ls", "mkdir", "ps", "rm", "sleep", "test", "touch", "true", "false", "wget"}

// epoch is every file's mtime, so the same binary always gives the same image digest.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Options shapes an image. The zero value gives Entrypoint ["/app"] and Cmd ["serve", ":8080"].
type Options struct {
	Cmd          []string
	Env          []string // added after PATH
	StopSignal   string
	User         string
	WorkingDir   string
	Labels       map[string]string
	ExposedPorts []string // like "8080/tcp"
	// Files adds files (absolute path -> content, mode 0644) to the layer.
	Files map[string]string
	// NoBusybox leaves /bin/busybox and its applets out even when the host has it.
	NoBusybox bool
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary compiles the test program once per process and returns the path of the static binary.
func Binary(ctx context.Context) (string, error) {
	buildOnce.Do(func() {
		// The result is shared by every later caller, so one caller's cancellation must not stick.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		binPath, buildErr = build(ctx)
	})
	return binPath, buildErr
}

func build(ctx context.Context) (string, error) {
	_, self, _, ok := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(self), "app")
	if _, err := os.Stat(filepath.Join(src, "main.go")); !ok || err != nil {
		return "", fmt.Errorf("%s: %w", src, ErrNoSource)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	// One directory per user, shared by test processes, so runs leave no growing litter.
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("gantry-testimage-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("build test program: %w", err)
	}
	tmp := filepath.Join(dir, fmt.Sprintf("app.%d", os.Getpid()))
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", tmp, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("build test program: %w: %s", err, b)
	}
	// Name the binary by its content: identical builds share one file, and a rename over it
	// changes nothing for a process reading it.
	b, err := os.ReadFile(tmp)
	if err != nil {
		return "", fmt.Errorf("build test program: %w", err)
	}
	sum := sha256.Sum256(b)
	out := filepath.Join(dir, "app-"+hex.EncodeToString(sum[:8]))
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("build test program: %w", err)
	}
	return out, nil
}

// Build returns a single-layer image with the test program at /app.
func Build(ctx context.Context, opts Options) (v1.Image, error) {
	bin, err := Binary(ctx)
	if err != nil {
		return nil, err
	}
	l, err := cachedLayer(bin, opts)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON), l)
	if err != nil {
		return nil, fmt.Errorf("test image: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("test image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", runtime.GOARCH, v1.Time{Time: epoch}
	cf.Config = config(opts)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("test image config: %w", err)
	}
	return img, nil
}

func config(opts Options) v1.Config {
	cmd := opts.Cmd
	if cmd == nil {
		cmd = []string{"serve", ":8080"}
	}
	c := v1.Config{
		Entrypoint: []string{"/app"}, Cmd: cmd,
		Env:        append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, opts.Env...),
		StopSignal: opts.StopSignal, User: opts.User, WorkingDir: opts.WorkingDir, Labels: opts.Labels,
	}
	if len(opts.ExposedPorts) > 0 {
		c.ExposedPorts = map[string]struct{}{}
		for _, p := range opts.ExposedPorts {
			c.ExposedPorts[p] = struct{}{}
		}
	}
	return c
}

var (
	layersMu sync.Mutex
	// layers caches built layers by content key: compressing one costs seconds under -race, and
	// most images of a test run differ only in their config.
	layers = map[string]v1.Layer{}
)

func cachedLayer(bin string, opts Options) (v1.Layer, error) {
	key := fmt.Sprint(opts.NoBusybox, slices.Sorted(maps.Keys(opts.Files)))
	for _, k := range slices.Sorted(maps.Keys(opts.Files)) {
		key += "\x00" + opts.Files[k]
	}
	layersMu.Lock()
	defer layersMu.Unlock()
	if l, ok := layers[key]; ok {
		return l, nil
	}
	layerTar, err := layer(bin, opts)
	if err != nil {
		return nil, err
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithCompressedCaching, tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(gzip.BestSpeed))
	if err != nil {
		return nil, fmt.Errorf("test image layer: %w", err)
	}
	layers[key] = l
	return l, nil
}

// layer writes the image's only layer as an uncompressed tar.
func layer(bin string, opts Options) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(hdr *tar.Header, body []byte) error {
		hdr.ModTime, hdr.Format = epoch, tar.FormatPAX
		hdr.Size = int64(len(body))
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	dirs := []struct {
		name string
		mode int64
	}{{"bin/", 0o755}, {"etc/", 0o755}, {"root/", 0o700}, {"tmp/", 0o1777}}
	for _, d := range dirs {
		if err := add(&tar.Header{Name: d.name, Typeflag: tar.TypeDir, Mode: d.mode}, nil); err != nil {
			return nil, err
		}
	}
	files := map[string]string{
		"/etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n",
		"/etc/group":  "root:x:0:\nnogroup:x:65534:\n",
	}
	maps.Copy(files, opts.Files)
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if err := add(&tar.Header{Name: p[1:], Typeflag: tar.TypeReg, Mode: 0o644}, []byte(files[p])); err != nil {
			return nil, err
		}
	}
	app, err := os.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("read test program: %w", err)
	}
	if err := add(&tar.Header{Name: "app", Typeflag: tar.TypeReg, Mode: 0o755}, app); err != nil {
		return nil, err
	}
	if bb, err := os.ReadFile(Busybox); err == nil && !opts.NoBusybox {
		if err := add(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755}, bb); err != nil {
			return nil, err
		}
		for _, a := range busyboxApplets {
			if err := add(&tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}, nil); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Push writes img to registryHost/repo:tag over plain HTTP and returns the manifest digest.
func Push(ctx context.Context, img v1.Image, registryHost, repo, tag string) (string, error) {
	ref, err := name.NewTag(registryHost+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		return "", fmt.Errorf("push test image: %w", err)
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("push test image to %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("push test image: %w", err)
	}
	return d.String(), nil
}
