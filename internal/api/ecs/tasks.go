package ecs

import (
	"context"
	goruntime "runtime"
	"slices"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

func (h *handler) runTask(ctx context.Context, sc model.Scope, in *runTaskInput) (*tasksOutput, error) {
	tasks, failures, err := h.ops.RunTask(ctx, sc, runTaskFromWire(in))
	if err != nil {
		return nil, err
	}
	return tasksToWire(tasks, failures), nil
}

func (h *handler) stopTask(ctx context.Context, sc model.Scope, in *stopTaskInput) (*stopTaskOutput, error) {
	t, err := h.ops.StopTask(ctx, sc, deref(in.Cluster), deref(in.Task), deref(in.Reason))
	if err != nil {
		return nil, err
	}
	return &stopTaskOutput{Task: ptr(taskToWire(t))}, nil
}

func (h *handler) describeTasks(ctx context.Context, sc model.Scope, in *describeTasksInput) (*tasksOutput, error) {
	tasks, failures, err := h.ops.DescribeTasks(ctx, sc, deref(in.Cluster), in.Tasks, slices.Contains(in.Include, "TAGS"))
	if err != nil {
		return nil, err
	}
	return tasksToWire(tasks, failures), nil
}

func (h *handler) listTasks(ctx context.Context, sc model.Scope, in *listTasksInput) (*listTasksOutput, error) {
	arns, next, err := h.ops.ListTasks(ctx, sc, ops.ListTasksInput{
		Cluster: deref(in.Cluster), ContainerInstance: deref(in.ContainerInstance), Family: deref(in.Family), StartedBy: deref(in.StartedBy),
		ServiceName: deref(in.ServiceName), DesiredStatus: deref(in.DesiredStatus), LaunchType: deref(in.LaunchType),
		NextToken: deref(in.NextToken), MaxResults: intFromWire(in.MaxResults)})
	if err != nil {
		return nil, err
	}
	return &listTasksOutput{TaskArns: arns, NextToken: optional(next)}, nil
}

// runTaskFromWire converts a RunTask request to the domain.
func runTaskFromWire(in *runTaskInput) ops.RunTaskInput {
	out := ops.RunTaskInput{
		Cluster: deref(in.Cluster), TaskDefinition: deref(in.TaskDefinition), Count: intFromWire(in.Count),
		LaunchType: deref(in.LaunchType), CapacityProviderStrategy: strategyFromWire(in.CapacityProviderStrategy),
		StartedBy: deref(in.StartedBy), Group: deref(in.Group), Tags: tagsFromWire(in.Tags),
		PropagateTags: deref(in.PropagateTags), ClientToken: deref(in.ClientToken),
		EnableExecuteCommand: deref(in.EnableExecuteCommand), PlatformVersion: deref(in.PlatformVersion),
	}
	if in.Overrides != nil {
		out.Overrides = taskOverrideFromWire(*in.Overrides)
	}
	if nc := in.NetworkConfiguration; nc != nil && nc.AwsvpcConfiguration != nil {
		v := nc.AwsvpcConfiguration
		out.Network = &model.AwsVpcConfiguration{Subnets: v.Subnets, SecurityGroups: v.SecurityGroups, AssignPublicIP: deref(v.AssignPublicIp)}
	}
	return out
}

func taskOverrideFromWire(o TaskOverride) model.TaskOverride {
	return model.TaskOverride{
		ContainerOverrides: convertAll(o.ContainerOverrides, func(c ContainerOverride) model.ContainerOverride {
			return model.ContainerOverride{Name: deref(c.Name), Command: c.Command,
				Environment: convertAll(c.Environment, keyValueFromWire),
				EnvironmentFiles: convertAll(c.EnvironmentFiles, func(f EnvironmentFile) model.EnvironmentFile {
					return model.EnvironmentFile{Value: deref(f.Value), Type: deref(f.Type)}
				}),
				CPU: intFromWire(c.Cpu), Memory: intFromWire(c.Memory), MemoryReservation: intFromWire(c.MemoryReservation),
				ResourceRequirements: convertAll(c.ResourceRequirements, func(r ResourceRequirement) model.ResourceRequirement {
					return model.ResourceRequirement{Value: deref(r.Value), Type: deref(r.Type)}
				})}
		}),
		CPU: deref(o.Cpu), Memory: deref(o.Memory), TaskRoleArn: deref(o.TaskRoleArn), ExecutionRoleArn: deref(o.ExecutionRoleArn),
		EphemeralStorage: convertPtr(o.EphemeralStorage, func(e EphemeralStorage) model.EphemeralStorage {
			return model.EphemeralStorage{SizeInGiB: int(deref(e.SizeInGiB))}
		}),
	}
}

func tasksToWire(tasks []model.Task, failures []ops.TaskFailure) *tasksOutput {
	out := &tasksOutput{Tasks: []Task{}, Failures: []Failure{}}
	for _, t := range tasks {
		out.Tasks = append(out.Tasks, taskToWire(t))
	}
	for _, f := range failures {
		out.Failures = append(out.Failures, Failure{Arn: optional(f.ARN), Reason: optional(f.Reason), Detail: optional(f.Detail)})
	}
	return out
}

// taskToWire converts a task to ECS's answer.
func taskToWire(t model.Task) Task {
	arn := t.ARN()
	eph := &EphemeralStorage{SizeInGiB: int32Ptr(t.EphemeralGiB())}
	w := Task{
		Attachments: nonNil(convertAll(t.Attachments, func(a model.Attachment) Attachment {
			return Attachment{ID: optional(a.ID), Type: optional(a.Type), Status: optional(a.Status),
				Details: nonNil(convertAll(a.Details, func(kv model.KeyValue) KeyValuePair {
					return KeyValuePair{Name: optional(kv.Name), Value: ptr(kv.Value)}
				}))}
		})),
		Attributes:           []Attribute{{Name: ptr("ecs.cpu-architecture"), Value: ptr(cpuArchitecture())}},
		AvailabilityZone:     optional(t.AvailabilityZone),
		CapacityProviderName: optional(t.CapacityProvider),
		ClusterArn:           ptr(model.ClusterARN(t.Scope, t.Cluster)),
		ConnectivityAt:       epochSeconds(&t.Times.ConnectivityAt),
		Containers:           []Container{},
		Cpu:                  optional(t.CPU), CreatedAt: epochSeconds(&t.Times.CreatedAt),
		DesiredStatus: optional(string(t.DesiredStatus)), EnableExecuteCommand: t.EnableExecuteCommand,
		ExecutionStoppedAt: epochSeconds(&t.Times.ExecutionStoppedAt), Group: optional(t.Group),
		HealthStatus: optional(t.HealthStatus), LastStatus: optional(string(t.LastStatus)),
		LaunchType: optional(t.LaunchType), Memory: optional(t.Memory), Overrides: overridesToWire(t),
		PlatformVersion: optional(t.PlatformVersion), PlatformFamily: optional(t.PlatformFamily),
		PullStartedAt: epochSeconds(&t.Times.PullStartedAt), PullStoppedAt: epochSeconds(&t.Times.PullStoppedAt),
		StartedAt: epochSeconds(&t.Times.StartedAt), StartedBy: optional(t.StartedBy), StopCode: optional(t.StopCode),
		StoppedAt: epochSeconds(&t.Times.StoppedAt), StoppedReason: optional(t.StoppedReason),
		StoppingAt: epochSeconds(&t.Times.StoppingAt), Tags: tagsToWire(t.Tags), TaskArn: ptr(arn),
		TaskDefinitionArn: optional(t.TaskDefinitionARN), Version: t.Version,
		EphemeralStorage: eph, FargateEphemeralStorage: &TaskEphemeralStorage{SizeInGiB: eph.SizeInGiB},
	}
	if !t.Times.ConnectivityAt.IsZero() {
		w.Connectivity = ptr("CONNECTED")
	}
	nics := containerNICs(t)
	for _, c := range t.Containers {
		w.Containers = append(w.Containers, Container{
			ContainerArn: ptr(model.ContainerARN(t.Scope, t.Cluster, t.ID, c.ID)), TaskArn: ptr(arn),
			Name: optional(c.Name), Image: optional(c.Image), ImageDigest: optional(c.ImageDigest),
			RuntimeId: optional(c.RuntimeID), LastStatus: optional(c.LastStatus), ExitCode: intToWire(c.ExitCode),
			Reason: optional(c.Reason), NetworkBindings: []NetworkBinding{}, NetworkInterfaces: nics,
			HealthStatus: optional(c.HealthStatus), Cpu: optional(c.CPU), Memory: optional(c.Memory),
			MemoryReservation: optional(c.MemoryReservation),
		})
	}
	return w
}

// containerNICs is what every container of t shows of the task's ENI, which they all share:
// its attachment id and private address.
func containerNICs(t model.Task) []NetworkInterface {
	out := []NetworkInterface{}
	for _, a := range t.Attachments {
		if a.Type != "ElasticNetworkInterface" {
			continue
		}
		for _, d := range a.Details {
			if d.Name == "privateIPv4Address" && d.Value != "" {
				out = append(out, NetworkInterface{AttachmentId: optional(a.ID), PrivateIpv4Address: ptr(d.Value)})
			}
		}
	}
	return out
}

// overridesToWire shows the task's overrides as ECS does: one entry per container, carrying
// only its name when it was not overridden.
func overridesToWire(t model.Task) *TaskOverride {
	o := t.Overrides
	out := &TaskOverride{ContainerOverrides: []ContainerOverride{}, InferenceAcceleratorOverrides: []InferenceAcceleratorOverride{},
		Cpu: optional(o.CPU), Memory: optional(o.Memory), TaskRoleArn: optional(o.TaskRoleArn),
		ExecutionRoleArn: optional(o.ExecutionRoleArn),
		EphemeralStorage: convertPtr(o.EphemeralStorage, func(e model.EphemeralStorage) EphemeralStorage {
			return EphemeralStorage{SizeInGiB: int32Ptr(e.SizeInGiB)}
		})}
	for _, c := range t.Containers {
		i := slices.IndexFunc(o.ContainerOverrides, func(co model.ContainerOverride) bool { return co.Name == c.Name })
		if i < 0 {
			out.ContainerOverrides = append(out.ContainerOverrides, ContainerOverride{Name: optional(c.Name)})
			continue
		}
		co := o.ContainerOverrides[i]
		out.ContainerOverrides = append(out.ContainerOverrides, ContainerOverride{Name: optional(co.Name), Command: co.Command,
			Environment: convertAll(co.Environment, keyValueToWire),
			EnvironmentFiles: convertAll(co.EnvironmentFiles, func(f model.EnvironmentFile) EnvironmentFile {
				return EnvironmentFile{Value: optional(f.Value), Type: optional(f.Type)}
			}),
			Cpu: intToWire(co.CPU), Memory: intToWire(co.Memory), MemoryReservation: intToWire(co.MemoryReservation),
			ResourceRequirements: convertAll(co.ResourceRequirements, func(r model.ResourceRequirement) ResourceRequirement {
				return ResourceRequirement{Value: optional(r.Value), Type: optional(r.Type)}
			})})
	}
	return out
}

// cpuArchitecture is the ecs.cpu-architecture attribute of tasks run on this machine.
func cpuArchitecture() string {
	if goruntime.GOARCH == "amd64" {
		return "x86_64"
	}
	return goruntime.GOARCH
}
