package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// vpcEnv is one server with clients for the VPC tests, and two task definitions: one that
// serves HTTP on 8080 and one that runs the shell script given as its command.
type vpcEnv struct {
	s       *Server
	ecs     *ecs.Client
	ec2     *ec2.Client
	cli     *awsCLI
	serveTD string
	shTD    string
}

func newVPCEnv(t *testing.T, dataDir string) *vpcEnv {
	t.Helper()
	s := startServer(t, dataDir)
	e := &vpcEnv{s: s, ecs: newSDK(t, s), ec2: newEC2(t, s), cli: newCLI(t, s)}
	appImage(t, s)
	e.serveTD = vpcRegister(t, e.ecs, "vpc-serve", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef),
		Command: []string{"serve", ":8080"}})
	e.shTD = vpcRegister(t, e.ecs, "vpc-sh", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef),
		EntryPoint: []string{"/bin/sh", "-c"}, Command: []string{"exit 3"}})
	return e
}

// reconnect points the clients at a restarted server.
func (e *vpcEnv) reconnect(t *testing.T, s *Server) {
	e.s, e.ecs, e.ec2, e.cli = s, newSDK(t, s), newEC2(t, s), newCLI(t, s)
}

func newEC2(t *testing.T, s *Server) *ec2.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(t.Context(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}))
	if err != nil {
		t.Fatalf("load SDK config: %v", err)
	}
	return ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = aws.String(s.URL) })
}

func vpcRegister(t *testing.T, client *ecs.Client, family string, c types.ContainerDefinition) string {
	t.Helper()
	out, err := client.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{c},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

// vpcNet is a VPC made for a test, with one subnet.
type vpcNet struct {
	vpc, subnet string
}

func (e *vpcEnv) createVPC(t *testing.T, cidr, subnetCIDR string) vpcNet {
	t.Helper()
	v, err := e.ec2.CreateVpc(t.Context(), &ec2.CreateVpcInput{CidrBlock: aws.String(cidr)})
	if err != nil {
		t.Fatalf("CreateVpc %s: %v", cidr, err)
	}
	n := vpcNet{vpc: aws.ToString(v.Vpc.VpcId)}
	n.subnet = e.createSubnet(t, n.vpc, subnetCIDR)
	return n
}

func (e *vpcEnv) createSubnet(t *testing.T, vpc, cidr string) string {
	t.Helper()
	s, err := e.ec2.CreateSubnet(t.Context(), &ec2.CreateSubnetInput{VpcId: aws.String(vpc), CidrBlock: aws.String(cidr),
		AvailabilityZone: aws.String("us-east-1a")})
	if err != nil {
		t.Fatalf("CreateSubnet %s: %v", cidr, err)
	}
	return aws.ToString(s.Subnet.SubnetId)
}

func (e *vpcEnv) createGroup(t *testing.T, vpc, name string) string {
	t.Helper()
	g, err := e.ec2.CreateSecurityGroup(t.Context(), &ec2.CreateSecurityGroupInput{VpcId: aws.String(vpc),
		GroupName: aws.String(name), Description: aws.String("e2e " + name)})
	if err != nil {
		t.Fatalf("CreateSecurityGroup %s: %v", name, err)
	}
	return aws.ToString(g.GroupId)
}

// tcpFromCIDR and tcpFromGroup are ingress permissions for one tcp port.
func tcpFromCIDR(port int32, cidr string) []ec2types.IpPermission {
	return []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
		IpRanges: []ec2types.IpRange{{CidrIp: aws.String(cidr)}}}}
}

func tcpFromGroup(port int32, group string) []ec2types.IpPermission {
	return []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
		UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(group)}}}}
}

func (e *vpcEnv) authorize(t *testing.T, group string, perms []ec2types.IpPermission) {
	t.Helper()
	if _, err := e.ec2.AuthorizeSecurityGroupIngress(t.Context(), &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(group), IpPermissions: perms}); err != nil {
		t.Fatalf("AuthorizeSecurityGroupIngress %s: %v", group, err)
	}
}

