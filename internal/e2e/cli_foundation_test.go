package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// cliClusterDetail is a cluster as describe-clusters shows it with its optional parts.
type cliClusterDetail struct {
	ClusterName       string
	Status            string
	Settings          []struct{ Name, Value string }
	Statistics        []struct{ Name, Value string }
	CapacityProviders []string
	Configuration     *struct {
		ExecuteCommandConfiguration struct{ Logging string }
	}
	DefaultCapacityProviderStrategy []struct {
		CapacityProvider string
		Weight, Base     int
	}
}

// TestCLIClusterSettingsCapacityAndPages drives the cluster operations beyond create and
// delete with the aws CLI: the default cluster on first use, settings and include, update,
// the Fargate capacity providers, and list-clusters pages.
func TestCLIClusterSettingsCapacityAndPages(t *testing.T) {
	t.Parallel()
	aws := newCLI(t, startServer(t, ""))

	var described struct {
		Clusters []cliClusterDetail
		Failures []cliFailure
	}
	aws.json(&described, "ecs", "describe-clusters")
	if len(described.Clusters) != 1 || described.Clusters[0].ClusterName != "default" || described.Clusters[0].Status != "ACTIVE" {
		t.Errorf("describe-clusters without names: %+v, want the default cluster, ACTIVE on first use", described)
	}

	aws.json(nil, "ecs", "create-cluster", "--cluster-name", "web", "--settings", "name=containerInsights,value=enabled")
	var plain struct{ Clusters []cliClusterDetail }
	aws.json(&plain, "ecs", "describe-clusters", "--clusters", "web")
	if c := plain.Clusters[0]; c.Settings != nil || c.Statistics != nil {
		t.Errorf("describe-clusters without include shows settings %v statistics %v", c.Settings, c.Statistics)
	}
	aws.json(&described, "ecs", "describe-clusters", "--clusters", "web", "--include", "SETTINGS", "STATISTICS")
	c := described.Clusters[0]
	if len(c.Settings) != 1 || c.Settings[0].Name != "containerInsights" || c.Settings[0].Value != "enabled" {
		t.Errorf("--include SETTINGS: %+v, want containerInsights enabled", c.Settings)
	}
	if i := slices.IndexFunc(c.Statistics, func(s struct{ Name, Value string }) bool { return s.Name == "runningFargateTasksCount" }); i < 0 || c.Statistics[i].Value != "0" {
		t.Errorf("--include STATISTICS: %+v, want runningFargateTasksCount 0", c.Statistics)
	}
	aws.fail("InvalidParameterException", "ecs", "describe-clusters", "--include", "EVERYTHING")

	var updated struct{ Cluster cliClusterDetail }
	aws.json(&updated, "ecs", "update-cluster-settings", "--cluster", "web", "--settings", "name=containerInsights,value=disabled")
	if s := updated.Cluster.Settings; len(s) != 1 || s[0].Value != "disabled" {
		t.Errorf("update-cluster-settings: settings %+v, want containerInsights disabled", s)
	}
	stderr := aws.fail("InvalidParameterException", "ecs", "update-cluster-settings", "--cluster", "web", "--settings", "name=containerInsights,value=maybe")
	if !strings.Contains(stderr, "enabled, disabled, enhanced") {
		t.Errorf("update-cluster-settings with a bad value does not name the valid ones:\n%s", stderr)
	}
	aws.fail("ClusterNotFoundException", "ecs", "update-cluster-settings", "--cluster", "nope", "--settings", "name=containerInsights,value=enabled")
	aws.json(&updated, "ecs", "update-cluster", "--cluster", "web", "--configuration", "executeCommandConfiguration={logging=DEFAULT}")
	if cf := updated.Cluster.Configuration; cf == nil || cf.ExecuteCommandConfiguration.Logging != "DEFAULT" {
		t.Errorf("update-cluster --configuration: %+v, want executeCommandConfiguration logging DEFAULT", cf)
	}

	aws.json(&updated, "ecs", "put-cluster-capacity-providers", "--cluster", "web", "--capacity-providers", "FARGATE", "FARGATE_SPOT",
		"--default-capacity-provider-strategy", "capacityProvider=FARGATE_SPOT,weight=3,base=1")
	if cp, s := updated.Cluster.CapacityProviders, updated.Cluster.DefaultCapacityProviderStrategy; !slices.Equal(cp, []string{"FARGATE", "FARGATE_SPOT"}) ||
		len(s) != 1 || s[0].CapacityProvider != "FARGATE_SPOT" || s[0].Weight != 3 || s[0].Base != 1 {
		t.Errorf("put-cluster-capacity-providers: providers %v strategy %+v", cp, s)
	}
	aws.fail("InvalidParameterException", "ecs", "put-cluster-capacity-providers", "--cluster", "web", "--capacity-providers", "EC2_SPOT",
		"--default-capacity-provider-strategy", "capacityProvider=EC2_SPOT,weight=1")
	var providers struct {
		CapacityProviders []struct{ Name, Status string }
	}
	aws.json(&providers, "ecs", "describe-capacity-providers")
	var names []string
	for _, p := range providers.CapacityProviders {
		names = append(names, p.Name+"/"+p.Status)
	}
	if slices.Sort(names); !slices.Equal(names, []string{"FARGATE/ACTIVE", "FARGATE_SPOT/ACTIVE"}) {
		t.Errorf("describe-capacity-providers: %v, want FARGATE and FARGATE_SPOT, ACTIVE", names)
	}

	// Seven clusters in all; the CLI follows nextToken through pages of two.
	var want []string
	for _, n := range []string{"default", "web", "a1", "a2", "a3", "a4", "a5"} {
		if n != "default" && n != "web" {
			aws.json(nil, "ecs", "create-cluster", "--cluster-name", n)
		}
		want = append(want, clusterARNPrefix+n)
	}
	slices.Sort(want)
	var listed struct {
		ClusterArns []string
		NextToken   string
	}
	aws.json(&listed, "ecs", "list-clusters", "--page-size", "2")
	if got := slices.Sorted(slices.Values(listed.ClusterArns)); !slices.Equal(got, want) {
		t.Errorf("list-clusters --page-size 2: %v, want %v", got, want)
	}
	var seen []string
	token := ""
	for page := 0; page < 10; page++ {
		args := []string{"ecs", "list-clusters", "--max-items", "3"}
		if token != "" {
			args = append(args, "--starting-token", token)
		}
		var page struct {
			ClusterArns []string
			NextToken   string
		}
		aws.json(&page, args...)
		seen = append(seen, page.ClusterArns...)
		if token = page.NextToken; token == "" {
			break
		}
	}
	if slices.Sort(seen); !slices.Equal(seen, want) {
		t.Errorf("list-clusters --max-items 3 page by page: %v, want each of %v once", seen, want)
	}
	stderr = aws.fail("InvalidParameterException", "ecs", "list-clusters", "--page-size", "101")
	if !strings.Contains(stderr, "maxResults") {
		t.Errorf("list-clusters --page-size 101 does not name maxResults:\n%s", stderr)
	}
	aws.fail("InvalidParameterException", "ecs", "list-clusters", "--starting-token", "bm90LWEtdG9rZW4")
}

