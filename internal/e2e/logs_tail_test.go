package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// awsCLIv2 is Debian's aws CLI v2 (package awscli), which has `logs tail`; the machine's default
// CLI (v1) does not. CLI v2.9 predates AWS_ENDPOINT_URL, so the endpoint goes on the command line.
const awsCLIv2 = "/usr/bin/aws"

// TestLogsTailFollow runs `aws logs tail GROUP --follow` with the CLI v2 and sees events put
// before it started and while it follows.
func TestLogsTailFollow(t *testing.T) {
	if _, err := os.Stat(awsCLIv2); err != nil {
		t.Fatal("Debian's aws CLI v2 is missing at /usr/bin/aws: scripts/setup.sh installs the awscli package")
	}
	t.Parallel()
	s := startServer(t, "")
	logs := newLogsSDK(t, s)
	group, stream := "/ecs/tail", "ecs/app/0123456789abcdef0123456789abcdef"
	if _, err := logs.CreateLogGroup(t.Context(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if _, err := logs.CreateLogStream(t.Context(), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)}); err != nil {
		t.Fatal(err)
	}
	put := func(msg string) {
		t.Helper()
		_, err := logs.PutLogEvents(t.Context(), &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream),
			LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String(msg)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	put("before the tail")

	ctx, cancel := context.WithTimeout(t.Context(), 45*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, awsCLIv2, "--endpoint-url", s.URL, "logs", "tail", group, "--follow", "--since", "10m")
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()

	waitFor := func(want string) {
		t.Helper()
		for !strings.Contains(out.String(), want) {
			if ctx.Err() != nil {
				t.Fatalf("aws logs tail --follow never showed %q; output:\n%s", want, out.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("before the tail")
	put("while following")
	waitFor("while following")
	if !strings.Contains(out.String(), stream) {
		t.Errorf("tail output does not name the stream %s:\n%s", stream, out.String())
	}
}
