package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// Key schema:
//
//	ecs/tasks/<account>/<region>/<cluster>/<task id>      a task
//	ecs/tokens/<account>/<region>/<cluster>/<clientToken>  what the RunTask call with that token made
//
// A token is written in the same transaction as the tasks it made, so a retried RunTask finds
// either nothing (and may run) or everything (and answers the same tasks), never half.

// ClientToken remembers a RunTask call that carried a clientToken: the fingerprint of its
// parameters, and what it answered.
type ClientToken struct {
	Scope       model.Scope
	Cluster     string
	Token       string
	Fingerprint string
	TaskIDs     []string
	Failures    []LaunchFailure
	CreatedAt   time.Time
}

// LaunchFailure is one task a RunTask call could not place, as it answered it.
type LaunchFailure struct {
	ARN    string
	Reason string
	Detail string
}

// Launch is what one RunTask call writes atomically: its tasks, the reservations they take on
// their hosts (each host value carries its new reservation and the revision it was read at), and
// its client token, if any. Tasks with an ENI add their network: the ENI records (new), the
// address pools of their subnets with the addresses marked used (at the revision read, 0 for a
// pool not stored yet), and the unchanged records of their VPCs at the revision read, which
// fences the launch against a concurrent DeleteSubnet or DeleteSecurityGroup.
type Launch struct {
	Tasks []model.Task
	Hosts []Versioned[model.Host]
	Token *ClientToken
	ENIs  []model.NetworkInterface
	Pools []Versioned[SubnetPool]
	Vpcs  []Versioned[model.Vpc]
}

// Tasks is the repository of ECS tasks and RunTask client tokens.
type Tasks struct {
	s      *Store
	t      *table[model.Task, taskRecord]
	tokens *table[ClientToken, tokenRecord]
}

// Tasks returns the task repository.
func (s *Store) Tasks() Tasks {
	return Tasks{
		s: s,
		t: &table[model.Task, taskRecord]{s: s, dir: "ecs/tasks", version: 1,
			toRecord: recordFromTask, fromRecord: taskFromRecord},
		tokens: &table[ClientToken, tokenRecord]{s: s, dir: "ecs/tokens", version: 1,
			toRecord: recordFromToken, fromRecord: tokenFromRecord},
	}
}

// TaskKey is the key of a task relative to the repository.
func TaskKey(sc model.Scope, cluster, id string) string { return ScopeKey(sc) + cluster + "/" + id }

// TaskSize is what a task reserves on its host: its cpu units and memory in MiB.
func TaskSize(t model.Task) (cpu, memory int64) {
	cpu, _ = strconv.ParseInt(t.CPU, 10, 64)
	memory, _ = strconv.ParseInt(t.Memory, 10, 64)
	return cpu, memory
}

// Get reads a task; a missing one is apierr.NotFound.
func (r Tasks) Get(ctx context.Context, sc model.Scope, cluster, id string) (Versioned[model.Task], error) {
	return r.t.Get(ctx, TaskKey(sc, cluster, id))
}

// GetMany reads the tasks of a cluster with the given ids in one round trip (per 100); a missing
// task's entry is nil.
func (r Tasks) GetMany(ctx context.Context, sc model.Scope, cluster string, ids []string) ([]*Versioned[model.Task], error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = TaskKey(sc, cluster, id)
	}
	return r.t.GetMany(ctx, keys)
}

// List reads up to limit tasks of a cluster in id order, after the task id after ("" from the
// start). limit <= 0 means all.
func (r Tasks) List(ctx context.Context, sc model.Scope, cluster, after string, limit int) (Page[model.Task], error) {
	a := ""
	if after != "" {
		a = TaskKey(sc, cluster, after)
	}
	return r.t.List(ctx, ScopeKey(sc)+cluster+"/", a, limit)
}

// ListAll reads up to limit tasks of every scope and cluster in key order, after the relative
// key after (a Page's Keys entry). It is the host link's starting point for a watch.
func (r Tasks) ListAll(ctx context.Context, after string, limit int) (Page[model.Task], error) {
	return r.t.List(ctx, "", after, limit)
}

// Forget deletes the task at key (a Page's Keys entry) if it is still at revision rev:
// apierr.Conflict if it changed since. It releases nothing: a task is forgotten only once
// STOPPED, when Mutate has released what it held.
func (r Tasks) Forget(ctx context.Context, key string, rev int64) error {
	return r.t.Delete(ctx, key, rev)
}

