package ecs_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/api/ecs"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

// ecsSeeds are valid requests of the foundation's operations; the mutation run starts from them.
var ecsSeeds = []struct{ op, body string }{
	{"RegisterTaskDefinition", fargateGuideExample},
	{"RegisterTaskDefinition", fullTaskDefinition},
	{"DescribeTaskDefinition", `{"taskDefinition": "api-service:1", "include": ["TAGS"]}`},
	{"ListTaskDefinitions", `{"familyPrefix": "api-service", "status": "ACTIVE", "sort": "DESC", "maxResults": 1, "nextToken": "YQ"}`},
	{"ListTaskDefinitionFamilies", `{"familyPrefix": "api", "status": "ALL", "maxResults": 5}`},
	{"DeregisterTaskDefinition", `{"taskDefinition": "arn:aws:ecs:us-east-1:000000000000:task-definition/api-service:1"}`},
	{"DeleteTaskDefinitions", `{"taskDefinitions": ["api-service:1", "full-house:1"]}`},
	{"CreateCluster", `{"clusterName": "web", "tags": [{"key": "team", "value": "core"}], "settings": [{"name": "containerInsights", "value": "enabled"}],
		"configuration": {"executeCommandConfiguration": {"logging": "OVERRIDE", "logConfiguration": {"cloudWatchLogGroupName": "g", "s3EncryptionEnabled": true}}},
		"capacityProviders": ["FARGATE", "FARGATE_SPOT"], "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1, "base": 1}],
		"serviceConnectDefaults": {"namespace": "ns"}}`},
	{"DescribeClusters", `{"clusters": ["web", "arn:aws:ecs:us-east-1:000000000000:cluster/nope"], "include": ["SETTINGS", "TAGS", "STATISTICS", "ATTACHMENTS", "CONFIGURATIONS"]}`},
	{"ListClusters", `{"maxResults": 2, "nextToken": "Z2FudHJ5MTp3ZWI"}`},
	{"UpdateCluster", `{"cluster": "web", "settings": [{"name": "containerInsights", "value": "disabled"}], "serviceConnectDefaults": {"namespace": ""}}`},
	{"UpdateClusterSettings", `{"cluster": "web", "settings": [{"name": "containerInsights", "value": "enhanced"}]}`},
	{"PutClusterCapacityProviders", `{"cluster": "web", "capacityProviders": ["FARGATE"], "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 2}]}`},
	{"DescribeCapacityProviders", `{"capacityProviders": ["FARGATE", "nope"], "include": ["TAGS"], "maxResults": 1}`},
	{"TagResource", `{"resourceArn": "arn:aws:ecs:us-east-1:000000000000:cluster/web", "tags": [{"key": "env", "value": "prod"}]}`},
	{"UntagResource", `{"resourceArn": "arn:aws:ecs:us-east-1:000000000000:task-definition/api-service:1", "tagKeys": ["env"]}`},
	{"ListTagsForResource", `{"resourceArn": "arn:aws:ecs:us-east-1:000000000000:cluster/web"}`},
	{"DeleteCluster", `{"cluster": "web"}`},
}

// oddValues replace a member's value: other types, bounds, and the values validators trip on.
var oddValues = []any{nil, "", " ", "-1", "0", "1 vCPU", "0.1GB", "1e999", "abc-def", "a-", "-", "\x00", "arn:", "arn:aws:ecs:us-east-1:000000000000:",
	-1, 0, 1, 65536, 2147483647, -2147483648, 1e300, 0.5, true, false,
	[]any{}, []any{nil}, []any{""}, []any{map[string]any{}}, map[string]any{}, map[string]any{"": nil}}

