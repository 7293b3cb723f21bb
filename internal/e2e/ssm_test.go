package e2e

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

type cliParameter struct {
	Name, Type, Value, ARN, DataType, Selector string
	Version                                    int64
	Labels                                     []string
}

// TestSSMParametersCLI drives Parameter Store through the aws CLI: types, versions, labels,
// selectors, paths, history, tags and AWS's errors.
func TestSSMParametersCLI(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	cli := newCLI(t, s)
	var put struct {
		Version int64
		Tier    string
	}
	cli.json(&put, "ssm", "put-parameter", "--name", "/app/db/host", "--value", "db.internal", "--type", "String", "--description", "host")
	if put.Version != 1 || put.Tier != "Standard" {
		t.Fatalf("put-parameter = %+v", put)
	}
	cli.json(nil, "ssm", "put-parameter", "--name", "/app/db/password", "--value", "pw-one", "--type", "SecureString")
	cli.json(nil, "ssm", "put-parameter", "--name", "/app/hosts", "--value", "a,b,c", "--type", "StringList")
	cli.json(nil, "ssm", "put-parameter", "--name", "/app/deep/er/x", "--value", "deep", "--type", "String")
	cli.json(nil, "ssm", "put-parameter", "--name", "flat", "--value", "flat-v", "--type", "String", "--tags", "Key=team,Value=web")
	cli.fail("ParameterAlreadyExists", "ssm", "put-parameter", "--name", "/app/db/password", "--value", "x", "--type", "SecureString")
	cli.json(&put, "ssm", "put-parameter", "--name", "/app/db/password", "--value", "pw-two", "--overwrite")
	if put.Version != 2 {
		t.Fatalf("overwrite version = %d", put.Version)
	}
	cli.fail("HierarchyTypeMismatchException", "ssm", "put-parameter", "--name", "/app/db/password", "--value", "x", "--type", "String", "--overwrite")
	cli.fail("ValidationException", "ssm", "put-parameter", "--name", "a/b", "--value", "x", "--type", "String")
	cli.fail("ValidationException", "ssm", "put-parameter", "--name", "/aws/x", "--value", "x", "--type", "String")
	cli.fail("ValidationException", "ssm", "put-parameter", "--name", "/n", "--value", "x")
	cli.fail("HierarchyLevelLimitExceededException", "ssm", "put-parameter", "--name", "/"+strings.Repeat("l/", 15)+"x", "--value", "x", "--type", "String")
	cli.fail("ParameterPatternMismatchException", "ssm", "put-parameter", "--name", "/num", "--value", "abc", "--type", "String", "--allowed-pattern", "^[0-9]+$")
	cli.fail("ValidationException", "ssm", "put-parameter", "--name", "/big", "--value", strings.Repeat("v", 4097), "--type", "String", "--tier", "Standard")

	var got struct{ Parameter cliParameter }
	cli.json(&got, "ssm", "get-parameter", "--name", "/app/db/password")
	if got.Parameter.Type != "SecureString" || got.Parameter.Value == "pw-two" || strings.Contains(got.Parameter.Value, "pw-") || got.Parameter.Version != 2 {
		t.Fatalf("get-parameter without decryption = %+v", got.Parameter)
	}
	cli.json(&got, "ssm", "get-parameter", "--name", "/app/db/password", "--with-decryption")
	if got.Parameter.Value != "pw-two" || got.Parameter.ARN != "arn:aws:ssm:us-east-1:000000000000:parameter/app/db/password" {
		t.Fatalf("get-parameter --with-decryption = %+v", got.Parameter)
	}
	cli.json(&got, "ssm", "get-parameter", "--name", "/app/db/password:1", "--with-decryption")
	if got.Parameter.Value != "pw-one" || got.Parameter.Selector != ":1" {
		t.Fatalf("name:1 = %+v", got.Parameter)
	}
	var label struct {
		InvalidLabels    []string
		ParameterVersion int64
	}
	cli.json(&label, "ssm", "label-parameter-version", "--name", "/app/db/password", "--parameter-version", "1", "--labels", "stable", "9bad")
	if label.ParameterVersion != 1 || !slices.Equal(label.InvalidLabels, []string{"9bad"}) {
		t.Fatalf("label-parameter-version = %+v", label)
	}
	cli.json(&got, "ssm", "get-parameter", "--name", "/app/db/password:stable", "--with-decryption")
	if got.Parameter.Value != "pw-one" {
		t.Fatalf("name:label = %+v", got.Parameter)
	}
	cli.fail("ParameterVersionNotFound", "ssm", "get-parameter", "--name", "/app/db/password:7")
	cli.fail("ParameterNotFound", "ssm", "get-parameter", "--name", "/app/none")

	var many struct {
		Parameters        []cliParameter
		InvalidParameters []string
	}
	cli.json(&many, "ssm", "get-parameters", "--names", "/app/hosts", "flat", "/nope")
	if len(many.Parameters) != 2 || many.Parameters[0].Value != "a,b,c" || !slices.Equal(many.InvalidParameters, []string{"/nope"}) {
		t.Fatalf("get-parameters = %+v", many)
	}
	pnames := func(ps []cliParameter) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Name)
		}
		return out
	}
	cli.json(&many, "ssm", "get-parameters-by-path", "--path", "/app")
	if !slices.Equal(pnames(many.Parameters), []string{"/app/hosts"}) {
		t.Fatalf("one level under /app = %v", pnames(many.Parameters))
	}
	// The CLI pages through every answer (MaxResults 1 forces four pages).
	cli.json(&many, "ssm", "get-parameters-by-path", "--path", "/app/", "--recursive", "--with-decryption", "--page-size", "1")
	if !slices.Equal(pnames(many.Parameters), []string{"/app/db/host", "/app/db/password", "/app/deep/er/x", "/app/hosts"}) || many.Parameters[1].Value != "pw-two" {
		t.Fatalf("recursive under /app = %+v", many.Parameters)
	}
	cli.json(&many, "ssm", "get-parameters-by-path", "--path", "/", "--recursive", "--parameter-filters", "Key=Type,Values=SecureString")
	if !slices.Equal(pnames(many.Parameters), []string{"/app/db/password"}) {
		t.Fatalf("SecureString filter = %v", pnames(many.Parameters))
	}
	cli.fail("InvalidFilterKey", "ssm", "get-parameters-by-path", "--path", "/", "--parameter-filters", "Key=Name,Values=x")
	var desc struct {
		Parameters []struct {
			Name, Type, Description, KeyId string
			Version                        int64
		}
	}
	cli.json(&desc, "ssm", "describe-parameters", "--parameter-filters", "Key=Name,Option=BeginsWith,Values=/app/db")
	if len(desc.Parameters) != 2 || desc.Parameters[0].Description != "host" || desc.Parameters[1].KeyId != "alias/aws/ssm" {
		t.Fatalf("describe-parameters = %+v", desc)
	}
	cli.json(&desc, "ssm", "describe-parameters", "--filters", "Key=Type,Values=StringList")
	if len(desc.Parameters) != 1 || desc.Parameters[0].Name != "/app/hosts" {
		t.Fatalf("describe-parameters --filters = %+v", desc)
	}
	cli.fail("InvalidFilterOption", "ssm", "describe-parameters", "--parameter-filters", "Key=Type,Option=Contains,Values=String")
	var hist struct{ Parameters []cliParameter }
	cli.json(&hist, "ssm", "get-parameter-history", "--name", "/app/db/password", "--with-decryption")
	if len(hist.Parameters) != 2 || hist.Parameters[0].Value != "pw-one" || !slices.Equal(hist.Parameters[0].Labels, []string{"stable"}) || hist.Parameters[1].Version != 2 {
		t.Fatalf("get-parameter-history = %+v", hist)
	}
	cli.json(nil, "ssm", "add-tags-to-resource", "--resource-type", "Parameter", "--resource-id", "flat", "--tags", "Key=env,Value=prod")
	var tags struct{ TagList []struct{ Key, Value string } }
	cli.json(&tags, "ssm", "list-tags-for-resource", "--resource-type", "Parameter", "--resource-id", "flat")
	if len(tags.TagList) != 2 {
		t.Fatalf("list-tags-for-resource = %+v", tags)
	}
	cli.json(nil, "ssm", "remove-tags-from-resource", "--resource-type", "Parameter", "--resource-id", "flat", "--tag-keys", "team")
	cli.fail("InvalidResourceId", "ssm", "add-tags-to-resource", "--resource-type", "Parameter", "--resource-id", "/none", "--tags", "Key=a,Value=b")
	cli.json(nil, "ssm", "delete-parameter", "--name", "flat")
	cli.fail("ParameterNotFound", "ssm", "delete-parameter", "--name", "flat")
	var deleted struct{ DeletedParameters, InvalidParameters []string }
	cli.json(&deleted, "ssm", "delete-parameters", "--names", "/app/hosts", "/nope")
	if !slices.Equal(deleted.DeletedParameters, []string{"/app/hosts"}) || !slices.Equal(deleted.InvalidParameters, []string{"/nope"}) {
		t.Fatalf("delete-parameters = %+v", deleted)
	}
}

