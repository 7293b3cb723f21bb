package ops

import (
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// withLog changes the first container's logConfiguration.
func withLog(mut func(lc *model.LogConfiguration)) func(*model.TaskDefinition) {
	return func(td *model.TaskDefinition) { mut(td.ContainerDefinitions[0].LogConfiguration) }
}

// withLogOpts sets (or, with an empty value, deletes) options of the first container's awslogs.
func withLogOpts(kv ...string) func(*model.TaskDefinition) {
	return withLog(func(lc *model.LogConfiguration) {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(lc.Options, kv[i])
				continue
			}
			lc.Options[kv[i]] = kv[i+1]
		}
	})
}

func TestValidateLogConfigurationRules(t *testing.T) {
	tests := []struct {
		name string
		base func() model.TaskDefinition
		mut  func(*model.TaskDefinition)
		msg  string // the whole first message, or a substring when sub is set
		sub  bool
	}{
		{name: "unknown awslogs option", mut: withLogOpts("awslogs-stream", "mine"),
			msg: "Log driver awslogs disallows options: awslogs-stream"},
		{name: "unknown awslogs options sorted", mut: withLogOpts("log_key", "log", "awslogs-credentials-endpoint", "/creds", "tag", "x"),
			msg: "Log driver awslogs disallows options: awslogs-credentials-endpoint, log_key, tag"},
		{name: "unknown awslogs option on ec2", base: ec2TD, mut: withLogOpts("awslogs-force-flush-interval-seconds", "5"),
			msg: "Log driver awslogs disallows options: awslogs-force-flush-interval-seconds"},
		{name: "missing region and group", mut: withLogOpts("awslogs-region", "", "awslogs-group", ""),
			msg: "Log driver awslogs requires options: awslogs-region, awslogs-group"},
		{name: "missing region", mut: withLogOpts("awslogs-region", ""), msg: "Log driver awslogs requires options: awslogs-region"},
		{name: "empty group is missing", mut: withLogOpts("awslogs-group", ""), msg: "Log driver awslogs requires options: awslogs-group"},
		{name: "missing region on ec2", base: ec2TD, mut: withLogOpts("awslogs-region", ""), msg: "Log driver awslogs requires options: awslogs-region"},
		{name: "fargate stream prefix", mut: withLogOpts("awslogs-stream-prefix", ""),
			msg: "Fargate requires log configuration options to include awslogs-stream-prefix to support log driver awslogs."},
		{name: "mode enum", mut: withLogOpts("mode", "async"),
			msg: "Invalid setting for container 'api'. logConfiguration option 'mode' 'async' must be one of: blocking, non-blocking."},
		{name: "mode case", mut: withLogOpts("mode", "Non-Blocking"), msg: "'mode' 'Non-Blocking' must be one of: blocking, non-blocking.", sub: true},
		{name: "max-buffer-size word", mut: withLogOpts("mode", "non-blocking", "max-buffer-size", "big"),
			msg: "Invalid setting for container 'api'. logConfiguration option 'max-buffer-size' 'big' must be a size: a number with an optional unit k, m, g, t or p, such as 25m."},
		{name: "max-buffer-size unit", mut: withLogOpts("mode", "non-blocking", "max-buffer-size", "25x"), msg: "'max-buffer-size' '25x' must be a size", sub: true},
		{name: "max-buffer-size negative", mut: withLogOpts("max-buffer-size", "-1m"), msg: "'max-buffer-size' '-1m' must be a size", sub: true},
		{name: "max-buffer-size two spaces", mut: withLogOpts("max-buffer-size", "25  m"), msg: "'max-buffer-size' '25  m' must be a size", sub: true},
		{name: "max-buffer-size with blocking", mut: withLogOpts("mode", "blocking", "max-buffer-size", "25m"),
			msg: "Invalid setting for container 'api'. logConfiguration option 'max-buffer-size' is only supported with mode non-blocking; mode is blocking."},
		{name: "mode on splunk", mut: withLog(func(lc *model.LogConfiguration) {
			lc.LogDriver, lc.Options = "splunk", map[string]string{"mode": "sometimes"}
		}), msg: "'mode' 'sometimes' must be one of: blocking, non-blocking.", sub: true},
		{name: "max-buffer-size on ec2 json-file", base: ec2TD, mut: withLog(func(lc *model.LogConfiguration) {
			lc.LogDriver, lc.Options = "json-file", map[string]string{"max-buffer-size": "lots"}
		}), msg: "'max-buffer-size' 'lots' must be a size", sub: true},
		{name: "datetime and multiline", mut: withLogOpts("awslogs-datetime-format", `\[%b %d, %Y %H:%M:%S\]`, "awslogs-multiline-pattern", `^INFO`),
			msg: "Invalid setting for container 'api'. You cannot configure both the awslogs-datetime-format and awslogs-multiline-pattern options; set one of them."},
		{name: "create group bool", mut: withLogOpts("awslogs-create-group", "yes"),
			msg: "Invalid setting for container 'api'. logConfiguration option 'awslogs-create-group' 'yes' must be true or false."},
		{name: "unknown before required", mut: withLogOpts("awslogs-stream", "s", "awslogs-group", ""), msg: "Log driver awslogs disallows options: awslogs-stream"},
		{name: "secret option without valueFrom", mut: withLog(func(lc *model.LogConfiguration) {
			lc.SecretOptions = []model.Secret{{Name: "awslogs-group"}}
		}), msg: "Invalid setting for container 'api'. Each of 'logConfiguration.secretOptions' needs a non-empty 'name' and 'valueFrom'."},
		{name: "secret option without name", mut: withLog(func(lc *model.LogConfiguration) {
			lc.LogDriver, lc.SecretOptions = "splunk", []model.Secret{{ValueFrom: "/splunk/token"}}
		}), msg: "needs a non-empty 'name' and 'valueFrom'", sub: true},
		{name: "secret option twice", mut: withLog(func(lc *model.LogConfiguration) {
			lc.LogDriver = "splunk"
			lc.SecretOptions = []model.Secret{{Name: "splunk-token", ValueFrom: "/a"}, {Name: "splunk-token", ValueFrom: "/b"}}
		}), msg: "Invalid setting for container 'api'. 'logConfiguration.secretOptions' name 'splunk-token' appears more than once; names must be unique."},
		{name: "secret option arn of another service", mut: withLog(func(lc *model.LogConfiguration) {
			lc.LogDriver = "splunk"
			lc.SecretOptions = []model.Secret{{Name: "splunk-token", ValueFrom: "arn:aws:s3:::bucket/token"}}
		}), msg: "'logConfiguration.secretOptions' valueFrom 'arn:aws:s3:::bucket/token' must be the ARN of a Secrets Manager secret", sub: true},
		{name: "secret option ssm arn without parameter", mut: withLog(func(lc *model.LogConfiguration) {
			lc.LogDriver = "splunk"
			lc.SecretOptions = []model.Secret{{Name: "splunk-token", ValueFrom: "arn:aws:ssm:us-east-1:000000000000:document/x"}}
		}), msg: "must be the ARN of a Secrets Manager secret (arn:aws:secretsmanager:...) or of an SSM parameter (arn:aws:ssm:...), or a parameter name.", sub: true},
		{name: "container secret arn shape", mut: func(td *model.TaskDefinition) {
			td.ContainerDefinitions[0].Secrets = []model.Secret{{Name: "DB", ValueFrom: "arn:aws:secretsmanager:us-east-1:000000000000:db"}}
		}, msg: "'secrets' valueFrom 'arn:aws:secretsmanager:us-east-1:000000000000:db' must be the ARN", sub: true},
		{name: "container secret names unique", mut: func(td *model.TaskDefinition) {
			td.ContainerDefinitions[0].Secrets = []model.Secret{{Name: "DB", ValueFrom: "/a"}, {Name: "DB", ValueFrom: "/b"}}
		}, msg: "'secrets' name 'DB' appears more than once", sub: true},
		{name: "log driver enum", mut: withLog(func(lc *model.LogConfiguration) { lc.LogDriver = "loki" }),
			msg: "Invalid setting for container 'api'. Log driver 'loki' must be one of: json-file, syslog, journald, gelf, fluentd, awslogs, splunk, awsfirelens."},
		{name: "fargate log driver", mut: withLog(func(lc *model.LogConfiguration) { lc.LogDriver = "gelf" }),
			msg: "Tasks using the Fargate launch type do not support log driver 'gelf'. Valid values are: awslogs, splunk, awsfirelens."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := fargateTD
			if tt.base != nil {
				base = tt.base
			}
			td := base()
			tt.mut(&td)
			err := validateTaskDefinition(td, nil)
			if err == nil {
				t.Fatalf("validateTaskDefinition passed, want ClientException %q", tt.msg)
			}
			if k := apierr.KindOf(err); k != apierr.Client {
				t.Errorf("kind = %s, want %s (message %q)", k, apierr.Client, apierr.Message(err))
			}
			msg := apierr.Message(err)
			if tt.sub && !strings.Contains(msg, tt.msg) || !tt.sub && msg != tt.msg {
				t.Errorf("message = %q, want %q", msg, tt.msg)
			}
		})
	}
}

