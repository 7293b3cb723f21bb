// Package logstore keeps log events on local disk, append-only, in segment files per stream
// with a time index per segment, retention by whole segments, and recovery of a torn tail.
package logstore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Event is one log event. Timestamps are milliseconds since the epoch.
type Event struct {
	Timestamp     int64
	Message       string
	IngestionTime int64
	// Seq is the event's place in its stream, from 1, in the order it was appended.
	Seq uint64
}

// StreamInfo describes a stream from its segment indexes; times are ms since the epoch, zero
// when the stream holds no event.
type StreamInfo struct {
	Name              string
	CreatedAt         int64
	FirstEventTime    int64
	LastEventTime     int64
	LastIngestionTime int64
	StoredBytes       int64
	Events            int64
}

// Errors. Callers word them for users.
var (
	ErrStreamExists   = errors.New("log stream already exists")
	ErrStreamNotFound = errors.New("log stream does not exist")
)

// Options tune a Store.
type Options struct {
	// SegmentBytes is the size at which a segment is sealed and the next one started.
	SegmentBytes int64
	// NoSync skips the fsync after each appended batch: faster, and a machine crash may lose
	// the last batches (a process crash loses nothing).
	NoSync bool
	// Now is the clock for ingestion times and retention; nil is time.Now.
	Now func() time.Time
	// ExpireEvery is how often appends and reads apply retention to a stream.
	ExpireEvery time.Duration
	// SweepEvery is how often a background sweep applies retention to every stream, idle ones
	// included (0: DefaultSweepEvery; negative: no background sweep).
	SweepEvery time.Duration
	// IdleClose is how long a stream takes no append before the sweep closes its file
	// (0: DefaultIdleClose).
	IdleClose time.Duration
}

// DefaultSegmentBytes is the default segment size.
const DefaultSegmentBytes = 8 << 20

// Store is the event store: groups of streams under one directory. Groups are named by the
// caller (an opaque key such as account/region/name); a group comes into being with its first
// stream. Memory per stream is its segment indexes, never its events.
type Store struct {
	dir  string
	opts Options

	mu     sync.Mutex
	groups map[string]*group

	// stop ends the background sweep, which closes stopped when done; nil without one.
	stop, stopped chan struct{}
}

// group is a directory of streams with one retention setting.
type group struct {
	dir  string
	meta groupMeta

	// streams is loaded on first use; guarded by Store.mu.
	streams map[string]*stream
}

type groupMeta struct {
	Key           string `json:"key"`
	RetentionDays int    `json:"retentionDays,omitempty"`
}

// Open opens (or creates) a store in dir. Streams are loaded on first use.
func Open(dir string, opts Options) (*Store, error) {
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ExpireEvery <= 0 {
		opts.ExpireEvery = time.Minute
	}
	if opts.SweepEvery == 0 {
		opts.SweepEvery = DefaultSweepEvery
	}
	if opts.IdleClose <= 0 {
		opts.IdleClose = DefaultIdleClose
	}
	if err := os.MkdirAll(filepath.Join(dir, "groups"), 0o700); err != nil {
		return nil, fmt.Errorf("create log store: %w", err)
	}
	s := &Store{dir: dir, opts: opts, groups: map[string]*group{}}
	if opts.SweepEvery > 0 {
		s.startSweeper()
	}
	return s, nil
}

// Close stops the background sweep and releases open files. The store must not be used
// afterwards.
func (s *Store) Close() error {
	if s.stop != nil {
		close(s.stop)
		<-s.stopped
		s.stop = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, g := range s.groups {
		for _, st := range g.streams {
			errs = append(errs, st.close())
		}
	}
	return errors.Join(errs...)
}

// hashName names a directory for a user's name, which may hold any character and be long.
func hashName(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:16])
}

// groupLocked returns the group with key, loading it from disk, or creating it when create is
// set; nil when it does not exist.
func (s *Store) groupLocked(key string, create bool) (*group, error) {
	if g := s.groups[key]; g != nil {
		return g, nil
	}
	dir := filepath.Join(s.dir, "groups", hashName(key))
	g := &group{dir: dir}
	b, err := os.ReadFile(filepath.Join(dir, "group.json"))
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &g.meta); err != nil {
			return nil, fmt.Errorf("decode group meta: %w", err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("read group meta: %w", err)
	case !create:
		return nil, nil
	default:
		g.meta = groupMeta{Key: key}
		if err := os.MkdirAll(filepath.Join(dir, "streams"), 0o700); err != nil {
			return nil, fmt.Errorf("create group dir: %w", err)
		}
		if err := g.writeMeta(); err != nil {
			return nil, err
		}
	}
	if err := g.loadStreams(&s.opts); err != nil {
		return nil, err
	}
	s.groups[key] = g
	return g, nil
}

func (g *group) writeMeta() error {
	b, err := json.Marshal(g.meta)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(g.dir, "group.json"), b); err != nil {
		return fmt.Errorf("write group meta: %w", err)
	}
	return nil
}

