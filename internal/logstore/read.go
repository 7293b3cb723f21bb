package logstore

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Pos is a place in a stream between two records: a segment and a byte offset in it. Forward
// reads start at it, backward reads end at it.
type Pos struct {
	Seg uint64
	Off int64
}

// String encodes p as an opaque token.
func (p Pos) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatUint(p.Seg, 36) + "." + strconv.FormatInt(p.Off, 36)))
}

// ErrBadToken is a token this store did not make.
var ErrBadToken = errors.New("invalid token")

// ParsePos decodes a token made by Pos.String.
func ParsePos(tok string) (Pos, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return Pos{}, ErrBadToken
	}
	a, c, ok := strings.Cut(string(b), ".")
	if !ok {
		return Pos{}, ErrBadToken
	}
	seg, err1 := strconv.ParseUint(a, 36, 64)
	off, err2 := strconv.ParseInt(c, 36, 64)
	if err1 != nil || err2 != nil || off < 0 {
		return Pos{}, ErrBadToken
	}
	return Pos{Seg: seg, Off: off}, nil
}

// Query selects events of one stream.
type Query struct {
	// Start and End bound timestamps (ms): Start <= t < End; zero End means no bound.
	Start, End int64
	// From is where to start; nil is the head (forward) or the tail (backward).
	From *Pos
	// Backward reads toward the head; events still come back newest first.
	Backward bool
	// Limit bounds the events returned (0: no bound).
	Limit int
	// MaxBytes bounds the size of the returned events, counting each message plus Overhead.
	MaxBytes int
	// Overhead is added to each message's size against MaxBytes (AWS counts 26 bytes).
	Overhead int
	// Match, when set, keeps only the events it accepts.
	Match func(Event) bool
	// MaxScan bounds the bytes read before returning (0: no bound), so a selective filter over
	// a large stream answers in pages.
	MaxScan int64
	// Positions asks a forward read for the place of each event it returns (Page.Positions).
	Positions bool
}

// Page is one answer of Read.
type Page struct {
	Events []Event
	// Start is where the read began: the head or tail when Query.From was nil.
	Start Pos
	// Next is where the next read in the same direction continues.
	Next Pos
	// End says the read reached the end (forward) or the head (backward) of the stream.
	End bool
	// Positions holds where each event starts, when a forward query asked for them: a read
	// from Positions[i] returns Events[i] first.
	Positions []Pos
}

// read runs q over the segments of st.
func (st *stream) read(q Query, cutoff int64) (Page, error) {
	segs, err := st.snapshot()
	if err != nil {
		return Page{}, err
	}
	if q.Start < cutoff {
		q.Start = cutoff
	}
	if q.Backward {
		return st.readBackward(segs, q)
	}
	return st.readForward(segs, q)
}

func (q *Query) inRange(ts int64) bool {
	return ts >= q.Start && (q.End == 0 || ts < q.End)
}

func (q *Query) segInRange(s segment) bool {
	return s.Count > 0 && s.MaxTS >= q.Start && (q.End == 0 || s.MinTS < q.End)
}

// full says whether a page with n events can take no more.
func (q *Query) full(n int) bool {
	return q.Limit > 0 && n >= q.Limit
}

func (q *Query) fits(b int, e Event) bool {
	return q.MaxBytes == 0 || b+len(e.Message)+q.Overhead <= q.MaxBytes
}

func (st *stream) openSeg(id uint64) (*os.File, error) {
	f, err := os.Open(filepath.Join(st.dir, segName(id)))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // expired under the reader
	}
	return f, err
}

func (st *stream) readForward(segs []segment, q Query) (Page, error) {
	pg := Page{Events: []Event{}}
	if len(segs) == 0 {
		pg.End = true
		if q.From != nil {
			pg.Start, pg.Next = *q.From, *q.From
		}
		return pg, nil
	}
	pos := Pos{Seg: segs[0].ID}
	if q.From != nil {
		pos = *q.From
	}
	pg.Start = pos
	var bytes int
	var scanned int64
	for i, s := range segs {
		if s.ID < pos.Seg {
			continue
		}
		if s.ID > pos.Seg {
			pos = Pos{Seg: s.ID}
		}
		if pos.Off >= s.Size || !q.segInRange(s) {
			pos.Off = max(pos.Off, s.Size)
			if i < len(segs)-1 {
				continue
			}
			break
		}
		next, stop, err := st.scanForward(s, pos.Off, &q, &pg, &bytes, &scanned)
		if err != nil {
			return Page{}, err
		}
		pos.Off = next
		if stop {
			pg.Next = pos
			return pg, nil
		}
	}
	pg.Next, pg.End = pos, true
	return pg, nil
}

