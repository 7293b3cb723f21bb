package ops

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// Validation of RegisterTaskDefinition. Checks run in the order of the request's members (family,
// networkMode, containerDefinitions, volumes, ...); every failure is collected, and the joined
// error reads as the first one, which is the one message ECS answers. Kinds: ClientException for
// what a definition contains (containers, volumes, Fargate's rules), InvalidParameterException
// for a task-level parameter outside its allowed values.

var (
	familyRE        = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)
	containerNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)
	volumeNameRE    = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)
	portNameRE      = regexp.MustCompile(`^[a-z0-9_][a-z0-9_-]{0,63}$`)
)

// Limits of a task definition.
const (
	maxContainers      = 10
	maxImageLen        = 255
	minEphemeralGiB    = 21
	maxEphemeralGiB    = 200
	maxPlacementCons   = 10
	minContainerMemory = 6
	minEC2TaskCPU      = 128
	maxEC2TaskCPU      = 196608
	maxPortRanges      = 100
	maxFargateNofile   = 1048576
	minFargateTimeout  = 2
	maxFargateTimeout  = 120
	// Windows containers on Fargate need at least 1 vCPU.
	minFargateWindowsCPU = 1024
)

var (
	networkModes      = []string{"bridge", "host", "awsvpc", "none"}
	compatibilityVals = []string{model.CompatibilityEC2, model.CompatibilityFargate, model.CompatibilityExternal, "MANAGED_INSTANCES"}
	pidModes          = []string{"host", "task"}
	ipcModes          = []string{"host", "task", "none"}
	cpuArchitectures  = []string{"X86_64", "ARM64"}
	osFamilies        = []string{"LINUX", "WINDOWS_SERVER_2019_FULL", "WINDOWS_SERVER_2019_CORE", "WINDOWS_SERVER_2016_FULL",
		"WINDOWS_SERVER_2004_CORE", "WINDOWS_SERVER_2022_CORE", "WINDOWS_SERVER_2022_FULL", "WINDOWS_SERVER_2025_CORE",
		"WINDOWS_SERVER_2025_FULL", "WINDOWS_SERVER_20H2_CORE"}
)

// tdValidator collects the failures of one task definition.
type tdValidator struct {
	td      model.TaskDefinition
	fargate bool // requiresCompatibilities has FARGATE: Fargate's rules apply
	awsvpc  bool
	cpu     int // task cpu units, 0 when absent or invalid
	memory  int // task memory MiB, 0 when absent or invalid
	names   map[string]*model.ContainerDefinition
	volumes map[string]bool
	errs    []error
}

// validateTaskDefinition checks td as ECS does at registration, tags included. The error joins
// every failure; its message (apierr.Message) and kind are those of the first.
func validateTaskDefinition(td model.TaskDefinition, tags []model.Tag) error {
	v := newTDValidator(td)
	v.checkFamily()
	v.checkNetworkMode()
	v.checkContainers()
	v.checkVolumes()
	v.checkPlacementConstraints()
	v.checkCompatibilities()
	v.checkTaskSize()
	if err := validateTagList(tags); err != nil {
		v.errs = append(v.errs, err)
	}
	v.checkPidIpc()
	v.checkProxy()
	v.checkAccelerators()
	v.checkEphemeralStorage()
	v.checkRuntimePlatform()
	return errors.Join(v.errs...)
}

func newTDValidator(td model.TaskDefinition) *tdValidator {
	v := &tdValidator{td: td, fargate: slices.Contains(td.RequiresCompatibilities, model.CompatibilityFargate),
		awsvpc: td.NetworkMode == model.NetworkModeAwsvpc, names: map[string]*model.ContainerDefinition{}, volumes: map[string]bool{}}
	if n, err := model.ParseTaskCPU(td.CPU); td.CPU != "" && err == nil {
		v.cpu = n
	}
	if n, err := model.ParseTaskMemory(td.Memory); td.Memory != "" && err == nil {
		v.memory = n
	}
	for i := range td.ContainerDefinitions {
		c := &td.ContainerDefinitions[i]
		if _, dup := v.names[c.Name]; !dup {
			v.names[c.Name] = c
		}
	}
	for _, vol := range td.Volumes {
		v.volumes[vol.Name] = true
	}
	return v
}

func (v *tdValidator) client(format string, args ...any) {
	v.errs = append(v.errs, apierr.Errorf(apierr.Client, format, args...))
}

func (v *tdValidator) invalid(format string, args ...any) {
	v.errs = append(v.errs, apierr.Errorf(apierr.InvalidParameter, format, args...))
}

// notOnFargate records that a parameter is one Fargate rejects.
func (v *tdValidator) notOnFargate(param string) {
	v.client("Tasks using the Fargate launch type do not support %s.", param)
}

