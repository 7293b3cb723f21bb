package e2e

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func TestSDKClusters(t *testing.T) {
	t.Parallel()
	api := newSDK(t, startServer(t, ""))
	ctx := t.Context()
	created, err := api.CreateCluster(ctx, &ecs.CreateClusterInput{
		ClusterName: aws.String("sdk"),
		Tags:        []types.Tag{{Key: aws.String("team"), Value: aws.String("core")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(created.Cluster.ClusterArn); got != clusterARNPrefix+"sdk" {
		t.Errorf("CreateCluster: clusterArn %s", got)
	}
	got, err := api.DescribeClusters(ctx, &ecs.DescribeClustersInput{
		Clusters: []string{clusterARNPrefix + "sdk", "missing"},
		Include:  []types.ClusterField{types.ClusterFieldTags},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Clusters) != 1 || aws.ToString(got.Clusters[0].ClusterName) != "sdk" || aws.ToString(got.Clusters[0].Status) != "ACTIVE" {
		t.Errorf("DescribeClusters: clusters %+v", got.Clusters)
	}
	if len(got.Failures) != 1 || aws.ToString(got.Failures[0].Reason) != "MISSING" || aws.ToString(got.Failures[0].Arn) != clusterARNPrefix+"missing" {
		t.Errorf("DescribeClusters: failures %+v, want one MISSING for %smissing", got.Failures, clusterARNPrefix)
	}
}

func TestSDKTaskDefinitions(t *testing.T) {
	t.Parallel()
	api := newSDK(t, startServer(t, ""))
	ctx := t.Context()
	in := fargateTaskDef("api-service")
	reg, err := api.RegisterTaskDefinition(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(reg.TaskDefinition.TaskDefinitionArn); got != taskDefARNPrefix+"api-service:1" {
		t.Errorf("RegisterTaskDefinition: arn %s", got)
	}
	out, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(taskDefARNPrefix + "api-service:1")})
	if err != nil {
		t.Fatal(err)
	}
	td := out.TaskDefinition
	if aws.ToString(td.Family) != "api-service" || td.Revision != 1 || td.Status != types.TaskDefinitionStatusActive ||
		aws.ToString(td.Cpu) != "512" || aws.ToString(td.Memory) != "1024" || td.NetworkMode != types.NetworkModeAwsvpc ||
		!slices.Equal(td.RequiresCompatibilities, []types.Compatibility{types.CompatibilityFargate}) {
		t.Errorf("DescribeTaskDefinition: %s", describeTD(td))
	}
	if len(td.ContainerDefinitions) != 1 {
		t.Fatalf("DescribeTaskDefinition: %d containers, want 1", len(td.ContainerDefinitions))
	}
	c, want := td.ContainerDefinitions[0], in.ContainerDefinitions[0]
	if aws.ToString(c.Name) != "api" || aws.ToString(c.Image) != aws.ToString(want.Image) ||
		len(c.PortMappings) != 1 || aws.ToInt32(c.PortMappings[0].ContainerPort) != 8080 || c.PortMappings[0].Protocol != types.TransportProtocolTcp ||
		c.LogConfiguration == nil || c.LogConfiguration.LogDriver != types.LogDriverAwslogs ||
		!maps.Equal(c.LogConfiguration.Options, want.LogConfiguration.Options) {
		t.Errorf("DescribeTaskDefinition: container %+v", c)
	}

	// Four more revisions, then read them back two to a page.
	for range 4 {
		if _, err := api.RegisterTaskDefinition(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	var arns []string
	pages := 0
	p := ecs.NewListTaskDefinitionsPaginator(api, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("api-service"), MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		arns = append(arns, page.TaskDefinitionArns...)
	}
	var want5 []string
	for i := 1; i <= 5; i++ {
		want5 = append(want5, fmt.Sprintf("%sapi-service:%d", taskDefARNPrefix, i))
	}
	if !slices.Equal(arns, want5) || pages != 3 {
		t.Errorf("ListTaskDefinitions paginator: %d pages of %v, want 3 pages of %v", pages, arns, want5)
	}
}

func TestSDKErrors(t *testing.T) {
	t.Parallel()
	api := newSDK(t, startServer(t, ""))
	ctx := t.Context()

	_, err := api.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("nope")})
	var notFound *types.ClusterNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("DeleteCluster of a missing cluster: got %v, want *types.ClusterNotFoundException", err)
	}

	bad := fargateTaskDef("too-small")
	bad.Memory = aws.String("512")
	_, err = api.RegisterTaskDefinition(ctx, bad)
	var client *types.ClientException
	if !errors.As(err, &client) {
		t.Errorf("RegisterTaskDefinition with cpu 512 memory 512: got %v, want *types.ClientException", err)
	}

	_, err = api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("nope:1")})
	if !errors.As(err, &client) {
		t.Errorf("DescribeTaskDefinition of a missing one: got %v, want *types.ClientException", err)
	}
}

func describeTD(td *types.TaskDefinition) string {
	return fmt.Sprintf("family %s revision %d status %s cpu %s memory %s networkMode %s requiresCompatibilities %v",
		aws.ToString(td.Family), td.Revision, td.Status, aws.ToString(td.Cpu), aws.ToString(td.Memory), td.NetworkMode, td.RequiresCompatibilities)
}

// TestSDKClusterSettingsAndPages reads the cluster shapes ECS answers with its optional parts
// through the Go SDK, and pages through ListClusters with its paginator.
func TestSDKClusterSettingsAndPages(t *testing.T) {
	t.Parallel()
	api := newSDK(t, startServer(t, ""))
	ctx := t.Context()
	var want []string
	for i := range 5 {
		name := fmt.Sprintf("c%d", i)
		if _, err := api.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		want = append(want, clusterARNPrefix+name)
	}
	up, err := api.UpdateClusterSettings(ctx, &ecs.UpdateClusterSettingsInput{Cluster: aws.String("c0"),
		Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("enhanced")}}})
	if err != nil {
		t.Fatal(err)
	}
	if s := up.Cluster.Settings; len(s) != 1 || aws.ToString(s[0].Value) != "enhanced" {
		t.Errorf("UpdateClusterSettings: settings %+v, want containerInsights enhanced", s)
	}
	got, err := api.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"c0"},
		Include: []types.ClusterField{types.ClusterFieldSettings, types.ClusterFieldStatistics, types.ClusterFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	if c := got.Clusters[0]; len(c.Settings) != 1 || len(c.Statistics) == 0 || c.Tags == nil {
		t.Errorf("DescribeClusters with SETTINGS, STATISTICS and TAGS: settings %+v statistics %+v tags %+v", c.Settings, c.Statistics, c.Tags)
	}

	var arns []string
	pages := 0
	p := ecs.NewListClustersPaginator(api, &ecs.ListClustersInput{MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		arns = append(arns, page.ClusterArns...)
	}
	if slices.Sort(arns); !slices.Equal(arns, want) || pages != 3 {
		t.Errorf("ListClusters paginator: %d pages of %v, want 3 pages of %v", pages, arns, want)
	}
	_, err = api.ListClusters(ctx, &ecs.ListClustersInput{MaxResults: aws.Int32(0)})
	var invalid *types.InvalidParameterException
	if !errors.As(err, &invalid) {
		t.Errorf("ListClusters maxResults 0: got %v, want *types.InvalidParameterException", err)
	}
}
