package ec2_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/api/ec2"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

// newEC2API serves the EC2 service over a fresh store and returns its URL.
func newEC2API(t *testing.T) string {
	t.Helper()
	cli, prefix := testutil.Etcd(t)
	srv := httptest.NewServer(api.New(logx.Discard(), ec2.Service(ops.NewEC2(store.New(cli, prefix), logx.Discard()))))
	t.Cleanup(srv.Close)
	return srv.URL
}

// call posts an EC2 query form, unsigned, routed by Version, and returns the status and body.
func call(t *testing.T, base, action string, params ...string) (int, string) {
	t.Helper()
	form := url.Values{"Action": {action}, "Version": {ec2.APIVersion}}
	for i := 0; i+1 < len(params); i += 2 {
		form.Add(params[i], params[i+1])
	}
	resp, err := http.PostForm(base, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// first returns the text of the first <name> element of body.
func first(body, name string) string {
	m := regexp.MustCompile("<" + name + ">([^<]*)</" + name + ">").FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestHandlersXML(t *testing.T) {
	base := newEC2API(t)
	code, body := call(t, base, "CreateVpc", "CidrBlock", "10.0.0.0/16",
		"TagSpecification.1.ResourceType", "vpc", "TagSpecification.1.Tag.1.Key", "Name", "TagSpecification.1.Tag.1.Value", "main")
	if code != 200 {
		t.Fatalf("CreateVpc: %d %s", code, body)
	}
	for _, want := range []string{`<CreateVpcResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">`, "<requestId>",
		"<vpc><vpcId>vpc-", "<state>available</state>", "<cidrBlock>10.0.0.0/16</cidrBlock>", "<instanceTenancy>default</instanceTenancy>",
		"<isDefault>false</isDefault>", "<cidrBlockAssociationSet><item><associationId>vpc-cidr-assoc-", "<dhcpOptionsId>dopt-",
		"<tagSet><item><key>Name</key><value>main</value></item></tagSet>"} {
		if !strings.Contains(body, want) {
			t.Errorf("CreateVpc answer lacks %s:\n%s", want, body)
		}
	}
	vpc := first(body, "vpcId")
	if !regexp.MustCompile(`^vpc-[0-9a-f]{17}$`).MatchString(vpc) {
		t.Errorf("vpc id %q", vpc)
	}

	tests := []struct {
		name     string
		action   string
		params   []string
		status   int
		contains []string
	}{
		{"describe by tag", "DescribeVpcs", []string{"Filter.1.Name", "tag:Name", "Filter.1.Value.1", "main"}, 200,
			[]string{"<vpcSet><item><vpcId>" + vpc + "</vpcId>"}},
		{"default vpc", "DescribeVpcs", []string{"Filter.1.Name", "is-default", "Filter.1.Value.1", "true"}, 200,
			[]string{"<cidrBlock>172.31.0.0/16</cidrBlock>", "<isDefault>true</isDefault>"}},
		{"unknown filter", "DescribeVpcs", []string{"Filter.1.Name", "bogus", "Filter.1.Value.1", "x"}, 400,
			[]string{"<Response><Errors><Error><Code>InvalidParameterValue</Code><Message>The filter &#39;bogus&#39; is invalid</Message>", "<RequestID>"}},
		{"vpc not found", "DescribeVpcs", []string{"VpcId.1", "vpc-0123456789abcdef0"}, 400,
			[]string{"<Code>InvalidVpcID.NotFound</Code>", "The vpc ID &#39;vpc-0123456789abcdef0&#39; does not exist"}},
		{"vpc too big", "CreateVpc", []string{"CidrBlock", "10.0.0.0/8"}, 400, []string{"<Code>InvalidVpc.Range</Code>"}},
		{"subnet", "CreateSubnet", []string{"VpcId", vpc, "CidrBlock", "10.0.1.0/24", "AvailabilityZone", "us-east-1b"}, 200,
			[]string{"<subnet><subnetId>subnet-", "<availableIpAddressCount>251</availableIpAddressCount>", "<availabilityZone>us-east-1b</availabilityZone>",
				"<availabilityZoneId>use1-az2</availabilityZoneId>", "<defaultForAz>false</defaultForAz>"}},
		{"subnet conflict", "CreateSubnet", []string{"VpcId", vpc, "CidrBlock", "10.0.1.128/25"}, 400,
			[]string{"<Code>InvalidSubnet.Conflict</Code>", "The CIDR &#39;10.0.1.128/25&#39; conflicts with another subnet"}},
		{"subnet range", "CreateSubnet", []string{"VpcId", vpc, "CidrBlock", "10.1.0.0/24"}, 400, []string{"<Code>InvalidSubnet.Range</Code>"}},
		{"missing vpc id", "CreateSubnet", []string{"CidrBlock", "10.0.2.0/24"}, 400, []string{"<Code>MissingParameter</Code>"}},
		{"attribute", "DescribeVpcAttribute", []string{"VpcId", vpc, "Attribute", "enableDnsSupport"}, 200,
			[]string{"<vpcId>" + vpc + "</vpcId><enableDnsSupport><value>true</value></enableDnsSupport>"}},
		{"zones", "DescribeAvailabilityZones", nil, 200,
			[]string{"<availabilityZoneInfo><item><zoneName>us-east-1a</zoneName><zoneId>use1-az1</zoneId><zoneState>available</zoneState>"}},
		{"account", "DescribeAccountAttributes", []string{"AttributeName.1", "supported-platforms"}, 200,
			[]string{"<accountAttributeSet><item><attributeName>supported-platforms</attributeName><attributeValueSet><item><attributeValue>VPC</attributeValue>"}},
		{"unknown action", "RunInstances", nil, 400, []string{"<Code>InvalidAction</Code>"}},
		{"malformed group", "DescribeSecurityGroups", []string{"GroupId.1", "bogus"}, 400,
			[]string{"<Code>InvalidGroupId.Malformed</Code>", "Invalid id: &#34;bogus&#34; (expecting &#34;sg-...&#34;)"}},
		{"default group", "DescribeSecurityGroups", []string{"Filter.1.Name", "vpc-id", "Filter.1.Value.1", vpc}, 200,
			[]string{"<groupName>default</groupName>", "<ipPermissions><item><ipProtocol>-1</ipProtocol><groups><item><groupId>sg-",
				"<ipPermissionsEgress><item><ipProtocol>-1</ipProtocol><groups></groups><ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges>"}},
		{"main route table", "DescribeRouteTables", []string{"Filter.1.Name", "vpc-id", "Filter.1.Value.1", vpc, "Filter.2.Name", "association.main", "Filter.2.Value.1", "true"}, 200,
			[]string{"<routeSet><item><destinationCidrBlock>10.0.0.0/16</destinationCidrBlock><gatewayId>local</gatewayId><origin>CreateRouteTable</origin><state>active</state>",
				"<associationSet><item><main>true</main>"}},
		{"delete vpc with subnet", "DeleteVpc", []string{"VpcId", vpc}, 400,
			[]string{"<Code>DependencyViolation</Code>", "has dependencies and cannot be deleted"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call(t, base, tc.action, tc.params...)
			if code != tc.status {
				t.Fatalf("status %d, want %d: %s", code, tc.status, body)
			}
			for _, want := range tc.contains {
				if !strings.Contains(body, want) {
					t.Errorf("answer lacks %s:\n%s", want, body)
				}
			}
		})
	}
}

func TestSecurityGroupRulesXML(t *testing.T) {
	base := newEC2API(t)
	_, body := call(t, base, "CreateSecurityGroup", "GroupName", "web", "GroupDescription", "web tier")
	sg := first(body, "groupId")
	if !strings.HasPrefix(sg, "sg-") || first(body, "return") != "true" {
		t.Fatalf("CreateSecurityGroup: %s", body)
	}
	perm := []string{"GroupId", sg, "IpPermissions.1.IpProtocol", "tcp", "IpPermissions.1.FromPort", "22",
		"IpPermissions.1.ToPort", "22", "IpPermissions.1.IpRanges.1.CidrIp", "10.0.0.0/8", "IpPermissions.1.IpRanges.1.Description", "ssh"}
	code, body := call(t, base, "AuthorizeSecurityGroupIngress", perm...)
	if code != 200 || !strings.Contains(body, "<return>true</return><securityGroupRuleSet><item><securityGroupRuleId>sgr-") ||
		!strings.Contains(body, "<isEgress>false</isEgress><ipProtocol>tcp</ipProtocol><fromPort>22</fromPort><toPort>22</toPort><cidrIpv4>10.0.0.0/8</cidrIpv4>") {
		t.Fatalf("authorize: %d %s", code, body)
	}
	code, body = call(t, base, "AuthorizeSecurityGroupIngress", perm...)
	if code != 400 || !strings.Contains(body, "<Code>InvalidPermission.Duplicate</Code>") ||
		!strings.Contains(body, "the specified rule &#34;peer: 10.0.0.0/8, TCP, from port: 22, to port: 22, ALLOW&#34; already exists") {
		t.Errorf("duplicate: %d %s", code, body)
	}
	code, body = call(t, base, "DeleteSecurityGroup", "GroupName", "default")
	if code != 400 || !strings.Contains(body, "<Code>CannotDelete</Code>") {
		t.Errorf("delete default: %d %s", code, body)
	}
	code, body = call(t, base, "RevokeSecurityGroupIngress", perm...)
	if code != 200 || first(body, "return") != "true" {
		t.Errorf("revoke: %d %s", code, body)
	}
	code, body = call(t, base, "RevokeSecurityGroupIngress", perm...)
	if code != 400 || !strings.Contains(body, "<Code>InvalidPermission.NotFound</Code>") {
		t.Errorf("revoke again: %d %s", code, body)
	}
	code, body = call(t, base, "DeleteSecurityGroup", "GroupId", sg)
	if code != 200 || first(body, "groupId") != sg {
		t.Errorf("delete: %d %s", code, body)
	}
}
