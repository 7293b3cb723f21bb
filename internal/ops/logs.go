package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// LogEventStore is where log streams and their events live (internal/logstore, through
// logstore/logsbackend). Groups are named by an opaque key (LogGroupKey). Its errors carry
// apierr kinds: AlreadyExists for a stream that exists, NotFound for one that does not,
// InvalidParameter for a token it did not make.
type LogEventStore interface {
	CreateStream(group, stream string, createdAt time.Time) error
	DeleteStream(group, stream string) error
	DeleteGroup(group string) error
	// SetRetention keeps a group's events for days (0: forever).
	SetRetention(group string, days int) error
	// Streams describes a group's streams in name order.
	Streams(group string) ([]LogStreamInfo, error)
	Stream(group, stream string) (LogStreamInfo, error)
	// Append stores events at the end of a stream as one durable batch.
	Append(group, stream string, events []LogEvent) error
	Read(group, stream string, q LogQuery) (LogPage, error)
}

// LogEvent is one event; times are milliseconds since the epoch.
type LogEvent struct {
	Timestamp     int64
	Message       string
	IngestionTime int64
	// Seq is the event's place in its stream (from 1), set by the store.
	Seq uint64
}

// LogStreamInfo describes a stream; times are ms since the epoch, zero when it has no event.
type LogStreamInfo struct {
	Name              string
	CreatedAt         int64
	FirstEventTime    int64
	LastEventTime     int64
	LastIngestionTime int64
	StoredBytes       int64
}

// LogQuery selects events of one stream (see logstore.Query).
type LogQuery struct {
	Start, End int64 // Start <= t < End; End 0 for no bound
	Token      string
	Backward   bool
	Limit      int
	MaxBytes   int
	Overhead   int
	Match      func(LogEvent) bool
	MaxScan    int64
	// Positions asks a forward read for LogPage.PosAt.
	Positions bool
}

// LogPage is one answer of LogEventStore.Read; events come newest first when reading backward.
type LogPage struct {
	Events []LogEvent
	// Start is where the read began (the head or tail when the query had no token).
	Start string
	Next  string
	End   bool
	// PosAt, when the query asked for Positions, is a token a read starts at to return
	// Events[i] first.
	PosAt func(i int) string
}

// Logs serves the CloudWatch Logs operations: group metadata in etcd, streams and events in
// the log event store.
type Logs struct {
	groups store.LogGroups
	events LogEventStore
	now    model.Clock
	logger *slog.Logger
}

// NewLogs returns the Logs operations.
func NewLogs(s *store.Store, events LogEventStore, logger *slog.Logger) *Logs {
	return &Logs{groups: s.LogGroups(), events: events, now: time.Now, logger: logger.With("component", "ops.logs")}
}

// SetClock replaces the clock, for tests.
func (l *Logs) SetClock(c model.Clock) { l.now = c }

// LogGroupKey names a group in the event store.
func LogGroupKey(sc model.Scope, name string) string {
	return sc.Account + "/" + sc.Region + "/" + name
}

// LogGroupARN is the ARN DescribeLogGroups answers in arn (with the trailing ":*").
func LogGroupARN(sc model.Scope, name string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", sc.Region, sc.Account, name)
}

// LogGroup is a group as the Logs operations answer it.
type LogGroup struct {
	model.LogGroup
	ARN         string // with ":*"
	StoredBytes int64
}

// LogGroupSettings are CreateLogGroup's options.
type LogGroupSettings struct {
	KMSKeyID string
	Class    string
	Tags     map[string]string
}

// Retention values PutRetentionPolicy accepts, in days.
var logRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

var (
	logGroupNameRE    = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]+$`)
	logGroupPatternRE = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]*$`)
	logTagKeyRE       = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	logTagValueRE     = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

func invalidLogsParam(field, constraint string) error {
	return apierr.Errorf(apierr.InvalidParameter, "1 validation error detected: Value at '%s' failed to satisfy constraint: %s", field, constraint)
}

func errLogGroupNotFound() error {
	return apierr.New(apierr.NotFound, "The specified log group does not exist.")
}

func errLogStreamNotFound() error {
	return apierr.New(apierr.NotFound, "The specified log stream does not exist.")
}

