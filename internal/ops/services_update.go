package ops

import (
	"context"
	"errors"
	"reflect"
	"slices"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// UpdateServiceInput is UpdateService's request; nil members stay as they are.
type UpdateServiceInput struct {
	Cluster                  string
	Service                  string
	DesiredCount             *int
	TaskDefinition           string
	CapacityProviderStrategy []model.CapacityProviderStrategyItem
	PlatformVersion          string
	Network                  *model.AwsVpcConfiguration
	LoadBalancers            *[]model.ServiceLoadBalancer
	HealthCheckGracePeriod   *int
	Deployment               *DeploymentConfigurationInput
	ForceNewDeployment       bool
	PropagateTags            string
	EnableECSManagedTags     *bool
	EnableExecuteCommand     *bool
}

// UpdateService changes a service. A change to what its tasks run (task definition, network,
// platform version, capacity providers, load balancers) or forceNewDeployment starts a new
// PRIMARY deployment; the previous primary becomes ACTIVE and the controller rolls over.
func (e *ECS) UpdateService(ctx context.Context, sc model.Scope, in UpdateServiceInput) (ServiceDetail, error) {
	if in.DesiredCount != nil {
		if err := validateDesiredCount(*in.DesiredCount); err != nil {
			return ServiceDetail{}, err
		}
	}
	if err := validatePlatformVersion(in.PlatformVersion); err != nil {
		return ServiceDetail{}, err
	}
	if err := validateGrace(in.HealthCheckGracePeriod); err != nil {
		return ServiceDetail{}, err
	}
	if in.Network != nil {
		if err := validateAwsVpc(*in.Network); err != nil {
			return ServiceDetail{}, err
		}
	}
	if in.LoadBalancers != nil {
		if err := validateLoadBalancerShapes(*in.LoadBalancers); err != nil {
			return ServiceDetail{}, err
		}
	}
	switch in.PropagateTags {
	case "", propagateNone, propagateTaskDef, propagateService:
	default:
		return ServiceDetail{}, apierr.Errorf(apierr.InvalidParameter, "propagateTags %q is not valid. Valid values are: TASK_DEFINITION, SERVICE, NONE.", in.PropagateTags)
	}
	cl, err := e.Cluster(ctx, sc, in.Cluster)
	if err != nil {
		return ServiceDetail{}, err
	}
	cur, err := e.service(ctx, sc, cl, in.Service)
	if err != nil {
		return ServiceDetail{}, err
	}
	if cur.Value.Status != model.ServiceActive {
		return ServiceDetail{}, errServiceInactive
	}
	tdARN := cur.Value.TaskDefinition
	td, err := e.TaskDefinition(ctx, sc, tdARN)
	if in.TaskDefinition != "" {
		if td, err = e.TaskDefinition(ctx, sc, in.TaskDefinition); err != nil {
			return ServiceDetail{}, err
		}
		tdARN = td.ARN()
	}
	if err != nil {
		return ServiceDetail{}, err
	}
	network := cur.Value.Network
	if in.Network != nil {
		if _, err := e.checkAwsVpc(ctx, sc, *in.Network); err != nil {
			return ServiceDetail{}, err
		}
		network = in.Network
	}
	if in.TaskDefinition != "" {
		if err := e.checkServiceTaskDef(td, network); err != nil {
			return ServiceDetail{}, err
		}
	}
	lbs := cur.Value.LoadBalancers
	if in.LoadBalancers != nil {
		lbs = *in.LoadBalancers
	}
	if in.LoadBalancers != nil || in.TaskDefinition != "" {
		if err := e.checkLoadBalancers(ctx, sc, td, lbs); err != nil {
			return ServiceDetail{}, err
		}
	}
	dc := cur.Value.Deployment
	if err := applyDeploymentConfig(&dc, in.Deployment); err != nil {
		return ServiceDetail{}, err
	}
	now := e.now().UTC()
	depID := newDeploymentID()
	v, err := e.store.Services().Mutate(ctx, sc, cl.Name, cur.Value.Name, func(s *model.Service) error {
		if s.Status != model.ServiceActive {
			return errServiceInactive
		}
		if in.DesiredCount != nil {
			s.DesiredCount = *in.DesiredCount
		}
		s.Deployment = dc
		if in.HealthCheckGracePeriod != nil {
			s.HealthCheckGracePeriod = *in.HealthCheckGracePeriod
		}
		if in.PropagateTags != "" {
			s.PropagateTags = in.PropagateTags
		}
		if in.EnableECSManagedTags != nil {
			s.EnableECSManagedTags = *in.EnableECSManagedTags
		}
		if in.EnableExecuteCommand != nil {
			s.EnableExecuteCommand = *in.EnableExecuteCommand
		}
		strategy := s.CapacityProviderStrategy
		launchType := s.LaunchType
		if len(in.CapacityProviderStrategy) > 0 {
			strategy, launchType = in.CapacityProviderStrategy, ""
		}
		platform := s.PlatformVersion
		if in.PlatformVersion != "" {
			platform = in.PlatformVersion
		}
		lbs := s.LoadBalancers
		if in.LoadBalancers != nil {
			lbs = *in.LoadBalancers
		}
		changed := in.ForceNewDeployment || tdARN != s.TaskDefinition || !reflect.DeepEqual(network, s.Network) ||
			!slices.Equal(lbs, s.LoadBalancers) || !reflect.DeepEqual(strategy, s.CapacityProviderStrategy) ||
			platform != s.PlatformVersion
		if len(lbs) == 0 {
			lbs = nil
		}
		s.TaskDefinition, s.Network, s.LoadBalancers, s.CapacityProviderStrategy, s.LaunchType, s.PlatformVersion =
			tdARN, network, lbs, strategy, launchType, platform
		if !changed {
			for i := range s.Deployments {
				if s.Deployments[i].Status == model.DeploymentPrimary {
					s.Deployments[i].DesiredCount = s.DesiredCount
					if s.Deployments[i].RolloutState == model.RolloutCompleted && in.DesiredCount != nil {
						s.Deployments[i].UpdatedAt = now
					}
				}
			}
			return nil
		}
		for i := range s.Deployments {
			if s.Deployments[i].Status == model.DeploymentPrimary {
				s.Deployments[i].Status, s.Deployments[i].UpdatedAt = model.DeploymentActive, now
			}
		}
		d := model.Deployment{ID: depID, Status: model.DeploymentPrimary, TaskDefinition: tdARN, DesiredCount: s.DesiredCount,
			CreatedAt: now, UpdatedAt: now, LaunchType: launchType, CapacityProviderStrategy: strategy,
			PlatformVersion: platform, Network: network, LoadBalancers: slices.Clone(lbs), RolloutState: model.RolloutInProgress,
			RolloutStateReason: model.RolloutReasonInProgress(depID)}
		s.Deployments = append([]model.Deployment{d}, s.Deployments...)
		return nil
	})
	if errors.Is(err, apierr.NotFound) {
		return ServiceDetail{}, errServiceNotFound
	}
	if err != nil {
		return ServiceDetail{}, err
	}
	return e.serviceDetail(ctx, v.Value)
}

// DescribeServices describes up to 10 services of a cluster; missing ones are MISSING failures.
// Tags are shown only withTags.
func (e *ECS) DescribeServices(ctx context.Context, sc model.Scope, cluster string, refs []string, withTags bool) ([]ServiceDetail, []ServiceFailure, error) {
	if len(refs) == 0 {
		return nil, nil, apierr.New(apierr.InvalidParameter, "Services cannot be empty.")
	}
	if len(refs) > maxDescribeServices {
		return nil, nil, apierr.Errorf(apierr.InvalidParameter, "Too many services were given: %d. DescribeServices takes at most %d.", len(refs), maxDescribeServices)
	}
	cl, err := e.Cluster(ctx, sc, cluster)
	if err != nil {
		return nil, nil, err
	}
	out, failures := []ServiceDetail{}, []ServiceFailure{}
	for _, ref := range refs {
		v, err := e.service(ctx, sc, cl, ref)
		if errors.Is(err, errServiceNotFound) {
			arn := ref
			if name, ok := serviceRef(sc, cl.Name, ref); ok {
				arn = model.ServiceARN(sc, cl.Name, name)
			}
			failures = append(failures, ServiceFailure{ARN: arn, Reason: failureMissing})
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		d, err := e.serviceDetail(ctx, v.Value)
		if err != nil {
			return nil, nil, err
		}
		if !withTags {
			d.Service.Tags = nil
		}
		out = append(out, d)
	}
	return out, failures, nil
}

// ListServicesInput is ListServices' request.
type ListServicesInput struct {
	Cluster            string
	LaunchType         string
	SchedulingStrategy string
	NextToken          string
	MaxResults         *int
}

// ListServices lists the ARNs of a cluster's active and draining services, a page at a time.
func (e *ECS) ListServices(ctx context.Context, sc model.Scope, in ListServicesInput) ([]string, string, error) {
	limit := defaultListServices
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > maxListResults {
			return nil, "", apierr.Errorf(apierr.InvalidParameter, "maxResults must be between 1 and %d.", maxListResults)
		}
		limit = *in.MaxResults
	}
	switch in.LaunchType {
	case "", model.CompatibilityFargate, model.CompatibilityEC2, model.CompatibilityExternal, "MANAGED_INSTANCES":
	default:
		return nil, "", apierr.Errorf(apierr.InvalidParameter, "launchType %q is not valid. Valid values are: EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES.", in.LaunchType)
	}
	switch in.SchedulingStrategy {
	case "", schedulingReplica, "DAEMON":
	default:
		return nil, "", apierr.Errorf(apierr.InvalidParameter, "schedulingStrategy %q is not valid. Valid values are: REPLICA, DAEMON.", in.SchedulingStrategy)
	}
	after, err := decodeNameToken(in.NextToken)
	if err != nil {
		return nil, "", err
	}
	cl, err := e.Cluster(ctx, sc, in.Cluster)
	if err != nil {
		return nil, "", err
	}
	arns := []string{}
	for {
		page, err := e.store.Services().List(ctx, sc, cl.Name, after, maxListResults)
		if err != nil {
			return nil, "", err
		}
		for i, it := range page.Items {
			s := it.Value
			after = s.Name
			if s.Status == model.ServiceInactive || in.SchedulingStrategy == "DAEMON" ||
				(in.LaunchType != "" && s.LaunchType != in.LaunchType && !(in.LaunchType == model.CompatibilityFargate && s.LaunchType == "")) {
				continue
			}
			arns = append(arns, s.ARN())
			if len(arns) == limit {
				if i < len(page.Items)-1 || page.More {
					return arns, encodeNameToken(after), nil
				}
				return arns, "", nil
			}
		}
		if !page.More || len(page.Items) == 0 {
			return arns, "", nil
		}
	}
}

// DeleteService marks a service DRAINING; the controller stops its tasks and then marks it
// INACTIVE. A service that still wants tasks is refused unless force is set, as ECS refuses it.
func (e *ECS) DeleteService(ctx context.Context, sc model.Scope, cluster, ref string, force bool) (ServiceDetail, error) {
	cl, err := e.Cluster(ctx, sc, cluster)
	if err != nil {
		return ServiceDetail{}, err
	}
	cur, err := e.service(ctx, sc, cl, ref)
	if err != nil {
		return ServiceDetail{}, err
	}
	v, err := e.store.Services().Mutate(ctx, sc, cl.Name, cur.Value.Name, func(s *model.Service) error {
		if s.Status != model.ServiceActive {
			return errServiceInactive
		}
		if s.DesiredCount > 0 && !force {
			return apierr.New(apierr.InvalidParameter, "The service cannot be stopped while it is scaled above 0.")
		}
		s.Status, s.DesiredCount = model.ServiceDraining, 0
		return nil
	})
	if errors.Is(err, apierr.NotFound) {
		return ServiceDetail{}, errServiceNotFound
	}
	if err != nil {
		return ServiceDetail{}, err
	}
	return e.serviceDetail(ctx, v.Value)
}

// countServices adds a cluster's active and draining services to its task counts.
func (e *ECS) countTasksAndServices(ctx context.Context, sc model.Scope, name string) (model.ClusterCounts, error) {
	n, err := e.countTasks(ctx, sc, name)
	if err != nil {
		return n, err
	}
	after := ""
	for {
		page, err := e.store.Services().List(ctx, sc, name, after, 500)
		if err != nil {
			return n, err
		}
		for _, it := range page.Items {
			switch it.Value.Status {
			case model.ServiceActive:
				n.ActiveFargateServices++
			case model.ServiceDraining:
				n.DrainingFargateServices++
			}
			after = it.Value.Name
		}
		if !page.More || len(page.Items) == 0 {
			return n, nil
		}
	}
}
