package e2e

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// The documents of the task metadata endpoint v4 as AWS documents them ("Task metadata
// endpoint version 4 for tasks on Fargate"); decoding disallows unknown fields, so a name we
// invent, or misspell, fails. No Go type for these documents ships with the AWS SDK for Go v2
// (nor is amazon-ecs-agent available offline), so these are written from the documentation.
type mdLimits struct {
	CPU    *float64 `json:"CPU"`
	Memory *int64   `json:"Memory"`
}

type mdNetwork struct {
	NetworkMode              string
	IPv4Addresses            []string
	AttachmentIndex          *int
	MACAddress               string
	IPv4SubnetCIDRBlock      string
	PrivateDNSName           string
	SubnetGatewayIpv4Address string
}

type mdContainer struct {
	DockerID      string `json:"DockerId"`
	Name          string
	DockerName    string
	Image         string
	ImageID       string
	Labels        map[string]string
	DesiredStatus string
	KnownStatus   string
	ExitCode      *int
	Limits        mdLimits
	CreatedAt     *time.Time
	StartedAt     *time.Time
	FinishedAt    *time.Time
	Type          string
	Health        *struct {
		Status      string `json:"status"`
		StatusSince string `json:"statusSince"`
		Output      string `json:"output"`
	}
	LogDriver    string
	LogOptions   map[string]string
	ContainerARN string
	Networks     []mdNetwork
	Ports        []any
}

type mdTask struct {
	Cluster                 string
	TaskARN                 string
	Family                  string
	Revision                string
	DesiredStatus           string
	KnownStatus             string
	Limits                  *mdLimits
	PullStartedAt           *time.Time
	PullStoppedAt           *time.Time
	ExecutionStoppedAt      *time.Time
	AvailabilityZone        string
	LaunchType              string
	Containers              []mdContainer
	VPCID                   string
	ServiceName             string
	TaskTags                map[string]string
	ContainerInstanceTags   map[string]string
	ClockDrift              any
	EphemeralStorageMetrics *struct{ Utilized, Reserved int64 }
}

// mdStats is Docker's ContainerStats (API v1.30), the part ECS fills.
type mdStats struct {
	Read      time.Time `json:"read"`
	Preread   time.Time `json:"preread"`
	PidsStats struct {
		Current uint64 `json:"current"`
	} `json:"pids_stats"`
	BlkioStats   map[string]any `json:"blkio_stats"`
	NumProcs     uint32         `json:"num_procs"`
	StorageStats map[string]any `json:"storage_stats"`
	CPUStats     mdCPU          `json:"cpu_stats"`
	PreCPUStats  mdCPU          `json:"precpu_stats"`
	MemoryStats  struct {
		Usage    uint64            `json:"usage"`
		MaxUsage uint64            `json:"max_usage"`
		Stats    map[string]uint64 `json:"stats"`
		Limit    uint64            `json:"limit"`
	} `json:"memory_stats"`
	Name     string                       `json:"name"`
	ID       string                       `json:"id"`
	Networks map[string]map[string]uint64 `json:"networks"`
}

type mdCPU struct {
	CPUUsage struct {
		TotalUsage        uint64   `json:"total_usage"`
		PercpuUsage       []uint64 `json:"percpu_usage"`
		UsageInKernelmode uint64   `json:"usage_in_kernelmode"`
		UsageInUsermode   uint64   `json:"usage_in_usermode"`
	} `json:"cpu_usage"`
	SystemUsage    uint64            `json:"system_cpu_usage"`
	OnlineCPUs     uint32            `json:"online_cpus"`
	ThrottlingData map[string]uint64 `json:"throttling_data"`
}

func strictJSON(t *testing.T, what, s string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s does not decode strictly: %v\n%s", what, err, s)
	}
}

// metadataScript prints every metadata document and the injected environment, one per line
// with a marker, while a sidecar keeps running.
const metadataScript = `u=$ECS_CONTAINER_METADATA_URI_V4
i=0; until wget -q -O- $u/task | grep -q '"Revision":"1","DesiredStatus":"RUNNING","KnownStatus":"RUNNING"'; do
  i=$((i+1)); [ $i -gt 300 ] && exit 9; sleep 0.1; done
for p in "" /task /taskWithTags /stats /task/stats; do echo "DOC$p $(wget -q -O- $u$p)"; done
echo "V3 $(wget -q -O- $ECS_CONTAINER_METADATA_URI/task)"
echo "V3C $(wget -q -O- $ECS_CONTAINER_METADATA_URI)"
echo "BAD $(wget -q -O- http://169.254.170.2/v4/00000000-0000-0000-0000-000000000000/task || echo refused)"
env | grep -E '^(AWS_|ECS_)' | sed 's/^/ENV /'
sleep 3`

