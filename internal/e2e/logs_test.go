package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// cliLogEvent is an event as `aws logs get-log-events` prints it.
type cliLogEvent struct {
	Timestamp int64  `json:"timestamp"`
	Message   string `json:"message"`
}

// streamEvents reads a whole stream with the aws CLI, from the head, paging until the forward
// token comes back unchanged.
func streamEvents(t *testing.T, cli *awsCLI, group, stream string) []cliLogEvent {
	t.Helper()
	var all []cliLogEvent
	token := ""
	for {
		args := []string{"logs", "get-log-events", "--log-group-name", group, "--log-stream-name", stream, "--start-from-head"}
		if token != "" {
			args = append(args, "--next-token", token)
		}
		var page struct {
			Events           []cliLogEvent `json:"events"`
			NextForwardToken string        `json:"nextForwardToken"`
		}
		cli.json(&page, args...)
		all = append(all, page.Events...)
		if page.NextForwardToken == token || page.NextForwardToken == "" {
			return all
		}
		token = page.NextForwardToken
	}
}

func newLogsSDK(t *testing.T, s *Server) *cloudwatchlogs.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(t.Context(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
	)
	if err != nil {
		t.Fatalf("load SDK config: %v", err)
	}
	return cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) { o.BaseEndpoint = aws.String(s.URL) })
}

// sdkStreamEvents reads a whole stream with the Go SDK, from the head, paging until the forward
// token comes back unchanged.
func sdkStreamEvents(t *testing.T, c *cloudwatchlogs.Client, group, stream string) []cliLogEvent {
	t.Helper()
	evs, err := sdkStreamEventsErr(t, c, group, stream)
	if err != nil {
		t.Fatalf("SDK GetLogEvents %s %s: %v", group, stream, err)
	}
	return evs
}

// pollStreamEvents is sdkStreamEvents for a poll that waits for lines: a stream that does not
// exist yet (it comes once the task runs) has no events yet.
func pollStreamEvents(t *testing.T, c *cloudwatchlogs.Client, group, stream string) []cliLogEvent {
	t.Helper()
	evs, err := sdkStreamEventsErr(t, c, group, stream)
	var missing *logstypes.ResourceNotFoundException
	if err != nil && !errors.As(err, &missing) {
		t.Fatalf("SDK GetLogEvents %s %s: %v", group, stream, err)
	}
	return evs
}

// sdkStreamEventsErr reads a stream's events with the Go SDK, following the forward token.
func sdkStreamEventsErr(t *testing.T, c *cloudwatchlogs.Client, group, stream string) ([]cliLogEvent, error) {
	t.Helper()
	var all []cliLogEvent
	var token *string
	for range 1000 {
		out, err := c.GetLogEvents(t.Context(), &cloudwatchlogs.GetLogEventsInput{
			LogGroupName: aws.String(group), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true), NextToken: token})
		if err != nil {
			return nil, err
		}
		for _, e := range out.Events {
			all = append(all, cliLogEvent{Timestamp: aws.ToInt64(e.Timestamp), Message: aws.ToString(e.Message)})
		}
		if out.NextForwardToken == nil || (token != nil && *out.NextForwardToken == *token) {
			return all, nil
		}
		token = out.NextForwardToken
	}
	return nil, errors.New("the forward token never repeated")
}

// sdkFilterMessages runs FilterLogEvents over a group with the Go SDK, following nextToken.
func sdkFilterMessages(t *testing.T, c *cloudwatchlogs.Client, group, pattern string) []string {
	t.Helper()
	var msgs []string
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), FilterPattern: aws.String(pattern)}
	for range 1000 {
		out, err := c.FilterLogEvents(t.Context(), in)
		if err != nil {
			t.Fatalf("SDK FilterLogEvents %s %q: %v", group, pattern, err)
		}
		for _, e := range out.Events {
			msgs = append(msgs, aws.ToString(e.Message))
		}
		if out.NextToken == nil {
			return msgs
		}
		in.NextToken = out.NextToken
	}
	t.Fatalf("SDK FilterLogEvents %s %q: nextToken never ended", group, pattern)
	return nil
}

func awslogsConfig(group string) *types.LogConfiguration {
	return &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
		"awslogs-group": group, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true"}}
}

func printed(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("line %d", i))
	}
	return out
}

func messages(evs []cliLogEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Message
	}
	return out
}

