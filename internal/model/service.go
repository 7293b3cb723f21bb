package model

import (
	"fmt"
	"math"
	"time"
)

// Service statuses.
const (
	ServiceActive   = "ACTIVE"
	ServiceDraining = "DRAINING"
	ServiceInactive = "INACTIVE"
)

// Deployment statuses and rollout states.
const (
	DeploymentPrimary  = "PRIMARY"
	DeploymentActive   = "ACTIVE"
	DeploymentInactive = "INACTIVE"

	RolloutInProgress = "IN_PROGRESS"
	RolloutCompleted  = "COMPLETED"
	RolloutFailed     = "FAILED"
)

// Defaults of a service's deployment configuration, as ECS sets them for a rolling update.
const (
	DefaultMinimumHealthyPercent = 100
	DefaultMaximumPercent        = 200
	// MaxServiceEvents is how many events a service keeps, as ECS shows at most 100.
	MaxServiceEvents = 100
)

// Circuit breaker bounds, as ECS documents them: the threshold is 0.5 x the desired count,
// at least 3 and at most 200.
const (
	circuitBreakerMin = 3
	circuitBreakerMax = 200
)

// ServiceLoadBalancer routes a target group to one container port of a service's tasks.
type ServiceLoadBalancer struct {
	TargetGroupARN string
	ContainerName  string
	ContainerPort  int
}

// CircuitBreaker is a deployment circuit breaker's setting.
type CircuitBreaker struct {
	Enable   bool
	Rollback bool
}

// DeploymentConfiguration bounds a rolling update.
type DeploymentConfiguration struct {
	MinimumHealthyPercent int
	MaximumPercent        int
	CircuitBreaker        CircuitBreaker
}

// Deployment is one revision of a service's task set: the tasks it starts carry its ID in
// startedBy.
type Deployment struct {
	// ID is "ecs-svc/" and 19 digits.
	ID                       string
	Status                   string
	TaskDefinition           string // ARN
	DesiredCount             int
	FailedTasks              int
	CreatedAt                time.Time
	UpdatedAt                time.Time
	LaunchType               string
	CapacityProviderStrategy []CapacityProviderStrategyItem
	PlatformVersion          string
	Network                  *AwsVpcConfiguration
	// LoadBalancers are the target groups this deployment's tasks are registered in, as the
	// service had them when the deployment was created: a later UpdateService that changes
	// them starts a new deployment and leaves this one's as they were.
	LoadBalancers      []ServiceLoadBalancer
	RolloutState       string
	RolloutStateReason string
	// Launched counts the task launches this deployment has asked for; each launch's client
	// token is derived from the deployment and its sequence number, so a retried launch is
	// never run twice.
	Launched int
}

// ServiceEvent is one line of a service's event log.
type ServiceEvent struct {
	ID        string
	CreatedAt time.Time
	Message   string
}

// Service keeps DesiredCount copies of a task definition running.
type Service struct {
	Scope                    Scope
	Name                     string
	Cluster                  string
	Status                   string
	DesiredCount             int
	TaskDefinition           string // ARN of the primary deployment's definition
	LaunchType               string
	CapacityProviderStrategy []CapacityProviderStrategyItem
	PlatformVersion          string
	Network                  *AwsVpcConfiguration
	LoadBalancers            []ServiceLoadBalancer
	// HealthCheckGracePeriod is in seconds; failed load balancer health checks are ignored
	// that long after a task starts.
	HealthCheckGracePeriod int
	Deployment             DeploymentConfiguration
	PropagateTags          string
	EnableECSManagedTags   bool
	EnableExecuteCommand   bool
	Tags                   []Tag
	ClientToken            string
	CreatedAt              time.Time
	CreatedBy              string
	// Deployments, newest first; the first is PRIMARY while the service is active.
	Deployments []Deployment
	// Events, newest first, at most MaxServiceEvents.
	Events []ServiceEvent
	// Draining are the tasks the service is taking out of its target groups before it stops
	// them (DEACTIVATING): deregistered, waiting for their targets to drain.
	Draining []DrainingTask
}

// DrainingTask is a task being deregistered before its stop, and why it is stopped.
type DrainingTask struct {
	TaskID string
	Reason string
}

// ServiceARN is the ARN of service name in cluster.
func ServiceARN(sc Scope, cluster, name string) string {
	return "arn:aws:ecs:" + sc.Region + ":" + sc.Account + ":service/" + cluster + "/" + name
}

// ARN is the service's ARN.
func (s Service) ARN() string { return ServiceARN(s.Scope, s.Cluster, s.Name) }

// Group is the task group of the service's tasks.
func (s Service) Group() string { return ServiceGroup(s.Name) }

// ServiceGroup is the task group of service name's tasks.
func ServiceGroup(name string) string { return "service:" + name }

// Primary returns the primary deployment; ok is false when there is none (an inactive service).
func (s Service) Primary() (Deployment, bool) {
	for _, d := range s.Deployments {
		if d.Status == DeploymentPrimary {
			return d, true
		}
	}
	return Deployment{}, false
}

// LoadBalancersOf returns the load balancers of the deployment with id deploymentID: those
// its tasks register in. A deployment the service no longer has falls back to the service's.
func (s Service) LoadBalancersOf(deploymentID string) []ServiceLoadBalancer {
	for _, d := range s.Deployments {
		if d.ID == deploymentID {
			return d.LoadBalancers
		}
	}
	return s.LoadBalancers
}

// HasLoadBalancers reports whether the service or any of its deployments has a load balancer.
func (s Service) HasLoadBalancers() bool {
	if len(s.LoadBalancers) > 0 {
		return true
	}
	for _, d := range s.Deployments {
		if len(d.LoadBalancers) > 0 {
			return true
		}
	}
	return false
}

