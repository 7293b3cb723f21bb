package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go/logging"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// LogsConfig says how many events to ingest and how.
type LogsConfig struct {
	Events  int // in all, split evenly between the workers
	Batch   int // events per PutLogEvents call
	Workers int // concurrent writers, one stream each
}

// LogsScope is the account and region the in-process benchmarks use.
var LogsScope = model.Scope{Account: model.DefaultAccount, Region: "us-east-1"}

// LogMessage is event i of a benchmark stream: about 60 bytes, and one in 100 (i%100 == 0) holds
// the term ERROR, so filtering on ERROR matches 1% of a stream.
func LogMessage(i int) string {
	level := "INFO"
	if i%100 == 0 {
		level = "ERROR"
	}
	return fmt.Sprintf("%s req=%08d GET /api/items/%d status=200 took=%dms", level, i, i%5000, i%97)
}

// logBatch returns events [from, from+n) of a stream whose first event is at base (ms), 100
// events per millisecond, in order.
func logBatch(base int64, from, n int) []ops.InputLogEvent {
	evs := make([]ops.InputLogEvent, n)
	for j := range evs {
		i := from + j
		evs[j] = ops.InputLogEvent{Timestamp: base + int64(i/100), Message: LogMessage(i)}
	}
	return evs
}

// IngestResult is one ingest run: events stored per second.
type IngestResult struct {
	Name     string
	Events   int64
	Errors   int64
	Elapsed  time.Duration
	FirstErr error
}

// Rate is events stored per second.
func (r IngestResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Events) / r.Elapsed.Seconds()
}

// ingest has cfg.Workers workers each send its share of cfg.Events in batches through put, one
// stream per worker ("stream-<n>"). Batches are built before the clock starts.
func ingest(ctx context.Context, name string, cfg LogsConfig, put func(ctx context.Context, stream string, evs []ops.InputLogEvent) error) IngestResult {
	base := time.Now().Add(-time.Hour).UnixMilli()
	per := cfg.Events / cfg.Workers
	batches := make([][][]ops.InputLogEvent, cfg.Workers)
	for w := range batches {
		for from := 0; from < per; from += cfg.Batch {
			batches[w] = append(batches[w], logBatch(base, w*per+from, min(cfg.Batch, per-from)))
		}
	}
	var events, errs atomic.Int64
	var once sync.Once
	res := IngestResult{Name: name}
	var wg sync.WaitGroup
	start := time.Now()
	for w := range cfg.Workers {
		wg.Go(func() {
			stream := fmt.Sprintf("stream-%d", w)
			for _, b := range batches[w] {
				if ctx.Err() != nil {
					return
				}
				if err := put(ctx, stream, b); err != nil {
					errs.Add(1)
					once.Do(func() { res.FirstErr = err })
					continue
				}
				events.Add(int64(len(b)))
			}
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Events, res.Errors = events.Load(), errs.Load()
	return res
}

// IngestOps measures PutLogEvents through the Logs operations in-process (the ops layer and the
// log store, no HTTP).
func IngestOps(ctx context.Context, l *ops.Logs, group string, cfg LogsConfig) (IngestResult, error) {
	if err := l.CreateLogGroup(ctx, LogsScope, group, ops.LogGroupSettings{}); err != nil {
		return IngestResult{}, err
	}
	for w := range cfg.Workers {
		if err := l.CreateLogStream(ctx, LogsScope, group, fmt.Sprintf("stream-%d", w)); err != nil {
			return IngestResult{}, err
		}
	}
	return ingest(ctx, "in-process", cfg, func(ctx context.Context, stream string, evs []ops.InputLogEvent) error {
		rej, err := l.PutLogEvents(ctx, LogsScope, group, stream, evs)
		if err == nil && rej != nil {
			err = fmt.Errorf("events rejected: %+v", *rej)
		}
		return err
	}), nil
}

// NewLogsClient returns the SDK client every peer is measured with, set up as NewECSClient's.
func NewLogsClient(ctx context.Context, endpoint string, workers int) (*cloudwatchlogs.Client, error) {
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 2 * workers
		t.MaxIdleConnsPerHost = 2 * workers
	}).WithTimeout(5 * time.Minute)
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
		config.WithLogger(logging.Nop{}),
	)
	if err != nil {
		return nil, fmt.Errorf("SDK config: %w", err)
	}
	return cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) { o.BaseEndpoint = aws.String(endpoint) }), nil
}

