package logstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// streamMeta is a stream's identity on disk (stream.json).
type streamMeta struct {
	Name      string `json:"name"`
	CreatedAt int64  `json:"createdAt"`
}

// stream is one log stream: its directory of segments and the index of each.
type stream struct {
	dir  string
	meta streamMeta
	opts *Options

	mu sync.Mutex
	// segs are ordered by id; the last one takes appends unless sealed.
	segs    []segment
	active  *os.File
	nextSeq uint64
	deleted bool
	// expiredAt is when retention last ran on this stream.
	expiredAt time.Time
	// usedAt is when the stream last took an append; the sweeper closes the active file of a
	// stream idle for long, so open files stay bounded with many streams.
	usedAt time.Time
}

// openStream loads a stream directory: sealed segments from their index files, the others by
// reading them, the last one with its torn tail cut off.
func openStream(dir string, opts *Options) (*stream, error) {
	b, err := os.ReadFile(filepath.Join(dir, "stream.json"))
	if err != nil {
		return nil, fmt.Errorf("read stream meta: %w", err)
	}
	st := &stream{dir: dir, opts: opts}
	if err := json.Unmarshal(b, &st.meta); err != nil {
		return nil, fmt.Errorf("decode stream meta %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read stream dir: %w", err)
	}
	var ids []uint64
	sizes := map[uint64]int64{}
	for _, e := range entries {
		if id, ok := parseSegName(e.Name()); ok {
			info, err := e.Info()
			if err != nil {
				return nil, fmt.Errorf("stat segment: %w", err)
			}
			ids = append(ids, id)
			sizes[id] = info.Size()
		}
	}
	slices.Sort(ids)
	for i, id := range ids {
		last := i == len(ids)-1
		seg, ok := segment{}, false
		if !last {
			seg, ok = loadIndex(dir, id, sizes[id])
		}
		if !ok {
			if seg, err = scanSegment(filepath.Join(dir, segName(id)), id, last); err != nil {
				return nil, err
			}
			seg.Sealed = !last
		}
		st.segs = append(st.segs, seg)
	}
	st.segs = dropCompacted(dir, st.segs)
	st.nextSeq = 1
	for _, s := range st.segs {
		if s.Count > 0 {
			st.nextSeq = max(st.nextSeq, s.LastSeq+1)
		}
		st.nextSeq = max(st.nextSeq, s.ID)
	}
	return st, nil
}

// createStream makes a new stream directory.
func createStream(dir string, meta streamMeta, opts *Options) (*stream, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create stream dir: %w", err)
	}
	b, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(dir, "stream.json"), b); err != nil {
		return nil, fmt.Errorf("write stream meta: %w", err)
	}
	return &stream{dir: dir, meta: meta, opts: opts, nextSeq: 1}, nil
}

// info summarises the stream from its segment indexes.
func (st *stream) info() StreamInfo {
	st.mu.Lock()
	defer st.mu.Unlock()
	in := StreamInfo{Name: st.meta.Name, CreatedAt: st.meta.CreatedAt}
	for _, s := range st.segs {
		if s.Count == 0 {
			continue
		}
		if in.Events == 0 || s.MinTS < in.FirstEventTime {
			in.FirstEventTime = s.MinTS
		}
		in.LastEventTime = max(in.LastEventTime, s.MaxTS)
		in.LastIngestionTime = max(in.LastIngestionTime, s.LastIngest)
		in.StoredBytes += s.Size
		in.Events += s.Count
	}
	return in
}