// TestCLITaskDefinitionLifecycleAndTags goes through the rest of a task definition's life with
// the aws CLI: size forms normalised, tags at registration and after, lookups by family,
// family:revision and ARN, families, deregistration and deletion.
func TestCLITaskDefinitionLifecycleAndTags(t *testing.T) {
	t.Parallel()
	aws := newCLI(t, startServer(t, ""))
	containers := `[{"name":"api","image":"123456789.dkr.ecr.us-east-1.amazonaws.com/api:latest","portMappings":[{"containerPort":8080}]}]`
	register := func(family string, extra ...string) map[string]any {
		var out struct{ TaskDefinition map[string]any }
		aws.json(&out, append([]string{"ecs", "register-task-definition", "--family", family, "--network-mode", "awsvpc",
			"--requires-compatibilities", "FARGATE", "--cpu", "1 vCPU", "--memory", "2GB", "--container-definitions", containers}, extra...)...)
		return out.TaskDefinition
	}
	td := register("api-service", "--tags", "key=team,value=core")
	if td["cpu"] != "1024" || td["memory"] != "2048" {
		t.Errorf("register with cpu '1 vCPU' memory '2GB': cpu %v memory %v, want 1024 and 2048", td["cpu"], td["memory"])
	}
	register("api-service")
	register("api-worker")
	arn1 := taskDefARNPrefix + "api-service:1"

	var described struct {
		TaskDefinition map[string]any
		Tags           []cliTag
	}
	aws.json(&described, "ecs", "describe-task-definition", "--task-definition", arn1, "--include", "TAGS")
	if described.TaskDefinition["revision"] != float64(1) || !slices.Equal(described.Tags, []cliTag{{"team", "core"}}) {
		t.Errorf("describe-task-definition by ARN with TAGS: revision %v tags %+v", described.TaskDefinition["revision"], described.Tags)
	}
	var latest struct {
		TaskDefinition map[string]any
		Tags           []cliTag
	}
	aws.json(&latest, "ecs", "describe-task-definition", "--task-definition", "api-service")
	if latest.TaskDefinition["revision"] != float64(2) || latest.Tags != nil {
		t.Errorf("describe-task-definition by family: revision %v tags %v, want the latest (2) and no tags", latest.TaskDefinition["revision"], latest.Tags)
	}

	aws.json(nil, "ecs", "tag-resource", "--resource-arn", arn1, "--tags", "key=env,value=prod")
	aws.json(nil, "ecs", "untag-resource", "--resource-arn", arn1, "--tag-keys", "team")
	var tagged struct{ Tags []cliTag }
	aws.json(&tagged, "ecs", "list-tags-for-resource", "--resource-arn", arn1)
	if !slices.Equal(tagged.Tags, []cliTag{{"env", "prod"}}) {
		t.Errorf("list-tags-for-resource after tag and untag: %+v, want env=prod", tagged.Tags)
	}
	aws.fail("ClientException", "ecs", "tag-resource", "--resource-arn", taskDefARNPrefix+"api-service:9", "--tags", "key=a,value=b")

	var families struct{ Families []string }
	aws.json(&families, "ecs", "list-task-definition-families", "--family-prefix", "api-s")
	if !slices.Equal(families.Families, []string{"api-service"}) {
		t.Errorf("list-task-definition-families --family-prefix api-s: %v", families.Families)
	}
	aws.json(&families, "ecs", "list-task-definition-families")
	if !slices.Equal(families.Families, []string{"api-service", "api-worker"}) {
		t.Errorf("list-task-definition-families: %v", families.Families)
	}

	var deregistered struct{ TaskDefinition map[string]any }
	aws.json(&deregistered, "ecs", "deregister-task-definition", "--task-definition", "api-service:1")
	if deregistered.TaskDefinition["status"] != "INACTIVE" || deregistered.TaskDefinition["deregisteredAt"] == nil {
		t.Errorf("deregister-task-definition: status %v deregisteredAt %v", deregistered.TaskDefinition["status"], deregistered.TaskDefinition["deregisteredAt"])
	}
	aws.json(&described, "ecs", "describe-task-definition", "--task-definition", "api-service:1")
	if described.TaskDefinition["status"] != "INACTIVE" {
		t.Errorf("an INACTIVE revision describes as %v", described.TaskDefinition["status"])
	}
	var deleted struct {
		TaskDefinitions []map[string]any
		Failures        []cliFailure
	}
	aws.json(&deleted, "ecs", "delete-task-definitions", "--task-definitions", "api-service:1", "api-service:2")
	if len(deleted.TaskDefinitions) != 1 || deleted.TaskDefinitions[0]["status"] != "DELETE_IN_PROGRESS" ||
		len(deleted.Failures) != 1 || deleted.Failures[0].Arn != taskDefARNPrefix+"api-service:2" {
		t.Errorf("delete-task-definitions of an INACTIVE and an ACTIVE revision: %+v", deleted)
	}
	var listed struct{ TaskDefinitionArns []string }
	aws.json(&listed, "ecs", "list-task-definitions", "--status", "DELETE_IN_PROGRESS")
	if !slices.Equal(listed.TaskDefinitionArns, []string{arn1}) {
		t.Errorf("list-task-definitions --status DELETE_IN_PROGRESS: %v", listed.TaskDefinitionArns)
	}
	aws.fail("ClientException", "ecs", "deregister-task-definition", "--task-definition", "api-service")
}

