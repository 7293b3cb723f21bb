package ops

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// DefaultClusterName is the cluster used when a request names none; it exists on first use.
const DefaultClusterName = "default"

var clusterNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)

// Limits of the cluster operations.
const (
	maxDescribeClusters    = 100
	defaultListClusters    = 100
	maxServiceConnectNSLen = 1024
)

var errClusterNotFound = apierr.New(apierr.ClusterNotFound, "Cluster not found.")

// ClusterFields says which optional parts of a cluster an answer carries. DescribeClusters
// shows them only when asked through include, as ECS does.
type ClusterFields struct {
	Attachments    bool
	Configurations bool
	Settings       bool
	Statistics     bool
	Tags           bool
}

// mutationFields are the parts a create, update or delete answer carries.
var mutationFields = ClusterFields{Configurations: true, Settings: true, Tags: true}

// ClusterDetail is a cluster with its task and service counts, as the cluster operations answer.
type ClusterDetail struct {
	model.Cluster
	Counts model.ClusterCounts
	Fields ClusterFields
}

// ClusterFailure is an entry of a Describe call's failures list.
type ClusterFailure struct {
	ARN    string
	Reason string
	Detail string
}

// ClusterUpdate is what UpdateCluster changes; nil members stay as they are.
type ClusterUpdate struct {
	Settings      []model.ClusterSetting
	Configuration *model.ClusterConfiguration
	// ServiceConnectNamespace sets the Service Connect default namespace; "" removes it.
	ServiceConnectNamespace *string
}

// clusterCounts counts a cluster's tasks and services by launch type for DescribeClusters and
// DeleteCluster. It is all zeros until tasks and services are stored; the issues that store
// them count here.
func (e *ECS) clusterCounts(ctx context.Context, sc model.Scope, name string) (model.ClusterCounts, error) {
	if h := e.countCluster; h != nil {
		return h(ctx, sc, name)
	}
	return model.ClusterCounts{}, nil
}

func (e *ECS) detail(ctx context.Context, c model.Cluster, f ClusterFields) (ClusterDetail, error) {
	counts, err := e.clusterCounts(ctx, c.Scope, c.Name)
	if err != nil {
		return ClusterDetail{}, fmt.Errorf("count cluster %q: %w", c.Name, err)
	}
	return ClusterDetail{Cluster: c, Counts: counts, Fields: f}, nil
}

// clusterName resolves a cluster name or ARN in sc. ok is false for an ARN of another scope
// or a reference that cannot name a cluster.
func clusterName(sc model.Scope, ref string) (name string, ok bool) {
	if ref == "" {
		return DefaultClusterName, true
	}
	if strings.HasPrefix(ref, "arn:") {
		r, err := parseECSResourceARN(ref)
		if err != nil || r.Type != "cluster" || r.Scope != sc {
			return "", false
		}
		ref = r.ID
	}
	return ref, clusterNameRE.MatchString(ref)
}

// CreateCluster creates a cluster, or returns the existing active one of that name unchanged,
// as ECS does. An INACTIVE cluster of the name is replaced by the new one.
func (e *ECS) CreateCluster(ctx context.Context, c model.Cluster) (ClusterDetail, error) {
	if c.Name == "" {
		c.Name = DefaultClusterName
	}
	if err := validateNewCluster(c); err != nil {
		return ClusterDetail{}, err
	}
	c.Status = model.ClusterActive
	c.CreatedAt = e.now().UTC()
	c.Settings = mergeSettings([]model.ClusterSetting{{Name: model.SettingContainerInsights, Value: model.InsightsDisabled}}, c.Settings)
	for attempt := 0; ; attempt++ {
		_, err := e.store.Clusters().Create(ctx, c)
		if err == nil {
			return e.detail(ctx, c, mutationFields)
		}
		if !errors.Is(err, apierr.AlreadyExists) {
			return ClusterDetail{}, fmt.Errorf("create cluster %q: %w", c.Name, err)
		}
		cur, err := e.store.Clusters().Get(ctx, c.Scope, c.Name)
		switch {
		case errors.Is(err, apierr.NotFound) && attempt < 5:
			continue
		case err != nil:
			return ClusterDetail{}, fmt.Errorf("create cluster %q: %w", c.Name, err)
		case cur.Value.Status == model.ClusterActive:
			return e.detail(ctx, cur.Value, mutationFields)
		}
		_, err = e.store.Clusters().Update(ctx, c, cur.Revision)
		switch {
		case err == nil:
			return e.detail(ctx, c, mutationFields)
		case errors.Is(err, apierr.Conflict) && attempt < 5:
			continue
		}
		return ClusterDetail{}, fmt.Errorf("recreate cluster %q: %w", c.Name, err)
	}
}

