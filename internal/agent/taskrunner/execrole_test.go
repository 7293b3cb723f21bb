package taskrunner

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/image"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/runtime"
)

// roleChecker is a SecretResolver and ExecutionRoleChecker that denies the actions it lists and
// records every question.
type roleChecker struct {
	mu    sync.Mutex
	deny  map[string]bool // action -> denied
	asked []string        // "role action resource"
}

func (c *roleChecker) ResolveSecret(context.Context, model.Scope, string, string) (string, error) {
	return "", errors.New("no secrets here")
}

func (c *roleChecker) CheckExecutionRole(_ context.Context, _ model.Scope, role, taskID, action, resource string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked = append(c.asked, role+" "+action+" "+resource)
	if c.deny[action] {
		return errors.New("AccessDeniedException: User: arn:aws:sts::000000000000:assumed-role/exec/" + taskID +
			" is not authorized to perform: " + action + " on resource: " + resource)
	}
	return nil
}

func (c *roleChecker) questions() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.asked)
}

const (
	execRoleARN = "arn:aws:iam::000000000000:role/exec"
	ecrImage    = "000000000000.dkr.ecr.eu-west-1.amazonaws.com/team/app:v1"
	localHost   = "127.0.0.1:4566"
	repoARN     = "arn:aws:ecr:eu-west-1:000000000000:repository/team/app"
)

