package ops

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// Tag limits of ECS resources.
const (
	maxTagsPerResource = 50
	maxTagKeyLen       = 128
	maxTagValueLen     = 256
)

// tagCharsRE is botocore's TagKey/TagValue pattern: letters, numbers, spaces and + - = . _ : / @.
var tagCharsRE = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

// errInvalidARN is ECS's answer to an ARN it cannot tag.
var errInvalidARN = apierr.New(apierr.InvalidParameter, "The ARN provided is invalid.")

// validateTagList checks tags as ECS does for a create or TagResource call: at most 50, unique
// keys of 1 to 128 characters, values up to 256, the allowed characters, no aws: prefix.
func validateTagList(tags []model.Tag) error {
	if len(tags) > maxTagsPerResource {
		return apierr.Errorf(apierr.InvalidParameter, "Too many tags: %d tags were given and a resource can have at most %d.", len(tags), maxTagsPerResource)
	}
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		if err := validateTagKey(t.Key); err != nil {
			return err
		}
		if n := utf8.RuneCountInString(t.Value); n > maxTagValueLen {
			return apierr.Errorf(apierr.InvalidParameter, "Tag value for key %q has %d characters; a tag value can have at most %d characters.", t.Key, n, maxTagValueLen)
		}
		if !tagCharsRE.MatchString(t.Value) {
			return apierr.Errorf(apierr.InvalidParameter, "Tag value for key %q contains characters that are not allowed. Use letters, numbers, spaces and + - = . _ : / @.", t.Key)
		}
		if reservedTagPrefix(t.Value) {
			return apierr.Errorf(apierr.InvalidParameter, "Tag value for key %q starts with the prefix aws:, which is reserved for AWS use.", t.Key)
		}
		if seen[t.Key] {
			return apierr.Errorf(apierr.InvalidParameter, "Duplicate tag key %q: each tag key must be unique.", t.Key)
		}
		seen[t.Key] = true
	}
	return nil
}

// validateTagKey checks one key, for tagging and untagging alike.
func validateTagKey(key string) error {
	if n := utf8.RuneCountInString(key); n < 1 || n > maxTagKeyLen {
		return apierr.Errorf(apierr.InvalidParameter, "Tag key %q has %d characters; a tag key must have between 1 and %d characters.", key, n, maxTagKeyLen)
	}
	if !tagCharsRE.MatchString(key) {
		return apierr.Errorf(apierr.InvalidParameter, "Tag key %q contains characters that are not allowed. Use letters, numbers, spaces and + - = . _ : / @.", key)
	}
	if reservedTagPrefix(key) {
		return apierr.Errorf(apierr.InvalidParameter, "Tag key %q starts with the prefix aws:, which is reserved for AWS use. Tags with this prefix cannot be added, changed or removed.", key)
	}
	return nil
}

// reservedTagPrefix says whether s starts with aws: in any case.
func reservedTagPrefix(s string) bool {
	return len(s) >= 4 && strings.EqualFold(s[:4], "aws:")
}

// tagsMerged returns cur with add applied: existing keys take the new value, new keys are
// appended in the order given. It fails when the result would exceed the per-resource limit.
func tagsMerged(cur, add []model.Tag) ([]model.Tag, error) {
	out := append([]model.Tag(nil), cur...)
	for _, t := range add {
		i := tagIndex(out, t.Key)
		if i >= 0 {
			out[i].Value = t.Value
			continue
		}
		out = append(out, t)
	}
	if len(out) > maxTagsPerResource {
		return nil, apierr.Errorf(apierr.InvalidParameter, "Too many tags: the resource would have %d tags and a resource can have at most %d.", len(out), maxTagsPerResource)
	}
	return out, nil
}

// tagsWithout returns cur without the tags whose keys are in keys; unknown keys are ignored.
func tagsWithout(cur []model.Tag, keys []string) []model.Tag {
	var out []model.Tag
	for _, t := range cur {
		drop := false
		for _, k := range keys {
			if t.Key == k {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, t)
		}
	}
	return out
}

func tagIndex(tags []model.Tag, key string) int {
	for i, t := range tags {
		if t.Key == key {
			return i
		}
	}
	return -1
}

// ecsResource is a parsed ECS resource ARN: its type ("cluster", "task-definition" ...) and the
// rest after the slash.
type ecsResource struct {
	Scope model.Scope
	Type  string
	ID    string
}