func validateNewCluster(c model.Cluster) error {
	if !clusterNameRE.MatchString(c.Name) {
		return apierr.New(apierr.InvalidParameter, "Cluster name can have up to 255 characters: letters (upper and lower case), numbers, underscores, and hyphens.")
	}
	if err := validateTagList(c.Tags); err != nil {
		return err
	}
	if err := validateClusterSettings(c.Settings); err != nil {
		return err
	}
	if err := validateClusterConfiguration(c.Configuration); err != nil {
		return err
	}
	if len(c.CapacityProviders) > 0 || len(c.DefaultCapacityProviderStrategy) > 0 {
		if err := validateCapacityProviders(c.CapacityProviders, c.DefaultCapacityProviderStrategy); err != nil {
			return err
		}
	}
	if c.ServiceConnectDefaultsNamespace == "" {
		return nil
	}
	return validateServiceConnectNamespace(c.ServiceConnectDefaultsNamespace)
}

func validateClusterSettings(settings []model.ClusterSetting) error {
	for _, s := range settings {
		if s.Name != model.SettingContainerInsights {
			return apierr.Errorf(apierr.InvalidParameter, "The setting name %q is not valid. Valid setting names are: containerInsights.", s.Name)
		}
		switch s.Value {
		case model.InsightsEnabled, model.InsightsDisabled, model.InsightsEnhanced:
		default:
			return apierr.Errorf(apierr.InvalidParameter, "The value %q for setting containerInsights is not valid. Valid values are: enabled, disabled, enhanced.", s.Value)
		}
	}
	return nil
}

func validateClusterConfiguration(cf *model.ClusterConfiguration) error {
	if cf == nil {
		return nil
	}
	switch cf.ExecuteCommandLogging {
	case "", model.ExecLoggingNone, model.ExecLoggingDefault, model.ExecLoggingOverride:
	default:
		return apierr.Errorf(apierr.InvalidParameter, "The executeCommandConfiguration logging value %q is not valid. Valid values are: NONE, DEFAULT, OVERRIDE.", cf.ExecuteCommandLogging)
	}
	return nil
}

func validateServiceConnectNamespace(ns string) error {
	if strings.HasPrefix(ns, "arn:") {
		return nil
	}
	if len(ns) > maxServiceConnectNSLen || strings.ContainsAny(ns, `<>"/`) {
		return apierr.New(apierr.InvalidParameter, "The Service Connect namespace name can have up to 1024 characters and can't include greater than (>), less than (<), double quotation marks (\"), or slash (/).")
	}
	return nil
}

// mergeSettings returns cur with each of set applied by name.
func mergeSettings(cur, set []model.ClusterSetting) []model.ClusterSetting {
	out := append([]model.ClusterSetting(nil), cur...)
	for _, s := range set {
		replaced := false
		for i := range out {
			if out[i].Name == s.Name {
				out[i].Value, replaced = s.Value, true
			}
		}
		if !replaced {
			out = append(out, s)
		}
	}
	return out
}

// Cluster returns the active cluster that ref (name or ARN, empty for the default) names. The
// default cluster is created on first use; any other missing cluster is apierr.ClusterNotFound.
func (e *ECS) Cluster(ctx context.Context, sc model.Scope, ref string) (model.Cluster, error) {
	name, ok := clusterName(sc, ref)
	if !ok {
		return model.Cluster{}, errClusterNotFound
	}
	cur, err := e.store.Clusters().Get(ctx, sc, name)
	switch {
	case err == nil && cur.Value.Status == model.ClusterActive:
		return cur.Value, nil
	case name == DefaultClusterName && (err == nil || errors.Is(err, apierr.NotFound)):
		d, err := e.CreateCluster(ctx, model.Cluster{Scope: sc, Name: name})
		return d.Cluster, err
	case err == nil || errors.Is(err, apierr.NotFound):
		return model.Cluster{}, errClusterNotFound
	}
	return model.Cluster{}, err
}

