package ecs_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/api/ecs"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

// clusterAPI is an ECS front door over a fresh store.
type clusterAPI struct {
	t   *testing.T
	url string
}

func newClusterAPI(t *testing.T) *clusterAPI {
	t.Helper()
	cli, prefix := testutil.Etcd(t)
	srv := httptest.NewServer(api.New(logx.Discard(), ecs.Service(ops.NewECS(store.New(cli, prefix), logx.Discard()))))
	t.Cleanup(srv.Close)
	return &clusterAPI{t: t, url: srv.URL}
}

// call sends one ECS request and returns the status and the decoded JSON body.
func (a *clusterAPI) call(op, body string) (int, map[string]any) {
	a.t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.url, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", ecs.TargetPrefix+"."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		a.t.Fatalf("%s: body %q is not JSON: %v", op, raw, err)
	}
	if resp.StatusCode != http.StatusOK && resp.Header.Get("X-Amzn-ErrorType") != out["__type"] {
		a.t.Fatalf("%s: X-Amzn-ErrorType %q, __type %v", op, resp.Header.Get("X-Amzn-ErrorType"), out["__type"])
	}
	return resp.StatusCode, out
}

// ok calls op and fails unless it succeeds.
func (a *clusterAPI) ok(op, body string) map[string]any {
	a.t.Helper()
	status, out := a.call(op, body)
	if status != http.StatusOK {
		a.t.Fatalf("%s %s: %d %v", op, body, status, out)
	}
	return out
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestCreateClusterShape(t *testing.T) {
	a := newClusterAPI(t)
	out := a.ok("CreateCluster", `{"clusterName":"web","tags":[{"key":"team","value":"a"}],
		"settings":[{"name":"containerInsights","value":"enabled"}],
		"configuration":{"executeCommandConfiguration":{"logging":"OVERRIDE","logConfiguration":{"cloudWatchLogGroupName":"g"}}},
		"capacityProviders":["FARGATE","FARGATE_SPOT"],
		"defaultCapacityProviderStrategy":[{"capacityProvider":"FARGATE","weight":1,"base":1},{"capacityProvider":"FARGATE_SPOT","weight":3}],
		"serviceConnectDefaults":{"namespace":"svc"}}`)
	c := out["cluster"].(map[string]any)
	want := map[string]any{
		"clusterArn": "arn:aws:ecs:us-east-1:000000000000:cluster/web", "clusterName": "web", "status": "ACTIVE",
		"registeredContainerInstancesCount": 0.0, "runningTasksCount": 0.0, "pendingTasksCount": 0.0, "activeServicesCount": 0.0,
		"tags":              []any{map[string]any{"key": "team", "value": "a"}},
		"settings":          []any{map[string]any{"name": "containerInsights", "value": "enabled"}},
		"capacityProviders": []any{"FARGATE", "FARGATE_SPOT"},
		"defaultCapacityProviderStrategy": []any{
			map[string]any{"capacityProvider": "FARGATE", "weight": 1.0, "base": 1.0},
			map[string]any{"capacityProvider": "FARGATE_SPOT", "weight": 3.0, "base": 0.0}},
		"configuration": map[string]any{"executeCommandConfiguration": map[string]any{"logging": "OVERRIDE",
			"logConfiguration": map[string]any{"cloudWatchLogGroupName": "g", "cloudWatchEncryptionEnabled": false, "s3EncryptionEnabled": false}}},
		"serviceConnectDefaults": map[string]any{"namespace": "svc"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("cluster =\n%v\nwant\n%v", c, want)
	}
}

func TestDescribeClustersShape(t *testing.T) {
	a := newClusterAPI(t)
	a.ok("CreateCluster", `{"clusterName":"web","tags":[{"key":"k","value":"v"}]}`)
	out := a.ok("DescribeClusters", `{"clusters":["web","nope"]}`)
	if got := fmt.Sprint(keys(out)); got != "[clusters failures]" {
		t.Fatalf("keys = %s", got)
	}
	c := out["clusters"].([]any)[0].(map[string]any)
	if got := fmt.Sprint(keys(c)); got != "[activeServicesCount capacityProviders clusterArn clusterName defaultCapacityProviderStrategy pendingTasksCount registeredContainerInstancesCount runningTasksCount status]" {
		t.Fatalf("without include the cluster has %s", got)
	}
	failures := out["failures"].([]any)
	if !reflect.DeepEqual(failures, []any{map[string]any{"arn": "arn:aws:ecs:us-east-1:000000000000:cluster/nope", "reason": "MISSING"}}) {
		t.Fatalf("failures = %v", failures)
	}
	out = a.ok("DescribeClusters", `{"clusters":["arn:aws:ecs:us-east-1:000000000000:cluster/web"],"include":["TAGS","SETTINGS","STATISTICS","CONFIGURATIONS","ATTACHMENTS"]}`)
	c = out["clusters"].([]any)[0].(map[string]any)
	if got := fmt.Sprint(c["tags"], c["settings"], c["attachments"]); got != "[map[key:k value:v]] [map[name:containerInsights value:disabled]] []" {
		t.Fatalf("tags, settings, attachments = %s", got)
	}
	stats := c["statistics"].([]any)
	var names []string
	for _, s := range stats {
		kv := s.(map[string]any)
		if kv["value"] != "0" {
			t.Errorf("statistic %v", kv)
		}
		names = append(names, kv["name"].(string))
	}
	if got := strings.Join(names, ","); got != "runningEC2TasksCount,runningFargateTasksCount,pendingEC2TasksCount,pendingFargateTasksCount,activeEC2ServiceCount,activeFargateServiceCount,drainingEC2ServiceCount,drainingFargateServiceCount" {
		t.Fatalf("statistics = %s", got)
	}
}

func TestListAndDeleteClusters(t *testing.T) {
	a := newClusterAPI(t)
	if out := a.ok("ListClusters", `{}`); fmt.Sprint(out) != "map[clusterArns:[]]" {
		t.Fatalf("empty list = %v", out)
	}
	for i := range 3 {
		a.ok("CreateCluster", fmt.Sprintf(`{"clusterName":"c%d"}`, i))
	}
	out := a.ok("ListClusters", `{"maxResults":2}`)
	tok, _ := out["nextToken"].(string)
	if len(out["clusterArns"].([]any)) != 2 || tok == "" {
		t.Fatalf("first page = %v", out)
	}
	out = a.ok("ListClusters", `{"maxResults":2,"nextToken":"`+tok+`"}`)
	if fmt.Sprint(out) != "map[clusterArns:[arn:aws:ecs:us-east-1:000000000000:cluster/c2]]" {
		t.Fatalf("second page = %v", out)
	}
	out = a.ok("DeleteCluster", `{"cluster":"c1"}`)
	if c := out["cluster"].(map[string]any); c["status"] != "INACTIVE" {
		t.Fatalf("deleted = %v", c)
	}
	out = a.ok("DescribeClusters", `{"clusters":["c1"]}`)
	if c := out["clusters"].([]any)[0].(map[string]any); c["status"] != "INACTIVE" {
		t.Fatalf("described after delete = %v", c)
	}
	if out := a.ok("ListClusters", `{}`); len(out["clusterArns"].([]any)) != 2 {
		t.Fatalf("list after delete = %v", out)
	}
	a.ok("CreateCluster", `{"clusterName":"c1"}`)
	out = a.ok("DescribeClusters", `{"clusters":["c1"]}`)
	if c := out["clusters"].([]any)[0].(map[string]any); c["status"] != "ACTIVE" {
		t.Fatalf("recreated = %v", c)
	}
}

func TestUpdateClusterAndCapacityProvidersShape(t *testing.T) {
	a := newClusterAPI(t)
	a.ok("CreateCluster", `{"clusterName":"u"}`)
	out := a.ok("UpdateClusterSettings", `{"cluster":"u","settings":[{"name":"containerInsights","value":"enhanced"}]}`)
	if got := fmt.Sprint(out["cluster"].(map[string]any)["settings"]); got != "[map[name:containerInsights value:enhanced]]" {
		t.Fatalf("settings = %s", got)
	}
	out = a.ok("UpdateCluster", `{"cluster":"u","configuration":{"managedStorageConfiguration":{"kmsKeyId":"k"}},"serviceConnectDefaults":{"namespace":"ns"}}`)
	c := out["cluster"].(map[string]any)
	if got := fmt.Sprint(c["configuration"], c["serviceConnectDefaults"]); got != "map[managedStorageConfiguration:map[kmsKeyId:k]] map[namespace:ns]" {
		t.Fatalf("configuration, serviceConnectDefaults = %s", got)
	}
	out = a.ok("PutClusterCapacityProviders", `{"cluster":"u","capacityProviders":["FARGATE_SPOT"],"defaultCapacityProviderStrategy":[{"capacityProvider":"FARGATE_SPOT","weight":1}]}`)
	c = out["cluster"].(map[string]any)
	if got := fmt.Sprint(c["capacityProviders"], c["defaultCapacityProviderStrategy"]); got != "[FARGATE_SPOT] [map[base:0 capacityProvider:FARGATE_SPOT weight:1]]" {
		t.Fatalf("providers = %s", got)
	}
	out = a.ok("DescribeCapacityProviders", `{"include":["TAGS"]}`)
	want := map[string]any{"failures": []any{}, "capacityProviders": []any{
		map[string]any{"capacityProviderArn": "arn:aws:ecs:us-east-1:000000000000:capacity-provider/FARGATE", "name": "FARGATE", "status": "ACTIVE", "type": "FARGATE", "tags": []any{}},
		map[string]any{"capacityProviderArn": "arn:aws:ecs:us-east-1:000000000000:capacity-provider/FARGATE_SPOT", "name": "FARGATE_SPOT", "status": "ACTIVE", "type": "FARGATE_SPOT", "tags": []any{}},
	}}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("DescribeCapacityProviders = %v", out)
	}
	out = a.ok("DescribeCapacityProviders", `{"capacityProviders":["EC2"]}`)
	if fmt.Sprint(out) != "map[capacityProviders:[] failures:[map[arn:arn:aws:ecs:us-east-1:000000000000:capacity-provider/EC2 reason:MISSING]]]" {
		t.Fatalf("unknown provider = %v", out)
	}
}

func TestTaggingShape(t *testing.T) {
	a := newClusterAPI(t)
	a.ok("CreateCluster", `{"clusterName":"t"}`)
	arn := "arn:aws:ecs:us-east-1:000000000000:cluster/t"
	if out := a.ok("ListTagsForResource", `{"resourceArn":"`+arn+`"}`); fmt.Sprint(out) != "map[tags:[]]" {
		t.Fatalf("no tags = %v", out)
	}
	if out := a.ok("TagResource", `{"resourceArn":"`+arn+`","tags":[{"key":"a","value":"1"},{"key":"b","value":""}]}`); len(out) != 0 {
		t.Fatalf("TagResource answered %v", out)
	}
	if out := a.ok("UntagResource", `{"resourceArn":"`+arn+`","tagKeys":["a"]}`); len(out) != 0 {
		t.Fatalf("UntagResource answered %v", out)
	}
	if out := a.ok("ListTagsForResource", `{"resourceArn":"`+arn+`"}`); fmt.Sprint(out) != "map[tags:[map[key:b value:]]]" {
		t.Fatalf("tags = %v", out)
	}
}

func TestClusterErrors(t *testing.T) {
	a := newClusterAPI(t)
	a.ok("CreateCluster", `{"clusterName":"e"}`)
	var fifty []string
	for i := range 51 {
		fifty = append(fifty, fmt.Sprintf(`{"key":"k%d","value":"v"}`, i))
	}
	tests := []struct {
		name, op, body, code, msg string
	}{
		{"bad name", "CreateCluster", `{"clusterName":"a b"}`, "InvalidParameterException", "Cluster name can have up to 255 characters"},
		{"bad include", "DescribeClusters", `{"include":["ALL"]}`, "InvalidParameterException", "include value"},
		{"list maxResults", "ListClusters", `{"maxResults":0}`, "InvalidParameterException", "maxResults must be between 1 and 100"},
		{"list bad token", "ListClusters", `{"nextToken":"zzz"}`, "InvalidParameterException", "nextToken"},
		{"delete missing", "DeleteCluster", `{"cluster":"nope"}`, "ClusterNotFoundException", "Cluster not found."},
		{"update missing", "UpdateCluster", `{"cluster":"nope","settings":[]}`, "ClusterNotFoundException", "Cluster not found."},
		{"settings value", "UpdateClusterSettings", `{"cluster":"e","settings":[{"name":"containerInsights","value":"x"}]}`, "InvalidParameterException", "Valid values are"},
		{"provider unknown", "PutClusterCapacityProviders", `{"cluster":"e","capacityProviders":["EC2"],"defaultCapacityProviderStrategy":[]}`, "InvalidParameterException", "does not exist"},
		{"two bases", "PutClusterCapacityProviders", `{"cluster":"e","capacityProviders":["FARGATE","FARGATE_SPOT"],"defaultCapacityProviderStrategy":[{"capacityProvider":"FARGATE","base":1},{"capacityProvider":"FARGATE_SPOT","base":1}]}`, "InvalidParameterException", "base value greater than zero"},
		{"weight", "PutClusterCapacityProviders", `{"cluster":"e","capacityProviders":["FARGATE"],"defaultCapacityProviderStrategy":[{"capacityProvider":"FARGATE","weight":1001}]}`, "InvalidParameterException", "between 0 and 1000"},
		{"providers page", "DescribeCapacityProviders", `{"maxResults":11}`, "InvalidParameterException", "between 1 and 10"},
		{"bad arn", "ListTagsForResource", `{"resourceArn":"nope"}`, "InvalidParameterException", "The ARN provided is invalid."},
		{"tag missing cluster", "TagResource", `{"resourceArn":"arn:aws:ecs:us-east-1:000000000000:cluster/nope","tags":[{"key":"a","value":"b"}]}`, "ClusterNotFoundException", "Cluster not found."},
		{"too many tags", "TagResource", `{"resourceArn":"arn:aws:ecs:us-east-1:000000000000:cluster/e","tags":[` + strings.Join(fifty, ",") + `]}`, "InvalidParameterException", "at most 50"},
		{"aws prefix", "TagResource", `{"resourceArn":"arn:aws:ecs:us-east-1:000000000000:cluster/e","tags":[{"key":"aws:x","value":"b"}]}`, "InvalidParameterException", "reserved"},
		{"wrong type", "CreateCluster", `{"clusterName":5}`, "SerializationException", "clusterName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := a.call(tt.op, tt.body)
			if status != http.StatusBadRequest || out["__type"] != tt.code || !strings.Contains(fmt.Sprint(out["message"]), tt.msg) {
				t.Fatalf("%s = %d %v, want 400 %s %q", tt.op, status, out, tt.code, tt.msg)
			}
		})
	}
}
