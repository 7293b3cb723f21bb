package ops_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/gantry-dev/gantry/internal/apierr"
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

// Apache access log lines, as in AWS's examples of space-delimited patterns: the timestamp in
// [brackets] and the request in "quotes" are one field each.
var awsSpaceEvents = []string{
	`127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534`,
	`127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324`,
	`127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /apache_pb.gif HTTP/1.0" 200 4355`,
	`10.0.0.7 - - [10/Oct/2000:14:01:02 -0700] "GET /missing.html HTTP/1.0" 404 512`,
	`10.0.0.8 - alice [10/Oct/2000:14:02:03 -0700] "POST /login HTTP/1.1" 401 -`,
	`short line`,
}

// VPC flow log records, for AWS's flow log example.
var awsFlowEvents = []string{
	`2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK`,
	`2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK`,
	`2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA`,
	`2 123456789010 eni-1235b8ca123456789 - 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK`,
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
		{"space all fields", `[ip, user, username, timestamp, request, status_code, bytes]`, awsSpaceEvents, []int{0, 1, 2, 3, 4}},
		{"space field count", `[ip, user, username]`, awsSpaceEvents, nil},
		{"space two fields", `[w1, w2]`, awsSpaceEvents, []int{5}},
		{"space status equals", `[ip, user, username, timestamp, request, status_code = 404, bytes]`, awsSpaceEvents, []int{0, 3}},
		{"space status not equals", `[ip, user, username, timestamp, request, status_code != 404, bytes]`, awsSpaceEvents, []int{1, 2, 4}},
		{"space request and status wildcards", `[ip, user, username, timestamp, request = *.html*, status_code = 4*, bytes]`, awsSpaceEvents, []int{0, 3}},
		{"space ellipsis both sides", `[..., status_code = 404, ...]`, awsSpaceEvents, []int{0, 3}},
		{"space leading ellipsis", `[..., status_code, bytes]`, awsSpaceEvents, []int{0, 1, 2, 3, 4, 5}},
		{"space leading ellipsis condition", `[..., status_code = 5*, bytes]`, awsSpaceEvents, []int{1}},
		{"space middle ellipsis", `[ip, user, ..., status_code = 4*, bytes > 1000]`, awsSpaceEvents, []int{0}},
		{"space bytes le", `[ip, user, ..., status_code, bytes <= 1534]`, awsSpaceEvents, []int{0, 3}},
		{"space bytes ge", `[ip, user, ..., bytes >= 4355]`, awsSpaceEvents, []int{1, 2}},
		{"space bytes lt not a number", `[..., bytes < 100000]`, awsSpaceEvents, []int{0, 1, 2, 3}},
		{"space ip wildcard", `[ip = 10.0.0.*, ...]`, awsSpaceEvents, []int{3, 4}},
		{"space quoted user", `[ip, user, username = "frank", ...]`, awsSpaceEvents, []int{0, 1, 2}},
		{"space bracketed field", `[ip, user, username, timestamp = 10/Oct/2000:14*, ...]`, awsSpaceEvents, []int{3, 4}},
		{"space quoted field", `[ip, user, username, timestamp, request = "GET /index.html HTTP/1.0", ...]`, awsSpaceEvents, []int{0}},
		{"space or", `[ip, user, username, timestamp, request, status_code = 401 || status_code = 5*, bytes]`, awsSpaceEvents, []int{1, 4}},
		{"space and", `[ip, user, username, timestamp, request, status_code >= 400 && status_code < 500, bytes]`, awsSpaceEvents, []int{0, 3, 4}},
		{"space and or precedence", `[..., status_code = 200 || status_code >= 400 && status_code != 404, bytes]`, awsSpaceEvents, []int{1, 2, 4}},
		{"space no spaces around operator", `[..., status_code=404, bytes>1000]`, awsSpaceEvents, []int{0}},
		{"space flow log rejects", `[version, account_id, interface_id, srcaddr != "-", dstaddr, srcport, dstport, protocol, packets, bytes, start, end, action = "REJECT", log_status]`, awsFlowEvents, []int{1}},
		{"space flow log rdp", `[version, account_id, interface_id, srcaddr, dstaddr, srcport, dstport = 3389, ...]`, awsFlowEvents, []int{1, 3}},
		{"space flow log nodata", `[..., log_status = NODATA]`, awsFlowEvents, []int{2}},
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
	for _, p := range []string{`"unterminated`, `{ $.a = }`, `{ level = "x" }`, `{ $.a = "x" `, `{ $.a > "x" }`, `{ ($.a = 1 }`,
		`[ip, user`, `[]`, `[ip,, user]`, `[ip, status_code >]`, `[ip, status_code > abc]`, `[ip, request = "unterminated]`,
		`[ip, status_code = 4 ||]`, `[ip, = 4]`, `[ip user]`} {
		if _, err := ops.ParseFilterPattern(p); err == nil {
			t.Errorf("%s: no error", p)
		}
	}
}

