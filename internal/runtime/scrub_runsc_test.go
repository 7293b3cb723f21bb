package runtime

import (
	"encoding/json"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestWithoutProcessEnv removes spec.process.env from a runsc state document and keeps every
// other field, runsc's own included, as it was.
func TestWithoutProcessEnv(t *testing.T) {
	in := `{"id":"t.app","owner":"","status":3,"sandbox":{"pid":7,"x":[1,2]},` +
		`"spec":{"ociVersion":"1.0.2","process":{"args":["/app"],"env":["A=secret"],"cwd":"/"},"root":{"path":"/r"}}}`
	out, err := withoutProcessEnv([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var got, want map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal([]byte(in), &want)
	delete(want["spec"].(map[string]any)["process"].(map[string]any), "env")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("withoutProcessEnv =\n%s\nwant\n%v", out, want)
	}
	for _, bad := range []string{`{}`, `{"spec":{}}`, `not json`} {
		if _, err := withoutProcessEnv([]byte(bad)); err == nil {
			t.Errorf("withoutProcessEnv(%s) took it", bad)
		}
	}
}

// TestTakeProcessEnv returns the bundle's process as it was, for execs, and leaves the spec
// without its environment.
func TestTakeProcessEnv(t *testing.T) {
	spec := map[string]json.RawMessage{
		"ociVersion": json.RawMessage(`"1.0.2"`),
		"process":    json.RawMessage(`{"args":["/app"],"env":["A=secret"],"cwd":"/"}`),
	}
	before, err := takeProcessEnv(spec)
	if err != nil {
		t.Fatal(err)
	}
	var p specs.Process
	if err := json.Unmarshal(before, &p); err != nil || !reflect.DeepEqual(p.Env, []string{"A=secret"}) || p.Cwd != "/" {
		t.Fatalf("process before = %s (%+v, %v), want it whole", before, p, err)
	}
	if got := string(spec["process"]); got != `{"args":["/app"],"cwd":"/"}` {
		t.Errorf("process after = %s, want it without env", got)
	}
	if string(spec["ociVersion"]) != `"1.0.2"` {
		t.Errorf("other fields changed: %v", spec)
	}
	if _, err := takeProcessEnv(map[string]json.RawMessage{}); err == nil {
		t.Error("a spec without a process was taken")
	}
}
