package ops

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// PutSecretValue adds a version with stages (AWSCURRENT when none are given). Moving
// AWSCURRENT gives the version that held it AWSPREVIOUS. A retry with the same token and value
// changes nothing; the same token with another value is ResourceExistsException.
func (s *Secrets) PutSecretValue(ctx context.Context, sc model.Scope, id, token string, val *SecretValue, stages []string) (SecretVersionOut, error) {
	if val == nil {
		return SecretVersionOut{}, apierr.New(apierr.InvalidParameter, "You must provide either SecretString or SecretBinary.")
	}
	if err := errors.Join(validateSecretValue(val), validateToken(token), validateStages(stages)); err != nil {
		return SecretVersionOut{}, err
	}
	if len(stages) == 0 {
		stages = []string{model.StageCurrent}
	}
	return s.putVersion(ctx, sc, id, token, *val, stages, nil)
}

func validateStages(stages []string) error {
	if len(stages) > 20 {
		return apierr.Errorf(apierr.InvalidParameter, "A version can have at most 20 staging labels; %d were given.", len(stages))
	}
	for _, st := range stages {
		if st == "" || len(st) > 256 {
			return apierr.Errorf(apierr.InvalidParameter, "Staging label %q must have between 1 and 256 characters.", st)
		}
	}
	return nil
}

// putVersion seals val as version token of the secret id and attaches stages; edit, when set,
// also changes the secret's metadata in the same write.
func (s *Secrets) putVersion(ctx context.Context, sc model.Scope, id, token string, val SecretValue, stages []string,
	edit func(*model.ManagedSecret)) (SecretVersionOut, error) {
	got, err := s.find(ctx, sc, id)
	if err != nil {
		return SecretVersionOut{}, err
	}
	if token == "" {
		token = newUUID()
	}
	now := s.now()
	v, err := s.newVersion(got.Value.ARN, token, val, now)
	if err != nil {
		return SecretVersionOut{}, err
	}
	var out SecretVersionOut
	_, err = s.secrets.Mutate(ctx, got.Value.Scope, got.Value.Name, func(sec *model.ManagedSecret) error {
		if sec.Scheduled() {
			return errSecretScheduled
		}
		if old := sec.Version(token); old != nil {
			same, err := s.sameValue(sec.ARN, *old, val)
			if err != nil {
				return err
			}
			if !same {
				return errVersionImmutable
			}
			out = SecretVersionOut{ARN: sec.ARN, Name: sec.Name, VersionID: old.ID, Stages: old.Stages}
			return nil
		}
		if edit != nil {
			edit(sec)
		}
		if sec.Staged(model.StageCurrent) == nil && !slices.Contains(stages, model.StageCurrent) {
			// The first version always becomes AWSCURRENT, whatever stages were asked for.
			stages = append(slices.Clone(stages), model.StageCurrent)
		}
		sec.AddVersion(v, stages)
		sec.ChangedAt = now
		out = SecretVersionOut{ARN: sec.ARN, Name: sec.Name, VersionID: v.ID, Stages: sec.Version(v.ID).Stages}
		return nil
	})
	return out, err
}

// UpdateSecretInput is UpdateSecret's request; nil members are left as they are.
type UpdateSecretInput struct {
	Description *string
	KMSKeyID    *string
	Token       string
	Value       *SecretValue
}

// UpdateSecret changes a secret's description or key, and with a value adds an AWSCURRENT version.
func (s *Secrets) UpdateSecret(ctx context.Context, sc model.Scope, id string, in UpdateSecretInput) (SecretVersionOut, error) {
	if err := errors.Join(validateDescription(in.Description), validateSecretValue(in.Value), validateToken(in.Token)); err != nil {
		return SecretVersionOut{}, err
	}
	edit := func(sec *model.ManagedSecret) {
		if in.Description != nil {
			sec.Description = *in.Description
		}
		if in.KMSKeyID != nil {
			sec.KMSKeyID = *in.KMSKeyID
		}
	}
	if in.Value != nil {
		return s.putVersion(ctx, sc, id, in.Token, *in.Value, []string{model.StageCurrent}, edit)
	}
	got, err := s.find(ctx, sc, id)
	if err != nil {
		return SecretVersionOut{}, err
	}
	_, err = s.secrets.Mutate(ctx, got.Value.Scope, got.Value.Name, func(sec *model.ManagedSecret) error {
		if sec.Scheduled() {
			return errSecretScheduled
		}
		edit(sec)
		sec.ChangedAt = s.now()
		return nil
	})
	return SecretVersionOut{ARN: got.Value.ARN, Name: got.Value.Name}, err
}

