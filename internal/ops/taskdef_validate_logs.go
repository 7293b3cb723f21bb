package ops

import (
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/internal/model"
)

// Checks of a container's logConfiguration at RegisterTaskDefinition, as ECS answers them:
//   - the driver is one ECS knows, and on Fargate one of awslogs, splunk, awsfirelens;
//   - awslogs takes only the options ECS passes on (anything else in options: "Log driver awslogs
//     disallows options: ..."; secretOptions names are not checked against the list), needs awslogs-group and awslogs-region, and on Fargate awslogs-stream-prefix
//     (ECS refuses the definition at registration, not the task at run time);
//   - mode and max-buffer-size, which apply to every driver, have the values Docker accepts, and
//     awslogs-datetime-format and awslogs-multiline-pattern are not both set (Docker refuses that);
//   - secretOptions, like secrets, have a name, a valueFrom that is a Secrets Manager or SSM
//     parameter ARN (or a parameter name), and no name twice.
// Every failure is a ClientException.

const (
	logDriverAwslogs     = "awslogs"
	logOptMode           = "mode"
	logOptMaxBuffer      = "max-buffer-size"
	logOptGroup          = "awslogs-group"
	logOptRegion         = "awslogs-region"
	logOptStreamPrefix   = "awslogs-stream-prefix"
	logOptCreateGroup    = "awslogs-create-group"
	logOptDatetimeFormat = "awslogs-datetime-format"
	logOptMultiline      = "awslogs-multiline-pattern"
	logModeBlocking      = "blocking"
	logModeNonBlocking   = "non-blocking"
)

var (
	logDrivers        = []string{"json-file", "syslog", "journald", "gelf", "fluentd", logDriverAwslogs, "splunk", "awsfirelens"}
	fargateLogDrivers = []string{logDriverAwslogs, "splunk", "awsfirelens"}
	// awslogsOptions are the options ECS accepts for awslogs: those of its developer guide
	// (plus awslogs-endpoint, which Docker's driver takes) and mode and max-buffer-size.
	awslogsOptions = []string{logOptCreateGroup, logOptDatetimeFormat, "awslogs-endpoint", logOptGroup, logOptMultiline,
		logOptRegion, logOptStreamPrefix, logOptMaxBuffer, logOptMode}
	logModes = []string{logModeBlocking, logModeNonBlocking}
	// bufferSizeRE is the size Docker's max-buffer-size takes (go-units RAMInBytes): a number, an
	// optional space, and an optional unit k, m, g, t or p, with optional i and b ("25m", "1.5 MiB").
	bufferSizeRE = regexp.MustCompile(`^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$`)
)

func (v *tdValidator) checkLogConfiguration(c *model.ContainerDefinition) {
	lc := c.LogConfiguration
	if lc == nil {
		return
	}
	switch {
	case !slices.Contains(logDrivers, lc.LogDriver):
		v.client("Invalid setting for container '%s'. Log driver '%s' must be one of: %s.", c.Name, lc.LogDriver, strings.Join(logDrivers, ", "))
		return
	case v.fargate && !slices.Contains(fargateLogDrivers, lc.LogDriver):
		v.client("Tasks using the Fargate launch type do not support log driver '%s'. Valid values are: %s.", lc.LogDriver, strings.Join(fargateLogDrivers, ", "))
		return
	case lc.LogDriver == logDriverAwslogs:
		v.checkAwslogs(c.Name, lc)
	}
	v.checkLogMode(c.Name, lc.Options)
	v.checkSecrets(c.Name, "logConfiguration.secretOptions", lc.SecretOptions)
}

