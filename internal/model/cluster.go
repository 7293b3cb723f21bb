package model

import "time"

// Cluster statuses.
const (
	ClusterActive   = "ACTIVE"
	ClusterInactive = "INACTIVE"
)

// Cluster is a named group of tasks and services in one scope.
type Cluster struct {
	Scope     Scope
	Name      string
	Status    string
	CreatedAt time.Time
	Tags      []Tag
	Settings  []ClusterSetting
	// CapacityProviders are the providers associated with the cluster (FARGATE, FARGATE_SPOT).
	CapacityProviders               []string
	DefaultCapacityProviderStrategy []CapacityProviderStrategyItem
	Configuration                   *ClusterConfiguration
	ServiceConnectDefaultsNamespace string
}

// ClusterSetting is a cluster setting such as containerInsights.
type ClusterSetting struct {
	Name  string
	Value string
}

// CapacityProviderStrategyItem weighs one capacity provider in a strategy.
type CapacityProviderStrategyItem struct {
	CapacityProvider string
	Weight           int32
	Base             int32
}

// ClusterConfiguration is the execute-command and managed-storage configuration, kept as given.
type ClusterConfiguration struct {
	ExecuteCommandKmsKeyID   string
	ExecuteCommandLogging    string
	LogConfiguration         *ExecuteCommandLogConfiguration
	ManagedStorageKmsKeyID   string
	FargateEphemeralKmsKeyID string
}

// ExecuteCommandLogConfiguration says where execute-command sessions are logged.
type ExecuteCommandLogConfiguration struct {
	CloudWatchEncryptionEnabled bool
	CloudWatchLogGroupName      string
	S3BucketName                string
	S3EncryptionEnabled         bool
	S3KeyPrefix                 string
}

// Cluster setting names and containerInsights values.
const (
	SettingContainerInsights = "containerInsights"
	InsightsEnabled          = "enabled"
	InsightsDisabled         = "disabled"
	InsightsEnhanced         = "enhanced"
)

// Execute-command logging modes.
const (
	ExecLoggingNone     = "NONE"
	ExecLoggingDefault  = "DEFAULT"
	ExecLoggingOverride = "OVERRIDE"
)

// Setting returns the value of the cluster setting name, or "" when it is not set.
func (c Cluster) Setting(name string) string {
	for _, s := range c.Settings {
		if s.Name == name {
			return s.Value
		}
	}
	return ""
}

// ClusterCounts are a cluster's tasks and services by launch type, as DescribeClusters reports
// them in its statistics.
type ClusterCounts struct {
	RunningEC2Tasks         int
	RunningFargateTasks     int
	PendingEC2Tasks         int
	PendingFargateTasks     int
	ActiveEC2Services       int
	ActiveFargateServices   int
	DrainingEC2Services     int
	DrainingFargateServices int
}

// RunningTasks is the number of running tasks of every launch type.
func (c ClusterCounts) RunningTasks() int { return c.RunningEC2Tasks + c.RunningFargateTasks }

// PendingTasks is the number of pending tasks of every launch type.
func (c ClusterCounts) PendingTasks() int { return c.PendingEC2Tasks + c.PendingFargateTasks }

// ActiveServices is the number of active services of every launch type.
func (c ClusterCounts) ActiveServices() int { return c.ActiveEC2Services + c.ActiveFargateServices }

// Services is the number of services that still hold the cluster (active or draining).
func (c ClusterCounts) Services() int {
	return c.ActiveServices() + c.DrainingEC2Services + c.DrainingFargateServices
}

// Tasks is the number of tasks that still hold the cluster (running or pending).
func (c ClusterCounts) Tasks() int { return c.RunningTasks() + c.PendingTasks() }
