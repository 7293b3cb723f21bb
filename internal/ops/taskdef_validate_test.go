package ops

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// fargateTD is the Fargate guide's example, valid as it stands.
func fargateTD() model.TaskDefinition {
	return model.TaskDefinition{
		Scope: model.Scope{Account: "000000000000", Region: "us-east-1"}, Family: "api-service",
		NetworkMode: "awsvpc", RequiresCompatibilities: []string{"FARGATE"}, CPU: "512", Memory: "1024",
		ContainerDefinitions: []model.ContainerDefinition{{
			Name: "api", Image: "123456789.dkr.ecr.us-east-1.amazonaws.com/api:latest",
			PortMappings: []model.PortMapping{{ContainerPort: new(8080), Protocol: "tcp"}},
			LogConfiguration: &model.LogConfiguration{LogDriver: "awslogs", Options: map[string]string{
				"awslogs-group": "/ecs/api", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "api"}},
		}},
	}
}

func ec2TD() model.TaskDefinition {
	td := fargateTD()
	td.RequiresCompatibilities, td.NetworkMode, td.CPU, td.Memory = nil, "bridge", "", ""
	td.ContainerDefinitions[0].Memory = new(256)
	return td
}

func sidecar(name string, mut func(*model.ContainerDefinition)) model.ContainerDefinition {
	c := model.ContainerDefinition{Name: name, Image: "busybox", Essential: new(false)}
	if mut != nil {
		mut(&c)
	}
	return c
}