// runMetadataTask runs the metadata script in a two-container task with awslogs and returns
// the described task (while it ran) and its printed lines by marker.
func runMetadataTask(t *testing.T, s *Server) (types.Task, map[string]string) {
	t.Helper()
	client := newSDK(t, s)
	logs := newLogsSDK(t, s)
	appImage(t, s)
	td := sdkRegister(t, client, "meta",
		types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef), Cpu: 128, Memory: aws.Int32(256),
			EntryPoint: []string{"/bin/sh", "-c"}, Command: []string{metadataScript}, LogConfiguration: awslogsConfig("/e2e/meta"),
			DockerLabels: map[string]string{"team": "e2e"}},
		types.ContainerDefinition{Name: aws.String("side"), Image: aws.String(ecrRef), Essential: aws.Bool(false),
			Command: []string{"sleep", "60"}})
	task := sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(td),
		Tags: []types.Tag{{Key: aws.String("purpose"), Value: aws.String("metadata")}}})[0]
	arn := aws.ToString(task.TaskArn)
	in := &ecs.DescribeTasksInput{Tasks: []string{arn}}
	if err := ecs.NewTasksRunningWaiter(client, func(o *ecs.TasksRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = 200*time.Millisecond, time.Second
	}).Wait(t.Context(), in, 2*time.Minute); err != nil {
		t.Fatalf("metadata task did not run: %v", err)
	}
	out, err := client.DescribeTasks(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	running := out.Tasks[0]
	stopped := waitStopped(t, client, arn)[0]
	if c := containerNamed(stopped, "app"); c.ExitCode == nil || *c.ExitCode != 0 {
		t.Fatalf("metadata script: %s %s, exit %v", stopped.StopCode, aws.ToString(stopped.StoppedReason), c.ExitCode)
	}
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	lines := map[string]string{}
	for _, e := range waitStream(t, logs, "/e2e/meta", "ecs/app/"+id, "ENV ") {
		marker, rest, _ := strings.Cut(e.Message, " ")
		if marker == "ENV" {
			k, v, _ := strings.Cut(rest, "=")
			lines["ENV "+k] = v
			continue
		}
		lines[marker] = rest
	}
	return running, lines
}