func (e *vpcEnv) revoke(t *testing.T, group string, perms []ec2types.IpPermission) {
	t.Helper()
	if _, err := e.ec2.RevokeSecurityGroupIngress(t.Context(), &ec2.RevokeSecurityGroupIngressInput{
		GroupId: aws.String(group), IpPermissions: perms}); err != nil {
		t.Fatalf("RevokeSecurityGroupIngress %s: %v", group, err)
	}
}

// run starts count tasks of td in subnet with groups (and an override command for the shell
// definition when script is not empty) and returns their ARNs.
func (e *vpcEnv) run(t *testing.T, td, subnet string, groups []string, script string, count int32) []string {
	t.Helper()
	in := &ecs.RunTaskInput{TaskDefinition: aws.String(td), LaunchType: types.LaunchTypeFargate, Count: aws.Int32(count),
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
			Subnets: []string{subnet}, SecurityGroups: groups}}}
	if script != "" {
		in.Overrides = &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("app"), Command: []string{script}}}}
	}
	out, err := e.ecs.RunTask(t.Context(), in)
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	if len(out.Failures) != 0 || len(out.Tasks) != int(count) {
		t.Fatalf("RunTask: %d tasks, failures %+v", len(out.Tasks), out.Failures)
	}
	arns := make([]string, len(out.Tasks))
	for i, task := range out.Tasks {
		arns[i] = aws.ToString(task.TaskArn)
	}
	return arns
}

// serve runs a serving task and returns its ARN and private IP once it runs.
func (e *vpcEnv) serve(t *testing.T, subnet string, groups ...string) (string, types.Task) {
	t.Helper()
	arn := e.run(t, e.serveTD, subnet, groups, "", 1)[0]
	in := &ecs.DescribeTasksInput{Tasks: []string{arn}}
	if err := ecs.NewTasksRunningWaiter(e.ecs, func(o *ecs.TasksRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = 200*time.Millisecond, time.Second
	}).Wait(t.Context(), in, 2*time.Minute); err != nil {
		t.Fatalf("wait serving task running: %v", err)
	}
	out, err := e.ecs.DescribeTasks(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	return arn, out.Tasks[0]
}

// exitOf runs script in a task in subnet with groups and returns its exit code.
func (e *vpcEnv) exitOf(t *testing.T, subnet string, groups []string, script string) int {
	t.Helper()
	task := waitStopped(t, e.ecs, e.run(t, e.shTD, subnet, groups, script, 1)[0])[0]
	c := task.Containers[0]
	if c.ExitCode == nil {
		t.Fatalf("task stopped without an exit code: %s %s", task.StopCode, aws.ToString(task.StoppedReason))
	}
	return int(aws.ToInt32(c.ExitCode))
}

func (e *vpcEnv) stop(t *testing.T, arns ...string) {
	t.Helper()
	for _, arn := range arns {
		if _, err := e.ecs.StopTask(t.Context(), &ecs.StopTaskInput{Task: aws.String(arn)}); err != nil {
			t.Fatalf("StopTask: %v", err)
		}
	}
	waitStopped(t, e.ecs, arns...)
}

// detail returns a detail of the task's ENI attachment ("privateIPv4Address", "networkInterfaceId" ...).
func detail(task types.Task, name string) string {
	for _, a := range task.Attachments {
		if aws.ToString(a.Type) != "ElasticNetworkInterface" {
			continue
		}
		for _, kv := range a.Details {
			if aws.ToString(kv.Name) == name {
				return aws.ToString(kv.Value)
			}
		}
	}
	return ""
}

// fetchScript is a busybox shell script that fetches url, trying up to attempts times, and
// exits 0 on the first success, else 1. Each try gives up after 2 s: Debian's static busybox
// wget has no -T (it crashes on it), and a connection a security group drops would otherwise
// wait for TCP's own timeout of minutes.
func fetchScript(url string, attempts int) string {
	return `try() { wget -q -O- "$1" & p=$!; i=0; while kill -0 $p 2>/dev/null; do i=$((i+1)); ` +
		`if [ $i -gt 20 ]; then kill $p; return 1; fi; sleep 0.1; done; wait $p; }; ` +
		fmt.Sprintf(`n=0; while [ $n -lt %d ]; do try %q && exit 0; n=$((n+1)); sleep 0.3; done; exit 1`, attempts, url)
}

// hostUplink returns the host's end of the VPC's uplink, from the data plane's state in the
// server's data dir: the address a task reaches the host at when its subnet may leave the VPC.
func hostUplink(t *testing.T, dataDir, vpc string) netip.Addr {
	t.Helper()
	var rec struct {
		HostLink string `json:"host_link"`
	}
	b, err := os.ReadFile(filepath.Join(dataDir, "run", "net", "vpcs", vpc+".json"))
	if err == nil {
		err = json.Unmarshal(b, &rec)
	}
	if err != nil {
		t.Fatalf("vpc %s state: %v", vpc, err)
	}
	ifc, err := net.InterfaceByName(rec.HostLink)
	if err != nil {
		t.Fatalf("vpc %s host link %s: %v", vpc, rec.HostLink, err)
	}
	addrs, _ := ifc.Addrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			ip, _ := netip.AddrFromSlice(n.IP.To4())
			return ip
		}
	}
	t.Fatalf("vpc %s host link %s has no IPv4 address", vpc, rec.HostLink)
	return netip.Addr{}
}

