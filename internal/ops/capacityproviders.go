package ops

import (
	"context"
	"strconv"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// Capacity provider strategy limits.
const (
	maxStrategyWeight           = 1000
	maxStrategyBase             = 100000
	maxDescribeCapacityProvider = 100
	defaultCapacityProviderPage = 10
)

// CapacityProviderFailure is an entry of DescribeCapacityProviders' failures list.
type CapacityProviderFailure = ClusterFailure

// PutClusterCapacityProviders replaces the capacity providers associated with a cluster and its
// default capacity provider strategy. Only FARGATE and FARGATE_SPOT exist.
func (e *ECS) PutClusterCapacityProviders(ctx context.Context, sc model.Scope, ref string, providers []string, strategy []model.CapacityProviderStrategyItem) (ClusterDetail, error) {
	if err := validateCapacityProviders(providers, strategy); err != nil {
		return ClusterDetail{}, err
	}
	return e.mutateCluster(ctx, sc, ref, func(c *model.Cluster) {
		c.CapacityProviders = append([]string(nil), providers...)
		c.DefaultCapacityProviderStrategy = append([]model.CapacityProviderStrategyItem(nil), strategy...)
	})
}

// validateCapacityProviders checks a cluster's providers and default strategy as ECS does:
// providers must exist and be unique; each strategy item names an associated provider once,
// with weight 0 to 1000 and base 0 to 100000, and at most one item has a base.
func validateCapacityProviders(providers []string, strategy []model.CapacityProviderStrategyItem) error {
	seen := map[string]bool{}
	for _, p := range providers {
		if !model.IsFargateCapacityProvider(p) {
			return apierr.Errorf(apierr.InvalidParameter, "The specified capacity provider %q does not exist. Specify a valid capacity provider (FARGATE or FARGATE_SPOT) and try again.", p)
		}
		if seen[p] {
			return apierr.Errorf(apierr.InvalidParameter, "The specified capacity provider %q is listed more than once. Specify each capacity provider only once and try again.", p)
		}
		seen[p] = true
	}
	inStrategy := map[string]bool{}
	withBase := 0
	for _, it := range strategy {
		if it.CapacityProvider == "" {
			return apierr.New(apierr.InvalidParameter, "The capacityProvider of a capacity provider strategy item can not be blank.")
		}
		if !seen[it.CapacityProvider] {
			return apierr.New(apierr.InvalidParameter, "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.")
		}
		if inStrategy[it.CapacityProvider] {
			return apierr.Errorf(apierr.InvalidParameter, "The specified capacity provider strategy contains the capacity provider %q more than once. Specify each capacity provider only once and try again.", it.CapacityProvider)
		}
		inStrategy[it.CapacityProvider] = true
		if it.Weight < 0 || it.Weight > maxStrategyWeight {
			return apierr.Errorf(apierr.InvalidParameter, "The specified capacity provider strategy weight %d for %q is not valid. The weight must be between 0 and %d.", it.Weight, it.CapacityProvider, maxStrategyWeight)
		}
		if it.Base < 0 || it.Base > maxStrategyBase {
			return apierr.Errorf(apierr.InvalidParameter, "The specified capacity provider strategy base %d for %q is not valid. The base must be between 0 and %d.", it.Base, it.CapacityProvider, maxStrategyBase)
		}
		if it.Base > 0 {
			withBase++
		}
	}
	if withBase > 1 {
		return apierr.New(apierr.InvalidParameter, "The specified capacity provider strategy cannot contain more than one capacity provider with a base value greater than zero. Specify a base for only one capacity provider and try again.")
	}
	return nil
}

// DescribeCapacityProvidersInput is DescribeCapacityProviders' request.
type DescribeCapacityProvidersInput struct {
	// Refs are provider names or ARNs; empty means every provider.
	Refs []string
	// Cluster, when set, limits the answer to the providers associated with that cluster.
	Cluster    string
	MaxResults *int
	NextToken  string
}

// DescribeCapacityProviders describes the built-in Fargate capacity providers, with a MISSING
// failure for each reference to another provider, a page at a time (at most 10).
func (e *ECS) DescribeCapacityProviders(ctx context.Context, sc model.Scope, in DescribeCapacityProvidersInput) ([]model.CapacityProvider, []CapacityProviderFailure, string, error) {
	if len(in.Refs) > maxDescribeCapacityProvider {
		return nil, nil, "", apierr.Errorf(apierr.InvalidParameter, "capacityProviders can have at most %d items.", maxDescribeCapacityProvider)
	}
	limit := defaultCapacityProviderPage
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > defaultCapacityProviderPage {
			return nil, nil, "", apierr.Errorf(apierr.InvalidParameter, "maxResults must be between 1 and %d.", defaultCapacityProviderPage)
		}
		limit = *in.MaxResults
	}
	start, err := decodeOffsetToken(in.NextToken)
	if err != nil {
		return nil, nil, "", err
	}
	all, failures, err := e.capacityProvidersFor(ctx, sc, in)
	if err != nil {
		return nil, nil, "", err
	}
	if start > len(all) {
		return nil, nil, "", apierr.New(apierr.InvalidParameter, "The nextToken provided is invalid.")
	}
	end, next := start+limit, ""
	if end < len(all) {
		next = encodeNameToken(strconv.Itoa(end))
	} else {
		end = len(all)
	}
	if start > 0 {
		failures = []CapacityProviderFailure{}
	}
	return all[start:end], failures, next, nil
}

// capacityProvidersFor resolves the providers a describe call asks for, in the order asked.
func (e *ECS) capacityProvidersFor(ctx context.Context, sc model.Scope, in DescribeCapacityProvidersInput) ([]model.CapacityProvider, []CapacityProviderFailure, error) {
	byName := map[string]model.CapacityProvider{}
	for _, p := range model.FargateCapacityProviders(sc) {
		byName[p.Name] = p
	}
	if in.Cluster != "" {
		c, err := e.Cluster(ctx, sc, in.Cluster)
		if err != nil {
			return nil, nil, err
		}
		associated := map[string]model.CapacityProvider{}
		for _, name := range c.CapacityProviders {
			if p, ok := byName[name]; ok {
				associated[name] = p
			}
		}
		byName = associated
	}
	failures := []CapacityProviderFailure{}
	if len(in.Refs) == 0 {
		var all []model.CapacityProvider
		for _, p := range model.FargateCapacityProviders(sc) {
			if _, ok := byName[p.Name]; ok {
				all = append(all, p)
			}
		}
		return all, failures, nil
	}
	var out []model.CapacityProvider
	for _, ref := range in.Refs {
		name := model.CapacityProviderNameFromRef(ref)
		p, ok := byName[name]
		if !ok || (ref != name && ref != model.CapacityProviderARN(sc, name)) {
			arn := ref
			if ref == name {
				arn = model.CapacityProviderARN(sc, name)
			}
			failures = append(failures, CapacityProviderFailure{ARN: arn, Reason: "MISSING"})
			continue
		}
		out = append(out, p)
	}
	return out, failures, nil
}

func decodeOffsetToken(tok string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	s, err := decodeNameToken(tok)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, apierr.New(apierr.InvalidParameter, "The nextToken provided is invalid.")
	}
	return n, nil
}

// ParseCapacityProviderFields reads DescribeCapacityProviders' include list; it says whether
// tags were asked for.
func ParseCapacityProviderFields(include []string) (tags bool, err error) {
	for _, v := range include {
		if v != "TAGS" {
			return false, apierr.Errorf(apierr.InvalidParameter, "The include value %q is not valid. Valid values are: TAGS.", v)
		}
		tags = true
	}
	return tags, nil
}
