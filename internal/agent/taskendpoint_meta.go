package agent

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/agent/taskrunner"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/scratch"
)

// The documents below carry the field names of the ECS agent's task metadata endpoint (v3 and
// v4, as Fargate serves them: docs.aws.amazon.com "Task metadata endpoint version 4 for tasks on
// Fargate"). Optional fields are omitted when they do not apply, as there.

type limitsDoc struct {
	CPU    *float64 `json:"CPU,omitempty"`
	Memory *int64   `json:"Memory,omitempty"`
}

type networkDoc struct {
	NetworkMode              string   `json:"NetworkMode"`
	IPv4Addresses            []string `json:"IPv4Addresses"`
	AttachmentIndex          *int     `json:"AttachmentIndex,omitempty"`
	MACAddress               string   `json:"MACAddress,omitempty"`
	IPv4SubnetCIDRBlock      string   `json:"IPv4SubnetCIDRBlock,omitempty"`
	PrivateDNSName           string   `json:"PrivateDNSName,omitempty"`
	SubnetGatewayIpv4Address string   `json:"SubnetGatewayIpv4Address,omitempty"`
}

type healthDoc struct {
	Status string `json:"status"`
}

type containerDoc struct {
	DockerID      string            `json:"DockerId"`
	Name          string            `json:"Name"`
	DockerName    string            `json:"DockerName"`
	Image         string            `json:"Image"`
	ImageID       string            `json:"ImageID"`
	Labels        map[string]string `json:"Labels,omitempty"`
	DesiredStatus string            `json:"DesiredStatus"`
	KnownStatus   string            `json:"KnownStatus"`
	ExitCode      *int              `json:"ExitCode,omitempty"`
	Limits        limitsDoc         `json:"Limits"`
	CreatedAt     *time.Time        `json:"CreatedAt,omitempty"`
	StartedAt     *time.Time        `json:"StartedAt,omitempty"`
	Type          string            `json:"Type"`
	Health        *healthDoc        `json:"Health,omitempty"`
	LogDriver     string            `json:"LogDriver,omitempty"`
	LogOptions    map[string]string `json:"LogOptions,omitempty"`
	ContainerARN  string            `json:"ContainerARN,omitempty"`
	Networks      []networkDoc      `json:"Networks,omitempty"`
}

type taskDoc struct {
	Cluster               string            `json:"Cluster"`
	TaskARN               string            `json:"TaskARN"`
	Family                string            `json:"Family"`
	Revision              string            `json:"Revision"`
	DesiredStatus         string            `json:"DesiredStatus"`
	KnownStatus           string            `json:"KnownStatus"`
	Limits                *limitsDoc        `json:"Limits,omitempty"`
	PullStartedAt         *time.Time        `json:"PullStartedAt,omitempty"`
	PullStoppedAt         *time.Time        `json:"PullStoppedAt,omitempty"`
	ExecutionStoppedAt    *time.Time        `json:"ExecutionStoppedAt,omitempty"`
	AvailabilityZone      string            `json:"AvailabilityZone,omitempty"`
	LaunchType            string            `json:"LaunchType,omitempty"`
	Containers            []containerDoc    `json:"Containers"`
	VPCID                 string            `json:"VPCID,omitempty"`
	ServiceName           string            `json:"ServiceName,omitempty"`
	TaskTags              map[string]string `json:"TaskTags,omitempty"`
	ContainerInstanceTags map[string]string `json:"ContainerInstanceTags,omitempty"`
	// EphemeralStorageMetrics is Fargate's (platform 1.4): MiB used and MiB the task has.
	EphemeralStorageMetrics *storageDoc `json:"EphemeralStorageMetrics,omitempty"`
}

type storageDoc struct {
	Utilized int64 `json:"Utilized"`
	Reserved int64 `json:"Reserved"`
}

// storageMetrics reads the use of the task's filesystem; nil when it has none.
func storageMetrics(dir string) *storageDoc {
	used, size, ok := scratch.Usage(dir) // not ok for "" (no filesystem of its own)
	if !ok {
		return nil
	}
	return &storageDoc{Utilized: used >> 20, Reserved: size >> 20}
}

// docVersion is the endpoint version a document is for: v3 carries less.
type docVersion int

const (
	v3 docVersion = 3
	v4 docVersion = 4
)