// Tokens reads up to limit client tokens of every scope and cluster in key order, after the
// relative key after (a Page's Keys entry).
func (r Tasks) Tokens(ctx context.Context, after string, limit int) (Page[ClientToken], error) {
	return r.tokens.List(ctx, "", after, limit)
}

// ForgetToken deletes the client token at key (a Page's Keys entry) if it is still at
// revision rev: a RunTask that carries it afterwards runs anew.
func (r Tasks) ForgetToken(ctx context.Context, key string, rev int64) error {
	return r.tokens.Delete(ctx, key, rev)
}

// Watch streams task changes in every scope after store revision rev.
func (r Tasks) Watch(ctx context.Context, rev int64) <-chan Event[model.Task] {
	return r.t.Watch(ctx, "", rev)
}

// Token reads what the RunTask call with clientToken token made in cluster; apierr.NotFound if
// no call used it.
func (r Tasks) Token(ctx context.Context, sc model.Scope, cluster, token string) (ClientToken, error) {
	v, err := r.tokens.Get(ctx, TaskKey(sc, cluster, token))
	return v.Value, err
}

// Launch writes l in one transaction. It is apierr.Conflict when a host changed since it was
// read, a task id is taken, or the client token was used meanwhile: the caller re-reads and
// plans again.
func (r Tasks) Launch(ctx context.Context, l Launch) (int64, error) {
	w := &Write{}
	for _, t := range l.Tasks {
		if err := r.t.PutIn(w, TaskKey(t.Scope, t.Cluster, t.ID), t, 0); err != nil {
			return 0, err
		}
	}
	for _, h := range l.Hosts {
		if err := r.s.Hosts().PutIn(w, h.Value, h.Revision); err != nil {
			return 0, err
		}
	}
	if tok := l.Token; tok != nil {
		if err := r.tokens.PutIn(w, TaskKey(tok.Scope, tok.Cluster, tok.Token), *tok, 0); err != nil {
			return 0, err
		}
	}
	for _, n := range l.ENIs {
		if err := r.s.NetworkInterfaces().PutIn(w, n, 0); err != nil {
			return 0, err
		}
	}
	for _, p := range l.Pools {
		if err := r.s.IPPools().PutIn(w, p.Value, p.Revision); err != nil {
			return 0, err
		}
	}
	for _, v := range l.Vpcs {
		if err := r.s.Vpcs().PutIn(w, v.Value, v.Revision); err != nil {
			return 0, err
		}
	}
	return r.s.Commit(ctx, w)
}

