package ops

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

var paramLabelRE = regexp.MustCompile(`^[A-Za-z0-9_.\-]{1,100}$`)

// LabelParameterVersion attaches labels to a version (the latest when version is 0), moving
// them from other versions. Labels that break the rules are answered as invalid, not attached.
func (m *SSM) LabelParameterVersion(ctx context.Context, sc model.Scope, name string, version int64, labels []string) ([]string, int64, error) {
	if len(labels) < 1 || len(labels) > 10 {
		return nil, 0, apierr.New(apierr.InvalidParameter, "1 validation error detected: Value at 'labels' failed to satisfy constraint: Member must have length less than or equal to 10 and greater than or equal to 1")
	}
	var valid, invalid []string
	for _, l := range labels {
		low := strings.ToLower(l)
		if !paramLabelRE.MatchString(l) || strings.HasPrefix(low, "aws") || strings.HasPrefix(low, "ssm") || (l[0] >= '0' && l[0] <= '9') {
			invalid = append(invalid, l)
		} else {
			valid = append(valid, l)
		}
	}
	var labelled int64
	_, err := m.params.Mutate(ctx, sc, name, func(p *model.Parameter) error {
		v := p.Latest()
		if version != 0 {
			if v = p.Version(version); v == nil {
				return apierr.Errorf(apierr.VersionNotFound, "Systems Manager could not find version %d of %s. Verify the version and try again.", version, name)
			}
		}
		for i := range p.Versions {
			p.Versions[i].Labels = slices.DeleteFunc(p.Versions[i].Labels, func(l string) bool { return slices.Contains(valid, l) })
		}
		for _, l := range valid {
			if !slices.Contains(v.Labels, l) {
				v.Labels = append(v.Labels, l)
			}
		}
		if len(v.Labels) > 10 {
			return apierr.New(apierr.LimitExceeded, "A parameter version can have at most 10 labels.")
		}
		labelled = v.Version
		return nil
	})
	if errors.Is(err, apierr.NotFound) {
		return nil, 0, paramNotFound(name)
	}
	return invalid, labelled, err
}

// checkParameterResource checks a tagging call's resource type; only parameters are served.
func checkParameterResource(resourceType string) error {
	switch resourceType {
	case "Parameter":
		return nil
	case "Document", "ManagedInstance", "MaintenanceWindow", "PatchBaseline", "OpsItem", "OpsMetadata", "Automation", "Association":
		return apierr.Errorf(apierr.Unsupported, "The resource type %s is not served by this endpoint; only Parameter is.", resourceType)
	}
	return apierr.Errorf(apierr.InvalidParameter, "1 validation error detected: Value '%s' at 'resourceType' failed to satisfy constraint: Member must satisfy enum value set: [Document, ManagedInstance, MaintenanceWindow, Parameter, PatchBaseline, OpsItem, OpsMetadata, Automation, Association]", resourceType)
}

// AddTagsToParameter adds or replaces tags of a parameter.
func (m *SSM) AddTagsToParameter(ctx context.Context, sc model.Scope, resourceType, name string, tags []model.Tag) error {
	if err := checkParameterResource(resourceType); err != nil {
		return err
	}
	if err := validateTagList(tags); err != nil {
		return err
	}
	return m.mutateTags(ctx, sc, name, func(cur []model.Tag) ([]model.Tag, error) { return tagsMerged(cur, tags) })
}

// RemoveTagsFromParameter removes tags of a parameter by key.
func (m *SSM) RemoveTagsFromParameter(ctx context.Context, sc model.Scope, resourceType, name string, keys []string) error {
	if err := checkParameterResource(resourceType); err != nil {
		return err
	}
	return m.mutateTags(ctx, sc, name, func(cur []model.Tag) ([]model.Tag, error) { return tagsWithout(cur, keys), nil })
}

// ListParameterTags returns a parameter's tags.
func (m *SSM) ListParameterTags(ctx context.Context, sc model.Scope, resourceType, name string) ([]model.Tag, error) {
	if err := checkParameterResource(resourceType); err != nil {
		return nil, err
	}
	got, err := m.params.Get(ctx, sc, name)
	if errors.Is(err, apierr.NotFound) {
		return nil, apierr.Errorf(apierr.InvalidResourceID, "The resource ID \"%s\" is not valid. Verify the ID and try again.", name)
	}
	return got.Value.Tags, err
}

func (m *SSM) mutateTags(ctx context.Context, sc model.Scope, name string, fn func([]model.Tag) ([]model.Tag, error)) error {
	_, err := m.params.Mutate(ctx, sc, name, func(p *model.Parameter) error {
		tags, err := fn(p.Tags)
		p.Tags = tags
		return err
	})
	if errors.Is(err, apierr.NotFound) {
		return apierr.Errorf(apierr.InvalidResourceID, "The resource ID \"%s\" is not valid. Verify the ID and try again.", name)
	}
	return err
}