func TestValidateTaskDefinitionRules(t *testing.T) {
	c0 := func(mut func(*model.ContainerDefinition)) func(*model.TaskDefinition) {
		return func(td *model.TaskDefinition) { mut(&td.ContainerDefinitions[0]) }
	}
	tests := []struct {
		name string
		base func() model.TaskDefinition
		mut  func(*model.TaskDefinition)
		tags []model.Tag
		kind apierr.Kind
		msg  string // substring of the message
	}{
		{name: "family required", mut: func(td *model.TaskDefinition) { td.Family = "" }, kind: apierr.Client, msg: "Family should not be null or empty"},
		{name: "family pattern", mut: func(td *model.TaskDefinition) { td.Family = "bad name" }, kind: apierr.Client, msg: "Invalid family name 'bad name'"},
		{name: "family length", mut: func(td *model.TaskDefinition) { td.Family = strings.Repeat("a", 256) }, kind: apierr.Client, msg: "Invalid family name"},
		{name: "network mode enum", mut: func(td *model.TaskDefinition) { td.NetworkMode = "nat" }, kind: apierr.InvalidParameter, msg: "Valid values are: bridge, host, awsvpc, none"},
		{name: "fargate needs awsvpc", mut: func(td *model.TaskDefinition) { td.NetworkMode = "bridge" }, kind: apierr.Client, msg: "Fargate only supports network mode ‘awsvpc’."},
		{name: "fargate needs awsvpc when absent", mut: func(td *model.TaskDefinition) { td.NetworkMode = "" }, kind: apierr.Client, msg: "awsvpc"},
		{name: "containers required", mut: func(td *model.TaskDefinition) { td.ContainerDefinitions = nil }, kind: apierr.Client, msg: "Container list cannot be empty."},
		{name: "at most 10 containers", mut: func(td *model.TaskDefinition) {
			for i := range 10 {
				td.ContainerDefinitions = append(td.ContainerDefinitions, sidecar("s"+string(rune('a'+i)), nil))
			}
		}, kind: apierr.Client, msg: "at most 10"},
		{name: "container name required", mut: c0(func(c *model.ContainerDefinition) { c.Name = "" }), kind: apierr.Client, msg: "Container.name should not be null or empty."},
		{name: "container name pattern", mut: c0(func(c *model.ContainerDefinition) { c.Name = "a.b" }), kind: apierr.Client, msg: "Container.name contains invalid characters"},
		{name: "container names unique", mut: func(td *model.TaskDefinition) {
			td.ContainerDefinitions = append(td.ContainerDefinitions, sidecar("api", nil))
		}, kind: apierr.Client, msg: "Duplicate container name 'api'"},
		{name: "image required", mut: c0(func(c *model.ContainerDefinition) { c.Image = "" }), kind: apierr.Client, msg: "Container.image should not be null or empty."},
		{name: "image at most 255", mut: c0(func(c *model.ContainerDefinition) { c.Image = strings.Repeat("i", 256) }), kind: apierr.Client, msg: "at most 255"},
		{name: "repository credentials parameter", mut: c0(func(c *model.ContainerDefinition) { c.RepositoryCredentials = &model.RepositoryCredentials{} }), kind: apierr.Client, msg: "credentialsParameter"},
		{name: "one essential container", mut: c0(func(c *model.ContainerDefinition) { c.Essential = new(false) }), kind: apierr.Client, msg: "doesn't have any essential container"},
		{name: "memory or reservation without task memory", base: ec2TD, mut: c0(func(c *model.ContainerDefinition) { c.Memory = nil }), kind: apierr.Client,
			msg: "Invalid setting for container 'api'. At least one of 'memory' or 'memoryReservation' must be specified."},
		{name: "reservation at most memory", base: ec2TD, mut: c0(func(c *model.ContainerDefinition) { c.MemoryReservation = new(512) }), kind: apierr.Client, msg: "'memoryReservation' (512 MiB) must be less than or equal to 'memory' (256 MiB)"},
		{name: "container memory at least 6", base: ec2TD, mut: c0(func(c *model.ContainerDefinition) { c.Memory = new(4) }), kind: apierr.Client, msg: "at least 6 MiB"},
		{name: "container memory within task memory", mut: c0(func(c *model.ContainerDefinition) { c.Memory = new(2048) }), kind: apierr.Client, msg: "cannot be greater than the task 'memory' (1024 MiB)"},
		{name: "container cpu sum within task cpu", mut: c0(func(c *model.ContainerDefinition) { c.CPU = 1024 }), kind: apierr.Client, msg: "The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'."},
		{name: "awsvpc host port equals container port", mut: c0(func(c *model.ContainerDefinition) { c.PortMappings[0].HostPort = new(80) }), kind: apierr.Client,
			msg: "When networkMode=awsvpc, the host ports and container ports in port mappings must match."},
		{name: "port protocol", mut: c0(func(c *model.ContainerDefinition) { c.PortMappings[0].Protocol = "sctp" }), kind: apierr.Client, msg: "must be one of: tcp, udp"},
		{name: "container port range", mut: c0(func(c *model.ContainerDefinition) { c.PortMappings[0].ContainerPort = new(70000) }), kind: apierr.Client, msg: "between 1 and 65535"},
		{name: "container port required", mut: c0(func(c *model.ContainerDefinition) { c.PortMappings[0].ContainerPort = nil }), kind: apierr.Client, msg: "'containerPort' or 'containerPortRange'"},
		{name: "duplicate container port and protocol", mut: c0(func(c *model.ContainerDefinition) {
			c.PortMappings = append(c.PortMappings, model.PortMapping{ContainerPort: new(8080)})
		}), kind: apierr.Client, msg: "Duplicate port mapping: containerPort 8080/tcp"},
		{name: "port names unique", mut: func(td *model.TaskDefinition) {
			td.ContainerDefinitions[0].PortMappings[0].Name = "web"
			td.ContainerDefinitions = append(td.ContainerDefinitions, sidecar("side", func(c *model.ContainerDefinition) {
				c.PortMappings = []model.PortMapping{{ContainerPort: new(9090), Name: "web"}}
			}))
		}, kind: apierr.Client, msg: "Port mapping name 'web' is used more than once"},
		{name: "port name pattern", mut: c0(func(c *model.ContainerDefinition) { c.PortMappings[0].Name = "-Web" }), kind: apierr.Client, msg: "up to 64 lowercase letters"},
		{name: "app protocol", mut: c0(func(c *model.ContainerDefinition) { c.PortMappings[0].AppProtocol = "tcp" }), kind: apierr.Client, msg: "must be one of: http, http2, grpc"},
		{name: "restart attempt period", mut: c0(func(c *model.ContainerDefinition) {
			c.RestartPolicy = &model.ContainerRestartPolicy{Enabled: new(true), RestartAttemptPeriod: new(10)}
		}), kind: apierr.Client, msg: "between 60 and 1800"},
		{name: "environment names non-empty", mut: c0(func(c *model.ContainerDefinition) { c.Environment = []model.KeyValuePair{{Value: new("x")}} }), kind: apierr.Client, msg: "Environment variable names must not be empty"},
		{name: "environment files type s3", mut: c0(func(c *model.ContainerDefinition) {
			c.EnvironmentFiles = []model.EnvironmentFile{{Value: "arn:aws:s3:::b/k", Type: "http"}}
		}), kind: apierr.Client, msg: "type' s3"},
		{name: "mount point volume exists", mut: c0(func(c *model.ContainerDefinition) {
			c.MountPoints = []model.MountPoint{{SourceVolume: "nope", ContainerPath: "/d"}}
		}), kind: apierr.Client, msg: "sourceVolume 'nope' does not match"},
		{name: "mount point container path", mut: func(td *model.TaskDefinition) {
			td.Volumes = []model.Volume{{Name: "data"}}
			td.ContainerDefinitions[0].MountPoints = []model.MountPoint{{SourceVolume: "data"}}
		}, kind: apierr.Client, msg: "needs a 'containerPath'"},
		{name: "volumesFrom source exists", mut: c0(func(c *model.ContainerDefinition) { c.VolumesFrom = []model.VolumeFrom{{SourceContainer: "ghost"}} }), kind: apierr.Client, msg: "sourceContainer 'ghost' is not defined"},
		{name: "fargate capabilities add only SYS_PTRACE", mut: c0(func(c *model.ContainerDefinition) {
			c.LinuxParameters = &model.LinuxParameters{Capabilities: &model.KernelCapabilities{Add: []string{"SYS_PTRACE", "NET_ADMIN"}}}
		}), kind: apierr.Client, msg: "capability 'NET_ADMIN'"},
		{name: "fargate devices", mut: c0(func(c *model.ContainerDefinition) {
			c.LinuxParameters = &model.LinuxParameters{Devices: []model.Device{{HostPath: "/dev/fuse"}}}
		}), kind: apierr.Client, msg: "do not support linuxParameters.devices"},
		{name: "fargate sharedMemorySize", mut: c0(func(c *model.ContainerDefinition) {
			c.LinuxParameters = &model.LinuxParameters{SharedMemorySize: new(64)}
		}), kind: apierr.Client, msg: "linuxParameters.sharedMemorySize"},
		{name: "fargate tmpfs", mut: c0(func(c *model.ContainerDefinition) {
			c.LinuxParameters = &model.LinuxParameters{Tmpfs: []model.Tmpfs{{ContainerPath: "/t", Size: 8}}}
		}), kind: apierr.Client, msg: "linuxParameters.tmpfs"},
		{name: "fargate maxSwap", mut: c0(func(c *model.ContainerDefinition) { c.LinuxParameters = &model.LinuxParameters{MaxSwap: new(0)} }), kind: apierr.Client, msg: "linuxParameters.maxSwap"},
		{name: "fargate swappiness", mut: c0(func(c *model.ContainerDefinition) { c.LinuxParameters = &model.LinuxParameters{Swappiness: new(10)} }), kind: apierr.Client, msg: "linuxParameters.swappiness"},
		{name: "secrets valueFrom", mut: c0(func(c *model.ContainerDefinition) { c.Secrets = []model.Secret{{Name: "DB"}} }), kind: apierr.Client, msg: "non-empty 'name' and 'valueFrom'"},
		{name: "dependsOn target exists", mut: c0(func(c *model.ContainerDefinition) {
			c.DependsOn = []model.ContainerDependency{{ContainerName: "db", Condition: "START"}}
		}), kind: apierr.Client, msg: "dependsOn container 'db' is not defined"},
		{name: "dependsOn not self", mut: c0(func(c *model.ContainerDefinition) {
			c.DependsOn = []model.ContainerDependency{{ContainerName: "api", Condition: "START"}}
		}), kind: apierr.Client, msg: "cannot depend on itself"},
		{name: "dependsOn condition enum", mut: withSidecarDep("RUNNING", nil), kind: apierr.Client, msg: "must be one of: START, COMPLETE, SUCCESS, HEALTHY"},
		{name: "dependsOn COMPLETE not on essential", mut: withSidecarDep("COMPLETE", func(c *model.ContainerDefinition) { c.Essential = nil }), kind: apierr.Client,
			msg: "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container"},
		{name: "dependsOn HEALTHY needs health check", mut: withSidecarDep("HEALTHY", nil), kind: apierr.Client, msg: "requires container 'init' to have a healthCheck"},
		{name: "dependsOn cycle", mut: func(td *model.TaskDefinition) {
			td.ContainerDefinitions[0].DependsOn = []model.ContainerDependency{{ContainerName: "a", Condition: "START"}}
			td.ContainerDefinitions = append(td.ContainerDefinitions,
				sidecar("a", func(c *model.ContainerDefinition) {
					c.DependsOn = []model.ContainerDependency{{ContainerName: "b", Condition: "START"}}
				}),
				sidecar("b", func(c *model.ContainerDefinition) {
					c.DependsOn = []model.ContainerDependency{{ContainerName: "a", Condition: "START"}}
				}))
		}, kind: apierr.Client, msg: "dependency cycle: a -> b -> a"},
		{name: "startTimeout range", mut: c0(func(c *model.ContainerDefinition) { c.StartTimeout = new(1) }), kind: apierr.Client, msg: "'startTimeout' is 1 and must be between 2 and 120"},
		{name: "ec2 stopTimeout not negative", base: ec2TD, mut: c0(func(c *model.ContainerDefinition) { c.StopTimeout = new(-1) }), kind: apierr.Client, msg: "'stopTimeout' is -1 and must be between 0 and"},
		{name: "fargate disableNetworking", mut: c0(func(c *model.ContainerDefinition) { c.DisableNetworking = new(true) }), kind: apierr.Client, msg: "do not support disableNetworking"},
		{name: "fargate nofile at most 1048576", mut: c0(func(c *model.ContainerDefinition) {
			c.Ulimits = []model.Ulimit{{Name: "nofile", SoftLimit: 1024, HardLimit: 2097152}}
		}), kind: apierr.Client, msg: "nofile ulimit can be at most 1048576"},
		{name: "ulimit not negative", base: ec2TD, mut: c0(func(c *model.ContainerDefinition) {
			c.Ulimits = []model.Ulimit{{Name: "core", SoftLimit: -1, HardLimit: 0}}
		}), kind: apierr.Client, msg: "must be 0 or more"},
		{name: "port range format", mut: withPortRange("9000:9010"), kind: apierr.Client, msg: "'containerPortRange' '9000:9010' must be two ports between 1 and 65535"},
		{name: "port range order", mut: withPortRange("9010-9000"), kind: apierr.Client, msg: "the first less than the last"},
		{name: "port range bounds", mut: withPortRange("65000-70000"), kind: apierr.Client, msg: "between 1 and 65535"},
		{name: "port range not with containerPort", mut: c0(func(c *model.ContainerDefinition) { c.PortMappings[0].ContainerPortRange = "9000-9010" }), kind: apierr.Client,
			msg: "either 'containerPort' or 'containerPortRange', not both"},
		{name: "port range without hostPort", mut: c0(func(c *model.ContainerDefinition) {
			c.PortMappings = append(c.PortMappings, model.PortMapping{ContainerPortRange: "9000-9010", HostPort: new(9000)})
		}), kind: apierr.Client, msg: "Leave 'hostPort' empty"},
		{name: "port range overlaps a port", mut: withPortRange("8000-8100"), kind: apierr.Client, msg: "Port mapping 8000-8100/tcp overlaps another port mapping"},
		{name: "port ranges overlap", mut: c0(func(c *model.ContainerDefinition) {
			c.PortMappings = append(c.PortMappings, model.PortMapping{ContainerPortRange: "9000-9010"}, model.PortMapping{ContainerPortRange: "9010-9020"})
		}), kind: apierr.Client, msg: "9010-9020/tcp overlaps"},
		{name: "port range needs bridge or awsvpc", base: ec2TD, mut: func(td *model.TaskDefinition) {
			td.NetworkMode = "host"
			td.ContainerDefinitions[0].PortMappings = []model.PortMapping{{ContainerPortRange: "9000-9010"}}
		}, kind: apierr.Client, msg: "needs networkMode bridge or awsvpc, not host"},
		{name: "at most 100 port ranges", mut: c0(func(c *model.ContainerDefinition) {
			for i := range 101 {
				c.PortMappings = append(c.PortMappings, model.PortMapping{ContainerPortRange: fmt.Sprintf("%d-%d", 10000+10*i, 10001+10*i)})
			}
		}), kind: apierr.Client, msg: "at most 100 port ranges"},
		{name: "host port range", base: ec2TD, mut: c0(func(c *model.ContainerDefinition) { c.PortMappings[0].HostPort = new(70000) }), kind: apierr.Client,
			msg: "'hostPort' 70000 must be between 0 and 65535"},
		{name: "fargate windows at least 1 vCPU", mut: func(td *model.TaskDefinition) {
			td.RuntimePlatform = &model.RuntimePlatform{OperatingSystemFamily: "WINDOWS_SERVER_2022_CORE"}
		}, kind: apierr.Client, msg: "Windows containers on Fargate need at least 1024 cpu units"},
		{name: "host mode host port equals container port", base: ec2TD, mut: func(td *model.TaskDefinition) {
			td.NetworkMode = "host"
			td.ContainerDefinitions[0].PortMappings[0].HostPort = new(80)
		}, kind: apierr.Client, msg: "When networkMode=host, the host ports and container ports in port mappings must match."},
		{name: "stopTimeout range", mut: c0(func(c *model.ContainerDefinition) { c.StopTimeout = new(121) }), kind: apierr.Client, msg: "'stopTimeout' is 121 and must be between 2 and 120"},
		{name: "versionConsistency enum", mut: c0(func(c *model.ContainerDefinition) { c.VersionConsistency = "on" }), kind: apierr.Client, msg: "enabled, disabled"},
		{name: "awsvpc hostname", mut: c0(func(c *model.ContainerDefinition) { c.Hostname = "h" }), kind: apierr.Client, msg: "hostname is not supported on container when networkMode=awsvpc."},
		{name: "fargate privileged", mut: c0(func(c *model.ContainerDefinition) { c.Privileged = new(true) }), kind: apierr.Client, msg: "do not support privileged"},
		{name: "fargate links", mut: c0(func(c *model.ContainerDefinition) { c.Links = []string{"db"} }), kind: apierr.Client, msg: "do not support links"},
		{name: "fargate dockerSecurityOptions", mut: c0(func(c *model.ContainerDefinition) { c.DockerSecurityOptions = []string{"no-new-privileges"} }), kind: apierr.Client, msg: "do not support dockerSecurityOptions"},
		{name: "fargate extraHosts", mut: c0(func(c *model.ContainerDefinition) {
			c.ExtraHosts = []model.HostEntry{{Hostname: "x", IPAddress: "10.0.0.1"}}
		}), kind: apierr.Client, msg: "do not support extraHosts"},
		{name: "fargate dnsServers", mut: c0(func(c *model.ContainerDefinition) { c.DNSServers = []string{"1.1.1.1"} }), kind: apierr.Client, msg: "do not support dnsServers"},
		{name: "fargate dnsSearchDomains", mut: c0(func(c *model.ContainerDefinition) { c.DNSSearchDomains = []string{"corp"} }), kind: apierr.Client, msg: "do not support dnsSearchDomains"},
		{name: "ulimit names", mut: c0(func(c *model.ContainerDefinition) {
			c.Ulimits = []model.Ulimit{{Name: "files", SoftLimit: 1, HardLimit: 1}}
		}), kind: apierr.Client, msg: "Ulimit name 'files' must be one of: core"},
		{name: "ulimit soft at most hard", mut: c0(func(c *model.ContainerDefinition) {
			c.Ulimits = []model.Ulimit{{Name: "nofile", SoftLimit: 2, HardLimit: 1}}
		}), kind: apierr.Client, msg: "softLimit 2 cannot be greater than hardLimit 1"},
		{name: "log driver enum", mut: c0(func(c *model.ContainerDefinition) { c.LogConfiguration.LogDriver = "loki" }), kind: apierr.Client, msg: "Log driver 'loki' must be one of"},
		{name: "fargate log drivers", mut: c0(func(c *model.ContainerDefinition) { c.LogConfiguration.LogDriver = "json-file" }), kind: apierr.Client, msg: "do not support log driver 'json-file'. Valid values are: awslogs, splunk, awsfirelens"},
		{name: "awslogs required options", mut: c0(func(c *model.ContainerDefinition) { delete(c.LogConfiguration.Options, "awslogs-group") }), kind: apierr.Client, msg: "Log driver awslogs requires options: awslogs-group"},
		{name: "health check command", mut: c0(func(c *model.ContainerDefinition) { c.HealthCheck = &model.HealthCheck{Command: []string{"curl"}} }), kind: apierr.Client, msg: "must start with CMD or CMD-SHELL"},
		{name: "health check interval", mut: healthCheck(func(h *model.HealthCheck) { h.Interval = new(4) }), kind: apierr.Client, msg: "'healthCheck.interval' is 4 and must be between 5 and 300"},
		{name: "health check timeout", mut: healthCheck(func(h *model.HealthCheck) { h.Timeout = new(61) }), kind: apierr.Client, msg: "'healthCheck.timeout' is 61 and must be between 2 and 60"},
		{name: "health check retries", mut: healthCheck(func(h *model.HealthCheck) { h.Retries = new(0) }), kind: apierr.Client, msg: "'healthCheck.retries' is 0 and must be between 1 and 10"},
		{name: "health check startPeriod", mut: healthCheck(func(h *model.HealthCheck) { h.StartPeriod = new(301) }), kind: apierr.Client, msg: "'healthCheck.startPeriod' is 301 and must be between 0 and 300"},
		{name: "fargate systemControls net only", mut: c0(func(c *model.ContainerDefinition) {
			c.SystemControls = []model.SystemControl{{Namespace: "net.ipv4.tcp_keepalive_time", Value: "60"}, {Namespace: "kernel.shm_rmid_forced", Value: "1"}}
		}), kind: apierr.Client, msg: "'kernel.shm_rmid_forced' is not supported"},
		{name: "resource requirement type", mut: c0(func(c *model.ContainerDefinition) {
			c.ResourceRequirements = []model.ResourceRequirement{{Type: "TPU", Value: "1"}}
		}), kind: apierr.Client, msg: "GPU, InferenceAccelerator"},
		{name: "fargate GPU", mut: c0(func(c *model.ContainerDefinition) {
			c.ResourceRequirements = []model.ResourceRequirement{{Type: "GPU", Value: "1"}}
		}), kind: apierr.Client, msg: "do not support GPU"},
		{name: "firelens type", mut: c0(func(c *model.ContainerDefinition) {
			c.FirelensConfiguration = &model.FirelensConfiguration{Type: "vector"}
		}), kind: apierr.Client, msg: "fluentd, fluentbit"},
		{name: "volume names unique", mut: func(td *model.TaskDefinition) { td.Volumes = []model.Volume{{Name: "v"}, {Name: "v"}} }, kind: apierr.Client, msg: "Duplicate volume name 'v'"},
		{name: "volume name pattern", mut: func(td *model.TaskDefinition) { td.Volumes = []model.Volume{{Name: "a b"}} }, kind: apierr.Client, msg: "Invalid volume name 'a b'"},
		{name: "fargate host sourcePath", mut: func(td *model.TaskDefinition) {
			td.Volumes = []model.Volume{{Name: "v", Host: &model.HostVolumeProperties{SourcePath: "/srv"}}}
		}, kind: apierr.Client, msg: "host volumes with a sourcePath"},
		{name: "efs file system id", mut: efsVolume(func(e *model.EFSVolumeConfiguration) { e.FileSystemID = "" }), kind: apierr.Client,
			msg: "Invalid setting for volume 'data'. efsVolumeConfiguration requires 'fileSystemId'."},
		{name: "efs transit encryption enum", mut: efsVolume(func(e *model.EFSVolumeConfiguration) { e.TransitEncryption = "ON" }), kind: apierr.Client,
			msg: "'transitEncryption' 'ON' must be one of: ENABLED, DISABLED"},
		{name: "efs transit encryption port", mut: efsVolume(func(e *model.EFSVolumeConfiguration) { e.TransitEncryptionPort = new(0) }), kind: apierr.Client,
			msg: "'transitEncryptionPort' 0 must be between 1 and 65535"},
		{name: "efs iam enum", mut: efsVolume(func(e *model.EFSVolumeConfiguration) {
			e.AuthorizationConfig = &model.EFSAuthorizationConfig{IAM: "yes"}
		}), kind: apierr.Client, msg: "'iam' 'yes' must be one of: ENABLED, DISABLED"},
		{name: "efs iam needs transit encryption", mut: efsVolume(func(e *model.EFSVolumeConfiguration) {
			e.AuthorizationConfig = &model.EFSAuthorizationConfig{IAM: "ENABLED"}
		}), kind: apierr.Client, msg: "'iam' ENABLED requires efsVolumeConfiguration 'transitEncryption' ENABLED"},
		{name: "efs access point needs transit encryption", mut: efsVolume(func(e *model.EFSVolumeConfiguration) {
			e.AuthorizationConfig = &model.EFSAuthorizationConfig{AccessPointID: "fsap-1"}
		}), kind: apierr.Client, msg: "'accessPointId' requires efsVolumeConfiguration 'transitEncryption' ENABLED"},
		{name: "efs access point root directory", mut: efsVolume(func(e *model.EFSVolumeConfiguration) {
			e.TransitEncryption, e.RootDirectory = "ENABLED", "/data"
			e.AuthorizationConfig = &model.EFSAuthorizationConfig{AccessPointID: "fsap-1"}
		}), kind: apierr.Client, msg: "'rootDirectory' must be omitted or '/'; it is '/data'"},
		{name: "fargate fsx on linux", mut: func(td *model.TaskDefinition) {
			td.Volumes = []model.Volume{{Name: "v", FSxWindowsFileServerVolumeConfiguration: &model.FSxWindowsFileServerVolumeConfiguration{FileSystemID: "fs-1", RootDirectory: `\\share`}}}
		}, kind: apierr.Client, msg: "do not support fsxWindowsFileServerVolumeConfiguration on Linux"},
		{name: "fargate dockerVolumeConfiguration", mut: func(td *model.TaskDefinition) {
			td.Volumes = []model.Volume{{Name: "v", DockerVolumeConfiguration: &model.DockerVolumeConfiguration{Scope: "task"}}}
		}, kind: apierr.Client, msg: "do not support dockerVolumeConfiguration"},
		{name: "fargate placementConstraints", mut: func(td *model.TaskDefinition) {
			td.PlacementConstraints = []model.PlacementConstraint{{Type: "memberOf", Expression: "attribute:x == y"}}
		}, kind: apierr.Client, msg: "do not support placementConstraints"},
		{name: "placement constraint type", base: ec2TD, mut: func(td *model.TaskDefinition) {
			td.PlacementConstraints = []model.PlacementConstraint{{Type: "distinctInstance"}}
		}, kind: apierr.InvalidParameter, msg: "Valid values are: memberOf"},
		{name: "requiresCompatibilities enum", base: ec2TD, mut: func(td *model.TaskDefinition) { td.RequiresCompatibilities = []string{"LAMBDA"} }, kind: apierr.InvalidParameter, msg: "Invalid requiresCompatibilities value 'LAMBDA'"},
		{name: "task cpu format", mut: func(td *model.TaskDefinition) { td.CPU = "fast" }, kind: apierr.Client, msg: "Invalid 'cpu' setting for task"},
		{name: "task memory format", mut: func(td *model.TaskDefinition) { td.Memory = "1TBish" }, kind: apierr.Client, msg: "Invalid 'memory' setting for task"},
		{name: "ec2 task cpu at least 128", base: ec2TD, mut: func(td *model.TaskDefinition) { td.CPU = "64" }, kind: apierr.Client,
			msg: "Invalid 'cpu' setting for task: 64. Valid values are between 128 (0.125 vCPU) and 196608 (192 vCPU)"},
		{name: "ec2 task cpu at most 192 vCPU", base: ec2TD, mut: func(td *model.TaskDefinition) { td.CPU = "193 vCPU" }, kind: apierr.Client, msg: "between 128 (0.125 vCPU) and 196608"},
		{name: "fargate size names the memory allowed", mut: func(td *model.TaskDefinition) { td.Memory = "5GB" }, kind: apierr.Client,
			msg: "Valid 'memory' values for 512 CPU are: 1024, 2048, 3072, 4096."},
		{name: "fargate size names the cpu allowed", mut: func(td *model.TaskDefinition) { td.CPU = "384" }, kind: apierr.Client,
			msg: "Valid 'cpu' values are: 256, 512, 1024, 2048, 4096, 8192, 16384."},
		{name: "fargate task cpu required", mut: func(td *model.TaskDefinition) { td.CPU = "" }, kind: apierr.Client, msg: "Fargate requires that 'cpu' be defined at the task level."},
		{name: "fargate task memory required", mut: func(td *model.TaskDefinition) { td.Memory, td.ContainerDefinitions[0].Memory = "", new(512) }, kind: apierr.Client, msg: "Fargate requires that 'memory' be defined at the task level."},
		{name: "fargate size pairs", mut: func(td *model.TaskDefinition) { td.Memory = "512" }, kind: apierr.Client,
			msg: "No Fargate configuration exists for given values: 512 CPU, 512 memory. See the Amazon ECS documentation for the valid values."},
		{name: "fargate size pairs in vCPU and GB", mut: func(td *model.TaskDefinition) { td.CPU, td.Memory = "4 vCPU", "4GB" }, kind: apierr.Client, msg: "4096 CPU, 4096 memory"},
		{name: "tags at most 50", tags: manyTags(51), kind: apierr.InvalidParameter, msg: "at most 50"},
		{name: "tag key length", tags: []model.Tag{{Key: strings.Repeat("k", 129)}}, kind: apierr.InvalidParameter, msg: "between 1 and 128"},
		{name: "tag value length", tags: []model.Tag{{Key: "k", Value: strings.Repeat("v", 257)}}, kind: apierr.InvalidParameter, msg: "at most 256"},
		{name: "tag aws prefix", tags: []model.Tag{{Key: "aws:owner", Value: "me"}}, kind: apierr.InvalidParameter, msg: "aws:"},
		{name: "pidMode enum", base: ec2TD, mut: func(td *model.TaskDefinition) { td.PidMode = "container" }, kind: apierr.InvalidParameter, msg: "Valid values are: host, task"},
		{name: "fargate pidMode host", mut: func(td *model.TaskDefinition) { td.PidMode = "host" }, kind: apierr.Client, msg: "pidMode 'host'. The only valid value is 'task'"},
		{name: "ipcMode enum", base: ec2TD, mut: func(td *model.TaskDefinition) { td.IpcMode = "shareable" }, kind: apierr.InvalidParameter, msg: "Valid values are: host, task, none"},
		{name: "fargate ipcMode", mut: func(td *model.TaskDefinition) { td.IpcMode = "task" }, kind: apierr.Client, msg: "Tasks using the Fargate launch type do not support ipcMode."},
		{name: "proxy container exists", mut: func(td *model.TaskDefinition) {
			td.ProxyConfiguration = &model.ProxyConfiguration{Type: "APPMESH", ContainerName: "envoy"}
		}, kind: apierr.Client, msg: "container 'envoy' is not defined"},
		{name: "fargate inferenceAccelerators", mut: func(td *model.TaskDefinition) {
			td.InferenceAccelerators = []model.InferenceAccelerator{{DeviceName: "d", DeviceType: "eia2.medium"}}
		}, kind: apierr.Client, msg: "do not support inferenceAccelerators"},
		{name: "ephemeral storage range low", mut: func(td *model.TaskDefinition) { td.EphemeralStorage = &model.EphemeralStorage{SizeInGiB: 20} }, kind: apierr.InvalidParameter, msg: "between 21 and 200"},
		{name: "ephemeral storage range high", mut: func(td *model.TaskDefinition) { td.EphemeralStorage = &model.EphemeralStorage{SizeInGiB: 201} }, kind: apierr.InvalidParameter, msg: "between 21 and 200"},
		{name: "runtime platform os family", mut: func(td *model.TaskDefinition) {
			td.RuntimePlatform = &model.RuntimePlatform{OperatingSystemFamily: "MACOS"}
		}, kind: apierr.InvalidParameter, msg: "Valid values are: LINUX"},
		{name: "runtime platform cpu architecture", mut: func(td *model.TaskDefinition) { td.RuntimePlatform = &model.RuntimePlatform{CPUArchitecture: "RISCV"} }, kind: apierr.InvalidParameter, msg: "Valid values are: X86_64, ARM64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := fargateTD
			if tt.base != nil {
				base = tt.base
			}
			td := base()
			if tt.mut != nil {
				tt.mut(&td)
			}
			err := validateTaskDefinition(td, tt.tags)
			if err == nil {
				t.Fatalf("validateTaskDefinition passed, want %s %q", tt.kind, tt.msg)
			}
			if k := apierr.KindOf(err); k != tt.kind {
				t.Errorf("kind = %s, want %s (message %q)", k, tt.kind, apierr.Message(err))
			}
			if msg := apierr.Message(err); !strings.Contains(msg, tt.msg) {
				t.Errorf("message = %q, want it to contain %q", msg, tt.msg)
			}
		})
	}
}

