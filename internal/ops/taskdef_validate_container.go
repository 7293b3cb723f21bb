package ops

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/internal/model"
)

var (
	dependencyConditions = []string{"START", "COMPLETE", "SUCCESS", "HEALTHY"}
	ulimitNames          = []string{"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"}
	appProtocols         = []string{"http", "http2", "grpc"}
	transportProtocols   = []string{"tcp", "udp"}
	resourceTypes        = []string{"GPU", "InferenceAccelerator"}
	firelensTypes        = []string{"fluentd", "fluentbit"}
)

// checkContainer runs the checks of one container, in the order of its members.
func (v *tdValidator) checkContainer(c *model.ContainerDefinition, portNames map[string]bool) {
	switch {
	case c.Name == "":
		v.client("Container.name should not be null or empty.")
	case !containerNameRE.MatchString(c.Name):
		v.client("Container.name contains invalid characters: '%s'. Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.", c.Name)
	}
	switch {
	case c.Image == "":
		v.client("Container.image should not be null or empty.")
	case len(c.Image) > maxImageLen:
		v.client("Invalid setting for container '%s'. 'image' has %d characters; at most %d are allowed.", c.Name, len(c.Image), maxImageLen)
	}
	if c.RepositoryCredentials != nil && c.RepositoryCredentials.CredentialsParameter == "" {
		v.client("Invalid setting for container '%s'. repositoryCredentials requires 'credentialsParameter'.", c.Name)
	}
	v.checkContainerMemory(c)
	if len(c.Links) > 0 && (v.fargate || v.awsvpc) {
		v.fargateOrAwsvpc(c.Name, "links")
	}
	v.checkPortMappings(c, portNames)
	v.checkRestartPolicy(c)
	v.checkEnvironment(c)
	v.checkMounts(c)
	v.checkLinuxParameters(c)
	v.checkSecrets(c.Name, "secrets", c.Secrets)
	v.checkDependsOn(c)
	v.checkTimeouts(c)
	if vc := c.VersionConsistency; vc != "" && vc != "enabled" && vc != "disabled" {
		v.client("Invalid setting for container '%s'. 'versionConsistency' must be one of: enabled, disabled.", c.Name)
	}
	if c.Hostname != "" && v.awsvpc {
		v.client("hostname is not supported on container when networkMode=awsvpc.")
	}
	v.checkFargateContainer(c)
	v.checkUlimits(c)
	v.checkLogConfiguration(c)
	v.checkHealthCheck(c)
	v.checkSystemControls(c)
	v.checkResourceRequirements(c)
	if f := c.FirelensConfiguration; f != nil && !slices.Contains(firelensTypes, f.Type) {
		v.client("Invalid setting for container '%s'. firelensConfiguration 'type' must be one of: %s.", c.Name, strings.Join(firelensTypes, ", "))
	}
}

// checkTimeouts applies Fargate's 2-120 seconds to startTimeout and stopTimeout; elsewhere the
// agent's own settings bound them, and ECS asks only that they are not negative.
func (v *tdValidator) checkTimeouts(c *model.ContainerDefinition) {
	if v.fargate {
		v.intRange(c.Name, "startTimeout", c.StartTimeout, minFargateTimeout, maxFargateTimeout)
		v.intRange(c.Name, "stopTimeout", c.StopTimeout, minFargateTimeout, maxFargateTimeout)
		return
	}
	v.intRange(c.Name, "startTimeout", c.StartTimeout, 0, math.MaxInt32)
	v.intRange(c.Name, "stopTimeout", c.StopTimeout, 0, math.MaxInt32)
}

func (v *tdValidator) fargateOrAwsvpc(container, param string) {
	if v.fargate {
		v.notOnFargate(param)
		return
	}
	v.client("Invalid setting for container '%s'. '%s' is not supported when networkMode=awsvpc.", container, param)
}

func (v *tdValidator) checkContainerMemory(c *model.ContainerDefinition) {
	if c.CPU < 0 {
		v.client("Invalid setting for container '%s'. 'cpu' must be 0 or more.", c.Name)
	}
	if c.Memory == nil && c.MemoryReservation == nil && v.td.Memory == "" {
		v.client("Invalid setting for container '%s'. At least one of 'memory' or 'memoryReservation' must be specified.", c.Name)
	}
	if c.Memory != nil && *c.Memory < minContainerMemory {
		v.client("Invalid setting for container '%s'. 'memory' must be at least %d MiB.", c.Name, minContainerMemory)
	}
	if c.MemoryReservation != nil && *c.MemoryReservation < minContainerMemory {
		v.client("Invalid setting for container '%s'. 'memoryReservation' must be at least %d MiB.", c.Name, minContainerMemory)
	}
	if c.Memory != nil && c.MemoryReservation != nil && *c.MemoryReservation > *c.Memory {
		v.client("Invalid setting for container '%s'. 'memoryReservation' (%d MiB) must be less than or equal to 'memory' (%d MiB).", c.Name, *c.MemoryReservation, *c.Memory)
	}
}

