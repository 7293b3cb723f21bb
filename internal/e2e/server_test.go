package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestServerHealth checks that the health route answers 503 (or nothing yet) while the server
// starts, then 200.
func TestServerHealth(t *testing.T) {
	t.Parallel()
	s, err := Launch(Options{Binary: gantryBin, DataDir: newDataDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(30 * time.Second) })
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(2 * time.Minute)
	seen := map[int]bool{}
	for {
		code, err := s.Health(t.Context(), client)
		if err == nil {
			seen[code] = true
		}
		if code == http.StatusOK {
			break
		}
		if code != 0 && code != http.StatusServiceUnavailable {
			t.Fatalf("health answered %d while starting, want 503 or 200", code)
		}
		select {
		case <-s.Done():
			t.Fatalf("gantry exited: %s", s.Output())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("not healthy after 2 minutes: %s", s.Output())
		}
	}
	t.Logf("health codes seen while starting: %v", seen)
}

func TestServerBanner(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	out := s.Output()
	for _, want := range []string{"AWS_ENDPOINT_URL=" + s.URL, s.DataDir, s.Addr} {
		if !strings.Contains(out, want) {
			t.Errorf("banner does not mention %q:\n%s", want, out)
		}
	}
}

func TestServerStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	s, err := Start(t.Context(), Options{Binary: gantryBin, DataDir: newDataDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	code, err := s.Stop(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0; output:\n%s", code, s.Output())
	}
	t.Logf("stopped in %s", time.Since(start).Round(time.Millisecond))
	if c, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after exit", s.Addr)
	}
}