func TestValidateLogConfigurationAccepts(t *testing.T) {
	tests := []struct {
		name string
		base func() model.TaskDefinition
		mut  func(*model.TaskDefinition)
	}{
		{name: "every awslogs option", mut: withLogOpts("awslogs-create-group", "true", "awslogs-datetime-format", "%Y-%m-%d",
			"awslogs-endpoint", "https://logs.us-east-1.amazonaws.com", "mode", "non-blocking", "max-buffer-size", "25m")},
		{name: "multiline pattern alone", mut: withLogOpts("awslogs-multiline-pattern", `^\d{4}-`, "awslogs-create-group", "False")},
		{name: "blocking mode", mut: withLogOpts("mode", "blocking")},
		{name: "buffer without mode (ECS defaults to non-blocking)", mut: withLogOpts("max-buffer-size", "10m")},
		{name: "buffer in bytes", mut: withLogOpts("mode", "non-blocking", "max-buffer-size", "1048576")},
		{name: "buffer 1.5 MiB", mut: withLogOpts("mode", "non-blocking", "max-buffer-size", "1.5 MiB")},
		{name: "buffer 2G", mut: withLogOpts("mode", "non-blocking", "max-buffer-size", "2G")},
		{name: "buffer 512kb", mut: withLogOpts("mode", "non-blocking", "max-buffer-size", "512kb")},
		{name: "empty mode is unset", mut: withLog(func(lc *model.LogConfiguration) { lc.Options["mode"] = "" })},
		{name: "ec2 without stream prefix", base: ec2TD, mut: withLogOpts("awslogs-stream-prefix", "")},
		{name: "group and region as secret options", mut: func(td *model.TaskDefinition) {
			lc := td.ContainerDefinitions[0].LogConfiguration
			delete(lc.Options, "awslogs-group")
			lc.SecretOptions = []model.Secret{{Name: "awslogs-group", ValueFrom: "arn:aws:ssm:us-east-1:000000000000:parameter/log/group"}}
		}},
		{name: "splunk with token secret", mut: withLog(func(lc *model.LogConfiguration) {
			lc.LogDriver = "splunk"
			lc.Options = map[string]string{"splunk-url": "https://splunk:8088", "mode": "non-blocking"}
			lc.SecretOptions = []model.Secret{{Name: "splunk-token", ValueFrom: "arn:aws:secretsmanager:us-east-1:000000000000:secret:splunk-AbCdEf"}}
		})},
		{name: "awsfirelens with its options", mut: withLog(func(lc *model.LogConfiguration) {
			lc.LogDriver = "awsfirelens"
			lc.Options = map[string]string{"Name": "cloudwatch", "region": "us-east-1", "log_key": "log", "log-driver-buffer-limit": "2097152"}
			lc.SecretOptions = []model.Secret{{Name: "apikey", ValueFrom: "/firelens/key"}}
		})},
		{name: "container secrets of every shape", mut: func(td *model.TaskDefinition) {
			td.ContainerDefinitions[0].Secrets = []model.Secret{
				{Name: "A", ValueFrom: "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf:password::"},
				{Name: "B", ValueFrom: "arn:aws:ssm:us-east-1:000000000000:parameter/app/b"},
				{Name: "C", ValueFrom: "app-c"}, {Name: "D", ValueFrom: "/app/d"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := fargateTD
			if tt.base != nil {
				base = tt.base
			}
			td := base()
			tt.mut(&td)
			if err := validateTaskDefinition(td, nil); err != nil {
				t.Fatalf("validateTaskDefinition: %v", err)
			}
		})
	}
}

// TestRunTaskLogDriversServed: a definition ECS registers with splunk or awsfirelens is refused
// when a task would start from it (RunTask and services), with UnsupportedFeatureException.
func TestRunTaskLogDriversServed(t *testing.T) {
	for _, driver := range []string{"splunk", "awsfirelens"} {
		t.Run(driver, func(t *testing.T) {
			td := fargateTD()
			td.ContainerDefinitions = append(td.ContainerDefinitions, sidecar("router", func(c *model.ContainerDefinition) {
				c.LogConfiguration = &model.LogConfiguration{LogDriver: driver}
			}))
			if err := validateTaskDefinition(td, nil); err != nil {
				t.Fatalf("ECS registers a %s definition; validateTaskDefinition: %v", driver, err)
			}
			_, _, err := validateOverridesFor(td, model.TaskOverride{})
			if k := apierr.KindOf(err); k != apierr.Unsupported {
				t.Fatalf("kind = %s (%v), want %s", k, err, apierr.Unsupported)
			}
			want := "Container 'router' uses log driver '" + driver + "', which gantry does not support: tasks can log only with awslogs (or without a logConfiguration)."
			if msg := apierr.Message(err); msg != want {
				t.Fatalf("message = %q, want %q", msg, want)
			}
		})
	}
	td := fargateTD()
	td.ContainerDefinitions = append(td.ContainerDefinitions, sidecar("quiet", nil))
	if cpu, mem, err := validateOverridesFor(td, model.TaskOverride{}); err != nil || cpu != 512 || mem != 1024 {
		t.Fatalf("awslogs and no logConfiguration: %d %d %v", cpu, mem, err)
	}
}

// TestTaskOverrideSizeAnswers: an unreadable task cpu or memory override gets the ClientException
// a task definition with the same value gets.
func TestTaskOverrideSizeAnswers(t *testing.T) {
	tests := []struct {
		name  string
		o     model.TaskOverride
		mut   func(*model.TaskDefinition)
		field string
	}{
		{"cpu", model.TaskOverride{CPU: "lots"}, func(td *model.TaskDefinition) { td.CPU = "lots" }, "cpu"},
		{"memory", model.TaskOverride{Memory: "1TBish"}, func(td *model.TaskDefinition) { td.Memory = "1TBish" }, "memory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateTaskOverride(tt.o)
			td := fargateTD()
			tt.mut(&td)
			tdErr := validateTaskDefinition(td, nil)
			if apierr.KindOf(err) != apierr.Client || apierr.KindOf(tdErr) != apierr.Client {
				t.Fatalf("kinds: override %s (%v), definition %s (%v); want both %s", apierr.KindOf(err), err, apierr.KindOf(tdErr), tdErr, apierr.Client)
			}
			prefix := "Invalid '" + tt.field + "' setting for task: "
			if !strings.HasPrefix(apierr.Message(err), prefix) || !strings.HasPrefix(apierr.Message(tdErr), prefix) {
				t.Fatalf("messages %q and %q, want both to start %q", apierr.Message(err), apierr.Message(tdErr), prefix)
			}
			if !strings.Contains(apierr.Message(err), "(overrides."+tt.field+")") {
				t.Fatalf("override message %q does not name overrides.%s", apierr.Message(err), tt.field)
			}
		})
	}
}
