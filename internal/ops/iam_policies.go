package ops

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/policy"
)

// ECSTaskExecutionRolePolicyARN is the AWS managed policy that ECS task execution roles attach.
const ECSTaskExecutionRolePolicyARN = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"

// awsManagedPolicies are the AWS managed policies gantry knows, with their real documents.
var awsManagedPolicies = map[string]model.ManagedPolicy{
	ECSTaskExecutionRolePolicyARN: {
		Account: "aws", Name: "AmazonECSTaskExecutionRolePolicy", Path: "/service-role/", ID: "ANPAJG4RDAFHNUYAKOD6U",
		Description:    "Provides access to other AWS service resources that are required to run Amazon ECS tasks",
		CreatedAt:      time.Date(2017, 11, 16, 18, 48, 22, 0, time.UTC),
		UpdatedAt:      time.Date(2017, 11, 16, 18, 48, 22, 0, time.UTC),
		DefaultVersion: "v1", NextVersion: 2,
		Versions: []model.PolicyVersion{{ID: "v1", CreatedAt: time.Date(2017, 11, 16, 18, 48, 22, 0, time.UTC), Document: `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "ecr:GetAuthorizationToken",
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
                "logs:CreateLogStream",
                "logs:PutLogEvents"
            ],
            "Resource": "*"
        }
    ]
}`}},
	},
}

// parsePolicyARN splits arn:aws:iam::<account>:policy/<path><name>.
func parsePolicyARN(arn string) (account, path, name string, err error) {
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::")
	if ok {
		var res string
		account, res, ok = strings.Cut(rest, ":")
		if res, ok = strings.CutPrefix(res, "policy/"); ok && res != "" && !strings.HasSuffix(res, "/") {
			slash := strings.LastIndexByte(res, '/')
			return account, "/" + res[:slash+1], res[slash+1:], nil
		}
	}
	if len(arn) < 20 || len(arn) > 2048 {
		return "", "", "", iamValidation("policyArn", arn, "Member must have length between 20 and 2048")
	}
	return "", "", "", apierr.Errorf(apierr.InvalidInput, "ARN %s is not valid.", arn)
}

func policyNotFound(arn string) error {
	return apierr.Errorf(apierr.NotFound, "Policy %s was not found.", arn)
}

// CreatePolicyInput is CreatePolicy's request.
type CreatePolicyInput struct {
	Name, Path, Description, Document string
	Tags                              []model.Tag
}

// CreatePolicy makes a customer managed policy with its first version.
func (i *IAM) CreatePolicy(ctx context.Context, account string, in CreatePolicyInput) (model.ManagedPolicy, error) {
	if err := checkIAMName("policyName", in.Name, 128); err != nil {
		return model.ManagedPolicy{}, err
	}
	path, err := checkIAMPath("path", in.Path)
	if err != nil {
		return model.ManagedPolicy{}, err
	}
	if len(in.Description) > 1000 {
		return model.ManagedPolicy{}, iamValidation("description", in.Description, "Member must have length less than or equal to 1000")
	}
	if _, err := checkPolicyDocument("policyDocument", in.Document, policy.Identity); err != nil {
		return model.ManagedPolicy{}, err
	}
	if err := checkIAMTags(in.Tags); err != nil {
		return model.ManagedPolicy{}, err
	}
	now := i.now().UTC().Truncate(time.Second)
	p := model.ManagedPolicy{Account: account, Name: in.Name, Path: path, ID: newIAMID("ANPA", 17), Description: in.Description,
		CreatedAt: now, UpdatedAt: now, DefaultVersion: "v1", NextVersion: 2, Tags: in.Tags,
		Versions: []model.PolicyVersion{{ID: "v1", Document: in.Document, CreatedAt: now}}}
	if _, err := i.store.Policies().Create(ctx, p); err != nil {
		if apierr.KindOf(err) == apierr.AlreadyExists {
			return model.ManagedPolicy{}, apierr.Errorf(apierr.AlreadyExists, "A policy called %s already exists. Duplicate names are not allowed.", in.Name)
		}
		return model.ManagedPolicy{}, err
	}
	return p, nil
}

