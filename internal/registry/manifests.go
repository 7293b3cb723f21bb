package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Manifest media types the registry accepts.
const (
	MediaTypeOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeOCIIndex       = "application/vnd.oci.image.index.v1+json"
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
)

const maxManifestSize = 4 << 20

type descriptor struct {
	MediaType string   `json:"mediaType"`
	Digest    string   `json:"digest"`
	Size      int64    `json:"size"`
	URLs      []string `json:"urls,omitempty"`
}

type manifestDoc struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	ArtifactType  string       `json:"artifactType"`
	Config        *descriptor  `json:"config"`
	Layers        []descriptor `json:"layers"`
	Manifests     []descriptor `json:"manifests"`
}

func isDigestRef(ref string) bool { return strings.Contains(ref, ":") }

func (r *Registry) manifest(w http.ResponseWriter, req *http.Request, name, ref string) error {
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		return r.getManifest(w, req, name, ref)
	case http.MethodPut:
		return r.putManifest(w, req, name, ref)
	case http.MethodDelete:
		return r.deleteManifest(w, req, name, ref)
	default:
		return methodNotAllowed(req)
	}
}

// resolve finds the manifest record a tag or digest names.
func (r *Registry) resolve(ctx context.Context, name, ref string) (ManifestRecord, error) {
	digest := ref
	if isDigestRef(ref) {
		if err := checkDigest(ref); err != nil {
			return ManifestRecord{}, err
		}
	} else {
		if !tagRe.MatchString(ref) {
			return ManifestRecord{}, fmt.Errorf("%q: %w", ref, ErrInvalidTag)
		}
		t, err := r.meta.Tag(ctx, name, ref)
		if err != nil {
			return ManifestRecord{}, err
		}
		digest = t.Digest
	}
	return r.meta.Manifest(ctx, name, digest)
}

func (r *Registry) getManifest(w http.ResponseWriter, req *http.Request, name, ref string) error {
	rec, err := r.resolve(req.Context(), name, ref)
	if err != nil {
		return err
	}
	body, err := r.readBlob(rec.Digest)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", rec.MediaType)
	h.Set("Docker-Content-Digest", rec.Digest)
	h.Set("ETag", `"`+rec.Digest+`"`)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if req.Method == http.MethodGet {
		w.Write(body)
	}
	return nil
}

func (r *Registry) putManifest(w http.ResponseWriter, req *http.Request, name, ref string) error {
	ctx := req.Context()
	if err := r.checkPushable(req, name); err != nil {
		return err
	}
	if !isDigestRef(ref) && !tagRe.MatchString(ref) {
		return fmt.Errorf("%q: %w", ref, ErrInvalidTag)
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxManifestSize+1))
	if err != nil {
		return fmt.Errorf("read manifest: %w", err)
	}
	if len(body) > maxManifestSize {
		return fmt.Errorf("manifest larger than %d bytes: %w", maxManifestSize, ErrInvalidManifest)
	}
	sum := sha256.Sum256(body)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if isDigestRef(ref) && ref != digest {
		return fmt.Errorf("manifest is %s, pushed as %s: %w", digest, ref, ErrDigestMismatch)
	}
	r.gc.RLock()
	defer r.gc.RUnlock()
	rec, err := r.checkManifest(ctx, name, body, req.Header.Get("Content-Type"))
	if err != nil {
		return err
	}
	if err := r.ensureRepository(ctx, name); err != nil {
		return err
	}
	rec.Digest, rec.Size, rec.PushedAt = digest, int64(len(body)), r.opts.Now().UTC()
	if old, err := r.meta.Manifest(ctx, name, digest); err == nil {
		rec.PushedAt = old.PushedAt
	}
	if _, err := r.putBlob(body); err != nil {
		return err
	}
	if err := r.meta.PutManifest(ctx, name, rec); err != nil {
		return err
	}
	if !isDigestRef(ref) {
		if err := r.meta.PutTag(ctx, name, Tag{Name: ref, Digest: digest}); err != nil {
			return err
		}
	}
	w.Header().Set("Location", "/v2/"+name+"/manifests/"+digest)
	w.Header().Set("Docker-Content-Digest", digest)
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (r *Registry) ensureRepository(ctx context.Context, name string) error {
	_, err := r.meta.Repository(ctx, name)
	if !errors.Is(err, ErrRepositoryNotFound) {
		return err
	}
	err = r.meta.CreateRepository(ctx, Repository{Name: name, CreatedAt: r.opts.Now().UTC()})
	if errors.Is(err, ErrRepositoryExists) {
		return nil
	}
	return err
}

// checkManifest parses a manifest, works out its media type and checks that everything it
// refers to is in the registry: blobs for an image, manifests of the same repository for an index.
func (r *Registry) checkManifest(ctx context.Context, name string, body []byte, contentType string) (ManifestRecord, error) {
	var doc manifestDoc
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&doc); err != nil {
		return ManifestRecord{}, fmt.Errorf("decode: %v: %w", err, ErrInvalidManifest)
	}
	if doc.SchemaVersion != 2 {
		return ManifestRecord{}, fmt.Errorf("schemaVersion %d: %w", doc.SchemaVersion, ErrInvalidManifest)
	}
	mt := doc.MediaType
	if mt == "" {
		mt, _, _ = mime.ParseMediaType(contentType)
	}
	if mt == "" || mt == "application/json" {
		mt = MediaTypeOCIManifest
		if doc.Manifests != nil {
			mt = MediaTypeOCIIndex
		}
	}
	rec := ManifestRecord{MediaType: mt, ArtifactType: doc.ArtifactType}
	switch mt {
	case MediaTypeOCIManifest, MediaTypeDockerManifest:
		if doc.Config == nil {
			return rec, fmt.Errorf("image manifest without config: %w", ErrInvalidManifest)
		}
		if rec.ArtifactType == "" {
			rec.ArtifactType = doc.Config.MediaType
		}
		for _, d := range append([]descriptor{*doc.Config}, doc.Layers...) {
			if len(d.URLs) > 0 {
				continue // foreign layer, served elsewhere
			}
			if !r.hasBlob(d.Digest) {
				return rec, fmt.Errorf("blob %s: %w", d.Digest, ErrManifestBlobUnknown)
			}
			rec.ImageSize += d.Size
		}
	case MediaTypeOCIIndex, MediaTypeDockerList:
		for _, d := range doc.Manifests {
			if _, err := r.meta.Manifest(ctx, name, d.Digest); err != nil {
				return rec, fmt.Errorf("manifest %s: %w", d.Digest, ErrManifestBlobUnknown)
			}
			rec.Children = append(rec.Children, d.Digest)
			rec.ImageSize += d.Size
		}
	default:
		return rec, fmt.Errorf("media type %q: %w", mt, ErrInvalidManifest)
	}
	return rec, nil
}

func (r *Registry) deleteManifest(w http.ResponseWriter, req *http.Request, name, ref string) error {
	ctx := req.Context()
	var err error
	if isDigestRef(ref) {
		if err = checkDigest(ref); err == nil {
			err = r.meta.DeleteManifest(ctx, name, ref)
		}
	} else {
		err = r.meta.DeleteTag(ctx, name, ref)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
