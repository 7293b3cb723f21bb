package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestDiskGuard: the tasks' filesystems are thin, so the host's disk can run short; the server
// keeps --disk-reserve of it free. Its data dir here is a 1.5 GiB filesystem of the test's own.
// Two tasks write 250 MiB and then enough to take the host 150 MiB under the reserve: the
// second, the bigger user, is stopped with TerminationNotice and its space comes back, while the
// first runs on. Then something else takes the host's space: the first task is stopped the
// same way, and a new task fails to start, until the space is back.
func TestDiskGuard(t *testing.T) {
	t.Parallel()
	dataDir := smallFilesystem(t, 1536)
	const reserveMiB = 700
	s := startServer(t, dataDir, "--disk-reserve", strconv.Itoa(reserveMiB))
	cli, client := newCLI(t, s), newSDK(t, s)
	ref, _ := appImage(t, s)
	grow := func(mib int) string {
		return registerTD(t, cli, "grow"+strconv.Itoa(mib), fmt.Sprintf(`[{"name":"app","image":%q,"command":["grow","/data",%q],
			"mountPoints":[{"sourceVolume":"data","containerPath":"/data"}]}]`, ref, strconv.Itoa(mib)), `"volumes":[{"name":"data"}]`)
	}
	free := func() int64 {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dataDir, &st); err != nil {
			t.Fatal(err)
		}
		return int64(st.Bavail) * st.Bsize >> 20
	}
	waitFree := func(what string, ok func(int64) bool) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); !ok(free()); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d MiB free", what, free())
			}
		}
	}
	start := free()
	bigMiB := start - 250 - reserveMiB + 150
	if bigMiB < 300 {
		t.Fatalf("the server left %d MiB free on its 1.5 GiB filesystem; the test needs %d", start, reserveMiB+450)
	}

	small := cliRun(t, cli, grow(250))
	waitRunning(t, client, time.Minute, small)
	waitFree("the first task writes 250 MiB", func(f int64) bool { return f <= start-240 })
	big := cliRun(t, cli, grow(int(bigMiB)))
	stopped := waitStopped(t, client, big)[0]
	if aws.ToString(stopped.LastStatus) != "STOPPED" || stopped.StopCode != types.TaskStopCodeTerminationNotice ||
		!strings.Contains(aws.ToString(stopped.StoppedReason), "under its reserve of 700 MiB") {
		t.Fatalf("the task taking the host under its reserve: %s %s %q; want STOPPED, TerminationNotice and the reserve in the reason",
			aws.ToString(stopped.LastStatus), stopped.StopCode, aws.ToString(stopped.StoppedReason))
	}
	waitFree("the evicted task's space comes back", func(f int64) bool { return f >= start-300 })
	if got := describeCLITask(t, cli, small); got.LastStatus != "RUNNING" {
		t.Fatalf("the smaller user: %s, want it left RUNNING", taskState(got))
	}

	// Something else takes the host 400 MiB under the reserve, so it stays under even once the
	// running task's 250 MiB are freed.
	hog := filepath.Join(dataDir, "hog")
	hogMiB := free() - reserveMiB + 400
	if out, err := exec.Command("fallocate", "-l", strconv.FormatInt(hogMiB<<20, 10), hog).CombinedOutput(); err != nil {
		t.Fatalf("fallocate: %v: %s", err, out)
	}
	refused := cliRun(t, cli, grow(1))
	for _, tk := range waitStopped(t, client, small, refused) {
		switch arn := aws.ToString(tk.TaskArn); {
		case arn == small && (tk.StopCode != types.TaskStopCodeTerminationNotice || !strings.Contains(aws.ToString(tk.StoppedReason), "used the most ephemeral storage")):
			t.Errorf("the running task under disk pressure: %s %q, want TerminationNotice", tk.StopCode, aws.ToString(tk.StoppedReason))
		case arn == refused && (tk.StopCode != types.TaskStopCodeTaskFailedToStart || !strings.Contains(aws.ToString(tk.StoppedReason), "host disk under its reserve")):
			t.Errorf("a task started under disk pressure: %s %q, want TaskFailedToStart naming the reserve", tk.StopCode, aws.ToString(tk.StoppedReason))
		}
	}
	if err := os.Remove(hog); err != nil {
		t.Fatal(err)
	}
	last := cliRun(t, cli, grow(1))
	waitRunning(t, client, time.Minute, last)
	stopTask(t, client, last)
	waitStopped(t, client, last)
}

// smallFilesystem mounts a new ext4 filesystem of mib MiB (a sparse file on a loop device) and
// returns its mount point; the test's cleanup unmounts it after the server's.
func smallFilesystem(t *testing.T, mib int) string {
	t.Helper()
	dir := t.TempDir()
	img, mnt := filepath.Join(dir, "fs.img"), filepath.Join(dir, "data")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(mib) << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, c := range [][]string{{"mkfs.ext4", "-q", "-F", "-m", "0", img}, {"mount", "-o", "loop", img, mnt}} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(c, " "), err, out)
		}
	}
	t.Cleanup(func() {
		// The server is gone and what it left below mnt unmounted (reapTasks); the loop devices
		// of those mounts may take a moment to let go.
		var err error
		for range 20 {
			if err = syscall.Unmount(mnt, 0); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("unmount %s: %v", mnt, err)
		_ = syscall.Unmount(mnt, syscall.MNT_DETACH)
	})
	return mnt
}