// ParseClusterFields reads DescribeClusters' include list.
func ParseClusterFields(include []string) (ClusterFields, error) {
	var f ClusterFields
	for _, v := range include {
		switch v {
		case "ATTACHMENTS":
			f.Attachments = true
		case "CONFIGURATIONS":
			f.Configurations = true
		case "SETTINGS":
			f.Settings = true
		case "STATISTICS":
			f.Statistics = true
		case "TAGS":
			f.Tags = true
		default:
			return ClusterFields{}, apierr.Errorf(apierr.InvalidParameter, "The include value %q is not valid. Valid values are: ATTACHMENTS, CONFIGURATIONS, SETTINGS, STATISTICS, TAGS.", v)
		}
	}
	return f, nil
}

// DescribeClusters returns the clusters that refs name (the default cluster when refs is empty),
// INACTIVE ones included, and a MISSING failure for each that does not exist. include selects
// the optional parts (ATTACHMENTS, CONFIGURATIONS, SETTINGS, STATISTICS, TAGS). Naming the
// default cluster creates it, as any use does.
func (e *ECS) DescribeClusters(ctx context.Context, sc model.Scope, refs, include []string) ([]ClusterDetail, []ClusterFailure, error) {
	fields, err := ParseClusterFields(include)
	if err != nil {
		return nil, nil, err
	}
	if len(refs) == 0 {
		refs = []string{DefaultClusterName}
	}
	if len(refs) > maxDescribeClusters {
		return nil, nil, apierr.Errorf(apierr.InvalidParameter, "clusters can have at most %d items.", maxDescribeClusters)
	}
	found := []ClusterDetail{}
	failures := []ClusterFailure{}
	for _, ref := range refs {
		c, err := e.describeOne(ctx, sc, ref)
		if errors.Is(err, apierr.NotFound) {
			failures = append(failures, ClusterFailure{ARN: missingClusterARN(sc, ref), Reason: "MISSING"})
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		d, err := e.detail(ctx, c, fields)
		if err != nil {
			return nil, nil, err
		}
		found = append(found, d)
	}
	return found, failures, nil
}

// describeOne reads the cluster ref names in any status; missing is apierr.NotFound.
func (e *ECS) describeOne(ctx context.Context, sc model.Scope, ref string) (model.Cluster, error) {
	name, ok := clusterName(sc, ref)
	if !ok {
		return model.Cluster{}, apierr.NotFound
	}
	cur, err := e.store.Clusters().Get(ctx, sc, name)
	if err == nil {
		return cur.Value, nil
	}
	if name == DefaultClusterName && errors.Is(err, apierr.NotFound) {
		return e.Cluster(ctx, sc, name)
	}
	return model.Cluster{}, err
}

func missingClusterARN(sc model.Scope, ref string) string {
	if strings.HasPrefix(ref, "arn:") {
		return ref
	}
	return model.ClusterARN(sc, ref)
}

// ListClusters returns the ARNs of the active clusters of sc in name order, at most maxResults
// (1 to 100, nil for 100), after the position nextToken holds, and the token of the next page
// ("" at the end).
func (e *ECS) ListClusters(ctx context.Context, sc model.Scope, maxResults *int, nextToken string) ([]string, string, error) {
	limit := defaultListClusters
	if maxResults != nil {
		if *maxResults < 1 || *maxResults > defaultListClusters {
			return nil, "", apierr.Errorf(apierr.InvalidParameter, "maxResults must be between 1 and %d.", defaultListClusters)
		}
		limit = *maxResults
	}
	after, err := decodeNameToken(nextToken)
	if err != nil {
		return nil, "", err
	}
	arns := []string{}
	for {
		page, err := e.store.Clusters().List(ctx, sc, after, limit+1)
		if err != nil {
			return nil, "", fmt.Errorf("list clusters: %w", err)
		}
		for _, it := range page.Items {
			if it.Value.Status != model.ClusterActive {
				continue
			}
			if len(arns) == limit {
				return arns, encodeNameToken(model.ClusterNameFromRef(arns[limit-1])), nil
			}
			arns = append(arns, model.ClusterARN(sc, it.Value.Name))
		}
		if !page.More || len(page.Items) == 0 {
			return arns, "", nil
		}
		after = page.Items[len(page.Items)-1].Value.Name
	}
}

// nameTokenPrefix versions the opaque pagination tokens that hold a resource name.
const nameTokenPrefix = "gantry1:"

func encodeNameToken(name string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(nameTokenPrefix + name))
}