// GetPolicy reads a managed policy (a customer one or an AWS managed one) and counts its
// attachments.
func (i *IAM) GetPolicy(ctx context.Context, account, arn string) (model.ManagedPolicy, int, error) {
	p, err := i.policy(ctx, account, arn)
	if err != nil {
		return model.ManagedPolicy{}, 0, err
	}
	n, err := i.attachments(ctx, account, p.ARN())
	return p, n, err
}

func (i *IAM) policy(ctx context.Context, account, arn string) (model.ManagedPolicy, error) {
	if p, ok := awsManagedPolicies[arn]; ok {
		return p, nil
	}
	acct, path, name, err := parsePolicyARN(arn)
	if err != nil {
		return model.ManagedPolicy{}, err
	}
	if acct != account {
		return model.ManagedPolicy{}, policyNotFound(arn)
	}
	v, err := i.store.Policies().Get(ctx, account, name)
	if apierr.KindOf(err) == apierr.NotFound || err == nil && v.Value.Path != path {
		return model.ManagedPolicy{}, policyNotFound(arn)
	}
	return v.Value, err
}

// attachments counts the roles and users a policy is attached to.
func (i *IAM) attachments(ctx context.Context, account, arn string) (int, error) {
	roles, err := i.store.Roles().List(ctx, account, "", 0)
	if err != nil {
		return 0, err
	}
	users, err := i.store.Users().List(ctx, account, "", 0)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range roles.Items {
		if slices.Contains(r.Value.AttachedPolicies, arn) {
			n++
		}
	}
	for _, u := range users.Items {
		if slices.Contains(u.Value.AttachedPolicies, arn) {
			n++
		}
	}
	return n, nil
}

// GetPolicyVersion reads one version of a managed policy.
func (i *IAM) GetPolicyVersion(ctx context.Context, account, arn, versionID string) (model.PolicyVersion, bool, error) {
	p, err := i.policy(ctx, account, arn)
	if err != nil {
		return model.PolicyVersion{}, false, err
	}
	if !validVersionID(versionID) {
		return model.PolicyVersion{}, false, iamValidation("versionId", versionID, `Member must satisfy regular expression pattern: v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`)
	}
	v, ok := p.Version(versionID)
	if !ok {
		return model.PolicyVersion{}, false, apierr.Errorf(apierr.NotFound, "Policy %s version %s does not exist or is not attachable.", arn, versionID)
	}
	return v, versionID == p.DefaultVersion, nil
}

func validVersionID(s string) bool {
	n, err := strconv.Atoi(strings.TrimPrefix(s, "v"))
	return strings.HasPrefix(s, "v") && err == nil && n >= 1
}

// ListPolicyVersions lists a policy's versions, newest first.
func (i *IAM) ListPolicyVersions(ctx context.Context, account, arn string) (model.ManagedPolicy, error) {
	p, err := i.policy(ctx, account, arn)
	if err != nil {
		return p, err
	}
	slices.Reverse(p.Versions)
	return p, nil
}

// CreatePolicyVersion adds a version (at most five are kept), optionally making it the default.
func (i *IAM) CreatePolicyVersion(ctx context.Context, account, arn, doc string, setDefault bool) (model.PolicyVersion, error) {
	if _, ok := awsManagedPolicies[arn]; ok {
		return model.PolicyVersion{}, apierr.Errorf(apierr.AccessDenied, "Cannot modify an AWS managed policy %s.", arn)
	}
	if _, err := i.policy(ctx, account, arn); err != nil {
		return model.PolicyVersion{}, err
	}
	if _, err := checkPolicyDocument("policyDocument", doc, policy.Identity); err != nil {
		return model.PolicyVersion{}, err
	}
	_, _, name, _ := parsePolicyARN(arn)
	var made model.PolicyVersion
	_, err := i.store.Policies().Mutate(ctx, account, name, func(p *model.ManagedPolicy) error {
		if len(p.Versions) >= model.MaxPolicyVersions {
			return apierr.Errorf(apierr.LimitExceeded, "A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", model.MaxPolicyVersions)
		}
		now := i.now().UTC().Truncate(time.Second)
		made = model.PolicyVersion{ID: fmt.Sprintf("v%d", p.NextVersion), Document: doc, CreatedAt: now}
		p.NextVersion++
		p.Versions = append(p.Versions, made)
		p.UpdatedAt = now
		if setDefault {
			p.DefaultVersion = made.ID
		}
		return nil
	})
	return made, err
}