func (v *tdValidator) checkFamily() {
	switch f := v.td.Family; {
	case f == "":
		v.client("Family should not be null or empty.")
	case !familyRE.MatchString(f):
		v.client("Invalid family name '%s': up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.", f)
	}
}

func (v *tdValidator) checkNetworkMode() {
	nm := v.td.NetworkMode
	if nm != "" && !slices.Contains(networkModes, nm) {
		v.invalid("Invalid networkMode '%s'. Valid values are: %s.", nm, strings.Join(networkModes, ", "))
		return
	}
	if v.fargate && nm != model.NetworkModeAwsvpc {
		v.client("Fargate only supports network mode ‘awsvpc’.")
	}
}

func (v *tdValidator) checkContainers() {
	cs := v.td.ContainerDefinitions
	switch {
	case len(cs) == 0:
		v.client("Container list cannot be empty.")
		return
	case len(cs) > maxContainers:
		v.client("Too many containers: %d were given and a task definition can have at most %d.", len(cs), maxContainers)
		return
	}
	seen := map[string]bool{}
	portNames := map[string]bool{}
	essential := false
	for i := range cs {
		c := &cs[i]
		if c.Name != "" && seen[c.Name] {
			v.client("Duplicate container name '%s': container names must be unique within a task definition.", c.Name)
		}
		seen[c.Name] = true
		essential = essential || c.IsEssential()
		v.checkContainer(c, portNames)
	}
	if !essential {
		v.client("Task definition doesn't have any essential container. At least one container must have 'essential' true (the default).")
	}
	v.checkDependencyCycles()
	v.checkContainerSums()
}

func (v *tdValidator) checkVolumes() {
	seen := map[string]bool{}
	for _, vol := range v.td.Volumes {
		switch {
		case !volumeNameRE.MatchString(vol.Name):
			v.client("Invalid volume name '%s': up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.", vol.Name)
		case seen[vol.Name]:
			v.client("Duplicate volume name '%s': volume names must be unique within a task definition.", vol.Name)
		}
		seen[vol.Name] = true
		if efs := vol.EFSVolumeConfiguration; efs != nil {
			v.checkEFSVolume(vol.Name, efs)
		}
		if !v.fargate {
			continue
		}
		if vol.Host != nil && vol.Host.SourcePath != "" {
			v.notOnFargate(fmt.Sprintf("host volumes with a sourcePath (volume '%s'); omit sourcePath for a task-scoped bind mount", vol.Name))
		}
		if vol.DockerVolumeConfiguration != nil {
			v.notOnFargate(fmt.Sprintf("dockerVolumeConfiguration (volume '%s'); use a bind mount or efsVolumeConfiguration", vol.Name))
		}
		if vol.FSxWindowsFileServerVolumeConfiguration != nil && !v.windows() {
			v.notOnFargate(fmt.Sprintf("fsxWindowsFileServerVolumeConfiguration on Linux (volume '%s'); it needs a Windows runtimePlatform.operatingSystemFamily", vol.Name))
		}
	}
}

// windows reports whether the definition asks for a Windows operating system family.
func (v *tdValidator) windows() bool {
	rp := v.td.RuntimePlatform
	return rp != nil && strings.HasPrefix(rp.OperatingSystemFamily, "WINDOWS")
}

var enabledDisabled = []string{"ENABLED", "DISABLED"}

// checkEFSVolume applies the rules of EFSVolumeConfiguration and EFSAuthorizationConfig: a file
// system id, ENABLED or DISABLED switches, transit encryption under IAM authorization or an
// access point, and an access point's root directory left to the access point.
func (v *tdValidator) checkEFSVolume(name string, efs *model.EFSVolumeConfiguration) {
	if efs.FileSystemID == "" {
		v.client("Invalid setting for volume '%s'. efsVolumeConfiguration requires 'fileSystemId'.", name)
	}
	if te := efs.TransitEncryption; te != "" && !slices.Contains(enabledDisabled, te) {
		v.client("Invalid setting for volume '%s'. efsVolumeConfiguration 'transitEncryption' '%s' must be one of: ENABLED, DISABLED.", name, te)
	}
	if p := efs.TransitEncryptionPort; p != nil && (*p < 1 || *p > 65535) {
		v.client("Invalid setting for volume '%s'. efsVolumeConfiguration 'transitEncryptionPort' %d must be between 1 and 65535.", name, *p)
	}
	ac := efs.AuthorizationConfig
	if ac == nil {
		return
	}
	encrypted := efs.TransitEncryption == "ENABLED"
	switch {
	case ac.IAM != "" && !slices.Contains(enabledDisabled, ac.IAM):
		v.client("Invalid setting for volume '%s'. authorizationConfig 'iam' '%s' must be one of: ENABLED, DISABLED.", name, ac.IAM)
	case ac.IAM == "ENABLED" && !encrypted:
		v.client("Invalid setting for volume '%s'. authorizationConfig 'iam' ENABLED requires efsVolumeConfiguration 'transitEncryption' ENABLED.", name)
	}
	if ac.AccessPointID == "" {
		return
	}
	if !encrypted {
		v.client("Invalid setting for volume '%s'. An authorizationConfig 'accessPointId' requires efsVolumeConfiguration 'transitEncryption' ENABLED.", name)
	}
	if rd := efs.RootDirectory; rd != "" && rd != "/" {
		v.client("Invalid setting for volume '%s'. With an authorizationConfig 'accessPointId', 'rootDirectory' must be omitted or '/'; it is '%s'.", name, rd)
	}
}

