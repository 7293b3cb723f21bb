package ops

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/policy"
)

func userNotFound(name string) error {
	return apierr.Errorf(apierr.NotFound, "The user with name %s cannot be found.", name)
}

// CreateUser makes a user.
func (i *IAM) CreateUser(ctx context.Context, account, name, path string, tags []model.Tag) (model.User, error) {
	if err := checkIAMName("userName", name, 64); err != nil {
		return model.User{}, err
	}
	path, err := checkIAMPath("path", path)
	if err != nil {
		return model.User{}, err
	}
	if err := checkIAMTags(tags); err != nil {
		return model.User{}, err
	}
	u := model.User{Account: account, Name: name, Path: path, ID: newIAMID("AIDA", 17), CreatedAt: i.now().UTC().Truncate(time.Second), Tags: tags}
	if _, err := i.store.Users().Create(ctx, u); err != nil {
		if apierr.KindOf(err) == apierr.AlreadyExists {
			return model.User{}, apierr.Errorf(apierr.AlreadyExists, "User with name %s already exists.", name)
		}
		return model.User{}, err
	}
	return u, nil
}

// GetUser reads a user; an empty name is the caller itself, which must then be a user.
func (i *IAM) GetUser(ctx context.Context, account, name string, caller model.Principal) (model.User, error) {
	if name == "" {
		if caller.Kind != model.PrincipalUser {
			return model.User{}, apierr.New(apierr.InvalidParameter, "Must specify userName when calling with non-User credentials")
		}
		name = caller.Name
	}
	if err := checkIAMName("userName", name, 64); err != nil {
		return model.User{}, err
	}
	v, err := i.store.Users().Get(ctx, account, name)
	if apierr.KindOf(err) == apierr.NotFound {
		return model.User{}, userNotFound(name)
	}
	return v.Value, err
}

// ListUsers lists an account's users.
func (i *IAM) ListUsers(ctx context.Context, account string) ([]model.User, error) {
	page, err := i.store.Users().List(ctx, account, "", 0)
	if err != nil {
		return nil, err
	}
	out := make([]model.User, 0, len(page.Items))
	for _, it := range page.Items {
		out = append(out, it.Value)
	}
	return out, nil
}

// DeleteUser deletes a user that has no policies or access keys left.
func (i *IAM) DeleteUser(ctx context.Context, account, name string) error {
	u, err := i.GetUser(ctx, account, name, model.Principal{})
	if err != nil {
		return err
	}
	if len(u.AttachedPolicies) > 0 {
		return apierr.New(apierr.ResourceInUse, "Cannot delete entity, must detach all policies first.")
	}
	if len(u.InlinePolicies) > 0 {
		return apierr.New(apierr.ResourceInUse, "Cannot delete entity, must delete policies first.")
	}
	keys, err := i.ListAccessKeys(ctx, account, name)
	if err != nil {
		return err
	}
	if len(keys) > 0 {
		return apierr.New(apierr.ResourceInUse, "Cannot delete entity, must delete access keys first.")
	}
	v, err := i.store.Users().Get(ctx, account, name)
	if err != nil {
		return err
	}
	return i.store.Users().Delete(ctx, account, name, v.Revision)
}

// maxAccessKeysPerUser is IAM's quota of access keys per user.
const maxAccessKeysPerUser = 2

// CreateAccessKey issues a long-lived access key (AKIA...) for a user; the secret is returned
// only here.
func (i *IAM) CreateAccessKey(ctx context.Context, account, name string, caller model.Principal) (model.Credentials, string, error) {
	u, err := i.GetUser(ctx, account, name, caller)
	if err != nil {
		return model.Credentials{}, "", err
	}
	keys, err := i.ListAccessKeys(ctx, account, u.Name)
	if err != nil {
		return model.Credentials{}, "", err
	}
	if len(keys) >= maxAccessKeysPerUser {
		return model.Credentials{}, "", apierr.Errorf(apierr.LimitExceeded, "Cannot exceed quota for AccessKeysPerUser: %d", maxAccessKeysPerUser)
	}
	now := i.now().UTC().Truncate(time.Second)
	creds := model.Credentials{AccessKeyID: newIAMID("AKIA", 16), SecretAccessKey: newSecretAccessKey()}
	p := model.Principal{Kind: model.PrincipalUser, Account: account, ARN: u.ARN(), UserID: u.ID, Name: u.Name}
	key, err := i.sealKey(creds, p, now)
	if err != nil {
		return model.Credentials{}, "", err
	}
	if _, err := i.store.AccessKeys().Create(ctx, key); err != nil {
		return model.Credentials{}, "", err
	}
	return creds, u.Name, nil
}

// ListAccessKeys lists a user's long-lived access keys.
func (i *IAM) ListAccessKeys(ctx context.Context, account, name string) ([]model.AccessKey, error) {
	page, err := i.store.AccessKeys().List(ctx, "AKIA", "", 0)
	if err != nil {
		return nil, err
	}
	var out []model.AccessKey
	for _, it := range page.Items {
		if p := it.Value.Principal; p.Kind == model.PrincipalUser && p.Account == account && equalFold(p.Name, name) {
			out = append(out, it.Value)
		}
	}
	return out, nil
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }

