package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// awsCLI runs the real aws CLI (the one on PATH) against a server, isolated from any user
// configuration on the machine.
type awsCLI struct {
	t   *testing.T
	bin string
	env []string
}

func newCLI(t *testing.T, s *Server) *awsCLI {
	t.Helper()
	bin, err := exec.LookPath("aws")
	if err != nil {
		t.Fatal("the aws CLI is not on PATH; scripts/setup.sh installs it")
	}
	dir := t.TempDir()
	env := []string{
		"AWS_ENDPOINT_URL=" + s.URL,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_PAGER=",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return &awsCLI{t: t, bin: bin, env: env}
}

// run calls `aws <args> --output json` and returns its stdout, stderr and error.
func (c *awsCLI) run(args ...string) (string, string, error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, append(args, "--output", "json")...)
	cmd.Env = c.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// json runs a command that must succeed and decodes its output into out (when not nil).
func (c *awsCLI) json(out any, args ...string) {
	c.t.Helper()
	stdout, stderr, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("aws %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr)
	}
	if out == nil {
		return
	}
	if err := json.Unmarshal([]byte(stdout), out); err != nil {
		c.t.Fatalf("aws %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, stdout)
	}
}

// fail runs a command that must fail with AWS error code code, and returns its stderr.
func (c *awsCLI) fail(code string, args ...string) string {
	c.t.Helper()
	stdout, stderr, err := c.run(args...)
	if err == nil {
		c.t.Fatalf("aws %s succeeded, want %s; output:\n%s", strings.Join(args, " "), code, stdout)
	}
	if want := "An error occurred (" + code + ")"; !strings.Contains(stderr, want) {
		c.t.Fatalf("aws %s: stderr does not contain %q:\n%s", strings.Join(args, " "), want, stderr)
	}
	return stderr
}

// newSDK returns an ECS client of the AWS SDK for Go v2 pointed at s, with static credentials
// and no shared configuration files.
func newSDK(t *testing.T, s *Server) *ecs.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(t.Context(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
	)
	if err != nil {
		t.Fatalf("load SDK config: %v", err)
	}
	return ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = aws.String(s.URL) })
}

// jsonSubset reports every place where want is not contained in got: maps must have each of
// want's keys with contained values, lists must have the same length and contained elements,
// other values must be equal. AWS adds defaults to what it stores, so "every given member
// unchanged" means contained, not equal.
func jsonSubset(path string, want, got any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %v, want an object", path, got)}
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var diffs []string
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				diffs = append(diffs, fmt.Sprintf("%s.%s: missing", path, k))
				continue
			}
			diffs = append(diffs, jsonSubset(path+"."+k, w[k], gv)...)
		}
		return diffs
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: got %v, want %v", path, got, want)}
		}
		var diffs []string
		for i := range w {
			diffs = append(diffs, jsonSubset(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
		return diffs
	default:
		if !reflect.DeepEqual(want, got) {
			return []string{fmt.Sprintf("%s: got %v, want %v", path, got, want)}
		}
		return nil
	}
}
