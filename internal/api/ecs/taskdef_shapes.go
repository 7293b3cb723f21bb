package ecs

// Wire shapes of task definitions, member for member as botocore's ECS model names them.
// Optional scalars are pointers, so what a user sent comes back as sent. Lists that ECS always
// answers (empty when not given) have no omitempty; taskDefinitionToWire makes them non-nil.

// TaskDefinition is ECS's TaskDefinition shape.
type TaskDefinition struct {
	TaskDefinitionArn       *string                             `json:"taskDefinitionArn,omitempty"`
	ContainerDefinitions    []ContainerDefinition               `json:"containerDefinitions"`
	Family                  *string                             `json:"family,omitempty"`
	TaskRoleArn             *string                             `json:"taskRoleArn,omitempty"`
	ExecutionRoleArn        *string                             `json:"executionRoleArn,omitempty"`
	NetworkMode             *string                             `json:"networkMode,omitempty"`
	Revision                int32                               `json:"revision"`
	Volumes                 []Volume                            `json:"volumes"`
	Status                  *string                             `json:"status,omitempty"`
	RequiresAttributes      []Attribute                         `json:"requiresAttributes,omitempty"`
	PlacementConstraints    []TaskDefinitionPlacementConstraint `json:"placementConstraints"`
	Compatibilities         []string                            `json:"compatibilities,omitempty"`
	RuntimePlatform         *RuntimePlatform                    `json:"runtimePlatform,omitempty"`
	RequiresCompatibilities []string                            `json:"requiresCompatibilities,omitempty"`
	Cpu                     *string                             `json:"cpu,omitempty"`
	Memory                  *string                             `json:"memory,omitempty"`
	InferenceAccelerators   []InferenceAccelerator              `json:"inferenceAccelerators,omitempty"`
	PidMode                 *string                             `json:"pidMode,omitempty"`
	IpcMode                 *string                             `json:"ipcMode,omitempty"`
	ProxyConfiguration      *ProxyConfiguration                 `json:"proxyConfiguration,omitempty"`
	RegisteredAt            *float64                            `json:"registeredAt,omitempty"`
	DeregisteredAt          *float64                            `json:"deregisteredAt,omitempty"`
	DeleteRequestedAt       *float64                            `json:"deleteRequestedAt,omitempty"`
	RegisteredBy            *string                             `json:"registeredBy,omitempty"`
	EphemeralStorage        *EphemeralStorage                   `json:"ephemeralStorage,omitempty"`
	EnableFaultInjection    *bool                               `json:"enableFaultInjection,omitempty"`
}

