package ops

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/policy"
	"github.com/gantry-dev/gantry/internal/sealer"
	"github.com/gantry-dev/gantry/internal/store"
)

// IAM serves the IAM and STS operations, issues temporary credentials for task roles, and
// decides requests with the caller's identity policies when enforcement is on.
type IAM struct {
	store  *store.Store
	seal   *sealer.Sealer
	now    model.Clock
	logger *slog.Logger
	// enforce makes AssumeRole check the role's trust policy against the caller.
	enforce bool

	mu      sync.Mutex
	root    map[string]string // bootstrap root access key id -> secret, never stored
	lastGC  time.Time
	gcEvery time.Duration
	// parsedDocs caches parsed identity policies by document (sts.go).
	parsedDocs map[string]*policy.Policy
}

// NewIAM returns the IAM and STS operations over s; seal protects secrets and session tokens.
func NewIAM(s *store.Store, seal *sealer.Sealer, logger *slog.Logger) *IAM {
	return &IAM{store: s, seal: seal, now: time.Now, logger: logger.With("component", "ops.iam"),
		root: map[string]string{}, gcEvery: time.Minute, parsedDocs: map[string]*policy.Policy{}}
}

// SetClock replaces the clock, for tests.
func (i *IAM) SetClock(c model.Clock) { i.now = c }

// SetEnforce turns the trust-policy check of AssumeRole on or off.
func (i *IAM) SetEnforce(on bool) { i.enforce = on }

// SetRootKey registers a bootstrap access key of the account's root user (allowed everything).
// It lives in memory only: the flags that name it are the source of truth at every start.
func (i *IAM) SetRootKey(accessKeyID, secret string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.root[accessKeyID] = secret
}

// Limits and patterns of the IAM API (botocore iam/2010-05-08).
const (
	minSessionDuration     = 3600
	maxSessionDurationMax  = 43200
	maxPolicyDocumentChars = 131072
)

var (
	reIAMName     = regexp.MustCompile(`^[\w+=,.@-]+$`)
	reIAMPath     = regexp.MustCompile(`^(/|/[\x21-\x7E]+/)$`)
	reRoleSession = regexp.MustCompile(`^[\w+=,.@-]*$`)
)

