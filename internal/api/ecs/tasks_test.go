package ecs_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/api/ecs"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

// newTaskServer serves ECS over a store with one live host and the web definition registered.
func newTaskServer(t *testing.T) *httptest.Server {
	t.Helper()
	cli, prefix := testutil.Etcd(t)
	st := store.New(cli, prefix)
	now := time.Now().UTC()
	if _, err := st.Hosts().Create(t.Context(), model.Host{ID: "h1", CapacityCPU: 4096, CapacityMemory: 8192,
		Status: model.HostActive, HeartbeatAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(logx.Discard(), ecs.Service(ops.NewECS(st, logx.Discard()))))
	t.Cleanup(srv.Close)
	code, out := callECS(t, srv, "RegisterTaskDefinition", `{"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],
		"cpu":"256","memory":"512","containerDefinitions":[{"name":"app","image":"busybox"},{"name":"side","image":"busybox","essential":false}]}`)
	if code != 200 {
		t.Fatalf("register = %d %v", code, out)
	}
	return srv
}

func TestRunTaskOverHTTP(t *testing.T) {
	srv := newTaskServer(t)
	code, out := callECS(t, srv, "RunTask", `{"taskDefinition":"web","count":2,"startedBy":"me","clientToken":"abc",
		"tags":[{"key":"k","value":"v"}],
		"overrides":{"containerOverrides":[{"name":"app","command":["sleep","1"],"environment":[{"name":"A","value":"1"}]}]},
		"networkConfiguration":{"awsvpcConfiguration":{"subnets":["subnet-1"],"securityGroups":["sg-1"],"assignPublicIp":"DISABLED"}}}`)
	if code != 200 {
		t.Fatalf("RunTask = %d %v", code, out)
	}
	tasks := out["tasks"].([]any)
	if len(tasks) != 2 || len(out["failures"].([]any)) != 0 {
		t.Fatalf("RunTask answer = %v", out)
	}
	task := tasks[0].(map[string]any)
	want := mustJSON(t, `{"clusterArn":"arn:aws:ecs:us-east-1:000000000000:cluster/default","cpu":"256","memory":"512",
		"desiredStatus":"RUNNING","lastStatus":"PROVISIONING","launchType":"FARGATE","group":"family:web","startedBy":"me",
		"platformVersion":"1.4.0","platformFamily":"Linux","version":1,"enableExecuteCommand":false,
		"taskDefinitionArn":"arn:aws:ecs:us-east-1:000000000000:task-definition/web:1","availabilityZone":"us-east-1a",
		"healthStatus":"UNKNOWN","ephemeralStorage":{"sizeInGiB":20},"fargateEphemeralStorage":{"sizeInGiB":20},
		"tags":[{"key":"k","value":"v"}],
		"overrides":{"containerOverrides":[{"name":"app","command":["sleep","1"],"environment":[{"name":"A","value":"1"}]},{"name":"side"}],
			"inferenceAcceleratorOverrides":[]}}`)
	if d := subsetDiff("task", want, task); len(d) > 0 {
		t.Fatalf("task differs:\n%s\n%v", strings.Join(d, "\n"), task)
	}
	if _, ok := task["createdAt"].(float64); !ok {
		t.Errorf("createdAt = %v, want epoch seconds", task["createdAt"])
	}
	arn := task["taskArn"].(string)
	if !strings.HasPrefix(arn, "arn:aws:ecs:us-east-1:000000000000:task/default/") || len(arn) != len("arn:aws:ecs:us-east-1:000000000000:task/default/")+32 {
		t.Errorf("taskArn = %s", arn)
	}
	c := task["containers"].([]any)[0].(map[string]any)
	if !strings.HasPrefix(c["containerArn"].(string), "arn:aws:ecs:us-east-1:000000000000:container/default/") || c["taskArn"] != arn ||
		c["lastStatus"] != "PENDING" || c["name"] != "app" {
		t.Errorf("container = %v", c)
	}
	att := task["attachments"].([]any)[0].(map[string]any)
	if att["type"] != "ElasticNetworkInterface" || att["status"] != "PRECREATED" {
		t.Errorf("attachment = %v", att)
	}

	// The same token answers the same tasks.
	_, again := callECS(t, srv, "RunTask", `{"taskDefinition":"web","count":2,"startedBy":"me","clientToken":"abc",
		"tags":[{"key":"k","value":"v"}],
		"overrides":{"containerOverrides":[{"name":"app","command":["sleep","1"],"environment":[{"name":"A","value":"1"}]}]},
		"networkConfiguration":{"awsvpcConfiguration":{"subnets":["subnet-1"],"securityGroups":["sg-1"],"assignPublicIp":"DISABLED"}}}`)
	if again["tasks"].([]any)[0].(map[string]any)["taskArn"] != arn {
		t.Errorf("retried RunTask answered other tasks: %v", again)
	}

	code, out = callECS(t, srv, "DescribeTasks", `{"tasks":["`+arn+`","0123456789abcdef0123456789abcdef"],"include":["TAGS"]}`)
	if code != 200 || len(out["tasks"].([]any)) != 1 || out["tasks"].([]any)[0].(map[string]any)["tags"] == nil {
		t.Fatalf("DescribeTasks = %d %v", code, out)
	}
	f := out["failures"].([]any)[0].(map[string]any)
	if f["reason"] != "MISSING" || f["arn"] != "arn:aws:ecs:us-east-1:000000000000:task/default/0123456789abcdef0123456789abcdef" {
		t.Errorf("failure = %v", f)
	}

	code, out = callECS(t, srv, "StopTask", `{"task":"`+arn+`","reason":"done"}`)
	st := out["task"].(map[string]any)
	if code != 200 || st["desiredStatus"] != "STOPPED" || st["stopCode"] != "UserInitiated" || st["stoppedReason"] != "done" || st["stoppingAt"] == nil {
		t.Fatalf("StopTask = %d %v", code, out)
	}

	code, out = callECS(t, srv, "ListTasks", `{"maxResults":1}`)
	if code != 200 || len(out["taskArns"].([]any)) != 1 || out["taskArns"].([]any)[0] == arn {
		t.Fatalf("ListTasks page = %d %v", code, out)
	}
	code, out = callECS(t, srv, "ListTasks", `{"desiredStatus":"STOPPED"}`)
	if code != 200 || len(out["taskArns"].([]any)) != 1 || out["taskArns"].([]any)[0] != arn {
		t.Fatalf("ListTasks STOPPED = %d %v", code, out)
	}
	code, out = callECS(t, srv, "DescribeClusters", `{"clusters":["default"]}`)
	if cl := out["clusters"].([]any)[0].(map[string]any); code != 200 || cl["pendingTasksCount"] != float64(2) {
		t.Fatalf("DescribeClusters = %d %v", code, out)
	}
}

func TestTaskErrorsOverHTTP(t *testing.T) {
	srv := newTaskServer(t)
	for _, tt := range []struct{ op, body, code, msg string }{
		{"RunTask", `{"taskDefinition":"web"}`, "InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified."},
		{"RunTask", `{"taskDefinition":"web","launchType":"EC2","networkConfiguration":{"awsvpcConfiguration":{"subnets":["s"]}}}`, "InvalidParameterException", "FARGATE"},
		{"RunTask", `{"taskDefinition":"nope"}`, "ClientException", "Unable to describe task definition."},
		{"RunTask", `{"taskDefinition":"web","cluster":"nope"}`, "ClusterNotFoundException", "Cluster not found."},
		{"RunTask", `{"taskDefinition":"web","count":"two"}`, "SerializationException", "count"},
		{"StopTask", `{"task":"0123456789abcdef0123456789abcdef"}`, "InvalidParameterException", "The referenced task was not found."},
		{"DescribeTasks", `{"tasks":[]}`, "InvalidParameterException", "Tasks cannot be empty."},
		{"ListTasks", `{"maxResults":500}`, "InvalidParameterException", "maxResults"},
	} {
		code, out := callECS(t, srv, tt.op, tt.body)
		if code != 400 || out["__type"] != tt.code || !strings.Contains(out["message"].(string), tt.msg) {
			t.Errorf("%s %s = %d %v, want %s %q", tt.op, tt.body, code, out, tt.code, tt.msg)
		}
	}
	code, out := callECS(t, srv, "RunTask", `{"taskDefinition":"web","count":10,"networkConfiguration":{"awsvpcConfiguration":{"subnets":["s"]}}}`)
	if code != 200 || len(out["tasks"].([]any)) != 10 {
		t.Fatalf("10 small tasks = %d %v", code, out)
	}
}