func (v *tdValidator) checkPlacementConstraints() {
	pcs := v.td.PlacementConstraints
	if len(pcs) == 0 {
		return
	}
	if v.fargate {
		v.notOnFargate("placementConstraints")
		return
	}
	if len(pcs) > maxPlacementCons {
		v.invalid("Too many placementConstraints: a task definition can have at most %d.", maxPlacementCons)
	}
	for _, pc := range pcs {
		if pc.Type != "memberOf" {
			v.invalid("Invalid placement constraint type '%s'. Valid values are: memberOf.", pc.Type)
		}
	}
}

func (v *tdValidator) checkCompatibilities() {
	for _, c := range v.td.RequiresCompatibilities {
		if !slices.Contains(compatibilityVals, c) {
			v.invalid("Invalid requiresCompatibilities value '%s'. Valid values are: %s.", c, strings.Join(compatibilityVals, ", "))
		}
	}
}

// checkTaskSize checks task cpu and memory. ECS answers a value it cannot read, or one outside
// its range, with ClientException "Invalid 'cpu' setting for task." (its troubleshooting guide
// quotes it); the rest of each message names the forms and values allowed.
func (v *tdValidator) checkTaskSize() {
	td := v.td
	if td.CPU != "" && v.cpu == 0 {
		v.client("Invalid 'cpu' setting for task: '%s'. Give cpu units as an integer (\"1024\") or vCPUs (\"1 vCPU\").", td.CPU)
	}
	if td.Memory != "" && v.memory == 0 {
		v.client("Invalid 'memory' setting for task: '%s'. Give memory in MiB as an integer (\"2048\") or in GB (\"2GB\").", td.Memory)
	}
	if !v.fargate {
		if v.cpu != 0 && (v.cpu < minEC2TaskCPU || v.cpu > maxEC2TaskCPU) {
			v.client("Invalid 'cpu' setting for task: %d. Valid values are between %d (0.125 vCPU) and %d (192 vCPU) cpu units.", v.cpu, minEC2TaskCPU, maxEC2TaskCPU)
		}
		return
	}
	switch {
	case td.CPU == "":
		v.client("Fargate requires that 'cpu' be defined at the task level.")
	case td.Memory == "":
		v.client("Fargate requires that 'memory' be defined at the task level.")
	case v.cpu != 0 && v.memory != 0 && !model.IsFargateSize(v.cpu, v.memory):
		v.client("No Fargate configuration exists for given values: %d CPU, %d memory. See the Amazon ECS documentation for the valid values. %s", v.cpu, v.memory, fargateSizeHint(v.cpu))
	case v.windows() && v.cpu != 0 && v.cpu < minFargateWindowsCPU:
		v.client("Invalid 'cpu' setting for task: %d. Windows containers on Fargate need at least %d cpu units (1 vCPU).", v.cpu, minFargateWindowsCPU)
	}
}

// fargateSizeHint names the memory values Fargate allows with cpu, or the cpu values it has.
func fargateSizeHint(cpu int) string {
	var cpus, mems []string
	for _, s := range model.FargateSizes {
		if c := strconv.Itoa(s.CPU); !slices.Contains(cpus, c) {
			cpus = append(cpus, c)
		}
		if s.CPU == cpu {
			mems = append(mems, strconv.Itoa(s.Memory))
		}
	}
	if len(mems) == 0 {
		return fmt.Sprintf("Valid 'cpu' values are: %s.", strings.Join(cpus, ", "))
	}
	return fmt.Sprintf("Valid 'memory' values for %d CPU are: %s.", cpu, strings.Join(mems, ", "))
}

