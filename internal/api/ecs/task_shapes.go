package ecs

import "encoding/json"

// Wire shapes of tasks, member for member as botocore's ECS model names them. Lists that ECS
// always answers have no omitempty; taskToWire makes them non-nil.

// Task is ECS's Task shape. containerInstanceArn and inferenceAccelerators never apply to a
// Fargate task and are left out.
type Task struct {
	Attachments             []Attachment          `json:"attachments"`
	Attributes              []Attribute           `json:"attributes"`
	AvailabilityZone        *string               `json:"availabilityZone,omitempty"`
	CapacityProviderName    *string               `json:"capacityProviderName,omitempty"`
	ClusterArn              *string               `json:"clusterArn,omitempty"`
	Connectivity            *string               `json:"connectivity,omitempty"`
	ConnectivityAt          *float64              `json:"connectivityAt,omitempty"`
	Containers              []Container           `json:"containers"`
	Cpu                     *string               `json:"cpu,omitempty"`
	CreatedAt               *float64              `json:"createdAt,omitempty"`
	DesiredStatus           *string               `json:"desiredStatus,omitempty"`
	EnableExecuteCommand    bool                  `json:"enableExecuteCommand"`
	ExecutionStoppedAt      *float64              `json:"executionStoppedAt,omitempty"`
	Group                   *string               `json:"group,omitempty"`
	HealthStatus            *string               `json:"healthStatus,omitempty"`
	LastStatus              *string               `json:"lastStatus,omitempty"`
	LaunchType              *string               `json:"launchType,omitempty"`
	Memory                  *string               `json:"memory,omitempty"`
	Overrides               *TaskOverride         `json:"overrides,omitempty"`
	PlatformVersion         *string               `json:"platformVersion,omitempty"`
	PlatformFamily          *string               `json:"platformFamily,omitempty"`
	PullStartedAt           *float64              `json:"pullStartedAt,omitempty"`
	PullStoppedAt           *float64              `json:"pullStoppedAt,omitempty"`
	StartedAt               *float64              `json:"startedAt,omitempty"`
	StartedBy               *string               `json:"startedBy,omitempty"`
	StopCode                *string               `json:"stopCode,omitempty"`
	StoppedAt               *float64              `json:"stoppedAt,omitempty"`
	StoppedReason           *string               `json:"stoppedReason,omitempty"`
	StoppingAt              *float64              `json:"stoppingAt,omitempty"`
	Tags                    []Tag                 `json:"tags,omitempty"`
	TaskArn                 *string               `json:"taskArn,omitempty"`
	TaskDefinitionArn       *string               `json:"taskDefinitionArn,omitempty"`
	Version                 int64                 `json:"version"`
	EphemeralStorage        *EphemeralStorage     `json:"ephemeralStorage,omitempty"`
	FargateEphemeralStorage *TaskEphemeralStorage `json:"fargateEphemeralStorage,omitempty"`
}

// Container is ECS's Container shape (a container of a task, not of a definition).
type Container struct {
	ContainerArn      *string            `json:"containerArn,omitempty"`
	TaskArn           *string            `json:"taskArn,omitempty"`
	Name              *string            `json:"name,omitempty"`
	Image             *string            `json:"image,omitempty"`
	ImageDigest       *string            `json:"imageDigest,omitempty"`
	RuntimeId         *string            `json:"runtimeId,omitempty"`
	LastStatus        *string            `json:"lastStatus,omitempty"`
	ExitCode          *int32             `json:"exitCode,omitempty"`
	Reason            *string            `json:"reason,omitempty"`
	NetworkBindings   []NetworkBinding   `json:"networkBindings"`
	NetworkInterfaces []NetworkInterface `json:"networkInterfaces"`
	HealthStatus      *string            `json:"healthStatus,omitempty"`
	Cpu               *string            `json:"cpu,omitempty"`
	Memory            *string            `json:"memory,omitempty"`
	MemoryReservation *string            `json:"memoryReservation,omitempty"`
	GpuIds            []string           `json:"gpuIds,omitempty"`
}

// NetworkBinding is ECS's NetworkBinding shape.
type NetworkBinding struct {
	BindIP             *string `json:"bindIP,omitempty"`
	ContainerPort      *int32  `json:"containerPort,omitempty"`
	HostPort           *int32  `json:"hostPort,omitempty"`
	Protocol           *string `json:"protocol,omitempty"`
	ContainerPortRange *string `json:"containerPortRange,omitempty"`
	HostPortRange      *string `json:"hostPortRange,omitempty"`
}

// NetworkInterface is ECS's NetworkInterface shape.
type NetworkInterface struct {
	AttachmentId       *string `json:"attachmentId,omitempty"`
	PrivateIpv4Address *string `json:"privateIpv4Address,omitempty"`
	Ipv6Address        *string `json:"ipv6Address,omitempty"`
}

// TaskEphemeralStorage is ECS's TaskEphemeralStorage shape.
type TaskEphemeralStorage struct {
	SizeInGiB *int32  `json:"sizeInGiB,omitempty"`
	KmsKeyId  *string `json:"kmsKeyId,omitempty"`
}