// ContainerDefinition is ECS's ContainerDefinition shape. Cpu is a plain Integer in ECS's model,
// so ECS always answers it (0 when not given).
type ContainerDefinition struct {
	Name                   *string                 `json:"name,omitempty"`
	Image                  *string                 `json:"image,omitempty"`
	RepositoryCredentials  *RepositoryCredentials  `json:"repositoryCredentials,omitempty"`
	Cpu                    int32                   `json:"cpu"`
	Memory                 *int32                  `json:"memory,omitempty"`
	MemoryReservation      *int32                  `json:"memoryReservation,omitempty"`
	Links                  []string                `json:"links,omitempty"`
	PortMappings           []PortMapping           `json:"portMappings"`
	Essential              *bool                   `json:"essential,omitempty"`
	RestartPolicy          *ContainerRestartPolicy `json:"restartPolicy,omitempty"`
	EntryPoint             []string                `json:"entryPoint,omitempty"`
	Command                []string                `json:"command,omitempty"`
	Environment            []KeyValuePair          `json:"environment"`
	EnvironmentFiles       []EnvironmentFile       `json:"environmentFiles,omitempty"`
	MountPoints            []MountPoint            `json:"mountPoints"`
	VolumesFrom            []VolumeFrom            `json:"volumesFrom"`
	LinuxParameters        *LinuxParameters        `json:"linuxParameters,omitempty"`
	Secrets                []Secret                `json:"secrets,omitempty"`
	DependsOn              []ContainerDependency   `json:"dependsOn,omitempty"`
	StartTimeout           *int32                  `json:"startTimeout,omitempty"`
	StopTimeout            *int32                  `json:"stopTimeout,omitempty"`
	VersionConsistency     *string                 `json:"versionConsistency,omitempty"`
	Hostname               *string                 `json:"hostname,omitempty"`
	User                   *string                 `json:"user,omitempty"`
	WorkingDirectory       *string                 `json:"workingDirectory,omitempty"`
	DisableNetworking      *bool                   `json:"disableNetworking,omitempty"`
	Privileged             *bool                   `json:"privileged,omitempty"`
	ReadonlyRootFilesystem *bool                   `json:"readonlyRootFilesystem,omitempty"`
	DnsServers             []string                `json:"dnsServers,omitempty"`
	DnsSearchDomains       []string                `json:"dnsSearchDomains,omitempty"`
	ExtraHosts             []HostEntry             `json:"extraHosts,omitempty"`
	DockerSecurityOptions  []string                `json:"dockerSecurityOptions,omitempty"`
	Interactive            *bool                   `json:"interactive,omitempty"`
	PseudoTerminal         *bool                   `json:"pseudoTerminal,omitempty"`
	DockerLabels           map[string]string       `json:"dockerLabels,omitempty"`
	Ulimits                []Ulimit                `json:"ulimits,omitempty"`
	LogConfiguration       *LogConfiguration       `json:"logConfiguration,omitempty"`
	HealthCheck            *HealthCheck            `json:"healthCheck,omitempty"`
	SystemControls         []SystemControl         `json:"systemControls"`
	ResourceRequirements   []ResourceRequirement   `json:"resourceRequirements,omitempty"`
	FirelensConfiguration  *FirelensConfiguration  `json:"firelensConfiguration,omitempty"`
	CredentialSpecs        []string                `json:"credentialSpecs,omitempty"`
}

// RepositoryCredentials is ECS's RepositoryCredentials shape.
type RepositoryCredentials struct {
	CredentialsParameter *string `json:"credentialsParameter,omitempty"`
}

// PortMapping is ECS's PortMapping shape.
type PortMapping struct {
	ContainerPort      *int32  `json:"containerPort,omitempty"`
	HostPort           *int32  `json:"hostPort,omitempty"`
	Protocol           *string `json:"protocol,omitempty"`
	Name               *string `json:"name,omitempty"`
	AppProtocol        *string `json:"appProtocol,omitempty"`
	ContainerPortRange *string `json:"containerPortRange,omitempty"`
}

// ContainerRestartPolicy is ECS's ContainerRestartPolicy shape.
type ContainerRestartPolicy struct {
	Enabled              *bool   `json:"enabled,omitempty"`
	IgnoredExitCodes     []int32 `json:"ignoredExitCodes,omitempty"`
	RestartAttemptPeriod *int32  `json:"restartAttemptPeriod,omitempty"`
}

// KeyValuePair is ECS's KeyValuePair shape.
type KeyValuePair struct {
	Name  *string `json:"name,omitempty"`
	Value *string `json:"value,omitempty"`
}

// EnvironmentFile is ECS's EnvironmentFile shape.
type EnvironmentFile struct {
	Value *string `json:"value,omitempty"`
	Type  *string `json:"type,omitempty"`
}

// MountPoint is ECS's MountPoint shape.
type MountPoint struct {
	SourceVolume  *string `json:"sourceVolume,omitempty"`
	ContainerPath *string `json:"containerPath,omitempty"`
	ReadOnly      *bool   `json:"readOnly,omitempty"`
}