// Mutate applies fn to a task with optimistic retries. When fn moves the task's LastStatus to
// STOPPED for the first time, the same transaction gives the task's size back to its host and
// its ENI's address back to its subnet's pool, and deletes the ENI record, so each is released
// exactly once however often the stop is reported. The status of the task's ENI attachment
// follows its LastStatus (PRECREATED, ATTACHED from RUNNING, DELETED once STOPPED). fn must be
// a pure function of its argument: it may run several times.
func (r Tasks) Mutate(ctx context.Context, sc model.Scope, cluster, id string, fn func(*model.Task) error) (Versioned[model.Task], error) {
	key := TaskKey(sc, cluster, id)
	for attempt := range maxMutateAttempts {
		cur, err := r.t.Get(ctx, key)
		if err != nil {
			return Versioned[model.Task]{}, err
		}
		before, err := r.t.encode(cur.Value)
		if err != nil {
			return Versioned[model.Task]{}, err
		}
		wasStopped := cur.Value.LastStatus == model.TaskStopped
		if err := fn(&cur.Value); err != nil {
			return Versioned[model.Task]{}, err
		}
		syncAttachment(&cur.Value)
		after, err := r.t.encode(cur.Value)
		if err != nil {
			return Versioned[model.Task]{}, err
		}
		if before == after {
			return cur, nil
		}
		w := &Write{}
		if err := r.t.PutIn(w, key, cur.Value, cur.Revision); err != nil {
			return Versioned[model.Task]{}, err
		}
		if !wasStopped && cur.Value.LastStatus == model.TaskStopped {
			if err := r.releaseIn(ctx, w, cur.Value); err != nil {
				return Versioned[model.Task]{}, err
			}
			if err := r.releaseNetworkIn(ctx, w, cur.Value); err != nil {
				return Versioned[model.Task]{}, err
			}
		}
		rev, err := r.s.Commit(ctx, w)
		if err == nil {
			return Versioned[model.Task]{Value: cur.Value, Revision: rev}, nil
		}
		if !errors.Is(err, apierr.Conflict) || ctx.Err() != nil {
			return Versioned[model.Task]{}, fmt.Errorf("task %q: %w", id, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return Versioned[model.Task]{}, err
		}
	}
	return Versioned[model.Task]{}, fmt.Errorf("task %q: too many concurrent writers: %w", id, apierr.Conflict)
}

// releaseIn adds to w the host's reservation less t's size. A host that is gone has nothing to
// release.
func (r Tasks) releaseIn(ctx context.Context, w *Write, t model.Task) error {
	if t.HostID == "" {
		return nil
	}
	h, err := r.s.Hosts().Get(ctx, t.HostID)
	if errors.Is(err, apierr.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	cpu, mem := TaskSize(t)
	h.Value.ReservedCPU = max(h.Value.ReservedCPU-cpu, 0)
	h.Value.ReservedMemory = max(h.Value.ReservedMemory-mem, 0)
	return r.s.Hosts().PutIn(w, h.Value, h.Revision)
}

// taskRecord is a task as stored (schema version 1).
type taskRecord struct {
	Account              string                `json:"account"`
	Region               string                `json:"region"`
	ID                   string                `json:"id"`
	Cluster              string                `json:"cluster"`
	TaskDefinitionARN    string                `json:"taskDefinitionArn"`
	Family               string                `json:"family"`
	Revision             int                   `json:"revision"`
	LaunchType           string                `json:"launchType,omitempty"`
	CapacityProvider     string                `json:"capacityProvider,omitempty"`
	CPU                  string                `json:"cpu"`
	Memory               string                `json:"memory"`
	EphemeralStorageGiB  int                   `json:"ephemeralStorageGiB,omitempty"`
	Overrides            taskOverrideRecord    `json:"overrides"`
	StartedBy            string                `json:"startedBy,omitempty"`
	Group                string                `json:"group,omitempty"`
	Tags                 []tagRecord           `json:"tags,omitempty"`
	ClientToken          string                `json:"clientToken,omitempty"`
	EnableExecuteCommand bool                  `json:"enableExecuteCommand,omitempty"`
	Network              *awsVpcRecord         `json:"network,omitempty"`
	DesiredStatus        string                `json:"desiredStatus"`
	LastStatus           string                `json:"lastStatus"`
	HealthStatus         string                `json:"healthStatus,omitempty"`
	Times                taskTimesRecord       `json:"times"`
	StopCode             string                `json:"stopCode,omitempty"`
	StoppedReason        string                `json:"stoppedReason,omitempty"`
	Containers           []taskContainerRecord `json:"containers,omitempty"`
	Attachments          []attachmentRecord    `json:"attachments,omitempty"`
	HostID               string                `json:"hostId,omitempty"`
	AvailabilityZone     string                `json:"availabilityZone,omitempty"`
	PlatformVersion      string                `json:"platformVersion,omitempty"`
	PlatformFamily       string                `json:"platformFamily,omitempty"`
	Version              int64                 `json:"version"`
	TaskNetwork          *taskNetworkRecord    `json:"taskNetwork,omitempty"`
}

// taskNetworkRecord is the ENI RunTask gave a task.
type taskNetworkRecord struct {
	VpcID          string            `json:"vpcId"`
	VpcCidr        string            `json:"vpcCidr"`
	Subnet         subnetRouteRecord `json:"subnet"`
	ENIID          string            `json:"eniId"`
	PrivateIP      string            `json:"privateIp"`
	MacAddress     string            `json:"mac"`
	SecurityGroups []string          `json:"securityGroups,omitempty"`
	PrivateDNSName string            `json:"privateDnsName,omitempty"`
	PublicIP       string            `json:"publicIp,omitempty"`
}

type subnetRouteRecord struct {
	ID     string `json:"id"`
	Cidr   string `json:"cidr"`
	Public bool   `json:"public,omitempty"`
	NAT    bool   `json:"nat,omitempty"`
}

type taskOverrideRecord struct {
	ContainerOverrides []containerOverrideRecord `json:"containerOverrides,omitempty"`
	CPU                string                    `json:"cpu,omitempty"`
	Memory             string                    `json:"memory,omitempty"`
	TaskRoleArn        string                    `json:"taskRoleArn,omitempty"`
	ExecutionRoleArn   string                    `json:"executionRoleArn,omitempty"`
	EphemeralStorage   *ephemeralStorageRecord   `json:"ephemeralStorage,omitempty"`
}

type containerOverrideRecord struct {
	Name                 string                      `json:"name"`
	Command              []string                    `json:"command,omitempty"`
	Environment          []keyValueRecord            `json:"environment,omitempty"`
	EnvironmentFiles     []environmentFileRecord     `json:"environmentFiles,omitempty"`
	CPU                  *int                        `json:"cpu,omitempty"`
	Memory               *int                        `json:"memory,omitempty"`
	MemoryReservation    *int                        `json:"memoryReservation,omitempty"`
	ResourceRequirements []resourceRequirementRecord `json:"resourceRequirements,omitempty"`
}

type awsVpcRecord struct {
	Subnets        []string `json:"subnets,omitempty"`
	SecurityGroups []string `json:"securityGroups,omitempty"`
	AssignPublicIP string   `json:"assignPublicIp,omitempty"`
}

// taskTimesRecord keeps zero times as absent.
type taskTimesRecord struct {
	CreatedAt          *time.Time `json:"createdAt,omitempty"`
	PullStartedAt      *time.Time `json:"pullStartedAt,omitempty"`
	PullStoppedAt      *time.Time `json:"pullStoppedAt,omitempty"`
	StartedAt          *time.Time `json:"startedAt,omitempty"`
	StoppingAt         *time.Time `json:"stoppingAt,omitempty"`
	ExecutionStoppedAt *time.Time `json:"executionStoppedAt,omitempty"`
	StoppedAt          *time.Time `json:"stoppedAt,omitempty"`
	ConnectivityAt     *time.Time `json:"connectivityAt,omitempty"`
}

type taskContainerRecord struct {
	Name              string `json:"name"`
	ID                string `json:"id"`
	Image             string `json:"image,omitempty"`
	ImageDigest       string `json:"imageDigest,omitempty"`
	RuntimeID         string `json:"runtimeId,omitempty"`
	LastStatus        string `json:"lastStatus,omitempty"`
	ExitCode          *int   `json:"exitCode,omitempty"`
	Reason            string `json:"reason,omitempty"`
	HealthStatus      string `json:"healthStatus,omitempty"`
	CPU               string `json:"cpu,omitempty"`
	Memory            string `json:"memory,omitempty"`
	MemoryReservation string `json:"memoryReservation,omitempty"`
	Essential         bool   `json:"essential,omitempty"`
}

type attachmentRecord struct {
	ID      string            `json:"id"`
	Type    string            `json:"type"`
	Status  string            `json:"status,omitempty"`
	Details []nameValueRecord `json:"details,omitempty"`
}

type nameValueRecord struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type tokenRecord struct {
	Account     string                `json:"account"`
	Region      string                `json:"region"`
	Cluster     string                `json:"cluster"`
	Token       string                `json:"token"`
	Fingerprint string                `json:"fingerprint"`
	TaskIDs     []string              `json:"taskIds,omitempty"`
	Failures    []launchFailureRecord `json:"failures,omitempty"`
	CreatedAt   time.Time             `json:"createdAt"`
}

type launchFailureRecord struct {
	ARN    string `json:"arn,omitempty"`
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

func recordFromTask(t model.Task) taskRecord {
	return taskRecord{
		Account: t.Scope.Account, Region: t.Scope.Region, ID: t.ID, Cluster: t.Cluster,
		TaskDefinitionARN: t.TaskDefinitionARN, Family: t.Family, Revision: t.Revision,
		LaunchType: t.LaunchType, CapacityProvider: t.CapacityProvider, CPU: t.CPU, Memory: t.Memory,
		EphemeralStorageGiB: t.EphemeralStorageGiB, Overrides: recordFromTaskOverride(t.Overrides), StartedBy: t.StartedBy, Group: t.Group,
		Tags: tagsToRecords(t.Tags), ClientToken: t.ClientToken, EnableExecuteCommand: t.EnableExecuteCommand,
		Network:       convertPtr(t.Network, func(n model.AwsVpcConfiguration) awsVpcRecord { return awsVpcRecord(n) }),
		DesiredStatus: string(t.DesiredStatus), LastStatus: string(t.LastStatus), HealthStatus: t.HealthStatus,
		Times: recordFromTaskTimes(t.Times), StopCode: t.StopCode, StoppedReason: t.StoppedReason,
		Containers: convertAll(t.Containers, func(c model.Container) taskContainerRecord { return taskContainerRecord(c) }),
		Attachments: convertAll(t.Attachments, func(a model.Attachment) attachmentRecord {
			return attachmentRecord{ID: a.ID, Type: a.Type, Status: a.Status,
				Details: convertAll(a.Details, func(kv model.KeyValue) nameValueRecord { return nameValueRecord(kv) })}
		}),
		HostID: t.HostID, AvailabilityZone: t.AvailabilityZone, PlatformVersion: t.PlatformVersion,
		PlatformFamily: t.PlatformFamily, Version: t.Version,
		TaskNetwork: convertPtr(t.TaskNetwork, func(n model.TaskNetwork) taskNetworkRecord {
			return taskNetworkRecord{VpcID: n.VpcID, VpcCidr: n.VpcCidr, Subnet: subnetRouteRecord(n.Subnet), ENIID: n.ENIID,
				PrivateIP: n.PrivateIP, MacAddress: n.MacAddress, SecurityGroups: n.SecurityGroups, PrivateDNSName: n.PrivateDNSName,
				PublicIP: n.PublicIP}
		}),
	}
}

func taskFromRecord(r taskRecord) model.Task {
	return model.Task{
		Scope: model.Scope{Account: r.Account, Region: r.Region}, ID: r.ID, Cluster: r.Cluster,
		TaskDefinitionARN: r.TaskDefinitionARN, Family: r.Family, Revision: r.Revision,
		LaunchType: r.LaunchType, CapacityProvider: r.CapacityProvider, CPU: r.CPU, Memory: r.Memory,
		EphemeralStorageGiB: r.EphemeralStorageGiB, Overrides: taskOverrideFromRecord(r.Overrides), StartedBy: r.StartedBy, Group: r.Group,
		Tags: tagsFromRecords(r.Tags), ClientToken: r.ClientToken, EnableExecuteCommand: r.EnableExecuteCommand,
		Network:       convertPtr(r.Network, func(n awsVpcRecord) model.AwsVpcConfiguration { return model.AwsVpcConfiguration(n) }),
		DesiredStatus: model.TaskStatus(r.DesiredStatus), LastStatus: model.TaskStatus(r.LastStatus),
		HealthStatus: r.HealthStatus, Times: taskTimesFromRecord(r.Times), StopCode: r.StopCode,
		StoppedReason: r.StoppedReason,
		Containers:    convertAll(r.Containers, func(c taskContainerRecord) model.Container { return model.Container(c) }),
		Attachments: convertAll(r.Attachments, func(a attachmentRecord) model.Attachment {
			return model.Attachment{ID: a.ID, Type: a.Type, Status: a.Status,
				Details: convertAll(a.Details, func(kv nameValueRecord) model.KeyValue { return model.KeyValue(kv) })}
		}),
		HostID: r.HostID, AvailabilityZone: r.AvailabilityZone, PlatformVersion: r.PlatformVersion,
		PlatformFamily: r.PlatformFamily, Version: r.Version,
		TaskNetwork: convertPtr(r.TaskNetwork, func(n taskNetworkRecord) model.TaskNetwork {
			return model.TaskNetwork{VpcID: n.VpcID, VpcCidr: n.VpcCidr, Subnet: model.SubnetRoute(n.Subnet), ENIID: n.ENIID,
				PrivateIP: n.PrivateIP, MacAddress: n.MacAddress, SecurityGroups: n.SecurityGroups, PrivateDNSName: n.PrivateDNSName,
				PublicIP: n.PublicIP}
		}),
	}
}

func recordFromTaskOverride(o model.TaskOverride) taskOverrideRecord {
	return taskOverrideRecord{
		ContainerOverrides: convertAll(o.ContainerOverrides, func(c model.ContainerOverride) containerOverrideRecord {
			return containerOverrideRecord{Name: c.Name, Command: c.Command,
				Environment:      convertAll(c.Environment, recordFromKeyValue),
				EnvironmentFiles: convertAll(c.EnvironmentFiles, func(v model.EnvironmentFile) environmentFileRecord { return environmentFileRecord(v) }),
				CPU:              c.CPU, Memory: c.Memory, MemoryReservation: c.MemoryReservation,
				ResourceRequirements: convertAll(c.ResourceRequirements, func(v model.ResourceRequirement) resourceRequirementRecord {
					return resourceRequirementRecord(v)
				})}
		}),
		CPU: o.CPU, Memory: o.Memory, TaskRoleArn: o.TaskRoleArn, ExecutionRoleArn: o.ExecutionRoleArn,
		EphemeralStorage: convertPtr(o.EphemeralStorage, func(e model.EphemeralStorage) ephemeralStorageRecord { return ephemeralStorageRecord(e) }),
	}
}

func taskOverrideFromRecord(r taskOverrideRecord) model.TaskOverride {
	return model.TaskOverride{
		ContainerOverrides: convertAll(r.ContainerOverrides, func(c containerOverrideRecord) model.ContainerOverride {
			return model.ContainerOverride{Name: c.Name, Command: c.Command,
				Environment:      convertAll(c.Environment, keyValueFromRecord),
				EnvironmentFiles: convertAll(c.EnvironmentFiles, func(v environmentFileRecord) model.EnvironmentFile { return model.EnvironmentFile(v) }),
				CPU:              c.CPU, Memory: c.Memory, MemoryReservation: c.MemoryReservation,
				ResourceRequirements: convertAll(c.ResourceRequirements, func(v resourceRequirementRecord) model.ResourceRequirement {
					return model.ResourceRequirement(v)
				})}
		}),
		CPU: r.CPU, Memory: r.Memory, TaskRoleArn: r.TaskRoleArn, ExecutionRoleArn: r.ExecutionRoleArn,
		EphemeralStorage: convertPtr(r.EphemeralStorage, func(e ephemeralStorageRecord) model.EphemeralStorage { return model.EphemeralStorage(e) }),
	}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func timeOf(p *time.Time) time.Time {
	if p == nil {
		return time.Time{}
	}
	return *p
}

func recordFromTaskTimes(t model.TaskTimes) taskTimesRecord {
	return taskTimesRecord{CreatedAt: timePtr(t.CreatedAt), PullStartedAt: timePtr(t.PullStartedAt),
		PullStoppedAt: timePtr(t.PullStoppedAt), StartedAt: timePtr(t.StartedAt), StoppingAt: timePtr(t.StoppingAt),
		ExecutionStoppedAt: timePtr(t.ExecutionStoppedAt), StoppedAt: timePtr(t.StoppedAt), ConnectivityAt: timePtr(t.ConnectivityAt)}
}

func taskTimesFromRecord(r taskTimesRecord) model.TaskTimes {
	return model.TaskTimes{CreatedAt: timeOf(r.CreatedAt), PullStartedAt: timeOf(r.PullStartedAt),
		PullStoppedAt: timeOf(r.PullStoppedAt), StartedAt: timeOf(r.StartedAt), StoppingAt: timeOf(r.StoppingAt),
		ExecutionStoppedAt: timeOf(r.ExecutionStoppedAt), StoppedAt: timeOf(r.StoppedAt), ConnectivityAt: timeOf(r.ConnectivityAt)}
}

func recordFromToken(t ClientToken) tokenRecord {
	return tokenRecord{Account: t.Scope.Account, Region: t.Scope.Region, Cluster: t.Cluster, Token: t.Token,
		Fingerprint: t.Fingerprint, TaskIDs: t.TaskIDs, CreatedAt: t.CreatedAt,
		Failures: convertAll(t.Failures, func(f LaunchFailure) launchFailureRecord { return launchFailureRecord(f) })}
}

func tokenFromRecord(r tokenRecord) ClientToken {
	return ClientToken{Scope: model.Scope{Account: r.Account, Region: r.Region}, Cluster: r.Cluster, Token: r.Token,
		Fingerprint: r.Fingerprint, TaskIDs: r.TaskIDs, CreatedAt: r.CreatedAt,
		Failures: convertAll(r.Failures, func(f launchFailureRecord) LaunchFailure { return LaunchFailure(f) })}
}
