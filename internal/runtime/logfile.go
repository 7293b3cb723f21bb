package runtime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Log files use the CRI format, one record per line:
//
//	2026-01-02T15:04:05.999999999Z stdout F the line
//
// F marks a full line, P a piece of a line longer than maxLogLine. Readers resume from a byte
// offset, so a log pipeline can remember where it stopped.

// maxLogLine splits longer lines into partial records.
const maxLogLine = 16 << 10

// Log streams.
const (
	StreamStdout = "stdout"
	StreamStderr = "stderr"
)

// LogEntry is one record of a container's log.
type LogEntry struct {
	Time    time.Time
	Stream  string
	Partial bool // the line continues in the next entry
	Line    string
}

// LogWriter appends framed records to one file from several streams.
type LogWriter struct {
	mu sync.Mutex
	f  *os.File
	// now is replaceable for tests.
	now func() time.Time
}

// OpenLogWriter opens path for appending.
func OpenLogWriter(path string) (*LogWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	return &LogWriter{f: f, now: time.Now}, nil
}

// Copy frames everything read from r as stream until r ends.
func (w *LogWriter) Copy(stream string, r io.Reader) error {
	br := bufio.NewReaderSize(r, maxLogLine)
	for {
		line, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			if werr := w.write(stream, false, line[:len(line)-1]); werr != nil {
				return werr
			}
		case errors.Is(err, bufio.ErrBufferFull):
			if werr := w.write(stream, true, line); werr != nil {
				return werr
			}
		case len(line) > 0:
			// The stream ended in the middle of a line: keep it, as a full one.
			if werr := w.write(stream, false, line); werr != nil {
				return werr
			}
			return nil
		default:
			return nil
		}
	}
}

func (w *LogWriter) write(stream string, partial bool, line []byte) error {
	tag := "F"
	if partial {
		tag = "P"
	}
	var b bytes.Buffer
	b.Grow(len(line) + 48)
	b.WriteString(w.now().UTC().Format(time.RFC3339Nano))
	b.WriteByte(' ')
	b.WriteString(stream)
	b.WriteByte(' ')
	b.WriteString(tag)
	b.WriteByte(' ')
	b.Write(line)
	b.WriteByte('\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	// One write per record, so records of two streams never interleave.
	if _, err := w.f.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write log: %w", err)
	}
	return nil
}

// Close closes the file.
func (w *LogWriter) Close() error { return w.f.Close() }

// ReadLogFile returns up to max complete records starting at byte offset, and the offset after
// the last one returned. A record still being written is left for the next call.
func ReadLogFile(path string, offset int64, max int) ([]LogEntry, int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, offset, nil
	}
	if err != nil {
		return nil, offset, fmt.Errorf("open log: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, offset, fmt.Errorf("seek log: %w", err)
	}
	br := bufio.NewReaderSize(f, 64<<10)
	var out []LogEntry
	for max <= 0 || len(out) < max {
		line, err := br.ReadBytes('\n')
		if err != nil {
			break // EOF, or an incomplete last record
		}
		if line[0] == 0 {
			// A trimmed part (TrimLogFile) reads as zeros up to the block where the data
			// resumes, often mid-record: a whole record after the zeros is kept, a piece is
			// dropped. Readers never start there unless their offset was lost.
			rest := bytes.TrimLeft(line[:len(line)-1], "\x00")
			e, perr := parseLogLine(rest)
			offset += int64(len(line))
			if perr == nil && len(rest) > 0 {
				out = append(out, e)
			}
			continue
		}
		e, perr := parseLogLine(line[:len(line)-1])
		if perr != nil {
			return out, offset, fmt.Errorf("log at offset %d: %w", offset, perr)
		}
		offset += int64(len(line))
		out = append(out, e)
	}
	return out, offset, nil
}

func parseLogLine(line []byte) (LogEntry, error) {
	parts := bytes.SplitN(line, []byte(" "), 4)
	if len(parts) < 3 {
		return LogEntry{}, errors.New("malformed record")
	}
	t, err := time.Parse(time.RFC3339Nano, string(parts[0]))
	if err != nil {
		return LogEntry{}, fmt.Errorf("malformed record time: %w", err)
	}
	e := LogEntry{Time: t, Stream: string(parts[1]), Partial: string(parts[2]) == "P"}
	if len(parts) == 4 {
		e.Line = string(parts[3])
	}
	return e, nil
}

// TrimLogFile frees the disk space of the log's bytes before offset before, keeping at least
// keepTail bytes at its end, by punching a hole: the file keeps its size, so every offset stays
// valid for readers and the writer, and the trimmed bytes read as zeros (which ReadLogFile
// skips). It frees whole blocks only. A missing file, or a filesystem that cannot punch holes,
// frees nothing and is no error for the first, ErrTrimUnsupported for the second.
//
// It is called for every container every few seconds, mostly with nothing to free: it then
// only stats the file.
func TrimLogFile(path string, before, keepTail int64) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); errors.Is(err, unix.ENOENT) {
		return nil
	} else if err != nil {
		return fmt.Errorf("trim log: %w", err)
	}
	end := min(before, st.Size-keepTail)
	bs := int64(st.Blksize)
	if bs > 0 {
		end -= end % bs
	}
	if end <= 0 {
		return nil
	}
	// A log is only appended to, so its only holes are those punched before: when the blocks
	// the file holds are no more than those of what stays, everything before end is freed.
	if stays := st.Size - end; bs > 0 && st.Blocks*512 <= (stays+bs-1)/bs*bs {
		return nil
	}
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("trim log: %w", err)
	}
	defer unix.Close(fd)
	err = unix.Fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, end)
	if errors.Is(err, unix.EOPNOTSUPP) {
		return ErrTrimUnsupported
	}
	if err != nil {
		return fmt.Errorf("trim log: %w", err)
	}
	return nil
}

// ErrTrimUnsupported is TrimLogFile's answer on a filesystem without hole punching.
var ErrTrimUnsupported = errors.New("the filesystem cannot punch holes: container logs are not trimmed")
