package ops

import (
	"context"
	"errors"
	"fmt"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// TagTaskDefinition adds or overwrites tags on the task definition revision arn names.
func (e *ECS) TagTaskDefinition(ctx context.Context, sc model.Scope, arn string, tags []model.Tag) error {
	if err := validateTagList(tags); err != nil {
		return err
	}
	return e.mutateTaskDefinitionTags(ctx, sc, arn, func(cur []model.Tag) ([]model.Tag, error) {
		return tagsMerged(cur, tags)
	})
}

// UntagTaskDefinition removes the tags with the given keys; unknown keys are ignored.
func (e *ECS) UntagTaskDefinition(ctx context.Context, sc model.Scope, arn string, keys []string) error {
	return e.mutateTaskDefinitionTags(ctx, sc, arn, func(cur []model.Tag) ([]model.Tag, error) {
		return tagsWithout(cur, keys), nil
	})
}

// TaskDefinitionTags returns the tags of the task definition revision arn names.
func (e *ECS) TaskDefinitionTags(ctx context.Context, sc model.Scope, arn string) ([]model.Tag, error) {
	r, err := taggedTaskDefinition(sc, arn)
	if err != nil {
		return nil, err
	}
	if _, err := e.store.TaskDefinitions().Get(ctx, sc, r.Family, r.Revision); err != nil {
		return nil, taskDefinitionTagError(r, err)
	}
	return e.store.TaskDefinitions().Tags(ctx, sc, r.Family, r.Revision)
}

func (e *ECS) mutateTaskDefinitionTags(ctx context.Context, sc model.Scope, arn string, fn func([]model.Tag) ([]model.Tag, error)) error {
	r, err := taggedTaskDefinition(sc, arn)
	if err != nil {
		return err
	}
	_, err = e.store.TaskDefinitions().MutateTags(ctx, sc, r.Family, r.Revision, func(tags *[]model.Tag) error {
		next, err := fn(*tags)
		if err != nil {
			return err
		}
		*tags = next
		return nil
	})
	return taskDefinitionTagError(r, err)
}

// taggedTaskDefinition reads a task definition ARN that names a revision in sc.
func taggedTaskDefinition(sc model.Scope, arn string) (model.TaskDefinitionRef, error) {
	res, err := parseECSResourceARN(arn)
	if err != nil || res.Type != "task-definition" {
		return model.TaskDefinitionRef{}, errInvalidARN
	}
	r, err := model.ParseTaskDefinitionRef(arn)
	if err != nil || r.Revision == 0 {
		return model.TaskDefinitionRef{}, errInvalidARN
	}
	if res.Scope != sc {
		return model.TaskDefinitionRef{}, errTaskDefinitionMissing
	}
	return r, nil
}

func taskDefinitionTagError(r model.TaskDefinitionRef, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, apierr.NotFound):
		return errTaskDefinitionMissing
	}
	return fmt.Errorf("tag task definition %s:%d: %w", r.Family, r.Revision, err)
}
