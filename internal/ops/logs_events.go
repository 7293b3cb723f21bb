package ops

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// PutLogEvents limits, as AWS documents them.
const (
	logBatchMaxEvents   = 10000
	logBatchMaxBytes    = 1_048_576
	logEventOverhead    = 26
	logEventMaxBytes    = 1_048_576 - logEventOverhead
	logBatchMaxSpan     = 24 * time.Hour
	logEventMaxAge      = 14 * 24 * time.Hour
	logEventMaxFuture   = 2 * time.Hour
	logReadMaxEvents    = 10000
	logReadMaxBytes     = 1_048_576
	logFilterMaxStreams = 100
	// logFilterScanBudget bounds the bytes one FilterLogEvents call reads before it answers
	// with a nextToken, so a selective pattern over a large group stays responsive.
	logFilterScanBudget = 256 << 20
)

// InputLogEvent is one event PutLogEvents takes.
type InputLogEvent struct {
	Timestamp int64
	Message   string
}

// RejectedLogEvents says which events of a batch were not stored; indexes are exclusive ends
// (too old, expired) and an inclusive start (too new), nil when none.
type RejectedLogEvents struct {
	TooOldEndIndex   *int
	ExpiredEndIndex  *int
	TooNewStartIndex *int
}

// PutLogEvents stores a batch of events in a stream, as one durable append. Events too old,
// past the group's retention, or too far in the future are left out and reported.
func (l *Logs) PutLogEvents(ctx context.Context, sc model.Scope, group, stream string, events []InputLogEvent) (*RejectedLogEvents, error) {
	if err := validateLogStreamName(stream); err != nil {
		return nil, err
	}
	if err := validateLogBatch(events); err != nil {
		return nil, err
	}
	g, err := l.group(ctx, sc, group)
	if err != nil {
		return nil, err
	}
	now := l.now()
	keep, rej := splitLogBatch(events, now, g.Value.RetentionDays)
	if len(keep) == 0 {
		if _, err := l.events.Stream(LogGroupKey(sc, group), stream); err != nil {
			return nil, logStreamErr(err)
		}
		return rej, nil
	}
	out := make([]LogEvent, len(keep))
	for i, e := range keep {
		out[i] = LogEvent{Timestamp: e.Timestamp, Message: e.Message}
	}
	if err := l.events.Append(LogGroupKey(sc, group), stream, out); err != nil {
		return nil, logStreamErr(err)
	}
	return rej, nil
}

func logStreamErr(err error) error {
	if errors.Is(err, apierr.NotFound) {
		return errLogStreamNotFound()
	}
	return err
}