// append writes events as one batch, assigning sequence numbers and the ingestion time, and
// syncs once for the whole batch unless the store runs without sync.
func (st *stream) append(events []Event, ingest int64) ([]Event, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.deleted {
		return nil, ErrStreamNotFound
	}
	if err := st.activeLocked(); err != nil {
		return nil, err
	}
	st.usedAt = st.opts.Now()
	seg := &st.segs[len(st.segs)-1]
	out := make([]Event, len(events))
	var buf []byte
	for i, e := range events {
		if len(e.Message) > maxMessage {
			return nil, fmt.Errorf("message of %d bytes exceeds %d", len(e.Message), maxMessage)
		}
		e.Seq, e.IngestionTime = st.nextSeq+uint64(i), ingest
		out[i] = e
		buf = appendRecord(buf, e)
	}
	if _, err := st.active.Write(buf); err != nil {
		// A partial write is a torn tail; cut it so later appends stay readable.
		_ = st.active.Truncate(seg.Size)
		return nil, fmt.Errorf("append to stream %q: %w", st.meta.Name, err)
	}
	if !st.opts.NoSync {
		if err := st.active.Sync(); err != nil {
			return nil, fmt.Errorf("sync stream %q: %w", st.meta.Name, err)
		}
	}
	for _, e := range out {
		seg.add(e, recordOverhead+len(e.Message))
	}
	st.nextSeq += uint64(len(events))
	if seg.Size >= st.opts.SegmentBytes {
		if err := st.sealLocked(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// activeLocked makes sure the last segment is open for appending, starting one if needed.
func (st *stream) activeLocked() error {
	if st.active != nil {
		return nil
	}
	if len(st.segs) == 0 || st.segs[len(st.segs)-1].Sealed {
		st.segs = append(st.segs, segment{ID: st.nextSeq})
	}
	seg := st.segs[len(st.segs)-1]
	f, err := os.OpenFile(filepath.Join(st.dir, segName(seg.ID)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open segment: %w", err)
	}
	st.active = f
	return nil
}

// sealLocked closes the active segment and writes its index, so a restart need not read it.
func (st *stream) sealLocked() error {
	seg := &st.segs[len(st.segs)-1]
	if err := st.active.Close(); err != nil {
		return fmt.Errorf("close segment: %w", err)
	}
	st.active = nil
	seg.Sealed = true
	if err := writeIndex(st.dir, *seg); err != nil {
		return fmt.Errorf("write segment index: %w", err)
	}
	return nil
}

// expire deletes the segments whose newest event is older than cutoff (ms), the one taking
// appends included: it is closed and replaced by an empty one named for the next sequence
// number, so numbering goes on after a restart. Readers drop expired events of the segments
// that straddle the cutoff themselves.
func (st *stream) expire(cutoff int64, now time.Time) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.expiredAt = now
	if st.deleted {
		return nil
	}
	if n := len(st.segs); n > 0 && !st.segs[n-1].Sealed && st.segs[n-1].Count > 0 && st.segs[n-1].MaxTS < cutoff {
		if st.active != nil {
			_ = st.active.Close()
			st.active = nil
		}
		next := segment{ID: st.nextSeq}
		f, err := os.OpenFile(filepath.Join(st.dir, segName(next.ID)), os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("start segment after expiry: %w", err)
		}
		_ = f.Close()
		st.segs[n-1].Sealed = true // deleted below
		st.segs = append(st.segs, next)
	}
	keep := st.segs[:0]
	var firstErr error
	for _, s := range st.segs {
		if s.Sealed && s.Count > 0 && s.MinTS < cutoff && s.MaxTS >= cutoff && 2*(cutoff-s.MinTS) >= s.MaxTS-s.MinTS {
			// At least half the segment's time span has expired: compact it.
			c, err := st.compactLocked(s, cutoff)
			if err != nil && firstErr == nil {
				firstErr = err
			}
			s = c
		}
		if s.Sealed && s.Count > 0 && s.MaxTS < cutoff {
			err := os.Remove(filepath.Join(st.dir, segName(s.ID)))
			if err == nil || os.IsNotExist(err) {
				_ = os.Remove(filepath.Join(st.dir, idxName(s.ID)))
				continue
			}
			if firstErr == nil {
				firstErr = fmt.Errorf("delete expired segment: %w", err)
			}
		}
		keep = append(keep, s)
	}
	st.segs = keep
	return firstErr
}

// compactLocked rewrites a sealed segment without its events older than cutoff. The new
// segment is named for its first kept event's sequence number, so it sorts after the old one
// and a token into the old one continues at its start; it is written (with its index) before
// the old one is removed, and openStream drops an old segment a crash left beside its
// compacted copy. It returns the segment as it now is (unchanged on failure).
func (st *stream) compactLocked(s segment, cutoff int64) (segment, error) {
	f, err := os.Open(filepath.Join(st.dir, segName(s.ID)))
	if err != nil {
		return s, fmt.Errorf("compact segment: %w", err)
	}
	defer f.Close()
	rr := newRecordReader(f, 0)
	var buf []byte
	ns := segment{Sealed: true}
	for {
		e, err := rr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return s, fmt.Errorf("compact segment %d: %w", s.ID, err)
		}
		if e.Timestamp < cutoff {
			continue
		}
		if ns.Count == 0 {
			ns.ID = e.Seq
		}
		n := len(buf)
		buf = appendRecord(buf, e)
		ns.add(e, len(buf)-n)
	}
	if ns.Count == 0 || ns.Count == s.Count {
		return s, nil // expire removes a wholly expired one; nothing to drop otherwise
	}
	if err := writeFileAtomic(filepath.Join(st.dir, segName(ns.ID)), buf); err != nil {
		return s, fmt.Errorf("write compacted segment: %w", err)
	}
	if err := writeIndex(st.dir, ns); err != nil {
		return s, fmt.Errorf("write compacted segment index: %w", err)
	}
	if ns.ID != s.ID {
		_ = os.Remove(filepath.Join(st.dir, segName(s.ID)))
		_ = os.Remove(filepath.Join(st.dir, idxName(s.ID)))
	}
	return ns, nil
}

// dropCompacted removes the segments a crash in the middle of a compaction left beside their
// compacted copy: an older segment whose events run into the next one's.
func dropCompacted(dir string, segs []segment) []segment {
	out := segs[:0]
	for i, s := range segs {
		if i+1 < len(segs) && s.Count > 0 && s.LastSeq >= segs[i+1].ID {
			_ = os.Remove(filepath.Join(dir, segName(s.ID)))
			_ = os.Remove(filepath.Join(dir, idxName(s.ID)))
			continue
		}
		out = append(out, s)
	}
	return out
}

// snapshot returns a copy of the segment indexes for a reader.
func (st *stream) snapshot() ([]segment, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.deleted {
		return nil, ErrStreamNotFound
	}
	return slices.Clone(st.segs), nil
}

// close releases the active file.
func (st *stream) close() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.active == nil {
		return nil
	}
	err := st.active.Close()
	st.active = nil
	return err
}
