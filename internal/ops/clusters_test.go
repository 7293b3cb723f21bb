package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

var clTestScope = model.Scope{Account: model.DefaultAccount, Region: "us-east-1"}

// clTestECS returns operations over a fresh store prefix with a fixed clock.
func clTestECS(t *testing.T) *ECS {
	t.Helper()
	cli, prefix := testutil.Etcd(t)
	e := NewECS(store.New(cli, prefix), logx.Discard())
	e.SetClock(func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) })
	return e
}

// clWantErr fails unless err has kind k and its message contains msg.
func clWantErr(t *testing.T, err error, k apierr.Kind, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %s %q", k, msg)
	}
	if got := apierr.KindOf(err); got != k {
		t.Fatalf("kind = %q (%v), want %q", got, err, k)
	}
	if !strings.Contains(apierr.Message(err), msg) {
		t.Fatalf("message = %q, want it to contain %q", apierr.Message(err), msg)
	}
}

// clSetCounts makes clusterCounts answer n for every cluster until the test ends.
func clSetCounts(t *testing.T, e *ECS, n model.ClusterCounts) {
	t.Helper()
	e.countCluster = func(context.Context, model.Scope, string) (model.ClusterCounts, error) { return n, nil }
	t.Cleanup(func() { e.countCluster = nil })
}

func TestCreateClusterValidation(t *testing.T) {
	e := clTestECS(t)
	ctx := t.Context()
	tests := []struct {
		name string
		c    model.Cluster
		kind apierr.Kind
		msg  string
	}{
		{"bad name", model.Cluster{Name: "no spaces"}, apierr.InvalidParameter, "Cluster name can have up to 255 characters"},
		{"long name", model.Cluster{Name: strings.Repeat("a", 256)}, apierr.InvalidParameter, "up to 255 characters"},
		{"bad setting name", model.Cluster{Name: "a", Settings: []model.ClusterSetting{{Name: "foo", Value: "enabled"}}}, apierr.InvalidParameter, "Valid setting names are: containerInsights"},
		{"bad setting value", model.Cluster{Name: "a", Settings: []model.ClusterSetting{{Name: "containerInsights", Value: "on"}}}, apierr.InvalidParameter, "Valid values are: enabled, disabled, enhanced"},
		{"unknown provider", model.Cluster{Name: "a", CapacityProviders: []string{"EC2"}}, apierr.InvalidParameter, `capacity provider "EC2" does not exist`},
		{"strategy not associated", model.Cluster{Name: "a", CapacityProviders: []string{"FARGATE"},
			DefaultCapacityProviderStrategy: []model.CapacityProviderStrategyItem{{CapacityProvider: "FARGATE_SPOT", Weight: 1}}},
			apierr.InvalidParameter, "cannot contain a capacity provider that is not associated with the cluster"},
		{"bad logging", model.Cluster{Name: "a", Configuration: &model.ClusterConfiguration{ExecuteCommandLogging: "ALL"}}, apierr.InvalidParameter, "NONE, DEFAULT, OVERRIDE"},
		{"bad namespace", model.Cluster{Name: "a", ServiceConnectDefaultsNamespace: "a/b"}, apierr.InvalidParameter, "Service Connect namespace"},
		{"reserved tag", model.Cluster{Name: "a", Tags: []model.Tag{{Key: "aws:x", Value: "v"}}}, apierr.InvalidParameter, "reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.c.Scope = clTestScope
			_, err := e.CreateCluster(ctx, tt.c)
			clWantErr(t, err, tt.kind, tt.msg)
		})
	}
}

