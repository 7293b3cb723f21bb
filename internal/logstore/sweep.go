package logstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Defaults of the background sweep.
const (
	// DefaultSweepEvery is how often the sweeper applies retention to every stream on disk.
	DefaultSweepEvery = 10 * time.Minute
	// DefaultIdleClose is how long a stream takes no append before its open file is closed.
	DefaultIdleClose = 5 * time.Minute
)

// startSweeper runs Sweep every opts.SweepEvery until Close.
func (s *Store) startSweeper() {
	s.stop = make(chan struct{})
	s.stopped = make(chan struct{})
	go func() {
		defer close(s.stopped)
		t := time.NewTicker(s.opts.SweepEvery)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				_ = s.Sweep() // a failed removal is tried again at the next sweep
			}
		}
	}()
}

// Sweep applies every group's retention to all its streams, those no one reads or writes any
// more included, and closes the files of streams idle for opts.IdleClose. It runs in the
// background; tests call it directly.
func (s *Store) Sweep() error {
	entries, err := os.ReadDir(filepath.Join(s.dir, "groups"))
	if err != nil {
		return fmt.Errorf("sweep log store: %w", err)
	}
	now := s.opts.Now()
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.dir, "groups", e.Name(), "group.json"))
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted under the sweep
		}
		var meta groupMeta
		if err == nil {
			err = json.Unmarshal(b, &meta)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("sweep group %s: %w", e.Name(), err))
			continue
		}
		s.mu.Lock()
		g, err := s.groupLocked(meta.Key, false)
		var streams []*stream
		var cutoff int64
		if g != nil {
			streams, cutoff = slices.Collect(mapValues(g.streams)), g.cutoff(now)
		}
		s.mu.Unlock()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, st := range streams {
			if cutoff > 0 {
				errs = append(errs, st.expire(cutoff, now))
			}
			st.closeIfIdle(now.Add(-s.opts.IdleClose))
		}
	}
	return errors.Join(errs...)
}

// closeIfIdle closes the active file of a stream that took no append since before; the next
// append opens it again.
func (st *stream) closeIfIdle(before time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.active != nil && st.usedAt.Before(before) {
		_ = st.active.Close()
		st.active = nil
	}
}

// openFiles counts the streams holding a file open, for tests.
func (s *Store) openFiles() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, g := range s.groups {
		for _, st := range g.streams {
			st.mu.Lock()
			if st.active != nil {
				n++
			}
			st.mu.Unlock()
		}
	}
	return n
}
