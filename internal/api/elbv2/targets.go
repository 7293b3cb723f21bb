package elbv2

import (
	"context"

	"github.com/gantry-dev/gantry/internal/model"
)

// targetDescription is ELBv2's TargetDescription, both ways.
type targetDescription struct {
	ID               string `xml:"Id" query:"Id"`
	Port             int32  `xml:"Port,omitempty" query:"Port"`
	AvailabilityZone string `xml:"AvailabilityZone,omitempty" query:"AvailabilityZone"`
}

func targetsFromWire(in []targetDescription) []model.Target {
	out := make([]model.Target, len(in))
	for i, t := range in {
		out[i] = model.Target{ID: t.ID, Port: t.Port, AvailabilityZone: t.AvailabilityZone}
	}
	return out
}

type targetsInput struct {
	TargetGroupArn string              `query:"TargetGroupArn,required"`
	Targets        []targetDescription `query:"Targets.member"`
}

func (h *handler) registerTargets(ctx context.Context, sc model.Scope, in *targetsInput) (*empty, error) {
	return &empty{}, h.ops.RegisterTargets(ctx, sc, in.TargetGroupArn, targetsFromWire(in.Targets))
}

func (h *handler) deregisterTargets(ctx context.Context, sc model.Scope, in *targetsInput) (*empty, error) {
	return &empty{}, h.ops.DeregisterTargets(ctx, sc, in.TargetGroupArn, targetsFromWire(in.Targets))
}

type targetHealthDescription struct {
	Target          targetDescription `xml:"Target"`
	HealthCheckPort string            `xml:"HealthCheckPort"`
	TargetHealth    targetHealth      `xml:"TargetHealth"`
}

type targetHealth struct {
	State       string `xml:"State"`
	Reason      string `xml:"Reason,omitempty"`
	Description string `xml:"Description,omitempty"`
}

type describeTargetHealthOutput struct {
	TargetHealthDescriptions list[targetHealthDescription] `xml:"TargetHealthDescriptions"`
}

type describeTargetHealthInput struct {
	TargetGroupArn string              `query:"TargetGroupArn,required"`
	Targets        []targetDescription `query:"Targets.member"`
	Include        []string            `query:"Include.member"`
}

func (h *handler) describeTargetHealth(ctx context.Context, sc model.Scope, in *describeTargetHealthInput) (*describeTargetHealthOutput, error) {
	all, err := h.ops.DescribeTargetHealth(ctx, sc, in.TargetGroupArn, targetsFromWire(in.Targets))
	if err != nil {
		return nil, err
	}
	out := make([]targetHealthDescription, len(all))
	for i, t := range all {
		out[i] = targetHealthDescription{
			Target:          targetDescription{ID: t.ID, Port: t.Port, AvailabilityZone: t.AvailabilityZone},
			HealthCheckPort: t.HealthCheckPort,
			TargetHealth:    targetHealth{State: t.State, Reason: t.Reason, Description: t.Description},
		}
	}
	return &describeTargetHealthOutput{TargetHealthDescriptions: listOf(out)}, nil
}