// routes are the endpoint's HTTP routes for one task.
func (st *servedTask) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/credentials", st.handleNoCredentialsID)
	mux.HandleFunc("GET /v2/credentials/", st.handleNoCredentialsID)
	mux.HandleFunc("GET /v2/credentials/{id}", st.handleCredentials)
	for _, v := range []docVersion{v3, v4} {
		p := "GET /v" + strconv.Itoa(int(v)) + "/{cid}"
		mux.HandleFunc(p, st.handleContainer(v))
		mux.HandleFunc(p+"/task", st.handleTask(v, false))
		mux.HandleFunc(p+"/stats", st.handleContainerStats)
		mux.HandleFunc(p+"/task/stats", st.handleTaskStats)
	}
	mux.HandleFunc("GET /v4/{cid}/taskWithTags", st.handleTask(v4, true))
	return mux
}

// ecsError is the ECS agent's error body.
type ecsError struct {
	Code          string `json:"code"`
	Message       string `json:"message"`
	HTTPErrorCode int    `json:"HTTPErrorCode"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (st *servedTask) handleNoCredentialsID(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusBadRequest, ecsError{Code: "NoIdInRequest", Message: "CredentialsV2Request: No ID in the request", HTTPErrorCode: http.StatusBadRequest})
}

// credentialsDoc is what the SDKs' container credential providers read.
type credentialsDoc struct {
	RoleArn         string `json:"RoleArn"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
}

// handleCredentials answers the task role's credentials, only for this task's id: the id is
// compared whole, so another task's id (or a guess) gets a 400 as from the ECS agent.
func (st *servedTask) handleCredentials(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if st.t.CredentialsID == "" || id != st.t.CredentialsID {
		writeJSON(w, http.StatusBadRequest, ecsError{Code: "InvalidIdInRequest", Message: "CredentialsV2Request: Credentials not found", HTTPErrorCode: http.StatusBadRequest})
		return
	}
	c, err := st.credentials(r.Context())
	if err != nil {
		st.ep.log.Warn("issue task role credentials", logx.KeyTaskARN, st.t.Assignment.Task.ARN(), "role", st.t.TaskRoleARN, logx.KeyError, err)
		writeJSON(w, http.StatusInternalServerError, ecsError{Code: "InternalServerError", Message: "CredentialsV2Request: unable to issue credentials for the task role", HTTPErrorCode: http.StatusInternalServerError})
		return
	}
	doc := credentialsDoc{RoleArn: st.t.TaskRoleARN, AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, Token: c.SessionToken}
	if !c.Expiration.IsZero() {
		doc.Expiration = c.Expiration.UTC().Format(time.RFC3339)
	}
	writeJSON(w, http.StatusOK, doc)
}

// containerName maps the {cid} of a metadata URI to one of this task's containers; ok is false
// for anything else (another task's id included): 404.
func (st *servedTask) containerName(w http.ResponseWriter, r *http.Request) (string, bool) {
	cid := r.PathValue("cid")
	for _, d := range st.t.Assignment.Definition.ContainerDefinitions {
		if taskrunner.ContainerID(st.t.Assignment.Task, d.Name) == cid {
			return d.Name, true
		}
	}
	writeJSON(w, http.StatusNotFound, ecsError{Code: "InvalidIdInRequest", Message: "TaskMetadataRequest: unable to find container for the id in the request", HTTPErrorCode: http.StatusNotFound})
	return "", false
}

func (st *servedTask) handleContainer(v docVersion) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, ok := st.containerName(w, r)
		if !ok {
			return
		}
		s := st.t.State()
		for _, d := range st.t.Assignment.Definition.ContainerDefinitions {
			if d.Name == name {
				writeJSON(w, http.StatusOK, st.containerDocument(v, d, s))
				return
			}
		}
	}
}

func (st *servedTask) handleTask(v docVersion, withTags bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := st.containerName(w, r); !ok {
			return
		}
		writeJSON(w, http.StatusOK, st.taskDocument(v, withTags, st.t.State()))
	}
}

// taskDocument is the /task document from the assignment and the runner's state.
func (st *servedTask) taskDocument(v docVersion, withTags bool, s taskrunner.TaskState) taskDoc {
	t := st.t.Assignment.Task
	doc := taskDoc{Cluster: model.ClusterARN(t.Scope, t.Cluster), TaskARN: t.ARN(), Family: t.Family,
		Revision: strconv.Itoa(t.Revision), DesiredStatus: string(s.DesiredStatus), KnownStatus: string(s.Report.LastStatus),
		PullStartedAt: timePtr(s.Report.PullStartedAt), PullStoppedAt: timePtr(s.Report.PullStoppedAt),
		AvailabilityZone: t.AvailabilityZone, Containers: []containerDoc{}}
	if v == v4 {
		doc.ExecutionStoppedAt = timePtr(s.Report.ExecutionStoppedAt)
		doc.LaunchType = firstOf(t.LaunchType, "FARGATE")
		if n := st.t.Assignment.Network; n != nil {
			doc.VPCID = n.VpcID
		}
		if name, ok := strings.CutPrefix(t.Group, "service:"); ok {
			doc.ServiceName = name
		}
		doc.EphemeralStorageMetrics = storageMetrics(st.t.StorageDir)
	}
	lim := limitsDoc{}
	if cpu, err := model.ParseTaskCPU(t.CPU); err == nil && t.CPU != "" {
		vcpu := float64(cpu) / 1024
		lim.CPU = &vcpu
	}
	if mem, err := model.ParseTaskMemory(t.Memory); err == nil && t.Memory != "" {
		m := int64(mem)
		lim.Memory = &m
	}
	if lim.CPU != nil || lim.Memory != nil {
		doc.Limits = &lim
	}
	for _, d := range st.t.Assignment.Definition.ContainerDefinitions {
		doc.Containers = append(doc.Containers, st.containerDocument(v, d, s))
	}
	if withTags {
		doc.TaskTags = map[string]string{}
		for _, tag := range t.Tags {
			doc.TaskTags[tag.Key] = tag.Value
		}
		doc.ContainerInstanceTags = map[string]string{}
	}
	return doc
}

