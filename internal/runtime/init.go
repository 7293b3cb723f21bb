package runtime

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// InitMain is the container init (pid 1) used when initProcessEnabled is set; cmd/gantry calls
// it for "gantry init -- cmd args...", which the runtime bind-mounts at /.gantry-init. It starts
// the command, forwards every signal to it, reaps all zombies, and exits as the command did.
func InitMain(args []string) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "gantry-init: no command")
		return 127
	}
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs) // before the child exists, so no SIGCHLD is missed
	path, err := exec.LookPath(args[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "gantry-init: %v\n", err)
		return 127
	}
	proc, err := os.StartProcess(path, args, &os.ProcAttr{Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}})
	if err != nil {
		fmt.Fprintf(os.Stderr, "gantry-init: %v\n", err)
		return 126
	}
	for {
		if code, done := reapAll(proc.Pid); done {
			return code
		}
		sig := (<-sigs).(syscall.Signal)
		switch sig {
		case syscall.SIGCHLD:
		case syscall.SIGURG: // the Go runtime's own preemption signal
		default:
			_ = syscall.Kill(proc.Pid, sig)
		}
	}
}

// reapAll reaps every exited child and reports the main child's exit code once it is gone.
func reapAll(main int) (int, bool) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return 0, false
		}
		if pid == main {
			return exitCode(ws), true
		}
	}
}

// isStaticBinary reports whether path runs without a dynamic loader, as it must to run inside an
// arbitrary image.
func isStaticBinary(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, fmt.Errorf("inspect init binary: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}
