package ecs

import (
	"context"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// CapacityProvider is ECS's CapacityProvider shape, as far as Fargate providers fill it.
type CapacityProvider struct {
	CapacityProviderArn *string `json:"capacityProviderArn,omitempty"`
	Name                *string `json:"name,omitempty"`
	Status              *string `json:"status,omitempty"`
	Type                *string `json:"type,omitempty"`
	Tags                *[]Tag  `json:"tags,omitempty"`
}

type putClusterCapacityProvidersInput struct {
	Cluster                         *string                        `json:"cluster"`
	CapacityProviders               []string                       `json:"capacityProviders"`
	DefaultCapacityProviderStrategy []CapacityProviderStrategyItem `json:"defaultCapacityProviderStrategy"`
}

func (h *handler) putClusterCapacityProviders(ctx context.Context, sc model.Scope, in *putClusterCapacityProvidersInput) (*clusterOutput, error) {
	d, err := h.ops.PutClusterCapacityProviders(ctx, sc, deref(in.Cluster), in.CapacityProviders, strategyFromWire(in.DefaultCapacityProviderStrategy))
	if err != nil {
		return nil, err
	}
	return &clusterOutput{Cluster: clusterToWire(d)}, nil
}

type describeCapacityProvidersInput struct {
	CapacityProviders []string `json:"capacityProviders"`
	Cluster           *string  `json:"cluster"`
	Include           []string `json:"include"`
	MaxResults        *int32   `json:"maxResults"`
	NextToken         *string  `json:"nextToken"`
}

type describeCapacityProvidersOutput struct {
	CapacityProviders []CapacityProvider `json:"capacityProviders"`
	Failures          []Failure          `json:"failures"`
	NextToken         *string            `json:"nextToken,omitempty"`
}

func (h *handler) describeCapacityProviders(ctx context.Context, sc model.Scope, in *describeCapacityProvidersInput) (*describeCapacityProvidersOutput, error) {
	withTags, err := ops.ParseCapacityProviderFields(in.Include)
	if err != nil {
		return nil, err
	}
	found, failures, next, err := h.ops.DescribeCapacityProviders(ctx, sc, ops.DescribeCapacityProvidersInput{
		Refs: in.CapacityProviders, Cluster: deref(in.Cluster), MaxResults: intFromWire(in.MaxResults), NextToken: deref(in.NextToken),
	})
	if err != nil {
		return nil, err
	}
	out := &describeCapacityProvidersOutput{CapacityProviders: []CapacityProvider{}, Failures: failuresToWire(failures), NextToken: optional(next)}
	for _, p := range found {
		cp := CapacityProvider{CapacityProviderArn: ptr(model.CapacityProviderARN(p.Scope, p.Name)), Name: ptr(p.Name), Status: ptr(p.Status), Type: optional(p.Type)}
		if withTags {
			cp.Tags = ptr([]Tag{})
		}
		out.CapacityProviders = append(out.CapacityProviders, cp)
	}
	return out, nil
}
