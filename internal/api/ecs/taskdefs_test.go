package ecs_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/api/ecs"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

func newTaskDefServer(t *testing.T) *httptest.Server {
	t.Helper()
	cli, prefix := testutil.Etcd(t)
	srv := httptest.NewServer(api.New(logx.Discard(), ecs.Service(ops.NewECS(store.New(cli, prefix), logx.Discard()))))
	t.Cleanup(srv.Close)
	return srv
}

// callECS posts body to operation op and decodes the answer as generic JSON.
func callECS(t *testing.T, srv *httptest.Server, op, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s answer %q: %v", op, raw, err)
	}
	return resp.StatusCode, out
}

func mustJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// subsetDiff reports where given is not contained in got: every given member must come back
// with the same value; got may carry more members (those ECS adds).
func subsetDiff(path string, given, got any) []string {
	switch g := given.(type) {
	case map[string]any:
		m, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %v, want an object", path, got)}
		}
		var diffs []string
		for k, v := range g {
			if _, present := m[k]; !present {
				diffs = append(diffs, path+"."+k+": dropped")
				continue
			}
			diffs = append(diffs, subsetDiff(path+"."+k, v, m[k])...)
		}
		return diffs
	case []any:
		l, ok := got.([]any)
		if !ok || len(l) != len(g) {
			return []string{fmt.Sprintf("%s: got %v, want %v", path, got, g)}
		}
		var diffs []string
		for i := range g {
			diffs = append(diffs, subsetDiff(fmt.Sprintf("%s[%d]", path, i), g[i], l[i])...)
		}
		return diffs
	}
	if !reflect.DeepEqual(given, got) {
		return []string{fmt.Sprintf("%s: got %v, want %v", path, got, given)}
	}
	return nil
}

func TestRegisterDescribeRoundTripsEveryMember(t *testing.T) {
	srv := newTaskDefServer(t)
	given := mustJSON(t, fullTaskDefinition)
	tags := given["tags"]
	delete(given, "tags")
	status, reg := callECS(t, srv, "RegisterTaskDefinition", fullTaskDefinition)
	if status != http.StatusOK {
		t.Fatalf("register: %d %v", status, reg)
	}
	for _, diff := range subsetDiff("register.taskDefinition", given, reg["taskDefinition"]) {
		t.Error(diff)
	}
	status, desc := callECS(t, srv, "DescribeTaskDefinition", `{"taskDefinition": "full-house:1", "include": ["TAGS"]}`)
	if status != http.StatusOK {
		t.Fatalf("describe: %d %v", status, desc)
	}
	for _, diff := range subsetDiff("describe.taskDefinition", given, desc["taskDefinition"]) {
		t.Error(diff)
	}
	if !reflect.DeepEqual(desc["tags"], tags) {
		t.Errorf("tags = %v, want %v", desc["tags"], tags)
	}
	td := desc["taskDefinition"].(map[string]any)
	want := map[string]any{"taskDefinitionArn": "arn:aws:ecs:us-east-1:000000000000:task-definition/full-house:1",
		"revision": 1.0, "status": "ACTIVE", "registeredBy": "arn:aws:iam::000000000000:root", "compatibilities": []any{"EC2"}}
	for _, diff := range subsetDiff("describe.taskDefinition", want, td) {
		t.Error(diff)
	}
	if _, ok := td["registeredAt"].(float64); !ok {
		t.Errorf("registeredAt = %v, want epoch seconds", td["registeredAt"])
	}
}

// TestFullTaskDefinitionSetsEveryMember keeps fullTaskDefinition honest: it must give a value to
// every member of botocore's RegisterTaskDefinitionRequest, recursively, so the round trip
// above proves every member comes back.
func TestFullTaskDefinitionSetsEveryMember(t *testing.T) {
	given := map[string]bool{}
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if e != nil {
					given[path+"."+k] = true
					walk(e, path+"."+k)
				}
			}
		case []any:
			for _, e := range x {
				walk(e, path+"[]")
			}
		}
	}
	walk(mustJSON(t, fullTaskDefinition), "")
	paths := ecs.ModelPaths(t, "RegisterTaskDefinitionRequest")
	if len(paths) < 100 {
		t.Fatalf("botocore's RegisterTaskDefinitionRequest has only %d member paths", len(paths))
	}
	for _, p := range paths {
		if !given[p] {
			t.Errorf("fullTaskDefinition gives no value to %s", p)
		}
	}
}

