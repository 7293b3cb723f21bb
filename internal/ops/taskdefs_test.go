package ops

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

func newTaskDefOps(t *testing.T) *ECS {
	t.Helper()
	cli, prefix := testutil.Etcd(t)
	e := NewECS(store.New(cli, prefix), logx.Discard())
	e.SetClock(func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) })
	return e
}

func TestRegisterTaskDefinitionAddsWhatECSAdds(t *testing.T) {
	e := newTaskDefOps(t)
	in := fargateTD()
	in.CPU, in.Memory, in.ExecutionRoleArn = "0.5 vCPU", "1GB", "arn:aws:iam::000000000000:role/exec"
	td, err := e.RegisterTaskDefinition(t.Context(), in, []model.Tag{{Key: "team", Value: "a"}})
	if err != nil {
		t.Fatal(err)
	}
	if td.Revision != 1 || td.Status != model.TaskDefinitionActive || td.CPU != "512" || td.Memory != "1024" {
		t.Errorf("registered = rev %d %s cpu %s memory %s", td.Revision, td.Status, td.CPU, td.Memory)
	}
	if !slices.Equal(td.Compatibilities, []string{"EC2", "FARGATE"}) {
		t.Errorf("compatibilities = %v", td.Compatibilities)
	}
	if td.RegisteredBy != "arn:aws:iam::000000000000:root" || td.RegisteredAt.IsZero() {
		t.Errorf("registeredBy %q at %v", td.RegisteredBy, td.RegisteredAt)
	}
	c := td.ContainerDefinitions[0]
	if !*c.Essential || *c.PortMappings[0].HostPort != 8080 {
		t.Errorf("defaults not applied: essential %v hostPort %v", c.Essential, c.PortMappings[0].HostPort)
	}
	var names []string
	for _, a := range td.RequiresAttributes {
		names = append(names, a.Name)
	}
	for _, want := range []string{"com.amazonaws.ecs.capability.logging-driver.awslogs", "ecs.capability.execution-role-awslogs",
		"com.amazonaws.ecs.capability.docker-remote-api.1.19", "com.amazonaws.ecs.capability.ecr-auth",
		"ecs.capability.execution-role-ecr-pull", "ecs.capability.task-eni"} {
		if !slices.Contains(names, want) {
			t.Errorf("requiresAttributes %v lacks %s", names, want)
		}
	}
	if in.ContainerDefinitions[0].Essential != nil {
		t.Error("RegisterTaskDefinition changed the caller's containers")
	}
}