// TestSSMParametersSDK drives Parameter Store through the Go SDK v2, with its paginators.
func TestSSMParametersSDK(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	c := newVaultClients(t, s).ssm
	ctx := t.Context()
	for i := range 12 {
		_, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/sdk/p" + string(rune('a'+i))), Value: aws.String("v"),
			Type: ssmtypes.ParameterTypeSecureString})
		if err != nil {
			t.Fatal(err)
		}
	}
	for v := range 3 {
		if _, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/sdk/pa"), Value: aws.String("v" + string(rune('1'+v))), Overwrite: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	pager := ssm.NewGetParametersByPathPaginator(c, &ssm.GetParametersByPathInput{Path: aws.String("/sdk"), WithDecryption: aws.Bool(true)})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Parameters)
	}
	if n != 12 {
		t.Fatalf("GetParametersByPath pages held %d parameters, want 12", n)
	}
	n = 0
	dp := ssm.NewDescribeParametersPaginator(c, &ssm.DescribeParametersInput{MaxResults: aws.Int32(5)})
	for dp.HasMorePages() {
		page, err := dp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Parameters)
	}
	if n != 12 {
		t.Fatalf("DescribeParameters pages held %d parameters, want 12", n)
	}
	h, err := c.GetParameterHistory(ctx, &ssm.GetParameterHistoryInput{Name: aws.String("/sdk/pa"), WithDecryption: aws.Bool(true)})
	if err != nil || len(h.Parameters) != 4 || aws.ToString(h.Parameters[3].Value) != "v3" || h.Parameters[3].Type != ssmtypes.ParameterTypeSecureString {
		t.Fatalf("GetParameterHistory = %+v, %v", h, err)
	}
	g, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/sdk/pa:2"), WithDecryption: aws.Bool(true)})
	if err != nil || aws.ToString(g.Parameter.Value) != "v1" {
		t.Fatalf("GetParameter /sdk/pa:2 = %+v, %v", g, err)
	}
	_, err = c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/sdk/none")})
	wantCode(t, "GetParameter missing", err, "ParameterNotFound")
	_, err = c.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/sdk"), NextToken: aws.String("bogus")})
	wantCode(t, "GetParametersByPath bad token", err, "InvalidNextToken")
	_, err = c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/sdk/pa"), Value: aws.String("x"), Type: ssmtypes.ParameterTypeString})
	wantCode(t, "PutParameter existing", err, "ParameterAlreadyExists")
	if _, err := c.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("/sdk/pa")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetParameterHistory(ctx, &ssm.GetParameterHistoryInput{Name: aws.String("/sdk/pa")})
	wantCode(t, "GetParameterHistory deleted", err, "ParameterNotFound")
}
