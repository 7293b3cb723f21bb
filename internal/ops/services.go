package ops

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// ECS services: the API half. CreateService stores the service with one PRIMARY deployment;
// UpdateService adds a new PRIMARY deployment when what the tasks run changes; the service
// controller (internal/controller/service) launches, replaces and retires tasks.

// Limits and values of the service operations.
const (
	maxServiceNameLen      = 255
	maxDescribeServices    = 10
	defaultListServices    = 10
	maxGracePeriod         = 2147483647
	schedulingReplica      = "REPLICA"
	deploymentControllerEC = "ECS"
	serviceCreatedBy       = "arn:aws:iam::%s:root"
)

var (
	serviceNameRE      = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	errServiceNotFound = apierr.New(apierr.ServiceNotFound, "Service not found.")
	errServiceInactive = apierr.New(apierr.ServiceNotActive, "Service was not ACTIVE.")
)

// TargetGroupInfo is what service validation needs of a target group.
type TargetGroupInfo struct {
	ARN        string
	TargetType string // ip, instance, lambda, alb
	VpcID      string
	// Attached says a load balancer's listener or rule forwards to the group.
	Attached bool
}

// TargetGroupLookup finds a target group by ARN; a missing one is apierr.NotFound.
type TargetGroupLookup func(ctx context.Context, sc model.Scope, arn string) (TargetGroupInfo, error)

// SetTargetGroups sets how services check their loadBalancers' target groups (the ELBv2
// operations). Unset, target groups are not checked.
func (e *ECS) SetTargetGroups(f TargetGroupLookup) { e.targetGroups = f }

// ServiceDetail is a service with its tasks counted: per deployment and in all.
type ServiceDetail struct {
	Service model.Service
	Running int
	Pending int
	// Counts by deployment id.
	DeploymentRunning map[string]int
	DeploymentPending map[string]int
}

// ServiceFailure is an entry of DescribeServices' failures.
type ServiceFailure struct {
	ARN    string
	Reason string
}

// CreateServiceInput is CreateService's request.
type CreateServiceInput struct {
	Cluster                  string
	ServiceName              string
	TaskDefinition           string
	DesiredCount             *int
	LaunchType               string
	CapacityProviderStrategy []model.CapacityProviderStrategyItem
	PlatformVersion          string
	Network                  *model.AwsVpcConfiguration
	LoadBalancers            []model.ServiceLoadBalancer
	HealthCheckGracePeriod   *int
	Deployment               *DeploymentConfigurationInput
	PropagateTags            string
	EnableECSManagedTags     bool
	EnableExecuteCommand     bool
	Tags                     []model.Tag
	ClientToken              string
	SchedulingStrategy       string
	DeploymentController     string
}

// DeploymentConfigurationInput is a deploymentConfiguration as given; nil members keep their
// current (or default) values.
type DeploymentConfigurationInput struct {
	MinimumHealthyPercent *int
	MaximumPercent        *int
	CircuitBreaker        *model.CircuitBreaker
}

