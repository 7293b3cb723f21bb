package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"golang.org/x/sys/unix"
)

// injectClients are the Secrets Manager and SSM clients of the injection tests.
func injectClients(t *testing.T, s *Server) (*secretsmanager.Client, *ssm.Client) {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(t.Context(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}))
	if err != nil {
		t.Fatalf("load SDK config: %v", err)
	}
	return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(s.URL) }),
		ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(s.URL) })
}

func randomValue(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// hashScript prints the sha256 of each named variable, never the value itself.
func hashScript(names ...string) string {
	var b strings.Builder
	for _, n := range names {
		b.WriteString(`echo "HASH ` + n + ` $(printf %s "$` + n + `" | busybox sha256sum | cut -d' ' -f1)"; `)
	}
	b.WriteString("sleep 10") // long enough to search the data dir while it runs
	return b.String()
}

// findPlaintext lists the files under dir that contain any of values.
func findPlaintext(t *testing.T, dir string, values ...string) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // files come and go under a live server
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := readData(path)
		if err != nil {
			return nil
		}
		for _, v := range values {
			if bytes.Contains(b, []byte(v)) {
				hits = append(hits, path)
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// readData reads a file's data, skipping its holes: a task filesystem's image, in the moment
// between its making and its unlinking, is a 20 GiB file of a few hundred KiB of data.
func readData(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []byte
	for off := int64(0); ; {
		data, err := unix.Seek(int(f.Fd()), off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		hole, err := unix.Seek(int(f.Fd()), data, unix.SEEK_HOLE)
		if err != nil {
			return nil, err
		}
		seg := make([]byte, hole-data)
		if _, err := f.ReadAt(seg, data); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		out, off = append(out, seg...), hole
	}
}

// TestSecretsInjected: a Secrets Manager JSON key and an SecureString parameter (by name and by
// ARN) reach the task's environment at start, and a parameter its log driver's options (the
// awslogs group, through secretOptions); their values appear nowhere else: not in
// DescribeTasks, DescribeTaskDefinition, the server's output at debug level, or any file of the
// data dir (the embedded etcd's included). A task whose secret does not exist stops with
// Fargate's reason naming it.
func TestSecretsInjected(t *testing.T) {
	client := secretsInjected(t)
	t.Run("missing secret", func(t *testing.T) { missingSecret(t, client) })
	t.Run("missing parameter", func(t *testing.T) { missingParameter(t, client) })
}

// TestSecretsInjectedRunsc is TestSecretsInjected's start under gVisor, whose runsc keeps its own
// copy of the container's spec.
func TestSecretsInjectedRunsc(t *testing.T) {
	secretsInjected(t, "--runtime", "runsc")
}

// secretsInjected runs a task with secrets on a server started with args, and checks where their
// values go; it returns the server's SDK client.
func secretsInjected(t *testing.T, args ...string) *ecs.Client {
	t.Helper()
	dataDir := t.TempDir()
	s := startServer(t, dataDir, append([]string{"--log-level", "debug"}, args...)...)
	client := newSDK(t, s)
	cli := newCLI(t, s)
	logs := newLogsSDK(t, s)
	sm, ps := injectClients(t, s)
	appImage(t, s)

	password, apiKey := randomValue("pw-"), randomValue("key-")
	sec, err := sm.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String("e2e/db"),
		SecretString: aws.String(`{"username":"admin","password":"` + password + `"}`)})
	if err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	if _, err := ps.PutParameter(t.Context(), &ssm.PutParameterInput{Name: aws.String("/e2e/api-key"), Value: aws.String(apiKey),
		Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		t.Fatalf("PutParameter: %v", err)
	}
	// The log group comes from a parameter too (logConfiguration.secretOptions): the output
	// below is read from it.
	if _, err := ps.PutParameter(t.Context(), &ssm.PutParameterInput{Name: aws.String("/e2e/log-group"), Value: aws.String("/e2e/secrets"),
		Type: ssmtypes.ParameterTypeString}); err != nil {
		t.Fatalf("PutParameter: %v", err)
	}
	logConfig := awslogsConfig("")
	delete(logConfig.Options, "awslogs-group")
	logConfig.SecretOptions = []types.Secret{{Name: aws.String("awslogs-group"), ValueFrom: aws.String("/e2e/log-group")}}
	secretARN := aws.ToString(sec.ARN)
	td := sdkRegister(t, client, "secrets", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef),
		EntryPoint: []string{"/bin/sh", "-c"}, Command: []string{hashScript("DB_PASSWORD", "DB_USER", "API_KEY", "API_KEY_BY_ARN")},
		LogConfiguration: logConfig,
		Secrets: []types.Secret{
			{Name: aws.String("DB_PASSWORD"), ValueFrom: aws.String(secretARN + ":password::")},
			{Name: aws.String("DB_USER"), ValueFrom: aws.String(secretARN + ":username:AWSCURRENT:")},
			{Name: aws.String("API_KEY"), ValueFrom: aws.String("/e2e/api-key")},
			{Name: aws.String("API_KEY_BY_ARN"), ValueFrom: aws.String("arn:aws:ssm:us-east-1:000000000000:parameter/e2e/api-key")},
		}})
	arn := aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(td)})[0].TaskArn)

	// While it runs: nothing under the data dir but the runtime's bundle of the container.
	if err := ecs.NewTasksRunningWaiter(client, func(o *ecs.TasksRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 500*time.Millisecond
	}).Wait(t.Context(), &ecs.DescribeTasksInput{Tasks: []string{arn}}, 2*time.Minute); err != nil {
		t.Fatalf("secrets task did not run: %v", err)
	}
	// The shim scrubs the runtime's copies beside its reply to the start: allow it a moment.
	hits := findPlaintext(t, dataDir, password, apiKey)
	for deadline := time.Now().Add(3 * time.Second); len(hits) > 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		hits = findPlaintext(t, dataDir, password, apiKey)
	}
	if out, err := client.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: []string{arn}}); err != nil ||
		aws.ToString(out.Tasks[0].LastStatus) != "RUNNING" {
		t.Fatalf("the task stopped before the data dir was searched: %v %v", out, err)
	}
	// The runtime's bundle (and runsc's state) held the environment only until the container
	// started (`exec`s get it from the shim's memory since), so no file holds a value.
	for _, hit := range hits {
		rel, _ := filepath.Rel(dataDir, hit)
		t.Errorf("secret value in clear in %s while the task runs", rel)
	}

	task := waitStopped(t, client, arn)[0]
	if c := task.Containers[0]; c.ExitCode == nil || *c.ExitCode != 0 {
		t.Fatalf("secrets task: %s %s", task.StopCode, aws.ToString(task.StoppedReason))
	}
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	got := map[string]string{}
	for _, e := range waitStream(t, logs, "/e2e/secrets", "ecs/app/"+id, "HASH API_KEY_BY_ARN") {
		if f := strings.Fields(e.Message); len(f) == 3 && f[0] == "HASH" {
			got[f[1]] = f[2]
		}
	}
	for name, want := range map[string]string{"DB_PASSWORD": password, "DB_USER": "admin", "API_KEY": apiKey, "API_KEY_BY_ARN": apiKey} {
		if got[name] != sha256Hex(want) {
			t.Errorf("%s in the task hashes to %q, want the hash of the secret %q", name, got[name], sha256Hex(want))
		}
	}

	// Nowhere else.
	stdout, _, err := cli.run("ecs", "describe-tasks", "--tasks", arn)
	if err != nil {
		t.Fatal(err)
	}
	tdOut, _, err := cli.run("ecs", "describe-task-definition", "--task-definition", td)
	if err != nil {
		t.Fatal(err)
	}
	for what, text := range map[string]string{"describe-tasks": stdout, "describe-task-definition": tdOut, "the server's output": s.Output()} {
		for _, v := range []string{password, apiKey} {
			if strings.Contains(text, v) {
				t.Errorf("a secret value appears in %s", what)
			}
		}
	}
	if !strings.Contains(tdOut, secretARN+":password::") {
		t.Errorf("describe-task-definition lost the valueFrom: %s", tdOut)
	}
	if hits := findPlaintext(t, dataDir, password, apiKey); len(hits) != 0 {
		t.Errorf("secret values in clear in the data dir after the task stopped: %v", hits)
	}

	return client
}

