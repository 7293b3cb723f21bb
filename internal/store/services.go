package store

import (
	"context"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
)

// Key schema:
//
//	ecs/services/<account>/<region>/<cluster>/<name>   a service, its deployments and events
//
// The service controller fences every write it makes on the revision it read, so a pass that
// lost a race (a user's UpdateService, or another leader) writes nothing and runs again.

// Services is the repository of ECS services.
type Services struct {
	t *table[model.Service, serviceRecord]
}

// Services returns the service repository.
func (s *Store) Services() Services {
	return Services{t: &table[model.Service, serviceRecord]{s: s, dir: "ecs/services", version: 1,
		toRecord: recordFromService, fromRecord: serviceFromRecord}}
}

// ServiceKey is the key of a service relative to the repository.
func ServiceKey(sc model.Scope, cluster, name string) string {
	return ScopeKey(sc) + cluster + "/" + name
}

// Get reads a service; a missing one is apierr.NotFound.
func (r Services) Get(ctx context.Context, sc model.Scope, cluster, name string) (Versioned[model.Service], error) {
	return r.t.Get(ctx, ServiceKey(sc, cluster, name))
}

// GetKey reads the service at a relative key (a Page's Keys entry or an event's Key).
func (r Services) GetKey(ctx context.Context, key string) (Versioned[model.Service], error) {
	return r.t.Get(ctx, key)
}

// Create writes a new service (apierr.AlreadyExists if the key is taken).
func (r Services) Create(ctx context.Context, s model.Service) (int64, error) {
	return r.t.Create(ctx, ServiceKey(s.Scope, s.Cluster, s.Name), s)
}

// Update replaces a service read at rev (apierr.Conflict if it changed since).
func (r Services) Update(ctx context.Context, s model.Service, rev int64) (int64, error) {
	return r.t.Update(ctx, ServiceKey(s.Scope, s.Cluster, s.Name), s, rev)
}

// Mutate applies fn to a service and writes it back, retrying on conflicts.
func (r Services) Mutate(ctx context.Context, sc model.Scope, cluster, name string, fn func(*model.Service) error) (Versioned[model.Service], error) {
	return r.t.Mutate(ctx, ServiceKey(sc, cluster, name), fn)
}

// Delete removes a service read at rev.
func (r Services) Delete(ctx context.Context, s model.Service, rev int64) error {
	return r.t.Delete(ctx, ServiceKey(s.Scope, s.Cluster, s.Name), rev)
}

// List reads up to limit services of a cluster in name order, after the name after.
func (r Services) List(ctx context.Context, sc model.Scope, cluster, after string, limit int) (Page[model.Service], error) {
	a := ""
	if after != "" {
		a = ServiceKey(sc, cluster, after)
	}
	return r.t.List(ctx, ScopeKey(sc)+cluster+"/", a, limit)
}

// ListAll reads up to limit services of every scope and cluster, after the relative key after.
func (r Services) ListAll(ctx context.Context, after string, limit int) (Page[model.Service], error) {
	return r.t.List(ctx, "", after, limit)
}

// Watch streams service changes in every scope after store revision rev.
func (r Services) Watch(ctx context.Context, rev int64) <-chan Event[model.Service] {
	return r.t.Watch(ctx, "", rev)
}

// serviceRecord is a service as stored (schema version 1).
type serviceRecord struct {
	Account                string                 `json:"account"`
	Region                 string                 `json:"region"`
	Name                   string                 `json:"name"`
	Cluster                string                 `json:"cluster"`
	Status                 string                 `json:"status"`
	DesiredCount           int                    `json:"desiredCount"`
	TaskDefinition         string                 `json:"taskDefinition"`
	LaunchType             string                 `json:"launchType,omitempty"`
	Strategy               []strategyItemRecord   `json:"strategy,omitempty"`
	PlatformVersion        string                 `json:"platformVersion,omitempty"`
	Network                *awsVpcRecord          `json:"network,omitempty"`
	LoadBalancers          []serviceLBRecord      `json:"loadBalancers,omitempty"`
	HealthCheckGracePeriod int                    `json:"healthCheckGracePeriod,omitempty"`
	Deployment             deploymentConfigRecord `json:"deploymentConfiguration"`
	PropagateTags          string                 `json:"propagateTags,omitempty"`
	EnableECSManagedTags   bool                   `json:"enableECSManagedTags,omitempty"`
	EnableExecuteCommand   bool                   `json:"enableExecuteCommand,omitempty"`
	Tags                   []tagRecord            `json:"tags,omitempty"`
	ClientToken            string                 `json:"clientToken,omitempty"`
	CreatedAt              time.Time              `json:"createdAt"`
	CreatedBy              string                 `json:"createdBy,omitempty"`
	Deployments            []deploymentRecord     `json:"deployments,omitempty"`
	Events                 []serviceEventRecord   `json:"events,omitempty"`
	Draining               []drainingRecord       `json:"draining,omitempty"`
}

