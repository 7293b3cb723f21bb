package policy

import (
	"testing"
)

// Examples from AWS's IAM User Guide (example policies, condition operators, policy
// evaluation logic), each with requests and the decision AWS documents.
func TestEvaluateDocExamples(t *testing.T) {
	type check struct {
		action, resource string
		ctx              map[string][]string
		want             Decision
	}
	tests := []struct {
		name   string
		doc    string
		checks []check
	}{
		{"allow all", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, []check{
			{"ecs:RunTask", "*", nil, Allowed},
			{"iam:CreateRole", "arn:aws:iam::123456789012:role/x", nil, Allowed},
		}},
		{"list but not create", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:List*","Resource":"*"}]}`, []check{
			{"ecs:ListClusters", "*", nil, Allowed},
			{"ecs:CreateCluster", "*", nil, ImplicitDeny},
		}},
		{"explicit deny wins", `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Action":"ecs:*","Resource":"*"},
			{"Effect":"Deny","Action":"ecs:DeleteCluster","Resource":"arn:aws:ecs:*:*:cluster/prod"}]}`, []check{
			{"ecs:DeleteCluster", "arn:aws:ecs:us-east-1:123456789012:cluster/prod", nil, ExplicitDeny},
			{"ecs:DeleteCluster", "arn:aws:ecs:us-east-1:123456789012:cluster/dev", nil, Allowed},
		}},
		{"NotAction allow everything but iam", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`, []check{
			{"ecs:RunTask", "*", nil, Allowed},
			{"iam:CreateUser", "*", nil, ImplicitDeny},
		}},
		{"NotResource deny outside bucket", `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Action":"s3:*","Resource":"*"},
			{"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::HRBucket/Payroll","arn:aws:s3:::HRBucket/Payroll/*"]}]}`, []check{
			{"s3:GetObject", "arn:aws:s3:::HRBucket/Payroll/jan.csv", nil, Allowed},
			{"s3:GetObject", "arn:aws:s3:::Other/x", nil, ExplicitDeny},
		}},
		{"username variable", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::bucket/home/${aws:username}/*"}}`, []check{
			{"s3:GetObject", "arn:aws:s3:::bucket/home/alice/f", map[string][]string{"aws:username": {"alice"}}, Allowed},
			{"s3:GetObject", "arn:aws:s3:::bucket/home/bob/f", map[string][]string{"aws:username": {"alice"}}, ImplicitDeny},
			{"s3:GetObject", "arn:aws:s3:::bucket/home/alice/f", nil, ImplicitDeny},
		}},
		{"variables are literal in 2008", `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}"}}`, []check{
			{"s3:GetObject", "arn:aws:s3:::b/${aws:username}", map[string][]string{"aws:username": {"alice"}}, Allowed},
			{"s3:GetObject", "arn:aws:s3:::b/alice", map[string][]string{"aws:username": {"alice"}}, ImplicitDeny},
		}},
		{"source ip", `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Action":"*","Resource":"*"},
			{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]}}}]}`, []check{
			{"ec2:RunInstances", "*", map[string][]string{"aws:SourceIp": {"192.0.2.7"}}, Allowed},
			{"ec2:RunInstances", "*", map[string][]string{"aws:SourceIp": {"10.0.0.1"}}, ExplicitDeny},
			// NotIpAddress holds when the key is missing: the deny applies.
			{"ec2:RunInstances", "*", nil, ExplicitDeny},
		}},
		{"time window", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*","Condition":{
			"DateGreaterThan":{"aws:CurrentTime":"2020-04-01T00:00:00Z"},"DateLessThan":{"aws:CurrentTime":"2020-06-30T23:59:59Z"}}}}`, []check{
			{"ec2:StartInstances", "*", map[string][]string{"aws:CurrentTime": {"2020-05-01T12:00:00Z"}}, Allowed},
			{"ec2:StartInstances", "*", map[string][]string{"aws:CurrentTime": {"2020-07-01T00:00:00Z"}}, ImplicitDeny},
			{"ec2:StartInstances", "*", map[string][]string{"aws:CurrentTime": {"1588334400"}}, Allowed}, // epoch seconds
		}},
		{"secure transport bool", `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}}`, []check{
			{"s3:GetObject", "*", map[string][]string{"aws:SecureTransport": {"false"}}, ExplicitDeny},
			{"s3:GetObject", "*", map[string][]string{"aws:SecureTransport": {"true"}}, ImplicitDeny},
		}},
		{"numeric", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"NumericLessThanEquals":{"s3:max-keys":"10"}}}}`, []check{
			{"s3:ListBucket", "*", map[string][]string{"s3:max-keys": {"10"}}, Allowed},
			{"s3:ListBucket", "*", map[string][]string{"s3:max-keys": {"11"}}, ImplicitDeny},
			{"s3:ListBucket", "*", map[string][]string{"s3:max-keys": {"ten"}}, ImplicitDeny},
		}},
		{"string like and ignore case, keys without case", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{
			"StringLike":{"aws:PrincipalTag/team":"plat*"},"StringEqualsIgnoreCase":{"AWS:RequestedRegion":"US-EAST-1"}}}}`, []check{
			{"ecs:RunTask", "*", map[string][]string{"aws:principaltag/team": {"platform"}, "aws:requestedregion": {"us-east-1"}}, Allowed},
			{"ecs:RunTask", "*", map[string][]string{"aws:principaltag/team": {"data"}, "aws:requestedregion": {"us-east-1"}}, ImplicitDeny},
		}},
		{"IfExists", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:RunInstances","Resource":"*","Condition":{"StringLikeIfExists":{"ec2:InstanceType":["t1.*","t2.*"]}}}}`, []check{
			{"ec2:RunInstances", "*", map[string][]string{"ec2:InstanceType": {"t2.micro"}}, Allowed},
			{"ec2:RunInstances", "*", map[string][]string{"ec2:InstanceType": {"m5.large"}}, ImplicitDeny},
			{"ec2:RunInstances", "*", nil, Allowed},
		}},
		{"Null", `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Null":{"aws:TokenIssueTime":"true"}}}}`, []check{
			{"s3:GetObject", "*", nil, ExplicitDeny},
			{"s3:GetObject", "*", map[string][]string{"aws:TokenIssueTime": {"2020-01-01T00:00:00Z"}}, ImplicitDeny},
		}},
		{"ForAllValues", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"*","Condition":{"ForAllValues:StringEquals":{"dynamodb:Attributes":["ID","Message","Tags"]}}}}`, []check{
			{"dynamodb:GetItem", "*", map[string][]string{"dynamodb:Attributes": {"ID", "Message"}}, Allowed},
			{"dynamodb:GetItem", "*", map[string][]string{"dynamodb:Attributes": {"ID", "Secret"}}, ImplicitDeny},
			{"dynamodb:GetItem", "*", nil, Allowed}, // vacuously true, as AWS warns
		}},
		{"ForAnyValue", `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":["secret","private"]}}}}`, []check{
			{"ecs:TagResource", "*", map[string][]string{"aws:TagKeys": {"env", "private"}}, ExplicitDeny},
			{"ecs:TagResource", "*", map[string][]string{"aws:TagKeys": {"env"}}, ImplicitDeny},
			{"ecs:TagResource", "*", nil, ImplicitDeny},
		}},
		{"StringNotEquals multivalued", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:PrincipalAccount":["111111111111","222222222222"]}}}}`, []check{
			{"s3:GetObject", "*", map[string][]string{"aws:PrincipalAccount": {"333333333333"}}, Allowed},
			{"s3:GetObject", "*", map[string][]string{"aws:PrincipalAccount": {"111111111111"}}, ImplicitDeny},
		}},
		{"ArnLike", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sns:Publish","Resource":"*","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::my-*"}}}}`, []check{
			{"sns:Publish", "*", map[string][]string{"aws:SourceArn": {"arn:aws:s3:::my-bucket"}}, Allowed},
			{"sns:Publish", "*", map[string][]string{"aws:SourceArn": {"arn:aws:s3:::other"}}, ImplicitDeny},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, tt.doc, Identity)
			for _, c := range tt.checks {
				got := Evaluate(Request{Action: c.action, Resource: c.resource, Context: c.ctx}, p)
				if got != c.want {
					t.Errorf("%s on %s with %v: %v, want %v", c.action, c.resource, c.ctx, got, c.want)
				}
			}
		})
	}
}

