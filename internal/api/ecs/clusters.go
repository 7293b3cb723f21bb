package ecs

import (
	"context"

	"github.com/gantry-dev/gantry/internal/model"
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

// Cluster is ECS's Cluster shape.
type Cluster struct {
	ClusterArn                        *string          `json:"clusterArn,omitempty"`
	ClusterName                       *string          `json:"clusterName,omitempty"`
	Status                            *string          `json:"status,omitempty"`
	RegisteredContainerInstancesCount int32            `json:"registeredContainerInstancesCount"`
	RunningTasksCount                 int32            `json:"runningTasksCount"`
	PendingTasksCount                 int32            `json:"pendingTasksCount"`
	ActiveServicesCount               int32            `json:"activeServicesCount"`
	Tags                              []Tag            `json:"tags,omitempty"`
	Settings                          []ClusterSetting `json:"settings,omitempty"`
	CapacityProviders                 []string         `json:"capacityProviders,omitempty"`
}

// Failure is ECS's Failure shape.
type Failure struct {
	Arn    *string `json:"arn,omitempty"`
	Reason *string `json:"reason,omitempty"`
	Detail *string `json:"detail,omitempty"`
}

type createClusterInput struct {
	ClusterName *string          `json:"clusterName"`
	Tags        []Tag            `json:"tags"`
	Settings    []ClusterSetting `json:"settings"`
}

type createClusterOutput struct {
	Cluster *Cluster `json:"cluster,omitempty"`
}

func (h *handler) createCluster(ctx context.Context, sc model.Scope, in *createClusterInput) (*createClusterOutput, error) {
	c, err := h.ops.CreateCluster(ctx, model.Cluster{Scope: sc, Name: deref(in.ClusterName), Tags: tagsFromWire(in.Tags)})
	if err != nil {
		return nil, err
	}
	return &createClusterOutput{Cluster: clusterToWire(c)}, nil
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
	found, failures, err := h.ops.DescribeClusters(ctx, sc, in.Clusters)
	if err != nil {
		return nil, err
	}
	out := &describeClustersOutput{Clusters: []*Cluster{}, Failures: []Failure{}}
	for _, c := range found {
		out.Clusters = append(out.Clusters, clusterToWire(c))
	}
	for _, f := range failures {
		out.Failures = append(out.Failures, Failure{Arn: ptr(f.ARN), Reason: ptr(f.Reason)})
	}
	return out, nil
}

func clusterToWire(c model.Cluster) *Cluster {
	return &Cluster{
		ClusterArn:  ptr(model.ClusterARN(c.Scope, c.Name)),
		ClusterName: ptr(c.Name),
		Status:      ptr(c.Status),
		Tags:        tagsToWire(c.Tags),
	}
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

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
