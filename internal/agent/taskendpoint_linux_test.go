package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/agent/taskrunner"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/network/netns"
	"github.com/vishvananda/netlink"
)

// fakeIssuer counts the credentials it issues; each has a new key.
type fakeIssuer struct{ n atomic.Int64 }

func (f *fakeIssuer) IssueRoleCredentials(_ context.Context, _ model.Scope, roleARN, session string, d time.Duration) (model.Credentials, error) {
	n := f.n.Add(1)
	return model.Credentials{AccessKeyID: fmt.Sprintf("ASIA%016d", n), SecretAccessKey: "secret-" + session,
		SessionToken: "token", Expiration: time.Now().Add(d)}, nil
}

// newTestNetNS makes a namespace with loopback up, removed with the test.
func newTestNetNS(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root: it makes network namespaces")
	}
	path := filepath.Join(t.TempDir(), "ns")
	if _, err := netns.Create(path, func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		return netlink.LinkSetUp(lo)
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netns.Delete(path) })
	return path
}

// clientIn is an HTTP client whose connections are made inside the namespace at path.
func clientIn(path string) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			err := netns.Do(path, func() error {
				var err error
				c, err = (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, network, addr)
				return err
			})
			return c, err
		}}}
}

func getJSON(t *testing.T, c *http.Client, url string, v any) int {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode == http.StatusOK {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Fatalf("GET %s: %v in %s", url, err, b)
		}
	}
	return resp.StatusCode
}

func endpointTask(id, credID string, tn *model.TaskNetwork) taskrunner.EndpointTask {
	cpu := 256
	a := model.Assignment{
		Task: model.Task{Scope: model.Scope{Account: "000000000000", Region: "us-east-1"}, ID: id, Cluster: "default",
			Family: "web", Revision: 3, CPU: "512", Memory: "1024", LaunchType: "FARGATE", AvailabilityZone: "us-east-1a",
			Group: "service:front", Tags: []model.Tag{{Key: "team", Value: "a"}}},
		Definition: model.TaskDefinition{TaskRoleArn: "arn:aws:iam::000000000000:role/app", ContainerDefinitions: []model.ContainerDefinition{
			{Name: "app", Image: "app:v1", CPU: cpu, LogConfiguration: &model.LogConfiguration{LogDriver: "awslogs",
				Options: map[string]string{"awslogs-group": "/g"}, SecretOptions: []model.Secret{{Name: "k", ValueFrom: "x"}}}}}},
		Network: tn,
	}
	state := taskrunner.TaskState{DesiredStatus: model.TaskRunning, ContainerStarts: map[string]time.Time{"app": time.Now()},
		Report: model.TaskReport{LastStatus: model.TaskRunning, PullStartedAt: time.Now(), PullStoppedAt: time.Now(),
			Containers: []model.ContainerReport{{Name: "app", LastStatus: model.ContainerRunning, ImageDigest: "sha256:abc"}}}}
	return taskrunner.EndpointTask{Assignment: a, CredentialsID: credID, TaskRoleARN: a.Definition.TaskRoleArn,
		State: func() taskrunner.TaskState { return state }}
}