type drainingRecord struct {
	TaskID string `json:"taskId"`
	Reason string `json:"reason,omitempty"`
}

type serviceLBRecord struct {
	TargetGroupARN string `json:"targetGroupArn"`
	ContainerName  string `json:"containerName"`
	ContainerPort  int    `json:"containerPort"`
}

type deploymentConfigRecord struct {
	MinimumHealthyPercent int  `json:"minimumHealthyPercent"`
	MaximumPercent        int  `json:"maximumPercent"`
	BreakerEnable         bool `json:"breakerEnable,omitempty"`
	BreakerRollback       bool `json:"breakerRollback,omitempty"`
}

type deploymentRecord struct {
	ID              string               `json:"id"`
	Status          string               `json:"status"`
	TaskDefinition  string               `json:"taskDefinition"`
	DesiredCount    int                  `json:"desiredCount"`
	FailedTasks     int                  `json:"failedTasks,omitempty"`
	CreatedAt       time.Time            `json:"createdAt"`
	UpdatedAt       time.Time            `json:"updatedAt"`
	LaunchType      string               `json:"launchType,omitempty"`
	Strategy        []strategyItemRecord `json:"strategy,omitempty"`
	PlatformVersion string               `json:"platformVersion,omitempty"`
	Network         *awsVpcRecord        `json:"network,omitempty"`
	// LoadBalancers is always written (an empty list when the deployment has none); a record
	// without it was stored before deployments kept their own and falls back to the service's.
	LoadBalancers      *[]serviceLBRecord `json:"loadBalancers,omitempty"`
	RolloutState       string             `json:"rolloutState,omitempty"`
	RolloutStateReason string             `json:"rolloutStateReason,omitempty"`
	Launched           int                `json:"launched,omitempty"`
}

