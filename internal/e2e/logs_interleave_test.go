package e2e

import (
	"os"
	"os/exec"
	"path"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestAwslogsLatencyAndInterleaving runs two tasks that print a line a second into one group.
// While they run, each line must be readable within a second of being printed (its timestamp
// is when the container wrote it). Afterwards FilterLogEvents over the group, through the SDK,
// answers both streams interleaved in timestamp order, and `aws logs tail` (CLI v2) prints them
// in that order.
func TestAwslogsLatencyAndInterleaving(t *testing.T) {
	s := startServer(t, "")
	client := newSDK(t, s)
	logs := newLogsSDK(t, s)
	appImage(t, s)
	const group = "/ecs/ticker"
	td := sdkRegister(t, client, "ticker", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef),
		EntryPoint: []string{"/bin/sh", "-c"}, Command: []string{"for i in 1 2 3 4 5 6; do echo tick $i; sleep 1; done"},
		LogConfiguration: awslogsConfig(group)})
	tasks := sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(td), Count: aws.Int32(2)})
	if len(tasks) != 2 {
		t.Fatalf("%d tasks started, want 2", len(tasks))
	}
	var arns, streams []string
	for _, task := range tasks {
		arns = append(arns, aws.ToString(task.TaskArn))
		streams = append(streams, "ecs/app/"+path.Base(aws.ToString(task.TaskArn)))
	}

	// Poll the group while the tasks run and note how late each line shows up.
	seen := map[string]time.Duration{}
	done := make(chan struct{})
	go func() { waitStopped(t, client, arns...); close(done) }()
	start := time.Now().Add(-time.Minute).UnixMilli()
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-time.After(50 * time.Millisecond):
		}
		out, err := logs.FilterLogEvents(t.Context(), &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), StartTime: aws.Int64(start)})
		if err != nil {
			if strings.Contains(err.Error(), "ResourceNotFoundException") {
				continue // the group is made when the first task starts
			}
			t.Fatal(err)
		}
		now := time.Now()
		for _, e := range out.Events {
			id := aws.ToString(e.EventId)
			if _, ok := seen[id]; !ok {
				seen[id] = now.Sub(time.UnixMilli(aws.ToInt64(e.Timestamp)))
			}
		}
	}
	var lags []time.Duration
	for _, d := range seen {
		lags = append(lags, d)
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	if len(lags) != 12 {
		t.Fatalf("saw %d lines while the tasks ran, want 12", len(lags))
	}
	// The lines printed after the first poll found the group; the first lines of each task may
	// have been printed before the group existed for us to poll.
	median, worst := lags[len(lags)/2], lags[len(lags)-2]
	t.Logf("lines readable after: median %s, second worst %s, worst %s", median, worst, lags[len(lags)-1])
	if median > time.Second || worst > 2*time.Second {
		t.Errorf("lines readable after median %s (want within a second), second worst %s", median, worst)
	}

	// One timestamp order across both streams, each stream's own lines in order.
	var all []string
	var last int64
	perStream := map[string][]string{}
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), Limit: aws.Int32(5)}
	for page := 0; ; page++ {
		out, err := logs.FilterLogEvents(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			ts := aws.ToInt64(e.Timestamp)
			if ts < last {
				t.Fatalf("FilterLogEvents: %s at %d after an event at %d: not in timestamp order", aws.ToString(e.Message), ts, last)
			}
			last = ts
			all = append(all, aws.ToString(e.LogStreamName)+" "+aws.ToString(e.Message))
			perStream[aws.ToString(e.LogStreamName)] = append(perStream[aws.ToString(e.LogStreamName)], aws.ToString(e.Message))
		}
		if out.NextToken == nil || page > 20 {
			break
		}
		in.NextToken = out.NextToken
	}
	want := []string{"tick 1", "tick 2", "tick 3", "tick 4", "tick 5", "tick 6"}
	for _, st := range streams {
		if !slices.Equal(perStream[st], want) {
			t.Errorf("stream %s: %q, want %q", st, perStream[st], want)
		}
	}
	// Interleaved: the first tick of each stream comes before the last tick of either.
	firstLast := func(st, msg string) int { return slices.Index(all, st+" "+msg) }
	if firstLast(streams[0], "tick 1") > firstLast(streams[1], "tick 6") || firstLast(streams[1], "tick 1") > firstLast(streams[0], "tick 6") {
		t.Errorf("streams one after the other, not interleaved: %q", all)
	}

	if _, err := os.Stat(awsCLIv2); err != nil {
		t.Fatal("Debian's aws CLI v2 is missing at /usr/bin/aws: scripts/setup.sh installs the awscli package")
	}
	cmd := exec.CommandContext(t.Context(), awsCLIv2, "--endpoint-url", s.URL, "logs", "tail", group, "--since", "1h", "--format", "short")
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws logs tail: %v\n%s", err, b)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 12 {
		t.Fatalf("aws logs tail printed %d lines, want 12:\n%s", len(lines), b)
	}
	// --format short prints "<time> <message>"; the times must not go back.
	times := make([]string, len(lines))
	for i, l := range lines {
		times[i], _, _ = strings.Cut(l, " ")
	}
	if !slices.IsSorted(times) {
		t.Errorf("aws logs tail printed out of time order:\n%s", b)
	}
}
