package ops

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// Limits of RunTask, as ECS documents them.
const (
	maxRunTaskCount     = 10
	maxStartedByLen     = 128
	maxGroupLen         = 255
	maxClientTokenLen   = 64
	maxStopReasonLen    = 255
	maxOverridesLen     = 8192
	maxSubnets          = 16
	maxSecurityGroups   = 5
	platformLatest      = "LATEST"
	platformVersion14   = "1.4.0"
	propagateNone       = "NONE"
	propagateTaskDef    = "TASK_DEFINITION"
	propagateService    = "SERVICE"
	assignPublicEnabled = "ENABLED"
	assignPublicOff     = "DISABLED"
)

// errNetworkRequired is ECS's answer to an awsvpc task without a network configuration.
var errNetworkRequired = apierr.New(apierr.InvalidParameter, "Network Configuration must be provided when networkMode 'awsvpc' is specified.")

// validateRunTask checks what RunTask can check without the store.
func validateRunTask(in RunTaskInput) error {
	if in.TaskDefinition == "" {
		return apierr.New(apierr.InvalidParameter, "taskDefinition can not be blank.")
	}
	if in.Count != nil && (*in.Count < 1 || *in.Count > maxRunTaskCount) {
		return apierr.Errorf(apierr.InvalidParameter, "count must be between 1 and %d.", maxRunTaskCount)
	}
	if err := validateLaunchChoice(in.LaunchType, in.CapacityProviderStrategy); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(in.StartedBy); n > maxStartedByLen {
		return apierr.Errorf(apierr.InvalidParameter, "startedBy can have up to %d characters; %d were given.", maxStartedByLen, n)
	}
	if n := utf8.RuneCountInString(in.Group); n > maxGroupLen {
		return apierr.Errorf(apierr.InvalidParameter, "group can have up to %d characters; %d were given.", maxGroupLen, n)
	}
	if err := validateClientToken(in.ClientToken); err != nil {
		return err
	}
	switch in.PropagateTags {
	case "", propagateNone, propagateTaskDef:
	case propagateService:
		return apierr.New(apierr.InvalidParameter, "propagateTags SERVICE is only valid for tasks a service starts. Valid values for RunTask are: TASK_DEFINITION, NONE.")
	default:
		return apierr.Errorf(apierr.InvalidParameter, "propagateTags %q is not valid. Valid values are: TASK_DEFINITION, SERVICE, NONE.", in.PropagateTags)
	}
	switch in.PlatformVersion {
	case "", platformLatest, platformVersion14:
	default:
		return apierr.Errorf(apierr.InvalidParameter, "The specified platform version %q does not exist. Valid values are: LATEST, 1.4.0.", in.PlatformVersion)
	}
	if err := validateTagList(in.Tags); err != nil {
		return err
	}
	if in.Network != nil {
		if err := validateAwsVpc(*in.Network); err != nil {
			return err
		}
	}
	return validateTaskOverride(in.Overrides)
}

// validateLaunchChoice checks launchType and capacityProviderStrategy: Fargate only, not both.
func validateLaunchChoice(launchType string, strategy []model.CapacityProviderStrategyItem) error {
	if launchType != "" && len(strategy) > 0 {
		return apierr.New(apierr.InvalidParameter, "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.")
	}
	switch launchType {
	case "", model.CompatibilityFargate:
	case model.CompatibilityEC2, model.CompatibilityExternal, "MANAGED_INSTANCES":
		return apierr.Errorf(apierr.InvalidParameter, "launchType %s is not supported: gantry runs every task on Fargate. Valid values are: FARGATE.", launchType)
	default:
		return apierr.Errorf(apierr.InvalidParameter, "launchType %q is not valid. Valid values are: FARGATE.", launchType)
	}
	if len(strategy) == 0 {
		return nil
	}
	return validateCapacityProviders([]string{model.CapacityProviderFargate, model.CapacityProviderFargateSpot}, strategy)
}

// validateStrategyFor checks a RunTask capacityProviderStrategy against the cluster, as ECS
// does: every provider in it must be associated with the cluster, and a strategy of several
// providers needs one with a weight above zero to place anything.
func validateStrategyFor(cl model.Cluster, strategy []model.CapacityProviderStrategyItem) error {
	if len(strategy) == 0 {
		return nil
	}
	if err := validateCapacityProviders(cl.CapacityProviders, strategy); err != nil {
		return err
	}
	if len(strategy) > 1 && !slices.ContainsFunc(strategy, func(it model.CapacityProviderStrategyItem) bool { return it.Weight > 0 }) {
		return apierr.New(apierr.InvalidParameter, "The specified capacity provider strategy must contain at least one capacity provider with a weight greater than zero. Specify a weight greater than zero and try again.")
	}
	return nil
}

