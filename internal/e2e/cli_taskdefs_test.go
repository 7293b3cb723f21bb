package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const taskDefARNPrefix = "arn:aws:ecs:us-east-1:000000000000:task-definition/"

// TestCLITaskDefinitionFargateGuide registers the task definition of AWS's Fargate guide from
// a file, as users do, and reads it back.
func TestCLITaskDefinitionFargateGuide(t *testing.T) {
	t.Parallel()
	aws := newCLI(t, startServer(t, ""))
	input, err := os.ReadFile(filepath.Join("testdata", "api-service.json"))
	if err != nil {
		t.Fatal(err)
	}
	var given map[string]any
	if err := json.Unmarshal(input, &given); err != nil {
		t.Fatal(err)
	}
	path, err := filepath.Abs(filepath.Join("testdata", "api-service.json"))
	if err != nil {
		t.Fatal(err)
	}

	var registered struct{ TaskDefinition map[string]any }
	aws.json(&registered, "ecs", "register-task-definition", "--cli-input-json", "file://"+path)
	checkTaskDef(t, "register-task-definition", registered.TaskDefinition, given, 1, "ACTIVE")

	var described struct{ TaskDefinition map[string]any }
	aws.json(&described, "ecs", "describe-task-definition", "--task-definition", "api-service")
	checkTaskDef(t, "describe-task-definition", described.TaskDefinition, given, 1, "ACTIVE")

	aws.json(&registered, "ecs", "register-task-definition", "--cli-input-json", "file://"+path)
	checkTaskDef(t, "second register-task-definition", registered.TaskDefinition, given, 2, "ACTIVE")
	aws.json(&described, "ecs", "describe-task-definition", "--task-definition", "api-service")
	checkTaskDef(t, "describe-task-definition of the family", described.TaskDefinition, given, 2, "ACTIVE")

	var listed struct{ TaskDefinitionArns []string }
	aws.json(&listed, "ecs", "list-task-definitions")
	rev1, rev2 := taskDefARNPrefix+"api-service:1", taskDefARNPrefix+"api-service:2"
	if want := []string{rev1, rev2}; !slices.Equal(listed.TaskDefinitionArns, want) {
		t.Errorf("list-task-definitions: got %v, want %v", listed.TaskDefinitionArns, want)
	}
	aws.json(&listed, "ecs", "list-task-definitions", "--family-prefix", "api-service", "--sort", "DESC")
	if want := []string{rev2, rev1}; !slices.Equal(listed.TaskDefinitionArns, want) {
		t.Errorf("list-task-definitions --sort DESC: got %v, want %v", listed.TaskDefinitionArns, want)
	}

	var deregistered struct{ TaskDefinition map[string]any }
	aws.json(&deregistered, "ecs", "deregister-task-definition", "--task-definition", "api-service:1")
	checkTaskDef(t, "deregister-task-definition", deregistered.TaskDefinition, given, 1, "INACTIVE")
	aws.json(&listed, "ecs", "list-task-definitions")
	if want := []string{rev2}; !slices.Equal(listed.TaskDefinitionArns, want) {
		t.Errorf("list-task-definitions after deregistering :1: got %v, want %v", listed.TaskDefinitionArns, want)
	}
	aws.json(&listed, "ecs", "list-task-definitions", "--status", "INACTIVE")
	if want := []string{rev1}; !slices.Equal(listed.TaskDefinitionArns, want) {
		t.Errorf("list-task-definitions --status INACTIVE: got %v, want %v", listed.TaskDefinitionArns, want)
	}
}

// checkTaskDef checks that got holds every member of given unchanged, and the identity AWS adds.
func checkTaskDef(t *testing.T, what string, got, given map[string]any, revision int, status string) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: no taskDefinition in the answer", what)
	}
	for _, d := range jsonSubset("taskDefinition", given, got) {
		t.Errorf("%s: %s", what, d)
	}
	wantARN := taskDefARNPrefix + given["family"].(string) + ":" + strconv.Itoa(revision)
	if got["taskDefinitionArn"] != wantARN {
		t.Errorf("%s: taskDefinitionArn %v, want %s", what, got["taskDefinitionArn"], wantARN)
	}
	if got["revision"] != float64(revision) {
		t.Errorf("%s: revision %v, want %d", what, got["revision"], revision)
	}
	if got["status"] != status {
		t.Errorf("%s: status %v, want %s", what, got["status"], status)
	}
	if compat, _ := got["compatibilities"].([]any); !slices.Contains(compat, any("FARGATE")) {
		t.Errorf("%s: compatibilities %v, want FARGATE among them", what, got["compatibilities"])
	}
}

func TestCLITaskDefinitionInvalidSize(t *testing.T) {
	t.Parallel()
	aws := newCLI(t, startServer(t, ""))
	containers := `[{"name":"api","image":"123456789.dkr.ecr.us-east-1.amazonaws.com/api:latest"}]`
	stderr := aws.fail("ClientException", "ecs", "register-task-definition",
		"--family", "too-small", "--network-mode", "awsvpc", "--requires-compatibilities", "FARGATE",
		"--cpu", "512", "--memory", "512", "--container-definitions", containers)
	lower := strings.ToLower(stderr)
	if !strings.Contains(stderr, "512") || !strings.Contains(lower, "cpu") || !strings.Contains(lower, "memory") {
		t.Errorf("the message does not name the cpu and memory values:\n%s", stderr)
	}
	var listed struct{ TaskDefinitionArns []string }
	aws.json(&listed, "ecs", "list-task-definitions")
	if len(listed.TaskDefinitionArns) != 0 {
		t.Errorf("a rejected task definition was stored: %v", listed.TaskDefinitionArns)
	}
}