func validateLogGroupName(field, name string) error {
	switch {
	case name == "":
		return invalidLogsParam(field, "Member must not be null")
	case len(name) > 512:
		return invalidLogsParam(field, "Member must have length less than or equal to 512")
	case !logGroupNameRE.MatchString(name):
		return invalidLogsParam(field, `Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+`)
	}
	return nil
}

func validateLogStreamName(name string) error {
	switch {
	case name == "":
		return invalidLogsParam("logStreamName", "Member must not be null")
	case len(name) > 512:
		return invalidLogsParam("logStreamName", "Member must have length less than or equal to 512")
	case strings.ContainsAny(name, ":*"):
		return invalidLogsParam("logStreamName", "Member must satisfy regular expression pattern: [^:*]*")
	}
	return nil
}

func validateLogTags(tags map[string]string) error {
	if len(tags) > 50 {
		return invalidLogsParam("tags", "Member must have length less than or equal to 50")
	}
	for k, v := range tags {
		if len(k) < 1 || len(k) > 128 || !logTagKeyRE.MatchString(k) {
			return invalidLogsParam("tags", `Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: ^([\p{L}\p{Z}\p{N}_.:/=+\-@]+)$]`)
		}
		if len(v) > 256 || !logTagValueRE.MatchString(v) {
			return invalidLogsParam("tags", `Map values must satisfy constraint: [Member must have length less than or equal to 256, Member must satisfy regular expression pattern: ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$]`)
		}
	}
	return nil
}