func (v *tdValidator) checkPortMappings(c *model.ContainerDefinition, portNames map[string]bool) {
	seen := map[string]bool{}
	used := map[string][][2]int{} // protocol -> the port intervals mapped so far
	ranges := 0
	for _, pm := range c.PortMappings {
		proto := pm.Protocol
		if proto == "" {
			proto = "tcp"
		}
		switch {
		case pm.ContainerPort == nil && pm.ContainerPortRange == "":
			v.client("Invalid setting for container '%s'. A port mapping needs 'containerPort' or 'containerPortRange'.", c.Name)
		case pm.ContainerPort != nil && pm.ContainerPortRange != "":
			v.client("Invalid setting for container '%s'. A port mapping takes either 'containerPort' or 'containerPortRange', not both.", c.Name)
		case pm.ContainerPort != nil && (*pm.ContainerPort < 1 || *pm.ContainerPort > 65535):
			v.client("Invalid setting for container '%s'. 'containerPort' %d must be between 1 and 65535.", c.Name, *pm.ContainerPort)
		case pm.ContainerPort != nil && seen[fmt.Sprint(*pm.ContainerPort, proto)]:
			v.client("Invalid setting for container '%s'. Duplicate port mapping: containerPort %d/%s appears more than once.", c.Name, *pm.ContainerPort, proto)
		case pm.ContainerPort != nil:
			seen[fmt.Sprint(*pm.ContainerPort, proto)] = true
			v.claimPorts(c.Name, used, proto, [2]int{*pm.ContainerPort, *pm.ContainerPort}, fmt.Sprint(*pm.ContainerPort))
		default:
			ranges++
			v.checkPortRange(c.Name, pm, proto, used, ranges)
		}
		if pm.HostPort != nil && (*pm.HostPort < 0 || *pm.HostPort > 65535) {
			v.client("Invalid setting for container '%s'. 'hostPort' %d must be between 0 and 65535.", c.Name, *pm.HostPort)
		}
		if pm.HostPort != nil && v.td.NetworkMode == "host" && (pm.ContainerPort == nil || *pm.HostPort != *pm.ContainerPort) {
			v.client("When networkMode=host, the host ports and container ports in port mappings must match.")
		}
		if (v.awsvpc || v.fargate) && pm.HostPort != nil && (pm.ContainerPort == nil || *pm.HostPort != *pm.ContainerPort) {
			v.client("When networkMode=awsvpc, the host ports and container ports in port mappings must match.")
		}
		if !slices.Contains(transportProtocols, proto) {
			v.client("Invalid setting for container '%s'. Port mapping 'protocol' '%s' must be one of: tcp, udp.", c.Name, pm.Protocol)
		}
		if pm.AppProtocol != "" && !slices.Contains(appProtocols, pm.AppProtocol) {
			v.client("Invalid setting for container '%s'. Port mapping 'appProtocol' '%s' must be one of: %s.", c.Name, pm.AppProtocol, strings.Join(appProtocols, ", "))
		}
		v.checkPortName(c.Name, pm.Name, portNames)
	}
}

// checkPortRange checks a containerPortRange mapping: "first-last" within 1-65535 with first
// below last, bridge or awsvpc mode only, no hostPort, at most 100 ranges per container.
func (v *tdValidator) checkPortRange(container string, pm model.PortMapping, proto string, used map[string][][2]int, ranges int) {
	first, last, ok := parsePortRange(pm.ContainerPortRange)
	switch {
	case !ok:
		v.client("Invalid setting for container '%s'. 'containerPortRange' '%s' must be two ports between 1 and 65535 as first-last, the first less than the last.", container, pm.ContainerPortRange)
		return
	case v.td.NetworkMode == "host" || v.td.NetworkMode == "none":
		v.client("Invalid setting for container '%s'. 'containerPortRange' needs networkMode bridge or awsvpc, not %s.", container, v.td.NetworkMode)
	case pm.HostPort != nil:
		v.client("Invalid setting for container '%s'. Leave 'hostPort' empty in a port mapping with 'containerPortRange' %s.", container, pm.ContainerPortRange)
	case ranges == maxPortRanges+1:
		v.client("Invalid setting for container '%s'. A container can have at most %d port ranges.", container, maxPortRanges)
	}
	v.claimPorts(container, used, proto, [2]int{first, last}, pm.ContainerPortRange)
}

