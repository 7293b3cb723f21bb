package store

import (
	"time"

	"github.com/gantry-dev/gantry/internal/model"
)

// taskDefinitionRecord is a task definition revision as stored (schema version 1). Leaf records
// have exactly the fields of their model types, so they convert with a type conversion and a
// model field added without its record fails to compile here.
type taskDefinitionRecord struct {
	Account                 string                       `json:"account"`
	Region                  string                       `json:"region"`
	Family                  string                       `json:"family"`
	Revision                int                          `json:"revision"`
	Status                  string                       `json:"status"`
	TaskRoleArn             string                       `json:"taskRoleArn,omitempty"`
	ExecutionRoleArn        string                       `json:"executionRoleArn,omitempty"`
	NetworkMode             string                       `json:"networkMode,omitempty"`
	ContainerDefinitions    []containerRecord            `json:"containerDefinitions,omitempty"`
	Volumes                 []volumeRecord               `json:"volumes,omitempty"`
	PlacementConstraints    []placementConstraintRecord  `json:"placementConstraints,omitempty"`
	RequiresCompatibilities []string                     `json:"requiresCompatibilities,omitempty"`
	Compatibilities         []string                     `json:"compatibilities,omitempty"`
	RequiresAttributes      []attributeRecord            `json:"requiresAttributes,omitempty"`
	CPU                     string                       `json:"cpu,omitempty"`
	Memory                  string                       `json:"memory,omitempty"`
	PidMode                 string                       `json:"pidMode,omitempty"`
	IpcMode                 string                       `json:"ipcMode,omitempty"`
	ProxyConfiguration      *proxyConfigurationRecord    `json:"proxyConfiguration,omitempty"`
	InferenceAccelerators   []inferenceAcceleratorRecord `json:"inferenceAccelerators,omitempty"`
	EphemeralStorage        *ephemeralStorageRecord      `json:"ephemeralStorage,omitempty"`
	RuntimePlatform         *runtimePlatformRecord       `json:"runtimePlatform,omitempty"`
	EnableFaultInjection    *bool                        `json:"enableFaultInjection,omitempty"`
	RegisteredAt            time.Time                    `json:"registeredAt"`
	RegisteredBy            string                       `json:"registeredBy,omitempty"`
	DeregisteredAt          *time.Time                   `json:"deregisteredAt,omitempty"`
	DeleteRequestedAt       *time.Time                   `json:"deleteRequestedAt,omitempty"`
}