func TestValidateTaskDefinitionAccepts(t *testing.T) {
	tests := map[string]func() model.TaskDefinition{
		"fargate guide example": fargateTD,
		"ec2 bridge":            ec2TD,
		"fargate allowed extras": func() model.TaskDefinition {
			td := fargateTD()
			td.PidMode, td.CPU, td.Memory = "task", "0.25 vCPU", "0.5 GB"
			td.EphemeralStorage = &model.EphemeralStorage{SizeInGiB: 21}
			td.Volumes = []model.Volume{{Name: "scratch", Host: &model.HostVolumeProperties{}}}
			c := &td.ContainerDefinitions[0]
			c.LinuxParameters = &model.LinuxParameters{Capabilities: &model.KernelCapabilities{Add: []string{"SYS_PTRACE"}, Drop: []string{"ALL"}}, InitProcessEnabled: new(true)}
			c.SystemControls = []model.SystemControl{{Namespace: "net.core.somaxconn", Value: "1024"}}
			c.MountPoints = []model.MountPoint{{SourceVolume: "scratch", ContainerPath: "/scratch"}}
			c.Privileged = new(false)
			c.DependsOn = []model.ContainerDependency{{ContainerName: "init", Condition: "SUCCESS"}, {ContainerName: "db", Condition: "HEALTHY"}}
			td.ContainerDefinitions = append(td.ContainerDefinitions, sidecar("init", nil),
				sidecar("db", func(c *model.ContainerDefinition) {
					c.HealthCheck = &model.HealthCheck{Command: []string{"CMD-SHELL", "true"}}
				}))
			return td
		},
		"fargate port ranges, efs with access point and timeouts at the bounds": func() model.TaskDefinition {
			td := fargateTD()
			c := &td.ContainerDefinitions[0]
			c.PortMappings = append(c.PortMappings, model.PortMapping{ContainerPortRange: "9000-9010"}, model.PortMapping{ContainerPortRange: "9000-9010", Protocol: "udp"})
			c.StartTimeout, c.StopTimeout = new(2), new(120)
			c.Ulimits = []model.Ulimit{{Name: "nofile", SoftLimit: 65535, HardLimit: 1048576}}
			c.DisableNetworking = new(false)
			td.Volumes = []model.Volume{{Name: "data", EFSVolumeConfiguration: &model.EFSVolumeConfiguration{FileSystemID: "fs-1", RootDirectory: "/",
				TransitEncryption: "ENABLED", TransitEncryptionPort: new(2049), AuthorizationConfig: &model.EFSAuthorizationConfig{AccessPointID: "fsap-1", IAM: "ENABLED"}}}}
			c.MountPoints = []model.MountPoint{{SourceVolume: "data", ContainerPath: "/data"}}
			return td
		},
		"ec2 long stopTimeout and task cpu bounds": func() model.TaskDefinition {
			td := ec2TD()
			td.CPU = "128"
			td.ContainerDefinitions[0].StopTimeout = new(600)
			td.ContainerDefinitions[0].PortMappings[0].HostPort = new(80)
			return td
		},
		"fargate windows with fsx": func() model.TaskDefinition {
			td := fargateTD()
			td.CPU, td.Memory = "1024", "2048"
			td.RuntimePlatform = &model.RuntimePlatform{OperatingSystemFamily: "WINDOWS_SERVER_2022_CORE", CPUArchitecture: "X86_64"}
			td.Volumes = []model.Volume{{Name: "v", FSxWindowsFileServerVolumeConfiguration: &model.FSxWindowsFileServerVolumeConfiguration{FileSystemID: "fs-1", RootDirectory: `share`}}}
			return td
		},
	}
	for name, build := range tests {
		t.Run(name, func(t *testing.T) {
			if err := validateTaskDefinition(build(), []model.Tag{{Key: "team", Value: ""}}); err != nil {
				t.Fatalf("validateTaskDefinition: %v", err)
			}
		})
	}
}

