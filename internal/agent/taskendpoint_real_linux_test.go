package agent_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/agent"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/runtime"
)

// roleIssuer issues fixed credentials for any role.
type roleIssuer struct{}

func (roleIssuer) IssueRoleCredentials(_ context.Context, _ model.Scope, _, session string, d time.Duration) (model.Credentials, error) {
	return model.Credentials{AccessKeyID: "ASIATESTTESTTESTTEST", SecretAccessKey: "s", SessionToken: "t", Expiration: time.Now().Add(d)}, nil
}

// TestRealTaskEndpointLoopback: a task without an ENI (the runtime's own loopback-only
// namespace) reads its metadata and its task role's credentials at 169.254.170.2, and reaches
// the AWS API handler at 169.254.170.2:4566, from inside a real runc container.
func TestRealTaskEndpointLoopback(t *testing.T) {
	h := newRealHost(t)
	rt, err := runtime.NewRunc(h.rtCfg)
	if err != nil {
		t.Fatal(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("gantry-api-ok")) })
	a := agent.New(agent.Config{Control: h.ctl, Runtime: rt, RuntimeName: "runc", Puller: h.store, StateDir: h.dir,
		HostID: "host-test", HeartbeatInterval: time.Second, TaskEndpoint: true, Credentials: roleIssuer{}, TaskAPI: api})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; rt.Close() })

	script := `wget -q -O- $ECS_CONTAINER_METADATA_URI_V4/task | grep -q '"TaskARN"' || exit 11
wget -q -O- http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI | grep -q ASIATESTTESTTESTTEST || exit 12
wget -q -O- $AWS_ENDPOINT_URL/ | grep -q gantry-api-ok || exit 13
wget -q -O- http://169.254.170.2/v2/credentials/0123456789abcdef0123456789abcdef && exit 14
exit 0`
	as := h.assignWith(func(as *model.Assignment) { as.Definition.TaskRoleArn = "arn:aws:iam::000000000000:role/app" },
		model.ContainerDefinition{Name: "app", EntryPoint: []string{"/bin/sh", "-c"}, Command: []string{script}})
	r := h.waitStatus(t, as.Task.ID, model.TaskStopped)
	if c := container(r, "app"); code(c) != 0 {
		t.Errorf("the task's checks exited %d (11: metadata, 12: credentials, 13: api, 14: a foreign id answered): %+v", code(c), r)
	}
}