func TestCreateClusterDefaultsAndIdempotence(t *testing.T) {
	e := clTestECS(t)
	ctx := t.Context()
	d, err := e.CreateCluster(ctx, model.Cluster{Scope: clTestScope, Name: "web", Tags: []model.Tag{{Key: "team", Value: "a"}},
		CapacityProviders:               []string{"FARGATE", "FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []model.CapacityProviderStrategyItem{{CapacityProvider: "FARGATE", Weight: 1, Base: 2}},
		Configuration:                   &model.ClusterConfiguration{ExecuteCommandLogging: "DEFAULT"},
		ServiceConnectDefaultsNamespace: "ns"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != model.ClusterActive || d.Setting(model.SettingContainerInsights) != model.InsightsDisabled {
		t.Fatalf("created %+v, want ACTIVE with containerInsights disabled", d.Cluster)
	}
	if !d.Fields.Tags || !d.Fields.Settings || !d.Fields.Configurations || d.Fields.Statistics {
		t.Fatalf("fields = %+v", d.Fields)
	}
	again, err := e.CreateCluster(ctx, model.Cluster{Scope: clTestScope, Name: "web", Tags: []model.Tag{{Key: "other", Value: "b"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Tags) != 1 || again.Tags[0].Key != "team" || len(again.CapacityProviders) != 2 || again.ServiceConnectDefaultsNamespace != "ns" {
		t.Fatalf("second create = %+v, want the existing cluster unchanged", again.Cluster)
	}
	def, err := e.CreateCluster(ctx, model.Cluster{Scope: clTestScope})
	if err != nil || def.Name != DefaultClusterName {
		t.Fatalf("create without a name = %+v, %v; want the default cluster", def.Cluster, err)
	}
}

func TestDescribeClusters(t *testing.T) {
	e := clTestECS(t)
	ctx := t.Context()
	if _, err := e.CreateCluster(ctx, model.Cluster{Scope: clTestScope, Name: "a", Tags: []model.Tag{{Key: "k", Value: "v"}}}); err != nil {
		t.Fatal(err)
	}
	clSetCounts(t, e, model.ClusterCounts{RunningFargateTasks: 2, PendingEC2Tasks: 1, ActiveFargateServices: 3})
	tests := []struct {
		name     string
		refs     []string
		include  []string
		found    []string
		failures []string
		fields   ClusterFields
	}{
		{"by name", []string{"a"}, nil, []string{"a"}, nil, ClusterFields{}},
		{"by arn", []string{model.ClusterARN(clTestScope, "a")}, []string{"TAGS"}, []string{"a"}, nil, ClusterFields{Tags: true}},
		{"missing name and arn", []string{"nope", "arn:aws:ecs:us-east-1:000000000000:cluster/gone", "a"}, nil, []string{"a"},
			[]string{model.ClusterARN(clTestScope, "nope"), "arn:aws:ecs:us-east-1:000000000000:cluster/gone"}, ClusterFields{}},
		{"other region arn", []string{"arn:aws:ecs:eu-west-1:000000000000:cluster/a"}, nil, nil, []string{"arn:aws:ecs:eu-west-1:000000000000:cluster/a"}, ClusterFields{}},
		{"every field", []string{"a"}, []string{"ATTACHMENTS", "CONFIGURATIONS", "SETTINGS", "STATISTICS", "TAGS"}, []string{"a"}, nil,
			ClusterFields{Attachments: true, Configurations: true, Settings: true, Statistics: true, Tags: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			found, failures, err := e.DescribeClusters(ctx, clTestScope, tt.refs, tt.include)
			if err != nil {
				t.Fatal(err)
			}
			var names, fails []string
			for _, d := range found {
				names = append(names, d.Name)
				if d.Fields != tt.fields {
					t.Errorf("fields = %+v, want %+v", d.Fields, tt.fields)
				}
				if d.Counts.RunningTasks() != 2 || d.Counts.PendingTasks() != 1 || d.Counts.ActiveServices() != 3 {
					t.Errorf("counts = %+v", d.Counts)
				}
			}
			for _, f := range failures {
				if f.Reason != "MISSING" {
					t.Errorf("reason = %q", f.Reason)
				}
				fails = append(fails, f.ARN)
			}
			if fmt.Sprint(names) != fmt.Sprint(tt.found) || fmt.Sprint(fails) != fmt.Sprint(tt.failures) {
				t.Fatalf("found %v failures %v, want %v and %v", names, fails, tt.found, tt.failures)
			}
		})
	}
	_, _, err := e.DescribeClusters(ctx, clTestScope, []string{"a"}, []string{"EVERYTHING"})
	clWantErr(t, err, apierr.InvalidParameter, `include value "EVERYTHING" is not valid`)
	_, _, err = e.DescribeClusters(ctx, clTestScope, make([]string, 101), nil)
	clWantErr(t, err, apierr.InvalidParameter, "at most 100")
}

func TestDefaultClusterExistsOnFirstUse(t *testing.T) {
	e := clTestECS(t)
	ctx := t.Context()
	arns, _, err := e.ListClusters(ctx, clTestScope, nil, "")
	if err != nil || len(arns) != 0 {
		t.Fatalf("ListClusters before use = %v, %v; want nothing", arns, err)
	}
	found, failures, err := e.DescribeClusters(ctx, clTestScope, nil, nil)
	if err != nil || len(failures) != 0 || len(found) != 1 || found[0].Name != DefaultClusterName || found[0].Status != model.ClusterActive {
		t.Fatalf("DescribeClusters() = %+v, %+v, %v; want the default cluster", found, failures, err)
	}
	arns, _, err = e.ListClusters(ctx, clTestScope, nil, "")
	if err != nil || len(arns) != 1 || arns[0] != model.ClusterARN(clTestScope, "default") {
		t.Fatalf("ListClusters after use = %v, %v", arns, err)
	}
	// Deleting it leaves it INACTIVE; the next use brings it back.
	if _, err := e.DeleteCluster(ctx, clTestScope, "default"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.UpdateClusterSettings(ctx, clTestScope, "default", []model.ClusterSetting{{Name: "containerInsights", Value: "enabled"}}); err != nil {
		t.Fatal(err)
	}
	found, _, err = e.DescribeClusters(ctx, clTestScope, []string{"default"}, []string{"SETTINGS"})
	if err != nil || found[0].Status != model.ClusterActive || found[0].Setting("containerInsights") != "enabled" {
		t.Fatalf("default after reuse = %+v, %v", found, err)
	}
}

func TestListClustersPagination(t *testing.T) {
	e := clTestECS(t)
	ctx := t.Context()
	var want []string
	for i := range 25 {
		name := fmt.Sprintf("c%02d", i)
		if _, err := e.CreateCluster(ctx, model.Cluster{Scope: clTestScope, Name: name}); err != nil {
			t.Fatal(err)
		}
		want = append(want, model.ClusterARN(clTestScope, name))
	}
	// An inactive cluster in the middle and one in another region are not listed.
	if _, err := e.CreateCluster(ctx, model.Cluster{Scope: clTestScope, Name: "c10x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.DeleteCluster(ctx, clTestScope, "c10x"); err != nil {
		t.Fatal(err)
	}
	other := model.Scope{Account: model.DefaultAccount, Region: "eu-west-1"}
	if _, err := e.CreateCluster(ctx, model.Cluster{Scope: other, Name: "elsewhere"}); err != nil {
		t.Fatal(err)
	}
	ten := 10
	var got []string
	var pages []int
	tok := ""
	for {
		arns, next, err := e.ListClusters(ctx, clTestScope, &ten, tok)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, arns...)
		pages = append(pages, len(arns))
		if next == "" {
			break
		}
		tok = next
	}
	if fmt.Sprint(pages) != "[10 10 5]" || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("pages %v, got %v", pages, got)
	}
	all, next, err := e.ListClusters(ctx, clTestScope, nil, "")
	if err != nil || len(all) != 25 || next != "" {
		t.Fatalf("default page = %d items, next %q, %v", len(all), next, err)
	}
	for _, bad := range []int{0, 101, -1} {
		_, _, err := e.ListClusters(ctx, clTestScope, &bad, "")
		clWantErr(t, err, apierr.InvalidParameter, "maxResults must be between 1 and 100")
	}
	_, _, err = e.ListClusters(ctx, clTestScope, nil, "not-a-token")
	clWantErr(t, err, apierr.InvalidParameter, "nextToken")
}

func TestDeleteCluster(t *testing.T) {
	e := clTestECS(t)
	ctx := t.Context()
	if _, err := e.CreateCluster(ctx, model.Cluster{Scope: clTestScope, Name: "d", Tags: []model.Tag{{Key: "k", Value: "v"}}}); err != nil {
		t.Fatal(err)
	}
	t.Run("refused with services", func(t *testing.T) {
		clSetCounts(t, e, model.ClusterCounts{DrainingFargateServices: 1})
		_, err := e.DeleteCluster(ctx, clTestScope, "d")
		clWantErr(t, err, apierr.ClusterContainsServices, "The Cluster cannot be deleted while Services are active.")
	})
	t.Run("refused with tasks", func(t *testing.T) {
		clSetCounts(t, e, model.ClusterCounts{PendingFargateTasks: 1})
		_, err := e.DeleteCluster(ctx, clTestScope, model.ClusterARN(clTestScope, "d"))
		clWantErr(t, err, apierr.ClusterContainsTasks, "The Cluster cannot be deleted while Tasks are active.")
	})
	d, err := e.DeleteCluster(ctx, clTestScope, "d")
	if err != nil || d.Status != model.ClusterInactive {
		t.Fatalf("delete = %+v, %v", d, err)
	}
	found, _, err := e.DescribeClusters(ctx, clTestScope, []string{"d"}, nil)
	if err != nil || len(found) != 1 || found[0].Status != model.ClusterInactive {
		t.Fatalf("describe after delete = %+v, %v", found, err)
	}
	for _, tt := range []struct{ name, ref string }{{"again", "d"}, {"missing", "nope"}, {"other region", "arn:aws:ecs:eu-west-1:000000000000:cluster/d"}} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.DeleteCluster(ctx, clTestScope, tt.ref)
			clWantErr(t, err, apierr.ClusterNotFound, "Cluster not found.")
		})
	}
	_, err = e.DeleteCluster(ctx, clTestScope, "")
	clWantErr(t, err, apierr.InvalidParameter, "cluster can not be blank")
	for _, op := range []func() error{
		func() error {
			_, err := e.UpdateClusterSettings(ctx, clTestScope, "d", []model.ClusterSetting{{Name: "containerInsights", Value: "enabled"}})
			return err
		},
		func() error { _, err := e.PutClusterCapacityProviders(ctx, clTestScope, "d", nil, nil); return err },
		func() error {
			return e.TagResource(ctx, clTestScope, model.ClusterARN(clTestScope, "d"), []model.Tag{{Key: "a", Value: "b"}})
		},
	} {
		clWantErr(t, op(), apierr.ClusterNotFound, "Cluster not found.")
	}
	re, err := e.CreateCluster(ctx, model.Cluster{Scope: clTestScope, Name: "d"})
	if err != nil || re.Status != model.ClusterActive || len(re.Tags) != 0 {
		t.Fatalf("recreate = %+v, %v; want a fresh ACTIVE cluster", re.Cluster, err)
	}
}

func TestUpdateCluster(t *testing.T) {
	e := clTestECS(t)
	ctx := t.Context()
	if _, err := e.CreateCluster(ctx, model.Cluster{Scope: clTestScope, Name: "u", ServiceConnectDefaultsNamespace: "old"}); err != nil {
		t.Fatal(err)
	}
	ns := "svc.local"
	d, err := e.UpdateCluster(ctx, clTestScope, "u", ClusterUpdate{
		Settings:                []model.ClusterSetting{{Name: "containerInsights", Value: "enhanced"}},
		Configuration:           &model.ClusterConfiguration{ExecuteCommandLogging: "OVERRIDE", LogConfiguration: &model.ExecuteCommandLogConfiguration{CloudWatchLogGroupName: "g"}},
		ServiceConnectNamespace: &ns,
	})
	if err != nil {
		t.Fatal(err)
	}
	if d.Setting("containerInsights") != "enhanced" || len(d.Settings) != 1 || d.Configuration.LogConfiguration.CloudWatchLogGroupName != "g" || d.ServiceConnectDefaultsNamespace != ns {
		t.Fatalf("updated = %+v", d.Cluster)
	}
	empty := ""
	d, err = e.UpdateCluster(ctx, clTestScope, "u", ClusterUpdate{ServiceConnectNamespace: &empty})
	if err != nil || d.ServiceConnectDefaultsNamespace != "" || d.Configuration == nil {
		t.Fatalf("removing the namespace = %+v, %v", d.Cluster, err)
	}
	tests := []struct {
		name string
		run  func() error
		kind apierr.Kind
		msg  string
	}{
		{"missing cluster", func() error { _, err := e.UpdateCluster(ctx, clTestScope, "nope", ClusterUpdate{}); return err }, apierr.ClusterNotFound, "Cluster not found."},
		{"blank cluster", func() error { _, err := e.UpdateCluster(ctx, clTestScope, "", ClusterUpdate{}); return err }, apierr.InvalidParameter, "can not be blank"},
		{"bad setting", func() error {
			_, err := e.UpdateClusterSettings(ctx, clTestScope, "u", []model.ClusterSetting{{Name: "containerInsights", Value: "yes"}})
			return err
		}, apierr.InvalidParameter, "Valid values are"},
		{"no settings", func() error { _, err := e.UpdateClusterSettings(ctx, clTestScope, "u", nil); return err }, apierr.InvalidParameter, "settings can not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { clWantErr(t, tt.run(), tt.kind, tt.msg) })
	}
}

func TestPutClusterCapacityProviders(t *testing.T) {
	e := clTestECS(t)
	ctx := t.Context()
	if _, err := e.CreateCluster(ctx, model.Cluster{Scope: clTestScope, Name: "p"}); err != nil {
		t.Fatal(err)
	}
	type item = model.CapacityProviderStrategyItem
	both := []string{"FARGATE", "FARGATE_SPOT"}
	tests := []struct {
		name      string
		providers []string
		strategy  []item
		msg       string // "" for success
	}{
		{"both with strategy", both, []item{{CapacityProvider: "FARGATE", Weight: 1, Base: 1}, {CapacityProvider: "FARGATE_SPOT", Weight: 4}}, ""},
		{"none", []string{}, nil, ""},
		{"unknown provider", []string{"my-asg"}, nil, `capacity provider "my-asg" does not exist`},
		{"duplicate provider", []string{"FARGATE", "FARGATE"}, nil, "more than once"},
		{"not associated", []string{"FARGATE"}, []item{{CapacityProvider: "FARGATE_SPOT", Weight: 1}}, "not associated with the cluster"},
		{"weight too big", both, []item{{CapacityProvider: "FARGATE", Weight: 1001}}, "weight must be between 0 and 1000"},
		{"negative weight", both, []item{{CapacityProvider: "FARGATE", Weight: -1}}, "weight must be between 0 and 1000"},
		{"base too big", both, []item{{CapacityProvider: "FARGATE", Base: 100001}}, "base must be between 0 and 100000"},
		{"two bases", both, []item{{CapacityProvider: "FARGATE", Base: 1}, {CapacityProvider: "FARGATE_SPOT", Base: 2}}, "more than one capacity provider with a base"},
		{"duplicate item", both, []item{{CapacityProvider: "FARGATE"}, {CapacityProvider: "FARGATE"}}, "more than once"},
		{"blank item", both, []item{{Weight: 1}}, "can not be blank"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := e.PutClusterCapacityProviders(ctx, clTestScope, "p", tt.providers, tt.strategy)
			if tt.msg != "" {
				clWantErr(t, err, apierr.InvalidParameter, tt.msg)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(d.CapacityProviders) != fmt.Sprint(tt.providers) || fmt.Sprint(d.DefaultCapacityProviderStrategy) != fmt.Sprint(tt.strategy) {
				t.Fatalf("cluster = %+v", d.Cluster)
			}
		})
	}
	_, err := e.PutClusterCapacityProviders(ctx, clTestScope, "nope", both, nil)
	clWantErr(t, err, apierr.ClusterNotFound, "Cluster not found.")
}

func TestDescribeCapacityProviders(t *testing.T) {
	e := clTestECS(t)
	ctx := t.Context()
	if _, err := e.CreateCluster(ctx, model.Cluster{Scope: clTestScope, Name: "spot", CapacityProviders: []string{"FARGATE_SPOT"}}); err != nil {
		t.Fatal(err)
	}
	one, zero := 1, 0
	spotARN := "arn:aws:ecs:us-east-1:000000000000:capacity-provider/FARGATE_SPOT"
	tests := []struct {
		name     string
		in       DescribeCapacityProvidersInput
		found    string
		failures string
	}{
		{"all", DescribeCapacityProvidersInput{}, "[FARGATE FARGATE_SPOT]", "[]"},
		{"by name and arn", DescribeCapacityProvidersInput{Refs: []string{spotARN, "FARGATE"}}, "[FARGATE_SPOT FARGATE]", "[]"},
		{"unknown", DescribeCapacityProvidersInput{Refs: []string{"EC2", "arn:aws:ecs:eu-west-1:000000000000:capacity-provider/FARGATE"}}, "[]",
			"[arn:aws:ecs:us-east-1:000000000000:capacity-provider/EC2 arn:aws:ecs:eu-west-1:000000000000:capacity-provider/FARGATE]"},
		{"of a cluster", DescribeCapacityProvidersInput{Cluster: "spot"}, "[FARGATE_SPOT]", "[]"},
		{"first page", DescribeCapacityProvidersInput{MaxResults: &one}, "[FARGATE]", "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			found, failures, _, err := e.DescribeCapacityProviders(ctx, clTestScope, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			names := []string{}
			for _, p := range found {
				names = append(names, p.Name)
				if p.Status != "ACTIVE" || p.Type != p.Name {
					t.Errorf("provider = %+v", p)
				}
			}
			fails := []string{}
			for _, f := range failures {
				fails = append(fails, f.ARN)
			}
			if fmt.Sprint(names) != tt.found || fmt.Sprint(fails) != tt.failures {
				t.Fatalf("found %v failures %v, want %s and %s", names, fails, tt.found, tt.failures)
			}
		})
	}
	_, _, next, err := e.DescribeCapacityProviders(ctx, clTestScope, DescribeCapacityProvidersInput{MaxResults: &one})
	if err != nil || next == "" {
		t.Fatalf("first page next = %q, %v", next, err)
	}
	found, _, last, err := e.DescribeCapacityProviders(ctx, clTestScope, DescribeCapacityProvidersInput{MaxResults: &one, NextToken: next})
	if err != nil || len(found) != 1 || found[0].Name != "FARGATE_SPOT" || last != "" {
		t.Fatalf("second page = %+v, %q, %v", found, last, err)
	}
	_, _, _, err = e.DescribeCapacityProviders(ctx, clTestScope, DescribeCapacityProvidersInput{MaxResults: &zero})
	clWantErr(t, err, apierr.InvalidParameter, "maxResults must be between 1 and 10")
	_, _, _, err = e.DescribeCapacityProviders(ctx, clTestScope, DescribeCapacityProvidersInput{Cluster: "nope"})
	clWantErr(t, err, apierr.ClusterNotFound, "Cluster not found.")
	if _, err := ParseCapacityProviderFields([]string{"STATUS"}); !errors.Is(err, apierr.InvalidParameter) {
		t.Fatalf("include STATUS = %v", err)
	}
}
