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
	srv, _, _ := newTaskServerNet(t)
	return srv
}

// newTaskServerNet is newTaskServer, and the default VPC's subnet in us-east-1a and its default
// security group.
func newTaskServerNet(t *testing.T) (srv *httptest.Server, subnet, group string) {
	t.Helper()
	cli, prefix := testutil.Etcd(t)
	st := store.New(cli, prefix)
	now := time.Now().UTC()
	if _, err := st.Hosts().Create(t.Context(), model.Host{ID: "h1", CapacityCPU: 4096, CapacityMemory: 8192,
		Status: model.HostActive, HeartbeatAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	sc := model.Scope{Account: model.DefaultAccount, Region: model.DefaultRegion}
	subs, _, err := ops.NewEC2(st, logx.Discard()).DescribeSubnets(t.Context(), sc, nil,
		[]ops.Filter{{Name: "availability-zone", Values: []string{"us-east-1a"}}}, ops.Paging{})
	if err != nil || len(subs) != 1 {
		t.Fatalf("default subnet: %v, %v", subs, err)
	}
	vpc, _ := st.Vpcs().Get(t.Context(), sc, subs[0].VpcID)
	subnet, group = subs[0].ID, vpc.Value.DefaultGroupID
	srv = httptest.NewServer(api.New(logx.Discard(), ecs.Service(ops.NewECS(st, logx.Discard()))))
	t.Cleanup(srv.Close)
	code, out := callECS(t, srv, "RegisterTaskDefinition", `{"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],
		"cpu":"256","memory":"512","containerDefinitions":[{"name":"app","image":"busybox"},{"name":"side","image":"busybox","essential":false}]}`)
	if code != 200 {
		t.Fatalf("register = %d %v", code, out)
	}
	return srv, subnet, group
}

func TestRunTaskOverHTTP(t *testing.T) {
	srv, subnet, group := newTaskServerNet(t)
	runBody := `{"taskDefinition":"web","count":2,"startedBy":"me","clientToken":"abc",
		"tags":[{"key":"k","value":"v"}],
		"overrides":{"containerOverrides":[{"name":"app","command":["sleep","1"],"environment":[{"name":"A","value":"1"}]}]},
		"networkConfiguration":{"awsvpcConfiguration":{"subnets":["` + subnet + `"],"securityGroups":["` + group + `"],"assignPublicIp":"DISABLED"}}}`
	code, out := callECS(t, srv, "RunTask", runBody)
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
	if att["type"] != "ElasticNetworkInterface" || att["status"] != "PRECREATED" || len(att["id"].(string)) != 36 {
		t.Errorf("attachment = %v", att)
	}
	details := map[string]string{}
	var names []string
	for _, d := range att["details"].([]any) {
		kv := d.(map[string]any)
		details[kv["name"].(string)] = kv["value"].(string)
		names = append(names, kv["name"].(string))
	}
	ip := details["privateIPv4Address"]
	if strings.Join(names, ",") != "subnetId,networkInterfaceId,macAddress,privateDnsName,privateIPv4Address" ||
		details["subnetId"] != subnet || !strings.HasPrefix(details["networkInterfaceId"], "eni-") ||
		!strings.HasPrefix(ip, "172.31.") || details["privateDnsName"] != "ip-"+strings.ReplaceAll(ip, ".", "-")+".ec2.internal" ||
		len(details["macAddress"]) != 17 {
		t.Errorf("attachment details = %v", details)
	}
	for _, raw := range task["containers"].([]any) {
		nics := raw.(map[string]any)["networkInterfaces"].([]any)
		if len(nics) != 1 || nics[0].(map[string]any)["attachmentId"] != att["id"] || nics[0].(map[string]any)["privateIpv4Address"] != ip {
			t.Errorf("container networkInterfaces = %v", nics)
		}
	}

	// The same token answers the same tasks.
	_, again := callECS(t, srv, "RunTask", runBody)
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
	srv, subnet, _ := newTaskServerNet(t)
	for _, tt := range []struct{ op, body, code, msg string }{
		{"RunTask", `{"taskDefinition":"web","networkConfiguration":{"awsvpcConfiguration":{"subnets":["subnet-0ffffffffffffffff"]}}}`, "InvalidParameterException",
			"Error retrieving subnet information for [subnet-0ffffffffffffffff]: The subnet ID 'subnet-0ffffffffffffffff' does not exist (ErrorCode: InvalidSubnetID.NotFound)"},
		{"RunTask", `{"taskDefinition":"web"}`, "InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified."},
		{"RunTask", `{"taskDefinition":"web","launchType":"EC2","networkConfiguration":{"awsvpcConfiguration":{"subnets":["s"]}}}`, "InvalidParameterException", "FARGATE"},
		{"RunTask", `{"taskDefinition":"nope"}`, "ClientException", "Unable to describe task definition."},
		{"RunTask", `{"taskDefinition":"web","cluster":"nope"}`, "ClusterNotFoundException", "Cluster not found."},
		{"RunTask", `{"taskDefinition":"web","count":"two"}`, "SerializationException", "count"},
		{"StopTask", `{"task":"0123456789abcdef0123456789abcdef"}`, "InvalidParameterException", "The referenced task was not found."},
		{"DescribeTasks", `{"tasks":[]}`, "InvalidParameterException", "Tasks cannot be empty."},
		{"ListTasks", `{"maxResults":500}`, "InvalidParameterException", "maxResults"},
		{"ListTasks", `{"startedBy":"me","family":"web"}`, "InvalidParameterException", "cannot specify startedBy with other arguments"},
		{"ListTasks", `{"serviceName":"api","family":"web"}`, "InvalidParameterException", "cannot specify serviceName with other arguments"},
		{"ListTasks", `{"serviceName":"api"}`, "ServiceNotFoundException", "Service not found."},
		{"RunTask", `{"taskDefinition":"web","capacityProviderStrategy":[{"capacityProvider":"FARGATE_SPOT","weight":1}],
			"networkConfiguration":{"awsvpcConfiguration":{"subnets":["` + subnet + `"]}}}`, "InvalidParameterException", "not associated with the cluster"},
		{"RunTask", `{"taskDefinition":"web","overrides":{"containerOverrides":[{"name":"app","command":["` + strings.Repeat("x", 8200) + `"]}]},
			"networkConfiguration":{"awsvpcConfiguration":{"subnets":["` + subnet + `"]}}}`, "InvalidParameterException", "Container Overrides length must be at most 8192"},
	} {
		code, out := callECS(t, srv, tt.op, tt.body)
		if code != 400 || out["__type"] != tt.code || !strings.Contains(out["message"].(string), tt.msg) {
			t.Errorf("%s %s = %d %v, want %s %q", tt.op, tt.body, code, out, tt.code, tt.msg)
		}
	}
	code, out := callECS(t, srv, "RunTask", `{"taskDefinition":"web","count":10,"clientToken":"ten","networkConfiguration":{"awsvpcConfiguration":{"subnets":["`+subnet+`"]}}}`)
	if code != 200 || len(out["tasks"].([]any)) != 10 {
		t.Fatalf("10 small tasks = %d %v", code, out)
	}
	// The same clientToken with other parameters is ECS's ConflictException, naming the tasks.
	first := out["tasks"].([]any)[0].(map[string]any)["taskArn"].(string)
	code, out = callECS(t, srv, "RunTask", `{"taskDefinition":"web","count":9,"clientToken":"ten","networkConfiguration":{"awsvpcConfiguration":{"subnets":["`+subnet+`"]}}}`)
	if code != 400 || out["__type"] != "ConflictException" || !strings.Contains(out["message"].(string), first) {
		t.Fatalf("clientToken reused with another count = %d %v, want ConflictException naming %s", code, out, first)
	}
}