// CreateService validates in as ECS does and stores an ACTIVE service with one PRIMARY
// deployment. A retried call with the same clientToken answers the same service.
func (e *ECS) CreateService(ctx context.Context, sc model.Scope, in CreateServiceInput) (ServiceDetail, error) {
	if err := validateCreateService(in); err != nil {
		return ServiceDetail{}, err
	}
	cl, err := e.Cluster(ctx, sc, in.Cluster)
	if err != nil {
		return ServiceDetail{}, err
	}
	td, err := e.TaskDefinition(ctx, sc, in.TaskDefinition)
	if err != nil {
		return ServiceDetail{}, err
	}
	if err := e.checkServiceTaskDef(td, in.Network); err != nil {
		return ServiceDetail{}, err
	}
	if in.Network != nil {
		if _, err := e.checkAwsVpc(ctx, sc, *in.Network); err != nil {
			return ServiceDetail{}, err
		}
	}
	if err := e.checkLoadBalancers(ctx, sc, td, in.LoadBalancers); err != nil {
		return ServiceDetail{}, err
	}
	dc := model.DeploymentConfiguration{MinimumHealthyPercent: model.DefaultMinimumHealthyPercent, MaximumPercent: model.DefaultMaximumPercent}
	if err := applyDeploymentConfig(&dc, in.Deployment); err != nil {
		return ServiceDetail{}, err
	}
	now := e.now().UTC()
	strategy := in.CapacityProviderStrategy
	launchType := in.LaunchType
	if launchType == "" && len(strategy) == 0 {
		if strategy = cl.DefaultCapacityProviderStrategy; len(strategy) == 0 {
			launchType = model.CompatibilityFargate
		}
	}
	dep := model.Deployment{ID: newDeploymentID(), Status: model.DeploymentPrimary, TaskDefinition: td.ARN(),
		DesiredCount: *in.DesiredCount, CreatedAt: now, UpdatedAt: now, LaunchType: launchType,
		CapacityProviderStrategy: strategy, PlatformVersion: platformOf(launchType, in.PlatformVersion), Network: in.Network,
		LoadBalancers: slices.Clone(in.LoadBalancers), RolloutState: model.RolloutInProgress}
	dep.RolloutStateReason = model.RolloutReasonInProgress(dep.ID)
	svc := model.Service{
		Scope: sc, Name: in.ServiceName, Cluster: cl.Name, Status: model.ServiceActive, DesiredCount: *in.DesiredCount,
		TaskDefinition: td.ARN(), LaunchType: launchType, CapacityProviderStrategy: strategy,
		PlatformVersion: dep.PlatformVersion, Network: in.Network, LoadBalancers: in.LoadBalancers,
		HealthCheckGracePeriod: deref(in.HealthCheckGracePeriod), Deployment: dc,
		PropagateTags: cmp.Or(in.PropagateTags, propagateNone), EnableECSManagedTags: in.EnableECSManagedTags,
		EnableExecuteCommand: in.EnableExecuteCommand, Tags: in.Tags, ClientToken: in.ClientToken, CreatedAt: now,
		CreatedBy: fmt.Sprintf(serviceCreatedBy, sc.Account), Deployments: []model.Deployment{dep},
	}
	for {
		cur, err := e.store.Services().Get(ctx, sc, cl.Name, in.ServiceName)
		switch {
		case errors.Is(err, apierr.NotFound):
			_, err = e.store.Services().Create(ctx, svc)
		case err != nil:
			return ServiceDetail{}, err
		case cur.Value.Status == model.ServiceInactive:
			_, err = e.store.Services().Update(ctx, svc, cur.Revision)
		case in.ClientToken != "" && cur.Value.ClientToken == in.ClientToken:
			return e.serviceDetail(ctx, cur.Value)
		default:
			return ServiceDetail{}, apierr.New(apierr.InvalidParameter, "Creation of service was not idempotent.")
		}
		if err == nil {
			return e.serviceDetail(ctx, svc)
		}
		if !errors.Is(err, apierr.Conflict) && !errors.Is(err, apierr.AlreadyExists) {
			return ServiceDetail{}, err
		}
	}
}

func validateCreateService(in CreateServiceInput) error {
	if in.ServiceName == "" {
		return apierr.New(apierr.InvalidParameter, "serviceName can not be blank.")
	}
	if len(in.ServiceName) > maxServiceNameLen || !serviceNameRE.MatchString(in.ServiceName) {
		return apierr.Errorf(apierr.InvalidParameter, "Invalid service name %q: up to %d letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.", in.ServiceName, maxServiceNameLen)
	}
	if in.TaskDefinition == "" {
		return apierr.New(apierr.InvalidParameter, "taskDefinition can not be blank.")
	}
	switch in.SchedulingStrategy {
	case "", schedulingReplica:
	case "DAEMON":
		return apierr.New(apierr.InvalidParameter, "The DAEMON scheduling strategy is not supported with launch type FARGATE. Valid values are: REPLICA.")
	default:
		return apierr.Errorf(apierr.InvalidParameter, "schedulingStrategy %q is not valid. Valid values are: REPLICA, DAEMON.", in.SchedulingStrategy)
	}
	switch in.DeploymentController {
	case "", deploymentControllerEC:
	case "CODE_DEPLOY", "EXTERNAL":
		return apierr.Errorf(apierr.Unsupported, "deploymentController type %s is not supported. Valid values are: ECS.", in.DeploymentController)
	default:
		return apierr.Errorf(apierr.InvalidParameter, "deploymentController type %q is not valid. Valid values are: ECS, CODE_DEPLOY, EXTERNAL.", in.DeploymentController)
	}
	if in.DesiredCount == nil {
		return apierr.New(apierr.InvalidParameter, "desiredCount can not be blank: it is required for the REPLICA scheduling strategy.")
	}
	if err := validateDesiredCount(*in.DesiredCount); err != nil {
		return err
	}
	if err := validateLaunchChoice(in.LaunchType, in.CapacityProviderStrategy); err != nil {
		return err
	}
	if err := validatePlatformVersion(in.PlatformVersion); err != nil {
		return err
	}
	if err := validateGrace(in.HealthCheckGracePeriod); err != nil {
		return err
	}
	switch in.PropagateTags {
	case "", propagateNone, propagateTaskDef, propagateService:
	default:
		return apierr.Errorf(apierr.InvalidParameter, "propagateTags %q is not valid. Valid values are: TASK_DEFINITION, SERVICE, NONE.", in.PropagateTags)
	}
	if err := validateTagList(in.Tags); err != nil {
		return err
	}
	if err := validateClientToken(in.ClientToken); err != nil {
		return err
	}
	if in.Network != nil {
		if err := validateAwsVpc(*in.Network); err != nil {
			return err
		}
	}
	return validateLoadBalancerShapes(in.LoadBalancers)
}