// containerDocument is one container's document.
func (st *servedTask) containerDocument(v docVersion, d model.ContainerDefinition, s taskrunner.TaskState) containerDoc {
	t := st.t.Assignment.Task
	var rep model.ContainerReport
	for _, c := range s.Report.Containers {
		if c.Name == d.Name {
			rep = c
		}
	}
	cid := taskrunner.ContainerID(t, d.Name)
	doc := containerDoc{DockerID: runtimeID(t, d.Name), Name: d.Name,
		DockerName: "ecs-" + t.Family + "-" + strconv.Itoa(t.Revision) + "-" + d.Name + "-" + t.ID[:min(len(t.ID), 20)],
		Image:      d.Image, ImageID: rep.ImageDigest, DesiredStatus: string(s.DesiredStatus), KnownStatus: rep.LastStatus,
		ExitCode: rep.ExitCode, Type: "NORMAL",
		Labels: map[string]string{
			"com.amazonaws.ecs.cluster":                 model.ClusterARN(t.Scope, t.Cluster),
			"com.amazonaws.ecs.container-name":          d.Name,
			"com.amazonaws.ecs.task-arn":                t.ARN(),
			"com.amazonaws.ecs.task-definition-family":  t.Family,
			"com.amazonaws.ecs.task-definition-version": strconv.Itoa(t.Revision),
		}}
	for k, val := range d.DockerLabels {
		doc.Labels[k] = val
	}
	if doc.KnownStatus == "" {
		doc.KnownStatus = model.ContainerPending
	}
	if s.DesiredStatus == model.TaskRunning {
		doc.DesiredStatus = model.ContainerRunning
	}
	cpu := float64(d.CPU)
	doc.Limits.CPU = &cpu
	if d.Memory != nil {
		m := int64(*d.Memory)
		doc.Limits.Memory = &m
	}
	if at, ok := s.ContainerStarts[d.Name]; ok {
		doc.CreatedAt, doc.StartedAt = timePtr(at), timePtr(at)
	}
	if d.HealthCheck != nil && v == v4 {
		doc.Health = &healthDoc{Status: firstOf(rep.HealthStatus, model.HealthUnknown)}
	}
	if v == v4 {
		doc.ContainerARN = model.ContainerARN(t.Scope, t.Cluster, t.ID, cid)
		if lc := d.LogConfiguration; lc != nil {
			doc.LogDriver = lc.LogDriver
			doc.LogOptions = lc.Options // the definition's own: secretOptions never show here
		}
	}
	if n := st.t.Assignment.Network; n != nil && n.PrivateIP != "" {
		nd := networkDoc{NetworkMode: "awsvpc", IPv4Addresses: []string{n.PrivateIP}}
		if v == v4 {
			zero := 0
			nd.AttachmentIndex, nd.MACAddress, nd.IPv4SubnetCIDRBlock, nd.PrivateDNSName = &zero, n.MacAddress, n.Subnet.Cidr, n.PrivateDNSName
			nd.SubnetGatewayIpv4Address = subnetGateway(n.Subnet.Cidr)
		}
		doc.Networks = []networkDoc{nd}
	}
	return doc
}

// runtimeID is the container's id in the runtime, which the documents call DockerId.
func runtimeID(t model.Task, name string) string { return t.ID + "-" + name }

// subnetGateway is the subnet's router address with its prefix length ("10.0.2.1/24"), as
// Fargate reports SubnetGatewayIpv4Address: AWS's router is the subnet's base + 1.
func subnetGateway(cidr string) string {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return ""
	}
	return p.Masked().Addr().Next().String() + "/" + strconv.Itoa(p.Bits())
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
