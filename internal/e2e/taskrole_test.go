package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	v1types "github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gantry-dev/gantry/internal/testimage"
)

var (
	sdkappOnce sync.Once
	sdkappBin  string
	sdkappErr  error
)

// buildSDKApp compiles internal/testimage/sdkapp, static, once per test binary.
func buildSDKApp() (string, error) {
	sdkappOnce.Do(func() {
		_, self, _, _ := runtime.Caller(0)
		src := filepath.Join(filepath.Dir(self), "..", "testimage", "sdkapp")
		dir, err := os.MkdirTemp("", "gantry-sdkapp-")
		if err != nil {
			sdkappErr = err
			return
		}
		sdkappBin = filepath.Join(dir, "sdkapp")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, goCommand(), "build", "-trimpath", "-ldflags=-s -w", "-o", sdkappBin, ".")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
		if out, err := cmd.CombinedOutput(); err != nil {
			sdkappErr = fmt.Errorf("build sdkapp: %w: %s", err, out)
		}
	})
	return sdkappBin, sdkappErr
}

// removeSDKApp removes what buildSDKApp built, once the tests are done.
func removeSDKApp() {
	if sdkappBin != "" {
		os.RemoveAll(filepath.Dir(sdkappBin))
	}
}

// sdkappImage pushes the test image with /sdkapp added to s's registry as sdkapp:v1 and
// returns its ECR-style reference.
func sdkappImage(t *testing.T, s *Server) string {
	t.Helper()
	bin, err := buildSDKApp()
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "sdkapp", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(body)),
		ModTime: time.Unix(946684800, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil },
		tarball.WithMediaType(v1types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	base, err := testimage.Build(t.Context(), testimage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testimage.Push(t.Context(), img, s.Addr, "sdkapp", "v1"); err != nil {
		t.Fatal(err)
	}
	return "000000000000.dkr.ecr.us-east-1.amazonaws.com/sdkapp:v1"
}

// newIAMClient is an IAM client of the account root (test/test, the server's default root key).
func newIAMClient(t *testing.T, s *Server) *iam.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(t.Context(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}))
	if err != nil {
		t.Fatalf("load SDK config: %v", err)
	}
	return iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(s.URL) })
}

const ecsTasksTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// createTaskRole makes a role ECS tasks may assume, with one inline policy (none when "").
func createTaskRole(t *testing.T, c *iam.Client, name, policy string) string {
	t.Helper()
	out, err := c.CreateRole(t.Context(), &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(ecsTasksTrust)})
	if err != nil {
		t.Fatalf("CreateRole %s: %v", name, err)
	}
	if policy != "" {
		if _, err := c.PutRolePolicy(t.Context(), &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("inline"),
			PolicyDocument: aws.String(policy)}); err != nil {
			t.Fatalf("PutRolePolicy %s: %v", name, err)
		}
	}
	return aws.ToString(out.Role.Arn)
}

