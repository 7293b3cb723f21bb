// Package registry is gantry's built-in OCI image registry: the distribution API under /v2/ plus
// the repository and image operations that back gantry's ECR API.
package registry

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configures a Registry.
type Options struct {
	// Meta holds repositories, manifests and tags; an FSMeta under <root>/meta when nil.
	Meta Meta
	// RequireRepository refuses pushes to repositories not created first (as ECR does);
	// by default a push creates its repository.
	RequireRepository bool
	Logger            *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Registry serves the OCI distribution API (as an http.Handler for paths under /v2/) and the
// ECR-style repository and image operations. Blobs, manifests included, are stored once by
// digest under <root>/blobs and shared by all repositories.
type Registry struct {
	root string
	meta Meta
	opts Options
	log  *slog.Logger

	// gc is held shared by manifest pushes and exclusively by GC, so that a manifest's blobs
	// are never swept between its check and its record.
	gc sync.RWMutex

	mu sync.Mutex
	// uploads holds blob uploads in progress by id; they do not survive a restart.
	uploads map[string]*upload
}

var _ http.Handler = (*Registry)(nil)

// New returns a registry storing its data under root. Directories are created on first write.
func New(root string, opts Options) *Registry {
	if opts.Meta == nil {
		opts.Meta = NewFSMeta(filepath.Join(root, "meta"))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Registry{root: root, meta: opts.Meta, opts: opts, log: log.With("component", "registry"), uploads: map[string]*upload{}}
}

var (
	nameRe = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)
	tagRe  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

	manifestPath = regexp.MustCompile(`^(.+)/manifests/([^/]+)$`)
	uploadPath   = regexp.MustCompile(`^(.+)/blobs/uploads/([^/]*)$`)
	blobPath     = regexp.MustCompile(`^(.+)/blobs/([^/]+)$`)
	tagsPath     = regexp.MustCompile(`^(.+)/tags/list$`)
)

// ValidName reports whether name is a valid repository name.
func ValidName(name string) bool { return len(name) <= 255 && nameRe.MatchString(name) }

func checkName(name string) error {
	if !ValidName(name) {
		return fmt.Errorf("%q: %w", name, ErrInvalidName)
	}
	return nil
}

func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	p := req.URL.Path
	if p == "/v2" || p == "/v2/" {
		r.base(w, req)
		return
	}
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		writeErrorCode(w, http.StatusNotFound, "NOT_FOUND", "not a registry path")
		return
	}
	if rest == "_catalog" {
		r.catalog(w, req)
		return
	}
	for _, rt := range []struct {
		re *regexp.Regexp
		fn func(http.ResponseWriter, *http.Request, string, string) error
	}{
		{manifestPath, r.manifest}, {uploadPath, r.upload}, {blobPath, r.blob},
		{tagsPath, func(w http.ResponseWriter, req *http.Request, name, _ string) error { return r.tagsList(w, req, name) }},
	} {
		m := rt.re.FindStringSubmatch(rest)
		if m == nil {
			continue
		}
		arg := ""
		if len(m) > 2 {
			arg = m[2]
		}
		err := checkName(m[1])
		if err == nil {
			err = rt.fn(w, req, m[1], arg)
		}
		if err != nil {
			r.writeError(w, req, err)
		}
		return
	}
	writeErrorCode(w, http.StatusNotFound, "NOT_FOUND", "unknown registry path")
}

func methodNotAllowed(req *http.Request) error {
	return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, ErrUnsupported)
}

func (r *Registry) base(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		r.writeError(w, req, methodNotAllowed(req))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte("{}"))
}

// paginate applies the n and last query parameters to a sorted list and sets the Link header
// for the next page.
func paginate(w http.ResponseWriter, req *http.Request, items []string) ([]string, error) {
	q := req.URL.Query()
	if last := q.Get("last"); last != "" {
		i, _ := slices.BinarySearch(items, last)
		for i < len(items) && items[i] <= last {
			i++
		}
		items = items[i:]
	}
	ns := q.Get("n")
	if ns == "" {
		return items, nil
	}
	n, err := strconv.Atoi(ns)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("n=%q: %w", ns, ErrUnsupported)
	}
	if n < len(items) {
		items = items[:n]
		if n > 0 {
			next := url.Values{"n": {ns}, "last": {items[n-1]}}
			w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, req.URL.Path, next.Encode()))
		}
	}
	return items, nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (r *Registry) catalog(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet {
		r.writeError(w, req, methodNotAllowed(req))
		return
	}
	repos, err := r.meta.Repositories(req.Context())
	if err != nil {
		r.writeError(w, req, err)
		return
	}
	names := make([]string, 0, len(repos))
	for _, repo := range repos {
		names = append(names, repo.Name)
	}
	slices.Sort(names)
	page, err := paginate(w, req, names)
	if err != nil {
		r.writeError(w, req, err)
		return
	}
	writeJSON(w, map[string][]string{"repositories": page})
}

func (r *Registry) tagsList(w http.ResponseWriter, req *http.Request, name string) error {
	if req.Method != http.MethodGet {
		return methodNotAllowed(req)
	}
	tags, err := r.meta.Tags(req.Context(), name)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(tags))
	for _, t := range tags {
		names = append(names, t.Name)
	}
	slices.Sort(names)
	page, err := paginate(w, req, names)
	if err != nil {
		return err
	}
	writeJSON(w, struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{name, page})
	return nil
}
