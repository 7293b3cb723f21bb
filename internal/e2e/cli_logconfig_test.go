package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLILogConfiguration registers task definitions with the aws CLI and checks the answers
// ECS gives about logConfiguration: awslogs options it disallows, the ones it requires (Fargate's
// awslogs-stream-prefix at registration), mode and max-buffer-size values, the datetime format
// and multiline pattern together, secretOptions shapes; a definition with every known option
// registers and reads back unchanged. A splunk definition registers as on ECS and RunTask refuses
// it (gantry serves awslogs only), and an unreadable task cpu override gets the ClientException
// a definition gets.
func TestCLILogConfiguration(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	cli := newCLI(t, s)
	dir := t.TempDir()
	n := 0
	// register writes a Fargate definition whose one container has logConfiguration lc and
	// returns the register-task-definition arguments.
	register := func(lc string) []string {
		n++
		path := filepath.Join(dir, fmt.Sprintf("td%d.json", n))
		td := `{"family":"logcfg","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",
			"containerDefinitions":[{"name":"app","image":"public.ecr.aws/docker/library/busybox:latest","logConfiguration":` + lc + `}]}`
		if err := os.WriteFile(path, []byte(td), 0o600); err != nil {
			t.Fatal(err)
		}
		return []string{"ecs", "register-task-definition", "--cli-input-json", "file://" + path}
	}
	const base = `"awslogs-group":"/ecs/logcfg","awslogs-region":"us-east-1"`
	refused := []struct {
		name, lc, msg string
	}{
		{"unknown options", `{"logDriver":"awslogs","options":{` + base + `,"awslogs-stream-prefix":"ecs","awslogs-stream":"mine","tag":"x"}}`,
			"Log driver awslogs disallows options: awslogs-stream, tag"},
		{"group required", `{"logDriver":"awslogs","options":{"awslogs-region":"us-east-1","awslogs-stream-prefix":"ecs"}}`,
			"Log driver awslogs requires options: awslogs-group"},
		{"fargate stream prefix", `{"logDriver":"awslogs","options":{` + base + `}}`,
			"Fargate requires log configuration options to include awslogs-stream-prefix to support log driver awslogs."},
		{"mode", `{"logDriver":"awslogs","options":{` + base + `,"awslogs-stream-prefix":"ecs","mode":"async"}}`,
			"Invalid setting for container 'app'. logConfiguration option 'mode' 'async' must be one of: blocking, non-blocking."},
		{"max-buffer-size", `{"logDriver":"awslogs","options":{` + base + `,"awslogs-stream-prefix":"ecs","mode":"non-blocking","max-buffer-size":"25 megs"}}`,
			"logConfiguration option 'max-buffer-size' '25 megs' must be a size"},
		{"datetime and multiline", `{"logDriver":"awslogs","options":{` + base + `,"awslogs-stream-prefix":"ecs","awslogs-datetime-format":"%Y-%m-%d","awslogs-multiline-pattern":"^INFO"}}`,
			"You cannot configure both the awslogs-datetime-format and awslogs-multiline-pattern options"},
		{"secret option valueFrom", `{"logDriver":"splunk","options":{"splunk-url":"https://splunk:8088"},"secretOptions":[{"name":"splunk-token","valueFrom":"arn:aws:s3:::bucket/token"}]}`,
			"'logConfiguration.secretOptions' valueFrom 'arn:aws:s3:::bucket/token' must be the ARN of a Secrets Manager secret"},
		{"fargate driver", `{"logDriver":"json-file"}`,
			"Tasks using the Fargate launch type do not support log driver 'json-file'. Valid values are: awslogs, splunk, awsfirelens."},
	}
	for _, tt := range refused {
		stderr := cli.fail("ClientException", register(tt.lc)...)
		if !strings.Contains(stderr, tt.msg) {
			t.Errorf("%s: stderr does not contain %q:\n%s", tt.name, tt.msg, stderr)
		}
	}

	// Every option ECS knows registers, and reads back as given.
	opts := map[string]string{"awslogs-group": "/ecs/logcfg", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs",
		"awslogs-create-group": "true", "awslogs-datetime-format": `\[%b %d, %Y %H:%M:%S\]`, "awslogs-endpoint": "https://logs.us-east-1.amazonaws.com",
		"mode": "non-blocking", "max-buffer-size": "25m"}
	lc, err := json.Marshal(map[string]any{"logDriver": "awslogs", "options": opts})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		TaskDefinition struct {
			TaskDefinitionArn    string `json:"taskDefinitionArn"`
			ContainerDefinitions []struct {
				LogConfiguration struct {
					LogDriver string            `json:"logDriver"`
					Options   map[string]string `json:"options"`
				} `json:"logConfiguration"`
			} `json:"containerDefinitions"`
		} `json:"taskDefinition"`
	}
	cli.json(&out, register(string(lc))...)
	if got := out.TaskDefinition.ContainerDefinitions[0].LogConfiguration; got.LogDriver != "awslogs" || !maps.Equal(got.Options, opts) {
		t.Errorf("registered logConfiguration %+v, want awslogs with %v", got, opts)
	}
	awslogsARN := out.TaskDefinition.TaskDefinitionArn

	// splunk registers, as on ECS; a task from it is refused before anything is placed.
	cli.json(&out, register(`{"logDriver":"splunk","options":{"splunk-url":"https://splunk:8088"},"secretOptions":[{"name":"splunk-token","valueFrom":"/splunk/token"}]}`)...)
	network := networkJSON(cli)
	stderr := cli.fail("UnsupportedFeatureException", "ecs", "run-task", "--task-definition", out.TaskDefinition.TaskDefinitionArn,
		"--launch-type", "FARGATE", "--network-configuration", network)
	if want := "Container 'app' uses log driver 'splunk', which gantry does not support"; !strings.Contains(stderr, want) {
		t.Errorf("run-task of a splunk definition: stderr does not contain %q:\n%s", want, stderr)
	}

	// An unreadable cpu override: ClientException, worded as for a definition.
	stderr = cli.fail("ClientException", "ecs", "run-task", "--task-definition", awslogsARN, "--launch-type", "FARGATE",
		"--network-configuration", network, "--overrides", `{"cpu":"lots"}`)
	if want := "Invalid 'cpu' setting for task: 'lots' (overrides.cpu)"; !strings.Contains(stderr, want) {
		t.Errorf("run-task with cpu override 'lots': stderr does not contain %q:\n%s", want, stderr)
	}
	var listed struct {
		TaskArns []string `json:"taskArns"`
	}
	cli.json(&listed, "ecs", "list-tasks")
	if len(listed.TaskArns) != 0 {
		t.Errorf("refused run-tasks left tasks: %v", listed.TaskArns)
	}
}
