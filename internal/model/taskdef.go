package model

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Task definition statuses.
const (
	TaskDefinitionActive           = "ACTIVE"
	TaskDefinitionInactive         = "INACTIVE"
	TaskDefinitionDeleteInProgress = "DELETE_IN_PROGRESS"
)

// Launch type compatibilities.
const (
	CompatibilityEC2      = "EC2"
	CompatibilityFargate  = "FARGATE"
	CompatibilityExternal = "EXTERNAL"
)

// NetworkModeAwsvpc gives each task its own network interface; it is the only mode Fargate allows.
const NetworkModeAwsvpc = "awsvpc"

// TaskDefinition is one registered revision of a task definition family. Optional members are
// pointers or empty values, so what the user gave is kept as given. Tags live beside it, not in it.
type TaskDefinition struct {
	Scope                   Scope
	Family                  string
	Revision                int
	Status                  string
	TaskRoleArn             string
	ExecutionRoleArn        string
	NetworkMode             string
	ContainerDefinitions    []ContainerDefinition
	Volumes                 []Volume
	PlacementConstraints    []PlacementConstraint
	RequiresCompatibilities []string
	// Compatibilities and RequiresAttributes are what ECS derives at registration.
	Compatibilities       []string
	RequiresAttributes    []Attribute
	CPU                   string // task cpu units as an integer string, once registered
	Memory                string // task memory in MiB as an integer string, once registered
	PidMode               string
	IpcMode               string
	ProxyConfiguration    *ProxyConfiguration
	InferenceAccelerators []InferenceAccelerator
	EphemeralStorage      *EphemeralStorage
	RuntimePlatform       *RuntimePlatform
	EnableFaultInjection  *bool
	RegisteredAt          time.Time
	RegisteredBy          string
	DeregisteredAt        *time.Time
	DeleteRequestedAt     *time.Time
}

// ContainerDefinition is one container of a task definition.
type ContainerDefinition struct {
	Name                   string
	Image                  string
	RepositoryCredentials  *RepositoryCredentials
	CPU                    int // ECS always reports it, 0 when not given
	Memory                 *int
	MemoryReservation      *int
	Links                  []string
	PortMappings           []PortMapping
	Essential              *bool
	RestartPolicy          *ContainerRestartPolicy
	EntryPoint             []string
	Command                []string
	Environment            []KeyValuePair
	EnvironmentFiles       []EnvironmentFile
	MountPoints            []MountPoint
	VolumesFrom            []VolumeFrom
	LinuxParameters        *LinuxParameters
	Secrets                []Secret
	DependsOn              []ContainerDependency
	StartTimeout           *int
	StopTimeout            *int
	VersionConsistency     string
	Hostname               string
	User                   string
	WorkingDirectory       string
	DisableNetworking      *bool
	Privileged             *bool
	ReadonlyRootFilesystem *bool
	DNSServers             []string
	DNSSearchDomains       []string
	ExtraHosts             []HostEntry
	DockerSecurityOptions  []string
	Interactive            *bool
	PseudoTerminal         *bool
	DockerLabels           map[string]string
	Ulimits                []Ulimit
	LogConfiguration       *LogConfiguration
	HealthCheck            *HealthCheck
	SystemControls         []SystemControl
	ResourceRequirements   []ResourceRequirement
	FirelensConfiguration  *FirelensConfiguration
	CredentialSpecs        []string
}

// IsEssential reports whether the container is essential; ECS assumes it is unless told otherwise.
func (c ContainerDefinition) IsEssential() bool { return c.Essential == nil || *c.Essential }

// RepositoryCredentials names the secret holding private registry credentials.
type RepositoryCredentials struct{ CredentialsParameter string }

// PortMapping publishes a container port.
type PortMapping struct {
	ContainerPort      *int
	HostPort           *int
	Protocol           string
	Name               string
	AppProtocol        string
	ContainerPortRange string
}

// ContainerRestartPolicy restarts a container in place when it exits.
type ContainerRestartPolicy struct {
	Enabled              *bool
	IgnoredExitCodes     []int
	RestartAttemptPeriod *int
}

// KeyValuePair is a name and a value; Value is a pointer because "" is a meaningful value.
type KeyValuePair struct {
	Name  string
	Value *string
}

// EnvironmentFile is an S3 object of environment variables.
type EnvironmentFile struct {
	Value string
	Type  string
}

// MountPoint mounts a task volume into a container.
type MountPoint struct {
	SourceVolume  string
	ContainerPath string
	ReadOnly      *bool
}

// VolumeFrom mounts every volume of another container.
type VolumeFrom struct {
	SourceContainer string
	ReadOnly        *bool
}