// DeletePolicyVersion deletes a version that is not the default.
func (i *IAM) DeletePolicyVersion(ctx context.Context, account, arn, versionID string) error {
	if _, _, err := i.GetPolicyVersion(ctx, account, arn, versionID); err != nil {
		return err
	}
	_, _, name, _ := parsePolicyARN(arn)
	_, err := i.store.Policies().Mutate(ctx, account, name, func(p *model.ManagedPolicy) error {
		if p.DefaultVersion == versionID {
			return apierr.New(apierr.ResourceInUse, "Cannot delete the default version of a policy.")
		}
		p.Versions = slices.DeleteFunc(p.Versions, func(v model.PolicyVersion) bool { return v.ID == versionID })
		return nil
	})
	return err
}

// DeletePolicy deletes a customer managed policy that is attached nowhere and has no versions
// besides its default.
func (i *IAM) DeletePolicy(ctx context.Context, account, arn string) error {
	if _, ok := awsManagedPolicies[arn]; ok {
		return apierr.Errorf(apierr.AccessDenied, "Cannot delete an AWS managed policy %s.", arn)
	}
	p, n, err := i.GetPolicy(ctx, account, arn)
	if err != nil {
		return err
	}
	if n > 0 {
		return apierr.New(apierr.ResourceInUse, "Cannot delete a policy attached to entities.")
	}
	if len(p.Versions) > 1 {
		return apierr.New(apierr.ResourceInUse, "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
	}
	v, err := i.store.Policies().Get(ctx, account, p.Name)
	if err != nil {
		return err
	}
	return i.store.Policies().Delete(ctx, account, p.Name, v.Revision)
}

// ListPolicies lists the account's customer managed policies (scope "Local"), the AWS managed
// ones ("AWS") or both ("All"), whose path starts with pathPrefix.
func (i *IAM) ListPolicies(ctx context.Context, account, scope, pathPrefix string, onlyAttached bool) ([]model.ManagedPolicy, []int, error) {
	var all []model.ManagedPolicy
	if scope != "Local" {
		for _, p := range awsManagedPolicies {
			all = append(all, p)
		}
	}
	if scope != "AWS" {
		page, err := i.store.Policies().List(ctx, account, "", 0)
		if err != nil {
			return nil, nil, err
		}
		for _, it := range page.Items {
			all = append(all, it.Value)
		}
	}
	var out []model.ManagedPolicy
	var counts []int
	for _, p := range all {
		if pathPrefix != "" && !strings.HasPrefix(p.Path, pathPrefix) {
			continue
		}
		n, err := i.attachments(ctx, account, p.ARN())
		if err != nil {
			return nil, nil, err
		}
		if onlyAttached && n == 0 {
			continue
		}
		out, counts = append(out, p), append(counts, n)
	}
	return out, counts, nil
}

// AttachRolePolicy attaches a managed policy to a role.
func (i *IAM) AttachRolePolicy(ctx context.Context, account, role, arn string) error {
	if err := checkIAMName("roleName", role, 64); err != nil {
		return err
	}
	if _, err := i.attachable(ctx, account, arn); err != nil {
		return err
	}
	_, err := i.store.Roles().Mutate(ctx, account, role, func(r *model.Role) error {
		if !slices.Contains(r.AttachedPolicies, arn) {
			r.AttachedPolicies = append(r.AttachedPolicies, arn)
		}
		return nil
	})
	if apierr.KindOf(err) == apierr.NotFound {
		return roleNotFound(role)
	}
	return err
}

func (i *IAM) attachable(ctx context.Context, account, arn string) (model.ManagedPolicy, error) {
	p, err := i.policy(ctx, account, arn)
	if apierr.KindOf(err) == apierr.NotFound {
		return p, apierr.Errorf(apierr.NotFound, "Policy %s does not exist or is not attachable.", arn)
	}
	return p, err
}

// DetachRolePolicy detaches a managed policy from a role.
func (i *IAM) DetachRolePolicy(ctx context.Context, account, role, arn string) error {
	if err := checkIAMName("roleName", role, 64); err != nil {
		return err
	}
	if _, _, _, err := parsePolicyARN(arn); err != nil {
		if _, ok := awsManagedPolicies[arn]; !ok {
			return err
		}
	}
	if _, err := i.GetRole(ctx, account, role); err != nil {
		return err
	}
	_, err := i.store.Roles().Mutate(ctx, account, role, func(r *model.Role) error {
		if !slices.Contains(r.AttachedPolicies, arn) {
			return policyNotFound(arn)
		}
		r.AttachedPolicies = slices.DeleteFunc(r.AttachedPolicies, func(s string) bool { return s == arn })
		return nil
	})
	return err
}

// ListAttachedRolePolicies lists the managed policies attached to a role.
func (i *IAM) ListAttachedRolePolicies(ctx context.Context, account, role string) ([]model.ManagedPolicy, error) {
	r, err := i.GetRole(ctx, account, role)
	if err != nil {
		return nil, err
	}
	return i.policiesNamed(ctx, account, r.AttachedPolicies), nil
}

// policiesNamed reads the managed policies of arns, skipping any deleted since (DeletePolicy
// refuses attached policies, so none are).
func (i *IAM) policiesNamed(ctx context.Context, account string, arns []string) []model.ManagedPolicy {
	var out []model.ManagedPolicy
	for _, arn := range arns {
		if p, err := i.policy(ctx, account, arn); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// PutRolePolicy adds or replaces a role's inline policy.
func (i *IAM) PutRolePolicy(ctx context.Context, account, role, name, doc string) error {
	if err := checkIAMName("roleName", role, 64); err != nil {
		return err
	}
	if err := checkIAMName("policyName", name, 128); err != nil {
		return err
	}
	if _, err := checkPolicyDocument("policyDocument", doc, policy.Identity); err != nil {
		return err
	}
	_, err := i.store.Roles().Mutate(ctx, account, role, func(r *model.Role) error {
		r.InlinePolicies = putInline(r.InlinePolicies, name, doc)
		return nil
	})
	if apierr.KindOf(err) == apierr.NotFound {
		return roleNotFound(role)
	}
	return err
}

// putInline sets name to doc in a copy of m, replacing a policy of the same name in any case.
func putInline(m map[string]string, name, doc string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if !strings.EqualFold(k, name) {
			out[k] = v
		}
	}
	out[name] = doc
	return out
}

// inlineNamed finds an inline policy by name without case.
func inlineNamed(m map[string]string, name string) (string, string, bool) {
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return k, v, true
		}
	}
	return "", "", false
}