// AddEvent puts an event at the head of the log, dropping the oldest beyond the limit.
func (s *Service) AddEvent(e ServiceEvent) {
	s.Events = append([]ServiceEvent{e}, s.Events...)
	if len(s.Events) > MaxServiceEvents {
		s.Events = s.Events[:MaxServiceEvents]
	}
}

// MinHealthy is the fewest healthy tasks a rollout keeps: minimumHealthyPercent of desired,
// rounded up.
func (c DeploymentConfiguration) MinHealthy(desired int) int {
	return int(math.Ceil(float64(desired) * float64(c.MinimumHealthyPercent) / 100))
}

// MaxTotal is the most tasks (running, pending or on their way down) a service may have:
// maximumPercent of desired, rounded down.
func (c DeploymentConfiguration) MaxTotal(desired int) int {
	return desired * c.MaximumPercent / 100
}

// CircuitBreakerThreshold is how many failed tasks fail a deployment of desired tasks: half
// the desired count (rounded up), at least 3 and at most 200.
func CircuitBreakerThreshold(desired int) int {
	n := (desired + 1) / 2
	return min(max(n, circuitBreakerMin), circuitBreakerMax)
}

// DeploymentID formats a deployment id from its 19-digit number.
func DeploymentID(n uint64) string { return fmt.Sprintf("ecs-svc/%019d", n%1e19) }

// Service event messages, worded as ECS words them.

// EventSteadyState is the message of a service that has reached a steady state.
func EventSteadyState(svc string) string {
	return "(service " + svc + ") has reached a steady state."
}

// EventStarted is the message of tasks a service started.
func EventStarted(svc string, taskIDs []string) string {
	return fmt.Sprintf("(service %s) has started %d tasks: %s.", svc, len(taskIDs), taskList(taskIDs))
}

// EventStopped is the message of running tasks a service stopped.
func EventStopped(svc string, taskIDs []string) string {
	return fmt.Sprintf("(service %s) has stopped %d running tasks: %s.", svc, len(taskIDs), taskList(taskIDs))
}

// EventRegistered is the message of targets a service registered in a target group.
func EventRegistered(svc string, n int, tg string) string {
	return fmt.Sprintf("(service %s) registered %d targets in (target-group %s)", svc, n, tg)
}

// EventDeregistered is the message of targets a service deregistered from a target group.
func EventDeregistered(svc string, n int, tg string) string {
	return fmt.Sprintf("(service %s) deregistered %d targets in (target-group %s)", svc, n, tg)
}

// EventDraining is the message of tasks whose connections a service began draining.
func EventDraining(svc string, n int) string {
	return fmt.Sprintf("(service %s) has begun draining connections on %d tasks.", svc, n)
}

// EventUnableToPlace is the message of a task a service could not place.
func EventUnableToPlace(svc, reason string) string {
	return "(service " + svc + ") was unable to place a task because no container instance met all of its requirements. Reason: " + reason
}

// EventDeploymentCompleted is the message of a deployment that completed.
func EventDeploymentCompleted(svc, dep string) string {
	return "(service " + svc + ") (deployment " + dep + ") deployment completed."
}

// EventDeploymentFailed is the message of a deployment the circuit breaker failed.
func EventDeploymentFailed(svc, dep string) string {
	return "(service " + svc + ") (deployment " + dep + ") deployment failed: tasks failed to start."
}

// EventRollingBack is the message of a service rolling back to an earlier deployment.
func EventRollingBack(svc, dep string) string {
	return "(service " + svc + ") rolling back to deployment " + dep + "."
}

// EventUnhealthy is the message of a task that failed its container health checks.
func EventUnhealthy(svc, task string) string {
	return "(service " + svc + ") (task " + task + ") failed container health checks."
}

// EventTargetUnhealthy is the message of a task its load balancer found unhealthy.
func EventTargetUnhealthy(svc, task string, port int, tg string) string {
	return fmt.Sprintf("(service %s) (task %s) (port %d) is unhealthy in (target-group %s) due to (reason Health checks failed).", svc, task, port, tg)
}

// Rollout reasons, worded as ECS words them.
func RolloutReasonInProgress(dep string) string { return "ECS deployment " + dep + " in progress." }

// RolloutReasonCompleted is the rolloutStateReason of a completed deployment.
func RolloutReasonCompleted(dep string) string { return "ECS deployment " + dep + " completed." }

// RolloutReasonFailed is the rolloutStateReason of a deployment the circuit breaker failed.
const RolloutReasonFailed = "ECS deployment circuit breaker: tasks failed to start."

// RolloutReasonRollback is the rolloutStateReason of a deployment that rolls back to dep.
func RolloutReasonRollback(dep string) string {
	return "ECS deployment circuit breaker: rolling back to deploymentId " + dep + "."
}

// Stop reasons of the tasks a service stops.
const (
	StopReasonUnhealthy = "Task failed container health checks"
)

// StopReasonScaling is the reason of a task a deployment's scaling stopped.
func StopReasonScaling(dep string) string {
	return "Scaling activity initiated by (deployment " + dep + ")"
}

// StopReasonELB is the reason of a task stopped for failing its load balancer's health checks.
func StopReasonELB(tg string) string {
	return "Task failed ELB health checks in (target-group " + tg + ")"
}

func taskList(ids []string) string {
	out := ""
	for i, id := range ids {
		if i > 0 {
			out += " "
		}
		out += "(task " + id + ")"
	}
	return out
}
