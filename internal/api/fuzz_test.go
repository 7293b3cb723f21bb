package api_test

import (
	"bytes"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// frontDoorSeeds are the starting inputs of FuzzFrontDoor and of the mutation run: one of each
// route, good and bad.
var frontDoorSeeds = []struct {
	target, ct, body string
}{
	{fakeEcho, ct11, `{"name":"a","count":3,"inner":{"flag":true,"items":[{"key":"k","size":1}]},"labels":{"x":"y"}}`},
	{fakeEcho, ct10, `{"inner":{"items":[{"size":"big"}]}}`},
	{fakeEcho, ct11, `{"name":`},
	{fakeEcho, "", ``},
	{fakePrefix + ".Nothing", ct11, `{}`},
	{fakePrefix + ".Missing", ct11, `{}`},
	{fakePrefix + ".Boom", ct11, `{}`},
	{ecsBoom, ct11, `{}`},
	{"NoSuchService.Op", ct11, `{}`},
	{fakePrefix, "text/plain", `[1,2,3]`},
	{"", formCT, form("Action", "DescribeThings", "Version", elbVersion, "Names.member.1", "a", "Attributes.entry.1.key", "k", "Attributes.entry.1.value", "v")},
	{"", formCT, form("Action", "DescribeThings", "Version", elbVersion, "HealthCheck.Port", "80", "PageSize", "x")},
	{"", formCT, form("Action", "DescribeVpcs", "Version", ec2Version, "VpcId.1", "vpc-1", "DryRun", "true")},
	{"", formCT, form("Action", "Boom", "Version", ec2Version)},
	{"", "", "Action=Nope&Version=" + elbVersion + "&%zz"},
	{"", "", ""},
}

func FuzzFrontDoor(f *testing.F) {
	for _, s := range frontDoorSeeds {
		f.Add(s.target, s.ct, []byte(s.body))
	}
	fx := newFixture()
	f.Fuzz(func(t *testing.T, target, ct string, body []byte) {
		checkFrontDoor(t, fx, target, ct, body)
	})
}

// checkFrontDoor sends one request and holds the front door to its promises: it never panics,
// it answers 500 exactly when the operation panicked, and the answer is a protocol's envelope.
func checkFrontDoor(t *testing.T, fx *fixture, target, ct string, body []byte) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("X-Amz-Target", target)
	r.Header.Set("Content-Type", ct)
	rec := httptest.NewRecorder()
	before := fx.panics.Load()
	fx.srv.ServeHTTP(rec, r)
	panicked := fx.panics.Load() != before
	if (rec.Code == http.StatusInternalServerError) != panicked {
		t.Fatalf("target %q content type %q body %q: status %d, operation panicked: %v\n%s", target, ct, body, rec.Code, panicked, rec.Body)
	}
	if _, err := readAnswer(rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
		t.Fatalf("target %q content type %q body %q: %v", target, ct, body, err)
	}
}

// TestFrontDoorMutations is a short fuzzing run inside the normal suite: a fixed number of
// inputs mutated from the seeds with a fixed random seed, so a failure reproduces exactly.
func TestFrontDoorMutations(t *testing.T) {
	const runs = 2000
	rng := rand.New(rand.NewPCG(20260101, 4566))
	fx := newFixture()
	start := time.Now()
	for range runs {
		s := frontDoorSeeds[rng.IntN(len(frontDoorSeeds))]
		target, ct, body := s.target, s.ct, []byte(s.body)
		switch rng.IntN(8) {
		case 0:
			target = mutate(rng, []byte(target)).String()
		case 1:
			target = frontDoorSeeds[rng.IntN(len(frontDoorSeeds))].target
		case 2:
			ct = frontDoorSeeds[rng.IntN(len(frontDoorSeeds))].ct
		}
		for n := 1 + rng.IntN(4); n > 0; n-- {
			body = mutate(rng, body).Bytes()
		}
		checkFrontDoor(t, fx, target, ct, body)
	}
	t.Logf("%d mutated requests in %v", runs, time.Since(start))
}

// tokens are fragments that steer mutations into the decoders' interesting corners.
var tokens = []string{`{`, `}`, `[`, `]`, `"`, `:`, `,`, `null`, `true`, `1e999`, `-1`, `99999999999`, `"\u0000"`,
	`{"inner":`, `"items":[`, `"labels":{`, `&`, `=`, `%`, `%zz`, `.member.`, `.entry.1.key=`, `.1=`, `.0=`,
	`Action=`, `Version=`, `DescribeThings`, `DescribeVpcs`, `Boom`, `HealthCheck.Path=`, `PageSize=`, "\xff", "\n"}

// mutate applies one random edit to b: flip, insert, delete, duplicate, splice or a token.
func mutate(rng *rand.Rand, b []byte) *bytes.Buffer {
	out := bytes.NewBuffer(nil)
	if len(b) == 0 {
		out.WriteString(tokens[rng.IntN(len(tokens))])
		return out
	}
	i := rng.IntN(len(b))
	j := i + rng.IntN(len(b)-i+1)
	switch rng.IntN(6) {
	case 0: // flip a byte
		out.Write(b[:i])
		out.WriteByte(b[i] ^ byte(1+rng.IntN(255)))
		out.Write(b[i+1:])
	case 1: // insert a random byte
		out.Write(b[:i])
		out.WriteByte(byte(rng.IntN(256)))
		out.Write(b[i:])
	case 2: // delete a range
		out.Write(b[:i])
		out.Write(b[j:])
	case 3: // duplicate a range
		out.Write(b[:j])
		out.Write(b[i:])
	case 4: // truncate
		out.Write(b[:i])
	default: // insert a token
		out.Write(b[:i])
		out.WriteString(tokens[rng.IntN(len(tokens))])
		out.Write(b[i:])
	}
	return out
}
