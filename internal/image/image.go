// Package image pulls OCI images, verifies their digests, unpacks layers safely into a
// content-addressed store and mounts them as overlayfs root filesystems for task sandboxes.
package image

import (
	"errors"
	"time"
)

// Error kinds callers can match with errors.Is.
var (
	// ErrNotFound reports an image, layer or manifest that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrDigestMismatch reports content whose digest differs from the one it was addressed by.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrUnsafePath reports a layer entry that would escape its root or write through a symlink.
	ErrUnsafePath = errors.New("unsafe path in layer")
	// ErrUnsupported reports a manifest or layer format this package does not handle.
	ErrUnsupported = errors.New("unsupported image format")
	// ErrNoPlatform reports an image index without a manifest for the wanted platform.
	ErrNoPlatform = errors.New("no manifest for platform")
	// ErrInUse reports a layer or image that cannot be removed because it is referenced.
	ErrInUse = errors.New("in use")
)

// Image is a pulled image whose layers are unpacked in a Store.
type Image struct {
	// Digest is the digest of the image manifest, "sha256:...".
	Digest string `json:"digest"`
	// RepoDigest is the digest the reference resolved to at the registry: the index digest for
	// a multi-platform image, else equal to Digest.
	RepoDigest string `json:"repoDigest"`
	// Ref is the reference the image was pulled by.
	Ref string `json:"ref"`
	// MediaType is the media type of the image manifest.
	MediaType string `json:"mediaType"`
	// ConfigDigest is the digest of the image config blob.
	ConfigDigest string `json:"configDigest"`
	Config       Config `json:"config"`
	// Layers are bottom first, as in the manifest.
	Layers []Layer `json:"layers"`
	// PulledAt is when the record was written: at the first pull, or the last that changed it
	// (a pull of the same image only marks the record used).
	PulledAt time.Time `json:"pulledAt"`
}

// Config is the part of an image config that a task sandbox needs.
type Config struct {
	Entrypoint   []string          `json:"entrypoint,omitempty"`
	Cmd          []string          `json:"cmd,omitempty"`
	Env          []string          `json:"env,omitempty"`
	WorkingDir   string            `json:"workingDir,omitempty"`
	User         string            `json:"user,omitempty"`
	StopSignal   string            `json:"stopSignal,omitempty"`
	ExposedPorts []string          `json:"exposedPorts,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	OS           string            `json:"os,omitempty"`
	Architecture string            `json:"architecture,omitempty"`
}

// Layer is one unpacked layer.
type Layer struct {
	// Digest is the digest of the blob as stored in the registry (usually compressed).
	Digest string `json:"digest"`
	// DiffID is the digest of the uncompressed tar stream.
	DiffID    string `json:"diffID"`
	Size      int64  `json:"size"`
	MediaType string `json:"mediaType"`
	// Dir is the directory holding the layer's unpacked files.
	Dir string `json:"dir"`
}

// LayerDirs returns the unpacked layer directories, bottom layer first.
func (img Image) LayerDirs() []string {
	dirs := make([]string, len(img.Layers))
	for i, l := range img.Layers {
		dirs[i] = l.Dir
	}
	return dirs
}
