package ops

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"slices"
	"strconv"
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

// FilterLogEvents searches the streams of a group and answers their events interleaved, as
// AWS does: sorted by timestamp, then stream name, then place in the stream. Each stream is
// read from where the last page left it (or from the lower time bound); an event is answered
// only once every stream cut short by the page's limit has been read past it, so no event of
// another stream is skipped. The nextToken holds the sort key of the last event answered and
// where each stream goes on. Streams are assumed to hold their events in time order (what the
// awslogs driver and PutLogEvents' batch rules give); an event appended later with an earlier
// timestamp than a page already answered is not found by the pages after it.
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
	tok, err := decodeFilterToken(q.Token)
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
	var start, end int64
	if q.StartTime != nil {
		start = *q.StartTime
	}
	if q.EndTime != nil {
		end = *q.EndTime + 1 // FilterLogEvents' endTime is inclusive
		if end <= 0 {
			end = -1 << 62 // an empty range
		}
	}
	after := tok.after
	if after != nil {
		start = max(start, after.ts)
	}
	type read struct {
		name  string
		pg    LogPage
		taken int // events of pg answered
	}
	var reads []*read
	type candidate struct {
		ev FilteredLogEvent
		r  *read
	}
	var found []candidate
	var frontier *filterKey // the least last key of the streams cut short
	next := filterToken{pos: map[string]string{}}
	var names []string
	for _, in := range infos {
		if !strings.HasPrefix(in.Name, q.StreamPrefix) || len(q.StreamNames) > 0 && !slices.Contains(q.StreamNames, in.Name) {
			continue
		}
		if in.LastEventTime == 0 && in.FirstEventTime == 0 || in.LastEventTime < start || end != 0 && in.FirstEventTime >= end {
			if p, ok := tok.pos[streamHash(in.Name)]; ok {
				next.pos[streamHash(in.Name)] = p
			}
			continue // nothing in the time range
		}
		names = append(names, in.Name)
	}
	// Each stream gives about twice its share of a page: the merge answers up to the first
	// stream cut short, so more would be read only to be read again by the next page.
	perStream := limit
	if len(names) > 1 {
		perStream = min(limit, max(100, (2*limit+len(names)-1)/len(names)))
	}
	for _, name := range names {
		h := streamHash(name)
		lq := LogQuery{Start: start, End: end, Limit: perStream, MaxBytes: logReadMaxBytes, Overhead: logEventOverhead, Positions: true,
			Token: tok.pos[h],
			Match: func(e LogEvent) bool {
				return (after == nil || after.less(filterKey{e.Timestamp, name, e.Seq})) && match.Match(e.Message)
			}}
		pg, err := l.events.Read(key, name, lq)
		if errors.Is(err, apierr.NotFound) {
			continue // deleted while we searched
		}
		if err != nil {
			return FilterLogEventsResult{}, err
		}
		r := &read{name: name, pg: pg}
		reads = append(reads, r)
		for _, e := range pg.Events {
			found = append(found, candidate{FilteredLogEvent{LogEvent: e, Stream: name}, r})
		}
		if !pg.End && len(pg.Events) > 0 {
			last := pg.Events[len(pg.Events)-1]
			if k := (filterKey{last.Timestamp, name, last.Seq}); frontier == nil || k.less(*frontier) {
				frontier = &k
			}
		}
	}
	slices.SortFunc(found, func(a, b candidate) int { return filterKeyOf(a.ev).cmp(filterKeyOf(b.ev)) })
	res := FilterLogEventsResult{Events: []FilteredLogEvent{}, Searched: []string{}}
	bytes, more := 0, frontier != nil
	for _, c := range found {
		if frontier != nil && frontier.less(filterKeyOf(c.ev)) || len(res.Events) == limit || bytes+len(c.ev.Message)+logEventOverhead > logReadMaxBytes {
			more = true
			break
		}
		c.ev.EventID = logEventID(c.ev.Stream, c.ev.LogEvent)
		res.Events = append(res.Events, c.ev)
		c.r.taken++
		bytes += len(c.ev.Message) + logEventOverhead
	}
	for _, r := range reads {
		h := streamHash(r.name)
		switch {
		case r.taken < len(r.pg.Events):
			// The stream goes on at its first event not answered (its events are answered in
			// the order they were read).
			next.pos[h] = r.pg.PosAt(r.taken)
		default:
			next.pos[h] = r.pg.Next
			if r.pg.End {
				res.Searched = append(res.Searched, r.name)
			}
		}
	}
	if more && len(res.Events) > 0 {
		k := filterKeyOf(res.Events[len(res.Events)-1])
		next.after = &k
		res.Token = encodeFilterToken(next)
	}
	slices.Sort(res.Searched)
	return res, nil
}

// filterKey orders FilterLogEvents' answer: timestamp, stream name, place in the stream.
type filterKey struct {
	ts     int64
	stream string
	seq    uint64
}

func filterKeyOf(e FilteredLogEvent) filterKey { return filterKey{e.Timestamp, e.Stream, e.Seq} }

func (a filterKey) cmp(b filterKey) int {
	if c := cmpInt64(a.ts, b.ts); c != 0 {
		return c
	}
	if c := strings.Compare(a.stream, b.stream); c != 0 {
		return c
	}
	switch {
	case a.seq < b.seq:
		return -1
	case a.seq > b.seq:
		return 1
	}
	return 0
}

func (a filterKey) less(b filterKey) bool { return a.cmp(b) < 0 }

// logEventID is a stable id for an event: its time, its stream and its place in it.
func logEventID(stream string, e LogEvent) string {
	return fmt.Sprintf("%020d%010d%020d", e.Timestamp, crc32.ChecksumIEEE([]byte(stream)), e.Seq)
}

// filterToken is FilterLogEvents' nextToken: the key of the last event answered, and where
// each stream read goes on, by a hash of its name (so the token stays small with long names).
type filterToken struct {
	after *filterKey
	pos   map[string]string
}

type filterTokenWire struct {
	T int64             `json:"t"`
	S uint64            `json:"s"`
	N string            `json:"n"`
	P map[string]string `json:"p,omitempty"`
}

func streamHash(name string) string {
	h := fnv.New64a()
	h.Write([]byte(name))
	return strconv.FormatUint(h.Sum64(), 36)
}

func encodeFilterToken(t filterToken) string {
	b, _ := json.Marshal(filterTokenWire{T: t.after.ts, S: t.after.seq, N: t.after.stream, P: t.pos})
	return "f" + base64.RawURLEncoding.EncodeToString(b)
}

// decodeFilterToken reads a nextToken; the zero token for none.
func decodeFilterToken(tok string) (filterToken, error) {
	if tok == "" {
		return filterToken{}, nil
	}
	var w filterTokenWire
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, "f"))
	if err == nil && strings.HasPrefix(tok, "f") {
		err = json.Unmarshal(b, &w)
	} else if err == nil {
		err = errors.New("not a filter token")
	}
	if err != nil || w.N == "" {
		return filterToken{}, apierr.New(apierr.InvalidParameter, "The specified nextToken is invalid.")
	}
	return filterToken{after: &filterKey{ts: w.T, seq: w.S, stream: w.N}, pos: w.P}, nil
}
