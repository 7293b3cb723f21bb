package store

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
)

func TestSplitEnvelope(t *testing.T) {
	for _, c := range []struct {
		raw, body string
		v         int
		ok        bool
	}{
		{`{"v":1,"body":{"a":1}}`, `{"a":1}`, 1, true},
		{`{"v":12,"body":{}}`, `{}`, 12, true},
		{`{"body":{},"v":1}`, "", 0, false},          // another order: json.Unmarshal's
		{`{ "v":1,"body":{}}`, "", 0, false},         // spaced
		{`{"v":,"body":{}}`, "", 0, false},           // no version
		{`{"v":1,"body":{}`, `{`, 1, true},           // torn: the body then fails to parse
		{`{"v":1,"body":`, "", 0, false},             // no body
		{`{"v":1234567890,"body":{}}`, "", 0, false}, // too long a version
	} {
		env, ok := splitEnvelope([]byte(c.raw))
		if ok != c.ok || ok && (env.V != c.v || string(env.Body) != c.body) {
			t.Errorf("splitEnvelope(%s) = %d %q %v, want %d %q %v", c.raw, env.V, env.Body, ok, c.v, c.body, c.ok)
		}
	}
}

// TestDecodeReadsEveryEnvelope: records as encode writes them, and as any JSON writer could,
// decode alike; a torn or newer record is an error, never a zero value.
func TestDecodeReadsEveryEnvelope(t *testing.T) {
	tab := (&Store{}).Tasks().t
	task := model.Task{ID: "abc", Cluster: "default", CPU: "256", Memory: "512", LastStatus: model.TaskRunning,
		Times: model.TaskTimes{CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
	enc, err := tab.encode(task)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(recordFromTask(task))
	reordered := `{"body":` + string(body) + `,"v":1}`
	spaced := strings.Replace(enc, `{"v":1,`, `{ "v": 1, `, 1)
	extra := strings.TrimSuffix(enc, "}") + `,"later":true}`
	for _, raw := range []string{enc, reordered, spaced, extra} {
		got, err := tab.decode([]byte(raw))
		if err != nil || got.ID != "abc" || got.CPU != "256" || !got.Times.CreatedAt.Equal(task.Times.CreatedAt) {
			t.Errorf("decode(%s) = %+v, %v", raw, got, err)
		}
	}
	for _, raw := range []string{enc[:len(enc)-1], enc[:len(enc)/2], strings.Replace(enc, `{"v":1,`, `{"v":2,`, 1)} {
		if _, err := tab.decode([]byte(raw)); err == nil {
			t.Errorf("decode(%s) succeeded, want an error", raw)
		}
	}
}

func BenchmarkDecodeTask(b *testing.B) {
	tab := (&Store{}).Tasks().t
	enc, err := tab.encode(model.Task{ID: strings.Repeat("a", 32), Cluster: "default", CPU: "256", Memory: "512",
		LastStatus: model.TaskRunning, Containers: []model.Container{{Name: "app", Image: "127.0.0.1:4566/app:latest"}}})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := tab.decode([]byte(enc)); err != nil {
			b.Fatal(err)
		}
	}
}
