package image

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
)

// lockedWriter is a bytes.Buffer safe for a slog handler written to from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// TestPullProgressLogged pulls a slow image twice at once with no Progress callback: the
// store's logger (the server's log) shows the download's progress about once a second, and the
// pull that waits on the other's layers adds no lines of its own that count nothing.
func TestPullProgressLogged(t *testing.T) {
	requireRoot(t)
	reg := newTestRegistry(t)
	body := make([]byte, 80<<10)
	rand.Read(body)
	push(t, reg.host+"/big:v1", testImage(t, "amd64", testLayer(t, compression.GZip, file("blob", string(body)))))
	reg.slow.Store(true)
	var out lockedWriter
	st := New(t.TempDir(), Options{Architecture: "amd64", Logger: slog.New(slog.NewJSONHandler(&out, nil))})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := st.Pull(t.Context(), reg.host+"/big:v1", PullOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var lines int
	for _, raw := range strings.Split(strings.TrimSpace(out.b.String()), "\n") {
		var rec struct {
			Msg   string `json:"msg"`
			Ref   string `json:"ref"`
			Done  int64  `json:"done"`
			Total int64  `json:"total"`
		}
		if err := json.Unmarshal([]byte(raw), &rec); err != nil || rec.Msg != "pulling image" {
			continue
		}
		lines++
		if rec.Ref != reg.host+"/big:v1" || rec.Done <= 0 || rec.Done >= rec.Total {
			t.Errorf("progress line %s: want the ref and 0 < done < total", raw)
		}
	}
	if lines < 1 {
		t.Fatalf("no progress lines for a 2 s download; log:\n%s", out.b.String())
	}
}