// validateLogBatch applies AWS's batch rules: count, size, order and span.
func validateLogBatch(events []InputLogEvent) error {
	if len(events) == 0 {
		return invalidLogsParam("logEvents", "Member must have length greater than or equal to 1")
	}
	if len(events) > logBatchMaxEvents {
		return invalidLogsParam("logEvents", "Member must have length less than or equal to 10000")
	}
	size := 0
	for i, e := range events {
		if e.Message == "" {
			return invalidLogsParam(fmt.Sprintf("logEvents.%d.member.message", i+1), "Member must have length greater than or equal to 1")
		}
		if !utf8.ValidString(e.Message) {
			return apierr.New(apierr.InvalidParameter, "Log event message is not valid UTF-8")
		}
		if len(e.Message) > logEventMaxBytes {
			return apierr.New(apierr.InvalidParameter, "Log event too large")
		}
		size += len(e.Message) + logEventOverhead
		if i > 0 && e.Timestamp < events[i-1].Timestamp {
			return apierr.New(apierr.InvalidParameter, "Log events in a single PutLogEvents request must be in chronological order.")
		}
	}
	if size > logBatchMaxBytes {
		return apierr.New(apierr.InvalidParameter, "Upload too large: 1048576 bytes exceeds limit of 1048576")
	}
	if time.Duration(events[len(events)-1].Timestamp-events[0].Timestamp)*time.Millisecond > logBatchMaxSpan {
		return apierr.New(apierr.InvalidParameter, "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	}
	return nil
}

// splitLogBatch keeps the events of a sorted batch that may be stored at now.
func splitLogBatch(events []InputLogEvent, now time.Time, retentionDays int) ([]InputLogEvent, *RejectedLogEvents) {
	tooOld := now.Add(-logEventMaxAge).UnixMilli()
	expired := int64(0)
	if retentionDays > 0 {
		expired = now.Add(-time.Duration(retentionDays) * 24 * time.Hour).UnixMilli()
	}
	tooNew := now.Add(logEventMaxFuture).UnixMilli()
	start, end := 0, len(events)
	var rej RejectedLogEvents
	for start < end && (events[start].Timestamp < tooOld || events[start].Timestamp < expired) {
		start++
	}
	for end > start && events[end-1].Timestamp > tooNew {
		end--
	}
	any := false
	if start > 0 {
		// Which of the rejected old events were too old, and which past retention.
		old := 0
		for old < start && events[old].Timestamp < tooOld {
			old++
		}
		if old > 0 {
			rej.TooOldEndIndex, any = &old, true
		}
		if start > old || expired > tooOld {
			s := start
			rej.ExpiredEndIndex, any = &s, true
		}
	}
	if end < len(events) {
		e := end
		rej.TooNewStartIndex, any = &e, true
	}
	if !any {
		return events[start:end], nil
	}
	return events[start:end], &rej
}

// GetLogEventsQuery is GetLogEvents' input.
type GetLogEventsQuery struct {
	StartTime, EndTime *int64
	StartFromHead      bool
	Limit              *int
	Token              string
}

// GetLogEventsResult holds events in timestamp order and the tokens to page on. A token comes
// back unchanged when there is nothing further that way, which ends a client's paging.
type GetLogEventsResult struct {
	Events        []LogEvent
	ForwardToken  string
	BackwardToken string
}

// GetLogEvents reads one page of a stream's events.
func (l *Logs) GetLogEvents(ctx context.Context, sc model.Scope, group, stream string, q GetLogEventsQuery) (GetLogEventsResult, error) {
	if err := validateLogStreamName(stream); err != nil {
		return GetLogEventsResult{}, err
	}
	limit := logReadMaxEvents
	if q.Limit != nil {
		if *q.Limit < 1 || *q.Limit > logReadMaxEvents {
			return GetLogEventsResult{}, invalidLogsParam("limit", "Member must have value between 1 and 10000")
		}
		limit = *q.Limit
	}
	if _, err := l.group(ctx, sc, group); err != nil {
		return GetLogEventsResult{}, err
	}
	lq := LogQuery{Limit: limit, MaxBytes: logReadMaxBytes, Overhead: logEventOverhead, Backward: !q.StartFromHead}
	if q.StartTime != nil {
		lq.Start = *q.StartTime
	}
	if q.EndTime != nil {
		lq.End = *q.EndTime
		if lq.End <= 0 {
			lq.End = -1 << 62 // nothing is before the epoch's start: an empty range
		}
	}
	if q.Token != "" {
		dir, pos, ok := strings.Cut(q.Token, "/")
		if !ok || dir != "f" && dir != "b" {
			return GetLogEventsResult{}, apierr.New(apierr.InvalidParameter, "The specified nextToken is invalid.")
		}
		lq.Backward, lq.Token = dir == "b", pos
	}
	pg, err := l.events.Read(LogGroupKey(sc, group), stream, lq)
	if err != nil {
		return GetLogEventsResult{}, logStreamErr(err)
	}
	if lq.Backward {
		slices.Reverse(pg.Events)
		return GetLogEventsResult{Events: pg.Events, ForwardToken: "f/" + pg.Start, BackwardToken: "b/" + pg.Next}, nil
	}
	return GetLogEventsResult{Events: pg.Events, ForwardToken: "f/" + pg.Next, BackwardToken: "b/" + pg.Start}, nil
}

// FilterLogEventsQuery is FilterLogEvents' input.
type FilterLogEventsQuery struct {
	StreamNames        []string
	StreamPrefix       string
	StartTime, EndTime *int64
	Pattern            string
	Limit              *int
	Token              string
}

// FilteredLogEvent is an event FilterLogEvents found.
type FilteredLogEvent struct {
	LogEvent
	Stream  string
	EventID string
}

// FilterLogEventsResult is one page of FilterLogEvents.
type FilterLogEventsResult struct {
	Events   []FilteredLogEvent
	Searched []string // streams searched completely in this page
	Token    string
}

// FilterLogEvents searches the streams of a group, one stream after another in name order.
func (l *Logs) FilterLogEvents(ctx context.Context, sc model.Scope, group string, q FilterLogEventsQuery) (FilterLogEventsResult, error) {
	if len(q.StreamNames) > 0 && q.StreamPrefix != "" {
		return FilterLogEventsResult{}, apierr.New(apierr.InvalidParameter, "logStreamNames and logStreamNamePrefix are mutually exclusive")
	}
	if len(q.StreamNames) > logFilterMaxStreams {
		return FilterLogEventsResult{}, invalidLogsParam("logStreamNames", "Member must have length less than or equal to 100")
	}
	limit := logReadMaxEvents
	if q.Limit != nil {
		if *q.Limit < 1 || *q.Limit > logReadMaxEvents {
			return FilterLogEventsResult{}, invalidLogsParam("limit", "Member must have value between 1 and 10000")
		}
		limit = *q.Limit
	}
	match, err := ParseFilterPattern(q.Pattern)
	if err != nil {
		return FilterLogEventsResult{}, err
	}
	if _, err := l.group(ctx, sc, group); err != nil {
		return FilterLogEventsResult{}, err
	}
	key := LogGroupKey(sc, group)
	infos, err := l.events.Streams(key)
	if err != nil {
		return FilterLogEventsResult{}, fmt.Errorf("log group %q streams: %w", group, err)
	}
	names := make([]string, 0, len(infos))
	for _, in := range infos {
		if strings.HasPrefix(in.Name, q.StreamPrefix) && (len(q.StreamNames) == 0 || slices.Contains(q.StreamNames, in.Name)) {
			names = append(names, in.Name)
		}
	}
	fromStream, fromPos, err := decodeFilterToken(q.Token)
	if err != nil {
		return FilterLogEventsResult{}, err
	}
	res := FilterLogEventsResult{Events: []FilteredLogEvent{}, Searched: []string{}}
	lq := LogQuery{Overhead: logEventOverhead, MaxScan: logFilterScanBudget,
		Match: func(e LogEvent) bool { return match.Match(e.Message) }}
	if q.StartTime != nil {
		lq.Start = *q.StartTime
	}
	if q.EndTime != nil {
		lq.End = *q.EndTime + 1 // FilterLogEvents' endTime is inclusive
	}
	bytes := 0
	for _, name := range names {
		if name < fromStream {
			continue
		}
		if len(res.Events) >= limit || bytes >= logReadMaxBytes {
			res.Token = encodeFilterToken(name, "")
			return res, nil
		}
		lq.Token = ""
		if name == fromStream {
			lq.Token = fromPos
		}
		lq.Limit, lq.MaxBytes = limit-len(res.Events), logReadMaxBytes-bytes
		pg, err := l.events.Read(key, name, lq)
		if errors.Is(err, apierr.NotFound) {
			continue // deleted while we searched
		}
		if err != nil {
			return FilterLogEventsResult{}, err
		}
		for _, e := range pg.Events {
			res.Events = append(res.Events, FilteredLogEvent{LogEvent: e, Stream: name, EventID: logEventID(name, e)})
			bytes += len(e.Message) + logEventOverhead
		}
		if !pg.End {
			res.Token = encodeFilterToken(name, pg.Next)
			return res, nil
		}
		res.Searched = append(res.Searched, name)
	}
	return res, nil
}

// logEventID is a stable id for an event: its time, its stream and its place in it.
func logEventID(stream string, e LogEvent) string {
	return fmt.Sprintf("%020d%010d%020d", e.Timestamp, crc32.ChecksumIEEE([]byte(stream)), e.Seq)
}

func encodeFilterToken(stream, pos string) string {
	return encodeLogsNameToken(stream + "\x00" + pos)
}

func decodeFilterToken(tok string) (string, string, error) {
	s, err := decodeLogsNameToken(tok)
	if err != nil || s == "" {
		return "", "", err
	}
	stream, pos, ok := strings.Cut(s, "\x00")
	if !ok {
		return "", "", apierr.New(apierr.InvalidParameter, "The specified nextToken is invalid.")
	}
	return stream, pos, nil
}