func TestFargateGuideExampleDescribesBackAsECSDoes(t *testing.T) {
	srv := newTaskDefServer(t)
	status, reg := callECS(t, srv, "RegisterTaskDefinition", fargateGuideExample)
	if status != http.StatusOK {
		t.Fatalf("register: %d %v", status, reg)
	}
	_, desc := callECS(t, srv, "DescribeTaskDefinition", `{"taskDefinition": "api-service"}`)
	given := mustJSON(t, fargateGuideExample)
	td := desc["taskDefinition"].(map[string]any)
	for _, diff := range subsetDiff("taskDefinition", given, td) {
		t.Error(diff)
	}
	// What ECS shows for the container beyond what was given: cpu 0, essential, hostPort and
	// the empty lists.
	wantContainer := mustJSON(t, `{"name": "api", "image": "123456789.dkr.ecr.us-east-1.amazonaws.com/api:latest", "cpu": 0,
		"portMappings": [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}], "essential": true,
		"environment": [], "mountPoints": [], "volumesFrom": [], "systemControls": [],
		"logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/api-service", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}}}`)
	if got := td["containerDefinitions"].([]any)[0]; !reflect.DeepEqual(got, any(wantContainer)) {
		t.Errorf("container = %v\nwant %v", got, wantContainer)
	}
	if got := td["compatibilities"]; !reflect.DeepEqual(got, []any{"EC2", "FARGATE"}) {
		t.Errorf("compatibilities = %v", got)
	}
	if _, ok := desc["tags"]; ok {
		t.Errorf("tags answered without include TAGS: %v", desc["tags"])
	}
}

func TestTaskDefinitionErrorsThroughHTTP(t *testing.T) {
	srv := newTaskDefServer(t)
	bad := `{"family": "api-service", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "512", "memory": "512",
		"containerDefinitions": [{"name": "api", "image": "nginx"}]}`
	status, out := callECS(t, srv, "RegisterTaskDefinition", bad)
	want := "No Fargate configuration exists for given values: 512 CPU, 512 memory. See the Amazon ECS documentation for the valid values." +
		" Valid 'memory' values for 512 CPU are: 1024, 2048, 3072, 4096."
	if status != http.StatusBadRequest || out["__type"] != "ClientException" || out["message"] != want {
		t.Errorf("register bad size = %d %v", status, out)
	}
	status, out = callECS(t, srv, "DescribeTaskDefinition", `{"taskDefinition": "nope:1"}`)
	if status != http.StatusBadRequest || out["__type"] != "ClientException" || out["message"] != "Unable to describe task definition." {
		t.Errorf("describe missing = %d %v", status, out)
	}
	status, out = callECS(t, srv, "DescribeTaskDefinition", `{"taskDefinition": "nope:1", "include": ["TAG"]}`)
	if status != http.StatusBadRequest || out["__type"] != "InvalidParameterException" || out["message"] != `The include value "TAG" is not valid. Valid values are: TAGS.` {
		t.Errorf("describe include TAG = %d %v", status, out)
	}
	status, out = callECS(t, srv, "ListTaskDefinitions", `{"maxResults": 101}`)
	if status != http.StatusBadRequest || out["__type"] != "InvalidParameterException" {
		t.Errorf("list maxResults 101 = %d %v", status, out)
	}
}