// DeleteAccessKey deletes a user's access key.
func (i *IAM) DeleteAccessKey(ctx context.Context, account, name, keyID string) error {
	v, err := i.store.AccessKeys().Get(ctx, keyID)
	if err != nil || v.Value.Principal.Account != account || v.Value.Principal.Kind != model.PrincipalUser ||
		(name != "" && !equalFold(v.Value.Principal.Name, name)) {
		if err == nil || apierr.KindOf(err) == apierr.NotFound {
			return apierr.Errorf(apierr.NotFound, "The Access Key with id %s cannot be found.", keyID)
		}
		return err
	}
	return i.store.AccessKeys().Delete(ctx, keyID, v.Revision)
}

// PutUserPolicy adds or replaces a user's inline policy.
func (i *IAM) PutUserPolicy(ctx context.Context, account, user, name, doc string) error {
	if err := checkIAMName("userName", user, 64); err != nil {
		return err
	}
	if err := checkIAMName("policyName", name, 128); err != nil {
		return err
	}
	if _, err := checkPolicyDocument("policyDocument", doc, policy.Identity); err != nil {
		return err
	}
	_, err := i.store.Users().Mutate(ctx, account, user, func(u *model.User) error {
		u.InlinePolicies = putInline(u.InlinePolicies, name, doc)
		return nil
	})
	if apierr.KindOf(err) == apierr.NotFound {
		return userNotFound(user)
	}
	return err
}

// GetUserPolicy reads a user's inline policy.
func (i *IAM) GetUserPolicy(ctx context.Context, account, user, name string) (string, string, error) {
	u, err := i.GetUser(ctx, account, user, model.Principal{})
	if err != nil {
		return "", "", err
	}
	k, doc, ok := inlineNamed(u.InlinePolicies, name)
	if !ok {
		return "", "", apierr.Errorf(apierr.NotFound, "The user policy with name %s cannot be found.", name)
	}
	return k, doc, nil
}

// DeleteUserPolicy deletes a user's inline policy.
func (i *IAM) DeleteUserPolicy(ctx context.Context, account, user, name string) error {
	if _, _, err := i.GetUserPolicy(ctx, account, user, name); err != nil {
		return err
	}
	_, err := i.store.Users().Mutate(ctx, account, user, func(u *model.User) error {
		k, _, ok := inlineNamed(u.InlinePolicies, name)
		if !ok {
			return apierr.Errorf(apierr.NotFound, "The user policy with name %s cannot be found.", name)
		}
		m := map[string]string{}
		for n, d := range u.InlinePolicies {
			if n != k {
				m[n] = d
			}
		}
		u.InlinePolicies = m
		return nil
	})
	return err
}

// AttachUserPolicy attaches a managed policy to a user.
func (i *IAM) AttachUserPolicy(ctx context.Context, account, user, arn string) error {
	if err := checkIAMName("userName", user, 64); err != nil {
		return err
	}
	if _, err := i.attachable(ctx, account, arn); err != nil {
		return err
	}
	_, err := i.store.Users().Mutate(ctx, account, user, func(u *model.User) error {
		if !slices.Contains(u.AttachedPolicies, arn) {
			u.AttachedPolicies = append(u.AttachedPolicies, arn)
		}
		return nil
	})
	if apierr.KindOf(err) == apierr.NotFound {
		return userNotFound(user)
	}
	return err
}

// DetachUserPolicy detaches a managed policy from a user.
func (i *IAM) DetachUserPolicy(ctx context.Context, account, user, arn string) error {
	u, err := i.GetUser(ctx, account, user, model.Principal{})
	if err != nil {
		return err
	}
	if !slices.Contains(u.AttachedPolicies, arn) {
		return policyNotFound(arn)
	}
	_, err = i.store.Users().Mutate(ctx, account, user, func(u *model.User) error {
		u.AttachedPolicies = slices.DeleteFunc(u.AttachedPolicies, func(s string) bool { return s == arn })
		return nil
	})
	return err
}

// ListAttachedUserPolicies lists the managed policies attached to a user.
func (i *IAM) ListAttachedUserPolicies(ctx context.Context, account, user string) ([]model.ManagedPolicy, error) {
	u, err := i.GetUser(ctx, account, user, model.Principal{})
	if err != nil {
		return nil, err
	}
	return i.policiesNamed(ctx, account, u.AttachedPolicies), nil
}

// ListUserPolicies lists the names of a user's inline policies.
func (i *IAM) ListUserPolicies(ctx context.Context, account, user string) ([]string, error) {
	u, err := i.GetUser(ctx, account, user, model.Principal{})
	if err != nil {
		return nil, err
	}
	return sortedPolicyNames(u.InlinePolicies), nil
}