// VolumeFrom is ECS's VolumeFrom shape.
type VolumeFrom struct {
	SourceContainer *string `json:"sourceContainer,omitempty"`
	ReadOnly        *bool   `json:"readOnly,omitempty"`
}

// LinuxParameters is ECS's LinuxParameters shape.
type LinuxParameters struct {
	Capabilities       *KernelCapabilities `json:"capabilities,omitempty"`
	Devices            []Device            `json:"devices,omitempty"`
	InitProcessEnabled *bool               `json:"initProcessEnabled,omitempty"`
	SharedMemorySize   *int32              `json:"sharedMemorySize,omitempty"`
	Tmpfs              []Tmpfs             `json:"tmpfs,omitempty"`
	MaxSwap            *int32              `json:"maxSwap,omitempty"`
	Swappiness         *int32              `json:"swappiness,omitempty"`
}

// KernelCapabilities is ECS's KernelCapabilities shape.
type KernelCapabilities struct {
	Add  []string `json:"add,omitempty"`
	Drop []string `json:"drop,omitempty"`
}

// Device is ECS's Device shape.
type Device struct {
	HostPath      *string  `json:"hostPath,omitempty"`
	ContainerPath *string  `json:"containerPath,omitempty"`
	Permissions   []string `json:"permissions,omitempty"`
}

// Tmpfs is ECS's Tmpfs shape.
type Tmpfs struct {
	ContainerPath *string  `json:"containerPath,omitempty"`
	Size          *int32   `json:"size,omitempty"`
	MountOptions  []string `json:"mountOptions,omitempty"`
}

// Secret is ECS's Secret shape.
type Secret struct {
	Name      *string `json:"name,omitempty"`
	ValueFrom *string `json:"valueFrom,omitempty"`
}

// ContainerDependency is ECS's ContainerDependency shape.
type ContainerDependency struct {
	ContainerName *string `json:"containerName,omitempty"`
	Condition     *string `json:"condition,omitempty"`
}

// HostEntry is ECS's HostEntry shape.
type HostEntry struct {
	Hostname  *string `json:"hostname,omitempty"`
	IpAddress *string `json:"ipAddress,omitempty"`
}

// Ulimit is ECS's Ulimit shape.
type Ulimit struct {
	Name      *string `json:"name,omitempty"`
	SoftLimit *int32  `json:"softLimit,omitempty"`
	HardLimit *int32  `json:"hardLimit,omitempty"`
}

// LogConfiguration is ECS's LogConfiguration shape.
type LogConfiguration struct {
	LogDriver     *string           `json:"logDriver,omitempty"`
	Options       map[string]string `json:"options,omitempty"`
	SecretOptions []Secret          `json:"secretOptions,omitempty"`
}

// HealthCheck is ECS's HealthCheck shape.
type HealthCheck struct {
	Command     []string `json:"command,omitempty"`
	Interval    *int32   `json:"interval,omitempty"`
	Timeout     *int32   `json:"timeout,omitempty"`
	Retries     *int32   `json:"retries,omitempty"`
	StartPeriod *int32   `json:"startPeriod,omitempty"`
}

// SystemControl is ECS's SystemControl shape.
type SystemControl struct {
	Namespace *string `json:"namespace,omitempty"`
	Value     *string `json:"value,omitempty"`
}

// ResourceRequirement is ECS's ResourceRequirement shape.
type ResourceRequirement struct {
	Value *string `json:"value,omitempty"`
	Type  *string `json:"type,omitempty"`
}

// FirelensConfiguration is ECS's FirelensConfiguration shape.
type FirelensConfiguration struct {
	Type    *string           `json:"type,omitempty"`
	Options map[string]string `json:"options,omitempty"`
}

