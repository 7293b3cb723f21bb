package store

import (
	"context"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
)

// clusterRecord is a cluster as stored (schema version 1).
type clusterRecord struct {
	Account           string               `json:"account"`
	Region            string               `json:"region"`
	Name              string               `json:"name"`
	Status            string               `json:"status"`
	CreatedAt         time.Time            `json:"createdAt"`
	Tags              []tagRecord          `json:"tags,omitempty"`
	Settings          []settingRecord      `json:"settings,omitempty"`
	CapacityProviders []string             `json:"capacityProviders,omitempty"`
	DefaultStrategy   []strategyItemRecord `json:"defaultStrategy,omitempty"`
	Configuration     *clusterConfigRecord `json:"configuration,omitempty"`
	ServiceConnectNS  string               `json:"serviceConnectNamespace,omitempty"`
}

type tagRecord struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

type settingRecord struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type strategyItemRecord struct {
	CapacityProvider string `json:"capacityProvider"`
	Weight           int32  `json:"weight"`
	Base             int32  `json:"base"`
}

type clusterConfigRecord struct {
	ExecuteCommandKmsKeyID   string               `json:"execKmsKeyId,omitempty"`
	ExecuteCommandLogging    string               `json:"execLogging,omitempty"`
	LogConfiguration         *execLogConfigRecord `json:"execLogConfiguration,omitempty"`
	ManagedStorageKmsKeyID   string               `json:"managedStorageKmsKeyId,omitempty"`
	FargateEphemeralKmsKeyID string               `json:"fargateEphemeralKmsKeyId,omitempty"`
}

type execLogConfigRecord struct {
	CloudWatchEncryptionEnabled bool   `json:"cwEncryption,omitempty"`
	CloudWatchLogGroupName      string `json:"cwLogGroup,omitempty"`
	S3BucketName                string `json:"s3Bucket,omitempty"`
	S3EncryptionEnabled         bool   `json:"s3Encryption,omitempty"`
	S3KeyPrefix                 string `json:"s3KeyPrefix,omitempty"`
}

// Clusters is the repository of ECS clusters, keyed by scope and name.
type Clusters struct {
	t *table[model.Cluster, clusterRecord]
}

// Clusters returns the cluster repository.
func (s *Store) Clusters() Clusters {
	return Clusters{&table[model.Cluster, clusterRecord]{s: s, dir: "ecs/clusters", version: 1,
		toRecord: recordFromCluster, fromRecord: clusterFromRecord}}
}

// ScopeKey is the key prefix of a scope's resources within a repository.
func ScopeKey(sc model.Scope) string { return sc.Account + "/" + sc.Region + "/" }

// Get reads a cluster.
func (c Clusters) Get(ctx context.Context, sc model.Scope, name string) (Versioned[model.Cluster], error) {
	return c.t.Get(ctx, ScopeKey(sc)+name)
}

// Create stores a new cluster; an existing one is apierr.AlreadyExists.
func (c Clusters) Create(ctx context.Context, cl model.Cluster) (int64, error) {
	return c.t.Create(ctx, ScopeKey(cl.Scope)+cl.Name, cl)
}

// Update writes a cluster read at rev.
func (c Clusters) Update(ctx context.Context, cl model.Cluster, rev int64) (int64, error) {
	return c.t.Update(ctx, ScopeKey(cl.Scope)+cl.Name, cl, rev)
}

// Mutate applies fn to a cluster with optimistic retries.
func (c Clusters) Mutate(ctx context.Context, sc model.Scope, name string, fn func(*model.Cluster) error) (Versioned[model.Cluster], error) {
	return c.t.Mutate(ctx, ScopeKey(sc)+name, fn)
}

// Delete removes a cluster read at rev.
func (c Clusters) Delete(ctx context.Context, sc model.Scope, name string, rev int64) error {
	return c.t.Delete(ctx, ScopeKey(sc)+name, rev)
}

// List reads clusters of a scope in name order, after the name after, at most limit.
func (c Clusters) List(ctx context.Context, sc model.Scope, after string, limit int) (Page[model.Cluster], error) {
	a := ""
	if after != "" {
		a = ScopeKey(sc) + after
	}
	return c.t.List(ctx, ScopeKey(sc), a, limit)
}