func TestServerRestartKeepsState(t *testing.T) {
	t.Parallel()
	dir := newDataDir(t)
	s, err := Start(t.Context(), Options{Binary: gantryBin, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	api := newSDK(t, s)
	if _, err := api.CreateCluster(t.Context(), &ecs.CreateClusterInput{ClusterName: aws.String("kept")}); err != nil {
		s.Kill()
		t.Fatal(err)
	}
	_, regErr := api.RegisterTaskDefinition(t.Context(), fargateTaskDef("kept-family"))
	if code, err := s.Stop(10 * time.Second); err != nil || code != 0 {
		t.Fatalf("stop: code %d, %v", code, err)
	}
	if regErr != nil {
		t.Errorf("register task definition: %v", regErr)
	}

	s = startServer(t, dir)
	api = newSDK(t, s)
	got, err := api.DescribeClusters(t.Context(), &ecs.DescribeClustersInput{Clusters: []string{"kept"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Clusters) != 1 || aws.ToString(got.Clusters[0].Status) != "ACTIVE" {
		t.Fatalf("after restart: clusters %+v, failures %+v", got.Clusters, got.Failures)
	}
	if regErr != nil {
		return
	}
	td, err := api.DescribeTaskDefinition(t.Context(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("kept-family:1")})
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if td.TaskDefinition.Status != types.TaskDefinitionStatusActive || aws.ToString(td.TaskDefinition.Cpu) != "512" {
		t.Fatalf("after restart: task definition %+v", td.TaskDefinition)
	}
}

func TestServerRefusesDataDirInUse(t *testing.T) {
	t.Parallel()
	first := startServer(t, "")
	second, err := Launch(Options{Binary: gantryBin, DataDir: first.DataDir})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-second.Done():
	case <-time.After(30 * time.Second):
		second.Kill()
		t.Fatalf("a second server on the same data dir is still running; output:\n%s", second.Output())
	}
	if code := second.ExitCode(); code == 0 {
		t.Errorf("second server exited 0")
	}
	if out := second.Output(); !strings.Contains(out, "in use by another gantry server") {
		t.Errorf("second server's message does not say the data dir is in use:\n%s", out)
	}
	if code, err := first.Health(t.Context(), http.DefaultClient); err != nil || code != http.StatusOK {
		t.Errorf("first server after the attempt: health %d, %v", code, err)
	}
}

// TestServerExternalEtcd runs gantry against Debian's etcd (package etcd-server) and checks
// that the state outlives a gantry restart.
func TestServerExternalEtcd(t *testing.T) {
	t.Parallel()
	endpoint := startExternalEtcd(t)
	args := []string{"--etcd-endpoints", endpoint}
	s, err := Start(t.Context(), Options{Binary: gantryBin, DataDir: newDataDir(t), Args: args})
	if err != nil {
		t.Fatal(err)
	}
	_, createErr := newSDK(t, s).CreateCluster(t.Context(), &ecs.CreateClusterInput{ClusterName: aws.String("external")})
	if code, err := s.Stop(10 * time.Second); err != nil || code != 0 {
		t.Fatalf("stop: code %d, %v", code, err)
	}
	if createErr != nil {
		t.Fatal(createErr)
	}

	s = startServer(t, "", args...)
	got, err := newSDK(t, s).DescribeClusters(t.Context(), &ecs.DescribeClustersInput{Clusters: []string{"external"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Clusters) != 1 || aws.ToString(got.Clusters[0].ClusterName) != "external" {
		t.Fatalf("after restart on etcd %s: clusters %+v, failures %+v", endpoint, got.Clusters, got.Failures)
	}
}

// startExternalEtcd runs /usr/bin/etcd on free loopback ports in a temp dir until the test ends,
// and returns its client URL.
func startExternalEtcd(t *testing.T) string {
	t.Helper()
	return newExternalEtcd(t).clientURL
}

// externalEtcd is a /usr/bin/etcd process the test may kill and start again on the same data
// and ports.
type externalEtcd struct {
	dir, clientURL, peerURL string
	out                     lockedBuffer
	cmd                     *exec.Cmd
	done                    chan struct{}
}

// newExternalEtcd starts an etcd that is killed when the test ends.
func newExternalEtcd(t *testing.T) *externalEtcd {
	t.Helper()
	const bin = "/usr/bin/etcd"
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is missing: install Debian's etcd-server (scripts/setup.sh does)", bin)
	}
	clientAddr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	peerAddr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	e := &externalEtcd{dir: t.TempDir(), clientURL: "http://" + clientAddr, peerURL: "http://" + peerAddr}
	t.Cleanup(e.kill)
	e.start(t)
	return e
}

// start runs etcd and waits until it is healthy.
func (e *externalEtcd) start(t *testing.T) {
	t.Helper()
	e.cmd = exec.Command("/usr/bin/etcd",
		"--name", "e2e",
		"--data-dir", filepath.Join(e.dir, "data"),
		"--listen-client-urls", e.clientURL, "--advertise-client-urls", e.clientURL,
		"--listen-peer-urls", e.peerURL, "--initial-advertise-peer-urls", e.peerURL,
		"--initial-cluster", "e2e="+e.peerURL,
		"--logger", "zap", "--log-outputs", filepath.Join(e.dir, "etcd.log"),
	)
	e.cmd.Stdout, e.cmd.Stderr = &e.out, &e.out
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	e.done = done
	go func() { _ = e.cmd.Wait(); close(done) }()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for {
		if etcdHealthy(ctx, e.clientURL) {
			return
		}
		select {
		case <-done:
			t.Fatalf("etcd exited: %s", e.out.String())
		case <-ctx.Done():
			t.Fatalf("etcd not healthy after a minute: %s", e.out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// kill ends etcd at once, as a crash would.
func (e *externalEtcd) kill() {
	if e.cmd != nil && e.cmd.Process != nil {
		_ = e.cmd.Process.Kill()
		<-e.done
	}
}

func etcdHealthy(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/health", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// fargateTaskDef is the task definition of AWS's Fargate guide, as an SDK input.
func fargateTaskDef(family string) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String(family),
		NetworkMode:             types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String("512"),
		Memory:                  aws.String("1024"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name:         aws.String("api"),
			Image:        aws.String("123456789.dkr.ecr.us-east-1.amazonaws.com/api:latest"),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080), Protocol: types.TransportProtocolTcp}},
			LogConfiguration: &types.LogConfiguration{
				LogDriver: types.LogDriverAwslogs,
				Options: map[string]string{
					"awslogs-group":         fmt.Sprintf("/ecs/%s", family),
					"awslogs-region":        "us-east-1",
					"awslogs-stream-prefix": "ecs",
				},
			},
		}},
	}
}