type containerRecord struct {
	Name                   string                       `json:"name,omitempty"`
	Image                  string                       `json:"image,omitempty"`
	RepositoryCredentials  *repositoryCredentialsRecord `json:"repositoryCredentials,omitempty"`
	CPU                    int                          `json:"cpu,omitempty"`
	Memory                 *int                         `json:"memory,omitempty"`
	MemoryReservation      *int                         `json:"memoryReservation,omitempty"`
	Links                  []string                     `json:"links,omitempty"`
	PortMappings           []portMappingRecord          `json:"portMappings,omitempty"`
	Essential              *bool                        `json:"essential,omitempty"`
	RestartPolicy          *restartPolicyRecord         `json:"restartPolicy,omitempty"`
	EntryPoint             []string                     `json:"entryPoint,omitempty"`
	Command                []string                     `json:"command,omitempty"`
	Environment            []keyValueRecord             `json:"environment,omitempty"`
	EnvironmentFiles       []environmentFileRecord      `json:"environmentFiles,omitempty"`
	MountPoints            []mountPointRecord           `json:"mountPoints,omitempty"`
	VolumesFrom            []volumeFromRecord           `json:"volumesFrom,omitempty"`
	LinuxParameters        *linuxParametersRecord       `json:"linuxParameters,omitempty"`
	Secrets                []secretRecord               `json:"secrets,omitempty"`
	DependsOn              []dependencyRecord           `json:"dependsOn,omitempty"`
	StartTimeout           *int                         `json:"startTimeout,omitempty"`
	StopTimeout            *int                         `json:"stopTimeout,omitempty"`
	VersionConsistency     string                       `json:"versionConsistency,omitempty"`
	Hostname               string                       `json:"hostname,omitempty"`
	User                   string                       `json:"user,omitempty"`
	WorkingDirectory       string                       `json:"workingDirectory,omitempty"`
	DisableNetworking      *bool                        `json:"disableNetworking,omitempty"`
	Privileged             *bool                        `json:"privileged,omitempty"`
	ReadonlyRootFilesystem *bool                        `json:"readonlyRootFilesystem,omitempty"`
	DNSServers             []string                     `json:"dnsServers,omitempty"`
	DNSSearchDomains       []string                     `json:"dnsSearchDomains,omitempty"`
	ExtraHosts             []hostEntryRecord            `json:"extraHosts,omitempty"`
	DockerSecurityOptions  []string                     `json:"dockerSecurityOptions,omitempty"`
	Interactive            *bool                        `json:"interactive,omitempty"`
	PseudoTerminal         *bool                        `json:"pseudoTerminal,omitempty"`
	DockerLabels           map[string]string            `json:"dockerLabels,omitempty"`
	Ulimits                []ulimitRecord               `json:"ulimits,omitempty"`
	LogConfiguration       *logConfigurationRecord      `json:"logConfiguration,omitempty"`
	HealthCheck            *healthCheckRecord           `json:"healthCheck,omitempty"`
	SystemControls         []systemControlRecord        `json:"systemControls,omitempty"`
	ResourceRequirements   []resourceRequirementRecord  `json:"resourceRequirements,omitempty"`
	FirelensConfiguration  *firelensRecord              `json:"firelensConfiguration,omitempty"`
	CredentialSpecs        []string                     `json:"credentialSpecs,omitempty"`
}

type repositoryCredentialsRecord struct {
	CredentialsParameter string `json:"credentialsParameter"`
}

type portMappingRecord struct {
	ContainerPort      *int   `json:"containerPort,omitempty"`
	HostPort           *int   `json:"hostPort,omitempty"`
	Protocol           string `json:"protocol,omitempty"`
	Name               string `json:"name,omitempty"`
	AppProtocol        string `json:"appProtocol,omitempty"`
	ContainerPortRange string `json:"containerPortRange,omitempty"`
}

type restartPolicyRecord struct {
	Enabled              *bool `json:"enabled,omitempty"`
	IgnoredExitCodes     []int `json:"ignoredExitCodes,omitempty"`
	RestartAttemptPeriod *int  `json:"restartAttemptPeriod,omitempty"`
}

type keyValueRecord struct {
	Name  string  `json:"name,omitempty"`
	Value *string `json:"value,omitempty"`
}

type environmentFileRecord struct {
	Value string `json:"value"`
	Type  string `json:"type"`
}

type mountPointRecord struct {
	SourceVolume  string `json:"sourceVolume,omitempty"`
	ContainerPath string `json:"containerPath,omitempty"`
	ReadOnly      *bool  `json:"readOnly,omitempty"`
}

type volumeFromRecord struct {
	SourceContainer string `json:"sourceContainer,omitempty"`
	ReadOnly        *bool  `json:"readOnly,omitempty"`
}

type linuxParametersRecord struct {
	Capabilities       *capabilitiesRecord `json:"capabilities,omitempty"`
	Devices            []deviceRecord      `json:"devices,omitempty"`
	InitProcessEnabled *bool               `json:"initProcessEnabled,omitempty"`
	SharedMemorySize   *int                `json:"sharedMemorySize,omitempty"`
	Tmpfs              []tmpfsRecord       `json:"tmpfs,omitempty"`
	MaxSwap            *int                `json:"maxSwap,omitempty"`
	Swappiness         *int                `json:"swappiness,omitempty"`
}

