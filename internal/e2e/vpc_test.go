package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestVPCSecurityGroups is the reachability matrix between real tasks in a real VPC: allowed by
// a CIDR rule, by a group reference, denied with no rule, a revoked rule cutting new
// connections, the address DescribeTasks shows being the one reached (return traffic implied by
// every success), the task's ENI in DescribeNetworkInterfaces while it runs and not after, and
// two VPCs with the same CIDR isolated even with rules that allow everything.
func TestVPCSecurityGroups(t *testing.T) {
	e := newVPCEnv(t, "")
	a := e.createVPC(t, "10.1.0.0/16", "10.1.1.0/24")
	web, client, other := e.createGroup(t, a.vpc, "web"), e.createGroup(t, a.vpc, "client"), e.createGroup(t, a.vpc, "other")
	byCIDR := tcpFromCIDR(8080, "10.1.1.0/24")
	e.authorize(t, web, byCIDR)

	arn, task := e.serve(t, a.subnet, web)
	ip := detail(task, "privateIPv4Address")
	if ip == "" || !strings.HasPrefix(ip, "10.1.1.") {
		t.Fatalf("serving task's attachment has private IP %q, want one in 10.1.1.0/24: %+v", ip, task.Attachments)
	}
	url := "http://" + ip + ":8080/health"
	check := func(name string, groups []string, attempts, want int) {
		t.Helper()
		if got := e.exitOf(t, a.subnet, groups, fetchScript(url, attempts)); got != want {
			t.Fatalf("%s: client exit %d, want %d", name, got, want)
		}
	}
	check("allowed by cidr rule", []string{client}, 5, 0)
	check("allowed by cidr rule, any group", []string{other}, 5, 0)

	e.revoke(t, web, byCIDR)
	e.authorize(t, web, tcpFromGroup(8080, client))
	time.Sleep(time.Second) // rule changes reach running tasks within a second
	check("allowed by group reference", []string{client}, 5, 0)
	check("denied: no rule allows the group", []string{other}, 1, 1)

	e.revoke(t, web, tcpFromGroup(8080, client))
	time.Sleep(time.Second)
	check("denied after the rule was revoked", []string{client}, 1, 1)

	eni := detail(task, "networkInterfaceId")
	var described struct {
		NetworkInterfaces []struct {
			NetworkInterfaceID string `json:"NetworkInterfaceId"`
			Status             string `json:"Status"`
			PrivateIPAddress   string `json:"PrivateIpAddress"`
			MacAddress         string `json:"MacAddress"`
			SubnetID           string `json:"SubnetId"`
			VpcID              string `json:"VpcId"`
			Groups             []struct {
				GroupID string `json:"GroupId"`
			} `json:"Groups"`
			Attachment *struct {
				Status string `json:"Status"`
			} `json:"Attachment"`
		} `json:"NetworkInterfaces"`
	}
	e.cli.json(&described, "ec2", "describe-network-interfaces", "--network-interface-ids", eni)
	if n := described.NetworkInterfaces; len(n) != 1 || n[0].Status != "in-use" || n[0].PrivateIPAddress != ip ||
		n[0].MacAddress != detail(task, "macAddress") || n[0].SubnetID != a.subnet || n[0].VpcID != a.vpc ||
		len(n[0].Groups) != 1 || n[0].Groups[0].GroupID != web || n[0].Attachment == nil || n[0].Attachment.Status != "attached" {
		t.Fatalf("describe-network-interfaces %s while the task runs: %+v", eni, described)
	}

	// An overlapping VPC: a client there, allowed everything, cannot reach the server here.
	b := e.createVPC(t, "10.1.0.0/16", "10.1.1.0/24")
	open := e.createGroup(t, b.vpc, "open")
	all := []ec2types.IpPermission{{IpProtocol: aws.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}
	e.authorize(t, open, all)
	e.authorize(t, web, all)
	time.Sleep(time.Second)
	if got := e.exitOf(t, b.subnet, []string{open}, fetchScript(url, 1)); got != 1 {
		t.Fatalf("client in an overlapping vpc reached the server: exit %d, want 1", got)
	}
	check("allowed by an all-traffic rule in its own vpc", []string{other}, 5, 0)
	// And the overlapping VPC's own network works: its client reaches a server of its own.
	arnB, taskB := e.serve(t, b.subnet, open)
	if got := e.exitOf(t, b.subnet, []string{open}, fetchScript("http://"+detail(taskB, "privateIPv4Address")+":8080/health", 5)); got != 0 {
		t.Fatalf("client in the overlapping vpc reaching its own server: exit %d, want 0", got)
	}
	e.stop(t, arnB)

	e.stop(t, arn)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		out, err := e.ec2.DescribeNetworkInterfaces(t.Context(), &ec2.DescribeNetworkInterfacesInput{
			Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{a.vpc}}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.NetworkInterfaces) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("network interfaces left in vpc %s after its tasks stopped: %+v", a.vpc, out.NetworkInterfaces)
		}
	}
}

