package ecs

import (
	"context"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

func (h *handler) registerTaskDefinition(ctx context.Context, sc model.Scope, in *registerTaskDefinitionInput) (*taskDefinitionOutput, error) {
	td, err := h.ops.RegisterTaskDefinition(ctx, taskDefinitionFromWire(sc, in), tagsFromWire(in.Tags))
	if err != nil {
		return nil, err
	}
	return &taskDefinitionOutput{TaskDefinition: taskDefinitionToWire(td), Tags: in.Tags}, nil
}

func (h *handler) describeTaskDefinition(ctx context.Context, sc model.Scope, in *describeTaskDefinitionInput) (*taskDefinitionOutput, error) {
	withTags, err := ops.ParseTaskDefinitionInclude(in.Include)
	if err != nil {
		return nil, err
	}
	td, tags, err := h.ops.DescribeTaskDefinition(ctx, sc, deref(in.TaskDefinition), withTags)
	if err != nil {
		return nil, err
	}
	out := &taskDefinitionOutput{TaskDefinition: taskDefinitionToWire(td)}
	if withTags {
		out.Tags = tagsToWire(tags)
		if out.Tags == nil {
			out.Tags = []Tag{}
		}
	}
	return out, nil
}

func (h *handler) listTaskDefinitions(ctx context.Context, sc model.Scope, in *listTaskDefinitionsInput) (*listTaskDefinitionsOutput, error) {
	arns, next, err := h.ops.ListTaskDefinitions(ctx, sc, ops.ListTaskDefinitionsInput{
		FamilyPrefix: deref(in.FamilyPrefix), Status: deref(in.Status), Sort: deref(in.Sort),
		NextToken: deref(in.NextToken), MaxResults: intFromWire(in.MaxResults)})
	if err != nil {
		return nil, err
	}
	return &listTaskDefinitionsOutput{TaskDefinitionArns: arns, NextToken: optional(next)}, nil
}

func (h *handler) listTaskDefinitionFamilies(ctx context.Context, sc model.Scope, in *listTaskDefinitionFamiliesInput) (*listTaskDefinitionFamiliesOutput, error) {
	fams, next, err := h.ops.ListTaskDefinitionFamilies(ctx, sc, ops.ListTaskDefinitionFamiliesInput{
		FamilyPrefix: deref(in.FamilyPrefix), Status: deref(in.Status),
		NextToken: deref(in.NextToken), MaxResults: intFromWire(in.MaxResults)})
	if err != nil {
		return nil, err
	}
	return &listTaskDefinitionFamiliesOutput{Families: fams, NextToken: optional(next)}, nil
}

func (h *handler) deregisterTaskDefinition(ctx context.Context, sc model.Scope, in *deregisterTaskDefinitionInput) (*taskDefinitionOutput, error) {
	td, err := h.ops.DeregisterTaskDefinition(ctx, sc, deref(in.TaskDefinition))
	if err != nil {
		return nil, err
	}
	return &taskDefinitionOutput{TaskDefinition: taskDefinitionToWire(td)}, nil
}

func (h *handler) deleteTaskDefinitions(ctx context.Context, sc model.Scope, in *deleteTaskDefinitionsInput) (*deleteTaskDefinitionsOutput, error) {
	done, failures, err := h.ops.DeleteTaskDefinitions(ctx, sc, in.TaskDefinitions)
	if err != nil {
		return nil, err
	}
	out := &deleteTaskDefinitionsOutput{TaskDefinitions: []*TaskDefinition{}, Failures: []Failure{}}
	for _, td := range done {
		out.TaskDefinitions = append(out.TaskDefinitions, taskDefinitionToWire(td))
	}
	for _, f := range failures {
		out.Failures = append(out.Failures, Failure{Arn: optional(f.ARN), Reason: optional(f.Reason), Detail: optional(f.Detail)})
	}
	return out, nil
}

// taskDefinitionFromWire converts a registration request to the domain, member for member.
func taskDefinitionFromWire(sc model.Scope, in *registerTaskDefinitionInput) model.TaskDefinition {
	return model.TaskDefinition{
		Scope: sc, Family: deref(in.Family), TaskRoleArn: deref(in.TaskRoleArn),
		ExecutionRoleArn: deref(in.ExecutionRoleArn), NetworkMode: deref(in.NetworkMode),
		ContainerDefinitions: convertAll(in.ContainerDefinitions, containerFromWire),
		Volumes:              convertAll(in.Volumes, volumeFromWire),
		PlacementConstraints: convertAll(in.PlacementConstraints, func(p TaskDefinitionPlacementConstraint) model.PlacementConstraint {
			return model.PlacementConstraint{Type: deref(p.Type), Expression: deref(p.Expression)}
		}),
		RequiresCompatibilities: in.RequiresCompatibilities,
		CPU:                     deref(in.Cpu), Memory: deref(in.Memory), PidMode: deref(in.PidMode), IpcMode: deref(in.IpcMode),
		ProxyConfiguration: convertPtr(in.ProxyConfiguration, func(p ProxyConfiguration) model.ProxyConfiguration {
			return model.ProxyConfiguration{Type: deref(p.Type), ContainerName: deref(p.ContainerName), Properties: convertAll(p.Properties, keyValueFromWire)}
		}),
		InferenceAccelerators: convertAll(in.InferenceAccelerators, func(a InferenceAccelerator) model.InferenceAccelerator {
			return model.InferenceAccelerator{DeviceName: deref(a.DeviceName), DeviceType: deref(a.DeviceType)}
		}),
		EphemeralStorage: convertPtr(in.EphemeralStorage, func(e EphemeralStorage) model.EphemeralStorage {
			return model.EphemeralStorage{SizeInGiB: int(deref(e.SizeInGiB))}
		}),
		RuntimePlatform: convertPtr(in.RuntimePlatform, func(r RuntimePlatform) model.RuntimePlatform {
			return model.RuntimePlatform{CPUArchitecture: deref(r.CpuArchitecture), OperatingSystemFamily: deref(r.OperatingSystemFamily)}
		}),
		EnableFaultInjection: in.EnableFaultInjection,
	}
}

// taskDefinitionToWire converts a registered definition to ECS's answer. Lists ECS always
// answers are non-nil.
func taskDefinitionToWire(td model.TaskDefinition) *TaskDefinition {
	return &TaskDefinition{
		TaskDefinitionArn:    optional(td.ARN()),
		ContainerDefinitions: nonNil(convertAll(td.ContainerDefinitions, containerToWire)),
		Family:               optional(td.Family), TaskRoleArn: optional(td.TaskRoleArn),
		ExecutionRoleArn: optional(td.ExecutionRoleArn), NetworkMode: optional(td.NetworkMode),
		Revision: int32(td.Revision),
		Volumes:  nonNil(convertAll(td.Volumes, volumeToWire)),
		Status:   optional(td.Status),
		RequiresAttributes: convertAll(td.RequiresAttributes, func(a model.Attribute) Attribute {
			return Attribute{Name: optional(a.Name), Value: optional(a.Value), TargetType: optional(a.TargetType), TargetId: optional(a.TargetID)}
		}),
		PlacementConstraints: nonNil(convertAll(td.PlacementConstraints, func(p model.PlacementConstraint) TaskDefinitionPlacementConstraint {
			return TaskDefinitionPlacementConstraint{Type: optional(p.Type), Expression: optional(p.Expression)}
		})),
		Compatibilities: td.Compatibilities,
		RuntimePlatform: convertPtr(td.RuntimePlatform, func(r model.RuntimePlatform) RuntimePlatform {
			return RuntimePlatform{CpuArchitecture: optional(r.CPUArchitecture), OperatingSystemFamily: optional(r.OperatingSystemFamily)}
		}),
		RequiresCompatibilities: td.RequiresCompatibilities,
		Cpu:                     optional(td.CPU), Memory: optional(td.Memory),
		InferenceAccelerators: convertAll(td.InferenceAccelerators, func(a model.InferenceAccelerator) InferenceAccelerator {
			return InferenceAccelerator{DeviceName: optional(a.DeviceName), DeviceType: optional(a.DeviceType)}
		}),
		PidMode: optional(td.PidMode), IpcMode: optional(td.IpcMode),
		ProxyConfiguration: convertPtr(td.ProxyConfiguration, func(p model.ProxyConfiguration) ProxyConfiguration {
			return ProxyConfiguration{Type: optional(p.Type), ContainerName: optional(p.ContainerName), Properties: convertAll(p.Properties, keyValueToWire)}
		}),
		RegisteredAt:      epochSeconds(&td.RegisteredAt),
		DeregisteredAt:    epochSeconds(td.DeregisteredAt),
		DeleteRequestedAt: epochSeconds(td.DeleteRequestedAt),
		RegisteredBy:      optional(td.RegisteredBy),
		EphemeralStorage: convertPtr(td.EphemeralStorage, func(e model.EphemeralStorage) EphemeralStorage {
			return EphemeralStorage{SizeInGiB: int32Ptr(e.SizeInGiB)}
		}),
		EnableFaultInjection: td.EnableFaultInjection,
	}
}

func keyValueFromWire(kv KeyValuePair) model.KeyValuePair {
	return model.KeyValuePair{Name: deref(kv.Name), Value: kv.Value}
}

func keyValueToWire(kv model.KeyValuePair) KeyValuePair {
	return KeyValuePair{Name: optional(kv.Name), Value: kv.Value}
}

func secretFromWire(s Secret) model.Secret {
	return model.Secret{Name: deref(s.Name), ValueFrom: deref(s.ValueFrom)}
}

func secretToWire(s model.Secret) Secret {
	return Secret{Name: optional(s.Name), ValueFrom: optional(s.ValueFrom)}
}

// epochSeconds is a JSON-protocol timestamp: seconds since the epoch, to the millisecond.
func epochSeconds(t *time.Time) *float64 {
	if t == nil || t.IsZero() {
		return nil
	}
	s := float64(t.UnixMilli()) / 1000
	return &s
}

func intToWire(p *int) *int32 {
	if p == nil {
		return nil
	}
	v := int32(*p)
	return &v
}

func int32Ptr(v int) *int32 {
	n := int32(v)
	return &n
}

func intsFromWire(in []int32) []int {
	return convertAll(in, func(v int32) int { return int(v) })
}

func intsToWire(in []int) []int32 {
	return convertAll(in, func(v int) int32 { return int32(v) })
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
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

func containerFromWire(c ContainerDefinition) model.ContainerDefinition {
	return model.ContainerDefinition{
		Name: deref(c.Name), Image: deref(c.Image),
		RepositoryCredentials: convertPtr(c.RepositoryCredentials, func(r RepositoryCredentials) model.RepositoryCredentials {
			return model.RepositoryCredentials{CredentialsParameter: deref(r.CredentialsParameter)}
		}),
		CPU: int(c.Cpu), Memory: intFromWire(c.Memory), MemoryReservation: intFromWire(c.MemoryReservation), Links: c.Links,
		PortMappings: convertAll(c.PortMappings, func(p PortMapping) model.PortMapping {
			return model.PortMapping{ContainerPort: intFromWire(p.ContainerPort), HostPort: intFromWire(p.HostPort), Protocol: deref(p.Protocol),
				Name: deref(p.Name), AppProtocol: deref(p.AppProtocol), ContainerPortRange: deref(p.ContainerPortRange)}
		}),
		Essential: c.Essential,
		RestartPolicy: convertPtr(c.RestartPolicy, func(r ContainerRestartPolicy) model.ContainerRestartPolicy {
			return model.ContainerRestartPolicy{Enabled: r.Enabled, IgnoredExitCodes: intsFromWire(r.IgnoredExitCodes), RestartAttemptPeriod: intFromWire(r.RestartAttemptPeriod)}
		}),
		EntryPoint: c.EntryPoint, Command: c.Command,
		Environment: convertAll(c.Environment, keyValueFromWire),
		EnvironmentFiles: convertAll(c.EnvironmentFiles, func(f EnvironmentFile) model.EnvironmentFile {
			return model.EnvironmentFile{Value: deref(f.Value), Type: deref(f.Type)}
		}),
		MountPoints: convertAll(c.MountPoints, func(m MountPoint) model.MountPoint {
			return model.MountPoint{SourceVolume: deref(m.SourceVolume), ContainerPath: deref(m.ContainerPath), ReadOnly: m.ReadOnly}
		}),
		VolumesFrom: convertAll(c.VolumesFrom, func(v VolumeFrom) model.VolumeFrom {
			return model.VolumeFrom{SourceContainer: deref(v.SourceContainer), ReadOnly: v.ReadOnly}
		}),
		LinuxParameters: convertPtr(c.LinuxParameters, linuxParametersFromWire),
		Secrets:         convertAll(c.Secrets, secretFromWire),
		DependsOn: convertAll(c.DependsOn, func(d ContainerDependency) model.ContainerDependency {
			return model.ContainerDependency{ContainerName: deref(d.ContainerName), Condition: deref(d.Condition)}
		}),
		StartTimeout: intFromWire(c.StartTimeout), StopTimeout: intFromWire(c.StopTimeout),
		VersionConsistency: deref(c.VersionConsistency), Hostname: deref(c.Hostname), User: deref(c.User),
		WorkingDirectory: deref(c.WorkingDirectory), DisableNetworking: c.DisableNetworking, Privileged: c.Privileged,
		ReadonlyRootFilesystem: c.ReadonlyRootFilesystem, DNSServers: c.DnsServers, DNSSearchDomains: c.DnsSearchDomains,
		ExtraHosts: convertAll(c.ExtraHosts, func(e HostEntry) model.HostEntry {
			return model.HostEntry{Hostname: deref(e.Hostname), IPAddress: deref(e.IpAddress)}
		}),
		DockerSecurityOptions: c.DockerSecurityOptions, Interactive: c.Interactive, PseudoTerminal: c.PseudoTerminal,
		DockerLabels: c.DockerLabels,
		Ulimits: convertAll(c.Ulimits, func(u Ulimit) model.Ulimit {
			return model.Ulimit{Name: deref(u.Name), SoftLimit: int(deref(u.SoftLimit)), HardLimit: int(deref(u.HardLimit))}
		}),
		LogConfiguration: convertPtr(c.LogConfiguration, func(l LogConfiguration) model.LogConfiguration {
			return model.LogConfiguration{LogDriver: deref(l.LogDriver), Options: l.Options, SecretOptions: convertAll(l.SecretOptions, secretFromWire)}
		}),
		HealthCheck: convertPtr(c.HealthCheck, func(h HealthCheck) model.HealthCheck {
			return model.HealthCheck{Command: h.Command, Interval: intFromWire(h.Interval), Timeout: intFromWire(h.Timeout),
				Retries: intFromWire(h.Retries), StartPeriod: intFromWire(h.StartPeriod)}
		}),
		SystemControls: convertAll(c.SystemControls, func(s SystemControl) model.SystemControl {
			return model.SystemControl{Namespace: deref(s.Namespace), Value: deref(s.Value)}
		}),
		ResourceRequirements: convertAll(c.ResourceRequirements, func(r ResourceRequirement) model.ResourceRequirement {
			return model.ResourceRequirement{Value: deref(r.Value), Type: deref(r.Type)}
		}),
		FirelensConfiguration: convertPtr(c.FirelensConfiguration, func(f FirelensConfiguration) model.FirelensConfiguration {
			return model.FirelensConfiguration{Type: deref(f.Type), Options: f.Options}
		}),
		CredentialSpecs: c.CredentialSpecs,
	}
}

func containerToWire(c model.ContainerDefinition) ContainerDefinition {
	return ContainerDefinition{
		Name: optional(c.Name), Image: optional(c.Image),
		RepositoryCredentials: convertPtr(c.RepositoryCredentials, func(r model.RepositoryCredentials) RepositoryCredentials {
			return RepositoryCredentials{CredentialsParameter: optional(r.CredentialsParameter)}
		}),
		Cpu: int32(c.CPU), Memory: intToWire(c.Memory), MemoryReservation: intToWire(c.MemoryReservation), Links: c.Links,
		PortMappings: nonNil(convertAll(c.PortMappings, func(p model.PortMapping) PortMapping {
			return PortMapping{ContainerPort: intToWire(p.ContainerPort), HostPort: intToWire(p.HostPort), Protocol: optional(p.Protocol),
				Name: optional(p.Name), AppProtocol: optional(p.AppProtocol), ContainerPortRange: optional(p.ContainerPortRange)}
		})),
		Essential: c.Essential,
		RestartPolicy: convertPtr(c.RestartPolicy, func(r model.ContainerRestartPolicy) ContainerRestartPolicy {
			return ContainerRestartPolicy{Enabled: r.Enabled, IgnoredExitCodes: intsToWire(r.IgnoredExitCodes), RestartAttemptPeriod: intToWire(r.RestartAttemptPeriod)}
		}),
		EntryPoint: c.EntryPoint, Command: c.Command,
		Environment: nonNil(convertAll(c.Environment, keyValueToWire)),
		EnvironmentFiles: convertAll(c.EnvironmentFiles, func(f model.EnvironmentFile) EnvironmentFile {
			return EnvironmentFile{Value: optional(f.Value), Type: optional(f.Type)}
		}),
		MountPoints: nonNil(convertAll(c.MountPoints, func(m model.MountPoint) MountPoint {
			return MountPoint{SourceVolume: optional(m.SourceVolume), ContainerPath: optional(m.ContainerPath), ReadOnly: m.ReadOnly}
		})),
		VolumesFrom: nonNil(convertAll(c.VolumesFrom, func(v model.VolumeFrom) VolumeFrom {
			return VolumeFrom{SourceContainer: optional(v.SourceContainer), ReadOnly: v.ReadOnly}
		})),
		LinuxParameters: convertPtr(c.LinuxParameters, linuxParametersToWire),
		Secrets:         convertAll(c.Secrets, secretToWire),
		DependsOn: convertAll(c.DependsOn, func(d model.ContainerDependency) ContainerDependency {
			return ContainerDependency{ContainerName: optional(d.ContainerName), Condition: optional(d.Condition)}
		}),
		StartTimeout: intToWire(c.StartTimeout), StopTimeout: intToWire(c.StopTimeout),
		VersionConsistency: optional(c.VersionConsistency), Hostname: optional(c.Hostname), User: optional(c.User),
		WorkingDirectory: optional(c.WorkingDirectory), DisableNetworking: c.DisableNetworking, Privileged: c.Privileged,
		ReadonlyRootFilesystem: c.ReadonlyRootFilesystem, DnsServers: c.DNSServers, DnsSearchDomains: c.DNSSearchDomains,
		ExtraHosts: convertAll(c.ExtraHosts, func(e model.HostEntry) HostEntry {
			return HostEntry{Hostname: optional(e.Hostname), IpAddress: optional(e.IPAddress)}
		}),
		DockerSecurityOptions: c.DockerSecurityOptions, Interactive: c.Interactive, PseudoTerminal: c.PseudoTerminal,
		DockerLabels: c.DockerLabels,
		Ulimits: convertAll(c.Ulimits, func(u model.Ulimit) Ulimit {
			return Ulimit{Name: optional(u.Name), SoftLimit: int32Ptr(u.SoftLimit), HardLimit: int32Ptr(u.HardLimit)}
		}),
		LogConfiguration: convertPtr(c.LogConfiguration, func(l model.LogConfiguration) LogConfiguration {
			return LogConfiguration{LogDriver: optional(l.LogDriver), Options: l.Options, SecretOptions: convertAll(l.SecretOptions, secretToWire)}
		}),
		HealthCheck: convertPtr(c.HealthCheck, func(h model.HealthCheck) HealthCheck {
			return HealthCheck{Command: h.Command, Interval: intToWire(h.Interval), Timeout: intToWire(h.Timeout),
				Retries: intToWire(h.Retries), StartPeriod: intToWire(h.StartPeriod)}
		}),
		SystemControls: nonNil(convertAll(c.SystemControls, func(s model.SystemControl) SystemControl {
			return SystemControl{Namespace: optional(s.Namespace), Value: optional(s.Value)}
		})),
		ResourceRequirements: convertAll(c.ResourceRequirements, func(r model.ResourceRequirement) ResourceRequirement {
			return ResourceRequirement{Value: optional(r.Value), Type: optional(r.Type)}
		}),
		FirelensConfiguration: convertPtr(c.FirelensConfiguration, func(f model.FirelensConfiguration) FirelensConfiguration {
			return FirelensConfiguration{Type: optional(f.Type), Options: f.Options}
		}),
		CredentialSpecs: c.CredentialSpecs,
	}
}

func linuxParametersFromWire(l LinuxParameters) model.LinuxParameters {
	return model.LinuxParameters{
		Capabilities: convertPtr(l.Capabilities, func(k KernelCapabilities) model.KernelCapabilities {
			return model.KernelCapabilities{Add: k.Add, Drop: k.Drop}
		}),
		Devices: convertAll(l.Devices, func(d Device) model.Device {
			return model.Device{HostPath: deref(d.HostPath), ContainerPath: deref(d.ContainerPath), Permissions: d.Permissions}
		}),
		InitProcessEnabled: l.InitProcessEnabled, SharedMemorySize: intFromWire(l.SharedMemorySize),
		Tmpfs: convertAll(l.Tmpfs, func(t Tmpfs) model.Tmpfs {
			return model.Tmpfs{ContainerPath: deref(t.ContainerPath), Size: int(deref(t.Size)), MountOptions: t.MountOptions}
		}),
		MaxSwap: intFromWire(l.MaxSwap), Swappiness: intFromWire(l.Swappiness),
	}
}

func linuxParametersToWire(l model.LinuxParameters) LinuxParameters {
	return LinuxParameters{
		Capabilities: convertPtr(l.Capabilities, func(k model.KernelCapabilities) KernelCapabilities {
			return KernelCapabilities{Add: k.Add, Drop: k.Drop}
		}),
		Devices: convertAll(l.Devices, func(d model.Device) Device {
			return Device{HostPath: optional(d.HostPath), ContainerPath: optional(d.ContainerPath), Permissions: d.Permissions}
		}),
		InitProcessEnabled: l.InitProcessEnabled, SharedMemorySize: intToWire(l.SharedMemorySize),
		Tmpfs: convertAll(l.Tmpfs, func(t model.Tmpfs) Tmpfs {
			return Tmpfs{ContainerPath: optional(t.ContainerPath), Size: int32Ptr(t.Size), MountOptions: t.MountOptions}
		}),
		MaxSwap: intToWire(l.MaxSwap), Swappiness: intToWire(l.Swappiness),
	}
}

func volumeFromWire(v Volume) model.Volume {
	return model.Volume{
		Name: deref(v.Name),
		Host: convertPtr(v.Host, func(h HostVolumeProperties) model.HostVolumeProperties {
			return model.HostVolumeProperties{SourcePath: deref(h.SourcePath)}
		}),
		DockerVolumeConfiguration: convertPtr(v.DockerVolumeConfiguration, func(d DockerVolumeConfiguration) model.DockerVolumeConfiguration {
			return model.DockerVolumeConfiguration{Scope: deref(d.Scope), Autoprovision: d.Autoprovision, Driver: deref(d.Driver), DriverOpts: d.DriverOpts, Labels: d.Labels}
		}),
		EFSVolumeConfiguration: convertPtr(v.EfsVolumeConfiguration, func(e EFSVolumeConfiguration) model.EFSVolumeConfiguration {
			return model.EFSVolumeConfiguration{FileSystemID: deref(e.FileSystemId), RootDirectory: deref(e.RootDirectory),
				TransitEncryption: deref(e.TransitEncryption), TransitEncryptionPort: intFromWire(e.TransitEncryptionPort),
				AuthorizationConfig: convertPtr(e.AuthorizationConfig, func(a EFSAuthorizationConfig) model.EFSAuthorizationConfig {
					return model.EFSAuthorizationConfig{AccessPointID: deref(a.AccessPointId), IAM: deref(a.Iam)}
				})}
		}),
		S3FilesVolumeConfiguration: convertPtr(v.S3filesVolumeConfiguration, func(s S3FilesVolumeConfiguration) model.S3FilesVolumeConfiguration {
			return model.S3FilesVolumeConfiguration{FileSystemArn: deref(s.FileSystemArn), RootDirectory: deref(s.RootDirectory),
				TransitEncryptionPort: intFromWire(s.TransitEncryptionPort), AccessPointArn: deref(s.AccessPointArn)}
		}),
		FSxWindowsFileServerVolumeConfiguration: convertPtr(v.FsxWindowsFileServerVolumeConfiguration, func(f FSxWindowsFileServerVolumeConfiguration) model.FSxWindowsFileServerVolumeConfiguration {
			return model.FSxWindowsFileServerVolumeConfiguration{FileSystemID: deref(f.FileSystemId), RootDirectory: deref(f.RootDirectory),
				AuthorizationConfig: convertPtr(f.AuthorizationConfig, func(a FSxWindowsFileServerAuthorizationConfig) model.FSxWindowsFileServerAuthorizationConfig {
					return model.FSxWindowsFileServerAuthorizationConfig{CredentialsParameter: deref(a.CredentialsParameter), Domain: deref(a.Domain)}
				})}
		}),
		ConfiguredAtLaunch: v.ConfiguredAtLaunch,
	}
}

func volumeToWire(v model.Volume) Volume {
	return Volume{
		Name: optional(v.Name),
		Host: convertPtr(v.Host, func(h model.HostVolumeProperties) HostVolumeProperties {
			return HostVolumeProperties{SourcePath: optional(h.SourcePath)}
		}),
		DockerVolumeConfiguration: convertPtr(v.DockerVolumeConfiguration, func(d model.DockerVolumeConfiguration) DockerVolumeConfiguration {
			return DockerVolumeConfiguration{Scope: optional(d.Scope), Autoprovision: d.Autoprovision, Driver: optional(d.Driver), DriverOpts: d.DriverOpts, Labels: d.Labels}
		}),
		EfsVolumeConfiguration: convertPtr(v.EFSVolumeConfiguration, func(e model.EFSVolumeConfiguration) EFSVolumeConfiguration {
			return EFSVolumeConfiguration{FileSystemId: optional(e.FileSystemID), RootDirectory: optional(e.RootDirectory),
				TransitEncryption: optional(e.TransitEncryption), TransitEncryptionPort: intToWire(e.TransitEncryptionPort),
				AuthorizationConfig: convertPtr(e.AuthorizationConfig, func(a model.EFSAuthorizationConfig) EFSAuthorizationConfig {
					return EFSAuthorizationConfig{AccessPointId: optional(a.AccessPointID), Iam: optional(a.IAM)}
				})}
		}),
		S3filesVolumeConfiguration: convertPtr(v.S3FilesVolumeConfiguration, func(s model.S3FilesVolumeConfiguration) S3FilesVolumeConfiguration {
			return S3FilesVolumeConfiguration{FileSystemArn: optional(s.FileSystemArn), RootDirectory: optional(s.RootDirectory),
				TransitEncryptionPort: intToWire(s.TransitEncryptionPort), AccessPointArn: optional(s.AccessPointArn)}
		}),
		FsxWindowsFileServerVolumeConfiguration: convertPtr(v.FSxWindowsFileServerVolumeConfiguration, func(f model.FSxWindowsFileServerVolumeConfiguration) FSxWindowsFileServerVolumeConfiguration {
			return FSxWindowsFileServerVolumeConfiguration{FileSystemId: optional(f.FileSystemID), RootDirectory: optional(f.RootDirectory),
				AuthorizationConfig: convertPtr(f.AuthorizationConfig, func(a model.FSxWindowsFileServerAuthorizationConfig) FSxWindowsFileServerAuthorizationConfig {
					return FSxWindowsFileServerAuthorizationConfig{CredentialsParameter: optional(a.CredentialsParameter), Domain: optional(a.Domain)}
				})}
		}),
		ConfiguredAtLaunch: v.ConfiguredAtLaunch,
	}
}