// validateClientToken checks ECS's rule: up to 64 characters in the range 33 to 126.
func validateClientToken(tok string) error {
	if len(tok) > maxClientTokenLen {
		return apierr.Errorf(apierr.InvalidParameter, "clientToken can have up to %d characters; %d were given.", maxClientTokenLen, len(tok))
	}
	for _, c := range []byte(tok) {
		if c < 33 || c > 126 {
			return apierr.New(apierr.InvalidParameter, "clientToken can contain only the ASCII characters 33 to 126 (no spaces or control characters).")
		}
	}
	return nil
}

// validateAwsVpc checks an awsvpcConfiguration's shape. The subnet and security group ids are
// stored as given; the VPC issue checks that they exist.
func validateAwsVpc(n model.AwsVpcConfiguration) error {
	switch {
	case len(n.Subnets) == 0:
		return apierr.New(apierr.InvalidParameter, "subnets can not be empty.")
	case len(n.Subnets) > maxSubnets:
		return apierr.Errorf(apierr.InvalidParameter, "subnets can have at most %d items; %d were given.", maxSubnets, len(n.Subnets))
	case len(n.SecurityGroups) > maxSecurityGroups:
		return apierr.Errorf(apierr.InvalidParameter, "securityGroups can have at most %d items; %d were given.", maxSecurityGroups, len(n.SecurityGroups))
	}
	for _, s := range n.Subnets {
		if strings.TrimSpace(s) == "" {
			return apierr.New(apierr.InvalidParameter, "subnets can not contain a blank subnet id.")
		}
	}
	switch n.AssignPublicIP {
	case "", assignPublicEnabled, assignPublicOff:
	default:
		return apierr.Errorf(apierr.InvalidParameter, "assignPublicIp %q is not valid. Valid values are: ENABLED, DISABLED.", n.AssignPublicIP)
	}
	return nil
}

// validateTaskOverride checks the overrides' own values; validateOverridesFor checks them
// against the task definition.
//
// A task-level cpu or memory override ECS cannot read gets the answer the same value gets in a
// task definition, ClientException "Invalid 'cpu' setting for task" ('memory' alike): ECS checks
// the task size after overrides with its task definition rules, and the other size failures of
// an override (no Fargate configuration for the values) are ClientException too.
func validateTaskOverride(o model.TaskOverride) error {
	if o.CPU != "" {
		if _, err := model.ParseTaskCPU(o.CPU); err != nil {
			return apierr.Errorf(apierr.Client, "Invalid 'cpu' setting for task: '%s' (overrides.cpu). Give cpu units as an integer (\"1024\") or vCPUs (\"1 vCPU\").", o.CPU)
		}
	}
	if o.Memory != "" {
		if _, err := model.ParseTaskMemory(o.Memory); err != nil {
			return apierr.Errorf(apierr.Client, "Invalid 'memory' setting for task: '%s' (overrides.memory). Give memory in MiB as an integer (\"2048\") or in GB (\"2GB\").", o.Memory)
		}
	}
	if es := o.EphemeralStorage; es != nil && (es.SizeInGiB < minEphemeralGiB || es.SizeInGiB > maxEphemeralGiB) {
		return apierr.Errorf(apierr.InvalidParameter, "Invalid ephemeralStorage sizeInGiB %d: it must be between %d and %d.", es.SizeInGiB, minEphemeralGiB, maxEphemeralGiB)
	}
	if n := containerOverridesLen(o.ContainerOverrides); n > maxOverridesLen {
		return apierr.Errorf(apierr.InvalidParameter, "Container Overrides length must be at most %d", maxOverridesLen)
	}
	seen := map[string]bool{}
	for _, c := range o.ContainerOverrides {
		if c.Name == "" {
			return apierr.New(apierr.InvalidParameter, "Container overrides must name the container they override.")
		}
		if seen[c.Name] {
			return apierr.Errorf(apierr.InvalidParameter, "Container %s is overridden more than once.", c.Name)
		}
		seen[c.Name] = true
		for _, p := range []struct {
			what string
			v    *int
		}{{"cpu", c.CPU}, {"memory", c.Memory}, {"memoryReservation", c.MemoryReservation}} {
			if p.v != nil && *p.v < 0 {
				return apierr.Errorf(apierr.InvalidParameter, "Invalid %s override %d for container %s: it can not be negative.", p.what, *p.v, c.Name)
			}
		}
		if c.Memory != nil && c.MemoryReservation != nil && *c.MemoryReservation > *c.Memory {
			return apierr.Errorf(apierr.InvalidParameter, "Invalid setting for container '%s'. 'memoryReservation' must be less than or equal to 'memory'.", c.Name)
		}
		for _, kv := range c.Environment {
			if kv.Name == "" {
				return apierr.Errorf(apierr.InvalidParameter, "Environment override of container %s has a variable with a blank name.", c.Name)
			}
		}
	}
	return nil
}