// missingSecret: a task whose secret does not exist stops with Fargate's reason naming it.
func missingSecret(t *testing.T, client *ecs.Client) {
	missing := "arn:aws:secretsmanager:us-east-1:000000000000:secret:e2e/nope-AbCdEf"
	td := sdkRegister(t, client, "secrets-missing", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef),
		Command: []string{"exit", "0"}, Secrets: []types.Secret{{Name: aws.String("X"), ValueFrom: aws.String(missing + ":password::")}}})
	task := waitStopped(t, client, aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(td)})[0].TaskArn))[0]
	want := "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: " +
		"unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret " + missing +
		" from secrets manager: ResourceNotFoundException"
	if task.StopCode != types.TaskStopCodeTaskFailedToStart || !strings.HasPrefix(aws.ToString(task.StoppedReason), want) {
		t.Errorf("stopped %s %q, want TaskFailedToStart %q...", task.StopCode, aws.ToString(task.StoppedReason), want)
	}
	if task.Containers[0].ExitCode != nil {
		t.Errorf("a container ran: exit %d", *task.Containers[0].ExitCode)
	}
}

// missingParameter: the same for a parameter.
func missingParameter(t *testing.T, client *ecs.Client) {
	td := sdkRegister(t, client, "params-missing", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef),
		Command: []string{"exit", "0"}, Secrets: []types.Secret{{Name: aws.String("X"), ValueFrom: aws.String("/e2e/nope")}}})
	task := waitStopped(t, client, aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(td)})[0].TaskArn))[0]
	reason := aws.ToString(task.StoppedReason)
	if task.StopCode != types.TaskStopCodeTaskFailedToStart || !strings.Contains(reason, "unable to retrieve secrets from ssm") ||
		!strings.Contains(reason, "/e2e/nope") {
		t.Errorf("stopped %s %q", task.StopCode, reason)
	}
}
