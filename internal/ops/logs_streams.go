package ops

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// LogStream is a stream as the Logs operations answer it.
type LogStream struct {
	LogStreamInfo
	ARN string
}

// LogStreamQuery selects streams for DescribeLogStreams.
type LogStreamQuery struct {
	Prefix     string
	OrderBy    string // LogStreamName (default) or LastEventTime
	Descending bool
	Limit      *int
	Token      string
}

// LogStreamARN is a stream's ARN.
func LogStreamARN(sc model.Scope, group, stream string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:log-stream:%s", sc.Region, sc.Account, group, stream)
}

// CreateLogStream creates an empty stream in a group.
func (l *Logs) CreateLogStream(ctx context.Context, sc model.Scope, group, stream string) error {
	if err := validateLogStreamName(stream); err != nil {
		return err
	}
	if _, err := l.group(ctx, sc, group); err != nil {
		return err
	}
	err := l.events.CreateStream(LogGroupKey(sc, group), stream, l.now())
	if errors.Is(err, apierr.AlreadyExists) {
		return apierr.New(apierr.AlreadyExists, "The specified log stream already exists")
	}
	return err
}

// EnsureLogStream creates a stream unless it exists.
func (l *Logs) EnsureLogStream(ctx context.Context, sc model.Scope, group, stream string) error {
	err := l.CreateLogStream(ctx, sc, group, stream)
	if errors.Is(err, apierr.AlreadyExists) {
		return nil
	}
	return err
}

// DeleteLogStream deletes a stream and its events.
func (l *Logs) DeleteLogStream(ctx context.Context, sc model.Scope, group, stream string) error {
	if err := validateLogStreamName(stream); err != nil {
		return err
	}
	if _, err := l.group(ctx, sc, group); err != nil {
		return err
	}
	err := l.events.DeleteStream(LogGroupKey(sc, group), stream)
	if errors.Is(err, apierr.NotFound) {
		return errLogStreamNotFound()
	}
	return err
}

// DescribeLogStreams lists a group's streams, by name or by last event time.
func (l *Logs) DescribeLogStreams(ctx context.Context, sc model.Scope, group string, q LogStreamQuery) ([]LogStream, string, error) {
	if _, err := l.group(ctx, sc, group); err != nil {
		return nil, "", err
	}
	switch q.OrderBy {
	case "", "LogStreamName":
	case "LastEventTime":
		if q.Prefix != "" {
			return nil, "", apierr.New(apierr.InvalidParameter, "Cannot order by LastEventTime with a logStreamNamePrefix.")
		}
	default:
		return nil, "", invalidLogsParam("orderBy", "Member must satisfy enum value set: [LogStreamName, LastEventTime]")
	}
	limit, err := describeLimit(q.Limit)
	if err != nil {
		return nil, "", err
	}
	start, err := decodeLogsOffsetToken(q.Token)
	if err != nil {
		return nil, "", err
	}
	infos, err := l.events.Streams(LogGroupKey(sc, group))
	if err != nil {
		return nil, "", fmt.Errorf("log group %q streams: %w", group, err)
	}
	infos = slices.DeleteFunc(infos, func(in LogStreamInfo) bool { return !strings.HasPrefix(in.Name, q.Prefix) })
	if q.OrderBy == "LastEventTime" {
		slices.SortStableFunc(infos, func(a, b LogStreamInfo) int { return cmpInt64(a.LastEventTime, b.LastEventTime) })
	}
	if q.Descending {
		slices.Reverse(infos)
	}
	out := []LogStream{}
	for i := start; i < len(infos); i++ {
		if len(out) == limit {
			return out, encodeLogsOffsetToken(i), nil
		}
		out = append(out, LogStream{LogStreamInfo: infos[i], ARN: LogStreamARN(sc, group, infos[i].Name)})
	}
	return out, "", nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Listing tokens: a name to continue after, or an offset into a sorted listing.

func encodeLogsNameToken(after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("n:" + after))
}

func decodeLogsNameToken(tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	name, ok := strings.CutPrefix(string(b), "n:")
	if err != nil || !ok {
		return "", apierr.New(apierr.InvalidParameter, "The specified nextToken is invalid.")
	}
	return name, nil
}

func encodeLogsOffsetToken(i int) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "o:%d", i))
}

func decodeLogsOffsetToken(tok string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	var i int
	if err == nil {
		_, err = fmt.Sscanf(string(b), "o:%d", &i)
	}
	if err != nil || i < 0 {
		return 0, apierr.New(apierr.InvalidParameter, "The specified nextToken is invalid.")
	}
	return i, nil
}