// claimPorts records ports as mapped for proto, or a failure when a port is mapped already.
func (v *tdValidator) claimPorts(container string, used map[string][][2]int, proto string, ports [2]int, what string) {
	for _, u := range used[proto] {
		if ports[0] <= u[1] && u[0] <= ports[1] && (u[0] != u[1] || ports[0] != ports[1]) {
			v.client("Invalid setting for container '%s'. Port mapping %s/%s overlaps another port mapping of the container; a port can be in only one.", container, what, proto)
			return
		}
	}
	used[proto] = append(used[proto], ports)
}

func parsePortRange(s string) (first, last int, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	first, err1 := strconv.Atoi(a)
	last, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || first < 1 || last > 65535 || first >= last {
		return 0, 0, false
	}
	return first, last, true
}

func (v *tdValidator) checkPortName(container, name string, portNames map[string]bool) {
	if name == "" {
		return
	}
	if !portNameRE.MatchString(name) {
		v.client("Invalid setting for container '%s'. Port mapping name '%s' can have up to 64 lowercase letters, numbers, underscores and hyphens, and cannot start with a hyphen.", container, name)
	}
	if portNames[name] {
		v.client("Invalid setting for container '%s'. Port mapping name '%s' is used more than once; port names must be unique within a task definition.", container, name)
	}
	portNames[name] = true
}

func (v *tdValidator) checkRestartPolicy(c *model.ContainerDefinition) {
	rp := c.RestartPolicy
	if rp == nil {
		return
	}
	if rp.Enabled == nil {
		v.client("Invalid setting for container '%s'. restartPolicy requires 'enabled'.", c.Name)
	}
	if len(rp.IgnoredExitCodes) > 50 {
		v.client("Invalid setting for container '%s'. restartPolicy 'ignoredExitCodes' can have at most 50 exit codes.", c.Name)
	}
	v.intRange(c.Name, "restartPolicy.restartAttemptPeriod", rp.RestartAttemptPeriod, 60, 1800)
}

func (v *tdValidator) checkEnvironment(c *model.ContainerDefinition) {
	for _, kv := range c.Environment {
		if kv.Name == "" {
			v.client("Invalid setting for container '%s'. Environment variable names must not be empty.", c.Name)
		}
	}
	for _, f := range c.EnvironmentFiles {
		if f.Type != "s3" || f.Value == "" {
			v.client("Invalid setting for container '%s'. environmentFiles entries need a 'value' (an S3 object ARN) and 'type' s3.", c.Name)
		}
	}
}

func (v *tdValidator) checkMounts(c *model.ContainerDefinition) {
	for _, mp := range c.MountPoints {
		switch {
		case !v.volumes[mp.SourceVolume]:
			v.client("Invalid setting for container '%s'. Mount point sourceVolume '%s' does not match the name of a volume in the task definition.", c.Name, mp.SourceVolume)
		case mp.ContainerPath == "":
			v.client("Invalid setting for container '%s'. Mount point for volume '%s' needs a 'containerPath'.", c.Name, mp.SourceVolume)
		}
	}
	for _, vf := range c.VolumesFrom {
		switch {
		case vf.SourceContainer == c.Name:
			v.client("Invalid setting for container '%s'. volumesFrom cannot name the container itself.", c.Name)
		case v.names[vf.SourceContainer] == nil:
			v.client("Invalid setting for container '%s'. volumesFrom sourceContainer '%s' is not defined in the task definition.", c.Name, vf.SourceContainer)
		}
	}
}

func (v *tdValidator) checkLinuxParameters(c *model.ContainerDefinition) {
	lp := c.LinuxParameters
	if lp == nil || !v.fargate {
		return
	}
	if lp.Capabilities != nil {
		for _, cap := range lp.Capabilities.Add {
			if cap != "SYS_PTRACE" {
				v.client("Tasks using the Fargate launch type do not support capability '%s' in linuxParameters.capabilities.add. The only capability that can be added is SYS_PTRACE.", cap)
			}
		}
	}
	forbidden := []struct {
		set  bool
		name string
	}{
		{len(lp.Devices) > 0, "devices"}, {lp.SharedMemorySize != nil, "sharedMemorySize"},
		{len(lp.Tmpfs) > 0, "tmpfs"}, {lp.MaxSwap != nil, "maxSwap"}, {lp.Swappiness != nil, "swappiness"},
	}
	for _, f := range forbidden {
		if f.set {
			v.notOnFargate("linuxParameters." + f.name)
		}
	}
}

