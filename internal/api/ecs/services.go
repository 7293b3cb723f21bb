package ecs

import (
	"context"
	"slices"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// ServiceShape is ECS's Service shape (Service is the front door's service).
type ServiceShape struct {
	CapacityProviderStrategy      []CapacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	ClusterArn                    *string                        `json:"clusterArn,omitempty"`
	CreatedAt                     *float64                       `json:"createdAt,omitempty"`
	CreatedBy                     *string                        `json:"createdBy,omitempty"`
	DeploymentConfiguration       *DeploymentConfiguration       `json:"deploymentConfiguration,omitempty"`
	DeploymentController          *DeploymentController          `json:"deploymentController,omitempty"`
	Deployments                   []Deployment                   `json:"deployments"`
	DesiredCount                  int32                          `json:"desiredCount"`
	EnableECSManagedTags          bool                           `json:"enableECSManagedTags"`
	EnableExecuteCommand          bool                           `json:"enableExecuteCommand"`
	Events                        []ServiceEvent                 `json:"events"`
	HealthCheckGracePeriodSeconds *int32                         `json:"healthCheckGracePeriodSeconds,omitempty"`
	LaunchType                    *string                        `json:"launchType,omitempty"`
	LoadBalancers                 []LoadBalancer                 `json:"loadBalancers"`
	NetworkConfiguration          *NetworkConfiguration          `json:"networkConfiguration,omitempty"`
	PendingCount                  int32                          `json:"pendingCount"`
	PlacementConstraints          []PlacementConstraint          `json:"placementConstraints"`
	PlacementStrategy             []PlacementStrategy            `json:"placementStrategy"`
	PlatformFamily                *string                        `json:"platformFamily,omitempty"`
	PlatformVersion               *string                        `json:"platformVersion,omitempty"`
	PropagateTags                 *string                        `json:"propagateTags,omitempty"`
	RunningCount                  int32                          `json:"runningCount"`
	SchedulingStrategy            *string                        `json:"schedulingStrategy,omitempty"`
	ServiceArn                    *string                        `json:"serviceArn,omitempty"`
	ServiceName                   *string                        `json:"serviceName,omitempty"`
	ServiceRegistries             []json0                        `json:"serviceRegistries"`
	Status                        *string                        `json:"status,omitempty"`
	Tags                          []Tag                          `json:"tags,omitempty"`
	TaskDefinition                *string                        `json:"taskDefinition,omitempty"`
}

// json0 stands for shapes gantry accepts and never fills.
type json0 struct{}

// Deployment is ECS's Deployment shape.
type Deployment struct {
	CapacityProviderStrategy []CapacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	CreatedAt                *float64                       `json:"createdAt,omitempty"`
	DesiredCount             int32                          `json:"desiredCount"`
	FailedTasks              int32                          `json:"failedTasks"`
	ID                       *string                        `json:"id,omitempty"`
	LaunchType               *string                        `json:"launchType,omitempty"`
	NetworkConfiguration     *NetworkConfiguration          `json:"networkConfiguration,omitempty"`
	PendingCount             int32                          `json:"pendingCount"`
	PlatformFamily           *string                        `json:"platformFamily,omitempty"`
	PlatformVersion          *string                        `json:"platformVersion,omitempty"`
	RolloutState             *string                        `json:"rolloutState,omitempty"`
	RolloutStateReason       *string                        `json:"rolloutStateReason,omitempty"`
	RunningCount             int32                          `json:"runningCount"`
	Status                   *string                        `json:"status,omitempty"`
	TaskDefinition           *string                        `json:"taskDefinition,omitempty"`
	UpdatedAt                *float64                       `json:"updatedAt,omitempty"`
}

// ServiceEvent is ECS's ServiceEvent shape.
type ServiceEvent struct {
	CreatedAt *float64 `json:"createdAt,omitempty"`
	ID        *string  `json:"id,omitempty"`
	Message   *string  `json:"message,omitempty"`
}

// LoadBalancer is ECS's LoadBalancer shape (of a service).
type LoadBalancer struct {
	ContainerName    *string `json:"containerName,omitempty"`
	ContainerPort    *int32  `json:"containerPort,omitempty"`
	LoadBalancerName *string `json:"loadBalancerName,omitempty"`
	TargetGroupArn   *string `json:"targetGroupArn,omitempty"`
}

// DeploymentConfiguration is ECS's DeploymentConfiguration shape.
type DeploymentConfiguration struct {
	DeploymentCircuitBreaker *DeploymentCircuitBreaker `json:"deploymentCircuitBreaker,omitempty"`
	MaximumPercent           *int32                    `json:"maximumPercent,omitempty"`
	MinimumHealthyPercent    *int32                    `json:"minimumHealthyPercent,omitempty"`
}

// DeploymentCircuitBreaker is ECS's DeploymentCircuitBreaker shape.
type DeploymentCircuitBreaker struct {
	Enable   *bool `json:"enable,omitempty"`
	Rollback *bool `json:"rollback,omitempty"`
}

// DeploymentController is ECS's DeploymentController shape.
type DeploymentController struct {
	Type *string `json:"type,omitempty"`
}

type createServiceInput struct {
	CapacityProviderStrategy      []CapacityProviderStrategyItem `json:"capacityProviderStrategy"`
	ClientToken                   *string                        `json:"clientToken"`
	Cluster                       *string                        `json:"cluster"`
	DeploymentConfiguration       *DeploymentConfiguration       `json:"deploymentConfiguration"`
	DeploymentController          *DeploymentController          `json:"deploymentController"`
	DesiredCount                  *int32                         `json:"desiredCount"`
	EnableECSManagedTags          *bool                          `json:"enableECSManagedTags"`
	EnableExecuteCommand          *bool                          `json:"enableExecuteCommand"`
	HealthCheckGracePeriodSeconds *int32                         `json:"healthCheckGracePeriodSeconds"`
	LaunchType                    *string                        `json:"launchType"`
	LoadBalancers                 []LoadBalancer                 `json:"loadBalancers"`
	NetworkConfiguration          *NetworkConfiguration          `json:"networkConfiguration"`
	PlacementConstraints          []PlacementConstraint          `json:"placementConstraints"`
	PlacementStrategy             []PlacementStrategy            `json:"placementStrategy"`
	PlatformVersion               *string                        `json:"platformVersion"`
	PropagateTags                 *string                        `json:"propagateTags"`
	Role                          *string                        `json:"role"`
	SchedulingStrategy            *string                        `json:"schedulingStrategy"`
	ServiceName                   *string                        `json:"serviceName"`
	Tags                          []Tag                          `json:"tags"`
	TaskDefinition                *string                        `json:"taskDefinition"`
}

type serviceOutput struct {
	Service *ServiceShape `json:"service,omitempty"`
}

type updateServiceInput struct {
	CapacityProviderStrategy      []CapacityProviderStrategyItem `json:"capacityProviderStrategy"`
	Cluster                       *string                        `json:"cluster"`
	DeploymentConfiguration       *DeploymentConfiguration       `json:"deploymentConfiguration"`
	DesiredCount                  *int32                         `json:"desiredCount"`
	EnableECSManagedTags          *bool                          `json:"enableECSManagedTags"`
	EnableExecuteCommand          *bool                          `json:"enableExecuteCommand"`
	ForceNewDeployment            *bool                          `json:"forceNewDeployment"`
	HealthCheckGracePeriodSeconds *int32                         `json:"healthCheckGracePeriodSeconds"`
	LoadBalancers                 *[]LoadBalancer                `json:"loadBalancers"`
	NetworkConfiguration          *NetworkConfiguration          `json:"networkConfiguration"`
	PlatformVersion               *string                        `json:"platformVersion"`
	PropagateTags                 *string                        `json:"propagateTags"`
	Service                       *string                        `json:"service"`
	TaskDefinition                *string                        `json:"taskDefinition"`
}

type describeServicesInput struct {
	Cluster  *string  `json:"cluster"`
	Include  []string `json:"include"`
	Services []string `json:"services"`
}

type describeServicesOutput struct {
	Failures []Failure      `json:"failures"`
	Services []ServiceShape `json:"services"`
}

type listServicesInput struct {
	Cluster            *string `json:"cluster"`
	LaunchType         *string `json:"launchType"`
	MaxResults         *int32  `json:"maxResults"`
	NextToken          *string `json:"nextToken"`
	SchedulingStrategy *string `json:"schedulingStrategy"`
}

type listServicesOutput struct {
	NextToken   *string  `json:"nextToken,omitempty"`
	ServiceArns []string `json:"serviceArns"`
}

type deleteServiceInput struct {
	Cluster *string `json:"cluster"`
	Force   *bool   `json:"force"`
	Service *string `json:"service"`
}

func (h *handler) createService(ctx context.Context, sc model.Scope, in *createServiceInput) (*serviceOutput, error) {
	d, err := h.ops.CreateService(ctx, sc, ops.CreateServiceInput{
		Cluster: deref(in.Cluster), ServiceName: deref(in.ServiceName), TaskDefinition: deref(in.TaskDefinition),
		DesiredCount: intFromWire(in.DesiredCount), LaunchType: deref(in.LaunchType),
		CapacityProviderStrategy: strategyFromWire(in.CapacityProviderStrategy), PlatformVersion: deref(in.PlatformVersion),
		Network: networkFromWire(in.NetworkConfiguration), LoadBalancers: loadBalancersFromWire(in.LoadBalancers),
		HealthCheckGracePeriod: intFromWire(in.HealthCheckGracePeriodSeconds),
		Deployment:             deploymentConfigFromWire(in.DeploymentConfiguration), PropagateTags: deref(in.PropagateTags),
		EnableECSManagedTags: deref(in.EnableECSManagedTags), EnableExecuteCommand: deref(in.EnableExecuteCommand),
		Tags: tagsFromWire(in.Tags), ClientToken: deref(in.ClientToken), SchedulingStrategy: deref(in.SchedulingStrategy),
		DeploymentController: deref(convertPtr(in.DeploymentController, func(c DeploymentController) string { return deref(c.Type) })),
	})
	if err != nil {
		return nil, err
	}
	return &serviceOutput{Service: ptr(serviceToWire(d))}, nil
}

func (h *handler) updateService(ctx context.Context, sc model.Scope, in *updateServiceInput) (*serviceOutput, error) {
	u := ops.UpdateServiceInput{
		Cluster: deref(in.Cluster), Service: deref(in.Service), DesiredCount: intFromWire(in.DesiredCount),
		TaskDefinition: deref(in.TaskDefinition), CapacityProviderStrategy: strategyFromWire(in.CapacityProviderStrategy),
		PlatformVersion: deref(in.PlatformVersion), Network: networkFromWire(in.NetworkConfiguration),
		HealthCheckGracePeriod: intFromWire(in.HealthCheckGracePeriodSeconds),
		Deployment:             deploymentConfigFromWire(in.DeploymentConfiguration),
		ForceNewDeployment:     deref(in.ForceNewDeployment), PropagateTags: deref(in.PropagateTags),
		EnableECSManagedTags: in.EnableECSManagedTags, EnableExecuteCommand: in.EnableExecuteCommand,
	}
	if in.LoadBalancers != nil {
		u.LoadBalancers = ptr(loadBalancersFromWire(*in.LoadBalancers))
	}
	d, err := h.ops.UpdateService(ctx, sc, u)
	if err != nil {
		return nil, err
	}
	return &serviceOutput{Service: ptr(serviceToWire(d))}, nil
}

func (h *handler) describeServices(ctx context.Context, sc model.Scope, in *describeServicesInput) (*describeServicesOutput, error) {
	ds, fs, err := h.ops.DescribeServices(ctx, sc, deref(in.Cluster), in.Services, slices.Contains(in.Include, "TAGS"))
	if err != nil {
		return nil, err
	}
	out := &describeServicesOutput{Services: []ServiceShape{}, Failures: []Failure{}}
	for _, d := range ds {
		out.Services = append(out.Services, serviceToWire(d))
	}
	for _, f := range fs {
		out.Failures = append(out.Failures, Failure{Arn: optional(f.ARN), Reason: optional(f.Reason)})
	}
	return out, nil
}

func (h *handler) listServices(ctx context.Context, sc model.Scope, in *listServicesInput) (*listServicesOutput, error) {
	arns, next, err := h.ops.ListServices(ctx, sc, ops.ListServicesInput{Cluster: deref(in.Cluster), LaunchType: deref(in.LaunchType),
		SchedulingStrategy: deref(in.SchedulingStrategy), NextToken: deref(in.NextToken), MaxResults: intFromWire(in.MaxResults)})
	if err != nil {
		return nil, err
	}
	return &listServicesOutput{ServiceArns: arns, NextToken: optional(next)}, nil
}

func (h *handler) deleteService(ctx context.Context, sc model.Scope, in *deleteServiceInput) (*serviceOutput, error) {
	d, err := h.ops.DeleteService(ctx, sc, deref(in.Cluster), deref(in.Service), deref(in.Force))
	if err != nil {
		return nil, err
	}
	return &serviceOutput{Service: ptr(serviceToWire(d))}, nil
}

func networkFromWire(nc *NetworkConfiguration) *model.AwsVpcConfiguration {
	if nc == nil || nc.AwsvpcConfiguration == nil {
		return nil
	}
	v := nc.AwsvpcConfiguration
	return &model.AwsVpcConfiguration{Subnets: v.Subnets, SecurityGroups: v.SecurityGroups, AssignPublicIP: deref(v.AssignPublicIp)}
}

func networkToWire(n *model.AwsVpcConfiguration) *NetworkConfiguration {
	if n == nil {
		return nil
	}
	return &NetworkConfiguration{AwsvpcConfiguration: &AwsVpcConfiguration{Subnets: n.Subnets, SecurityGroups: n.SecurityGroups,
		AssignPublicIp: ptr(cmpOr(n.AssignPublicIP, "DISABLED"))}}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func loadBalancersFromWire(in []LoadBalancer) []model.ServiceLoadBalancer {
	return convertAll(in, func(l LoadBalancer) model.ServiceLoadBalancer {
		return model.ServiceLoadBalancer{TargetGroupARN: deref(l.TargetGroupArn), ContainerName: deref(l.ContainerName),
			ContainerPort: int(deref(l.ContainerPort))}
	})
}

func deploymentConfigFromWire(in *DeploymentConfiguration) *ops.DeploymentConfigurationInput {
	if in == nil {
		return nil
	}
	out := &ops.DeploymentConfigurationInput{MinimumHealthyPercent: intFromWire(in.MinimumHealthyPercent),
		MaximumPercent: intFromWire(in.MaximumPercent)}
	if cb := in.DeploymentCircuitBreaker; cb != nil {
		out.CircuitBreaker = &model.CircuitBreaker{Enable: deref(cb.Enable), Rollback: deref(cb.Rollback)}
	}
	return out
}

// serviceToWire converts a service to ECS's answer: deployments PRIMARY and ACTIVE only (the
// inactive one kept for rollback is not shown), events newest first.
func serviceToWire(d ops.ServiceDetail) ServiceShape {
	s := d.Service
	w := ServiceShape{
		CapacityProviderStrategy: strategyToWire(s.CapacityProviderStrategy), ClusterArn: ptr(model.ClusterARN(s.Scope, s.Cluster)),
		CreatedAt: epochSeconds(&s.CreatedAt), CreatedBy: optional(s.CreatedBy),
		DeploymentConfiguration: &DeploymentConfiguration{
			DeploymentCircuitBreaker: &DeploymentCircuitBreaker{Enable: ptr(s.Deployment.CircuitBreaker.Enable), Rollback: ptr(s.Deployment.CircuitBreaker.Rollback)},
			MaximumPercent:           int32Ptr(s.Deployment.MaximumPercent), MinimumHealthyPercent: int32Ptr(s.Deployment.MinimumHealthyPercent)},
		DeploymentController: &DeploymentController{Type: ptr("ECS")},
		Deployments:          []Deployment{}, DesiredCount: int32(s.DesiredCount),
		EnableECSManagedTags: s.EnableECSManagedTags, EnableExecuteCommand: s.EnableExecuteCommand, Events: []ServiceEvent{},
		LaunchType: optional(s.LaunchType), LoadBalancers: []LoadBalancer{}, NetworkConfiguration: networkToWire(s.Network),
		PendingCount: int32(d.Pending), PlacementConstraints: []PlacementConstraint{}, PlacementStrategy: []PlacementStrategy{},
		PlatformVersion: optional(s.PlatformVersion), PropagateTags: optional(s.PropagateTags), RunningCount: int32(d.Running),
		SchedulingStrategy: ptr("REPLICA"), ServiceArn: ptr(s.ARN()), ServiceName: ptr(s.Name), ServiceRegistries: []json0{},
		Status: ptr(s.Status), Tags: tagsToWire(s.Tags), TaskDefinition: ptr(s.TaskDefinition),
	}
	if s.LaunchType != "" {
		w.PlatformFamily = ptr("Linux")
	}
	if len(s.LoadBalancers) > 0 || s.HealthCheckGracePeriod > 0 {
		w.HealthCheckGracePeriodSeconds = int32Ptr(s.HealthCheckGracePeriod)
	}
	for _, lb := range s.LoadBalancers {
		w.LoadBalancers = append(w.LoadBalancers, LoadBalancer{TargetGroupArn: ptr(lb.TargetGroupARN),
			ContainerName: ptr(lb.ContainerName), ContainerPort: int32Ptr(lb.ContainerPort)})
	}
	for _, dep := range s.Deployments {
		if dep.Status == model.DeploymentInactive && s.Status == model.ServiceActive {
			continue
		}
		wd := Deployment{CapacityProviderStrategy: strategyToWire(dep.CapacityProviderStrategy), CreatedAt: epochSeconds(&dep.CreatedAt),
			DesiredCount: int32(dep.DesiredCount), FailedTasks: int32(dep.FailedTasks), ID: ptr(dep.ID),
			LaunchType: optional(dep.LaunchType), NetworkConfiguration: networkToWire(dep.Network),
			PendingCount: int32(d.DeploymentPending[dep.ID]), PlatformVersion: optional(dep.PlatformVersion),
			RolloutState: optional(dep.RolloutState), RolloutStateReason: optional(dep.RolloutStateReason),
			RunningCount: int32(d.DeploymentRunning[dep.ID]), Status: ptr(dep.Status), TaskDefinition: ptr(dep.TaskDefinition),
			UpdatedAt: epochSeconds(&dep.UpdatedAt)}
		if dep.LaunchType != "" {
			wd.PlatformFamily = ptr("Linux")
		}
		w.Deployments = append(w.Deployments, wd)
	}
	for _, e := range s.Events {
		w.Events = append(w.Events, ServiceEvent{CreatedAt: epochSeconds(&e.CreatedAt), ID: ptr(e.ID), Message: ptr(e.Message)})
	}
	return w
}