// TestCLITaskDefinitionRejections sends definitions Fargate refuses through the aws CLI: each
// is ECS's error code, and the message names the field and what is allowed.
func TestCLITaskDefinitionRejections(t *testing.T) {
	t.Parallel()
	aws := newCLI(t, startServer(t, ""))
	base := func(family, networkMode, cpu, memory, container string) []string {
		return []string{"ecs", "register-task-definition", "--family", family, "--network-mode", networkMode,
			"--requires-compatibilities", "FARGATE", "--cpu", cpu, "--memory", memory, "--container-definitions", "[" + container + "]"}
	}
	const api = `{"name":"api","image":"nginx"%s}`
	tests := []struct {
		name, code string
		args       []string
		want       []string // in the message
	}{
		{"bridge on Fargate", "ClientException", base("a", "bridge", "512", "1024", fmt.Sprintf(api, "")), []string{"awsvpc"}},
		{"size pair", "ClientException", base("a", "awsvpc", "256", "4096", fmt.Sprintf(api, "")), []string{"256 CPU, 4096 memory", "512, 1024, 2048"}},
		{"cpu form", "ClientException", base("a", "awsvpc", "lots", "1024", fmt.Sprintf(api, "")), []string{"Invalid 'cpu' setting for task", "1 vCPU"}},
		{"stopTimeout", "ClientException", base("a", "awsvpc", "512", "1024", fmt.Sprintf(api, `,"stopTimeout":121`)), []string{"stopTimeout", "between 2 and 120"}},
		{"healthCheck interval", "ClientException", base("a", "awsvpc", "512", "1024", fmt.Sprintf(api, `,"healthCheck":{"command":["CMD","true"],"interval":1}`)),
			[]string{"healthCheck.interval", "between 5 and 300"}},
		{"dependsOn condition", "ClientException", base("a", "awsvpc", "512", "1024",
			fmt.Sprintf(api, `,"dependsOn":[{"containerName":"init","condition":"RUNNING"}]},{"name":"init","image":"busybox","essential":false`)),
			[]string{"RUNNING", "START, COMPLETE, SUCCESS, HEALTHY"}},
		{"host port in awsvpc", "ClientException", base("a", "awsvpc", "512", "1024", fmt.Sprintf(api, `,"portMappings":[{"containerPort":80,"hostPort":8080}]`)),
			[]string{"host ports and container ports"}},
		{"privileged", "ClientException", base("a", "awsvpc", "512", "1024", fmt.Sprintf(api, `,"privileged":true`)), []string{"privileged"}},
		{"linuxParameters devices", "ClientException", base("a", "awsvpc", "512", "1024", fmt.Sprintf(api, `,"linuxParameters":{"devices":[{"hostPath":"/dev/fuse"}]}`)),
			[]string{"linuxParameters.devices"}},
		{"ulimit name", "ClientException", base("a", "awsvpc", "512", "1024", fmt.Sprintf(api, `,"ulimits":[{"name":"files","softLimit":1,"hardLimit":1}]`)),
			[]string{"files", "nofile"}},
		{"network mode value", "InvalidParameterException", base("a", "nat", "512", "1024", fmt.Sprintf(api, "")), []string{"nat", "bridge, host, awsvpc, none"}},
		{"tag key", "InvalidParameterException", append(base("a", "awsvpc", "512", "1024", fmt.Sprintf(api, "")), "--tags", "key=aws:owner,value=me"), []string{"aws:"}},
	}
	for _, tt := range tests {
		stderr := aws.fail(tt.code, tt.args...)
		for _, w := range tt.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: the message does not contain %q:\n%s", tt.name, w, stderr)
			}
		}
	}
	var listed struct{ TaskDefinitionArns []string }
	aws.json(&listed, "ecs", "list-task-definitions")
	if len(listed.TaskDefinitionArns) != 0 {
		t.Errorf("rejected task definitions were stored: %v", listed.TaskDefinitionArns)
	}
}
