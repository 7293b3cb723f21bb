package model

import (
	"fmt"
	"time"
)

// TaskStatus is a step of a task's lifecycle, as ECS reports it in lastStatus and desiredStatus.
type TaskStatus string

// The lifecycle of REFERENCE.md, in order.
const (
	TaskProvisioning   TaskStatus = "PROVISIONING"
	TaskPending        TaskStatus = "PENDING"
	TaskActivating     TaskStatus = "ACTIVATING"
	TaskRunning        TaskStatus = "RUNNING"
	TaskDeactivating   TaskStatus = "DEACTIVATING"
	TaskStopping       TaskStatus = "STOPPING"
	TaskDeprovisioning TaskStatus = "DEPROVISIONING"
	TaskStopped        TaskStatus = "STOPPED"
)

// taskOrder ranks statuses; a task only ever moves forward.
var taskOrder = map[TaskStatus]int{
	TaskProvisioning: 1, TaskPending: 2, TaskActivating: 3, TaskRunning: 4,
	TaskDeactivating: 5, TaskStopping: 6, TaskDeprovisioning: 7, TaskStopped: 8,
}

// Valid reports whether s is a known status.
func (s TaskStatus) Valid() bool { return taskOrder[s] != 0 }

// CanMoveTo reports whether a task in status s may next be in status next. Statuses move forward
// only; steps may be skipped (a task that fails to pull goes from PENDING to STOPPED), and a
// status may be reported again.
func (s TaskStatus) CanMoveTo(next TaskStatus) bool {
	a, b := taskOrder[s], taskOrder[next]
	return a != 0 && b != 0 && b >= a
}

// MoveTo returns next if the transition is legal, and an error naming both otherwise.
func (s TaskStatus) MoveTo(next TaskStatus) (TaskStatus, error) {
	if !s.CanMoveTo(next) {
		return s, fmt.Errorf("task status cannot move from %s to %s", s, next)
	}
	return next, nil
}

// Stop codes of a stopped task.
const (
	StopTaskFailedToStart        = "TaskFailedToStart"
	StopEssentialContainerExited = "EssentialContainerExited"
	StopUserInitiated            = "UserInitiated"
	StopServiceSchedulerInit     = "ServiceSchedulerInitiated"
	StopSpotInterruption         = "SpotInterruption"
	StopTerminationNotice        = "TerminationNotice"
)

// DefaultEphemeralStorageGiB is the ephemeral storage of a Fargate task that asks for none.
const DefaultEphemeralStorageGiB = 20

// EphemeralGiB is the task's ephemeral storage in GiB.
func (t Task) EphemeralGiB() int {
	if t.EphemeralStorageGiB > 0 {
		return t.EphemeralStorageGiB
	}
	return EphemeralStorageFor(TaskDefinition{}, t.Overrides)
}

// EphemeralStorageFor is the ephemeral storage in GiB of a task of td run with overrides o.
func EphemeralStorageFor(td TaskDefinition, o TaskOverride) int {
	switch {
	case o.EphemeralStorage != nil:
		return o.EphemeralStorage.SizeInGiB
	case td.EphemeralStorage != nil:
		return td.EphemeralStorage.SizeInGiB
	}
	return DefaultEphemeralStorageGiB
}

// OOMReason is the reason of a container killed for exceeding its memory.
const OOMReason = "OutOfMemoryError: Container killed due to memory usage"

// TaskTimes are the timestamps ECS reports; zero means not yet.
type TaskTimes struct {
	CreatedAt          time.Time
	PullStartedAt      time.Time
	PullStoppedAt      time.Time
	StartedAt          time.Time
	StoppingAt         time.Time
	ExecutionStoppedAt time.Time
	StoppedAt          time.Time
	ConnectivityAt     time.Time
}

// Task health statuses (task and container).
const (
	HealthHealthy   = "HEALTHY"
	HealthUnhealthy = "UNHEALTHY"
	HealthUnknown   = "UNKNOWN"
)

// Container statuses as ECS reports them.
const (
	ContainerPending = "PENDING"
	ContainerRunning = "RUNNING"
	ContainerStopped = "STOPPED"
)