type capabilitiesRecord struct {
	Add  []string `json:"add,omitempty"`
	Drop []string `json:"drop,omitempty"`
}

type deviceRecord struct {
	HostPath      string   `json:"hostPath"`
	ContainerPath string   `json:"containerPath,omitempty"`
	Permissions   []string `json:"permissions,omitempty"`
}

type tmpfsRecord struct {
	ContainerPath string   `json:"containerPath"`
	Size          int      `json:"size"`
	MountOptions  []string `json:"mountOptions,omitempty"`
}

type secretRecord struct {
	Name      string `json:"name"`
	ValueFrom string `json:"valueFrom"`
}

type dependencyRecord struct {
	ContainerName string `json:"containerName"`
	Condition     string `json:"condition"`
}

type hostEntryRecord struct {
	Hostname  string `json:"hostname"`
	IPAddress string `json:"ipAddress"`
}

type ulimitRecord struct {
	Name      string `json:"name"`
	SoftLimit int    `json:"softLimit"`
	HardLimit int    `json:"hardLimit"`
}

type logConfigurationRecord struct {
	LogDriver     string            `json:"logDriver"`
	Options       map[string]string `json:"options,omitempty"`
	SecretOptions []secretRecord    `json:"secretOptions,omitempty"`
}

type healthCheckRecord struct {
	Command     []string `json:"command"`
	Interval    *int     `json:"interval,omitempty"`
	Timeout     *int     `json:"timeout,omitempty"`
	Retries     *int     `json:"retries,omitempty"`
	StartPeriod *int     `json:"startPeriod,omitempty"`
}

type systemControlRecord struct {
	Namespace string `json:"namespace,omitempty"`
	Value     string `json:"value,omitempty"`
}

type resourceRequirementRecord struct {
	Value string `json:"value"`
	Type  string `json:"type"`
}

type firelensRecord struct {
	Type    string            `json:"type"`
	Options map[string]string `json:"options,omitempty"`
}

type volumeRecord struct {
	Name               string                  `json:"name,omitempty"`
	Host               *hostVolumeRecord       `json:"host,omitempty"`
	Docker             *dockerVolumeRecord     `json:"docker,omitempty"`
	EFS                *efsVolumeRecord        `json:"efs,omitempty"`
	S3Files            *s3FilesVolumeRecord    `json:"s3files,omitempty"`
	FSxWindows         *fsxWindowsVolumeRecord `json:"fsxWindows,omitempty"`
	ConfiguredAtLaunch *bool                   `json:"configuredAtLaunch,omitempty"`
}

type hostVolumeRecord struct {
	SourcePath string `json:"sourcePath,omitempty"`
}

