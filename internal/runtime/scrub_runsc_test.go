package runtime

import (
	"encoding/json"
	"reflect"
	"testing"
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
