package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// logGroupFromARN returns the group an ARN names: arn:aws:logs:<region>:<account>:log-group:<name>
// with or without a trailing ":*".
func logGroupFromARN(sc model.Scope, arn string) (string, error) {
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) < 7 || parts[0] != "arn" || parts[2] != "logs" || parts[5] != "log-group" {
		return "", apierr.Errorf(apierr.InvalidParameter, "Invalid resourceArn: %s", arn)
	}
	if parts[3] != sc.Region || parts[4] != sc.Account {
		return "", errLogGroupNotFound()
	}
	return strings.TrimSuffix(parts[6], ":*"), nil
}

// TagLogGroup adds or replaces tags of a group (TagLogGroup, TagResource).
func (l *Logs) TagLogGroup(ctx context.Context, sc model.Scope, name string, tags map[string]string) error {
	if len(tags) == 0 {
		return invalidLogsParam("tags", "Member must have length greater than or equal to 1")
	}
	if err := validateLogTags(tags); err != nil {
		return err
	}
	return l.mutateTags(ctx, sc, name, func(m map[string]string) error {
		for k, v := range tags {
			m[k] = v
		}
		if len(m) > 50 {
			return apierr.New(apierr.InvalidParameter, "A resource can have no more than 50 tags.")
		}
		return nil
	})
}

// UntagLogGroup removes tags of a group.
func (l *Logs) UntagLogGroup(ctx context.Context, sc model.Scope, name string, keys []string) error {
	if len(keys) == 0 {
		return invalidLogsParam("tagKeys", "Member must have length greater than or equal to 1")
	}
	return l.mutateTags(ctx, sc, name, func(m map[string]string) error {
		for _, k := range keys {
			delete(m, k)
		}
		return nil
	})
}

// LogGroupTags returns a group's tags.
func (l *Logs) LogGroupTags(ctx context.Context, sc model.Scope, name string) (map[string]string, error) {
	g, err := l.group(ctx, sc, name)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, t := range g.Value.Tags {
		out[t.Key] = t.Value
	}
	return out, nil
}

// TagResource, UntagResource and ListTagsForResource take the group's ARN.

// TagResource tags the log group an ARN names.
func (l *Logs) TagResource(ctx context.Context, sc model.Scope, arn string, tags map[string]string) error {
	name, err := logGroupFromARN(sc, arn)
	if err != nil {
		return err
	}
	return l.TagLogGroup(ctx, sc, name, tags)
}

// UntagResource removes tags of the log group an ARN names.
func (l *Logs) UntagResource(ctx context.Context, sc model.Scope, arn string, keys []string) error {
	name, err := logGroupFromARN(sc, arn)
	if err != nil {
		return err
	}
	return l.UntagLogGroup(ctx, sc, name, keys)
}

// ListTagsForResource returns the tags of the log group an ARN names.
func (l *Logs) ListTagsForResource(ctx context.Context, sc model.Scope, arn string) (map[string]string, error) {
	name, err := logGroupFromARN(sc, arn)
	if err != nil {
		return nil, err
	}
	return l.LogGroupTags(ctx, sc, name)
}

func (l *Logs) mutateTags(ctx context.Context, sc model.Scope, name string, fn func(map[string]string) error) error {
	if _, err := l.group(ctx, sc, name); err != nil {
		return err
	}
	_, err := l.groups.Mutate(ctx, sc, name, func(g *model.LogGroup) error {
		m := map[string]string{}
		for _, t := range g.Tags {
			m[t.Key] = t.Value
		}
		if err := fn(m); err != nil {
			return err
		}
		g.Tags = tagsFromMap(m)
		return nil
	})
	if errors.Is(err, apierr.NotFound) {
		return errLogGroupNotFound()
	}
	if err != nil {
		return fmt.Errorf("tag log group %q: %w", name, err)
	}
	return nil
}