// TestVPCEgress: a task with a public IP in a public subnet of the default VPC reaches a server
// on the host side (through its VPC's uplink, masqueraded); a task in a private subnet without a
// NAT gateway does not.
func TestVPCEgress(t *testing.T) {
	dir := t.TempDir()
	e := newVPCEnv(t, dir)
	port := hostServer(t)
	vpcs, err := e.ec2.DescribeVpcs(t.Context(), &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{
		{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if err != nil || len(vpcs.Vpcs) != 1 {
		t.Fatalf("default vpc: %+v, %v", vpcs, err)
	}
	vpc := aws.ToString(vpcs.Vpcs[0].VpcId)
	subnets, err := e.ec2.DescribeSubnets(t.Context(), &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{
		{Name: aws.String("default-for-az"), Values: []string{"true"}}, {Name: aws.String("availability-zone"), Values: []string{"us-east-1a"}}}})
	if err != nil || len(subnets.Subnets) != 1 {
		t.Fatalf("default subnet: %+v, %v", subnets, err)
	}
	public := aws.ToString(subnets.Subnets[0].SubnetId)

	// A task keeps the VPC's router up, so its uplink's address can be read.
	arn, served := e.serve(t, public)
	host := hostUplink(t, dir, vpc)
	url := fmt.Sprintf("http://%s:%d/", host, port)
	if got := e.exitOfAssign(t, public, "ENABLED", fetchScript(url, 5)); got != 0 {
		t.Fatalf("task with a public IP in a public subnet: exit %d, want 0 (reaching %s)", got, url)
	}

	private := e.createSubnet(t, vpc, "172.31.200.0/24")
	rt, err := e.ec2.CreateRouteTable(t.Context(), &ec2.CreateRouteTableInput{VpcId: aws.String(vpc)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.AssociateRouteTable(t.Context(), &ec2.AssociateRouteTableInput{
		RouteTableId: rt.RouteTable.RouteTableId, SubnetId: aws.String(private)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if got := e.exitOf(t, private, nil, fetchScript(url, 1)); got != 1 {
		t.Fatalf("task in a private subnet without nat: exit %d, want 1", got)
	}
	// Its network works inside the VPC (the default group allows its own members).
	inside := "http://" + detail(served, "privateIPv4Address") + ":8080/health"
	if got := e.exitOf(t, private, nil, fetchScript(inside, 5)); got != 0 {
		t.Fatalf("task in a private subnet reaching a task of its vpc: exit %d, want 0", got)
	}
	e.stop(t, arn)
}

// TestVPCChurnLeavesNothing starts and stops 200 tasks in a VPC beside a serving task, then
// checks that no veth, task namespace, route, interface record (the agent's and EC2's),
// nftables set element or IP allocation of a stopped task is left; a server restart after that
// keeps the serving task reachable, with its rules, from a task started after the restart.
func TestVPCChurnLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	e := newVPCEnv(t, dir)
	a := e.createVPC(t, "10.2.0.0/16", "10.2.0.0/24")
	web, client := e.createGroup(t, a.vpc, "web"), e.createGroup(t, a.vpc, "client")
	e.authorize(t, web, tcpFromGroup(8080, client))
	arn, task := e.serve(t, a.subnet, web)
	ip := detail(task, "privateIPv4Address")

	begin := time.Now()
	const churn = 200
	for range churn / 10 {
		waitStopped(t, e.ecs, e.run(t, e.shTD, a.subnet, []string{client}, "exit 0", 10)...)
	}
	t.Logf("%d task starts and stops in %v", churn, time.Since(begin))

	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		links := inRouter(t, dir, a.vpc, "ip", "-o", "link", "show")
		ruleset := inRouter(t, dir, a.vpc, "nft", "list", "ruleset")
		namespaces, _ := filepath.Glob(filepath.Join(dir, "run", "net", "netns", "eni", "*"))
		records, _ := filepath.Glob(filepath.Join(dir, "run", "agent", "enis", "*"))
		var leaks []string
		if n := strings.Count(links, ": eni"); n != 1 {
			leaks = append(leaks, fmt.Sprintf("%d task veths in the router, want 1:\n%s", n, links))
		}
		if len(namespaces) != 1 || len(records) != 1 {
			leaks = append(leaks, fmt.Sprintf("task namespaces %v, interface records %v; want one each", namespaces, records))
		}
		routes := inRouter(t, dir, a.vpc, "ip", "-4", "route", "show")
		// 10.2.0.1, the subnet's gateway on the router's lo, is the routes' source address.
		if hosts := slices.DeleteFunc(addressesIn(routes, "10.2."), func(a string) bool { return a == "10.2.0.1" }); len(hosts) != 1 || hosts[0] != ip {
			leaks = append(leaks, fmt.Sprintf("host routes in the router to %v, want only the serving task's %s:\n%s", hosts, ip, routes))
		}
		subnets, err := e.ec2.DescribeSubnets(t.Context(), &ec2.DescribeSubnetsInput{SubnetIds: []string{a.subnet}})
		if err != nil {
			t.Fatal(err)
		}
		if n := aws.ToInt32(subnets.Subnets[0].AvailableIpAddressCount); n != 250 {
			leaks = append(leaks, fmt.Sprintf("subnet %s has %d free addresses, want 250 (251 less the serving task's)", a.subnet, n))
		}
		enis, err := e.ec2.DescribeNetworkInterfaces(t.Context(), &ec2.DescribeNetworkInterfacesInput{
			Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{a.vpc}}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(enis.NetworkInterfaces) != 1 {
			leaks = append(leaks, fmt.Sprintf("%d network interfaces in the vpc, want 1", len(enis.NetworkInterfaces)))
		}
		// The VPC's resolver (base + 2) is in the rules for good: it is no task's address.
		addrs := slices.DeleteFunc(addressesIn(ruleset, "10.2."), func(a string) bool { return a == "10.2.0.2" })
		if len(addrs) != 0 && (len(addrs) != 1 || addrs[0] != ip) {
			leaks = append(leaks, fmt.Sprintf("nftables names %v, want only the serving task's %s:\n%s", addrs, ip, ruleset))
		}
		if len(leaks) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d tasks:\n%s", churn, strings.Join(leaks, "\n"))
		}
	}

	e.s.Kill()
	e.reconnect(t, startServer(t, dir, "--vpc-router-linger", "3s"))
	url := "http://" + ip + ":8080/health"
	if got := e.exitOf(t, a.subnet, []string{client}, fetchScript(url, 5)); got != 0 {
		t.Fatalf("after a server restart: client exit %d, want 0", got)
	}
	// The rules are still enforced, and a change made after the restart still applies.
	if got := e.exitOf(t, a.subnet, nil, fetchScript(url, 1)); got != 1 {
		t.Fatalf("after a server restart, a task of the vpc's default group: exit %d, want 1 (no rule allows it)", got)
	}
	e.revoke(t, web, tcpFromGroup(8080, client))
	time.Sleep(time.Second)
	if got := e.exitOf(t, a.subnet, []string{client}, fetchScript(url, 1)); got != 1 {
		t.Fatalf("after a server restart, a client whose rule was revoked: exit %d, want 1", got)
	}
	// The router lingers after the vpc's last task (--vpc-router-linger), then goes.
	e.stop(t, arn)
	router := filepath.Join(dir, "run", "net", "netns", "vpc", a.vpc)
	if _, err := os.Stat(router); err != nil {
		t.Errorf("the vpc's router did not linger after its last task: %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, err := os.Stat(router); !os.IsNotExist(err); _, err = os.Stat(router) {
		if time.Now().After(deadline) {
			t.Fatalf("the vpc's router outlived its linger: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var ipv4Pattern = regexp.MustCompile(`\d+\.\d+\.\d+\.\d+(/\d+)?`)

// addressesIn lists the distinct IPv4 addresses (not prefixes) starting with prefix in text.
func addressesIn(text, prefix string) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range ipv4Pattern.FindAllString(text, -1) {
		if strings.Contains(m, "/") || !strings.HasPrefix(m, prefix) || seen[m] {
			continue
		}
		seen[m] = true
		out = append(out, m)
	}
	return out
}