// TestValidateTaskDefinitionReportsFirstFailure checks ECS's one message is the first in
// document order, while every failure stays in the joined error.
func TestValidateTaskDefinitionReportsFirstFailure(t *testing.T) {
	td := fargateTD()
	td.Family = ""
	td.Memory = "512"
	err := validateTaskDefinition(td, nil)
	if msg := apierr.Message(err); !strings.Contains(msg, "Family") {
		t.Fatalf("first message = %q, want the family failure", msg)
	}
	if !strings.Contains(err.Error(), "No Fargate configuration exists") {
		t.Fatalf("joined error %q lost a later failure", err)
	}
}

func withPortRange(r string) func(*model.TaskDefinition) {
	return func(td *model.TaskDefinition) {
		c := &td.ContainerDefinitions[0]
		c.PortMappings = []model.PortMapping{{ContainerPort: new(8080)}, {ContainerPortRange: r}}
	}
}

func efsVolume(mut func(*model.EFSVolumeConfiguration)) func(*model.TaskDefinition) {
	return func(td *model.TaskDefinition) {
		efs := &model.EFSVolumeConfiguration{FileSystemID: "fs-12345678"}
		mut(efs)
		td.Volumes = []model.Volume{{Name: "data", EFSVolumeConfiguration: efs}}
	}
}

func withSidecarDep(cond string, mut func(*model.ContainerDefinition)) func(*model.TaskDefinition) {
	return func(td *model.TaskDefinition) {
		td.ContainerDefinitions[0].DependsOn = []model.ContainerDependency{{ContainerName: "init", Condition: cond}}
		td.ContainerDefinitions = append(td.ContainerDefinitions, sidecar("init", mut))
	}
}

func healthCheck(mut func(*model.HealthCheck)) func(*model.TaskDefinition) {
	return func(td *model.TaskDefinition) {
		hc := &model.HealthCheck{Command: []string{"CMD", "true"}}
		mut(hc)
		td.ContainerDefinitions[0].HealthCheck = hc
	}
}

func manyTags(n int) []model.Tag {
	out := make([]model.Tag, n)
	for i := range out {
		out[i] = model.Tag{Key: "k" + strings.Repeat("x", i), Value: "v"}
	}
	return out
}