type dockerVolumeRecord struct {
	Scope         string            `json:"scope,omitempty"`
	Autoprovision *bool             `json:"autoprovision,omitempty"`
	Driver        string            `json:"driver,omitempty"`
	DriverOpts    map[string]string `json:"driverOpts,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
}

type efsVolumeRecord struct {
	FileSystemID          string         `json:"fileSystemId"`
	RootDirectory         string         `json:"rootDirectory,omitempty"`
	TransitEncryption     string         `json:"transitEncryption,omitempty"`
	TransitEncryptionPort *int           `json:"transitEncryptionPort,omitempty"`
	AuthorizationConfig   *efsAuthRecord `json:"authorizationConfig,omitempty"`
}

type efsAuthRecord struct {
	AccessPointID string `json:"accessPointId,omitempty"`
	IAM           string `json:"iam,omitempty"`
}

type s3FilesVolumeRecord struct {
	FileSystemArn         string `json:"fileSystemArn"`
	RootDirectory         string `json:"rootDirectory,omitempty"`
	TransitEncryptionPort *int   `json:"transitEncryptionPort,omitempty"`
	AccessPointArn        string `json:"accessPointArn,omitempty"`
}

type fsxWindowsVolumeRecord struct {
	FileSystemID        string         `json:"fileSystemId"`
	RootDirectory       string         `json:"rootDirectory"`
	AuthorizationConfig *fsxAuthRecord `json:"authorizationConfig,omitempty"`
}

type fsxAuthRecord struct {
	CredentialsParameter string `json:"credentialsParameter"`
	Domain               string `json:"domain"`
}

type placementConstraintRecord struct {
	Type       string `json:"type,omitempty"`
	Expression string `json:"expression,omitempty"`
}

type proxyConfigurationRecord struct {
	Type          string           `json:"type,omitempty"`
	ContainerName string           `json:"containerName"`
	Properties    []keyValueRecord `json:"properties,omitempty"`
}

type inferenceAcceleratorRecord struct {
	DeviceName string `json:"deviceName"`
	DeviceType string `json:"deviceType"`
}

type ephemeralStorageRecord struct {
	SizeInGiB int `json:"sizeInGiB"`
}

type runtimePlatformRecord struct {
	CPUArchitecture       string `json:"cpuArchitecture,omitempty"`
	OperatingSystemFamily string `json:"operatingSystemFamily,omitempty"`
}

type attributeRecord struct {
	Name       string `json:"name"`
	Value      string `json:"value,omitempty"`
	TargetType string `json:"targetType,omitempty"`
	TargetID   string `json:"targetId,omitempty"`
}

func recordFromTaskDefinition(td model.TaskDefinition) taskDefinitionRecord {
	return taskDefinitionRecord{
		Account: td.Scope.Account, Region: td.Scope.Region, Family: td.Family, Revision: td.Revision,
		Status: td.Status, TaskRoleArn: td.TaskRoleArn, ExecutionRoleArn: td.ExecutionRoleArn,
		NetworkMode:             td.NetworkMode,
		ContainerDefinitions:    convertAll(td.ContainerDefinitions, recordFromContainer),
		Volumes:                 convertAll(td.Volumes, recordFromVolume),
		PlacementConstraints:    convertAll(td.PlacementConstraints, func(v model.PlacementConstraint) placementConstraintRecord { return placementConstraintRecord(v) }),
		RequiresCompatibilities: td.RequiresCompatibilities, Compatibilities: td.Compatibilities,
		RequiresAttributes: convertAll(td.RequiresAttributes, func(v model.Attribute) attributeRecord { return attributeRecord(v) }),
		CPU:                td.CPU, Memory: td.Memory, PidMode: td.PidMode, IpcMode: td.IpcMode,
		ProxyConfiguration: convertPtr(td.ProxyConfiguration, func(v model.ProxyConfiguration) proxyConfigurationRecord {
			return proxyConfigurationRecord{Type: v.Type, ContainerName: v.ContainerName, Properties: convertAll(v.Properties, recordFromKeyValue)}
		}),
		InferenceAccelerators: convertAll(td.InferenceAccelerators, func(v model.InferenceAccelerator) inferenceAcceleratorRecord { return inferenceAcceleratorRecord(v) }),
		EphemeralStorage:      convertPtr(td.EphemeralStorage, func(v model.EphemeralStorage) ephemeralStorageRecord { return ephemeralStorageRecord(v) }),
		RuntimePlatform:       convertPtr(td.RuntimePlatform, func(v model.RuntimePlatform) runtimePlatformRecord { return runtimePlatformRecord(v) }),
		EnableFaultInjection:  td.EnableFaultInjection,
		RegisteredAt:          td.RegisteredAt, RegisteredBy: td.RegisteredBy,
		DeregisteredAt: td.DeregisteredAt, DeleteRequestedAt: td.DeleteRequestedAt,
	}
}

func taskDefinitionFromRecord(r taskDefinitionRecord) model.TaskDefinition {
	return model.TaskDefinition{
		Scope: model.Scope{Account: r.Account, Region: r.Region}, Family: r.Family, Revision: r.Revision,
		Status: r.Status, TaskRoleArn: r.TaskRoleArn, ExecutionRoleArn: r.ExecutionRoleArn,
		NetworkMode:             r.NetworkMode,
		ContainerDefinitions:    convertAll(r.ContainerDefinitions, containerFromRecord),
		Volumes:                 convertAll(r.Volumes, taskVolumeFromRecord),
		PlacementConstraints:    convertAll(r.PlacementConstraints, func(v placementConstraintRecord) model.PlacementConstraint { return model.PlacementConstraint(v) }),
		RequiresCompatibilities: r.RequiresCompatibilities, Compatibilities: r.Compatibilities,
		RequiresAttributes: convertAll(r.RequiresAttributes, func(v attributeRecord) model.Attribute { return model.Attribute(v) }),
		CPU:                r.CPU, Memory: r.Memory, PidMode: r.PidMode, IpcMode: r.IpcMode,
		ProxyConfiguration: convertPtr(r.ProxyConfiguration, func(v proxyConfigurationRecord) model.ProxyConfiguration {
			return model.ProxyConfiguration{Type: v.Type, ContainerName: v.ContainerName, Properties: convertAll(v.Properties, keyValueFromRecord)}
		}),
		InferenceAccelerators: convertAll(r.InferenceAccelerators, func(v inferenceAcceleratorRecord) model.InferenceAccelerator { return model.InferenceAccelerator(v) }),
		EphemeralStorage:      convertPtr(r.EphemeralStorage, func(v ephemeralStorageRecord) model.EphemeralStorage { return model.EphemeralStorage(v) }),
		RuntimePlatform:       convertPtr(r.RuntimePlatform, func(v runtimePlatformRecord) model.RuntimePlatform { return model.RuntimePlatform(v) }),
		EnableFaultInjection:  r.EnableFaultInjection,
		RegisteredAt:          r.RegisteredAt, RegisteredBy: r.RegisteredBy,
		DeregisteredAt: r.DeregisteredAt, DeleteRequestedAt: r.DeleteRequestedAt,
	}
}

func recordFromContainer(c model.ContainerDefinition) containerRecord {
	return containerRecord{
		Name: c.Name, Image: c.Image,
		RepositoryCredentials: convertPtr(c.RepositoryCredentials, func(v model.RepositoryCredentials) repositoryCredentialsRecord { return repositoryCredentialsRecord(v) }),
		CPU:                   c.CPU, Memory: c.Memory, MemoryReservation: c.MemoryReservation, Links: c.Links,
		PortMappings:  convertAll(c.PortMappings, func(v model.PortMapping) portMappingRecord { return portMappingRecord(v) }),
		Essential:     c.Essential,
		RestartPolicy: convertPtr(c.RestartPolicy, func(v model.ContainerRestartPolicy) restartPolicyRecord { return restartPolicyRecord(v) }),
		EntryPoint:    c.EntryPoint, Command: c.Command,
		Environment:      convertAll(c.Environment, recordFromKeyValue),
		EnvironmentFiles: convertAll(c.EnvironmentFiles, func(v model.EnvironmentFile) environmentFileRecord { return environmentFileRecord(v) }),
		MountPoints:      convertAll(c.MountPoints, func(v model.MountPoint) mountPointRecord { return mountPointRecord(v) }),
		VolumesFrom:      convertAll(c.VolumesFrom, func(v model.VolumeFrom) volumeFromRecord { return volumeFromRecord(v) }),
		LinuxParameters:  convertPtr(c.LinuxParameters, recordFromLinuxParameters),
		Secrets:          convertAll(c.Secrets, func(v model.Secret) secretRecord { return secretRecord(v) }),
		DependsOn:        convertAll(c.DependsOn, func(v model.ContainerDependency) dependencyRecord { return dependencyRecord(v) }),
		StartTimeout:     c.StartTimeout, StopTimeout: c.StopTimeout, VersionConsistency: c.VersionConsistency,
		Hostname: c.Hostname, User: c.User, WorkingDirectory: c.WorkingDirectory,
		DisableNetworking: c.DisableNetworking, Privileged: c.Privileged, ReadonlyRootFilesystem: c.ReadonlyRootFilesystem,
		DNSServers: c.DNSServers, DNSSearchDomains: c.DNSSearchDomains,
		ExtraHosts:            convertAll(c.ExtraHosts, func(v model.HostEntry) hostEntryRecord { return hostEntryRecord(v) }),
		DockerSecurityOptions: c.DockerSecurityOptions, Interactive: c.Interactive, PseudoTerminal: c.PseudoTerminal,
		DockerLabels: c.DockerLabels,
		Ulimits:      convertAll(c.Ulimits, func(v model.Ulimit) ulimitRecord { return ulimitRecord(v) }),
		LogConfiguration: convertPtr(c.LogConfiguration, func(v model.LogConfiguration) logConfigurationRecord {
			return logConfigurationRecord{LogDriver: v.LogDriver, Options: v.Options,
				SecretOptions: convertAll(v.SecretOptions, func(s model.Secret) secretRecord { return secretRecord(s) })}
		}),
		HealthCheck:           convertPtr(c.HealthCheck, func(v model.HealthCheck) healthCheckRecord { return healthCheckRecord(v) }),
		SystemControls:        convertAll(c.SystemControls, func(v model.SystemControl) systemControlRecord { return systemControlRecord(v) }),
		ResourceRequirements:  convertAll(c.ResourceRequirements, func(v model.ResourceRequirement) resourceRequirementRecord { return resourceRequirementRecord(v) }),
		FirelensConfiguration: convertPtr(c.FirelensConfiguration, func(v model.FirelensConfiguration) firelensRecord { return firelensRecord(v) }),
		CredentialSpecs:       c.CredentialSpecs,
	}
}

func containerFromRecord(r containerRecord) model.ContainerDefinition {
	return model.ContainerDefinition{
		Name: r.Name, Image: r.Image,
		RepositoryCredentials: convertPtr(r.RepositoryCredentials, func(v repositoryCredentialsRecord) model.RepositoryCredentials { return model.RepositoryCredentials(v) }),
		CPU:                   r.CPU, Memory: r.Memory, MemoryReservation: r.MemoryReservation, Links: r.Links,
		PortMappings:  convertAll(r.PortMappings, func(v portMappingRecord) model.PortMapping { return model.PortMapping(v) }),
		Essential:     r.Essential,
		RestartPolicy: convertPtr(r.RestartPolicy, func(v restartPolicyRecord) model.ContainerRestartPolicy { return model.ContainerRestartPolicy(v) }),
		EntryPoint:    r.EntryPoint, Command: r.Command,
		Environment:      convertAll(r.Environment, keyValueFromRecord),
		EnvironmentFiles: convertAll(r.EnvironmentFiles, func(v environmentFileRecord) model.EnvironmentFile { return model.EnvironmentFile(v) }),
		MountPoints:      convertAll(r.MountPoints, func(v mountPointRecord) model.MountPoint { return model.MountPoint(v) }),
		VolumesFrom:      convertAll(r.VolumesFrom, func(v volumeFromRecord) model.VolumeFrom { return model.VolumeFrom(v) }),
		LinuxParameters:  convertPtr(r.LinuxParameters, linuxParametersFromRecord),
		Secrets:          convertAll(r.Secrets, func(v secretRecord) model.Secret { return model.Secret(v) }),
		DependsOn:        convertAll(r.DependsOn, func(v dependencyRecord) model.ContainerDependency { return model.ContainerDependency(v) }),
		StartTimeout:     r.StartTimeout, StopTimeout: r.StopTimeout, VersionConsistency: r.VersionConsistency,
		Hostname: r.Hostname, User: r.User, WorkingDirectory: r.WorkingDirectory,
		DisableNetworking: r.DisableNetworking, Privileged: r.Privileged, ReadonlyRootFilesystem: r.ReadonlyRootFilesystem,
		DNSServers: r.DNSServers, DNSSearchDomains: r.DNSSearchDomains,
		ExtraHosts:            convertAll(r.ExtraHosts, func(v hostEntryRecord) model.HostEntry { return model.HostEntry(v) }),
		DockerSecurityOptions: r.DockerSecurityOptions, Interactive: r.Interactive, PseudoTerminal: r.PseudoTerminal,
		DockerLabels: r.DockerLabels,
		Ulimits:      convertAll(r.Ulimits, func(v ulimitRecord) model.Ulimit { return model.Ulimit(v) }),
		LogConfiguration: convertPtr(r.LogConfiguration, func(v logConfigurationRecord) model.LogConfiguration {
			return model.LogConfiguration{LogDriver: v.LogDriver, Options: v.Options,
				SecretOptions: convertAll(v.SecretOptions, func(s secretRecord) model.Secret { return model.Secret(s) })}
		}),
		HealthCheck:           convertPtr(r.HealthCheck, func(v healthCheckRecord) model.HealthCheck { return model.HealthCheck(v) }),
		SystemControls:        convertAll(r.SystemControls, func(v systemControlRecord) model.SystemControl { return model.SystemControl(v) }),
		ResourceRequirements:  convertAll(r.ResourceRequirements, func(v resourceRequirementRecord) model.ResourceRequirement { return model.ResourceRequirement(v) }),
		FirelensConfiguration: convertPtr(r.FirelensConfiguration, func(v firelensRecord) model.FirelensConfiguration { return model.FirelensConfiguration(v) }),
		CredentialSpecs:       r.CredentialSpecs,
	}
}

func recordFromKeyValue(v model.KeyValuePair) keyValueRecord { return keyValueRecord(v) }
func keyValueFromRecord(v keyValueRecord) model.KeyValuePair { return model.KeyValuePair(v) }

func recordFromLinuxParameters(p model.LinuxParameters) linuxParametersRecord {
	return linuxParametersRecord{
		Capabilities:       convertPtr(p.Capabilities, func(v model.KernelCapabilities) capabilitiesRecord { return capabilitiesRecord(v) }),
		Devices:            convertAll(p.Devices, func(v model.Device) deviceRecord { return deviceRecord(v) }),
		InitProcessEnabled: p.InitProcessEnabled, SharedMemorySize: p.SharedMemorySize,
		Tmpfs:   convertAll(p.Tmpfs, func(v model.Tmpfs) tmpfsRecord { return tmpfsRecord(v) }),
		MaxSwap: p.MaxSwap, Swappiness: p.Swappiness,
	}
}

func linuxParametersFromRecord(r linuxParametersRecord) model.LinuxParameters {
	return model.LinuxParameters{
		Capabilities:       convertPtr(r.Capabilities, func(v capabilitiesRecord) model.KernelCapabilities { return model.KernelCapabilities(v) }),
		Devices:            convertAll(r.Devices, func(v deviceRecord) model.Device { return model.Device(v) }),
		InitProcessEnabled: r.InitProcessEnabled, SharedMemorySize: r.SharedMemorySize,
		Tmpfs:   convertAll(r.Tmpfs, func(v tmpfsRecord) model.Tmpfs { return model.Tmpfs(v) }),
		MaxSwap: r.MaxSwap, Swappiness: r.Swappiness,
	}
}

func recordFromVolume(v model.Volume) volumeRecord {
	return volumeRecord{
		Name:   v.Name,
		Host:   convertPtr(v.Host, func(h model.HostVolumeProperties) hostVolumeRecord { return hostVolumeRecord(h) }),
		Docker: convertPtr(v.DockerVolumeConfiguration, func(d model.DockerVolumeConfiguration) dockerVolumeRecord { return dockerVolumeRecord(d) }),
		EFS: convertPtr(v.EFSVolumeConfiguration, func(e model.EFSVolumeConfiguration) efsVolumeRecord {
			return efsVolumeRecord{FileSystemID: e.FileSystemID, RootDirectory: e.RootDirectory, TransitEncryption: e.TransitEncryption,
				TransitEncryptionPort: e.TransitEncryptionPort,
				AuthorizationConfig:   convertPtr(e.AuthorizationConfig, func(a model.EFSAuthorizationConfig) efsAuthRecord { return efsAuthRecord(a) })}
		}),
		S3Files: convertPtr(v.S3FilesVolumeConfiguration, func(s model.S3FilesVolumeConfiguration) s3FilesVolumeRecord { return s3FilesVolumeRecord(s) }),
		FSxWindows: convertPtr(v.FSxWindowsFileServerVolumeConfiguration, func(f model.FSxWindowsFileServerVolumeConfiguration) fsxWindowsVolumeRecord {
			return fsxWindowsVolumeRecord{FileSystemID: f.FileSystemID, RootDirectory: f.RootDirectory,
				AuthorizationConfig: convertPtr(f.AuthorizationConfig, func(a model.FSxWindowsFileServerAuthorizationConfig) fsxAuthRecord { return fsxAuthRecord(a) })}
		}),
		ConfiguredAtLaunch: v.ConfiguredAtLaunch,
	}
}

func taskVolumeFromRecord(r volumeRecord) model.Volume {
	return model.Volume{
		Name:                      r.Name,
		Host:                      convertPtr(r.Host, func(h hostVolumeRecord) model.HostVolumeProperties { return model.HostVolumeProperties(h) }),
		DockerVolumeConfiguration: convertPtr(r.Docker, func(d dockerVolumeRecord) model.DockerVolumeConfiguration { return model.DockerVolumeConfiguration(d) }),
		EFSVolumeConfiguration: convertPtr(r.EFS, func(e efsVolumeRecord) model.EFSVolumeConfiguration {
			return model.EFSVolumeConfiguration{FileSystemID: e.FileSystemID, RootDirectory: e.RootDirectory, TransitEncryption: e.TransitEncryption,
				TransitEncryptionPort: e.TransitEncryptionPort,
				AuthorizationConfig:   convertPtr(e.AuthorizationConfig, func(a efsAuthRecord) model.EFSAuthorizationConfig { return model.EFSAuthorizationConfig(a) })}
		}),
		S3FilesVolumeConfiguration: convertPtr(r.S3Files, func(s s3FilesVolumeRecord) model.S3FilesVolumeConfiguration {
			return model.S3FilesVolumeConfiguration(s)
		}),
		FSxWindowsFileServerVolumeConfiguration: convertPtr(r.FSxWindows, func(f fsxWindowsVolumeRecord) model.FSxWindowsFileServerVolumeConfiguration {
			return model.FSxWindowsFileServerVolumeConfiguration{FileSystemID: f.FileSystemID, RootDirectory: f.RootDirectory,
				AuthorizationConfig: convertPtr(f.AuthorizationConfig, func(a fsxAuthRecord) model.FSxWindowsFileServerAuthorizationConfig {
					return model.FSxWindowsFileServerAuthorizationConfig(a)
				})}
		}),
		ConfiguredAtLaunch: r.ConfiguredAtLaunch,
	}
}

// convertAll converts each element of in with f; nil stays nil.
func convertAll[A, B any](in []A, f func(A) B) []B {
	if in == nil {
		return nil
	}
	out := make([]B, len(in))
	for i := range in {
		out[i] = f(in[i])
	}
	return out
}

// convertPtr converts *p with f; nil stays nil.
func convertPtr[A, B any](p *A, f func(A) B) *B {
	if p == nil {
		return nil
	}
	v := f(*p)
	return &v
}