type serviceEventRecord struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"createdAt"`
	Message   string    `json:"message"`
}

func strategyToRecords(in []model.CapacityProviderStrategyItem) []strategyItemRecord {
	return convertAll(in, func(s model.CapacityProviderStrategyItem) strategyItemRecord { return strategyItemRecord(s) })
}

func strategyFromRecords(in []strategyItemRecord) []model.CapacityProviderStrategyItem {
	return convertAll(in, func(s strategyItemRecord) model.CapacityProviderStrategyItem {
		return model.CapacityProviderStrategyItem(s)
	})
}

func awsVpcToRecord(n *model.AwsVpcConfiguration) *awsVpcRecord {
	return convertPtr(n, func(n model.AwsVpcConfiguration) awsVpcRecord { return awsVpcRecord(n) })
}

func awsVpcFromRecord(n *awsVpcRecord) *model.AwsVpcConfiguration {
	return convertPtr(n, func(n awsVpcRecord) model.AwsVpcConfiguration { return model.AwsVpcConfiguration(n) })
}

func lbsToRecords(in []model.ServiceLoadBalancer) []serviceLBRecord {
	return convertAll(in, func(l model.ServiceLoadBalancer) serviceLBRecord { return serviceLBRecord(l) })
}

func lbsFromRecords(in []serviceLBRecord) []model.ServiceLoadBalancer {
	return convertAll(in, func(l serviceLBRecord) model.ServiceLoadBalancer { return model.ServiceLoadBalancer(l) })
}

// lbsToRecordPtr writes a deployment's load balancers, an empty list when it has none, so a
// stored deployment without load balancers is told from one stored before they were kept.
func lbsToRecordPtr(in []model.ServiceLoadBalancer) *[]serviceLBRecord {
	out := lbsToRecords(in)
	if out == nil {
		out = []serviceLBRecord{}
	}
	return &out
}

// deploymentLBsFromRecord reads a deployment's load balancers; a deployment stored before
// deployments kept their own has the service's.
func deploymentLBsFromRecord(dep *[]serviceLBRecord, svc []serviceLBRecord) []model.ServiceLoadBalancer {
	if dep == nil {
		return lbsFromRecords(svc)
	}
	if len(*dep) == 0 {
		return nil
	}
	return lbsFromRecords(*dep)
}

func recordFromService(s model.Service) serviceRecord {
	return serviceRecord{
		Account: s.Scope.Account, Region: s.Scope.Region, Name: s.Name, Cluster: s.Cluster, Status: s.Status,
		DesiredCount: s.DesiredCount, TaskDefinition: s.TaskDefinition, LaunchType: s.LaunchType,
		Strategy: strategyToRecords(s.CapacityProviderStrategy), PlatformVersion: s.PlatformVersion,
		Network:                awsVpcToRecord(s.Network),
		LoadBalancers:          lbsToRecords(s.LoadBalancers),
		HealthCheckGracePeriod: s.HealthCheckGracePeriod,
		Deployment: deploymentConfigRecord{MinimumHealthyPercent: s.Deployment.MinimumHealthyPercent,
			MaximumPercent: s.Deployment.MaximumPercent, BreakerEnable: s.Deployment.CircuitBreaker.Enable,
			BreakerRollback: s.Deployment.CircuitBreaker.Rollback},
		PropagateTags: s.PropagateTags, EnableECSManagedTags: s.EnableECSManagedTags,
		EnableExecuteCommand: s.EnableExecuteCommand, Tags: tagsToRecords(s.Tags), ClientToken: s.ClientToken,
		CreatedAt: s.CreatedAt, CreatedBy: s.CreatedBy,
		Deployments: convertAll(s.Deployments, func(d model.Deployment) deploymentRecord {
			return deploymentRecord{ID: d.ID, Status: d.Status, TaskDefinition: d.TaskDefinition, DesiredCount: d.DesiredCount,
				FailedTasks: d.FailedTasks, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, LaunchType: d.LaunchType,
				Strategy: strategyToRecords(d.CapacityProviderStrategy), PlatformVersion: d.PlatformVersion,
				Network: awsVpcToRecord(d.Network), LoadBalancers: lbsToRecordPtr(d.LoadBalancers),
				RolloutState: d.RolloutState, RolloutStateReason: d.RolloutStateReason, Launched: d.Launched}
		}),
		Events:   convertAll(s.Events, func(e model.ServiceEvent) serviceEventRecord { return serviceEventRecord(e) }),
		Draining: convertAll(s.Draining, func(d model.DrainingTask) drainingRecord { return drainingRecord(d) }),
	}
}

func serviceFromRecord(r serviceRecord) model.Service {
	return model.Service{
		Scope: model.Scope{Account: r.Account, Region: r.Region}, Name: r.Name, Cluster: r.Cluster, Status: r.Status,
		DesiredCount: r.DesiredCount, TaskDefinition: r.TaskDefinition, LaunchType: r.LaunchType,
		CapacityProviderStrategy: strategyFromRecords(r.Strategy), PlatformVersion: r.PlatformVersion,
		Network:                awsVpcFromRecord(r.Network),
		LoadBalancers:          lbsFromRecords(r.LoadBalancers),
		HealthCheckGracePeriod: r.HealthCheckGracePeriod,
		Deployment: model.DeploymentConfiguration{MinimumHealthyPercent: r.Deployment.MinimumHealthyPercent,
			MaximumPercent: r.Deployment.MaximumPercent,
			CircuitBreaker: model.CircuitBreaker{Enable: r.Deployment.BreakerEnable, Rollback: r.Deployment.BreakerRollback}},
		PropagateTags: r.PropagateTags, EnableECSManagedTags: r.EnableECSManagedTags,
		EnableExecuteCommand: r.EnableExecuteCommand, Tags: tagsFromRecords(r.Tags), ClientToken: r.ClientToken,
		CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy,
		Deployments: convertAll(r.Deployments, func(d deploymentRecord) model.Deployment {
			return model.Deployment{ID: d.ID, Status: d.Status, TaskDefinition: d.TaskDefinition, DesiredCount: d.DesiredCount,
				FailedTasks: d.FailedTasks, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, LaunchType: d.LaunchType,
				CapacityProviderStrategy: strategyFromRecords(d.Strategy), PlatformVersion: d.PlatformVersion,
				Network: awsVpcFromRecord(d.Network), LoadBalancers: deploymentLBsFromRecord(d.LoadBalancers, r.LoadBalancers),
				RolloutState: d.RolloutState, RolloutStateReason: d.RolloutStateReason, Launched: d.Launched}
		}),
		Events:   convertAll(r.Events, func(e serviceEventRecord) model.ServiceEvent { return model.ServiceEvent(e) }),
		Draining: convertAll(r.Draining, func(d drainingRecord) model.DrainingTask { return model.DrainingTask(d) }),
	}
}
