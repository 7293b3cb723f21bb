package taskrunner

import (
	"cmp"
	"context"
	"errors"
	"math"
	"time"

	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/runtime"
)

// A container's output goes to a log file first (the shim writes it, so none is lost), and a
// service runs for months: the file must not fill the host's disk. Its bytes are freed once
// nobody will read them again, while offsets stay valid (runtime.TrimLogFile):
//   - with awslogs, up to the offset whose events are stored in the stream, as it moves on by
//     logTrimStep;
//   - without a log driver, as on Fargate, nothing reads the output: all but its last
//     logKeepTail bytes, every logTrimInterval.
const (
	logTrimStep     = 1 << 20
	logKeepTail     = 1 << 20
	logTrimInterval = 5 // TimeUnits
)

// trim frees the log before the stored offset, once it moved logTrimStep past the last trim.
func (s *shipper) trim(ctx context.Context) {
	if s.trimmed < 0 || s.st.Offset-s.trimmed < cmp.Or(s.trimStep, logTrimStep) {
		return
	}
	err := s.rt.TrimLogs(ctx, s.taskID, s.name, s.st.Offset, 0)
	switch {
	case err == nil:
		s.trimmed = s.st.Offset
	case errors.Is(err, runtime.ErrTrimUnsupported):
		s.trimmed = -1
		s.log.Warn("awslogs: "+err.Error(), "container", s.name)
	case ctx.Err() == nil:
		s.log.Warn("awslogs: trim the shipped output", logx.KeyError, err)
	}
}

// trimUnshipped keeps the log of a container without a log driver to its last logKeepTail
// bytes until ctx ends or the task drains its logs.
func (r *Runner) trimUnshipped(ctx context.Context, drain <-chan struct{}, name string) {
	t := time.NewTicker(logTrimInterval * r.cfg.TimeUnit)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-drain:
			return
		case <-t.C:
		}
		err := r.cfg.Runtime.TrimLogs(ctx, r.id, name, math.MaxInt64, logKeepTail)
		if errors.Is(err, runtime.ErrTrimUnsupported) {
			r.log.Warn(err.Error(), "container", name)
			return
		}
		if err != nil && ctx.Err() == nil {
			r.log.Warn("trim container output", "container", name, logx.KeyError, err)
		}
	}
}