func validateDesiredCount(n int) error {
	if n < 0 {
		return apierr.Errorf(apierr.InvalidParameter, "desiredCount must be at least 0; %d was given.", n)
	}
	return nil
}

func validatePlatformVersion(v string) error {
	switch v {
	case "", platformLatest, platformVersion14:
		return nil
	}
	return apierr.Errorf(apierr.InvalidParameter, "The specified platform version %q does not exist. Valid values are: LATEST, 1.4.0.", v)
}

func validateGrace(g *int) error {
	if g != nil && (*g < 0 || *g > maxGracePeriod) {
		return apierr.Errorf(apierr.InvalidParameter, "healthCheckGracePeriodSeconds must be between 0 and %d.", maxGracePeriod)
	}
	return nil
}

func validateLoadBalancerShapes(lbs []model.ServiceLoadBalancer) error {
	if len(lbs) > 5 {
		return apierr.Errorf(apierr.InvalidParameter, "loadBalancers can have at most 5 items; %d were given.", len(lbs))
	}
	for _, lb := range lbs {
		switch {
		case lb.TargetGroupARN == "":
			return apierr.New(apierr.InvalidParameter, "Target Group ARN can not be blank.")
		case lb.ContainerName == "":
			return apierr.New(apierr.InvalidParameter, "containerName can not be blank.")
		case lb.ContainerPort < 1 || lb.ContainerPort > 65535:
			return apierr.New(apierr.InvalidParameter, "containerPort must be between 1 and 65535.")
		}
	}
	return nil
}

// applyDeploymentConfig merges in into dc and checks the result.
func applyDeploymentConfig(dc *model.DeploymentConfiguration, in *DeploymentConfigurationInput) error {
	if in != nil {
		if in.MinimumHealthyPercent != nil {
			dc.MinimumHealthyPercent = *in.MinimumHealthyPercent
		}
		if in.MaximumPercent != nil {
			dc.MaximumPercent = *in.MaximumPercent
		}
		if in.CircuitBreaker != nil {
			dc.CircuitBreaker = *in.CircuitBreaker
		}
	}
	switch {
	case dc.MinimumHealthyPercent < 0 || dc.MinimumHealthyPercent > 100:
		return apierr.Errorf(apierr.InvalidParameter, "minimumHealthyPercent must be between 0 and 100; %d was given.", dc.MinimumHealthyPercent)
	case dc.MaximumPercent < 100:
		return apierr.Errorf(apierr.InvalidParameter, "maximumPercent must be at least 100 for the REPLICA scheduling strategy; %d was given.", dc.MaximumPercent)
	case dc.MaximumPercent > 200*100:
		return apierr.Errorf(apierr.InvalidParameter, "maximumPercent is too large: %d.", dc.MaximumPercent)
	}
	return nil
}

// checkServiceTaskDef checks that a definition can run as a Fargate service task.
func (e *ECS) checkServiceTaskDef(td model.TaskDefinition, n *model.AwsVpcConfiguration) error {
	if td.Status != model.TaskDefinitionActive {
		return apierr.New(apierr.Client, "TaskDefinition is inactive")
	}
	if !slices.Contains(td.Compatibilities, model.CompatibilityFargate) {
		return apierr.New(apierr.InvalidParameter, "Task definition does not support launch_type FARGATE.")
	}
	if td.NetworkMode == model.NetworkModeAwsvpc && n == nil {
		return errNetworkRequired
	}
	return nil
}

