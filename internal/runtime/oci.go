package runtime

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// OCI runtime kinds. runsc shares the bundle and CLI with runc; the differences are its global
// flags and that signals must go through its CLI (its pid is the sandbox, not the app).
const (
	ociRunc  = "runc"
	ociRunsc = "runsc"
)

// ociCLI drives an OCI runtime binary for one task.
type ociCLI struct {
	Binary string
	Root   string
	Args   []string // global flags before the command
	Kind   string
}

func (o ociCLI) command(ctx context.Context, args ...string) *exec.Cmd {
	all := append(append(append([]string(nil), o.Args...), "--root", o.Root), args...)
	cmd := exec.CommandContext(ctx, o.Binary, all...)
	// The runtime's own children must not inherit our working directory's mount.
	cmd.Dir = "/"
	return cmd
}

// run runs a command whose output is only interesting when it fails.
func (o ociCLI) run(ctx context.Context, args ...string) error {
	out, err := o.command(ctx, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", o.Kind, args[0], err, bytes.TrimSpace(out))
	}
	return nil
}

// runDetached creates and starts the container in one runtime call (one process less than
// create and start) and returns once it runs. Its stdio are the container's.
func (o ociCLI) runDetached(ctx context.Context, id, bundle, pidFile, logFile string, stdout, stderr *os.File) error {
	cmd := o.command(ctx, "--log", logFile, "--log-format", "json", "run", "--detach",
		"--bundle", bundle, "--pid-file", pidFile, id)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s run: %w: %s", o.Kind, err, lastLogError(logFile))
	}
	return nil
}

func (o ociCLI) kill(ctx context.Context, id string, sig syscall.Signal) error {
	return o.run(ctx, "kill", id, strconv.Itoa(int(sig)))
}

func (o ociCLI) delete(ctx context.Context, id string) error {
	return o.run(ctx, "delete", "--force", id)
}

// exists reports whether the runtime still has state for id.
func (o ociCLI) exists(id string) bool {
	_, err := os.Stat(o.Root + "/" + id)
	return err == nil
}

// lastLogError digs the error message out of the runtime's JSON log. runsc writes records
// without newlines between them, so they are decoded as a stream rather than by line.
func lastLogError(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "no runtime log"
	}
	defer f.Close()
	var last string
	dec := json.NewDecoder(bufio.NewReader(f))
	for {
		var e struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if err := dec.Decode(&e); err != nil {
			break
		}
		if e.Level == "error" || e.Level == "fatal" {
			last = e.Msg
		}
	}
	if last == "" {
		return "no error in runtime log"
	}
	return strings.TrimSpace(last)
}

// readPidFile reads a pid written by the OCI runtime.
func readPidFile(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, errors.New("read pid file: malformed")
	}
	return pid, nil
}
