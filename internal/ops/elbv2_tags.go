package ops

import (
	"context"
	"slices"

	"github.com/gantry-dev/gantry/internal/model"
)

// Tags of load balancers, target groups, listeners and rules, kept on each resource's record.

// ELBTagDescription is the tags of one resource.
type ELBTagDescription struct {
	ResourceARN string
	Tags        []model.Tag
}

// maxTagResources is how many resources one AddTags, RemoveTags or DescribeTags may name.
const maxTagResources = 20

// resourceTags reads the tags of the resource arn.
func (e *ELBv2) resourceTags(ctx context.Context, sc model.Scope, arn string) ([]model.Tag, error) {
	a, ok := model.ParseELBARN(arn)
	if !ok {
		return nil, elbValidation("'%s' is not a valid resource ARN", arn)
	}
	switch a.Kind {
	case "loadbalancer":
		v, err := e.loadBalancer(ctx, sc, arn)
		return v.Value.Tags, err
	case "targetgroup":
		v, err := e.targetGroup(ctx, sc, arn)
		return v.Value.Tags, err
	case "listener":
		v, err := e.listener(ctx, sc, arn)
		return v.Value.Tags, err
	default:
		v, err := e.rule(ctx, sc, arn)
		return v.Value.Tags, err
	}
}

// mutateTags applies fn to the tags of the resource arn.
func (e *ELBv2) mutateTags(ctx context.Context, sc model.Scope, arn string, fn func([]model.Tag) ([]model.Tag, error)) error {
	if _, err := e.resourceTags(ctx, sc, arn); err != nil {
		return err
	}
	a, _ := model.ParseELBARN(arn)
	var err error
	switch a.Kind {
	case "loadbalancer":
		_, err = e.store.LoadBalancers().Mutate(ctx, sc, a.Name, func(v *model.LoadBalancer) (err error) { v.Tags, err = fn(v.Tags); return })
	case "targetgroup":
		_, err = e.store.TargetGroups().Mutate(ctx, sc, a.Name, func(v *model.TargetGroup) (err error) { v.Tags, err = fn(v.Tags); return })
	case "listener":
		_, err = e.store.Listeners().Mutate(ctx, sc, a.Name, a.ListenerID, func(v *model.Listener) (err error) { v.Tags, err = fn(v.Tags); return })
	default:
		if arn == model.DefaultRuleARN(model.ListenerARN(a.LoadBalancerARN(), a.ListenerID)) {
			return elbErrorf(CodeOperationNotPermitted, "gantry does not keep tags on default rules; tag the listener instead")
		}
		_, err = e.store.Rules().Mutate(ctx, sc, a.Name, a.ListenerID, a.RuleID, func(v *model.Rule) (err error) { v.Tags, err = fn(v.Tags); return })
	}
	return err
}

func checkTagARNs(arns []string) error {
	if len(arns) == 0 {
		return elbValidation("Resource ARNs cannot be empty")
	}
	if len(arns) > maxTagResources {
		return elbValidation("At most %d resource ARNs can be specified", maxTagResources)
	}
	return nil
}

// AddTags adds or replaces tags on each resource.
func (e *ELBv2) AddTags(ctx context.Context, sc model.Scope, arns []string, tags []model.Tag) error {
	if err := checkTagARNs(arns); err != nil {
		return err
	}
	if len(tags) == 0 {
		return elbValidation("Tags cannot be empty")
	}
	if err := checkELBTags(tags); err != nil {
		return err
	}
	for _, arn := range uniq(arns) {
		err := e.mutateTags(ctx, sc, arn, func(cur []model.Tag) ([]model.Tag, error) {
			next := mergeTags(cur, tags)
			if len(next) > maxTagsPerResource {
				return nil, elbErrorf(CodeTooManyTags, "The quota for the number of tags that can be assigned to a load balancer resource (%d) has been reached", maxTagsPerResource)
			}
			return next, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// RemoveTags removes the tags with keys from each resource.
func (e *ELBv2) RemoveTags(ctx context.Context, sc model.Scope, arns, keys []string) error {
	if err := checkTagARNs(arns); err != nil {
		return err
	}
	if len(keys) == 0 {
		return elbValidation("Tag keys cannot be empty")
	}
	for _, arn := range uniq(arns) {
		err := e.mutateTags(ctx, sc, arn, func(cur []model.Tag) ([]model.Tag, error) {
			return slices.DeleteFunc(slices.Clone(cur), func(t model.Tag) bool { return slices.Contains(keys, t.Key) }), nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// DescribeTags returns the tags of each resource.
func (e *ELBv2) DescribeTags(ctx context.Context, sc model.Scope, arns []string) ([]ELBTagDescription, error) {
	if err := checkTagARNs(arns); err != nil {
		return nil, err
	}
	out := make([]ELBTagDescription, 0, len(arns))
	for _, arn := range uniq(arns) {
		tags, err := e.resourceTags(ctx, sc, arn)
		if err != nil {
			return nil, err
		}
		out = append(out, ELBTagDescription{ResourceARN: arn, Tags: tags})
	}
	return out, nil
}