func (v *tdValidator) checkPidIpc() {
	td := v.td
	if td.PidMode != "" && !slices.Contains(pidModes, td.PidMode) {
		v.invalid("Invalid pidMode '%s'. Valid values are: host, task.", td.PidMode)
	} else if v.fargate && td.PidMode == "host" {
		v.client("Tasks using the Fargate launch type do not support pidMode 'host'. The only valid value is 'task'.")
	}
	if td.IpcMode != "" && !slices.Contains(ipcModes, td.IpcMode) {
		v.invalid("Invalid ipcMode '%s'. Valid values are: host, task, none.", td.IpcMode)
	} else if v.fargate && td.IpcMode != "" {
		v.notOnFargate("ipcMode")
	}
}

func (v *tdValidator) checkProxy() {
	p := v.td.ProxyConfiguration
	if p == nil {
		return
	}
	if p.Type != "" && p.Type != "APPMESH" {
		v.invalid("Invalid proxyConfiguration type '%s'. Valid values are: APPMESH.", p.Type)
	}
	if _, ok := v.names[p.ContainerName]; !ok {
		v.client("Invalid proxyConfiguration: container '%s' is not defined in the task definition.", p.ContainerName)
	}
}

func (v *tdValidator) checkAccelerators() {
	if len(v.td.InferenceAccelerators) > 0 && v.fargate {
		v.notOnFargate("inferenceAccelerators")
	}
	for _, a := range v.td.InferenceAccelerators {
		if a.DeviceName == "" || a.DeviceType == "" {
			v.client("Invalid inferenceAccelerators entry: deviceName and deviceType are required.")
		}
	}
}

func (v *tdValidator) checkEphemeralStorage() {
	es := v.td.EphemeralStorage
	if es != nil && (es.SizeInGiB < minEphemeralGiB || es.SizeInGiB > maxEphemeralGiB) {
		v.invalid("Invalid ephemeralStorage sizeInGiB %d: it must be between %d and %d.", es.SizeInGiB, minEphemeralGiB, maxEphemeralGiB)
	}
}

func (v *tdValidator) checkRuntimePlatform() {
	rp := v.td.RuntimePlatform
	if rp == nil {
		return
	}
	if rp.CPUArchitecture != "" && !slices.Contains(cpuArchitectures, rp.CPUArchitecture) {
		v.invalid("Invalid runtimePlatform cpuArchitecture '%s'. Valid values are: %s.", rp.CPUArchitecture, strings.Join(cpuArchitectures, ", "))
	}
	if rp.OperatingSystemFamily != "" && !slices.Contains(osFamilies, rp.OperatingSystemFamily) {
		v.invalid("Invalid runtimePlatform operatingSystemFamily '%s'. Valid values are: %s.", rp.OperatingSystemFamily, strings.Join(osFamilies, ", "))
	}
}

// checkContainerSums compares the containers' reservations with the task's size.
func (v *tdValidator) checkContainerSums() {
	sum := 0
	for _, c := range v.td.ContainerDefinitions {
		sum += c.CPU
		if c.Memory != nil && v.memory > 0 && *c.Memory > v.memory {
			v.client("Invalid setting for container '%s'. Container 'memory' (%d MiB) cannot be greater than the task 'memory' (%d MiB).", c.Name, *c.Memory, v.memory)
		}
		if c.Memory == nil && c.MemoryReservation != nil && v.memory > 0 && *c.MemoryReservation > v.memory {
			v.client("Invalid setting for container '%s'. Container 'memoryReservation' (%d MiB) cannot be greater than the task 'memory' (%d MiB).", c.Name, *c.MemoryReservation, v.memory)
		}
	}
	if v.cpu > 0 && sum > v.cpu {
		v.client("The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'. Containers reserve %d, the task has %d.", sum, v.cpu)
	}
}

// checkDependencyCycles finds a dependsOn cycle by depth-first search in container order.
func (v *tdValidator) checkDependencyCycles() {
	const (
		unseen = iota
		visiting
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(name string) bool
	visit = func(name string) bool {
		switch state[name] {
		case visiting:
			path = append(path, name)
			return true
		case done:
			return false
		}
		state[name] = visiting
		path = append(path, name)
		if c := v.names[name]; c != nil {
			for _, d := range c.DependsOn {
				if d.ContainerName != name && v.names[d.ContainerName] != nil && visit(d.ContainerName) {
					return true
				}
			}
		}
		path = path[:len(path)-1]
		state[name] = done
		return false
	}
	for _, c := range v.td.ContainerDefinitions {
		if visit(c.Name) {
			v.client("Invalid dependsOn: containers form a dependency cycle: %s.", strings.Join(path[slices.Index(path, path[len(path)-1]):], " -> "))
			return
		}
	}
}

// intRange records a failure when p is set outside lo..hi; what names the member.
func (v *tdValidator) intRange(container, what string, p *int, lo, hi int) {
	if p != nil && (*p < lo || *p > hi) {
		v.client("Invalid setting for container '%s'. '%s' is %s and must be between %d and %d.", container, what, strconv.Itoa(*p), lo, hi)
	}
}