// LinuxParameters are Linux-specific container options.
type LinuxParameters struct {
	Capabilities       *KernelCapabilities
	Devices            []Device
	InitProcessEnabled *bool
	SharedMemorySize   *int
	Tmpfs              []Tmpfs
	MaxSwap            *int
	Swappiness         *int
}

// KernelCapabilities adds and drops Linux capabilities.
type KernelCapabilities struct {
	Add  []string
	Drop []string
}

// Device exposes a host device.
type Device struct {
	HostPath      string
	ContainerPath string
	Permissions   []string
}

// Tmpfs is a tmpfs mount.
type Tmpfs struct {
	ContainerPath string
	Size          int
	MountOptions  []string
}

// Secret injects a Secrets Manager secret or SSM parameter.
type Secret struct {
	Name      string
	ValueFrom string
}

// ContainerDependency orders container startup and shutdown.
type ContainerDependency struct {
	ContainerName string
	Condition     string
}

// HostEntry is an /etc/hosts line.
type HostEntry struct {
	Hostname  string
	IPAddress string
}

// Ulimit is a resource limit.
type Ulimit struct {
	Name      string
	SoftLimit int
	HardLimit int
}

// LogConfiguration chooses a container's log driver.
type LogConfiguration struct {
	LogDriver     string
	Options       map[string]string
	SecretOptions []Secret
}

// HealthCheck is a container health check; nil durations take ECS's defaults at run time.
type HealthCheck struct {
	Command     []string
	Interval    *int
	Timeout     *int
	Retries     *int
	StartPeriod *int
}

// SystemControl is a namespaced kernel parameter.
type SystemControl struct {
	Namespace string
	Value     string
}

// ResourceRequirement reserves GPUs or an inference accelerator.
type ResourceRequirement struct {
	Value string
	Type  string
}

// FirelensConfiguration configures a FireLens log router.
type FirelensConfiguration struct {
	Type    string
	Options map[string]string
}

// Volume is a task volume.
type Volume struct {
	Name                                    string
	Host                                    *HostVolumeProperties
	DockerVolumeConfiguration               *DockerVolumeConfiguration
	EFSVolumeConfiguration                  *EFSVolumeConfiguration
	S3FilesVolumeConfiguration              *S3FilesVolumeConfiguration
	FSxWindowsFileServerVolumeConfiguration *FSxWindowsFileServerVolumeConfiguration
	ConfiguredAtLaunch                      *bool
}

// HostVolumeProperties is a bind mount (with SourcePath) or an ephemeral task volume (without).
type HostVolumeProperties struct{ SourcePath string }

// DockerVolumeConfiguration is a Docker volume.
type DockerVolumeConfiguration struct {
	Scope         string
	Autoprovision *bool
	Driver        string
	DriverOpts    map[string]string
	Labels        map[string]string
}

// EFSVolumeConfiguration is an EFS file system volume.
type EFSVolumeConfiguration struct {
	FileSystemID          string
	RootDirectory         string
	TransitEncryption     string
	TransitEncryptionPort *int
	AuthorizationConfig   *EFSAuthorizationConfig
}

// EFSAuthorizationConfig is an EFS access point and IAM setting.
type EFSAuthorizationConfig struct {
	AccessPointID string
	IAM           string
}

// S3FilesVolumeConfiguration is an S3 Files volume.
type S3FilesVolumeConfiguration struct {
	FileSystemArn         string
	RootDirectory         string
	TransitEncryptionPort *int
	AccessPointArn        string
}

// FSxWindowsFileServerVolumeConfiguration is an FSx for Windows volume.
type FSxWindowsFileServerVolumeConfiguration struct {
	FileSystemID        string
	RootDirectory       string
	AuthorizationConfig *FSxWindowsFileServerAuthorizationConfig
}

// FSxWindowsFileServerAuthorizationConfig holds FSx credentials.
type FSxWindowsFileServerAuthorizationConfig struct {
	CredentialsParameter string
	Domain               string
}

// PlacementConstraint is a task placement constraint.
type PlacementConstraint struct {
	Type       string
	Expression string
}

// ProxyConfiguration is an App Mesh proxy.
type ProxyConfiguration struct {
	Type          string
	ContainerName string
	Properties    []KeyValuePair
}

// InferenceAccelerator is an Elastic Inference accelerator.
type InferenceAccelerator struct {
	DeviceName string
	DeviceType string
}

// EphemeralStorage is the task's ephemeral storage size.
type EphemeralStorage struct{ SizeInGiB int }