// IngestHTTP measures PutLogEvents through an endpoint with the SDK.
func IngestHTTP(ctx context.Context, name string, c *cloudwatchlogs.Client, group string, cfg LogsConfig) (IngestResult, error) {
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		return IngestResult{}, err
	}
	for w := range cfg.Workers {
		if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group),
			LogStreamName: aws.String(fmt.Sprintf("stream-%d", w))}); err != nil {
			return IngestResult{}, err
		}
	}
	return ingest(ctx, name, cfg, func(ctx context.Context, stream string, evs []ops.InputLogEvent) error {
		in := &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream),
			LogEvents: make([]cwtypes.InputLogEvent, len(evs))}
		for i, e := range evs {
			in.LogEvents[i] = cwtypes.InputLogEvent{Timestamp: aws.Int64(e.Timestamp), Message: aws.String(e.Message)}
		}
		out, err := c.PutLogEvents(ctx, in)
		if err == nil && out.RejectedLogEventsInfo != nil {
			err = errors.New("events rejected")
		}
		return err
	}), nil
}

// FillOps writes n events into a new group through the Logs operations, in batches, spread
// over streams streams ("s-0", "s-1" ...) whose timestamps interleave, so FilterLogEvents must
// merge them.
func FillOps(ctx context.Context, l *ops.Logs, group string, streams, n, batch int) error {
	if err := l.CreateLogGroup(ctx, LogsScope, group, ops.LogGroupSettings{}); err != nil {
		return err
	}
	base := time.Now().Add(-time.Hour).UnixMilli()
	for si := range streams {
		stream := fmt.Sprint("s-", si)
		if err := l.CreateLogStream(ctx, LogsScope, group, stream); err != nil {
			return err
		}
		per := n / streams
		for from := 0; from < per; from += batch {
			if _, err := l.PutLogEvents(ctx, LogsScope, group, stream, logBatch(base, from, min(batch, per-from))); err != nil {
				return err
			}
		}
	}
	return nil
}

// FillHTTP writes n events into a new group through an endpoint, in batches, one after
// another, spread over streams as FillOps does.
func FillHTTP(ctx context.Context, c *cloudwatchlogs.Client, group string, streams, n, batch int) error {
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		return err
	}
	base := time.Now().Add(-time.Hour).UnixMilli()
	for si := range streams {
		if err := fillHTTPStream(ctx, c, group, fmt.Sprint("s-", si), base, n/streams, batch); err != nil {
			return err
		}
	}
	return nil
}

func fillHTTPStream(ctx context.Context, c *cloudwatchlogs.Client, group, stream string, base int64, n, batch int) error {
	if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)}); err != nil {
		return err
	}
	for from := 0; from < n; from += batch {
		evs := logBatch(base, from, min(batch, n-from))
		in := &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream),
			LogEvents: make([]cwtypes.InputLogEvent, len(evs))}
		for i, e := range evs {
			in.LogEvents[i] = cwtypes.InputLogEvent{Timestamp: aws.Int64(e.Timestamp), Message: aws.String(e.Message)}
		}
		if _, err := c.PutLogEvents(ctx, in); err != nil {
			return err
		}
	}
	return nil
}

// FilterResult is one filtered query, every page of it.
type FilterResult struct {
	Matches int
	Pages   int
	Elapsed time.Duration
}

// FilterOps runs FilterLogEvents in-process over a group, following tokens to the end.
func FilterOps(ctx context.Context, l *ops.Logs, group, pattern string) (FilterResult, error) {
	var r FilterResult
	start := time.Now()
	q := ops.FilterLogEventsQuery{Pattern: pattern}
	for {
		page, err := l.FilterLogEvents(ctx, LogsScope, group, q)
		if err != nil {
			return r, err
		}
		r.Matches += len(page.Events)
		r.Pages++
		if page.Token == "" {
			break
		}
		q.Token = page.Token
	}
	r.Elapsed = time.Since(start)
	return r, nil
}

// FilterHTTP runs FilterLogEvents through an endpoint, following nextToken to the end.
func FilterHTTP(ctx context.Context, c *cloudwatchlogs.Client, group, pattern string) (FilterResult, error) {
	var r FilterResult
	start := time.Now()
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), FilterPattern: aws.String(pattern)}
	for {
		out, err := c.FilterLogEvents(ctx, in)
		if err != nil {
			return r, err
		}
		r.Matches += len(out.Events)
		r.Pages++
		if out.NextToken == nil || *out.NextToken == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	r.Elapsed = time.Since(start)
	return r, nil
}