// Volume is ECS's Volume shape.
type Volume struct {
	Name                                    *string                                  `json:"name,omitempty"`
	Host                                    *HostVolumeProperties                    `json:"host,omitempty"`
	DockerVolumeConfiguration               *DockerVolumeConfiguration               `json:"dockerVolumeConfiguration,omitempty"`
	EfsVolumeConfiguration                  *EFSVolumeConfiguration                  `json:"efsVolumeConfiguration,omitempty"`
	S3filesVolumeConfiguration              *S3FilesVolumeConfiguration              `json:"s3filesVolumeConfiguration,omitempty"`
	FsxWindowsFileServerVolumeConfiguration *FSxWindowsFileServerVolumeConfiguration `json:"fsxWindowsFileServerVolumeConfiguration,omitempty"`
	ConfiguredAtLaunch                      *bool                                    `json:"configuredAtLaunch,omitempty"`
}

// HostVolumeProperties is ECS's HostVolumeProperties shape.
type HostVolumeProperties struct {
	SourcePath *string `json:"sourcePath,omitempty"`
}

// DockerVolumeConfiguration is ECS's DockerVolumeConfiguration shape.
type DockerVolumeConfiguration struct {
	Scope         *string           `json:"scope,omitempty"`
	Autoprovision *bool             `json:"autoprovision,omitempty"`
	Driver        *string           `json:"driver,omitempty"`
	DriverOpts    map[string]string `json:"driverOpts,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
}

// EFSVolumeConfiguration is ECS's EFSVolumeConfiguration shape.
type EFSVolumeConfiguration struct {
	FileSystemId          *string                 `json:"fileSystemId,omitempty"`
	RootDirectory         *string                 `json:"rootDirectory,omitempty"`
	TransitEncryption     *string                 `json:"transitEncryption,omitempty"`
	TransitEncryptionPort *int32                  `json:"transitEncryptionPort,omitempty"`
	AuthorizationConfig   *EFSAuthorizationConfig `json:"authorizationConfig,omitempty"`
}

// EFSAuthorizationConfig is ECS's EFSAuthorizationConfig shape.
type EFSAuthorizationConfig struct {
	AccessPointId *string `json:"accessPointId,omitempty"`
	Iam           *string `json:"iam,omitempty"`
}

// S3FilesVolumeConfiguration is ECS's S3FilesVolumeConfiguration shape.
type S3FilesVolumeConfiguration struct {
	FileSystemArn         *string `json:"fileSystemArn,omitempty"`
	RootDirectory         *string `json:"rootDirectory,omitempty"`
	TransitEncryptionPort *int32  `json:"transitEncryptionPort,omitempty"`
	AccessPointArn        *string `json:"accessPointArn,omitempty"`
}

// FSxWindowsFileServerVolumeConfiguration is ECS's FSxWindowsFileServerVolumeConfiguration shape.
type FSxWindowsFileServerVolumeConfiguration struct {
	FileSystemId        *string                                  `json:"fileSystemId,omitempty"`
	RootDirectory       *string                                  `json:"rootDirectory,omitempty"`
	AuthorizationConfig *FSxWindowsFileServerAuthorizationConfig `json:"authorizationConfig,omitempty"`
}

// FSxWindowsFileServerAuthorizationConfig is ECS's FSxWindowsFileServerAuthorizationConfig shape.
type FSxWindowsFileServerAuthorizationConfig struct {
	CredentialsParameter *string `json:"credentialsParameter,omitempty"`
	Domain               *string `json:"domain,omitempty"`
}

// TaskDefinitionPlacementConstraint is ECS's TaskDefinitionPlacementConstraint shape.
type TaskDefinitionPlacementConstraint struct {
	Type       *string `json:"type,omitempty"`
	Expression *string `json:"expression,omitempty"`
}

// ProxyConfiguration is ECS's ProxyConfiguration shape.
type ProxyConfiguration struct {
	Type          *string        `json:"type,omitempty"`
	ContainerName *string        `json:"containerName,omitempty"`
	Properties    []KeyValuePair `json:"properties,omitempty"`
}

// InferenceAccelerator is ECS's InferenceAccelerator shape.
type InferenceAccelerator struct {
	DeviceName *string `json:"deviceName,omitempty"`
	DeviceType *string `json:"deviceType,omitempty"`
}

// EphemeralStorage is ECS's EphemeralStorage shape.
type EphemeralStorage struct {
	SizeInGiB *int32 `json:"sizeInGiB,omitempty"`
}

// RuntimePlatform is ECS's RuntimePlatform shape.
type RuntimePlatform struct {
	CpuArchitecture       *string `json:"cpuArchitecture,omitempty"`
	OperatingSystemFamily *string `json:"operatingSystemFamily,omitempty"`
}

// Attribute is ECS's Attribute shape.
type Attribute struct {
	Name       *string `json:"name,omitempty"`
	Value      *string `json:"value,omitempty"`
	TargetType *string `json:"targetType,omitempty"`
	TargetId   *string `json:"targetId,omitempty"`
}

type registerTaskDefinitionInput struct {
	Family                  *string                             `json:"family"`
	TaskRoleArn             *string                             `json:"taskRoleArn"`
	ExecutionRoleArn        *string                             `json:"executionRoleArn"`
	NetworkMode             *string                             `json:"networkMode"`
	ContainerDefinitions    []ContainerDefinition               `json:"containerDefinitions"`
	Volumes                 []Volume                            `json:"volumes"`
	PlacementConstraints    []TaskDefinitionPlacementConstraint `json:"placementConstraints"`
	RequiresCompatibilities []string                            `json:"requiresCompatibilities"`
	Cpu                     *string                             `json:"cpu"`
	Memory                  *string                             `json:"memory"`
	Tags                    []Tag                               `json:"tags"`
	PidMode                 *string                             `json:"pidMode"`
	IpcMode                 *string                             `json:"ipcMode"`
	ProxyConfiguration      *ProxyConfiguration                 `json:"proxyConfiguration"`
	InferenceAccelerators   []InferenceAccelerator              `json:"inferenceAccelerators"`
	EphemeralStorage        *EphemeralStorage                   `json:"ephemeralStorage"`
	RuntimePlatform         *RuntimePlatform                    `json:"runtimePlatform"`
	EnableFaultInjection    *bool                               `json:"enableFaultInjection"`
}

type taskDefinitionOutput struct {
	TaskDefinition *TaskDefinition `json:"taskDefinition,omitempty"`
	Tags           []Tag           `json:"tags,omitempty"`
}

type describeTaskDefinitionInput struct {
	TaskDefinition *string  `json:"taskDefinition"`
	Include        []string `json:"include"`
}

type listTaskDefinitionsInput struct {
	FamilyPrefix *string `json:"familyPrefix"`
	Status       *string `json:"status"`
	Sort         *string `json:"sort"`
	NextToken    *string `json:"nextToken"`
	MaxResults   *int32  `json:"maxResults"`
}

type listTaskDefinitionsOutput struct {
	TaskDefinitionArns []string `json:"taskDefinitionArns"`
	NextToken          *string  `json:"nextToken,omitempty"`
}

type listTaskDefinitionFamiliesInput struct {
	FamilyPrefix *string `json:"familyPrefix"`
	Status       *string `json:"status"`
	NextToken    *string `json:"nextToken"`
	MaxResults   *int32  `json:"maxResults"`
}

type listTaskDefinitionFamiliesOutput struct {
	Families  []string `json:"families"`
	NextToken *string  `json:"nextToken,omitempty"`
}

type deregisterTaskDefinitionInput struct {
	TaskDefinition *string `json:"taskDefinition"`
}

type deleteTaskDefinitionsInput struct {
	TaskDefinitions []string `json:"taskDefinitions"`
}

type deleteTaskDefinitionsOutput struct {
	TaskDefinitions []*TaskDefinition `json:"taskDefinitions"`
	Failures        []Failure         `json:"failures"`
}
