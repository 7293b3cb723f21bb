package ecs

import (
	"context"
	"strconv"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// Tag is ECS's tag shape.
type Tag struct {
	Key   *string `json:"key,omitempty"`
	Value *string `json:"value,omitempty"`
}

// ClusterSetting is ECS's cluster setting shape.
type ClusterSetting struct {
	Name  *string `json:"name,omitempty"`
	Value *string `json:"value,omitempty"`
}

// Attachment is ECS's Attachment shape.
type Attachment struct {
	ID      *string        `json:"id,omitempty"`
	Type    *string        `json:"type,omitempty"`
	Status  *string        `json:"status,omitempty"`
	Details []KeyValuePair `json:"details,omitempty"`
}

// CapacityProviderStrategyItem is ECS's CapacityProviderStrategyItem shape.
type CapacityProviderStrategyItem struct {
	CapacityProvider *string `json:"capacityProvider,omitempty"`
	Weight           *int32  `json:"weight,omitempty"`
	Base             *int32  `json:"base,omitempty"`
}

// ClusterConfiguration is ECS's ClusterConfiguration shape.
type ClusterConfiguration struct {
	ExecuteCommandConfiguration *ExecuteCommandConfiguration `json:"executeCommandConfiguration,omitempty"`
	ManagedStorageConfiguration *ManagedStorageConfiguration `json:"managedStorageConfiguration,omitempty"`
}

// ExecuteCommandConfiguration is ECS's ExecuteCommandConfiguration shape.
type ExecuteCommandConfiguration struct {
	KmsKeyID         *string                         `json:"kmsKeyId,omitempty"`
	Logging          *string                         `json:"logging,omitempty"`
	LogConfiguration *ExecuteCommandLogConfiguration `json:"logConfiguration,omitempty"`
}

// ExecuteCommandLogConfiguration is ECS's ExecuteCommandLogConfiguration shape.
type ExecuteCommandLogConfiguration struct {
	CloudWatchLogGroupName      *string `json:"cloudWatchLogGroupName,omitempty"`
	CloudWatchEncryptionEnabled bool    `json:"cloudWatchEncryptionEnabled"`
	S3BucketName                *string `json:"s3BucketName,omitempty"`
	S3EncryptionEnabled         bool    `json:"s3EncryptionEnabled"`
	S3KeyPrefix                 *string `json:"s3KeyPrefix,omitempty"`
}

// ManagedStorageConfiguration is ECS's ManagedStorageConfiguration shape.
type ManagedStorageConfiguration struct {
	KmsKeyID                        *string `json:"kmsKeyId,omitempty"`
	FargateEphemeralStorageKmsKeyID *string `json:"fargateEphemeralStorageKmsKeyId,omitempty"`
}

// ClusterServiceConnectDefaults is ECS's ClusterServiceConnectDefaults and
// ClusterServiceConnectDefaultsRequest shape.
type ClusterServiceConnectDefaults struct {
	Namespace *string `json:"namespace,omitempty"`
}

// Cluster is ECS's Cluster shape. The optional parts are pointers to slices so that a part asked
// for and empty answers [] while a part not asked for is absent.
type Cluster struct {
	ClusterArn                        *string                        `json:"clusterArn,omitempty"`
	ClusterName                       *string                        `json:"clusterName,omitempty"`
	Configuration                     *ClusterConfiguration          `json:"configuration,omitempty"`
	Status                            *string                        `json:"status,omitempty"`
	RegisteredContainerInstancesCount int32                          `json:"registeredContainerInstancesCount"`
	RunningTasksCount                 int32                          `json:"runningTasksCount"`
	PendingTasksCount                 int32                          `json:"pendingTasksCount"`
	ActiveServicesCount               int32                          `json:"activeServicesCount"`
	Statistics                        *[]KeyValuePair                `json:"statistics,omitempty"`
	Tags                              *[]Tag                         `json:"tags,omitempty"`
	Settings                          *[]ClusterSetting              `json:"settings,omitempty"`
	CapacityProviders                 []string                       `json:"capacityProviders"`
	DefaultCapacityProviderStrategy   []CapacityProviderStrategyItem `json:"defaultCapacityProviderStrategy"`
	Attachments                       *[]Attachment                  `json:"attachments,omitempty"`
	ServiceConnectDefaults            *ClusterServiceConnectDefaults `json:"serviceConnectDefaults,omitempty"`
}

// Failure is ECS's Failure shape.
type Failure struct {
	Arn    *string `json:"arn,omitempty"`
	Reason *string `json:"reason,omitempty"`
	Detail *string `json:"detail,omitempty"`
}

type clusterOutput struct {
	Cluster *Cluster `json:"cluster,omitempty"`
}

type createClusterInput struct {
	ClusterName                     *string                        `json:"clusterName"`
	Tags                            []Tag                          `json:"tags"`
	Settings                        []ClusterSetting               `json:"settings"`
	Configuration                   *ClusterConfiguration          `json:"configuration"`
	CapacityProviders               []string                       `json:"capacityProviders"`
	DefaultCapacityProviderStrategy []CapacityProviderStrategyItem `json:"defaultCapacityProviderStrategy"`
	ServiceConnectDefaults          *ClusterServiceConnectDefaults `json:"serviceConnectDefaults"`
}

func (h *handler) createCluster(ctx context.Context, sc model.Scope, in *createClusterInput) (*clusterOutput, error) {
	c := model.Cluster{
		Scope: sc, Name: deref(in.ClusterName), Tags: tagsFromWire(in.Tags), Settings: settingsFromWire(in.Settings),
		Configuration: configurationFromWire(in.Configuration), CapacityProviders: in.CapacityProviders,
		DefaultCapacityProviderStrategy: strategyFromWire(in.DefaultCapacityProviderStrategy),
	}
	if in.ServiceConnectDefaults != nil {
		c.ServiceConnectDefaultsNamespace = deref(in.ServiceConnectDefaults.Namespace)
	}
	d, err := h.ops.CreateCluster(ctx, c)
	if err != nil {
		return nil, err
	}
	return &clusterOutput{Cluster: clusterToWire(d)}, nil
}

type describeClustersInput struct {
	Clusters []string `json:"clusters"`
	Include  []string `json:"include"`
}

type describeClustersOutput struct {
	Clusters []*Cluster `json:"clusters"`
	Failures []Failure  `json:"failures"`
}

func (h *handler) describeClusters(ctx context.Context, sc model.Scope, in *describeClustersInput) (*describeClustersOutput, error) {
	found, failures, err := h.ops.DescribeClusters(ctx, sc, in.Clusters, in.Include)
	if err != nil {
		return nil, err
	}
	out := &describeClustersOutput{Clusters: []*Cluster{}, Failures: failuresToWire(failures)}
	for _, d := range found {
		out.Clusters = append(out.Clusters, clusterToWire(d))
	}
	return out, nil
}

type listClustersInput struct {
	NextToken  *string `json:"nextToken"`
	MaxResults *int32  `json:"maxResults"`
}

type listClustersOutput struct {
	ClusterArns []string `json:"clusterArns"`
	NextToken   *string  `json:"nextToken,omitempty"`
}

func (h *handler) listClusters(ctx context.Context, sc model.Scope, in *listClustersInput) (*listClustersOutput, error) {
	arns, next, err := h.ops.ListClusters(ctx, sc, intFromWire(in.MaxResults), deref(in.NextToken))
	if err != nil {
		return nil, err
	}
	return &listClustersOutput{ClusterArns: arns, NextToken: optional(next)}, nil
}

type clusterRefInput struct {
	Cluster *string `json:"cluster"`
}

func (h *handler) deleteCluster(ctx context.Context, sc model.Scope, in *clusterRefInput) (*clusterOutput, error) {
	d, err := h.ops.DeleteCluster(ctx, sc, deref(in.Cluster))
	if err != nil {
		return nil, err
	}
	return &clusterOutput{Cluster: clusterToWire(d)}, nil
}

type updateClusterInput struct {
	Cluster                *string                        `json:"cluster"`
	Settings               []ClusterSetting               `json:"settings"`
	Configuration          *ClusterConfiguration          `json:"configuration"`
	ServiceConnectDefaults *ClusterServiceConnectDefaults `json:"serviceConnectDefaults"`
}

func (h *handler) updateCluster(ctx context.Context, sc model.Scope, in *updateClusterInput) (*clusterOutput, error) {
	u := ops.ClusterUpdate{Settings: settingsFromWire(in.Settings), Configuration: configurationFromWire(in.Configuration)}
	if in.ServiceConnectDefaults != nil {
		u.ServiceConnectNamespace = ptr(deref(in.ServiceConnectDefaults.Namespace))
	}
	d, err := h.ops.UpdateCluster(ctx, sc, deref(in.Cluster), u)
	if err != nil {
		return nil, err
	}
	return &clusterOutput{Cluster: clusterToWire(d)}, nil
}

type updateClusterSettingsInput struct {
	Cluster  *string          `json:"cluster"`
	Settings []ClusterSetting `json:"settings"`
}

func (h *handler) updateClusterSettings(ctx context.Context, sc model.Scope, in *updateClusterSettingsInput) (*clusterOutput, error) {
	d, err := h.ops.UpdateClusterSettings(ctx, sc, deref(in.Cluster), settingsFromWire(in.Settings))
	if err != nil {
		return nil, err
	}
	return &clusterOutput{Cluster: clusterToWire(d)}, nil
}

func clusterToWire(d ops.ClusterDetail) *Cluster {
	c := d.Cluster
	out := &Cluster{
		ClusterArn:                      ptr(model.ClusterARN(c.Scope, c.Name)),
		ClusterName:                     ptr(c.Name),
		Status:                          ptr(c.Status),
		RunningTasksCount:               int32(d.Counts.RunningTasks()),
		PendingTasksCount:               int32(d.Counts.PendingTasks()),
		ActiveServicesCount:             int32(d.Counts.ActiveServices()),
		CapacityProviders:               append([]string{}, c.CapacityProviders...),
		DefaultCapacityProviderStrategy: strategyToWire(c.DefaultCapacityProviderStrategy),
	}
	if c.ServiceConnectDefaultsNamespace != "" {
		out.ServiceConnectDefaults = &ClusterServiceConnectDefaults{Namespace: ptr(c.ServiceConnectDefaultsNamespace)}
	}
	if d.Fields.Configurations {
		out.Configuration = configurationToWire(c.Configuration)
	}
	if d.Fields.Tags {
		out.Tags = ptr(append([]Tag{}, tagsToWire(c.Tags)...))
	}
	if d.Fields.Settings {
		out.Settings = ptr(settingsToWire(c.Settings))
	}
	if d.Fields.Statistics {
		out.Statistics = ptr(statisticsToWire(d.Counts))
	}
	if d.Fields.Attachments {
		out.Attachments = ptr([]Attachment{})
	}
	return out
}

func statisticsToWire(n model.ClusterCounts) []KeyValuePair {
	pairs := []struct {
		name string
		v    int
	}{
		{"runningEC2TasksCount", n.RunningEC2Tasks},
		{"runningFargateTasksCount", n.RunningFargateTasks},
		{"pendingEC2TasksCount", n.PendingEC2Tasks},
		{"pendingFargateTasksCount", n.PendingFargateTasks},
		{"activeEC2ServiceCount", n.ActiveEC2Services},
		{"activeFargateServiceCount", n.ActiveFargateServices},
		{"drainingEC2ServiceCount", n.DrainingEC2Services},
		{"drainingFargateServiceCount", n.DrainingFargateServices},
	}
	out := make([]KeyValuePair, 0, len(pairs))
	for _, p := range pairs {
		out = append(out, KeyValuePair{Name: ptr(p.name), Value: ptr(strconv.Itoa(p.v))})
	}
	return out
}

func settingsFromWire(in []ClusterSetting) []model.ClusterSetting {
	var out []model.ClusterSetting
	for _, s := range in {
		out = append(out, model.ClusterSetting{Name: deref(s.Name), Value: deref(s.Value)})
	}
	return out
}

func settingsToWire(in []model.ClusterSetting) []ClusterSetting {
	out := []ClusterSetting{}
	for _, s := range in {
		out = append(out, ClusterSetting{Name: ptr(s.Name), Value: ptr(s.Value)})
	}
	return out
}

func strategyFromWire(in []CapacityProviderStrategyItem) []model.CapacityProviderStrategyItem {
	var out []model.CapacityProviderStrategyItem
	for _, it := range in {
		out = append(out, model.CapacityProviderStrategyItem{CapacityProvider: deref(it.CapacityProvider), Weight: deref(it.Weight), Base: deref(it.Base)})
	}
	return out
}

func strategyToWire(in []model.CapacityProviderStrategyItem) []CapacityProviderStrategyItem {
	out := []CapacityProviderStrategyItem{}
	for _, it := range in {
		out = append(out, CapacityProviderStrategyItem{CapacityProvider: ptr(it.CapacityProvider), Weight: ptr(it.Weight), Base: ptr(it.Base)})
	}
	return out
}

func configurationFromWire(in *ClusterConfiguration) *model.ClusterConfiguration {
	if in == nil {
		return nil
	}
	out := &model.ClusterConfiguration{}
	if ec := in.ExecuteCommandConfiguration; ec != nil {
		out.ExecuteCommandKmsKeyID, out.ExecuteCommandLogging = deref(ec.KmsKeyID), deref(ec.Logging)
		if lc := ec.LogConfiguration; lc != nil {
			out.LogConfiguration = &model.ExecuteCommandLogConfiguration{
				CloudWatchLogGroupName: deref(lc.CloudWatchLogGroupName), CloudWatchEncryptionEnabled: lc.CloudWatchEncryptionEnabled,
				S3BucketName: deref(lc.S3BucketName), S3EncryptionEnabled: lc.S3EncryptionEnabled, S3KeyPrefix: deref(lc.S3KeyPrefix),
			}
		}
	}
	if ms := in.ManagedStorageConfiguration; ms != nil {
		out.ManagedStorageKmsKeyID, out.FargateEphemeralKmsKeyID = deref(ms.KmsKeyID), deref(ms.FargateEphemeralStorageKmsKeyID)
	}
	return out
}

func configurationToWire(in *model.ClusterConfiguration) *ClusterConfiguration {
	if in == nil {
		return nil
	}
	out := &ClusterConfiguration{}
	if in.ExecuteCommandKmsKeyID != "" || in.ExecuteCommandLogging != "" || in.LogConfiguration != nil {
		out.ExecuteCommandConfiguration = &ExecuteCommandConfiguration{KmsKeyID: optional(in.ExecuteCommandKmsKeyID), Logging: optional(in.ExecuteCommandLogging)}
		if lc := in.LogConfiguration; lc != nil {
			out.ExecuteCommandConfiguration.LogConfiguration = &ExecuteCommandLogConfiguration{
				CloudWatchLogGroupName: optional(lc.CloudWatchLogGroupName), CloudWatchEncryptionEnabled: lc.CloudWatchEncryptionEnabled,
				S3BucketName: optional(lc.S3BucketName), S3EncryptionEnabled: lc.S3EncryptionEnabled, S3KeyPrefix: optional(lc.S3KeyPrefix),
			}
		}
	}
	if in.ManagedStorageKmsKeyID != "" || in.FargateEphemeralKmsKeyID != "" {
		out.ManagedStorageConfiguration = &ManagedStorageConfiguration{KmsKeyID: optional(in.ManagedStorageKmsKeyID), FargateEphemeralStorageKmsKeyID: optional(in.FargateEphemeralKmsKeyID)}
	}
	return out
}

func failuresToWire(in []ops.ClusterFailure) []Failure {
	out := []Failure{}
	for _, f := range in {
		out = append(out, Failure{Arn: ptr(f.ARN), Reason: ptr(f.Reason), Detail: optional(f.Detail)})
	}
	return out
}

func tagsFromWire(tags []Tag) []model.Tag {
	var out []model.Tag
	for _, t := range tags {
		out = append(out, model.Tag{Key: deref(t.Key), Value: deref(t.Value)})
	}
	return out
}

func tagsToWire(tags []model.Tag) []Tag {
	var out []Tag
	for _, t := range tags {
		out = append(out, Tag{Key: ptr(t.Key), Value: ptr(t.Value)})
	}
	return out
}

// intFromWire widens an optional wire integer.
func intFromWire(v *int32) *int {
	if v == nil {
		return nil
	}
	return ptr(int(*v))
}

// optional is nil for "", so empty strings are left out of answers.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