// waitStream reads a stream until a message with the prefix has arrived.
func waitStream(t *testing.T, c *cloudwatchlogs.Client, group, stream, prefix string) []cliLogEvent {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		evs := pollStreamEvents(t, c, group, stream)
		for _, e := range evs {
			if strings.HasPrefix(e.Message, prefix) {
				return evs
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s/%s: no %q line in %v", group, stream, prefix, messages(evs))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func containerNamed(task types.Task, name string) types.Container {
	for _, c := range task.Containers {
		if aws.ToString(c.Name) == name {
			return c
		}
	}
	return types.Container{}
}

// TestTaskMetadata: a task reads its v4 (and v3) documents from 169.254.170.2: they decode
// strictly into the documented shapes and agree with DescribeTasks; its stats come from its
// cgroups; its environment has the variables Fargate injects.
func TestTaskMetadata(t *testing.T) {
	s := startServer(t, "")
	task, lines := runMetadataTask(t, s)
	checkMetadata(t, task, lines)
}

// TestTaskMetadataRunsc: the same under gVisor, whose containers share the task's namespace
// through the host's network stack.
func TestTaskMetadataRunsc(t *testing.T) {
	if _, err := exec.LookPath("runsc"); err != nil {
		t.Fatal("runsc is not installed; `make test` builds it (scripts/setup.sh --with-gvisor)")
	}
	s := startServer(t, "", "--runtime", "runsc")
	task, lines := runMetadataTask(t, s)
	checkMetadata(t, task, lines)
}

func checkMetadata(t *testing.T, task types.Task, lines map[string]string) {
	t.Helper()
	arn := aws.ToString(task.TaskArn)
	app := containerNamed(task, "app")
	ip := detail(task, "privateIPv4Address")
	cid := aws.ToString(app.ContainerArn)[strings.LastIndexByte(aws.ToString(app.ContainerArn), '/')+1:]

	for k, want := range map[string]string{
		"ENV AWS_REGION": "us-east-1", "ENV AWS_DEFAULT_REGION": "us-east-1", "ENV AWS_EXECUTION_ENV": "AWS_ECS_FARGATE",
		"ENV ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/" + cid,
		"ENV ECS_CONTAINER_METADATA_URI":    "http://169.254.170.2/v3/" + cid,
		"ENV AWS_ENDPOINT_URL":              "http://169.254.170.2:4566",
	} {
		if lines[k] != want {
			t.Errorf("%s = %q, want %q", k, lines[k], want)
		}
	}
	if _, ok := lines["ENV AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]; ok {
		t.Errorf("a task without a task role got a credentials URI")
	}
	if lines["BAD"] != "refused" {
		t.Errorf("an unknown container id answered %q", lines["BAD"])
	}

	var doc mdTask
	strictJSON(t, "/task", lines["DOC/task"], &doc)
	if doc.TaskARN != arn || doc.Cluster != aws.ToString(task.ClusterArn) || doc.Family != "meta" || doc.Revision != "1" ||
		doc.KnownStatus != "RUNNING" || doc.DesiredStatus != "RUNNING" || doc.LaunchType != "FARGATE" ||
		doc.AvailabilityZone != aws.ToString(task.AvailabilityZone) || doc.Limits == nil || doc.Limits.CPU == nil ||
		*doc.Limits.CPU != 0.25 || doc.Limits.Memory == nil || *doc.Limits.Memory != 512 || doc.PullStartedAt == nil ||
		doc.PullStoppedAt == nil || doc.VPCID == "" || !strings.HasPrefix(doc.VPCID, "vpc-") || len(doc.Containers) != 2 {
		t.Errorf("task document disagrees with DescribeTasks %s: %+v", arn, doc)
	}
	// Fargate's 20 GiB (20480 MiB; ext4 keeps a little for itself), of which the image's
	// changes use almost none.
	if m := doc.EphemeralStorageMetrics; m == nil || m.Reserved > 20480 || m.Reserved < 20000 || m.Utilized < 0 || m.Utilized > 64 {
		t.Errorf("EphemeralStorageMetrics = %+v, want about 20480 MiB reserved and a little used", m)
	}
	var own mdContainer
	strictJSON(t, "container", lines["DOC"], &own)
	if own.Name != "app" || own.ContainerARN != aws.ToString(app.ContainerArn) || own.KnownStatus != "RUNNING" ||
		own.ImageID != aws.ToString(app.ImageDigest) || own.Type != "NORMAL" || own.LogDriver != "awslogs" ||
		own.LogOptions["awslogs-group"] != "/e2e/meta" || own.Labels["team"] != "e2e" ||
		own.Labels["com.amazonaws.ecs.task-arn"] != arn || own.Limits.CPU == nil || *own.Limits.CPU != 128 ||
		own.Limits.Memory == nil || *own.Limits.Memory != 256 || own.StartedAt == nil || len(own.Networks) != 1 {
		t.Errorf("container document: %+v", own)
	} else if n := own.Networks[0]; n.NetworkMode != "awsvpc" || len(n.IPv4Addresses) != 1 || n.IPv4Addresses[0] != ip ||
		n.MACAddress != detail(task, "macAddress") || n.IPv4SubnetCIDRBlock == "" || n.PrivateDNSName != detail(task, "privateDnsName") ||
		!strings.HasSuffix(n.SubnetGatewayIpv4Address, n.IPv4SubnetCIDRBlock[strings.IndexByte(n.IPv4SubnetCIDRBlock, '/'):]) {
		t.Errorf("container network: %+v (task IP %s)", n, ip)
	}
	var tagged mdTask
	strictJSON(t, "/taskWithTags", lines["DOC/taskWithTags"], &tagged)
	if tagged.TaskTags["purpose"] != "metadata" {
		t.Errorf("taskWithTags tags = %v", tagged.TaskTags)
	}

	var st mdStats
	strictJSON(t, "/stats", lines["DOC/stats"], &st)
	if st.CPUStats.CPUUsage.TotalUsage == 0 || st.MemoryStats.Usage == 0 || st.MemoryStats.Limit == 0 ||
		st.MemoryStats.Limit > 512<<20 || st.PidsStats.Current == 0 || st.Read.IsZero() || st.CPUStats.SystemUsage == 0 {
		t.Errorf("stats from the cgroups: %+v", st)
	}
	if _, ok := st.Networks["eth0"]; !ok {
		t.Errorf("stats networks = %v, want the task's eth0", st.Networks)
	}
	var all map[string]json.RawMessage
	strictJSON(t, "/task/stats", lines["DOC/task/stats"], &all)
	if len(all) != 2 {
		t.Errorf("task stats for %d containers, want 2: %v", len(all), keys(all))
	}
	for id, raw := range all {
		var one mdStats
		strictJSON(t, "task stats of "+id, string(raw), &one)
	}

	var v3 mdTask
	strictJSON(t, "v3 /task", lines["V3"], &v3)
	if v3.TaskARN != arn || len(v3.Containers) != 2 || v3.LaunchType != "" {
		t.Errorf("v3 task document: %+v", v3)
	}
	if !bytes.Contains([]byte(lines["V3C"]), []byte(`"Name":"app"`)) {
		t.Errorf("v3 container document: %s", lines["V3C"])
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// stealScript tries another task's credentials URI ($OTHER) at 169.254.170.2, at the other
// task's own address ($OTHER_IP) on port 80 and on the API port, several times each; each try
// gives up after 2 s. It prints the successes (LEAKS) and whether its own URI works (OWN).
const stealScript = `try() { rm -f /tmp/out; wget -q -O /tmp/out "$1" 2>/dev/null & p=$!; i=0; ` +
	`while kill -0 $p 2>/dev/null; do i=$((i+1)); if [ $i -gt 20 ]; then kill $p; return 1; fi; sleep 0.1; done; ` +
	`wait $p || return 1; busybox grep -q AccessKeyId /tmp/out; }
leaks=0; tries=0
for i in 1 2 3 4 5; do for u in "http://169.254.170.2$OTHER" "http://$OTHER_IP$OTHER" "http://$OTHER_IP:4566$OTHER"; do
  tries=$((tries+1)); try "$u" && leaks=$((leaks+1)); done; done
echo "TRIES $tries"
echo "LEAKS $leaks"
own=0; try "http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" && own=1
echo "OWN $own"`

// TestTaskCredentialsIsolation: a task cannot read another task's credentials, with the other's
// credentials id, at 169.254.170.2 or at the other's address: zero successes; its own work.
func TestTaskCredentialsIsolation(t *testing.T) {
	s := startServer(t, "")
	client := newSDK(t, s)
	logs := newLogsSDK(t, s)
	appImage(t, s)
	ic := newIAMClient(t, s)
	roleA, roleB := createTaskRole(t, ic, "holder", ""), createTaskRole(t, ic, "thief", "")
	register := func(family, role, script string) string {
		out, err := client.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
			Family: aws.String(family), NetworkMode: types.NetworkModeAwsvpc,
			RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
			Cpu:                     aws.String("256"), Memory: aws.String("512"), TaskRoleArn: aws.String(role),
			ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(ecrRef),
				EntryPoint: []string{"/bin/sh", "-c"}, Command: []string{script}, LogConfiguration: awslogsConfig("/e2e/" + family)}},
		})
		if err != nil {
			t.Fatalf("RegisterTaskDefinition: %v", err)
		}
		return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	}
	holderTD := register("holder", roleA, `echo "URI $AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"; `+
		`echo "OWN $(wget -q -O- http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI | busybox grep -c AccessKeyId)"; exec sleep 120`)
	thiefTD := register("thief", roleB, stealScript)

	holder := aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(holderTD)})[0].TaskArn)
	in := &ecs.DescribeTasksInput{Tasks: []string{holder}}
	if err := ecs.NewTasksRunningWaiter(client, func(o *ecs.TasksRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = 200*time.Millisecond, time.Second
	}).Wait(t.Context(), in, 2*time.Minute); err != nil {
		t.Fatalf("holder did not run: %v", err)
	}
	described, err := client.DescribeTasks(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	holderIP := detail(described.Tasks[0], "privateIPv4Address")
	lines := map[string]string{}
	for _, e := range waitStream(t, logs, "/e2e/holder", "ecs/app/"+holder[strings.LastIndexByte(holder, '/')+1:], "OWN ") {
		k, v, _ := strings.Cut(e.Message, " ")
		lines[k] = v
	}
	uri := lines["URI"]
	if !strings.HasPrefix(uri, "/v2/credentials/") || len(uri) != len("/v2/credentials/")+32 || lines["OWN"] != "1" {
		t.Fatalf("holder's credentials URI %q, own fetch %q", uri, lines["OWN"])
	}

	thief := aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(thiefTD),
		Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("app"),
			Environment: []types.KeyValuePair{{Name: aws.String("OTHER"), Value: aws.String(uri)},
				{Name: aws.String("OTHER_IP"), Value: aws.String(holderIP)}}}}}})[0].TaskArn)
	waitStopped(t, client, thief)
	got := map[string]string{}
	for _, e := range waitStream(t, logs, "/e2e/thief", "ecs/app/"+thief[strings.LastIndexByte(thief, '/')+1:], "OWN ") {
		k, v, _ := strings.Cut(e.Message, " ")
		got[k] = v
	}
	if got["TRIES"] != "15" || got["LEAKS"] != "0" || got["OWN"] != "1" {
		t.Errorf("thief: %s tries, %s successes with the holder's id (want 0), own credentials %s (want 1)", got["TRIES"], got["LEAKS"], got["OWN"])
	}
	if _, err := client.StopTask(t.Context(), &ecs.StopTaskInput{Task: aws.String(holder)}); err != nil {
		t.Fatal(err)
	}
	waitStopped(t, client, holder)
}