// Task is one run of a task definition: what was asked for, where it was placed, and what is
// known of it. The agent owns the observed half (LastStatus, Containers' runtime facts, the
// times after CreatedAt); the API owns the desired half.
type Task struct {
	Scope   Scope
	ID      string // 32 lowercase hex characters
	Cluster string // cluster name
	// TaskDefinitionARN names the revision the task runs; Family and Revision repeat it.
	TaskDefinitionARN string
	Family            string
	Revision          int
	LaunchType        string // FARGATE
	CapacityProvider  string // FARGATE or FARGATE_SPOT when a strategy chose it
	// CPU (units) and Memory (MiB) are the task's effective size after overrides, as integer strings.
	CPU    string
	Memory string
	// EphemeralStorageGiB is the task's ephemeral storage after overrides; 0 (a task recorded
	// before it was kept) means DefaultEphemeralStorageGiB.
	EphemeralStorageGiB int
	Overrides           TaskOverride
	StartedBy           string
	Group               string
	Tags                []Tag
	// ClientToken is the idempotency token of the RunTask call that created the task.
	ClientToken          string
	EnableExecuteCommand bool
	Network              *AwsVpcConfiguration

	DesiredStatus TaskStatus
	LastStatus    TaskStatus
	HealthStatus  string
	Times         TaskTimes
	StopCode      string
	StoppedReason string
	Containers    []Container
	Attachments   []Attachment
	// HostID is the host the scheduler placed the task on; "" until placed.
	HostID           string
	AvailabilityZone string
	PlatformVersion  string
	PlatformFamily   string
	// Version counts the task's changes, as ECS's task version does.
	Version int64
	// TaskNetwork is the ENI RunTask gave the task (its VPC, subnet, address and groups); nil
	// for a task without one. Network above is what was asked for.
	TaskNetwork *TaskNetwork
}

// ARN is the task's ARN.
func (t Task) ARN() string { return TaskARN(t.Scope, t.Cluster, t.ID) }

// TaskARN is the ARN of task id in cluster.
func TaskARN(sc Scope, cluster, id string) string {
	return "arn:aws:ecs:" + sc.Region + ":" + sc.Account + ":task/" + cluster + "/" + id
}

// Container is one container of a task as ECS reports it.
type Container struct {
	Name string
	// ID is the uuid of the container's ARN.
	ID                string
	Image             string
	ImageDigest       string
	RuntimeID         string
	LastStatus        string
	ExitCode          *int
	Reason            string
	HealthStatus      string
	CPU               string
	Memory            string
	MemoryReservation string
	Essential         bool
}

// ContainerARN is the ARN of container id of task taskID.
func ContainerARN(sc Scope, cluster, taskID, id string) string {
	return "arn:aws:ecs:" + sc.Region + ":" + sc.Account + ":container/" + cluster + "/" + taskID + "/" + id
}

// TaskOverride changes a task definition for one run.
type TaskOverride struct {
	ContainerOverrides []ContainerOverride
	CPU                string
	Memory             string
	TaskRoleArn        string
	ExecutionRoleArn   string
	EphemeralStorage   *EphemeralStorage
}

// ContainerOverride changes one container for one run.
type ContainerOverride struct {
	Name                 string
	Command              []string
	Environment          []KeyValuePair
	EnvironmentFiles     []EnvironmentFile
	CPU                  *int
	Memory               *int
	MemoryReservation    *int
	ResourceRequirements []ResourceRequirement
}

// AwsVpcConfiguration is the network placement a task asked for.
type AwsVpcConfiguration struct {
	Subnets        []string
	SecurityGroups []string
	AssignPublicIP string // ENABLED or DISABLED
}

// Attachment is a resource attached to a task, such as its elastic network interface.
type Attachment struct {
	ID      string
	Type    string // ElasticNetworkInterface
	Status  string // PRECREATED, ATTACHING, ATTACHED, DETACHING, DETACHED, DELETED
	Details []KeyValue
}

// KeyValue is a plain name and value.
type KeyValue struct {
	Name  string
	Value string
}
