package nft

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gantry-dev/gantry/internal/network/netns"
	"github.com/google/nftables"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("needs root: kernel tests are required, run the suite as root")
	}
	if _, err := exec.LookPath("nft"); err != nil {
		t.Fatal("needs the nft command: scripts/setup.sh installs nftables")
	}
}

// throwawayNS returns a fresh network namespace removed at cleanup.
func throwawayNS(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if _, err := netns.Create(path, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netns.Delete(path) })
	return path
}

// nftIn runs the nft command inside the namespace at path (the forked child inherits the
// namespace of the thread netns.Do runs on).
func nftIn(t *testing.T, path string, stdin []byte, args ...string) string {
	t.Helper()
	var out []byte
	err := netns.Do(path, func() error {
		cmd := exec.Command("nft", args...)
		cmd.Stdin = bytes.NewReader(stdin)
		var err error
		out, err = cmd.CombinedOutput()
		return err
	})
	if err != nil {
		t.Fatalf("nft %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func applyIn(t *testing.T, path string, rs *Ruleset) {
	t.Helper()
	withConn(t, path, rs.Apply)
}

func withConn(t *testing.T, path string, fn func(*nftables.Conn) error) {
	t.Helper()
	f, err := netns.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := nftables.New(nftables.WithNetNSFd(int(f.Fd())))
	if err != nil {
		t.Fatal(err)
	}
	if err := fn(c); err != nil {
		t.Fatal(err)
	}
}

// TestApplyMatchesNftScript proves the netlink encoding and the golden text say the same thing:
// the table Apply creates lists exactly like the one `nft -f testdata/<name>.nft` creates.
func TestApplyMatchesNftScript(t *testing.T) {
	requireRoot(t)
	for name, spec := range goldenSpecs {
		t.Run(name, func(t *testing.T) {
			rs, err := Build(spec)
			if err != nil {
				t.Fatal(err)
			}
			viaNetlink, viaScript := throwawayNS(t, "netlink"), throwawayNS(t, "script")
			applyIn(t, viaNetlink, rs)
			nftIn(t, viaScript, []byte(rs.Render()), "-f", "-")
			got := nftIn(t, viaNetlink, nil, "list", "table", "inet", TableName)
			want := nftIn(t, viaScript, nil, "list", "table", "inet", TableName)
			if got != want {
				t.Errorf("Apply's table lists as\n%s\nnft -f's as\n%s", got, want)
			}
		})
	}
}

// TestApplyReplaces checks a second Apply replaces the table whole: sets, chains and rules of
// the first are gone.
func TestApplyReplaces(t *testing.T) {
	requireRoot(t)
	ns := throwawayNS(t, "replace")
	first, _ := Build(goldenSpecs["web"])
	applyIn(t, ns, first)
	second, _ := Build(goldenSpecs["empty"])
	applyIn(t, ns, second)
	want := throwawayNS(t, "want")
	applyIn(t, want, second)
	if got, w := nftIn(t, ns, nil, "list", "ruleset"), nftIn(t, want, nil, "list", "ruleset"); got != w {
		t.Errorf("after replacing:\n%s\nwant\n%s", got, w)
	}
}
