package awsjson

import (
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/internal/apierr"
)

type shape struct {
	Name  *string  `json:"name"`
	Count *int32   `json:"count"`
	Tags  []string `json:"tags"`
	Inner *struct {
		Flag *bool `json:"flag"`
	} `json:"inner"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr string // substring of the message; empty means success
	}{
		{"empty body", "", ""},
		{"object", `{"name":"a","count":3,"tags":["x"],"inner":{"flag":true}}`, ""},
		{"unknown member ignored", `{"other":1}`, ""},
		{"malformed", `{"name":`, "Malformed JSON"},
		{"not an object", `[1,2]`, "must be a JSON object"},
		{"wrong type string", `{"name":5}`, "member name"},
		{"wrong type nested", `{"inner":{"flag":"yes"}}`, "member inner.flag"},
		{"number overflow", `{"count":99999999999}`, "member count"},
		{"trailing garbage", `{} {}`, "after the JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v shape
			err := Decode([]byte(tt.body), &v)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(apierr.Message(err), tt.wantErr) {
				t.Fatalf("error %v, want message containing %q", err, tt.wantErr)
			}
			if apierr.KindOf(err) != apierr.Serialization {
				t.Fatalf("kind %q, want serialization", apierr.KindOf(err))
			}
		})
	}
}