func TestEvaluateTrust(t *testing.T) {
	ecsTasks := mustParse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`, Trust)
	account := mustParse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]}`, Trust)
	user := mustParse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::000000000000:user/alice"]},"Action":"sts:AssumeRole"}]}`, Trust)
	anyone := mustParse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}`, Trust)
	svc := &Principal{Type: "Service", IDs: []string{"ecs-tasks.amazonaws.com"}}
	alice := &Principal{Type: "AWS", IDs: []string{"arn:aws:iam::000000000000:user/alice"}, Account: "000000000000"}
	bob := &Principal{Type: "AWS", IDs: []string{"arn:aws:iam::000000000000:user/bob"}, Account: "000000000000"}
	stranger := &Principal{Type: "AWS", IDs: []string{"arn:aws:iam::999999999999:user/alice"}, Account: "999999999999"}
	tests := []struct {
		name string
		p    *Policy
		who  *Principal
		want Decision
	}{
		{"service allowed", ecsTasks, svc, Allowed},
		{"user not the service", ecsTasks, alice, ImplicitDeny},
		{"account root names its users", account, bob, Allowed},
		{"other account", account, stranger, ImplicitDeny},
		{"named user", user, alice, Allowed},
		{"other user", user, bob, ImplicitDeny},
		{"anyone", anyone, stranger, Allowed},
		{"no principal", user, nil, ImplicitDeny},
	}
	for _, tt := range tests {
		got := Evaluate(Request{Action: "sts:AssumeRole", Resource: "arn:aws:iam::000000000000:role/r", Principal: tt.who}, tt.p)
		if got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	// A trust policy allows only the action it names.
	if got := Evaluate(Request{Action: "sts:TagSession", Principal: svc}, ecsTasks); got != ImplicitDeny {
		t.Errorf("other action: %v, want ImplicitDeny", got)
	}
}

// BenchmarkEvaluate measures one decision against a typical user's policies: three policies,
// eight statements, a condition and a policy variable.
func BenchmarkEvaluate(b *testing.B) {
	docs := []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:List*","ecs:Describe*"],"Resource":"*"},
			{"Effect":"Allow","Action":"ecs:RunTask","Resource":"arn:aws:ecs:*:*:task-definition/app*"}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ecs:DeleteCluster","Resource":"*"},
			{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"},
			{"Effect":"Deny","NotAction":["ecs:*","s3:*","logs:*"],"Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:GetAuthorizationToken","ecr:BatchGetImage","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"},
			{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:*:*:secret:app/*"},
			{"Effect":"Allow","Action":"ecs:CreateCluster","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}]}`,
	}
	var ps []*Policy
	for _, d := range docs {
		p, err := Parse(d, Identity)
		if err != nil {
			b.Fatal(err)
		}
		ps = append(ps, p)
	}
	req := Request{Action: "ecs:CreateCluster", Resource: "arn:aws:ecs:us-east-1:000000000000:cluster/x",
		Context: map[string][]string{"aws:username": {"alice"}, "aws:SourceIp": {"10.1.2.3"}, "aws:RequestedRegion": {"us-east-1"}}}
	for b.Loop() {
		if Evaluate(req, ps...) != Allowed {
			b.Fatal("not allowed")
		}
	}
}

// BenchmarkParse measures parsing one policy document, which Authorize does per policy.
func BenchmarkParse(b *testing.B) {
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:List*","ecs:Describe*"],"Resource":"*"},
		{"Effect":"Deny","NotAction":["ecs:*","s3:*"],"Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`
	for b.Loop() {
		if _, err := Parse(doc, Identity); err != nil {
			b.Fatal(err)
		}
	}
}
