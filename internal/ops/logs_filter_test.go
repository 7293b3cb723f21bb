package ops_test

import (
	"slices"
	"testing"

	"github.com/gantry-dev/gantry/internal/ops"
)

// The examples of AWS's "Filter pattern syntax for metric filters, subscription filters, and
// filter log events" page.
var awsErrorEvents = []string{
	"[ERROR 400] BAD REQUEST",
	"[ERROR 401] UNAUTHORIZED REQUEST",
	"[ERROR 419] MISSING ARGUMENTS",
	"[ERROR 420] INVALID ARGUMENTS",
}

var awsJSONEvents = []string{
	`{"eventType": "UpdateTrail", "sourceIPAddress": "123.123.123.123", "arrayKey": ["value", "another value"], "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}], "SomeObject": null, "cluster": true, "latency": 150}`,
	`{"eventType": "CreateTrail", "sourceIPAddress": "10.0.0.1", "user": {"id": 1, "email": "John.Doe@example.com"}, "errorCode": "Client.UnauthorizedOperation", "latency": 50, "level": "error"}`,
	`{"eventType": "DeleteTrail", "errorCode": "AccessDeniedException", "level": "info", "latency": 100}`,
	`not json at all ERROR`,
}

func TestFilterPatterns(t *testing.T) {
	tests := []struct {
		name, pattern string
		events        []string
		want          []int // indexes of matching events
	}{
		{"empty matches all", "", awsErrorEvents, []int{0, 1, 2, 3}},
		{"single term", "ERROR", awsErrorEvents, []int{0, 1, 2, 3}},
		{"terms all must match", "ERROR ARGUMENTS", awsErrorEvents, []int{2, 3}},
		{"quoted terms", `"ERROR" "ARGUMENTS"`, awsErrorEvents, []int{2, 3}},
		{"exclusion", `ERROR -ARGUMENTS`, awsErrorEvents, []int{0, 1}},
		{"quoted exclusion", `"ERROR" -"MISSING"`, awsErrorEvents, []int{0, 1, 3}},
		{"terms and exclusion", `ERROR ARGUMENTS -MISSING`, awsErrorEvents, []int{3}},
		{"alternatives", `?"ERROR 400" ?INVALID`, awsErrorEvents, []int{0, 3}},
		{"alternatives unquoted", `?BAD ?UNAUTHORIZED`, awsErrorEvents, []int{0, 1}},
		{"quoted phrase", `"MISSING ARGUMENTS"`, awsErrorEvents, []int{2}},
		{"case-sensitive", `error`, awsErrorEvents, nil},
		{"json equals", `{ $.eventType = "UpdateTrail" }`, awsJSONEvents, []int{0}},
		{"json not equals", `{ $.eventType != "UpdateTrail" }`, awsJSONEvents, []int{1, 2}},
		{"json wildcard", `{ $.sourceIPAddress != 123.123.* }`, awsJSONEvents, []int{1}},
		{"json array", `{ $.arrayKey[0] = "value" }`, awsJSONEvents, []int{0}},
		{"json object list", `{ $.objectList[1].id = 2 }`, awsJSONEvents, []int{0}},
		{"json null", `{ $.SomeObject IS NULL }`, awsJSONEvents, []int{0}},
		{"json not exists", `{ $.SomeOtherObject NOT EXISTS }`, awsJSONEvents, []int{0, 1, 2}},
		{"json true", `{ $.cluster IS TRUE }`, awsJSONEvents, []int{0}},
		{"json number", `{ $.latency > 100 }`, awsJSONEvents, []int{0}},
		{"json number ge", `{ $.latency >= 100 }`, awsJSONEvents, []int{0, 2}},
		{"json and", `{ ($.user.id = 1) && ($.user.email = "John.Doe@example.com") }`, awsJSONEvents, []int{1}},
		{"json or wildcards", `{ $.errorCode = "*UnauthorizedOperation" || $.errorCode = "AccessDenied*" }`, awsJSONEvents, []int{1, 2}},
		{"json level", `{ $.level = "error" }`, awsJSONEvents, []int{1}},
		{"json precedence", `{ $.level = "info" || $.level = "error" && $.latency < 60 }`, awsJSONEvents, []int{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ops.ParseFilterPattern(tt.pattern)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for i, e := range tt.events {
				if p.Match(e) {
					got = append(got, i)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s matches %v, want %v", tt.pattern, got, tt.want)
			}
		})
	}
}

func TestFilterPatternErrors(t *testing.T) {
	for _, p := range []string{`"unterminated`, `{ $.a = }`, `{ level = "x" }`, `{ $.a = "x" `, `{ $.a > "x" }`, `{ ($.a = 1 }`} {
		if _, err := ops.ParseFilterPattern(p); err == nil {
			t.Errorf("%s: no error", p)
		}
	}
}