func TestTaskDefinitionLifecycleThroughHTTP(t *testing.T) {
	srv := newTaskDefServer(t)
	for range 2 {
		if status, out := callECS(t, srv, "RegisterTaskDefinition", fargateGuideExample); status != http.StatusOK {
			t.Fatalf("register: %d %v", status, out)
		}
	}
	_, list := callECS(t, srv, "ListTaskDefinitions", `{"familyPrefix": "api-service", "sort": "DESC", "maxResults": 1}`)
	arns := list["taskDefinitionArns"].([]any)
	if len(arns) != 1 || arns[0] != "arn:aws:ecs:us-east-1:000000000000:task-definition/api-service:2" || list["nextToken"] == nil {
		t.Fatalf("list page 1 = %v", list)
	}
	_, list = callECS(t, srv, "ListTaskDefinitions", fmt.Sprintf(`{"familyPrefix": "api-service", "sort": "DESC", "maxResults": 1, "nextToken": %q}`, list["nextToken"]))
	if arns := list["taskDefinitionArns"].([]any); len(arns) != 1 || arns[0] != "arn:aws:ecs:us-east-1:000000000000:task-definition/api-service:1" {
		t.Fatalf("list page 2 = %v", list)
	}
	_, dereg := callECS(t, srv, "DeregisterTaskDefinition", `{"taskDefinition": "api-service:1"}`)
	td := dereg["taskDefinition"].(map[string]any)
	if td["status"] != "INACTIVE" || td["deregisteredAt"] == nil {
		t.Fatalf("deregister = %v", dereg)
	}
	_, del := callECS(t, srv, "DeleteTaskDefinitions", `{"taskDefinitions": ["api-service:1", "api-service:2"]}`)
	dels, fails := del["taskDefinitions"].([]any), del["failures"].([]any)
	if len(dels) != 1 || dels[0].(map[string]any)["status"] != "DELETE_IN_PROGRESS" || len(fails) != 1 {
		t.Fatalf("delete = %v", del)
	}
	_, fams := callECS(t, srv, "ListTaskDefinitionFamilies", `{"status": "ALL"}`)
	if !reflect.DeepEqual(fams["families"], []any{"api-service"}) {
		t.Fatalf("families = %v", fams)
	}
}

const fargateGuideExample = `{
  "family": "api-service",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "cpu": "512",
  "memory": "1024",
  "containerDefinitions": [{
    "name": "api",
    "image": "123456789.dkr.ecr.us-east-1.amazonaws.com/api:latest",
    "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
    "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/api-service", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}}
  }]
}`

