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