// TaskOverride is ECS's TaskOverride shape; answers always carry both lists.
type TaskOverride struct {
	ContainerOverrides            []ContainerOverride            `json:"containerOverrides"`
	Cpu                           *string                        `json:"cpu,omitempty"`
	InferenceAcceleratorOverrides []InferenceAcceleratorOverride `json:"inferenceAcceleratorOverrides"`
	ExecutionRoleArn              *string                        `json:"executionRoleArn,omitempty"`
	Memory                        *string                        `json:"memory,omitempty"`
	TaskRoleArn                   *string                        `json:"taskRoleArn,omitempty"`
	EphemeralStorage              *EphemeralStorage              `json:"ephemeralStorage,omitempty"`
}

// ContainerOverride is ECS's ContainerOverride shape.
type ContainerOverride struct {
	Name                 *string               `json:"name,omitempty"`
	Command              []string              `json:"command,omitempty"`
	Environment          []KeyValuePair        `json:"environment,omitempty"`
	EnvironmentFiles     []EnvironmentFile     `json:"environmentFiles,omitempty"`
	Cpu                  *int32                `json:"cpu,omitempty"`
	Memory               *int32                `json:"memory,omitempty"`
	MemoryReservation    *int32                `json:"memoryReservation,omitempty"`
	ResourceRequirements []ResourceRequirement `json:"resourceRequirements,omitempty"`
}

// InferenceAcceleratorOverride is ECS's InferenceAcceleratorOverride shape.
type InferenceAcceleratorOverride struct {
	DeviceName *string `json:"deviceName,omitempty"`
	DeviceType *string `json:"deviceType,omitempty"`
}

// NetworkConfiguration is ECS's NetworkConfiguration shape.
type NetworkConfiguration struct {
	AwsvpcConfiguration *AwsVpcConfiguration `json:"awsvpcConfiguration,omitempty"`
}

// AwsVpcConfiguration is ECS's AwsVpcConfiguration shape.
type AwsVpcConfiguration struct {
	Subnets        []string `json:"subnets"`
	SecurityGroups []string `json:"securityGroups,omitempty"`
	AssignPublicIp *string  `json:"assignPublicIp,omitempty"`
}

// PlacementConstraint is ECS's PlacementConstraint shape (of a task or service, not a
// definition).
type PlacementConstraint struct {
	Type       *string `json:"type,omitempty"`
	Expression *string `json:"expression,omitempty"`
}

// PlacementStrategy is ECS's PlacementStrategy shape.
type PlacementStrategy struct {
	Type  *string `json:"type,omitempty"`
	Field *string `json:"field,omitempty"`
}

type runTaskInput struct {
	CapacityProviderStrategy []CapacityProviderStrategyItem `json:"capacityProviderStrategy"`
	Cluster                  *string                        `json:"cluster"`
	Count                    *int32                         `json:"count"`
	EnableECSManagedTags     *bool                          `json:"enableECSManagedTags"`
	EnableExecuteCommand     *bool                          `json:"enableExecuteCommand"`
	Group                    *string                        `json:"group"`
	LaunchType               *string                        `json:"launchType"`
	NetworkConfiguration     *NetworkConfiguration          `json:"networkConfiguration"`
	Overrides                *TaskOverride                  `json:"overrides"`
	PlacementConstraints     []PlacementConstraint          `json:"placementConstraints"`
	PlacementStrategy        []PlacementStrategy            `json:"placementStrategy"`
	PlatformVersion          *string                        `json:"platformVersion"`
	PropagateTags            *string                        `json:"propagateTags"`
	ReferenceId              *string                        `json:"referenceId"`
	StartedBy                *string                        `json:"startedBy"`
	Tags                     []Tag                          `json:"tags"`
	TaskDefinition           *string                        `json:"taskDefinition"`
	ClientToken              *string                        `json:"clientToken"`
	VolumeConfigurations     []json.RawMessage              `json:"volumeConfigurations"`
}

type tasksOutput struct {
	Tasks    []Task    `json:"tasks"`
	Failures []Failure `json:"failures"`
}

type stopTaskInput struct {
	Cluster *string `json:"cluster"`
	Task    *string `json:"task"`
	Reason  *string `json:"reason"`
}

type stopTaskOutput struct {
	Task *Task `json:"task,omitempty"`
}

type describeTasksInput struct {
	Cluster *string  `json:"cluster"`
	Tasks   []string `json:"tasks"`
	Include []string `json:"include"`
}

type listTasksInput struct {
	Cluster           *string `json:"cluster"`
	ContainerInstance *string `json:"containerInstance"`
	Family            *string `json:"family"`
	NextToken         *string `json:"nextToken"`
	MaxResults        *int32  `json:"maxResults"`
	StartedBy         *string `json:"startedBy"`
	ServiceName       *string `json:"serviceName"`
	DesiredStatus     *string `json:"desiredStatus"`
	LaunchType        *string `json:"launchType"`
	DaemonName        *string `json:"daemonName"`
}

type listTasksOutput struct {
	TaskArns  []string `json:"taskArns"`
	NextToken *string  `json:"nextToken,omitempty"`
}