// validateOverridesFor checks overrides against td: every overridden container exists, its log
// drivers are ones gantry serves, and the task's size after overrides is a Fargate size. It
// returns that size. RunTask and the service scheduler both start tasks through it.
func validateOverridesFor(td model.TaskDefinition, o model.TaskOverride) (cpu, memory int, err error) {
	for _, c := range o.ContainerOverrides {
		if !slices.ContainsFunc(td.ContainerDefinitions, func(d model.ContainerDefinition) bool { return d.Name == c.Name }) {
			return 0, 0, apierr.Errorf(apierr.InvalidParameter, "Override for container named %s is not a container in the TaskDefinition.", c.Name)
		}
	}
	if err := validateLogDriversServed(td); err != nil {
		return 0, 0, err
	}
	cpuStr, memStr := td.CPU, td.Memory
	if o.CPU != "" {
		cpuStr = o.CPU
	}
	if o.Memory != "" {
		memStr = o.Memory
	}
	cpu, _ = model.ParseTaskCPU(cpuStr)
	memory, _ = model.ParseTaskMemory(memStr)
	switch {
	case cpu == 0:
		return 0, 0, apierr.New(apierr.Client, "Fargate requires that 'cpu' be defined at the task level.")
	case memory == 0:
		return 0, 0, apierr.New(apierr.Client, "Fargate requires that 'memory' be defined at the task level.")
	case !model.IsFargateSize(cpu, memory):
		return 0, 0, apierr.Errorf(apierr.Client, "No Fargate configuration exists for given values: %d CPU, %d memory. See the Amazon ECS documentation for the valid values.", cpu, memory)
	}
	return cpu, memory, nil
}

// containerSize is a container's cpu, memory and memory reservation after its override, as the
// integer strings ECS shows ("" when neither the definition nor the override gives one).
func containerSize(d model.ContainerDefinition, o *model.ContainerOverride) (cpu, memory, reservation string) {
	c, m, r := d.CPU, d.Memory, d.MemoryReservation
	if o != nil {
		if o.CPU != nil {
			c = *o.CPU
		}
		if o.Memory != nil {
			m = o.Memory
		}
		if o.MemoryReservation != nil {
			r = o.MemoryReservation
		}
	}
	cpu = strconv.Itoa(c)
	if m != nil {
		memory = strconv.Itoa(*m)
	}
	if r != nil {
		reservation = strconv.Itoa(*r)
	}
	return cpu, memory, reservation
}

// containerOverridesLen is the length of the container overrides as JSON with ECS's member
// names, which is what ECS limits to 8192 characters ("This limit includes the JSON formatting
// characters of the override structure").
func containerOverridesLen(cs []model.ContainerOverride) int {
	if len(cs) == 0 {
		return 0
	}
	type kv struct {
		Name  string  `json:"name"`
		Value *string `json:"value,omitempty"`
	}
	type typed struct {
		Value string `json:"value"`
		Type  string `json:"type"`
	}
	type override struct {
		Name                 string   `json:"name,omitempty"`
		Command              []string `json:"command,omitempty"`
		Environment          []kv     `json:"environment,omitempty"`
		EnvironmentFiles     []typed  `json:"environmentFiles,omitempty"`
		CPU                  *int     `json:"cpu,omitempty"`
		Memory               *int     `json:"memory,omitempty"`
		MemoryReservation    *int     `json:"memoryReservation,omitempty"`
		ResourceRequirements []typed  `json:"resourceRequirements,omitempty"`
	}
	out := make([]override, len(cs))
	for i, c := range cs {
		o := override{Name: c.Name, Command: c.Command, CPU: c.CPU, Memory: c.Memory, MemoryReservation: c.MemoryReservation}
		for _, e := range c.Environment {
			o.Environment = append(o.Environment, kv{Name: e.Name, Value: e.Value})
		}
		for _, f := range c.EnvironmentFiles {
			o.EnvironmentFiles = append(o.EnvironmentFiles, typed{Value: f.Value, Type: f.Type})
		}
		for _, r := range c.ResourceRequirements {
			o.ResourceRequirements = append(o.ResourceRequirements, typed{Value: r.Value, Type: r.Type})
		}
		out[i] = o
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // "<" is one character to ECS, not six
	if err := enc.Encode(out); err != nil {
		return 0 // plain strings and integers always encode
	}
	return utf8.RuneCountInString(strings.TrimSuffix(b.String(), "\n"))
}

// validateLogDriversServed refuses a task whose containers log with a driver gantry does not
// serve. ECS registers definitions with splunk or awsfirelens (so do we: templates written for
// ECS keep registering), but gantry ships logs through awslogs only; a task that would start
// and silently drop its logs is refused up front with UnsupportedFeatureException instead.
func validateLogDriversServed(td model.TaskDefinition) error {
	for _, c := range td.ContainerDefinitions {
		if lc := c.LogConfiguration; lc != nil && lc.LogDriver != logDriverAwslogs {
			return apierr.Errorf(apierr.Unsupported, "Container '%s' uses log driver '%s', which gantry does not support: tasks can log only with awslogs (or without a logConfiguration).", c.Name, lc.LogDriver)
		}
	}
	return nil
}
