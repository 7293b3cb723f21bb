package ops

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// DefaultClusterName is the cluster used when a request names none; it exists on first use.
const DefaultClusterName = "default"

var clusterNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)

// CreateCluster creates a cluster, or returns the existing one of that name, as ECS does.
func (e *ECS) CreateCluster(ctx context.Context, c model.Cluster) (model.Cluster, error) {
	if c.Name == "" {
		c.Name = DefaultClusterName
	}
	if !clusterNameRE.MatchString(c.Name) {
		return model.Cluster{}, apierr.New(apierr.InvalidParameter, "Cluster name can have up to 255 characters: letters (upper and lower case), numbers, underscores, and hyphens.")
	}
	c.Status = model.ClusterActive
	c.CreatedAt = e.now().UTC()
	if _, err := e.store.Clusters().Create(ctx, c); err != nil {
		if errors.Is(err, apierr.AlreadyExists) {
			cur, gerr := e.store.Clusters().Get(ctx, c.Scope, c.Name)
			if gerr == nil && cur.Value.Status == model.ClusterActive {
				return cur.Value, nil
			}
			if gerr == nil {
				// An INACTIVE cluster of the same name is replaced by the new one, as on AWS.
				if _, uerr := e.store.Clusters().Update(ctx, c, cur.Revision); uerr != nil {
					return model.Cluster{}, fmt.Errorf("recreate cluster %q: %w", c.Name, uerr)
				}
				return c, nil
			}
			return model.Cluster{}, gerr
		}
		return model.Cluster{}, fmt.Errorf("create cluster %q: %w", c.Name, err)
	}
	return c, nil
}

// Cluster returns the active cluster that ref (name or ARN, empty for the default) names. The
// default cluster is created on first use; any other missing cluster is apierr.ClusterNotFound.
func (e *ECS) Cluster(ctx context.Context, sc model.Scope, ref string) (model.Cluster, error) {
	name := model.ClusterNameFromRef(ref)
	if name == "" {
		name = DefaultClusterName
	}
	cur, err := e.store.Clusters().Get(ctx, sc, name)
	switch {
	case err == nil && cur.Value.Status == model.ClusterActive:
		return cur.Value, nil
	case name == DefaultClusterName && (err == nil || errors.Is(err, apierr.NotFound)):
		return e.CreateCluster(ctx, model.Cluster{Scope: sc, Name: name})
	case err == nil || errors.Is(err, apierr.NotFound):
		return model.Cluster{}, apierr.New(apierr.ClusterNotFound, "Cluster not found.")
	}
	return model.Cluster{}, err
}

// ClusterFailure is an entry of a Describe call's failures list.
type ClusterFailure struct {
	ARN    string
	Reason string
}

// DescribeClusters returns the clusters that refs name (the default cluster when refs is empty)
// and a MISSING failure for each that does not exist.
func (e *ECS) DescribeClusters(ctx context.Context, sc model.Scope, refs []string) ([]model.Cluster, []ClusterFailure, error) {
	if len(refs) == 0 {
		refs = []string{DefaultClusterName}
	}
	if len(refs) > 100 {
		return nil, nil, apierr.New(apierr.InvalidParameter, "clusters can have at most 100 items.")
	}
	var found []model.Cluster
	var failures []ClusterFailure
	for _, ref := range refs {
		name := model.ClusterNameFromRef(ref)
		cur, err := e.store.Clusters().Get(ctx, sc, name)
		switch {
		case err == nil:
			found = append(found, cur.Value)
		case errors.Is(err, apierr.NotFound):
			failures = append(failures, ClusterFailure{ARN: model.ClusterARN(sc, name), Reason: "MISSING"})
		default:
			return nil, nil, err
		}
	}
	return found, failures, nil
}