// runAsExecRole runs one awslogs container of img with sec as the SecretResolver, until it runs
// or stops; it returns the last report.
func runAsExecRole(t *testing.T, img string, sec SecretResolver, role string, opts map[string]string) (model.TaskReport, *FakeLogSink) {
	t.Helper()
	a := awslogsAssignment("t-"+strings.NewReplacer("/", "-", ":", "-").Replace(t.Name()), opts)
	a.Definition.ContainerDefinitions[0].Image = img
	a.Definition.ExecutionRoleArn = role
	puller := &image.FakePuller{}
	cfg := image.Image{Digest: "sha256:aaaa", Config: image.Config{Entrypoint: []string{"/app"}}}
	puller.Add("app:1", cfg)
	puller.Add(image.Resolve(img, localHost), cfg)
	sink, rep := NewFakeLogSink(), &reports{}
	if err := sink.EnsureGroup(t.Context(), a.Task.Scope, "/ecs/app"); err != nil {
		t.Fatal(err)
	}
	r := New(Config{Assignment: a, Runtime: runtime.NewFake(), Puller: puller, Reporter: rep, Rootfs: FakeRootfs{},
		StateDir: t.TempDir(), LocalRegistryHost: localHost, Logs: sink, Secrets: sec, TimeUnit: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "RUNNING or STOPPED", func() bool {
		s := rep.last().LastStatus
		return s == model.TaskRunning || s == model.TaskStopped
	})
	return rep.last(), sink
}

var groupOpts = map[string]string{"awslogs-group": "/ecs/app", "awslogs-stream-prefix": "ecs"}

// TestExecutionRoleAllowed: an image from gantry's registry and an awslogs container are checked
// as the execution role, on the repository's and the stream's ARNs, and the task runs.
func TestExecutionRoleAllowed(t *testing.T) {
	chk := &roleChecker{}
	rep, _ := runAsExecRole(t, ecrImage, chk, execRoleARN, groupOpts)
	if rep.LastStatus != model.TaskRunning {
		t.Fatalf("report = %+v", rep)
	}
	stream := "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/app:log-stream:ecs/app/" + rep.TaskID
	// The pull comes first, then the log stream, where Docker's awslogs driver makes it.
	want := []string{
		execRoleARN + " ecr:GetAuthorizationToken *",
		execRoleARN + " ecr:BatchGetImage " + repoARN,
		execRoleARN + " ecr:GetDownloadUrlForLayer " + repoARN,
		execRoleARN + " logs:CreateLogStream " + stream,
		execRoleARN + " logs:PutLogEvents " + stream,
	}
	if got := chk.questions(); !slices.Equal(got, want) {
		t.Errorf("asked:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// awslogs-create-group asks for logs:CreateLogGroup too; an image from another registry
	// needs no role.
	chk = &roleChecker{}
	opts := map[string]string{"awslogs-group": "/ecs/app", "awslogs-create-group": "true"}
	if rep, _ := runAsExecRole(t, "app:1", chk, execRoleARN, opts); rep.LastStatus != model.TaskRunning {
		t.Fatalf("report = %+v", rep)
	}
	got := chk.questions()
	if len(got) != 3 || got[0] != execRoleARN+" logs:CreateLogGroup arn:aws:logs:us-east-1:000000000000:log-group:/ecs/app:log-stream:" {
		t.Errorf("asked %q", got)
	}
}

// TestExecutionRoleDenied: a denied registry token, image or log stream stops the task before
// it starts, with Fargate's reason on the task and the container.
func TestExecutionRoleDenied(t *testing.T) {
	for _, tc := range []struct {
		img, deny, prefix, resource string
	}{
		{ecrImage, "ecr:GetAuthorizationToken", "ResourceInitializationError: unable to pull secrets or registry auth: ", "*"},
		{ecrImage, "ecr:BatchGetImage", "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref " + ecrImage + ": ", repoARN},
		{localHost + "/team/app@sha256:abcd", "ecr:GetDownloadUrlForLayer", "CannotPullContainerError: ", "arn:aws:ecr:us-east-1:000000000000:repository/team/app"},
		{"app:1", "logs:CreateLogStream", "ResourceInitializationError: failed to validate logger args: ", ":log-group:/ecs/app:log-stream:ecs/app/"},
		{"app:1", "logs:PutLogEvents", "ResourceInitializationError: failed to validate logger args: ", ":log-group:/ecs/app:log-stream:ecs/app/"},
	} {
		t.Run(tc.deny, func(t *testing.T) {
			rep, _ := runAsExecRole(t, tc.img, &roleChecker{deny: map[string]bool{tc.deny: true}}, execRoleARN, groupOpts)
			if rep.LastStatus != model.TaskStopped || rep.StopCode != model.StopTaskFailedToStart {
				t.Fatalf("report = %+v", rep)
			}
			for what, reason := range map[string]string{"task": rep.StoppedReason, "container": containerReason(rep, "app")} {
				if !strings.HasPrefix(reason, tc.prefix) || !strings.Contains(reason, "AccessDeniedException: User: arn:aws:sts::000000000000:assumed-role/exec/"+rep.TaskID) ||
					!strings.Contains(reason, "perform: "+tc.deny+" on resource: ") || !strings.Contains(reason, tc.resource) {
					t.Errorf("%s reason %q", what, reason)
				}
			}
			if !rep.StartedAt.IsZero() {
				t.Errorf("started at %v", rep.StartedAt)
			}
		})
	}
}

// TestExecutionRoleNotChecked: a SecretResolver that is no ExecutionRoleChecker (gantry server
// --iam off, or no IAM) leaves pulls and logs unchecked: a task without a role runs.
func TestExecutionRoleNotChecked(t *testing.T) {
	if rep, _ := runAsExecRole(t, ecrImage, &fakeResolver{}, "", groupOpts); rep.LastStatus != model.TaskRunning {
		t.Fatalf("report = %+v", rep)
	}
	if rep, _ := runAsExecRole(t, ecrImage, nil, "", groupOpts); rep.LastStatus != model.TaskRunning {
		t.Fatalf("no resolver: report = %+v", rep)
	}
}

type fakeResolver struct{}

func (fakeResolver) ResolveSecret(context.Context, model.Scope, string, string) (string, error) {
	return "", errors.New("no secrets here")
}

func containerReason(r model.TaskReport, name string) string {
	for _, c := range r.Containers {
		if c.Name == name {
			return c.Reason
		}
	}
	return ""
}

func TestECRRepository(t *testing.T) {
	sc := model.Scope{Account: "111111111111", Region: "us-east-1"}
	for ref, want := range map[string]string{
		"000000000000.dkr.ecr.eu-west-1.amazonaws.com/app:v1":             "arn:aws:ecr:eu-west-1:000000000000:repository/app",
		"000000000000.dkr.ecr-fips.us-east-2.amazonaws.com/a/b@sha256:ab": "arn:aws:ecr:us-east-2:000000000000:repository/a/b",
		"000000000000.dkr-ecr.ap-south-1.on.aws/x":                        "arn:aws:ecr:ap-south-1:000000000000:repository/x",
		"127.0.0.1:4566/team/app:v2":                                      "arn:aws:ecr:us-east-1:111111111111:repository/team/app",
		"127.0.0.1:4566/app":                                              "arn:aws:ecr:us-east-1:111111111111:repository/app",
		"nginx:1.27":                                                      "",
		"docker.io/library/nginx:1":                                       "",
		"127.0.0.1:5000/app:v1":                                           "",
	} {
		got, ok := ecrRepository(ref, "127.0.0.1:4566", sc)
		if got != want || ok != (want != "") {
			t.Errorf("%s: %q %v, want %q", ref, got, ok, want)
		}
	}
}