// DescribeSecret returns a secret's metadata, its versions without their values.
func (s *Secrets) DescribeSecret(ctx context.Context, sc model.Scope, id string) (model.ManagedSecret, error) {
	got, err := s.find(ctx, sc, id)
	if err != nil {
		return model.ManagedSecret{}, err
	}
	return withoutValues(got.Value), nil
}

// withoutValues drops the sealed values, so metadata answers cannot carry them anywhere.
func withoutValues(sec model.ManagedSecret) model.ManagedSecret {
	vs := make([]model.SecretVersion, 0, len(sec.Versions))
	for _, v := range sec.Versions {
		v.Sealed = nil
		vs = append(vs, v)
	}
	sec.Versions = vs
	return sec
}

// SecretFilter is one ListSecrets filter: Key is name, description, tag-key, tag-value, or all;
// a value matches as a prefix, and a leading ! negates it.
type SecretFilter struct {
	Key    string
	Values []string
}

// SecretQuery is ListSecrets' request.
type SecretQuery struct {
	Filters        []SecretFilter
	IncludeDeleted bool
	Descending     bool
	SortBy         string // created-date (default), name, last-changed-date, last-accessed-date
	MaxResults     int
	Token          string
}

var secretFilterKeys = []string{"description", "name", "tag-key", "tag-value", "primary-region", "owning-service", "all"}

// ListSecrets lists a scope's secrets (by creation date), filtered and paged.
func (s *Secrets) ListSecrets(ctx context.Context, sc model.Scope, q SecretQuery) ([]model.ManagedSecret, string, error) {
	if err := validateSecretQuery(&q); err != nil {
		return nil, "", err
	}
	page, err := s.secrets.List(ctx, sc, "", 0)
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	var out []model.ManagedSecret
	for _, it := range page.Items {
		sec := it.Value
		if sec.Scheduled() && (!q.IncludeDeleted || !now.Before(sec.DeleteAfter)) {
			continue
		}
		if matchesSecretFilters(sec, q.Filters) {
			out = append(out, withoutValues(sec))
		}
	}
	slices.SortStableFunc(out, func(a, b model.ManagedSecret) int {
		if q.Descending {
			a, b = b, a
		}
		switch q.SortBy {
		case "name":
			return strings.Compare(a.Name, b.Name)
		case "last-changed-date":
			return a.ChangedAt.Compare(b.ChangedAt)
		case "last-accessed-date":
			return a.AccessedAt.Compare(b.AccessedAt)
		}
		return a.CreatedAt.Compare(b.CreatedAt)
	})
	return keyedPage(out, func(m model.ManagedSecret) string { return m.Name }, q.Token, q.MaxResults)
}

func validateSecretQuery(q *SecretQuery) error {
	if q.MaxResults == 0 {
		q.MaxResults = 100
	}
	if q.MaxResults < 1 || q.MaxResults > 100 {
		return apierr.Errorf(apierr.InvalidParameter, "MaxResults must be between 1 and 100; %d was given.", q.MaxResults)
	}
	if !slices.Contains([]string{"", "created-date", "name", "last-changed-date", "last-accessed-date"}, q.SortBy) {
		return apierr.Errorf(apierr.InvalidParameter, "1 validation error detected: Value '%s' at 'sortBy' failed to satisfy constraint: Member must satisfy enum value set: [created-date, last-accessed-date, last-changed-date, name]", q.SortBy)
	}
	if len(q.Filters) > 10 {
		return apierr.New(apierr.InvalidParameter, "You can specify at most 10 filters.")
	}
	for _, f := range q.Filters {
		if !slices.Contains(secretFilterKeys, f.Key) {
			return apierr.Errorf(apierr.InvalidParameter, "Invalid filter key %q. Valid keys: %s.", f.Key, strings.Join(secretFilterKeys, ", "))
		}
		if len(f.Values) == 0 || len(f.Values) > 10 {
			return apierr.Errorf(apierr.InvalidParameter, "Filter %q must have between 1 and 10 values.", f.Key)
		}
	}
	return nil
}

