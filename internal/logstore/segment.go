package logstore

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A segment file is a run of records, each framed so it can be read forward and backward and
// checked after a crash:
//
//	u32 bodyLen | u32 crc32c(body) | body: i64 timestamp, i64 ingestion, u64 seq, message | u32 recordLen
//
// recordLen (the whole record, trailer included) lets a reader step backward from any record
// boundary. A record that does not check out ends the segment: it is the torn tail of a crash.

const (
	headerSize  = 8
	bodyFixed   = 24
	trailerSize = 4
	// recordOverhead is the framing around a message.
	recordOverhead = headerSize + bodyFixed + trailerSize
	// maxMessage bounds one message; AWS's limit is 256 KiB (1 MiB for some accounts).
	maxMessage = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendRecord frames e onto buf.
func appendRecord(buf []byte, e Event) []byte {
	n := bodyFixed + len(e.Message)
	start := len(buf)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(n))
	buf = binary.LittleEndian.AppendUint32(buf, 0) // crc, filled below
	body := len(buf)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(e.Timestamp))
	buf = binary.LittleEndian.AppendUint64(buf, uint64(e.IngestionTime))
	buf = binary.LittleEndian.AppendUint64(buf, e.Seq)
	buf = append(buf, e.Message...)
	binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(buf[body:], castagnoli))
	return binary.LittleEndian.AppendUint32(buf, uint32(len(buf)-start+trailerSize))
}

var errTorn = errors.New("torn or corrupt record")

// decodeBody checks a record's body against its crc and returns its event.
func decodeBody(body []byte, crc uint32) (Event, error) {
	if len(body) < bodyFixed || crc32.Checksum(body, castagnoli) != crc {
		return Event{}, errTorn
	}
	return Event{
		Timestamp:     int64(binary.LittleEndian.Uint64(body)),
		IngestionTime: int64(binary.LittleEndian.Uint64(body[8:])),
		Seq:           binary.LittleEndian.Uint64(body[16:]),
		Message:       string(body[bodyFixed:]),
	}, nil
}

// recordReader reads records forward from a buffered reader, tracking the offset.
type recordReader struct {
	r   *bufio.Reader
	off int64
	buf []byte
}

func newRecordReader(r io.Reader, off int64) *recordReader {
	return &recordReader{r: bufio.NewReaderSize(r, 64<<10), off: off}
}

// next returns the next record and the offset just after it; io.EOF at a clean end, errTorn
// when the rest does not check out.
func (rr *recordReader) next() (Event, error) {
	var hdr [headerSize]byte
	if _, err := io.ReadFull(rr.r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return Event{}, io.EOF
		}
		return Event{}, errTorn
	}
	n := int(binary.LittleEndian.Uint32(hdr[:]))
	if n < bodyFixed || n > bodyFixed+maxMessage {
		return Event{}, errTorn
	}
	if cap(rr.buf) < n+trailerSize {
		rr.buf = make([]byte, n+trailerSize)
	}
	b := rr.buf[:n+trailerSize]
	if _, err := io.ReadFull(rr.r, b); err != nil {
		return Event{}, errTorn
	}
	if int(binary.LittleEndian.Uint32(b[n:])) != headerSize+n+trailerSize {
		return Event{}, errTorn
	}
	e, err := decodeBody(b[:n], binary.LittleEndian.Uint32(hdr[4:]))
	if err != nil {
		return Event{}, err
	}
	rr.off += int64(headerSize + n + trailerSize)
	return e, nil
}

// readBefore reads the record that ends at off in f, and returns it with its start offset.
func readBefore(f *os.File, off int64) (Event, int64, error) {
	if off < recordOverhead {
		return Event{}, 0, errTorn
	}
	var tr [trailerSize]byte
	if _, err := f.ReadAt(tr[:], off-trailerSize); err != nil {
		return Event{}, 0, fmt.Errorf("read trailer: %w", err)
	}
	total := int64(binary.LittleEndian.Uint32(tr[:]))
	if total < recordOverhead || total > off {
		return Event{}, 0, errTorn
	}
	b := make([]byte, total)
	if _, err := f.ReadAt(b, off-total); err != nil {
		return Event{}, 0, fmt.Errorf("read record: %w", err)
	}
	n := int(binary.LittleEndian.Uint32(b))
	if int64(headerSize+n+trailerSize) != total {
		return Event{}, 0, errTorn
	}
	e, err := decodeBody(b[headerSize:headerSize+n], binary.LittleEndian.Uint32(b[4:]))
	return e, off - total, err
}

// segment is one file of a stream and its time index: what a reader needs to skip it whole.
type segment struct {
	ID         uint64 `json:"id"` // the sequence number of its first event; names the file
	Size       int64  `json:"size"`
	Count      int64  `json:"count"`
	MinTS      int64  `json:"minTs"`
	MaxTS      int64  `json:"maxTs"`
	LastSeq    uint64 `json:"lastSeq"`
	LastIngest int64  `json:"lastIngest"`
	// Sealed segments take no more appends and have an index file beside them.
	Sealed bool `json:"-"`
}

func (s *segment) add(e Event, size int) {
	if s.Count == 0 || e.Timestamp < s.MinTS {
		s.MinTS = e.Timestamp
	}
	if s.Count == 0 || e.Timestamp > s.MaxTS {
		s.MaxTS = e.Timestamp
	}
	s.Count++
	s.Size += int64(size)
	s.LastSeq = e.Seq
	s.LastIngest = max(s.LastIngest, e.IngestionTime)
}

func segName(id uint64) string { return fmt.Sprintf("%020d.seg", id) }

func idxName(id uint64) string { return fmt.Sprintf("%020d.idx", id) }

// parseSegName returns the id of a segment file name.
func parseSegName(name string) (uint64, bool) {
	base, ok := strings.CutSuffix(name, ".seg")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseUint(base, 10, 64)
	return id, err == nil
}

// scanSegment rebuilds a segment's index by reading it, and truncates a torn tail when repair
// is set; it returns the index of the records that check out.
func scanSegment(path string, id uint64, repair bool) (segment, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return segment{}, fmt.Errorf("open segment: %w", err)
	}
	defer f.Close()
	seg := segment{ID: id}
	rr := newRecordReader(f, 0)
	for {
		before := rr.off
		e, err := rr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if !repair {
				break
			}
			if terr := f.Truncate(before); terr != nil {
				return segment{}, fmt.Errorf("truncate torn tail of %s: %w", filepath.Base(path), terr)
			}
			if serr := f.Sync(); serr != nil {
				return segment{}, fmt.Errorf("sync %s: %w", filepath.Base(path), serr)
			}
			break
		}
		seg.add(e, int(rr.off-before))
	}
	return seg, nil
}

// loadIndex reads a sealed segment's index file; ok is false when it is missing or does not
// match the segment file's size, and the segment must be scanned.
func loadIndex(dir string, id uint64, fileSize int64) (segment, bool) {
	b, err := os.ReadFile(filepath.Join(dir, idxName(id)))
	if err != nil {
		return segment{}, false
	}
	var s segment
	if json.Unmarshal(b, &s) != nil || s.ID != id || s.Size != fileSize {
		return segment{}, false
	}
	s.Sealed = true
	return s, true
}

// writeIndex writes a sealed segment's index file atomically.
func writeIndex(dir string, s segment) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, idxName(s.ID)), b)
}

// writeFileAtomic replaces path with data through a synced temporary file.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