// fullTaskDefinition populates every member of botocore's RegisterTaskDefinitionRequest,
// recursively (checked against service-2.json when written), with values an EC2 bridge-mode
// definition may hold.
const fullTaskDefinition = `
{
  "family": "full-house",
  "taskRoleArn": "arn:aws:iam::000000000000:role/task",
  "executionRoleArn": "arn:aws:iam::000000000000:role/exec",
  "networkMode": "bridge",
  "containerDefinitions": [
    {
      "name": "web",
      "image": "123456789.dkr.ecr.us-east-1.amazonaws.com/web:1",
      "repositoryCredentials": {"credentialsParameter": "arn:aws:secretsmanager:us-east-1:000000000000:secret:reg-abcdef"},
      "cpu": 128,
      "memory": 512,
      "memoryReservation": 256,
      "links": ["db"],
      "portMappings": [{"containerPort": 80, "hostPort": 8080, "protocol": "tcp", "name": "web-http", "appProtocol": "http"},
                       {"containerPortRange": "9000-9010", "protocol": "udp"}],
      "essential": true,
      "restartPolicy": {"enabled": true, "ignoredExitCodes": [0, 143], "restartAttemptPeriod": 120},
      "entryPoint": ["/bin/sh", "-c"],
      "command": ["exec web"],
      "environment": [{"name": "MODE", "value": "prod"}, {"name": "EMPTY", "value": ""}],
      "environmentFiles": [{"value": "arn:aws:s3:::bucket/web.env", "type": "s3"}],
      "mountPoints": [{"sourceVolume": "host", "containerPath": "/host", "readOnly": false}],
      "volumesFrom": [{"sourceContainer": "db", "readOnly": true}],
      "linuxParameters": {
        "capabilities": {"add": ["NET_ADMIN"], "drop": ["MKNOD"]},
        "devices": [{"hostPath": "/dev/fuse", "containerPath": "/dev/fuse", "permissions": ["read", "write"]}],
        "initProcessEnabled": true,
        "sharedMemorySize": 64,
        "tmpfs": [{"containerPath": "/tmp", "size": 32, "mountOptions": ["noexec"]}],
        "maxSwap": 0,
        "swappiness": 0
      },
      "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:us-east-1:000000000000:parameter/db"}],
      "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}],
      "startTimeout": 60,
      "stopTimeout": 30,
      "versionConsistency": "disabled",
      "hostname": "web",
      "user": "1000:1000",
      "workingDirectory": "/srv",
      "disableNetworking": false,
      "privileged": false,
      "readonlyRootFilesystem": true,
      "dnsServers": ["10.0.0.2"],
      "dnsSearchDomains": ["corp.internal"],
      "extraHosts": [{"hostname": "metadata", "ipAddress": "169.254.169.254"}],
      "dockerSecurityOptions": ["no-new-privileges"],
      "interactive": false,
      "pseudoTerminal": false,
      "dockerLabels": {"team": "web"},
      "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
      "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"},
                           "secretOptions": [{"name": "token", "valueFrom": "arn:aws:secretsmanager:us-east-1:000000000000:secret:log-abcdef"}]},
      "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"], "interval": 10, "timeout": 3, "retries": 2, "startPeriod": 0},
      "systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}],
      "resourceRequirements": [{"value": "1", "type": "GPU"}],
      "firelensConfiguration": {"type": "fluentbit", "options": {"enable-ecs-log-metadata": "true"}},
      "credentialSpecs": ["credentialspecdomainless:arn:aws:s3:::bucket/spec.json"]
    },
    {
      "name": "db",
      "image": "postgres:16",
      "memory": 256,
      "essential": false,
      "healthCheck": {"command": ["CMD", "pg_isready"]}
    }
  ],
  "volumes": [
    {"name": "host", "host": {"sourcePath": "/srv/data"}, "configuredAtLaunch": false},
    {"name": "docker", "dockerVolumeConfiguration": {"scope": "shared", "autoprovision": true, "driver": "local", "driverOpts": {"type": "tmpfs"}, "labels": {"a": "b"}}},
    {"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-12345678", "rootDirectory": "/", "transitEncryption": "ENABLED", "transitEncryptionPort": 2049,
                                               "authorizationConfig": {"accessPointId": "fsap-1234", "iam": "ENABLED"}}},
    {"name": "s3files", "s3filesVolumeConfiguration": {"fileSystemArn": "arn:aws:s3files:us-east-1:000000000000:file-system/fs-1", "rootDirectory": "/data", "transitEncryptionPort": 2999, "accessPointArn": "arn:aws:s3files:us-east-1:000000000000:access-point/ap-1"}},
    {"name": "fsx", "fsxWindowsFileServerVolumeConfiguration": {"fileSystemId": "fs-0123", "rootDirectory": "share", "authorizationConfig": {"credentialsParameter": "arn:aws:secretsmanager:us-east-1:000000000000:secret:fsx-abcdef", "domain": "corp.example.com"}}}
  ],
  "placementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ t3.*"}],
  "requiresCompatibilities": ["EC2"],
  "cpu": "1024",
  "memory": "2048",
  "tags": [{"key": "team", "value": "platform"}],
  "pidMode": "host",
  "ipcMode": "host",
  "proxyConfiguration": {"type": "APPMESH", "containerName": "web", "properties": [{"name": "AppPorts", "value": "80"}]},
  "inferenceAccelerators": [{"deviceName": "device1", "deviceType": "eia2.medium"}],
  "ephemeralStorage": {"sizeInGiB": 30},
  "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
  "enableFaultInjection": true
}
`