// parseECSResourceARN splits arn:aws:ecs:<region>:<account>:<type>/<id>.
func parseECSResourceARN(arn string) (ecsResource, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "ecs" || parts[3] == "" || parts[4] == "" {
		return ecsResource{}, errInvalidARN
	}
	typ, id, ok := strings.Cut(parts[5], "/")
	if !ok || typ == "" || id == "" {
		return ecsResource{}, errInvalidARN
	}
	return ecsResource{Scope: model.Scope{Region: parts[3], Account: parts[4]}, Type: typ, ID: id}, nil
}

// taggedResource resolves the ARN of a TagResource family call. Resources of another account or
// region are not found, as they are not the caller's.
func taggedResource(sc model.Scope, arn string) (ecsResource, error) {
	if arn == "" {
		return ecsResource{}, apierr.New(apierr.InvalidParameter, "resourceArn can not be blank.")
	}
	r, err := parseECSResourceARN(arn)
	if err != nil {
		return ecsResource{}, err
	}
	switch r.Type {
	case "cluster":
		if strings.Contains(r.ID, "/") {
			return ecsResource{}, errInvalidARN
		}
		if r.Scope != sc {
			return ecsResource{}, apierr.New(apierr.ClusterNotFound, "Cluster not found.")
		}
	case "task-definition":
		family, rev, ok := strings.Cut(r.ID, ":")
		if !ok || family == "" || rev == "" {
			return ecsResource{}, errInvalidARN
		}
	default:
		return ecsResource{}, errInvalidARN
	}
	return r, nil
}

// TagResource adds or overwrites tags on the resource that arn names.
func (e *ECS) TagResource(ctx context.Context, sc model.Scope, arn string, tags []model.Tag) error {
	r, err := taggedResource(sc, arn)
	if err != nil {
		return err
	}
	if len(tags) == 0 {
		return apierr.New(apierr.InvalidParameter, "tags can not be empty.")
	}
	if err := validateTagList(tags); err != nil {
		return err
	}
	if r.Type == "task-definition" {
		return e.TagTaskDefinition(ctx, sc, arn, tags)
	}
	return e.mutateClusterTags(ctx, sc, r.ID, func(cur []model.Tag) ([]model.Tag, error) {
		return tagsMerged(cur, tags)
	})
}

// UntagResource removes the tags with the given keys from the resource that arn names.
func (e *ECS) UntagResource(ctx context.Context, sc model.Scope, arn string, keys []string) error {
	r, err := taggedResource(sc, arn)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return apierr.New(apierr.InvalidParameter, "tagKeys can not be empty.")
	}
	for _, k := range keys {
		if err := validateTagKey(k); err != nil {
			return err
		}
	}
	if r.Type == "task-definition" {
		return e.UntagTaskDefinition(ctx, sc, arn, keys)
	}
	return e.mutateClusterTags(ctx, sc, r.ID, func(cur []model.Tag) ([]model.Tag, error) {
		return tagsWithout(cur, keys), nil
	})
}

// ListTagsForResource returns the tags of the resource that arn names.
func (e *ECS) ListTagsForResource(ctx context.Context, sc model.Scope, arn string) ([]model.Tag, error) {
	r, err := taggedResource(sc, arn)
	if err != nil {
		return nil, err
	}
	if r.Type == "task-definition" {
		return e.TaskDefinitionTags(ctx, sc, arn)
	}
	c, err := e.Cluster(ctx, sc, r.ID)
	if err != nil {
		return nil, err
	}
	return c.Tags, nil
}

// mutateClusterTags rewrites an active cluster's tags with fn. The default cluster is created on
// first use, as everywhere else.
func (e *ECS) mutateClusterTags(ctx context.Context, sc model.Scope, name string, fn func([]model.Tag) ([]model.Tag, error)) error {
	if _, err := e.Cluster(ctx, sc, name); err != nil {
		return err
	}
	_, err := e.store.Clusters().Mutate(ctx, sc, name, func(c *model.Cluster) error {
		if c.Status != model.ClusterActive {
			return apierr.New(apierr.ClusterNotFound, "Cluster not found.")
		}
		tags, err := fn(c.Tags)
		if err != nil {
			return err
		}
		c.Tags = tags
		return nil
	})
	if err != nil {
		return fmt.Errorf("tag cluster %q: %w", name, err)
	}
	return nil
}