// RuntimePlatform is the operating system and CPU architecture.
type RuntimePlatform struct {
	CPUArchitecture       string
	OperatingSystemFamily string
}

// Attribute is a requirement a task definition places on the capacity that runs it.
type Attribute struct {
	Name       string
	Value      string
	TargetType string
	TargetID   string
}

// TaskDefinitionARN is the ARN of revision rev of family in sc.
func TaskDefinitionARN(sc Scope, family string, rev int) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:%d", sc.Region, sc.Account, family, rev)
}

// ARN is the task definition's ARN.
func (td TaskDefinition) ARN() string { return TaskDefinitionARN(td.Scope, td.Family, td.Revision) }

// ErrBadTaskDefinitionRef says a reference is neither a family, family:revision nor an ARN.
var ErrBadTaskDefinitionRef = errors.New("task definition reference must be a family, family:revision or task definition ARN")

// TaskDefinitionRef is a parsed reference to a task definition; Revision 0 means the latest ACTIVE.
type TaskDefinitionRef struct {
	Family   string
	Revision int
}

// ParseTaskDefinitionRef parses "family", "family:rev" or "arn:...:task-definition/family:rev".
func ParseTaskDefinitionRef(ref string) (TaskDefinitionRef, error) {
	s := ref
	if strings.HasPrefix(ref, "arn:") {
		_, rest, ok := strings.Cut(ref, ":task-definition/")
		if !ok {
			return TaskDefinitionRef{}, ErrBadTaskDefinitionRef
		}
		s = rest
	}
	family, rev, hasRev := strings.Cut(s, ":")
	if family == "" {
		return TaskDefinitionRef{}, ErrBadTaskDefinitionRef
	}
	if !hasRev {
		return TaskDefinitionRef{Family: family}, nil
	}
	n, err := strconv.Atoi(rev)
	if err != nil || n < 1 {
		return TaskDefinitionRef{}, ErrBadTaskDefinitionRef
	}
	return TaskDefinitionRef{Family: family, Revision: n}, nil
}

// FargateSize is one valid Fargate task size: cpu units and memory in MiB.
type FargateSize struct {
	CPU    int
	Memory int
}

// fargateTiers lists, per cpu, the memory range and step Fargate allows.
var fargateTiers = []struct{ cpu, minMem, maxMem, step int }{
	{256, 512, 512, 1}, {256, 1024, 2048, 1024},
	{512, 1024, 4096, 1024},
	{1024, 2048, 8192, 1024},
	{2048, 4096, 16384, 1024},
	{4096, 8192, 30720, 1024},
	{8192, 16384, 61440, 4096},
	{16384, 32768, 122880, 8192},
}

// FargateSizes are the 74 cpu and memory pairs Fargate can run, in cpu then memory order.
var FargateSizes = func() []FargateSize {
	var out []FargateSize
	for _, t := range fargateTiers {
		for m := t.minMem; m <= t.maxMem; m += t.step {
			out = append(out, FargateSize{CPU: t.cpu, Memory: m})
		}
	}
	return out
}()

// IsFargateSize reports whether cpu units and memory MiB are a Fargate task size.
func IsFargateSize(cpu, memory int) bool {
	for _, s := range FargateSizes {
		if s.CPU == cpu && s.Memory == memory {
			return true
		}
	}
	return false
}

// ParseTaskCPU reads task cpu as ECS accepts it: cpu units ("1024") or vCPUs ("1 vCPU", "0.25 vcpu").
func ParseTaskCPU(s string) (int, error) {
	return parseUnits(s, []string{"vcpu"}, 1024)
}

// ParseTaskMemory reads task memory as ECS accepts it: MiB ("2048") or GB ("2GB", "0.5 GB").
func ParseTaskMemory(s string) (int, error) {
	return parseUnits(s, []string{"gb", "gib"}, 1024)
}

// parseUnits reads a whole number, or a decimal followed by one of the suffixes times scale.
func parseUnits(s string, suffixes []string, scale float64) (int, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if n, err := strconv.Atoi(t); err == nil {
		if n <= 0 {
			return 0, fmt.Errorf("%q must be positive", s)
		}
		return n, nil
	}
	for _, suf := range suffixes {
		num, ok := strings.CutSuffix(t, suf)
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || f <= 0 || math.IsInf(f, 0) || f > 1<<20 {
			return 0, fmt.Errorf("%q is not a number of %s", s, suf)
		}
		v := f * scale
		if v != math.Trunc(v) {
			return 0, fmt.Errorf("%q is not a whole number of units", s)
		}
		return int(v), nil
	}
	return 0, fmt.Errorf("%q is not a valid value", s)
}
