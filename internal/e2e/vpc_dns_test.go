package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// exitOfAssign runs script in a task in subnet with the VPC's default group and the given
// assignPublicIp, and returns its exit code.
func (e *vpcEnv) exitOfAssign(t *testing.T, subnet string, assign types.AssignPublicIp, script string) int {
	t.Helper()
	task := waitStopped(t, e.ecs, e.runAssign(t, subnet, assign, script))[0]
	c := task.Containers[0]
	if c.ExitCode == nil {
		t.Fatalf("task stopped without an exit code: %s %s", task.StopCode, aws.ToString(task.StoppedReason))
	}
	return int(aws.ToInt32(c.ExitCode))
}

// runAssign starts script in a task in subnet with the VPC's default group and the given
// assignPublicIp, and returns its ARN.
func (e *vpcEnv) runAssign(t *testing.T, subnet string, assign types.AssignPublicIp, script string) string {
	t.Helper()
	out, err := e.ecs.RunTask(t.Context(), &ecs.RunTaskInput{TaskDefinition: aws.String(e.shTD), LaunchType: types.LaunchTypeFargate,
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
			Subnets: []string{subnet}, AssignPublicIp: assign}},
		Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("app"), Command: []string{script}}}}})
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	if len(out.Failures) != 0 || len(out.Tasks) != 1 {
		t.Fatalf("RunTask: %d tasks, failures %+v", len(out.Tasks), out.Failures)
	}
	return aws.ToString(out.Tasks[0].TaskArn)
}

// defaultSubnet returns the default VPC and its default subnet in us-east-1a.
func (e *vpcEnv) defaultSubnet(t *testing.T) (vpc, subnet string) {
	t.Helper()
	vpcs, err := e.ec2.DescribeVpcs(t.Context(), &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{
		{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if err != nil || len(vpcs.Vpcs) != 1 {
		t.Fatalf("default vpc: %+v, %v", vpcs, err)
	}
	subnets, err := e.ec2.DescribeSubnets(t.Context(), &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{
		{Name: aws.String("default-for-az"), Values: []string{"true"}}, {Name: aws.String("availability-zone"), Values: []string{"us-east-1a"}}}})
	if err != nil || len(subnets.Subnets) != 1 {
		t.Fatalf("default subnet: %+v, %v", subnets, err)
	}
	return aws.ToString(vpcs.Vpcs[0].VpcId), aws.ToString(subnets.Subnets[0].SubnetId)
}

// TestVPCPublicIP: in the default VPC's public subnet (routed to an internet gateway) a task
// reaches the host-side server only with assignPublicIp ENABLED, as on AWS.
func TestVPCPublicIP(t *testing.T) {
	dir := t.TempDir()
	e := newVPCEnv(t, dir)
	port := hostServer(t)
	vpc, public := e.defaultSubnet(t)
	// A task keeps the VPC's router up, so its uplink's address can be read.
	arn, _ := e.serve(t, public)
	url := fmt.Sprintf("http://%s:%d/", hostUplink(t, dir, vpc), port)
	if got := e.exitOfAssign(t, public, types.AssignPublicIpEnabled, fetchScript(url, 5)); got != 0 {
		t.Fatalf("public subnet, assignPublicIp ENABLED: exit %d, want 0 (reaching %s)", got, url)
	}
	if got := e.exitOfAssign(t, public, types.AssignPublicIpDisabled, fetchScript(url, 2)); got != 1 {
		t.Fatalf("public subnet, assignPublicIp DISABLED: exit %d, want 1 (no way out without a public IP)", got)
	}
	e.stop(t, arn)
}

// dnsScript checks, inside a task, that /etc/resolv.conf names the VPC's resolver (exit 5
// if not), that busybox nslookup of the task's own private DNS name (built from eth0's
// address) answers that address (exit 2 if the lookup fails, 3 if the address differs), and
// that a name the resolver forwards comes back, answered or failed, within 5 s (exit 4 if not).
func dnsScript(resolver, zone string) string {
	return fmt.Sprintf(`grep -q '^nameserver %s$' /etc/resolv.conf && grep -q '^search %s$' /etc/resolv.conf || { cat /etc/resolv.conf; exit 5; }; `, resolver, zone) +
		`me=$(ip -4 -o addr show dev eth0 | sed 's/.* inet \([0-9.]*\).*/\1/'); ` +
		fmt.Sprintf(`name=ip-$(echo "$me" | tr . -).%s; `, zone) +
		`out=$(nslookup "$name" 2>&1) || { echo "$out"; exit 2; }; ` +
		`echo "$out" | grep -q "Address:* *$me\$" || { echo "$out"; exit 3; }; ` +
		`s=$(date +%s); nslookup example.com >/dev/null 2>&1; d=$(( $(date +%s) - s )); echo "forwarded lookup took ${d}s"; ` +
		`[ "$d" -lt 5 ] || exit 4; exit 0`
}

// TestVPCDNS: a task resolves its own private DNS name through the VPC's resolver at the
// VPC's base + 2, which its resolv.conf names, and a name the resolver forwards (there is no
// internet here) comes back quickly instead of hanging.
func TestVPCDNS(t *testing.T) {
	e := newVPCEnv(t, "")
	a := e.createVPC(t, "10.1.0.0/16", "10.1.1.0/24")
	start := time.Now()
	if got := e.exitOfAssign(t, a.subnet, types.AssignPublicIpDisabled, dnsScript("10.1.0.2", "ec2.internal")); got != 0 {
		t.Fatalf("dns in vpc 10.1.0.0/16: exit %d, want 0 (5: resolv.conf, 2: lookup failed, 3: wrong address, 4: slow forward)", got)
	}
	t.Logf("dns task in %s", time.Since(start))
	_, def := e.defaultSubnet(t)
	if got := e.exitOfAssign(t, def, types.AssignPublicIpEnabled, dnsScript("172.31.0.2", "ec2.internal")); got != 0 {
		t.Fatalf("dns in the default vpc: exit %d, want 0 (5: resolv.conf, 2: lookup failed, 3: wrong address, 4: slow forward)", got)
	}
}