// Watch streams cluster changes in every scope after rev.
func (c Clusters) Watch(ctx context.Context, rev int64) <-chan Event[model.Cluster] {
	return c.t.Watch(ctx, "", rev)
}

func tagsToRecords(tags []model.Tag) []tagRecord {
	var out []tagRecord
	for _, t := range tags {
		out = append(out, tagRecord{Key: t.Key, Value: t.Value})
	}
	return out
}

func tagsFromRecords(recs []tagRecord) []model.Tag {
	var out []model.Tag
	for _, r := range recs {
		out = append(out, model.Tag{Key: r.Key, Value: r.Value})
	}
	return out
}

func recordFromCluster(c model.Cluster) clusterRecord {
	r := clusterRecord{
		Account: c.Scope.Account, Region: c.Scope.Region, Name: c.Name, Status: c.Status,
		CreatedAt: c.CreatedAt, Tags: tagsToRecords(c.Tags), CapacityProviders: c.CapacityProviders,
		ServiceConnectNS: c.ServiceConnectDefaultsNamespace,
	}
	for _, s := range c.Settings {
		r.Settings = append(r.Settings, settingRecord{Name: s.Name, Value: s.Value})
	}
	for _, s := range c.DefaultCapacityProviderStrategy {
		r.DefaultStrategy = append(r.DefaultStrategy, strategyItemRecord{CapacityProvider: s.CapacityProvider, Weight: s.Weight, Base: s.Base})
	}
	if cf := c.Configuration; cf != nil {
		r.Configuration = &clusterConfigRecord{ExecuteCommandKmsKeyID: cf.ExecuteCommandKmsKeyID,
			ExecuteCommandLogging: cf.ExecuteCommandLogging, ManagedStorageKmsKeyID: cf.ManagedStorageKmsKeyID,
			FargateEphemeralKmsKeyID: cf.FargateEphemeralKmsKeyID}
		if lc := cf.LogConfiguration; lc != nil {
			r.Configuration.LogConfiguration = &execLogConfigRecord{CloudWatchEncryptionEnabled: lc.CloudWatchEncryptionEnabled,
				CloudWatchLogGroupName: lc.CloudWatchLogGroupName, S3BucketName: lc.S3BucketName,
				S3EncryptionEnabled: lc.S3EncryptionEnabled, S3KeyPrefix: lc.S3KeyPrefix}
		}
	}
	return r
}

func clusterFromRecord(r clusterRecord) model.Cluster {
	c := model.Cluster{
		Scope: model.Scope{Account: r.Account, Region: r.Region}, Name: r.Name, Status: r.Status,
		CreatedAt: r.CreatedAt, Tags: tagsFromRecords(r.Tags), CapacityProviders: r.CapacityProviders,
		ServiceConnectDefaultsNamespace: r.ServiceConnectNS,
	}
	for _, s := range r.Settings {
		c.Settings = append(c.Settings, model.ClusterSetting{Name: s.Name, Value: s.Value})
	}
	for _, s := range r.DefaultStrategy {
		c.DefaultCapacityProviderStrategy = append(c.DefaultCapacityProviderStrategy, model.CapacityProviderStrategyItem{CapacityProvider: s.CapacityProvider, Weight: s.Weight, Base: s.Base})
	}
	if cf := r.Configuration; cf != nil {
		c.Configuration = &model.ClusterConfiguration{ExecuteCommandKmsKeyID: cf.ExecuteCommandKmsKeyID,
			ExecuteCommandLogging: cf.ExecuteCommandLogging, ManagedStorageKmsKeyID: cf.ManagedStorageKmsKeyID,
			FargateEphemeralKmsKeyID: cf.FargateEphemeralKmsKeyID}
		if lc := cf.LogConfiguration; lc != nil {
			c.Configuration.LogConfiguration = &model.ExecuteCommandLogConfiguration{CloudWatchEncryptionEnabled: lc.CloudWatchEncryptionEnabled,
				CloudWatchLogGroupName: lc.CloudWatchLogGroupName, S3BucketName: lc.S3BucketName,
				S3EncryptionEnabled: lc.S3EncryptionEnabled, S3KeyPrefix: lc.S3KeyPrefix}
		}
	}
	return c
}
