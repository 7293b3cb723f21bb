package e2e

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

// TestServerSurvivesEtcdRestart: the etcd a server uses (--etcd-endpoints) crashes and comes
// back on the same data while tasks run. The tasks keep running; afterwards the server places
// and starts new tasks, stops the old ones as asked, and its controllers keep a new service's
// task running: every watch and the controllers' leadership came back without a server restart.
// While etcd is down, API calls are answered 503 after --api-timeout, and the health check 503
// degraded, instead of hanging.
func TestServerSurvivesEtcdRestart(t *testing.T) {
	t.Parallel()
	etcd := newExternalEtcd(t)
	parent, cgroupDirs := testCgroupParent(t)
	dir := newDataDir(t)
	s := startServer(t, dir, "--etcd-endpoints", etcd.clientURL, "--cgroup-parent", parent, "--api-timeout", "3s")
	client := newSDK(t, s)
	appImage(t, s)
	td := sdkRegister(t, client, "etcd-restart", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef),
		Command: []string{"serve", ":8080"}})
	var first []string
	for _, task := range sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(td), Count: aws.Int32(2)}) {
		first = append(first, aws.ToString(task.TaskArn))
	}
	waitRunning(t, client, time.Minute, first...)

	etcd.kill()
	time.Sleep(3 * time.Second) // long enough for the server's watches and leases to notice
	// While it is down, a call is answered (503, which the SDKs retry) once --api-timeout is up,
	// rather than held until the caller gives up.
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	_, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: first}, func(o *ecs.Options) { o.Retryer = aws.NopRetryer{} })
	cancel()
	var apiErr smithy.APIError
	var httpErr *awshttp.ResponseError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ServerException" || !errors.As(err, &httpErr) || httpErr.HTTPStatusCode() != 503 {
		t.Fatalf("DescribeTasks while etcd is down: %v after %s; want 503 ServerException", err, time.Since(t0))
	}
	if d := time.Since(t0); d > 15*time.Second {
		t.Fatalf("DescribeTasks while etcd is down answered after %s, want about the 3 s --api-timeout", d)
	}
	// The health check says so within its 5 s bound, rather than never.
	t0 = time.Now()
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(s.URL + "/_gantry/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `"degraded"`) || time.Since(t0) > 15*time.Second {
		t.Fatalf("health while etcd is down: %d %s after %s, want 503 degraded within seconds", resp.StatusCode, body, time.Since(t0))
	}
	etcd.start(t)

	var second []string
	for _, task := range sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(td), Count: aws.Int32(2)}) {
		second = append(second, aws.ToString(task.TaskArn))
	}
	waitRunning(t, client, time.Minute, second...)
	for _, task := range waitRunning(t, client, time.Minute, first...) {
		if aws.ToString(task.LastStatus) != "RUNNING" {
			t.Fatalf("task %s after etcd's restart: %s", aws.ToString(task.TaskArn), taskSummary(task))
		}
	}
	for _, arn := range first {
		stopTask(t, client, arn)
	}
	waitStopped(t, client, first...)

	if _, err := client.CreateService(t.Context(), &ecs.CreateServiceInput{ServiceName: aws.String("after-etcd"), TaskDefinition: aws.String(td),
		DesiredCount: aws.Int32(1), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: sdkNetwork(t, client)}); err != nil {
		t.Fatal(err)
	}
	waitService(t, client, "after-etcd", time.Minute, "stable", stable)
	if _, err := client.DeleteService(t.Context(), &ecs.DeleteServiceInput{Service: aws.String("after-etcd"), Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	for _, arn := range second {
		stopTask(t, client, arn)
	}
	waitStopped(t, client, second...)
	for deadline := time.Now().Add(time.Minute); liveTasks(t, client, "after-etcd") > 0; time.Sleep(250 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the deleted service's task still runs after a minute")
		}
	}
	noLeaks(t, dir, cgroupDirs, "after every task stopped")
}