func (v *tdValidator) checkDependsOn(c *model.ContainerDefinition) {
	for _, d := range c.DependsOn {
		target := v.names[d.ContainerName]
		switch {
		case d.ContainerName == c.Name:
			v.client("Invalid setting for container '%s'. A container cannot depend on itself.", c.Name)
		case target == nil:
			v.client("Invalid setting for container '%s'. dependsOn container '%s' is not defined in the task definition.", c.Name, d.ContainerName)
		case !slices.Contains(dependencyConditions, d.Condition):
			v.client("Invalid setting for container '%s'. dependsOn condition '%s' must be one of: %s.", c.Name, d.Condition, strings.Join(dependencyConditions, ", "))
		case (d.Condition == "COMPLETE" || d.Condition == "SUCCESS") && target.IsEssential():
			v.client("A dependency container with SUCCESS or COMPLETE condition cannot be an essential container. Container '%s' depends on essential container '%s' with condition %s.", c.Name, d.ContainerName, d.Condition)
		case d.Condition == "HEALTHY" && target.HealthCheck == nil:
			v.client("Invalid setting for container '%s'. dependsOn condition HEALTHY requires container '%s' to have a healthCheck.", c.Name, d.ContainerName)
		}
	}
}

// checkFargateContainer rejects the container parameters Fargate does not support.
func (v *tdValidator) checkFargateContainer(c *model.ContainerDefinition) {
	if !v.fargate {
		return
	}
	if c.Privileged != nil && *c.Privileged {
		v.notOnFargate("privileged containers")
	}
	if c.DisableNetworking != nil && *c.DisableNetworking {
		v.notOnFargate("disableNetworking")
	}
	lists := []struct {
		n    int
		name string
	}{
		{len(c.DockerSecurityOptions), "dockerSecurityOptions"}, {len(c.ExtraHosts), "extraHosts"},
		{len(c.DNSServers), "dnsServers"}, {len(c.DNSSearchDomains), "dnsSearchDomains"},
	}
	for _, l := range lists {
		if l.n > 0 {
			v.notOnFargate(l.name)
		}
	}
}

func (v *tdValidator) checkUlimits(c *model.ContainerDefinition) {
	for _, u := range c.Ulimits {
		switch {
		case !slices.Contains(ulimitNames, u.Name):
			v.client("Invalid setting for container '%s'. Ulimit name '%s' must be one of: %s.", c.Name, u.Name, strings.Join(ulimitNames, ", "))
		case u.SoftLimit < 0 || u.HardLimit < 0:
			v.client("Invalid setting for container '%s'. Ulimit '%s' softLimit and hardLimit must be 0 or more.", c.Name, u.Name)
		case u.SoftLimit > u.HardLimit:
			v.client("Invalid setting for container '%s'. Ulimit '%s' softLimit %d cannot be greater than hardLimit %d.", c.Name, u.Name, u.SoftLimit, u.HardLimit)
		case v.fargate && u.Name == "nofile" && u.HardLimit > maxFargateNofile:
			v.client("Invalid setting for container '%s'. On Fargate the nofile ulimit can be at most %d; hardLimit is %d.", c.Name, maxFargateNofile, u.HardLimit)
		}
	}
}

func (v *tdValidator) checkHealthCheck(c *model.ContainerDefinition) {
	hc := c.HealthCheck
	if hc == nil {
		return
	}
	if len(hc.Command) == 0 || (hc.Command[0] != "CMD" && hc.Command[0] != "CMD-SHELL") {
		v.client("Invalid setting for container '%s'. healthCheck 'command' must start with CMD or CMD-SHELL.", c.Name)
	}
	v.intRange(c.Name, "healthCheck.interval", hc.Interval, 5, 300)
	v.intRange(c.Name, "healthCheck.timeout", hc.Timeout, 2, 60)
	v.intRange(c.Name, "healthCheck.retries", hc.Retries, 1, 10)
	v.intRange(c.Name, "healthCheck.startPeriod", hc.StartPeriod, 0, 300)
}

func (v *tdValidator) checkSystemControls(c *model.ContainerDefinition) {
	for _, sc := range c.SystemControls {
		if sc.Namespace == "" {
			v.client("Invalid setting for container '%s'. systemControls entries need a 'namespace'.", c.Name)
			continue
		}
		if v.fargate && !strings.HasPrefix(sc.Namespace, "net.") {
			v.client("Tasks using the Fargate launch type only support systemControls in the net namespace (net.*); '%s' is not supported.", sc.Namespace)
		}
	}
}

func (v *tdValidator) checkResourceRequirements(c *model.ContainerDefinition) {
	for _, rr := range c.ResourceRequirements {
		switch {
		case !slices.Contains(resourceTypes, rr.Type):
			v.client("Invalid setting for container '%s'. resourceRequirements 'type' must be one of: %s.", c.Name, strings.Join(resourceTypes, ", "))
		case rr.Value == "":
			v.client("Invalid setting for container '%s'. resourceRequirements of type %s need a 'value'.", c.Name, rr.Type)
		case v.fargate && rr.Type == "GPU":
			v.notOnFargate("GPU resourceRequirements")
		}
	}
}
