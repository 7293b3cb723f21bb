package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCLITaskQueries drives the task API's request shapes through the aws CLI against real
// tasks: RunTask with count, startedBy, tags and propagateTags, a clientToken retried and then
// reused with other parameters, ListTasks filters (alone, combined as ECS refuses, paginated
// with the CLI's own paginator), DescribeTasks with include TAGS and failures, and the
// tasks-running waiter's failure on a MISSING task.
func TestCLITaskQueries(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	cli := newCLI(t, s)
	ref, _ := appImage(t, s)
	path := filepath.Join(t.TempDir(), "td.json")
	td := fmt.Sprintf(`{"family":"queries","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",
		"containerDefinitions":[{"name":"app","image":%q,"command":["sleep","600"]}],"tags":[{"key":"from","value":"definition"}]}`, ref)
	if err := os.WriteFile(path, []byte(td), 0o600); err != nil {
		t.Fatal(err)
	}
	cli.json(nil, "ecs", "register-task-definition", "--cli-input-json", "file://"+path)
	network := networkJSON(cli)

	type runOut struct {
		Tasks []struct {
			TaskArn   string `json:"taskArn"`
			StartedBy string `json:"startedBy"`
			Group     string `json:"group"`
		} `json:"tasks"`
		Failures []any `json:"failures"`
	}
	runArgs := []string{"ecs", "run-task", "--task-definition", "queries", "--launch-type", "FARGATE", "--count", "3",
		"--started-by", "nightly-7", "--tags", "key=run,value=cli", "--propagate-tags", "TASK_DEFINITION",
		"--client-token", "queries-token-1", "--network-configuration", network}
	var run runOut
	cli.json(&run, runArgs...)
	if len(run.Tasks) != 3 || len(run.Failures) != 0 {
		t.Fatalf("run-task --count 3: %d tasks, failures %v", len(run.Tasks), run.Failures)
	}
	var arns []string
	for _, task := range run.Tasks {
		if task.StartedBy != "nightly-7" || task.Group != "family:queries" {
			t.Errorf("task %s: startedBy %q group %q, want nightly-7 and family:queries", task.TaskArn, task.StartedBy, task.Group)
		}
		arns = append(arns, task.TaskArn)
	}
	slices.Sort(arns)

	t.Run("clientToken", func(t *testing.T) {
		var again runOut
		cli.json(&again, runArgs...)
		var got []string
		for _, task := range again.Tasks {
			got = append(got, task.TaskArn)
		}
		if slices.Sort(got); !slices.Equal(got, arns) {
			t.Fatalf("a retried run-task with the same clientToken answered %v, want the first call's %v", got, arns)
		}
		other := slices.Clone(runArgs)
		other[slices.Index(other, "--count")+1] = "2"
		stderr := cli.fail("ConflictException", other...)
		if !strings.Contains(stderr, "queries-token-1") || !strings.Contains(stderr, arns[0]) {
			t.Fatalf("the reused clientToken's message must name the token and the tasks it started: %s", stderr)
		}
	})

	cli.json(nil, append([]string{"ecs", "wait", "tasks-running", "--tasks"}, arns...)...)

	listTasks := func(args ...string) []string {
		t.Helper()
		var out struct {
			TaskArns []string `json:"taskArns"`
		}
		cli.json(&out, append([]string{"ecs", "list-tasks"}, args...)...)
		return slices.Sorted(slices.Values(out.TaskArns))
	}
	t.Run("ListTasks", func(t *testing.T) {
		for _, args := range [][]string{
			{"--family", "queries"}, {"--started-by", "nightly-7"}, {"--started-by", "nightly-7", "--desired-status", "RUNNING"},
			{"--family", "queries", "--launch-type", "FARGATE"},
			{"--page-size", "1"}, // the CLI follows nextToken, one task a page
		} {
			if got := listTasks(args...); !slices.Equal(got, arns) {
				t.Errorf("list-tasks %v = %v, want %v", args, got, arns)
			}
		}
		for _, args := range [][]string{{"--family", "other"}, {"--started-by", "nobody"}, {"--desired-status", "STOPPED"}} {
			if got := listTasks(args...); len(got) != 0 {
				t.Errorf("list-tasks %v = %v, want none", args, got)
			}
		}
		var page struct {
			TaskArns  []string `json:"taskArns"`
			NextToken string   `json:"nextToken"`
		}
		cli.json(&page, "ecs", "list-tasks", "--max-items", "2")
		if len(page.TaskArns) != 2 || page.NextToken == "" {
			t.Errorf("list-tasks --max-items 2 = %+v, want two tasks and a token", page)
		}
		for _, tt := range []struct {
			args []string
			code string
			msg  string
		}{
			{[]string{"--started-by", "nightly-7", "--family", "queries"}, "InvalidParameterException", "cannot specify startedBy with other arguments"},
			{[]string{"--service-name", "web", "--family", "queries"}, "InvalidParameterException", "cannot specify serviceName with other arguments"},
			{[]string{"--service-name", "web"}, "ServiceNotFoundException", "Service not found."},
			{[]string{"--desired-status", "DONE"}, "InvalidParameterException", "desiredStatus"},
		} {
			if stderr := cli.fail(tt.code, append([]string{"ecs", "list-tasks"}, tt.args...)...); !strings.Contains(stderr, tt.msg) {
				t.Errorf("list-tasks %v: %s, want %q", tt.args, stderr, tt.msg)
			}
		}
	})

	t.Run("DescribeTasks", func(t *testing.T) {
		type tag struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		}
		var out struct {
			Tasks []struct {
				TaskArn string `json:"taskArn"`
				Tags    []tag  `json:"tags"`
			} `json:"tasks"`
			Failures []struct {
				Arn    string `json:"arn"`
				Reason string `json:"reason"`
			} `json:"failures"`
		}
		missing := strings.Repeat("0", 32)
		cli.json(&out, "ecs", "describe-tasks", "--tasks", arns[0], missing, "--include", "TAGS")
		if len(out.Tasks) != 1 || len(out.Failures) != 1 || out.Failures[0].Reason != "MISSING" || !strings.HasSuffix(out.Failures[0].Arn, "/"+missing) {
			t.Fatalf("describe-tasks of one task and one unknown id = %+v", out)
		}
		got := out.Tasks[0].Tags
		slices.SortFunc(got, func(a, b tag) int { return strings.Compare(a.Key, b.Key) })
		if want := []tag{{"from", "definition"}, {"run", "cli"}}; !slices.Equal(got, want) {
			t.Errorf("tags with --include TAGS = %v, want the definition's propagated and the run's: %v", got, want)
		}
		var plain struct {
			Tasks []struct {
				Tags []tag `json:"tags"`
			} `json:"tasks"`
		}
		cli.json(&plain, "ecs", "describe-tasks", "--tasks", arns[0])
		if len(plain.Tasks) != 1 || plain.Tasks[0].Tags != nil {
			t.Errorf("describe-tasks without --include TAGS = %+v, want one task without tags", plain.Tasks)
		}
		// The CLI's tasks-running waiter fails at once on a MISSING task rather than waiting.
		if _, stderr, err := cli.run("ecs", "wait", "tasks-running", "--tasks", missing); err == nil || !strings.Contains(stderr, "failure") {
			t.Errorf("wait tasks-running on an unknown task: %v %s, want the waiter's terminal failure", err, stderr)
		}
	})

	for _, arn := range arns {
		cli.json(nil, "ecs", "stop-task", "--task", arn)
	}
	cli.json(nil, append([]string{"ecs", "wait", "tasks-stopped", "--tasks"}, arns...)...)
	if got := listTasks("--desired-status", "STOPPED", "--started-by", "nightly-7"); !slices.Equal(got, arns) {
		t.Errorf("list-tasks of stopped tasks = %v, want %v", got, arns)
	}
}