func allowPolicy(actions ...string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["` + strings.Join(actions, `","`) + `"],"Resource":"*"}]}`
}

// runSDKApp runs sdkapp with calls as the task role (and execution role, when set), and returns
// its RESULT lines by call, with the stopped task.
func runSDKApp(t *testing.T, s *Server, ref, family, taskRole, execRole string, calls ...string) (map[string]string, types.Task) {
	t.Helper()
	client := newSDK(t, s)
	out, err := client.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String("256"), Memory: aws.String("512"),
		TaskRoleArn: aws.String(taskRole), ExecutionRoleArn: nilIfEmpty(execRole),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(ref),
			EntryPoint: []string{"/sdkapp"}, Command: calls, LogConfiguration: awslogsConfig("/e2e/" + family)}},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	arn := aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: out.TaskDefinition.TaskDefinitionArn})[0].TaskArn)
	task := waitStopped(t, client, arn)[0]
	if task.StopCode == types.TaskStopCodeTaskFailedToStart {
		t.Fatalf("sdkapp task failed to start: %s", aws.ToString(task.StoppedReason))
	}
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	results := map[string]string{}
	last := "RESULT " + calls[len(calls)-1] + " "
	for _, e := range waitStream(t, newLogsSDK(t, s), "/e2e/"+family, "ecs/app/"+id, last) {
		if rest, ok := strings.CutPrefix(e.Message, "RESULT "); ok {
			call, res, _ := strings.Cut(rest, " ")
			results[call] = res
		}
	}
	return results, task
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// TestTaskRoleCredentials: a task with a task role gets its credentials from 169.254.170.2
// through the SDK's default chain, and reaches gantry's API at AWS_ENDPOINT_URL as the role's
// session (IAM not enforced: every call is allowed).
func TestTaskRoleCredentials(t *testing.T) {
	s := startServer(t, "")
	ref := sdkappImage(t, s)
	role := createTaskRole(t, newIAMClient(t, s), "app-role", "")
	res, task := runSDKApp(t, s, ref, "sdkapp-open", role, "", "sts:GetCallerIdentity", "ecs:ListClusters")
	id := aws.ToString(task.TaskArn)[strings.LastIndexByte(aws.ToString(task.TaskArn), '/')+1:]
	if want := "OK arn:aws:sts::000000000000:assumed-role/app-role/" + id; res["sts:GetCallerIdentity"] != want {
		t.Errorf("GetCallerIdentity from the task: %q, want %q", res["sts:GetCallerIdentity"], want)
	}
	if !strings.HasPrefix(res["ecs:ListClusters"], "OK ") {
		t.Errorf("ListClusters from the task: %q", res["ecs:ListClusters"])
	}
}

// TestTaskRoleEnforced: with --iam enforce, the task's calls are signed with its role's
// credentials and decided by the role's policy: the allowed action succeeds, the other gets
// AccessDeniedException. Secrets are read as the execution role: a secret its policy does not
// cover stops the task with the reason naming it.
func TestTaskRoleEnforced(t *testing.T) {
	s := startServer(t, "", "--iam", "enforce")
	ref := sdkappImage(t, s)
	ic := newIAMClient(t, s)
	role := createTaskRole(t, ic, "lister", allowPolicy("ecs:ListClusters", "sts:GetCallerIdentity"))
	// The agent pulls the image and sends the logs as the execution role (execrole_test.go).
	base := createTaskRole(t, ic, "exec-base", allowPolicy("ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
		"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"))
	res, _ := runSDKApp(t, s, ref, "sdkapp-enforced", role, base, "ecs:ListClusters", "ecs:CreateCluster")
	if !strings.HasPrefix(res["ecs:ListClusters"], "OK ") {
		t.Errorf("allowed ListClusters: %q", res["ecs:ListClusters"])
	}
	if !strings.HasPrefix(res["ecs:CreateCluster"], "ERROR AccessDeniedException ") {
		t.Errorf("denied CreateCluster: %q, want AccessDeniedException", res["ecs:CreateCluster"])
	}

	t.Run("secrets as the execution role", func(t *testing.T) {
		sm, _ := injectClients(t, s)
		allowed, err := sm.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String("e2e/allowed"), SecretString: aws.String("a-" + randomValue(""))})
		if err != nil {
			t.Fatal(err)
		}
		denied, err := sm.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String("e2e/denied"), SecretString: aws.String("d-" + randomValue(""))})
		if err != nil {
			t.Fatal(err)
		}
		exec := createTaskRole(t, ic, "exec", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"`+
			aws.ToString(allowed.ARN)+`"},{"Effect":"Allow","Action":["ecr:GetAuthorizationToken","ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Resource":"*"}]}`)
		client := newSDK(t, s)
		run := func(family, secretARN, execRole string) types.Task {
			out, err := client.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
				Family: aws.String(family), NetworkMode: types.NetworkModeAwsvpc,
				RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
				Cpu:                     aws.String("256"), Memory: aws.String("512"), ExecutionRoleArn: nilIfEmpty(execRole),
				ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(ref),
					Command: []string{"exit", "0"}, Secrets: []types.Secret{{Name: aws.String("S"), ValueFrom: aws.String(secretARN)}}}},
			})
			if err != nil {
				t.Fatalf("RegisterTaskDefinition: %v", err)
			}
			return waitStopped(t, client, aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: out.TaskDefinition.TaskDefinitionArn})[0].TaskArn))[0]
		}
		if task := run("sec-allowed", aws.ToString(allowed.ARN), exec); task.StopCode != types.TaskStopCodeEssentialContainerExited ||
			aws.ToInt32(task.Containers[0].ExitCode) != 0 {
			t.Errorf("allowed secret: %s %q", task.StopCode, aws.ToString(task.StoppedReason))
		}
		for name, c := range map[string]struct{ secret, role string }{
			"denied secret":     {aws.ToString(denied.ARN), exec},
			"no execution role": {aws.ToString(allowed.ARN), ""},
		} {
			task := run("sec-"+strings.ReplaceAll(name, " ", "-"), c.secret, c.role)
			reason := aws.ToString(task.StoppedReason)
			if task.StopCode != types.TaskStopCodeTaskFailedToStart || !strings.Contains(reason, "unable to retrieve secret from asm") ||
				!strings.Contains(reason, c.secret) || !strings.Contains(reason, "AccessDeniedException") {
				t.Errorf("%s: %s %q", name, task.StopCode, reason)
			}
		}
	})
}