func (g *group) loadStreams(opts *Options) error {
	g.streams = map[string]*stream{}
	entries, err := os.ReadDir(filepath.Join(g.dir, "streams"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read group streams: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		st, err := openStream(filepath.Join(g.dir, "streams", e.Name()), opts)
		if err != nil {
			return err
		}
		g.streams[st.meta.Name] = st
	}
	return nil
}

// cutoff is the oldest timestamp (ms) retention keeps at now; 0 keeps everything.
func (g *group) cutoff(now time.Time) int64 {
	if g.meta.RetentionDays <= 0 {
		return 0
	}
	return now.Add(-time.Duration(g.meta.RetentionDays) * 24 * time.Hour).UnixMilli()
}

// stream returns a stream of a group and the group's retention cutoff.
func (s *Store) stream(key, name string) (*stream, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.groupLocked(key, false)
	if err != nil {
		return nil, 0, err
	}
	if g == nil || g.streams[name] == nil {
		return nil, 0, ErrStreamNotFound
	}
	return g.streams[name], g.cutoff(s.opts.Now()), nil
}

// CreateStream creates an empty stream in the group key; createdAt is in ms.
func (s *Store) CreateStream(key, name string, createdAt int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.groupLocked(key, true)
	if err != nil {
		return err
	}
	if g.streams[name] != nil {
		return ErrStreamExists
	}
	st, err := createStream(filepath.Join(g.dir, "streams", hashName(name)), streamMeta{Name: name, CreatedAt: createdAt}, &s.opts)
	if err != nil {
		return err
	}
	g.streams[name] = st
	return nil
}

// DeleteStream deletes a stream and its events.
func (s *Store) DeleteStream(key, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.groupLocked(key, false)
	if err != nil {
		return err
	}
	if g == nil || g.streams[name] == nil {
		return ErrStreamNotFound
	}
	st := g.streams[name]
	delete(g.streams, name)
	return st.remove()
}

// remove marks the stream deleted and removes its directory: renamed first, so a crash in the
// middle leaves no half stream behind.
func (st *stream) remove() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.deleted = true
	if st.active != nil {
		st.active.Close()
		st.active = nil
	}
	trash := filepath.Join(filepath.Dir(st.dir), "."+filepath.Base(st.dir)+".deleted")
	if err := os.Rename(st.dir, trash); err != nil {
		return fmt.Errorf("delete stream: %w", err)
	}
	return os.RemoveAll(trash)
}

// DeleteGroup deletes a group with all its streams; a missing group is no error.
func (s *Store) DeleteGroup(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.groupLocked(key, false)
	if err != nil || g == nil {
		return err
	}
	for _, st := range g.streams {
		st.mu.Lock()
		st.deleted = true
		if st.active != nil {
			st.active.Close()
			st.active = nil
		}
		st.mu.Unlock()
	}
	delete(s.groups, key)
	trash := filepath.Join(s.dir, "groups", "."+filepath.Base(g.dir)+".deleted")
	if err := os.Rename(g.dir, trash); err != nil {
		return fmt.Errorf("delete group: %w", err)
	}
	return os.RemoveAll(trash)
}

// SetRetention sets how many days a group keeps events (0: forever) and applies it now.
func (s *Store) SetRetention(key string, days int) error {
	s.mu.Lock()
	g, err := s.groupLocked(key, true)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	g.meta.RetentionDays = days
	err = g.writeMeta()
	streams, cutoff := slices.Collect(mapValues(g.streams)), g.cutoff(s.opts.Now())
	s.mu.Unlock()
	if err != nil || cutoff == 0 {
		return err
	}
	var errs []error
	for _, st := range streams {
		errs = append(errs, st.expire(cutoff, s.opts.Now()))
	}
	return errors.Join(errs...)
}

func mapValues[K comparable, V any](m map[K]V) func(func(V) bool) {
	return func(yield func(V) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

// Streams describes the streams of a group in name order; a group without streams has none.
func (s *Store) Streams(key string) ([]StreamInfo, error) {
	s.mu.Lock()
	g, err := s.groupLocked(key, false)
	var streams []*stream
	if g != nil {
		streams = slices.Collect(mapValues(g.streams))
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	out := make([]StreamInfo, 0, len(streams))
	for _, st := range streams {
		out = append(out, st.info())
	}
	slices.SortFunc(out, func(a, b StreamInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Stream describes one stream.
func (s *Store) Stream(key, name string) (StreamInfo, error) {
	st, _, err := s.stream(key, name)
	if err != nil {
		return StreamInfo{}, err
	}
	return st.info(), nil
}

// Append stores events at the end of a stream as one batch, in the order given, and returns
// them with their sequence numbers and ingestion time.
func (s *Store) Append(key, name string, events []Event) ([]Event, error) {
	st, cutoff, err := s.stream(key, name)
	if err != nil {
		return nil, err
	}
	now := s.opts.Now()
	if err := s.maybeExpire(st, cutoff, now); err != nil {
		return nil, err
	}
	return st.append(events, now.UnixMilli())
}

// Read reads events of a stream. Retention applies at the edge: events older than the
// group's retention are never returned, even before their segment is deleted.
func (s *Store) Read(key, name string, q Query) (Page, error) {
	st, cutoff, err := s.stream(key, name)
	if err != nil {
		return Page{}, err
	}
	if err := s.maybeExpire(st, cutoff, s.opts.Now()); err != nil {
		return Page{}, err
	}
	return st.read(q, cutoff)
}

func (s *Store) maybeExpire(st *stream, cutoff int64, now time.Time) error {
	if cutoff == 0 {
		return nil
	}
	st.mu.Lock()
	due := now.Sub(st.expiredAt) >= s.opts.ExpireEvery
	st.mu.Unlock()
	if !due {
		return nil
	}
	return st.expire(cutoff, now)
}