// TestECSMutations is a short fuzzing run of the real ECS operations over a real store: requests
// mutated from valid ones, member by member (a value swapped for another type, a bound, null,
// an empty list) and byte by byte. Whatever comes in, the answer is 200 or a 4xx in ECS's error
// envelope, never a 500 (a panic or an untranslated error) and never a hang. The random seed is
// fixed, so a failure reproduces exactly.
func TestECSMutations(t *testing.T) {
	const runs = 3000
	cli, prefix := testutil.Etcd(t)
	srv := api.New(logx.Discard(), ecs.Service(ops.NewECS(store.New(cli, prefix), logx.Discard())))
	rng := rand.New(rand.NewPCG(20261126, 4566))
	for _, s := range ecsSeeds { // some state to hit: the seeds as they are
		checkECSAnswer(t, srv, s.op, []byte(s.body))
	}
	start := time.Now()
	codes := map[int]int{}
	for range runs {
		s := ecsSeeds[rng.IntN(len(ecsSeeds))]
		body := []byte(s.body)
		for n := 1 + rng.IntN(3); n > 0; n-- {
			if rng.IntN(4) == 0 {
				body = flipByte(rng, body)
			} else {
				body = mutateMember(rng, body)
			}
		}
		codes[checkECSAnswer(t, srv, s.op, body)]++
	}
	t.Logf("%d mutated requests in %v, answers by status: %v", runs, time.Since(start).Round(time.Millisecond), codes)
	if codes[http.StatusOK] == 0 || codes[http.StatusBadRequest] == 0 {
		t.Errorf("the mutations never reached both success and rejection: %v", codes)
	}
}

// checkECSAnswer sends one request and holds the answer to the front door's promises.
func checkECSAnswer(t *testing.T, srv http.Handler, op string, body []byte) int {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("X-Amz-Target", ecs.TargetPrefix+"."+op)
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeHTTP(rec, r) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s %s: no answer after 30s", op, body)
	}
	if rec.Header().Get("X-Amzn-RequestId") == "" {
		t.Fatalf("%s %s: no x-amzn-RequestId", op, body)
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: status %d, answer %q is not a JSON object", op, body, rec.Code, rec.Body)
	}
	switch {
	case rec.Code == http.StatusOK:
	case rec.Code != http.StatusBadRequest:
		t.Fatalf("%s %s: status %d %v, want 200 or 400", op, body, rec.Code, out)
	case !slices.Contains(ecsErrorCodes, out["__type"]) || out["message"] == "" || rec.Header().Get("X-Amzn-ErrorType") == "":
		t.Fatalf("%s %s: error answer %v (X-Amzn-ErrorType %q) is not one of ECS's", op, body, out, rec.Header().Get("X-Amzn-ErrorType"))
	}
	return rec.Code
}

// ecsErrorCodes are the client errors the foundation's operations may answer, as botocore's
// ECS model names them, plus the protocol's SerializationException.
var ecsErrorCodes = []any{"ClientException", "InvalidParameterException", "ClusterNotFoundException", "ResourceNotFoundException",
	"ClusterContainsServicesException", "ClusterContainsTasksException", "LimitExceededException", "SerializationException",
	"UpdateInProgressException", "ResourceInUseException"}

// mutateMember decodes body, replaces one member's value (found by a random walk) with an odd
// value or drops it, and encodes the result. A body that is not JSON comes back unchanged.
func mutateMember(rng *rand.Rand, body []byte) []byte {
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return body
	}
	doc = mutateValue(rng, doc, 0)
	out, err := json.Marshal(doc)
	if err != nil {
		return body
	}
	return out
}

func mutateValue(rng *rand.Rand, v any, depth int) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) > 0 && (depth == 0 || rng.IntN(4) != 0) {
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			k := keys[rng.IntN(len(keys))]
			if rng.IntN(8) == 0 {
				delete(x, k)
			} else {
				x[k] = mutateValue(rng, x[k], depth+1)
			}
			return x
		}
	case []any:
		if len(x) > 0 && rng.IntN(4) != 0 {
			i := rng.IntN(len(x))
			switch rng.IntN(6) {
			case 0:
				return append(x, x[i]) // a duplicate entry
			case 1:
				return slices.Delete(x, i, i+1)
			}
			x[i] = mutateValue(rng, x[i], depth+1)
			return x
		}
	}
	return oddValues[rng.IntN(len(oddValues))]
}

func flipByte(rng *rand.Rand, b []byte) []byte {
	if len(b) == 0 {
		return []byte("{")
	}
	out := slices.Clone(b)
	i := rng.IntN(len(out))
	switch rng.IntN(3) {
	case 0:
		out[i] ^= byte(1 + rng.IntN(255))
	case 1:
		out = out[:i]
	default:
		out = slices.Insert(out, i, `{}[]",:0`[rng.IntN(8)])
	}
	return out
}