func decodeNameToken(tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	name, ok := strings.CutPrefix(string(raw), nameTokenPrefix)
	if err != nil || !ok || name == "" {
		return "", apierr.New(apierr.InvalidParameter, "The nextToken provided is invalid.")
	}
	return name, nil
}

// DeleteCluster marks the cluster INACTIVE; it stays describable, and CreateCluster of the same
// name makes it ACTIVE again. A cluster with services or tasks is refused, as ECS refuses it.
func (e *ECS) DeleteCluster(ctx context.Context, sc model.Scope, ref string) (ClusterDetail, error) {
	if ref == "" {
		return ClusterDetail{}, apierr.New(apierr.InvalidParameter, "cluster can not be blank.")
	}
	name, ok := clusterName(sc, ref)
	if !ok {
		return ClusterDetail{}, errClusterNotFound
	}
	counts, err := e.clusterCounts(ctx, sc, name)
	if err != nil {
		return ClusterDetail{}, fmt.Errorf("count cluster %q: %w", name, err)
	}
	cur, err := e.store.Clusters().Mutate(ctx, sc, name, func(c *model.Cluster) error {
		if c.Status != model.ClusterActive {
			return errClusterNotFound
		}
		if counts.Services() > 0 {
			return apierr.New(apierr.ClusterContainsServices, "The Cluster cannot be deleted while Services are active.")
		}
		if counts.Tasks() > 0 {
			return apierr.New(apierr.ClusterContainsTasks, "The Cluster cannot be deleted while Tasks are active.")
		}
		c.Status = model.ClusterInactive
		return nil
	})
	if errors.Is(err, apierr.NotFound) {
		return ClusterDetail{}, errClusterNotFound
	}
	if err != nil {
		return ClusterDetail{}, fmt.Errorf("delete cluster %q: %w", name, err)
	}
	return ClusterDetail{Cluster: cur.Value, Counts: counts, Fields: mutationFields}, nil
}

// UpdateCluster changes a cluster's settings, execute-command configuration and Service Connect
// defaults.
func (e *ECS) UpdateCluster(ctx context.Context, sc model.Scope, ref string, u ClusterUpdate) (ClusterDetail, error) {
	if err := validateClusterSettings(u.Settings); err != nil {
		return ClusterDetail{}, err
	}
	if err := validateClusterConfiguration(u.Configuration); err != nil {
		return ClusterDetail{}, err
	}
	if u.ServiceConnectNamespace != nil && *u.ServiceConnectNamespace != "" {
		if err := validateServiceConnectNamespace(*u.ServiceConnectNamespace); err != nil {
			return ClusterDetail{}, err
		}
	}
	return e.mutateCluster(ctx, sc, ref, func(c *model.Cluster) {
		c.Settings = mergeSettings(c.Settings, u.Settings)
		if u.Configuration != nil {
			cf := *u.Configuration
			c.Configuration = &cf
		}
		if u.ServiceConnectNamespace != nil {
			c.ServiceConnectDefaultsNamespace = *u.ServiceConnectNamespace
		}
	})
}

// UpdateClusterSettings changes a cluster's settings.
func (e *ECS) UpdateClusterSettings(ctx context.Context, sc model.Scope, ref string, settings []model.ClusterSetting) (ClusterDetail, error) {
	if len(settings) == 0 {
		return ClusterDetail{}, apierr.New(apierr.InvalidParameter, "settings can not be empty.")
	}
	return e.UpdateCluster(ctx, sc, ref, ClusterUpdate{Settings: settings})
}

// mutateCluster applies fn to the active cluster ref names (creating the default one on first
// use) and answers with the result.
func (e *ECS) mutateCluster(ctx context.Context, sc model.Scope, ref string, fn func(*model.Cluster)) (ClusterDetail, error) {
	if ref == "" {
		return ClusterDetail{}, apierr.New(apierr.InvalidParameter, "cluster can not be blank.")
	}
	c, err := e.Cluster(ctx, sc, ref)
	if err != nil {
		return ClusterDetail{}, err
	}
	cur, err := e.store.Clusters().Mutate(ctx, sc, c.Name, func(c *model.Cluster) error {
		if c.Status != model.ClusterActive {
			return errClusterNotFound
		}
		fn(c)
		return nil
	})
	if err != nil {
		return ClusterDetail{}, fmt.Errorf("update cluster %q: %w", c.Name, err)
	}
	return e.detail(ctx, cur.Value, mutationFields)
}