func TestDescribeDeregisterDeleteTaskDefinition(t *testing.T) {
	e := newTaskDefOps(t)
	ctx, sc := t.Context(), fargateTD().Scope
	for range 2 {
		if _, err := e.RegisterTaskDefinition(ctx, fargateTD(), []model.Tag{{Key: "k", Value: "v"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.DeregisterTaskDefinition(ctx, sc, "api-service"); apierr.Message(err) != apierr.Message(errRevisionRequired) {
		t.Errorf("deregister without revision: %v", err)
	}
	arn2 := model.TaskDefinitionARN(sc, "api-service", 2)
	td, err := e.DeregisterTaskDefinition(ctx, sc, arn2)
	if err != nil || td.Status != model.TaskDefinitionInactive || td.DeregisteredAt == nil {
		t.Fatalf("deregister = %s %v, %v", td.Status, td.DeregisteredAt, err)
	}
	latest, tags, err := e.DescribeTaskDefinition(ctx, sc, "api-service", true)
	if err != nil || latest.Revision != 1 || len(tags) != 1 {
		t.Fatalf("describe family = rev %d tags %v, %v; want latest ACTIVE 1", latest.Revision, tags, err)
	}
	if got, _, err := e.DescribeTaskDefinition(ctx, sc, "api-service:2", false); err != nil || got.Status != model.TaskDefinitionInactive {
		t.Fatalf("describe inactive = %s, %v", got.Status, err)
	}
	other := model.Scope{Account: "111111111111", Region: "us-east-1"}
	if _, _, err := e.DescribeTaskDefinition(ctx, other, arn2, false); apierr.KindOf(err) != apierr.Client {
		t.Errorf("describe across accounts: %v", err)
	}
	done, failures, err := e.DeleteTaskDefinitions(ctx, sc, []string{"api-service:1", arn2, "api-service:9"})
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 1 || done[0].Revision != 2 || done[0].Status != model.TaskDefinitionDeleteInProgress || done[0].DeleteRequestedAt == nil {
		t.Fatalf("deleted = %+v", done)
	}
	if len(failures) != 2 || failures[0].Reason != deleteActiveFailure || failures[1].Reason != deleteNotFoundFailure {
		t.Fatalf("failures = %+v", failures)
	}
	arns, _, err := e.ListTaskDefinitions(ctx, sc, ListTaskDefinitionsInput{Status: model.TaskDefinitionDeleteInProgress})
	if err != nil || !slices.Equal(arns, []string{arn2}) {
		t.Fatalf("list DELETE_IN_PROGRESS = %v, %v", arns, err)
	}
}

func TestListTaskDefinitionsPagesWithOpaqueTokens(t *testing.T) {
	e := newTaskDefOps(t)
	ctx, sc := t.Context(), fargateTD().Scope
	for _, fam := range []string{"b", "a", "b"} {
		td := fargateTD()
		td.Family = fam
		if _, err := e.RegisterTaskDefinition(ctx, td, nil); err != nil {
			t.Fatal(err)
		}
	}
	var all []string
	in := ListTaskDefinitionsInput{Sort: "DESC", MaxResults: new(2)}
	for {
		arns, next, err := e.ListTaskDefinitions(ctx, sc, in)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, arns...)
		if next == "" {
			break
		}
		in.NextToken = next
	}
	want := []string{model.TaskDefinitionARN(sc, "b", 2), model.TaskDefinitionARN(sc, "b", 1), model.TaskDefinitionARN(sc, "a", 1)}
	if !slices.Equal(all, want) {
		t.Fatalf("pages = %v, want %v", all, want)
	}
	bad := []ListTaskDefinitionsInput{{MaxResults: new(0)}, {MaxResults: new(101)}, {Status: "ALL"}, {Sort: "UP"}, {NextToken: "%%%"}}
	for _, in := range bad {
		if _, _, err := e.ListTaskDefinitions(ctx, sc, in); apierr.KindOf(err) != apierr.InvalidParameter {
			t.Errorf("ListTaskDefinitions(%+v) = %v, want InvalidParameter", in, err)
		}
	}
	if _, err := e.DeregisterTaskDefinition(ctx, sc, "a:1"); err != nil {
		t.Fatal(err)
	}
	for status, want := range map[string][]string{"ACTIVE": {"b"}, "INACTIVE": {"a"}, "ALL": {"a", "b"}} {
		fams, _, err := e.ListTaskDefinitionFamilies(ctx, sc, ListTaskDefinitionFamiliesInput{Status: status})
		if err != nil || !slices.Equal(fams, want) {
			t.Errorf("families %s = %v, %v; want %v", status, fams, err, want)
		}
	}
}

func TestTaskDefinitionTags(t *testing.T) {
	e := newTaskDefOps(t)
	ctx, sc := t.Context(), fargateTD().Scope
	td, err := e.RegisterTaskDefinition(ctx, fargateTD(), []model.Tag{{Key: "a", Value: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	arn := td.ARN()
	if err := e.TagTaskDefinition(ctx, sc, arn, []model.Tag{{Key: "a", Value: "2"}, {Key: "b", Value: "3"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.UntagTaskDefinition(ctx, sc, arn, []string{"b", "zz"}); err != nil {
		t.Fatal(err)
	}
	tags, err := e.TaskDefinitionTags(ctx, sc, arn)
	if err != nil || !slices.Equal(tags, []model.Tag{{Key: "a", Value: "2"}}) {
		t.Fatalf("tags = %v, %v", tags, err)
	}
	missing := model.TaskDefinitionARN(sc, "api-service", 7)
	if err := e.TagTaskDefinition(ctx, sc, missing, []model.Tag{{Key: "a"}}); !errors.Is(err, apierr.Client) {
		t.Errorf("tag missing revision: %v", err)
	}
	if _, err := e.TaskDefinitionTags(ctx, sc, "arn:aws:ecs:us-east-1:000000000000:task-definition/api-service"); !errors.Is(err, apierr.InvalidParameter) {
		t.Errorf("tags of ARN without revision: %v", err)
	}
}
