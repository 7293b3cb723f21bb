package taskrunner

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/image"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/runtime"
)

func ptr[T any](v T) *T { return &v }

func TestCommandLine(t *testing.T) {
	img := image.Config{Entrypoint: []string{"/app"}, Cmd: []string{"serve", ":8080"}}
	tests := []struct {
		name     string
		def      model.ContainerDefinition
		override []string
		want     []string
	}{
		{"image only", model.ContainerDefinition{}, nil, []string{"/app", "serve", ":8080"}},
		{"command replaces CMD", model.ContainerDefinition{Command: []string{"exit", "3"}}, nil, []string{"/app", "exit", "3"}},
		{"entryPoint clears CMD", model.ContainerDefinition{EntryPoint: []string{"/bin/sh"}}, nil, []string{"/bin/sh"}},
		{"entryPoint and command", model.ContainerDefinition{EntryPoint: []string{"/bin/sh", "-c"}, Command: []string{"echo hi"}}, nil, []string{"/bin/sh", "-c", "echo hi"}},
		{"override command wins", model.ContainerDefinition{Command: []string{"env"}}, []string{"sleep", "1"}, []string{"/app", "sleep", "1"}},
		{"override command after entryPoint", model.ContainerDefinition{EntryPoint: []string{"/x"}}, []string{"y"}, []string{"/x", "y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := commandLine(tt.def, &model.ContainerOverride{Command: tt.override}, img)
			if !slices.Equal(got, tt.want) {
				t.Errorf("args = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEnvironment(t *testing.T) {
	task := model.Task{Scope: model.Scope{Account: "000000000000", Region: "eu-west-1"}, ID: "abc",
		Containers: []model.Container{{Name: "app", ID: "uuid-1"}}}
	def := model.ContainerDefinition{Name: "app", Environment: []model.KeyValuePair{
		{Name: "A", Value: ptr("def")}, {Name: "B", Value: ptr("def")}, {Name: "AWS_REGION", Value: ptr("mine")}}}
	ov := &model.ContainerOverride{Environment: []model.KeyValuePair{{Name: "B", Value: ptr("override")}, {Name: "E", Value: ptr("")}}}
	img := image.Config{Env: []string{"PATH=/bin", "A=image", "C=image"}}
	got := environment(specInput{Task: task, Def: def, Override: ov, Image: img})
	want := []string{"PATH=/bin", "A=def", "C=image",
		"ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/uuid-1", "ECS_CONTAINER_METADATA_URI=http://169.254.170.2/v3/uuid-1",
		"AWS_EXECUTION_ENV=AWS_ECS_FARGATE", "AWS_REGION=mine", "AWS_DEFAULT_REGION=eu-west-1", "B=override", "E="}
	if !slices.Equal(got, want) {
		t.Errorf("env =\n%q\nwant\n%q", got, want)
	}
}

// TestEnvironmentTaskRoleEndpointSecrets: a task role gives the credentials URI, the endpoint
// gives AWS_ENDPOINT_URL unless the definition sets its own, and secrets come last.
func TestEnvironmentTaskRoleEndpointSecrets(t *testing.T) {
	task := model.Task{Scope: model.Scope{Account: "000000000000", Region: "us-east-1"}, ID: "abc"}
	def := model.ContainerDefinition{Name: "app", Environment: []model.KeyValuePair{{Name: "DB", Value: ptr("plain")}}}
	in := specInput{Task: task, Def: def, CredentialsID: "c0ffee", APIEndpoint: "http://169.254.170.2:4566",
		Secrets: map[string]string{"DB": "s3cret", "TOKEN": "t0k"}}
	got := environment(in)
	for _, w := range []string{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/c0ffee",
		"AWS_ENDPOINT_URL=http://169.254.170.2:4566", "DB=s3cret", "TOKEN=t0k"} {
		if !slices.Contains(got, w) {
			t.Errorf("env %q lacks %q", got, w)
		}
	}
	if slices.Contains(got, "DB=plain") {
		t.Errorf("env %q: the secret must replace the plain variable", got)
	}
	in.Def.Environment = append(in.Def.Environment, model.KeyValuePair{Name: "AWS_ENDPOINT_URL", Value: ptr("http://mine")})
	in.CredentialsID = ""
	got = environment(in)
	if !slices.Contains(got, "AWS_ENDPOINT_URL=http://mine") || slices.ContainsFunc(got, func(s string) bool {
		return strings.HasPrefix(s, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=")
	}) {
		t.Errorf("env %q: the definition's endpoint wins, and no task role means no credentials URI", got)
	}
}

func TestContainerSpec(t *testing.T) {
	def := model.ContainerDefinition{Name: "app", CPU: 128, Memory: ptr(256), MemoryReservation: ptr(64),
		User: "1000", ReadonlyRootFilesystem: ptr(true),
		Ulimits: []model.Ulimit{{Name: "nofile", SoftLimit: 1024, HardLimit: 4096}},
		LinuxParameters: &model.LinuxParameters{InitProcessEnabled: ptr(true),
			Capabilities: &model.KernelCapabilities{Add: []string{"SYS_PTRACE"}, Drop: []string{"NET_RAW"}}}}
	ov := &model.ContainerOverride{Memory: ptr(300)}
	got := containerSpec(specInput{Task: model.Task{ID: "t"}, Def: def, Override: ov,
		Image: image.Config{Entrypoint: []string{"/app"}, WorkingDir: "/srv", User: "root"},
		Root:  Root{Path: "/r", Overlay: &runtime.Overlay{Lower: []string{"/l"}, Upper: "/u", Work: "/w"}}})
	if got.Rootfs != "/r" || got.RootOverlay == nil || got.RootOverlay.Upper != "/u" || got.Cwd != "/srv" || got.User != "1000" || !got.ReadonlyRootfs || got.CPUUnits != 128 || got.MemoryMiB != 300 ||
		got.MemoryReservationMiB != 64 || !got.InitProcessEnabled || !got.AddSysPtrace ||
		!slices.Equal(got.DropCapabilities, []string{"NET_RAW"}) || got.Hostname != "t" ||
		!slices.Equal(got.Ulimits, []runtime.Ulimit{{Name: "nofile", Soft: 1024, Hard: 4096}}) {
		t.Errorf("spec = %+v", got)
	}
}

func TestHostname(t *testing.T) {
	eni := model.Attachment{Type: "ElasticNetworkInterface", Details: []model.KeyValue{
		{Name: "subnetId", Value: "subnet-1"}, {Name: "privateDnsName", Value: "ip-10-0-1-5.ec2.internal"}}}
	tests := []struct {
		name string
		task model.Task
		want string
	}{
		{"ENI private DNS name", model.Task{ID: "0123456789abcdef0123456789abcdef", Attachments: []model.Attachment{eni}}, "ip-10-0-1-5.ec2.internal"},
		{"task id", model.Task{ID: "0123456789abcdef0123456789abcdef"}, "0123456789ab"},
		{"short task id", model.Task{ID: "t"}, "t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hostname(tt.task); got != tt.want {
				t.Errorf("hostname = %q, want %q", got, tt.want)
			}
		})
	}
}

func mnt(src, dst string, ro bool) runtime.Mount {
	return runtime.Mount{Source: src, Destination: dst, ReadOnly: ro}
}

func TestMounts(t *testing.T) {
	defs := []model.ContainerDefinition{
		{Name: "writer", MountPoints: []model.MountPoint{{SourceVolume: "data", ContainerPath: "/data"},
			{SourceVolume: "cfg", ContainerPath: "/cfg", ReadOnly: ptr(true)}}},
		{Name: "reader", VolumesFrom: []model.VolumeFrom{{SourceContainer: "writer", ReadOnly: ptr(true)}}},
		{Name: "peer", MountPoints: []model.MountPoint{{SourceVolume: "data", ContainerPath: "/data"}},
			VolumesFrom: []model.VolumeFrom{{SourceContainer: "writer"}}},
		{Name: "bad", MountPoints: []model.MountPoint{{SourceVolume: "nope", ContainerPath: "/x"}}},
	}
	vols, err := volumeDirs([]model.Volume{{Name: "data"}, {Name: "cfg", Host: &model.HostVolumeProperties{}}}, "/s/volumes")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		want    []runtime.Mount
		wantErr bool
	}{
		{"writer", []runtime.Mount{mnt("/s/volumes/data", "/data", false), mnt("/s/volumes/cfg", "/cfg", true)}, false},
		{"reader", []runtime.Mount{mnt("/s/volumes/data", "/data", true), mnt("/s/volumes/cfg", "/cfg", true)}, false},
		{"peer", []runtime.Mount{mnt("/s/volumes/data", "/data", false), mnt("/s/volumes/cfg", "/cfg", true)}, false},
		{"bad", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mountsFor(tt.name, defs, vols)
			if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
				t.Errorf("mounts = %+v, %v; want %+v (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
	if _, err := volumeDirs([]model.Volume{{Name: "efs", EFSVolumeConfiguration: &model.EFSVolumeConfiguration{}}}, "/s"); err == nil {
		t.Error("EFS volume accepted")
	}
	if _, err := volumeDirs([]model.Volume{{Name: "../x"}}, "/s"); err == nil {
		t.Error("escaping volume name accepted")
	}
}

func TestEvalDep(t *testing.T) {
	t0 := time.Unix(1000, 0)
	started := targetView{Started: true, StartedAt: t0, Health: model.HealthUnknown}
	exited := func(code int) targetView { v := started; v.Exited, v.ExitCode = true, code; return v }
	healthy := started
	healthy.Health = model.HealthHealthy
	timed := started
	timed.StartTimeout = 10 * time.Second
	tests := []struct {
		name string
		cond string
		t    targetView
		now  time.Time
		want depVerdict
	}{
		{"START waits", condStart, targetView{}, t0, depWaiting},
		{"START met", condStart, started, t0, depMet},
		{"COMPLETE waits", condComplete, started, t0, depWaiting},
		{"COMPLETE met by failure", condComplete, exited(1), t0, depMet},
		{"SUCCESS met", condSuccess, exited(0), t0, depMet},
		{"SUCCESS never", condSuccess, exited(2), t0, depNever},
		{"HEALTHY waits", condHealthy, started, t0, depWaiting},
		{"HEALTHY met", condHealthy, healthy, t0, depMet},
		{"HEALTHY never after exit", condHealthy, exited(0), t0, depNever},
		{"startTimeout pending", condHealthy, timed, t0.Add(5 * time.Second), depWaiting},
		{"startTimeout passed", condHealthy, timed, t0.Add(10 * time.Second), depNever},
		{"unknown condition", "SOON", started, t0, depNever},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _, _ := evalDep(tt.cond, tt.t, tt.now); got != tt.want {
				t.Errorf("verdict = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOrders(t *testing.T) {
	defs := []model.ContainerDefinition{
		{Name: "app", DependsOn: []model.ContainerDependency{{ContainerName: "db", Condition: condHealthy}, {ContainerName: "init", Condition: condSuccess}}},
		{Name: "init"}, {Name: "db"},
		{Name: "proxy", DependsOn: []model.ContainerDependency{{ContainerName: "app", Condition: condStart}}},
	}
	order, err := startOrder(defs)
	if err != nil || !slices.Equal(order, []string{"db", "init", "app", "proxy"}) {
		t.Errorf("start order = %q, %v", order, err)
	}
	levels := stopLevels(defs)
	want := [][]string{{"proxy"}, {"app"}, {"init", "db"}}
	if !slices.EqualFunc(levels, want, slices.Equal) {
		t.Errorf("stop levels = %q, want %q", levels, want)
	}
	cyc := []model.ContainerDefinition{{Name: "a", DependsOn: []model.ContainerDependency{{ContainerName: "b"}}}, {Name: "b", DependsOn: []model.ContainerDependency{{ContainerName: "a"}}}}
	if _, err := startOrder(cyc); err == nil {
		t.Error("cycle accepted")
	}
}

func TestHealthTracker(t *testing.T) {
	t0 := time.Unix(0, 0)
	p := healthPolicy{Retries: 2, StartPeriod: 10 * time.Second}
	steps := []struct {
		at   time.Duration
		ok   bool
		want string
	}{
		{1 * time.Second, false, model.HealthUnknown}, // in the start period: not counted
		{5 * time.Second, false, model.HealthUnknown},
		{11 * time.Second, false, model.HealthUnknown}, // one failure counted
		{12 * time.Second, false, model.HealthUnhealthy},
		{13 * time.Second, true, model.HealthHealthy},
		{14 * time.Second, false, model.HealthHealthy},
		{15 * time.Second, false, model.HealthUnhealthy},
	}
	h := newHealthTracker(p, t0, "")
	for i, s := range steps {
		if got := h.observe(s.ok, t0.Add(s.at)); got != s.want {
			t.Fatalf("step %d: status %s, want %s", i, got, s.want)
		}
	}
	// A success inside the start period ends it: later failures count at once.
	h = newHealthTracker(healthPolicy{Retries: 1, StartPeriod: time.Minute}, t0, "")
	h.observe(true, t0.Add(time.Second))
	if got := h.observe(false, t0.Add(2*time.Second)); got != model.HealthUnhealthy {
		t.Errorf("after a pass in the start period: %s", got)
	}
}

func TestHealthPolicyDefaults(t *testing.T) {
	p, ok := newHealthPolicy(&model.HealthCheck{Command: []string{"CMD-SHELL", "curl -f localhost || exit 1"}}, time.Second)
	if !ok || !slices.Equal(p.Args, []string{"/bin/sh", "-c", "curl -f localhost || exit 1"}) ||
		p.Interval != 30*time.Second || p.Timeout != 5*time.Second || p.Retries != 3 || p.StartPeriod != 0 {
		t.Errorf("policy = %+v", p)
	}
	p, ok = newHealthPolicy(&model.HealthCheck{Command: []string{"CMD", "/app", "exit", "0"}, Interval: ptr(5)}, time.Second)
	if !ok || !slices.Equal(p.Args, []string{"/app", "exit", "0"}) || p.Interval != 5*time.Second {
		t.Errorf("policy = %+v", p)
	}
	if _, ok := newHealthPolicy(nil, time.Second); ok {
		t.Error("no health check gave a policy")
	}
}

func TestTaskHealth(t *testing.T) {
	c := func(essential, check bool, h string) *container {
		return &container{def: model.ContainerDefinition{Essential: ptr(essential)}, hasCheck: check, health: h}
	}
	tests := []struct {
		name string
		cs   []*container
		want string
	}{
		{"no checks", []*container{c(true, false, model.HealthUnknown)}, model.HealthUnknown},
		{"all essential healthy", []*container{c(true, true, model.HealthHealthy), c(true, false, model.HealthUnknown), c(false, true, model.HealthUnhealthy)}, model.HealthHealthy},
		{"one essential unhealthy", []*container{c(true, true, model.HealthHealthy), c(true, true, model.HealthUnhealthy)}, model.HealthUnhealthy},
		{"still evaluating", []*container{c(true, true, model.HealthHealthy), c(true, true, model.HealthUnknown)}, model.HealthUnknown},
		{"only non-essential checks", []*container{c(false, true, model.HealthHealthy)}, model.HealthUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := taskHealth(tt.cs); got != tt.want {
				t.Errorf("task health = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestStopSignal(t *testing.T) {
	for in, want := range map[string]int{"": 15, "SIGINT": 2, "QUIT": 3, "9": 9, "sigusr1": 10, "bogus": 15} {
		if got := int(stopSignal(in)); got != want {
			t.Errorf("stopSignal(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestTransitionsAreForward(t *testing.T) {
	for from, tos := range transitions {
		for _, to := range tos {
			if !from.CanMoveTo(to) || from == to {
				t.Errorf("transition %s -> %s is not forward", from, to)
			}
		}
	}
}

func TestIllegalTransition(t *testing.T) {
	r := New(Config{Assignment: model.Assignment{Task: model.Task{ID: "t"}}})
	r.known = model.TaskRunning
	if err := r.moveTo(&scope{}, model.TaskPending); err == nil {
		t.Error("RUNNING -> PENDING accepted")
	}
	if err := r.moveTo(&scope{}, model.TaskStopped); err == nil {
		t.Error("RUNNING -> STOPPED accepted (skips stopping the containers)")
	}
}