// checkAwslogs checks the awslogs options: known names, the required ones, and their values.
func (v *tdValidator) checkAwslogs(container string, lc *model.LogConfiguration) {
	var unknown []string
	for name := range lc.Options {
		if !slices.Contains(awslogsOptions, name) {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		v.client("Log driver awslogs disallows options: %s", strings.Join(unknown, ", "))
	}
	var missing []string
	for _, opt := range []string{logOptRegion, logOptGroup} {
		if !hasLogOption(lc, opt) {
			missing = append(missing, opt)
		}
	}
	if len(missing) > 0 {
		v.client("Log driver awslogs requires options: %s", strings.Join(missing, ", "))
	}
	if v.fargate && !hasLogOption(lc, logOptStreamPrefix) {
		v.client("Fargate requires log configuration options to include awslogs-stream-prefix to support log driver awslogs.")
	}
	if b, ok := lc.Options[logOptCreateGroup]; ok {
		if _, err := strconv.ParseBool(b); err != nil {
			v.client("Invalid setting for container '%s'. logConfiguration option 'awslogs-create-group' '%s' must be true or false.", container, b)
		}
	}
	if lc.Options[logOptDatetimeFormat] != "" && lc.Options[logOptMultiline] != "" {
		v.client("Invalid setting for container '%s'. You cannot configure both the awslogs-datetime-format and awslogs-multiline-pattern options; set one of them.", container)
	}
}

// hasLogOption says whether opt is set, as an option or as a secret option.
func hasLogOption(lc *model.LogConfiguration, opt string) bool {
	if lc.Options[opt] != "" {
		return true
	}
	return slices.ContainsFunc(lc.SecretOptions, func(s model.Secret) bool { return s.Name == opt && s.ValueFrom != "" })
}

// checkLogMode checks mode and max-buffer-size, which apply to every log driver.
func (v *tdValidator) checkLogMode(container string, opts map[string]string) {
	mode := opts[logOptMode] // empty is unset, as Docker reads it
	if mode != "" && !slices.Contains(logModes, mode) {
		v.client("Invalid setting for container '%s'. logConfiguration option 'mode' '%s' must be one of: %s.", container, mode, strings.Join(logModes, ", "))
	}
	size, ok := opts[logOptMaxBuffer]
	switch {
	case !ok:
	case !bufferSizeRE.MatchString(size):
		v.client("Invalid setting for container '%s'. logConfiguration option 'max-buffer-size' '%s' must be a size: a number with an optional unit k, m, g, t or p, such as 25m.", container, size)
	case mode == logModeBlocking:
		v.client("Invalid setting for container '%s'. logConfiguration option 'max-buffer-size' is only supported with mode non-blocking; mode is blocking.", container)
	}
}

// checkSecrets checks secrets or secretOptions: each has a name (once) and a valueFrom that is
// a Secrets Manager secret ARN, an SSM parameter ARN or an SSM parameter name.
func (v *tdValidator) checkSecrets(container, what string, secrets []model.Secret) {
	seen := map[string]bool{}
	for _, s := range secrets {
		switch {
		case s.Name == "" || s.ValueFrom == "":
			v.client("Invalid setting for container '%s'. Each of '%s' needs a non-empty 'name' and 'valueFrom'.", container, what)
		case seen[s.Name]:
			v.client("Invalid setting for container '%s'. '%s' name '%s' appears more than once; names must be unique.", container, what, s.Name)
		case strings.HasPrefix(s.ValueFrom, "arn:") && !secretARNService(s.ValueFrom):
			v.client("Invalid setting for container '%s'. '%s' valueFrom '%s' must be the ARN of a Secrets Manager secret (arn:aws:secretsmanager:...) or of an SSM parameter (arn:aws:ssm:...), or a parameter name.", container, what, s.ValueFrom)
		}
		seen[s.Name] = true
	}
}

// secretARNService says whether arn names a Secrets Manager secret or an SSM parameter.
func secretARNService(arn string) bool {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[5] == "" {
		return false
	}
	switch parts[2] {
	case "secretsmanager":
		return strings.HasPrefix(parts[5], "secret:")
	case "ssm":
		return strings.HasPrefix(parts[5], "parameter/")
	}
	return false
}