// validationError words a constraint failure as IAM's ValidationError does.
func iamValidation(member, value, constraint string) error {
	return apierr.Errorf(apierr.InvalidParameter,
		"1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, member, constraint)
}

func checkIAMName(member, v string, maxLen int) error {
	switch {
	case v == "":
		return apierr.Errorf(apierr.MissingParameter, "The request must contain the parameter %s", strings.ToUpper(member[:1])+member[1:])
	case len(v) > maxLen:
		return iamValidation(member, v, fmt.Sprintf("Member must have length less than or equal to %d", maxLen))
	case !reIAMName.MatchString(v):
		return iamValidation(member, v, `Member must satisfy regular expression pattern: [\w+=,.@-]+`)
	}
	return nil
}

func checkIAMPath(member, v string) (string, error) {
	switch {
	case v == "":
		return "/", nil
	case len(v) > 512:
		return "", iamValidation(member, v, "Member must have length less than or equal to 512")
	case !reIAMPath.MatchString(v):
		return "", iamValidation(member, v, `Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)`)
	}
	return v, nil
}

// checkDocument validates a policy document of kind k, as IAM does when it is stored.
func checkPolicyDocument(member, doc string, k policy.Kind) (*policy.Policy, error) {
	switch {
	case doc == "":
		return nil, apierr.Errorf(apierr.MissingParameter, "The request must contain the parameter %s", strings.ToUpper(member[:1])+member[1:])
	case len(doc) > maxPolicyDocumentChars:
		return nil, iamValidation(member, doc, fmt.Sprintf("Member must have length less than or equal to %d", maxPolicyDocumentChars))
	}
	p, err := policy.Parse(doc, k)
	if err != nil {
		return nil, apierr.New(apierr.MalformedPolicy, err.Error())
	}
	return p, nil
}

func checkIAMTags(tags []model.Tag) error {
	if len(tags) > 50 {
		return iamValidation("tags", fmt.Sprint(len(tags)), "Member must have length less than or equal to 50")
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 {
			return iamValidation("tags.member.key", t.Key, "Member must have length between 1 and 128")
		}
		if len(t.Value) > 256 {
			return iamValidation("tags.member.value", t.Value, "Member must have length less than or equal to 256")
		}
		if seen[strings.ToLower(t.Key)] {
			return apierr.New(apierr.InvalidInput, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[strings.ToLower(t.Key)] = true
	}
	return nil
}

const iamIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// newIAMID returns prefix + n random characters of IAM's unique ids (uppercase letters and
// digits); access key ids use the base32 alphabet AWS uses.
func newIAMID(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for j := range b {
		b[j] = iamIDAlphabet[int(b[j])%len(iamIDAlphabet)]
	}
	return prefix + string(b)
}

// newSecret returns a 40-character secret access key.
func newSecretAccessKey() string {
	b := make([]byte, 30)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// newSessionToken returns an opaque session token of the length AWS's have.
func newSessionToken() string {
	b := make([]byte, 264)
	_, _ = rand.Read(b)
	return "IQoJb3JpZ2luX2VjE" + base64.StdEncoding.EncodeToString(b)
}

func roleNotFound(name string) error {
	return apierr.Errorf(apierr.NotFound, "The role with name %s cannot be found.", name)
}

// CreateRoleInput is CreateRole's request.
type CreateRoleInput struct {
	Name, Path, Description, AssumeRolePolicy string
	MaxSessionDuration                        *int
	Tags                                      []model.Tag
}

// CreateRole makes a role.
func (i *IAM) CreateRole(ctx context.Context, account string, in CreateRoleInput) (model.Role, error) {
	if err := checkIAMName("roleName", in.Name, 64); err != nil {
		return model.Role{}, err
	}
	path, err := checkIAMPath("path", in.Path)
	if err != nil {
		return model.Role{}, err
	}
	if len(in.Description) > 1000 {
		return model.Role{}, iamValidation("description", in.Description, "Member must have length less than or equal to 1000")
	}
	if _, err := checkPolicyDocument("assumeRolePolicyDocument", in.AssumeRolePolicy, policy.Trust); err != nil {
		return model.Role{}, err
	}
	maxDur := minSessionDuration
	if in.MaxSessionDuration != nil {
		maxDur = *in.MaxSessionDuration
		if err := checkSessionDuration(maxDur); err != nil {
			return model.Role{}, err
		}
	}
	if err := checkIAMTags(in.Tags); err != nil {
		return model.Role{}, err
	}
	r := model.Role{Account: account, Name: in.Name, Path: path, ID: newIAMID("AROA", 17), Description: in.Description,
		AssumeRolePolicy: in.AssumeRolePolicy, MaxSessionDuration: maxDur, CreatedAt: i.now().UTC().Truncate(time.Second),
		Tags: in.Tags}
	if _, err := i.store.Roles().Create(ctx, r); err != nil {
		if apierr.KindOf(err) == apierr.AlreadyExists {
			return model.Role{}, apierr.Errorf(apierr.AlreadyExists, "Role with name %s already exists.", in.Name)
		}
		return model.Role{}, err
	}
	return r, nil
}

func checkSessionDuration(d int) error {
	switch {
	case d < minSessionDuration:
		return iamValidation("maxSessionDuration", fmt.Sprint(d), "Member must have value greater than or equal to 3600")
	case d > maxSessionDurationMax:
		return iamValidation("maxSessionDuration", fmt.Sprint(d), "Member must have value less than or equal to 43200")
	}
	return nil
}

// GetRole reads a role.
func (i *IAM) GetRole(ctx context.Context, account, name string) (model.Role, error) {
	if err := checkIAMName("roleName", name, 64); err != nil {
		return model.Role{}, err
	}
	v, err := i.store.Roles().Get(ctx, account, name)
	if apierr.KindOf(err) == apierr.NotFound {
		return model.Role{}, roleNotFound(name)
	}
	return v.Value, err
}

// DeleteRole deletes a role that has no policies left.
func (i *IAM) DeleteRole(ctx context.Context, account, name string) error {
	if err := checkIAMName("roleName", name, 64); err != nil {
		return err
	}
	for {
		v, err := i.store.Roles().Get(ctx, account, name)
		if apierr.KindOf(err) == apierr.NotFound {
			return roleNotFound(name)
		}
		if err != nil {
			return err
		}
		if len(v.Value.AttachedPolicies) > 0 {
			return apierr.New(apierr.ResourceInUse, "Cannot delete entity, must detach all policies first.")
		}
		if len(v.Value.InlinePolicies) > 0 {
			return apierr.New(apierr.ResourceInUse, "Cannot delete entity, must delete policies first.")
		}
		err = i.store.Roles().Delete(ctx, account, v.Value.Name, v.Revision)
		if apierr.KindOf(err) != apierr.Conflict {
			return err
		}
	}
}

// ListRoles lists an account's roles whose path starts with pathPrefix, a page at a time:
// marker is the last name of the previous page.
func (i *IAM) ListRoles(ctx context.Context, account, pathPrefix, marker string, maxItems int) ([]model.Role, string, error) {
	if maxItems == 0 {
		maxItems = 100
	}
	if maxItems < 1 || maxItems > 1000 {
		return nil, "", iamValidation("maxItems", fmt.Sprint(maxItems), "Member must have value between 1 and 1000")
	}
	page, err := i.store.Roles().List(ctx, account, marker, 0)
	if err != nil {
		return nil, "", err
	}
	var out []model.Role
	for _, it := range page.Items {
		if pathPrefix != "" && !strings.HasPrefix(it.Value.Path, pathPrefix) {
			continue
		}
		if len(out) == maxItems {
			return out, out[len(out)-1].Name, nil
		}
		out = append(out, it.Value)
	}
	return out, "", nil
}

// UpdateAssumeRolePolicy replaces a role's trust policy.
func (i *IAM) UpdateAssumeRolePolicy(ctx context.Context, account, name, doc string) error {
	if err := checkIAMName("roleName", name, 64); err != nil {
		return err
	}
	if _, err := checkPolicyDocument("policyDocument", doc, policy.Trust); err != nil {
		return err
	}
	_, err := i.store.Roles().Mutate(ctx, account, name, func(r *model.Role) error {
		r.AssumeRolePolicy = doc
		return nil
	})
	if apierr.KindOf(err) == apierr.NotFound {
		return roleNotFound(name)
	}
	return err
}

// UpdateRole changes a role's description and maximum session duration.
func (i *IAM) UpdateRole(ctx context.Context, account, name string, description *string, maxDur *int) error {
	if err := checkIAMName("roleName", name, 64); err != nil {
		return err
	}
	if maxDur != nil {
		if err := checkSessionDuration(*maxDur); err != nil {
			return err
		}
	}
	_, err := i.store.Roles().Mutate(ctx, account, name, func(r *model.Role) error {
		if description != nil {
			r.Description = *description
		}
		if maxDur != nil {
			r.MaxSessionDuration = *maxDur
		}
		return nil
	})
	if apierr.KindOf(err) == apierr.NotFound {
		return roleNotFound(name)
	}
	return err
}

// Now is the operations' clock, for answers that carry the time of the call.
func (i *IAM) Now() time.Time { return i.now().UTC().Truncate(time.Second) }