// TestTaskEndpointIsolation: each task's namespace answers its own documents and credentials;
// another task's credentials id gets a 400 from inside either namespace, and the host's
// namespace has no 169.254.170.2 at all.
func TestTaskEndpointIsolation(t *testing.T) {
	nsA, nsB := newTestNetNS(t), newTestNetNS(t)
	issuer := &fakeIssuer{}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "aws api") })
	var now atomic.Pointer[time.Time]
	t0 := time.Now()
	now.Store(&t0)
	e := newTaskEndpoint(issuer, api, nil, func() time.Time { return *now.Load() }, logx.Discard())
	defer e.closeAll()
	tn := &model.TaskNetwork{VpcID: "vpc-1", PrivateIP: "10.0.1.5", MacAddress: "0e:00:00:00:00:01",
		Subnet: model.SubnetRoute{ID: "subnet-1", Cidr: "10.0.1.0/24"}, PrivateDNSName: "ip-10-0-1-5.ec2.internal"}
	a, b := endpointTask("aaaa", "credA", tn), endpointTask("bbbb", "credB", nil)
	a.NetNSPath, b.NetNSPath = nsA, nsB
	ctx := t.Context()
	start := time.Now()
	if err := e.Serve(ctx, a); err != nil {
		t.Fatal(err)
	}
	t.Logf("serve (address on lo, two listeners inside the namespace): %s", time.Since(start))
	if err := e.Serve(ctx, b); err != nil {
		t.Fatal(err)
	}
	ca, cb := clientIn(nsA), clientIn(nsB)
	base := "http://" + taskrunner.EndpointIP

	var task taskDoc
	cid := taskrunner.ContainerID(a.Assignment.Task, "app")
	if code := getJSON(t, ca, base+"/v4/"+cid+"/task", &task); code != 200 {
		t.Fatalf("task document: %d", code)
	}
	if task.TaskARN != a.Assignment.Task.ARN() || task.Revision != "3" || task.Limits == nil || *task.Limits.CPU != 0.5 ||
		*task.Limits.Memory != 1024 || task.VPCID != "vpc-1" || task.ServiceName != "front" || len(task.Containers) != 1 ||
		task.Containers[0].Networks[0].SubnetGatewayIpv4Address != "10.0.1.1/24" || task.TaskTags != nil {
		t.Errorf("task document = %+v", task)
	}
	if lo := task.Containers[0].LogOptions; len(lo) != 1 || lo["awslogs-group"] != "/g" {
		t.Errorf("log options %v: only the definition's own options, never secret ones", lo)
	}
	var tagged taskDoc
	if code := getJSON(t, ca, base+"/v4/"+cid+"/taskWithTags", &tagged); code != 200 || tagged.TaskTags["team"] != "a" {
		t.Errorf("taskWithTags: %d %+v", code, tagged.TaskTags)
	}
	var cont containerDoc
	if code := getJSON(t, ca, base+"/v4/"+cid, &cont); code != 200 || cont.Name != "app" || cont.ContainerARN == "" {
		t.Errorf("container document: %d %+v", code, cont)
	}
	// B's container id is unknown in A's namespace.
	if code := getJSON(t, ca, base+"/v4/"+taskrunner.ContainerID(b.Assignment.Task, "app")+"/task", nil); code != 404 {
		t.Errorf("another task's container id: %d, want 404", code)
	}

	var cred credentialsDoc
	if code := getJSON(t, ca, base+"/v2/credentials/credA", &cred); code != 200 || cred.RoleArn != a.TaskRoleARN ||
		cred.AccessKeyID == "" || cred.Token != "token" || cred.SecretAccessKey != "secret-aaaa" {
		t.Fatalf("credentials: %d %+v", code, cred)
	}
	if _, err := time.Parse(time.RFC3339, cred.Expiration); err != nil {
		t.Errorf("Expiration %q: %v", cred.Expiration, err)
	}
	for _, c := range []struct {
		client *http.Client
		id     string
	}{{ca, "credB"}, {cb, "credA"}, {ca, "credA0"}, {ca, "cred"}} {
		if code := getJSON(t, c.client, base+"/v2/credentials/"+c.id, nil); code != 400 {
			t.Errorf("credentials id %q from the wrong namespace or wrong id: %d, want 400", c.id, code)
		}
	}
	if code := getJSON(t, ca, base+"/v2/credentials/", nil); code != 400 {
		t.Errorf("no id: %d, want 400", code)
	}
	// A round trip from inside the namespace, new connection each time.
	const n = 50
	start = time.Now()
	for range n {
		getJSON(t, ca, base+"/v4/"+cid+"/task", nil)
	}
	t.Logf("task document round trip: %s each over %d requests", time.Since(start)/n, n)

	// Cached, then rotated before expiry.
	var again credentialsDoc
	getJSON(t, ca, base+"/v2/credentials/credA", &again)
	if again.AccessKeyID != cred.AccessKeyID {
		t.Errorf("credentials re-issued at once: %s then %s", cred.AccessKeyID, again.AccessKeyID)
	}
	later := t0.Add(credentialsRefresh + time.Minute)
	now.Store(&later)
	getJSON(t, ca, base+"/v2/credentials/credA", &again)
	if again.AccessKeyID == cred.AccessKeyID {
		t.Errorf("credentials not rotated after %s", credentialsRefresh)
	}

	resp, err := ca.Get(fmt.Sprintf("%s:%d/", base, taskrunner.APIPort))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "aws api" {
		t.Errorf("api port answered %q", body)
	}

	// The host's namespace has no such address (whatever its default route leads to, it is
	// not a task's endpoint).
	hc := &http.Client{Timeout: 2 * time.Second}
	if resp, err := hc.Get(base + "/v2/credentials/credA"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if bytes.Contains(b, []byte(cred.AccessKeyID)) {
			t.Errorf("the host reached a task's credentials: %s %s", resp.Status, b)
		}
	}

	// Close ends the task's listeners.
	e.Close("aaaa")
	if resp, err := ca.Get(base + "/v2/credentials/credA"); err == nil {
		resp.Body.Close()
		t.Errorf("closed endpoint still answers: %s", resp.Status)
	}
}

// TestTaskEndpointServeAgain: serving an adopted task again (its address already on lo) works.
func TestTaskEndpointServeAgain(t *testing.T) {
	ns := newTestNetNS(t)
	e := newTaskEndpoint(&fakeIssuer{}, nil, nil, time.Now, logx.Discard())
	defer e.closeAll()
	a := endpointTask("cccc", "credC", nil)
	a.NetNSPath = ns
	ctx, cancel := context.WithCancel(t.Context())
	if err := e.Serve(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := e.Serve(ctx, a); err != nil { // served again while serving: replaces the first
		t.Fatalf("serve twice: %v", err)
	}
	cancel() // the agent stopped: its listeners go
	deadline := time.Now().Add(5 * time.Second)
	for {
		e.mu.Lock()
		n := len(e.tasks)
		e.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("listeners still open after the agent's context ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := e.Serve(t.Context(), a); err != nil {
		t.Fatalf("serve again: %v", err)
	}
	var cred credentialsDoc
	if code := getJSON(t, clientIn(ns), "http://"+taskrunner.EndpointIP+"/v2/credentials/credC", &cred); code != 200 {
		t.Fatalf("credentials after serving again: %d", code)
	}
}