// The examples of AWS's "Supported regular expressions (regex) syntax" page: %regex% alone, as
// a term, and as a value in JSON and space-delimited patterns.
func TestFilterPatternRegex(t *testing.T) {
	auth := []string{"[ERROR 401] UNAUTHORIZED REQUEST", "[SUCCESS 200] AUTHORIZED REQUEST", "[ERROR 400] BAD REQUEST"}
	words := []string{"hat on top", "a cat", "the color", "the colour", "aaa", "aa", "Error here", "fail there", "chat"}
	tests := []struct {
		name, pattern string
		events        []string
		want          []int
	}{
		{"docs keyword", `%AUTHORIZED%`, auth, []int{0, 1}},
		{"ip address", `%\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}%`, awsSpaceEvents, []int{0, 1, 2, 3, 4}},
		{"alternation", `%[Ee]rror|[Ff]ail%`, words, []int{6, 7}},
		{"anchored start", `%^[hc]at%`, words, []int{0}},
		{"anchored end", `%[hc]at$%`, words, []int{1, 8}},
		{"optional", `%colou?r%`, words, []int{2, 3}},
		{"repetition", `%a{3,5}%`, words, []int{4}},
		{"regex term with exclusion", `%40[01]\]% -BAD`, awsErrorEvents, []int{1}},
		{"regex alternatives", `?%419% ?%420%`, awsErrorEvents, []int{2, 3}},
		{"quoted percent is a phrase", `"%419%"`, awsErrorEvents, nil},
		{"json regex", `{ $.eventType = %Trail$% }`, awsJSONEvents, []int{0, 1, 2}},
		{"json regex anchored", `{ $.errorCode = %^Access% }`, awsJSONEvents, []int{2}},
		{"json regex not equal", `{ $.errorCode != %Unauthorized% }`, awsJSONEvents, []int{2}},
		{"json regex and", `{ $.eventType = %^(Create|Delete)% }`, awsJSONEvents, nil}, // refused: see errors
		{"space regex", `[ip, user, username, timestamp, request, status_code = %4[0-9]{2}%, bytes]`, awsSpaceEvents, []int{0, 3, 4}},
		{"space regex with comma", `[ip = %^10\.0\.0\.[0-9]{1,3}$%, ...]`, awsSpaceEvents, []int{3, 4}},
		{"json wildcard is only *", `{ $.eventType = "Update?rail" }`, awsJSONEvents, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ops.ParseFilterPattern(tt.pattern)
			if tt.name == "json regex and" {
				if err == nil {
					t.Fatal("( ) in a regex: no error")
				}
				return
			}
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
	for _, p := range []string{`%(a|b)%`, `%abc`, `%é%`, `%a b%`, `%[%`, `{ $.a = %a% || $.b = %b% || $.c = %c% }`,
		`[x = %a%, y = %b%, z = %c%]`, `%a% %b% %c%`, `[x = %a, y]`, `{ $.a > %1% }`} {
		_, err := ops.ParseFilterPattern(p)
		if err == nil {
			t.Errorf("%s: no error", p)
			continue
		}
		if !errors.Is(err, apierr.InvalidParameter) {
			t.Errorf("%s: %v, want InvalidParameter", p, err)
		}
	}
}