// TestAwslogsDriver runs tasks with the awslogs driver and reads their streams back with the aws CLI.
func TestAwslogsDriver(t *testing.T) {
	s := startServer(t, "")
	client := newSDK(t, s)
	cli := newCLI(t, s)
	appImage(t, s)

	t.Run("every line in order", func(t *testing.T) {
		td := sdkRegister(t, client, "printer", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef),
			Command: []string{"print", "200"}, LogConfiguration: awslogsConfig("/ecs/printer")})
		arn := aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(td)})[0].TaskArn)
		task := waitStopped(t, client, arn)[0]
		evs := streamEvents(t, cli, "/ecs/printer", "ecs/app/"+path.Base(arn))
		if got := messages(evs); !slices.Equal(got, printed(1, 200)) {
			t.Fatalf("stream has %d events, want line 1..line 200 in order: %q", len(got), got)
		}
		from, to := aws.ToTime(task.CreatedAt).Add(-time.Second).UnixMilli(), aws.ToTime(task.StoppedAt).Add(time.Second).UnixMilli()
		for _, e := range evs {
			if e.Timestamp < from || e.Timestamp > to {
				t.Fatalf("event %q at %d, outside the task's lifetime [%d, %d]", e.Message, e.Timestamp, from, to)
			}
		}
		// The same lines through the Go SDK's CloudWatch Logs client.
		logs := newLogsSDK(t, s)
		stream := "ecs/app/" + path.Base(arn)
		sdkEvs := sdkStreamEvents(t, logs, "/ecs/printer", stream)
		if got := messages(sdkEvs); !slices.Equal(got, printed(1, 200)) {
			t.Fatalf("SDK GetLogEvents: stream has %d events, want line 1..line 200 in order: %q", len(got), got)
		}
		if !slices.Equal(sdkEvs, evs) {
			t.Fatalf("SDK GetLogEvents and the CLI disagree on timestamps")
		}
		var want []string
		for _, m := range printed(1, 200) {
			if strings.Contains(m, "line 1") {
				want = append(want, m)
			}
		}
		if got := sdkFilterMessages(t, logs, "/ecs/printer", `"line 1"`); !slices.Equal(got, want) {
			t.Fatalf("SDK FilterLogEvents %q: %d events %q, want %d: %q", `"line 1"`, len(got), got, len(want), want)
		}
		if got := sdkFilterMessages(t, logs, "/ecs/printer", `"line 20"`); !slices.Equal(got, []string{"line 20", "line 200"}) {
			t.Fatalf("SDK FilterLogEvents %q = %q, want [line 20 line 200]", `"line 20"`, got)
		}
	})

	t.Run("a task that fails early", func(t *testing.T) {
		td := sdkRegister(t, client, "quitter", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef),
			EntryPoint: []string{"/bin/sh", "-c"}, Command: []string{"echo started; exit 3"}, LogConfiguration: awslogsConfig("/ecs/quitter")})
		arn := aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(td)})[0].TaskArn)
		task := waitStopped(t, client, arn)[0]
		if aws.ToInt32(task.Containers[0].ExitCode) != 3 {
			t.Fatalf("exit %v, want 3", task.Containers[0].ExitCode)
		}
		if got := messages(streamEvents(t, cli, "/ecs/quitter", "ecs/app/"+path.Base(arn))); !slices.Equal(got, []string{"started"}) {
			t.Fatalf("stream = %q, want [started]", got)
		}
	})

	t.Run("a missing group fails the task", func(t *testing.T) {
		lc := awslogsConfig("/ecs/nowhere")
		delete(lc.Options, "awslogs-create-group")
		td := sdkRegister(t, client, "lost", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef),
			Command: []string{"print", "3"}, LogConfiguration: lc})
		arn := aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(td)})[0].TaskArn)
		task := waitStopped(t, client, arn)[0]
		if task.StopCode != types.TaskStopCodeTaskFailedToStart || !contains(aws.ToString(task.StoppedReason), "ResourceInitializationError", "/ecs/nowhere") {
			t.Fatalf("stop %s %q, want TaskFailedToStart with a ResourceInitializationError naming the group", task.StopCode, aws.ToString(task.StoppedReason))
		}
	})
}

func contains(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// TestAwslogsSurvivesServerKill kills the server with SIGKILL while a task prints steadily: after
// the restart, the stream holds every line once, in order.
func TestAwslogsSurvivesServerKill(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	client := newSDK(t, s)
	appImage(t, s)
	td := sdkRegister(t, client, "steady", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef),
		Command: []string{"print", "2000"}, LogConfiguration: awslogsConfig("/ecs/steady")})
	arn := aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(td)})[0].TaskArn)
	if err := ecs.NewTasksRunningWaiter(client, func(o *ecs.TasksRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 500*time.Millisecond
	}).Wait(t.Context(), &ecs.DescribeTasksInput{Tasks: []string{arn}}, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	cli := newCLI(t, s)
	stream := "ecs/app/" + path.Base(arn)
	// Kill as soon as lines have been shipped, while more flow; then again after the restart.
	for kill := range 2 {
		shipped := 0
		for deadline := time.Now().Add(30 * time.Second); shipped == 0 && time.Now().Before(deadline); {
			var page struct {
				Events []cliLogEvent `json:"events"`
			}
			if out, _, err := cli.run("logs", "get-log-events", "--log-group-name", "/ecs/steady", "--log-stream-name", stream, "--start-from-head"); err == nil {
				_ = json.Unmarshal([]byte(out), &page)
			}
			shipped = len(page.Events)
		}
		t.Logf("kill %d: %d of 2000 lines shipped", kill+1, shipped)
		s.Kill()
		<-s.Done()
		s = startServer(t, dir)
		client, cli = newSDK(t, s), newCLI(t, s)
	}
	waitStopped(t, client, arn)
	if got := messages(streamEvents(t, cli, "/ecs/steady", stream)); !slices.Equal(got, printed(1, 2000)) {
		first := 0
		for first < len(got) && first < 2000 && got[first] == fmt.Sprintf("line %d", first+1) {
			first++
		}
		t.Fatalf("stream has %d events, want line 1..line 2000 once each; first difference at %d: %q", len(got), first, got[first:min(first+5, len(got))])
	}
}