// hostServer serves HTTP on all of the host's addresses, on a free port, until the test ends;
// tasks reach it only through their VPC's uplink.
func hostServer(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "host") })}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// inRouter runs a command inside the VPC's router namespace and returns its output.
func inRouter(t *testing.T, dataDir, vpc string, args ...string) string {
	t.Helper()
	ns := filepath.Join(dataDir, "run", "net", "netns", "vpc", vpc)
	out, err := exec.Command("nsenter", append([]string{"--net=" + ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("in vpc %s router: %s: %v\n%s", vpc, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// cliVPC creates a VPC with the aws CLI and returns its id.
func (e *vpcEnv) cliVPC(t *testing.T, cidr string) string {
	t.Helper()
	var out struct {
		Vpc struct {
			VpcID string `json:"VpcId"`
		}
	}
	e.cli.json(&out, "ec2", "create-vpc", "--cidr-block", cidr)
	return out.Vpc.VpcID
}

// cliSubnet creates a subnet of vpc in us-east-1a with the aws CLI and returns its id.
func (e *vpcEnv) cliSubnet(t *testing.T, vpc, cidr string) string {
	t.Helper()
	var out struct {
		Subnet struct {
			SubnetID string `json:"SubnetId"`
		}
	}
	e.cli.json(&out, "ec2", "create-subnet", "--vpc-id", vpc, "--cidr-block", cidr, "--availability-zone", "us-east-1a")
	return out.Subnet.SubnetID
}

// cliAttachedIGW creates an internet gateway with the aws CLI, attaches it to vpc and returns
// its id.
func (e *vpcEnv) cliAttachedIGW(t *testing.T, vpc string) string {
	t.Helper()
	var out struct {
		InternetGateway struct {
			InternetGatewayID string `json:"InternetGatewayId"`
		}
	}
	e.cli.json(&out, "ec2", "create-internet-gateway")
	id := out.InternetGateway.InternetGatewayID
	e.cli.json(nil, "ec2", "attach-internet-gateway", "--internet-gateway-id", id, "--vpc-id", vpc)
	return id
}

// cliRouteTable creates a route table in vpc with the aws CLI and returns its id.
func (e *vpcEnv) cliRouteTable(t *testing.T, vpc string) string {
	t.Helper()
	var out struct {
		RouteTable struct {
			RouteTableID string `json:"RouteTableId"`
		}
	}
	e.cli.json(&out, "ec2", "create-route-table", "--vpc-id", vpc)
	return out.RouteTable.RouteTableID
}