// matchesSecretFilters: every filter must match; within one, any value.
func matchesSecretFilters(sec model.ManagedSecret, filters []SecretFilter) bool {
	for _, f := range filters {
		ok := false
		for _, v := range f.Values {
			neg := strings.HasPrefix(v, "!")
			if secretFieldMatch(sec, f.Key, strings.TrimPrefix(v, "!")) != neg {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func secretFieldMatch(sec model.ManagedSecret, key, v string) bool {
	fold := func(s string) bool { return strings.HasPrefix(strings.ToLower(s), strings.ToLower(v)) }
	pre := func(s string) bool { return strings.HasPrefix(s, v) }
	tagMatch := func(match func(string) bool, byKey bool) bool {
		return slices.ContainsFunc(sec.Tags, func(t model.Tag) bool {
			if byKey {
				return match(t.Key)
			}
			return match(t.Value)
		})
	}
	switch key {
	case "name":
		return pre(sec.Name)
	case "description":
		return fold(sec.Description)
	case "tag-key":
		return tagMatch(pre, true)
	case "tag-value":
		return tagMatch(pre, false)
	case "primary-region", "owning-service":
		return false
	}
	return matchAllWords(sec, v)
}

// matchAllWords is the "all" filter: every word of v must start some word (or the whole) of the
// name, description, a tag key or a tag value, ignoring case.
func matchAllWords(sec model.ManagedSecret, v string) bool {
	fields := []string{sec.Name, sec.Description}
	for _, t := range sec.Tags {
		fields = append(fields, t.Key, t.Value)
	}
	var words []string
	for _, f := range fields {
		f = strings.ToLower(f)
		words = append(words, f)
		words = append(words, strings.FieldsFunc(f, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })...)
	}
	for _, w := range strings.Fields(strings.ToLower(v)) {
		if !slices.ContainsFunc(words, func(x string) bool { return strings.HasPrefix(x, w) }) {
			return false
		}
	}
	return true
}

// DeleteSecret schedules a deletion after a recovery window (7 to 30 days, default 30), or
// deletes at once with force. It returns the secret and its deletion date.
func (s *Secrets) DeleteSecret(ctx context.Context, sc model.Scope, id string, windowDays *int, force bool) (model.ManagedSecret, time.Time, error) {
	if windowDays != nil && force {
		return model.ManagedSecret{}, time.Time{}, apierr.New(apierr.InvalidParameter, "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
	}
	days := 30
	if windowDays != nil {
		days = *windowDays
	}
	if days < 7 || days > 30 {
		return model.ManagedSecret{}, time.Time{}, apierr.New(apierr.InvalidParameter, "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
	}
	got, err := s.find(ctx, sc, id)
	if err != nil {
		return model.ManagedSecret{}, time.Time{}, err
	}
	now := s.now()
	if force {
		err := s.secrets.Delete(ctx, got.Value.Scope, got.Value.Name, got.Revision)
		if errors.Is(err, apierr.Conflict) {
			return s.DeleteSecret(ctx, sc, id, nil, true)
		}
		return withoutValues(got.Value), now, err
	}
	v, err := s.secrets.Mutate(ctx, got.Value.Scope, got.Value.Name, func(sec *model.ManagedSecret) error {
		if sec.Scheduled() {
			return apierr.New(apierr.InvalidRequest, "You can't perform this operation on the secret because it was already scheduled for deletion.")
		}
		sec.DeletedAt, sec.DeleteAfter = now, now.Add(time.Duration(days)*24*time.Hour)
		return nil
	})
	if err != nil {
		return model.ManagedSecret{}, time.Time{}, err
	}
	return withoutValues(v.Value), v.Value.DeleteAfter, nil
}

// RestoreSecret cancels a scheduled deletion.
func (s *Secrets) RestoreSecret(ctx context.Context, sc model.Scope, id string) (model.ManagedSecret, error) {
	return s.mutate(ctx, sc, id, false, func(sec *model.ManagedSecret) error {
		sec.DeletedAt, sec.DeleteAfter = time.Time{}, time.Time{}
		return nil
	})
}

// TagSecret adds or replaces tags.
func (s *Secrets) TagSecret(ctx context.Context, sc model.Scope, id string, tags []model.Tag) error {
	if err := validateTagList(tags); err != nil {
		return err
	}
	_, err := s.mutate(ctx, sc, id, true, func(sec *model.ManagedSecret) error {
		merged, err := tagsMerged(sec.Tags, tags)
		sec.Tags = merged
		return err
	})
	return err
}

// UntagSecret removes tags by key.
func (s *Secrets) UntagSecret(ctx context.Context, sc model.Scope, id string, keys []string) error {
	_, err := s.mutate(ctx, sc, id, true, func(sec *model.ManagedSecret) error {
		sec.Tags = tagsWithout(sec.Tags, keys)
		return nil
	})
	return err
}

// mutate applies fn to the secret id; refuseScheduled refuses a secret marked for deletion.
func (s *Secrets) mutate(ctx context.Context, sc model.Scope, id string, refuseScheduled bool, fn func(*model.ManagedSecret) error) (model.ManagedSecret, error) {
	got, err := s.find(ctx, sc, id)
	if err != nil {
		return model.ManagedSecret{}, err
	}
	v, err := s.secrets.Mutate(ctx, got.Value.Scope, got.Value.Name, func(sec *model.ManagedSecret) error {
		if refuseScheduled && sec.Scheduled() {
			return errSecretScheduled
		}
		return fn(sec)
	})
	return withoutValues(v.Value), err
}