func tagsFromMap(m map[string]string) []model.Tag {
	out := make([]model.Tag, 0, len(m))
	for k, v := range m {
		out = append(out, model.Tag{Key: k, Value: v})
	}
	slices.SortFunc(out, func(a, b model.Tag) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// CreateLogGroup creates an empty log group.
func (l *Logs) CreateLogGroup(ctx context.Context, sc model.Scope, name string, s LogGroupSettings) error {
	if err := validateLogGroupName("logGroupName", name); err != nil {
		return err
	}
	switch s.Class {
	case "":
		s.Class = "STANDARD"
	case "STANDARD", "INFREQUENT_ACCESS", "DELIVERY":
	default:
		return invalidLogsParam("logGroupClass", "Member must satisfy enum value set: [STANDARD, INFREQUENT_ACCESS, DELIVERY]")
	}
	if err := validateLogTags(s.Tags); err != nil {
		return err
	}
	g := model.LogGroup{Scope: sc, Name: name, CreatedAt: l.now().Truncate(time.Millisecond), KMSKeyID: s.KMSKeyID, Class: s.Class, Tags: tagsFromMap(s.Tags)}
	if _, err := l.groups.Create(ctx, g); err != nil {
		if errors.Is(err, apierr.AlreadyExists) {
			return apierr.New(apierr.AlreadyExists, "The specified log group already exists")
		}
		return fmt.Errorf("create log group %q: %w", name, err)
	}
	// A group of the same name deleted before may have left events behind if the server
	// stopped between the two deletes: start clean.
	if err := l.events.DeleteGroup(LogGroupKey(sc, name)); err != nil {
		return fmt.Errorf("clear log group %q: %w", name, err)
	}
	return nil
}

// group reads a group's metadata, with AWS's error when it is missing.
func (l *Logs) group(ctx context.Context, sc model.Scope, name string) (store.Versioned[model.LogGroup], error) {
	if err := validateLogGroupName("logGroupName", name); err != nil {
		return store.Versioned[model.LogGroup]{}, err
	}
	g, err := l.groups.Get(ctx, sc, name)
	if errors.Is(err, apierr.NotFound) {
		return g, errLogGroupNotFound()
	}
	return g, err
}

// DeleteLogGroup deletes a group with its streams and events.
func (l *Logs) DeleteLogGroup(ctx context.Context, sc model.Scope, name string) error {
	g, err := l.group(ctx, sc, name)
	if err != nil {
		return err
	}
	if err := l.groups.Delete(ctx, sc, name, g.Revision); err != nil {
		if errors.Is(err, apierr.Conflict) {
			return apierr.New(apierr.Conflict, "A conflicting operation is currently in progress against this resource.")
		}
		return fmt.Errorf("delete log group %q: %w", name, err)
	}
	if err := l.events.DeleteGroup(LogGroupKey(sc, name)); err != nil {
		return fmt.Errorf("delete events of log group %q: %w", name, err)
	}
	return nil
}

// LogGroupQuery selects groups for DescribeLogGroups.
type LogGroupQuery struct {
	Prefix  string
	Pattern string // a case-sensitive substring, as AWS documents it
	Class   string
	Limit   *int
	Token   string
}

// DescribeLogGroups lists groups in name order, one page at a time.
func (l *Logs) DescribeLogGroups(ctx context.Context, sc model.Scope, q LogGroupQuery) ([]LogGroup, string, error) {
	if q.Prefix != "" && q.Pattern != "" {
		return nil, "", apierr.New(apierr.InvalidParameter, "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	if q.Prefix != "" {
		if err := validateLogGroupName("logGroupNamePrefix", q.Prefix); err != nil {
			return nil, "", err
		}
	}
	if !logGroupPatternRE.MatchString(q.Pattern) || len(q.Pattern) > 512 {
		return nil, "", invalidLogsParam("logGroupNamePattern", `Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]*`)
	}
	limit, err := describeLimit(q.Limit)
	if err != nil {
		return nil, "", err
	}
	after, err := decodeLogsNameToken(q.Token)
	if err != nil {
		return nil, "", err
	}
	out := []LogGroup{}
	pattern := q.Pattern
	for {
		page, err := l.groups.List(ctx, sc, q.Prefix, after, 100)
		if err != nil {
			return nil, "", fmt.Errorf("list log groups: %w", err)
		}
		for _, it := range page.Items {
			g := it.Value
			after = g.Name
			if pattern != "" && !strings.Contains(g.Name, pattern) || q.Class != "" && g.Class != q.Class {
				continue
			}
			if len(out) == limit {
				return out, encodeLogsNameToken(out[limit-1].Name), nil
			}
			out = append(out, l.groupOut(g))
		}
		if !page.More {
			return out, "", nil
		}
	}
}

func (l *Logs) groupOut(g model.LogGroup) LogGroup {
	out := LogGroup{LogGroup: g, ARN: LogGroupARN(g.Scope, g.Name)}
	if infos, err := l.events.Streams(LogGroupKey(g.Scope, g.Name)); err == nil {
		for _, in := range infos {
			out.StoredBytes += in.StoredBytes
		}
	}
	return out
}

func describeLimit(p *int) (int, error) {
	if p == nil {
		return 50, nil
	}
	if *p < 1 || *p > 50 {
		return 0, invalidLogsParam("limit", "Member must have value between 1 and 50")
	}
	return *p, nil
}

// PutRetentionPolicy sets how long a group keeps its events.
func (l *Logs) PutRetentionPolicy(ctx context.Context, sc model.Scope, name string, days int) error {
	if !slices.Contains(logRetentionDays, days) {
		return invalidLogsParam("retentionInDays", "Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]")
	}
	return l.setRetention(ctx, sc, name, days)
}

// DeleteRetentionPolicy makes a group keep its events forever.
func (l *Logs) DeleteRetentionPolicy(ctx context.Context, sc model.Scope, name string) error {
	return l.setRetention(ctx, sc, name, 0)
}

func (l *Logs) setRetention(ctx context.Context, sc model.Scope, name string, days int) error {
	if _, err := l.group(ctx, sc, name); err != nil {
		return err
	}
	if _, err := l.groups.Mutate(ctx, sc, name, func(g *model.LogGroup) error { g.RetentionDays = days; return nil }); err != nil {
		if errors.Is(err, apierr.NotFound) {
			return errLogGroupNotFound()
		}
		return fmt.Errorf("log group %q: %w", name, err)
	}
	if err := l.events.SetRetention(LogGroupKey(sc, name), days); err != nil {
		return fmt.Errorf("apply retention to log group %q: %w", name, err)
	}
	return nil
}

// EnsureLogGroup creates a group unless it exists: awslogs-create-group.
func (l *Logs) EnsureLogGroup(ctx context.Context, sc model.Scope, name string) error {
	err := l.CreateLogGroup(ctx, sc, name, LogGroupSettings{})
	if errors.Is(err, apierr.AlreadyExists) {
		return nil
	}
	return err
}