// GetRolePolicy reads a role's inline policy: its name as stored and its document.
func (i *IAM) GetRolePolicy(ctx context.Context, account, role, name string) (string, string, error) {
	if err := checkIAMName("policyName", name, 128); err != nil {
		return "", "", err
	}
	r, err := i.GetRole(ctx, account, role)
	if err != nil {
		return "", "", err
	}
	k, doc, ok := inlineNamed(r.InlinePolicies, name)
	if !ok {
		return "", "", apierr.Errorf(apierr.NotFound, "The role policy with name %s cannot be found.", name)
	}
	return k, doc, nil
}

// DeleteRolePolicy deletes a role's inline policy.
func (i *IAM) DeleteRolePolicy(ctx context.Context, account, role, name string) error {
	if _, _, err := i.GetRolePolicy(ctx, account, role, name); err != nil {
		return err
	}
	_, err := i.store.Roles().Mutate(ctx, account, role, func(r *model.Role) error {
		k, _, ok := inlineNamed(r.InlinePolicies, name)
		if !ok {
			return apierr.Errorf(apierr.NotFound, "The role policy with name %s cannot be found.", name)
		}
		m := map[string]string{}
		for n, d := range r.InlinePolicies {
			if n != k {
				m[n] = d
			}
		}
		r.InlinePolicies = m
		return nil
	})
	return err
}

// ListRolePolicies lists the names of a role's inline policies, sorted.
func (i *IAM) ListRolePolicies(ctx context.Context, account, role string) ([]string, error) {
	r, err := i.GetRole(ctx, account, role)
	if err != nil {
		return nil, err
	}
	return sortedPolicyNames(r.InlinePolicies), nil
}

func sortedPolicyNames(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
