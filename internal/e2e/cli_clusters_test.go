package e2e

import (
	"slices"
	"strings"
	"testing"
)

const clusterARNPrefix = "arn:aws:ecs:us-east-1:000000000000:cluster/"

type cliCluster struct {
	ClusterArn  string   `json:"clusterArn"`
	ClusterName string   `json:"clusterName"`
	Status      string   `json:"status"`
	Tags        []cliTag `json:"tags"`
}

type cliTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type cliFailure struct {
	Arn    string `json:"arn"`
	Reason string `json:"reason"`
}

func TestCLIClusters(t *testing.T) {
	t.Parallel()
	aws := newCLI(t, startServer(t, ""))

	var created struct{ Cluster cliCluster }
	aws.json(&created, "ecs", "create-cluster", "--cluster-name", "web", "--tags", "key=team,value=core")
	want := cliCluster{ClusterArn: clusterARNPrefix + "web", ClusterName: "web", Status: "ACTIVE"}
	if c := created.Cluster; c.ClusterArn != want.ClusterArn || c.ClusterName != want.ClusterName || c.Status != want.Status {
		t.Fatalf("create-cluster: got %+v, want %+v", c, want)
	}

	var described struct {
		Clusters []cliCluster
		Failures []cliFailure
	}
	aws.json(&described, "ecs", "describe-clusters", "--clusters", "web", "nope", "--include", "TAGS")
	if len(described.Clusters) != 1 || described.Clusters[0].ClusterArn != want.ClusterArn {
		t.Errorf("describe-clusters: clusters %+v, want only %s", described.Clusters, want.ClusterArn)
	} else if tags := described.Clusters[0].Tags; !slices.Equal(tags, []cliTag{{"team", "core"}}) {
		t.Errorf("describe-clusters --include TAGS: tags %+v, want team=core", tags)
	}
	wantFailure := cliFailure{Arn: clusterARNPrefix + "nope", Reason: "MISSING"}
	if !slices.Equal(described.Failures, []cliFailure{wantFailure}) {
		t.Errorf("describe-clusters: failures %+v, want %+v", described.Failures, wantFailure)
	}

	aws.json(nil, "ecs", "create-cluster", "--cluster-name", "batch")
	var listed struct{ ClusterArns []string }
	aws.json(&listed, "ecs", "list-clusters")
	slices.Sort(listed.ClusterArns)
	if wantARNs := []string{clusterARNPrefix + "batch", clusterARNPrefix + "web"}; !slices.Equal(listed.ClusterArns, wantARNs) {
		t.Errorf("list-clusters: got %v, want %v", listed.ClusterArns, wantARNs)
	}

	aws.json(nil, "ecs", "tag-resource", "--resource-arn", want.ClusterArn, "--tags", "key=env,value=prod")
	var tagged struct{ Tags []cliTag }
	aws.json(&tagged, "ecs", "list-tags-for-resource", "--resource-arn", want.ClusterArn)
	slices.SortFunc(tagged.Tags, func(a, b cliTag) int { return strings.Compare(a.Key, b.Key) })
	if wantTags := []cliTag{{"env", "prod"}, {"team", "core"}}; !slices.Equal(tagged.Tags, wantTags) {
		t.Errorf("list-tags-for-resource: got %+v, want %+v", tagged.Tags, wantTags)
	}

	var deleted struct{ Cluster cliCluster }
	aws.json(&deleted, "ecs", "delete-cluster", "--cluster", "batch")
	if deleted.Cluster.Status != "INACTIVE" || deleted.Cluster.ClusterArn != clusterARNPrefix+"batch" {
		t.Errorf("delete-cluster: got %+v, want batch INACTIVE", deleted.Cluster)
	}
	aws.json(&listed, "ecs", "list-clusters")
	if wantARNs := []string{clusterARNPrefix + "web"}; !slices.Equal(listed.ClusterArns, wantARNs) {
		t.Errorf("list-clusters after delete-cluster: got %v, want %v", listed.ClusterArns, wantARNs)
	}
}

func TestCLIClusterErrors(t *testing.T) {
	t.Parallel()
	aws := newCLI(t, startServer(t, ""))
	stderr := aws.fail("ClusterNotFoundException", "ecs", "delete-cluster", "--cluster", "nope")
	if !strings.Contains(stderr, "DeleteCluster operation") {
		t.Errorf("stderr does not name the operation:\n%s", stderr)
	}
	aws.fail("InvalidParameterException", "ecs", "create-cluster", "--cluster-name", "not a valid name!")
	aws.fail("ClientException", "ecs", "describe-task-definition", "--task-definition", "nope:1")
}