// scanForward reads segment s from off, appending matches to pg; stop says the page is full.
func (st *stream) scanForward(s segment, off int64, q *Query, pg *Page, bytes *int, scanned *int64) (int64, bool, error) {
	f, err := st.openSeg(s.ID)
	if err != nil || f == nil {
		return s.Size, false, err
	}
	defer f.Close()
	rr := newRecordReader(io.NewSectionReader(f, off, s.Size-off), off)
	for rr.off < s.Size {
		if q.full(len(pg.Events)) || q.MaxScan > 0 && *scanned >= q.MaxScan {
			return rr.off, true, nil
		}
		before := rr.off
		e, err := rr.next()
		if err != nil {
			return 0, false, fmt.Errorf("segment %d at %d: %w", s.ID, before, err)
		}
		*scanned += rr.off - before
		if !q.inRange(e.Timestamp) || q.Match != nil && !q.Match(e) {
			continue
		}
		if !q.fits(*bytes, e) {
			return before, true, nil
		}
		pg.Events = append(pg.Events, e)
		if q.Positions {
			pg.Positions = append(pg.Positions, Pos{Seg: s.ID, Off: before})
		}
		*bytes += len(e.Message) + q.Overhead
	}
	return rr.off, false, nil
}

func (st *stream) readBackward(segs []segment, q Query) (Page, error) {
	pg := Page{Events: []Event{}}
	if len(segs) == 0 {
		pg.End = true
		if q.From != nil {
			pg.Start, pg.Next = *q.From, *q.From
		}
		return pg, nil
	}
	last := segs[len(segs)-1]
	pos := Pos{Seg: last.ID, Off: last.Size}
	if q.From != nil {
		pos = *q.From
	}
	pg.Start = pos
	var bytes int
	var scanned int64
	for i := len(segs) - 1; i >= 0; i-- {
		s := segs[i]
		if s.ID > pos.Seg {
			continue
		}
		if s.ID < pos.Seg {
			pos = Pos{Seg: s.ID, Off: s.Size}
		}
		pos.Off = min(pos.Off, s.Size)
		if pos.Off == 0 || !q.segInRange(s) {
			pos.Off = 0
			continue
		}
		next, stop, err := st.scanBackward(s, pos.Off, &q, &pg, &bytes, &scanned)
		if err != nil {
			return Page{}, err
		}
		pos.Off = next
		if stop {
			pg.Next = pos
			return pg, nil
		}
	}
	pg.Next, pg.End = Pos{Seg: segs[0].ID}, true
	return pg, nil
}

// scanBackward reads segment s backward from off, appending matches to pg newest first.
func (st *stream) scanBackward(s segment, off int64, q *Query, pg *Page, bytes *int, scanned *int64) (int64, bool, error) {
	f, err := st.openSeg(s.ID)
	if err != nil || f == nil {
		return 0, false, err
	}
	defer f.Close()
	for off > 0 {
		if q.full(len(pg.Events)) || q.MaxScan > 0 && *scanned >= q.MaxScan {
			return off, true, nil
		}
		e, start, err := readBefore(f, off)
		if err != nil {
			return 0, false, fmt.Errorf("segment %d before %d: %w", s.ID, off, err)
		}
		*scanned += off - start
		if !q.inRange(e.Timestamp) || q.Match != nil && !q.Match(e) {
			off = start
			continue
		}
		if !q.fits(*bytes, e) {
			return off, true, nil
		}
		pg.Events = append(pg.Events, e)
		*bytes += len(e.Message) + q.Overhead
		off = start
	}
	return 0, false, nil
}