// checkLoadBalancers checks each load balancer's container and port against the definition,
// and its target group (type ip, as awsvpc needs) when target groups can be looked up.
func (e *ECS) checkLoadBalancers(ctx context.Context, sc model.Scope, td model.TaskDefinition, lbs []model.ServiceLoadBalancer) error {
	for _, lb := range lbs {
		i := slices.IndexFunc(td.ContainerDefinitions, func(c model.ContainerDefinition) bool { return c.Name == lb.ContainerName })
		if i < 0 {
			return apierr.Errorf(apierr.InvalidParameter, "The container %s does not exist in the task definition.", lb.ContainerName)
		}
		if !slices.ContainsFunc(td.ContainerDefinitions[i].PortMappings, func(p model.PortMapping) bool {
			return p.ContainerPort != nil && *p.ContainerPort == lb.ContainerPort
		}) {
			return apierr.Errorf(apierr.InvalidParameter, "The container %s did not have a container port %d defined.", lb.ContainerName, lb.ContainerPort)
		}
		if e.targetGroups == nil {
			continue
		}
		tg, err := e.targetGroups(ctx, sc, lb.TargetGroupARN)
		if errors.Is(err, apierr.NotFound) {
			return apierr.Errorf(apierr.InvalidParameter, "Unable to assume role and validate the specified targetGroupArn. Please verify that the ECS service role being passed has the proper permissions. Target group %s not found.", lb.TargetGroupARN)
		}
		if err != nil {
			return err
		}
		if !tg.Attached {
			return apierr.Errorf(apierr.InvalidParameter, "The target group with targetGroupArn %s does not have an associated load balancer.", lb.TargetGroupARN)
		}
		if tg.TargetType != "ip" {
			return apierr.Errorf(apierr.InvalidParameter, "The provided target group %s has target type %s, which is incompatible with the awsvpc network mode specified in the task definition.", lb.TargetGroupARN, tg.TargetType)
		}
	}
	return nil
}

func platformOf(launchType, asked string) string {
	if launchType == model.CompatibilityFargate || asked != "" {
		return cmp.Or(asked, platformLatest)
	}
	return ""
}

// newDeploymentID is "ecs-svc/" and 19 random digits.
func newDeploymentID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return model.DeploymentID(binary.BigEndian.Uint64(b[:]))
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// serviceRef resolves a service name or ARN in a cluster.
func serviceRef(sc model.Scope, cluster, ref string) (string, bool) {
	if !strings.HasPrefix(ref, "arn:") {
		return ref, ref != "" && !strings.Contains(ref, "/")
	}
	r, err := parseECSResourceARN(ref)
	if err != nil || r.Type != "service" || r.Scope != sc {
		return "", false
	}
	c, name, found := strings.Cut(r.ID, "/")
	if !found {
		return r.ID, true // the old format: service/<name>
	}
	return name, c == cluster
}

// service reads an existing service of a cluster; INACTIVE ones are returned too.
func (e *ECS) service(ctx context.Context, sc model.Scope, cl model.Cluster, ref string) (store.Versioned[model.Service], error) {
	if ref == "" {
		return store.Versioned[model.Service]{}, apierr.New(apierr.InvalidParameter, "service can not be blank.")
	}
	name, ok := serviceRef(sc, cl.Name, ref)
	if !ok {
		return store.Versioned[model.Service]{}, errServiceNotFound
	}
	v, err := e.store.Services().Get(ctx, sc, cl.Name, name)
	if errors.Is(err, apierr.NotFound) {
		return v, errServiceNotFound
	}
	return v, err
}

// serviceDetail counts a service's running and pending tasks, in all and per deployment.
func (e *ECS) serviceDetail(ctx context.Context, s model.Service) (ServiceDetail, error) {
	d := ServiceDetail{Service: s, DeploymentRunning: map[string]int{}, DeploymentPending: map[string]int{}}
	after := ""
	group := s.Group()
	for {
		page, err := e.store.Tasks().List(ctx, s.Scope, s.Cluster, after, 500)
		if err != nil {
			return ServiceDetail{}, err
		}
		for _, it := range page.Items {
			t := it.Value
			after = t.ID
			if t.Group != group || t.LastStatus == model.TaskStopped {
				continue
			}
			if t.LastStatus == model.TaskRunning {
				d.Running++
				d.DeploymentRunning[t.StartedBy]++
			} else if t.DesiredStatus != model.TaskStopped && !model.TaskRunning.CanMoveTo(t.LastStatus) {
				d.Pending++
				d.DeploymentPending[t.StartedBy]++
			}
		}
		if !page.More || len(page.Items) == 0 {
			return d, nil
		}
	}
}
