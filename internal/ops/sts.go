package ops

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/policy"
)

// ECSTasksService is the service principal ECS assumes task roles as.
const ECSTasksService = "ecs-tasks.amazonaws.com"

// Session durations of AssumeRole (seconds).
const (
	minAssumeDuration     = 900
	defaultAssumeDuration = 3600
)

// AssumeRoleInput is AssumeRole's request.
type AssumeRoleInput struct {
	RoleARN, SessionName string
	DurationSeconds      *int
}

// AssumedRole is what AssumeRole answers: the session's credentials and identity.
type AssumedRole struct {
	Credentials model.Credentials
	Principal   model.Principal
}

// AssumeRole issues temporary credentials for a session of a role. When enforcing, the role's
// trust policy must allow the caller to perform sts:AssumeRole.
func (i *IAM) AssumeRole(ctx context.Context, caller model.Principal, in AssumeRoleInput) (AssumedRole, error) {
	if err := checkSessionName(in.SessionName); err != nil {
		return AssumedRole{}, err
	}
	if len(in.RoleARN) < 20 || len(in.RoleARN) > 2048 {
		return AssumedRole{}, iamValidation("roleArn", in.RoleARN, "Member must have length greater than or equal to 20")
	}
	account, name, ok := model.RoleNameFromARN(in.RoleARN)
	if !ok {
		return AssumedRole{}, apierr.Errorf(apierr.InvalidParameter, "%s is invalid", in.RoleARN)
	}
	denied := apierr.Errorf(apierr.AccessDenied, "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller.ARN, in.RoleARN)
	v, err := i.store.Roles().Get(ctx, account, name)
	if apierr.KindOf(err) == apierr.NotFound || err == nil && v.Value.ARN() != in.RoleARN {
		return AssumedRole{}, denied // AWS does not tell a missing role from a forbidden one
	}
	if err != nil {
		return AssumedRole{}, err
	}
	role := v.Value
	dur := defaultAssumeDuration
	if in.DurationSeconds != nil {
		dur = *in.DurationSeconds
		switch {
		case dur < minAssumeDuration:
			return AssumedRole{}, iamValidation("durationSeconds", fmt.Sprint(dur), "Member must have value greater than or equal to 900")
		case dur > maxSessionDurationMax:
			return AssumedRole{}, iamValidation("durationSeconds", fmt.Sprint(dur), "Member must have value less than or equal to 43200")
		case dur > role.MaxSessionDuration:
			return AssumedRole{}, apierr.Errorf(apierr.InvalidParameter,
				"The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
		}
	}
	if i.enforce && caller.Kind != model.PrincipalRoot {
		ok, err := i.mayAssume(ctx, caller, role)
		if err != nil {
			return AssumedRole{}, err
		}
		if !ok {
			return AssumedRole{}, denied
		}
	}
	creds, p, err := i.issue(ctx, role, in.SessionName, time.Duration(dur)*time.Second)
	return AssumedRole{Credentials: creds, Principal: p}, err
}

// mayAssume decides sts:AssumeRole for caller as AWS does within an account: an explicit Deny in
// the caller's identity policies or in the trust policy refuses; a trust policy naming the
// caller itself (its ARN, or a session's role) allows on its own; a trust policy naming the
// caller's account allows only with an identity policy that allows too.
func (i *IAM) mayAssume(ctx context.Context, caller model.Principal, role model.Role) (bool, error) {
	trust, err := policy.Parse(role.AssumeRolePolicy, policy.Trust)
	if err != nil {
		return false, nil
	}
	identity, err := i.decide(ctx, caller, "sts:AssumeRole", role.ARN(), nil)
	if err != nil || identity == policy.ExplicitDeny {
		return false, err
	}
	ids := []string{caller.ARN}
	if caller.RoleARN != "" {
		ids = append(ids, caller.RoleARN)
	}
	req := policy.Request{Action: "sts:AssumeRole", Resource: role.ARN(), Context: principalContext(caller),
		Principal: &policy.Principal{Type: "AWS", IDs: ids}}
	switch policy.Evaluate(req, trust) {
	case policy.ExplicitDeny:
		return false, nil
	case policy.Allowed:
		return true, nil
	}
	req.Principal.Account = caller.Account
	return policy.Evaluate(req, trust) == policy.Allowed && identity == policy.Allowed, nil
}

func checkSessionName(s string) error {
	switch {
	case s == "":
		return apierr.New(apierr.MissingParameter, "The request must contain the parameter RoleSessionName")
	case len(s) < 2:
		return iamValidation("roleSessionName", s, "Member must have length greater than or equal to 2")
	case len(s) > 64:
		return iamValidation("roleSessionName", s, "Member must have length less than or equal to 64")
	case !reRoleSession.MatchString(s):
		return iamValidation("roleSessionName", s, `Member must satisfy regular expression pattern: [\w+=,.@-]*`)
	}
	return nil
}

// IssueRoleCredentials issues temporary credentials for a task role, as ECS does for the
// credentials endpoint of a task: the role's trust policy must allow ecs-tasks.amazonaws.com
// to perform sts:AssumeRole (apierr.AccessDenied otherwise, apierr.NotFound for a missing
// role); no caller is checked beyond that. The credentials are valid in enforce mode, where
// the role's policies decide what they may do. d is clamped to [15 minutes, the role's
// maximum session duration].
func (i *IAM) IssueRoleCredentials(ctx context.Context, scope model.Scope, roleARN, sessionName string, d time.Duration) (model.Credentials, error) {
	account, name, ok := model.RoleNameFromARN(roleARN)
	if !ok {
		return model.Credentials{}, apierr.Errorf(apierr.InvalidParameter, "%s is not a role ARN", roleARN)
	}
	if scope.Account != "" && account != scope.Account {
		return model.Credentials{}, apierr.Errorf(apierr.AccessDenied, "Role %s belongs to another account than %s", roleARN, scope.Account)
	}
	v, err := i.store.Roles().Get(ctx, account, name)
	if apierr.KindOf(err) == apierr.NotFound || err == nil && v.Value.ARN() != roleARN {
		return model.Credentials{}, apierr.Errorf(apierr.NotFound, "The role with name %s cannot be found.", name)
	}
	if err != nil {
		return model.Credentials{}, err
	}
	trust, err := policy.Parse(v.Value.AssumeRolePolicy, policy.Trust)
	req := policy.Request{Action: "sts:AssumeRole", Resource: roleARN,
		Principal: &policy.Principal{Type: "Service", IDs: []string{ECSTasksService}}}
	if err != nil || policy.Evaluate(req, trust) != policy.Allowed {
		return model.Credentials{}, apierr.Errorf(apierr.AccessDenied,
			"ECS was unable to assume the role '%s' that was provided for this task. Please verify that the role being passed has the proper trust relationship and permissions and that your IAM user has permissions to pass this role.", roleARN)
	}
	if sessionName == "" {
		sessionName = "gantry-task"
	}
	if len(sessionName) > 64 {
		sessionName = sessionName[:64]
	}
	d = max(d, minAssumeDuration*time.Second)
	d = min(d, time.Duration(v.Value.MaxSessionDuration)*time.Second)
	creds, _, err := i.issue(ctx, v.Value, sessionName, d)
	return creds, err
}

// issue makes and stores a role session's temporary key.
func (i *IAM) issue(ctx context.Context, role model.Role, session string, d time.Duration) (model.Credentials, model.Principal, error) {
	i.maybeCollect(ctx)
	now := i.now().UTC()
	p := model.Principal{Kind: model.PrincipalRoleSession, Account: role.Account, ARN: model.AssumedRoleARN(role.Account, role.Name, session),
		UserID: role.ID + ":" + session, Name: role.Name, Session: session, RoleARN: role.ARN()}
	creds := model.Credentials{AccessKeyID: newIAMID("ASIA", 16), SecretAccessKey: newSecretAccessKey(), SessionToken: newSessionToken(),
		Expiration: now.Add(d).Truncate(time.Second)}
	key, err := i.sealKey(creds, p, now)
	if err != nil {
		return model.Credentials{}, model.Principal{}, err
	}
	if _, err := i.store.AccessKeys().Create(ctx, key); err != nil {
		return model.Credentials{}, model.Principal{}, err
	}
	return creds, p, nil
}

func (i *IAM) sealKey(c model.Credentials, p model.Principal, now time.Time) (model.AccessKey, error) {
	secret, err := i.seal.Seal([]byte(c.SecretAccessKey), []byte("iam/keys/"+c.AccessKeyID))
	if err != nil {
		return model.AccessKey{}, fmt.Errorf("seal secret: %w", err)
	}
	k := model.AccessKey{ID: c.AccessKeyID, Principal: p, SealedSecret: secret, Active: true, CreatedAt: now, Expiration: c.Expiration}
	if c.SessionToken != "" {
		if k.SealedToken, err = i.seal.Seal([]byte(c.SessionToken), []byte("iam/keys/"+c.AccessKeyID+"/token")); err != nil {
			return model.AccessKey{}, fmt.Errorf("seal token: %w", err)
		}
	}
	return k, nil
}

// Credential returns the principal behind an access key with its secret and, for temporary
// credentials, the session token, for the front door to verify a signature. An unknown or
// inactive key is apierr.NotFound; an expired one apierr.ExpiredToken (and it is deleted).
func (i *IAM) Credential(ctx context.Context, accessKeyID string) (model.Principal, model.Credentials, error) {
	i.mu.Lock()
	secret, isRoot := i.root[accessKeyID]
	i.mu.Unlock()
	if isRoot {
		return rootPrincipal(model.DefaultAccount), model.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secret}, nil
	}
	v, err := i.store.AccessKeys().Get(ctx, accessKeyID)
	if err != nil {
		return model.Principal{}, model.Credentials{}, err
	}
	k := v.Value
	if !k.Active {
		return model.Principal{}, model.Credentials{}, fmt.Errorf("access key %s is inactive: %w", accessKeyID, apierr.NotFound)
	}
	if k.Expired(i.now()) {
		_ = i.store.AccessKeys().Delete(ctx, k.ID, v.Revision)
		return model.Principal{}, model.Credentials{}, apierr.New(apierr.ExpiredToken, "The security token included in the request is expired")
	}
	plain, err := i.seal.Open(k.SealedSecret, []byte("iam/keys/"+k.ID))
	if err != nil {
		return model.Principal{}, model.Credentials{}, fmt.Errorf("open secret of %s: %w", k.ID, err)
	}
	creds := model.Credentials{AccessKeyID: k.ID, SecretAccessKey: string(plain), Expiration: k.Expiration}
	if k.SealedToken != nil {
		tok, err := i.seal.Open(k.SealedToken, []byte("iam/keys/"+k.ID+"/token"))
		if err != nil {
			return model.Principal{}, model.Credentials{}, fmt.Errorf("open token of %s: %w", k.ID, err)
		}
		creds.SessionToken = string(tok)
	}
	return k.Principal, creds, nil
}

func rootPrincipal(account string) model.Principal {
	return model.Principal{Kind: model.PrincipalRoot, Account: account, ARN: model.AccountRootARN(account), UserID: account}
}

// CallerIdentity names the principal behind an access key without verifying anything, for
// GetCallerIdentity when enforcement is off: an unknown key is the account's root.
func (i *IAM) CallerIdentity(ctx context.Context, account, accessKeyID string) (model.Principal, error) {
	if accessKeyID != "" {
		p, _, err := i.Credential(ctx, accessKeyID)
		if err == nil {
			return p, nil
		}
		if k := apierr.KindOf(err); k != apierr.NotFound {
			return model.Principal{}, err
		}
	}
	return rootPrincipal(account), nil
}

// maybeCollect deletes expired temporary keys, at most once per gcEvery: issuing credentials
// pays for collecting the old ones, so no background loop is needed.
func (i *IAM) maybeCollect(ctx context.Context) {
	i.mu.Lock()
	now := i.now()
	due := now.Sub(i.lastGC) >= i.gcEvery
	if due {
		i.lastGC = now
	}
	i.mu.Unlock()
	if due {
		if _, err := i.CollectExpired(ctx); err != nil {
			i.logger.Warn("collect expired credentials", "error", err)
		}
	}
}

// CollectExpired deletes every expired temporary access key and says how many it deleted.
func (i *IAM) CollectExpired(ctx context.Context) (int, error) {
	page, err := i.store.AccessKeys().List(ctx, "ASIA", "", 0)
	if err != nil {
		return 0, err
	}
	now, n := i.now(), 0
	for _, it := range page.Items {
		if it.Value.Expired(now) {
			if err := i.store.AccessKeys().Delete(ctx, it.Value.ID, it.Revision); err == nil {
				n++
			}
		}
	}
	return n, nil
}

// Allowed evaluates the identity policies (inline and attached) of the role or user named by
// principalARN (a role, a user, an assumed-role session, or the account root, which is
// allowed everything) for one request.
func (i *IAM) Allowed(ctx context.Context, principalARN, action, resource string, conditionContext map[string][]string) (bool, error) {
	p, err := i.principalFromARN(ctx, principalARN)
	if err != nil {
		return false, err
	}
	return i.Authorize(ctx, p, action, resource, conditionContext)
}

func (i *IAM) principalFromARN(ctx context.Context, arn string) (model.Principal, error) {
	if rest, ok := strings.CutPrefix(arn, "arn:aws:sts::"); ok {
		account, res, _ := strings.Cut(rest, ":")
		parts := strings.Split(strings.TrimPrefix(res, "assumed-role/"), "/")
		if !strings.HasPrefix(res, "assumed-role/") || len(parts) != 2 {
			return model.Principal{}, apierr.Errorf(apierr.InvalidParameter, "%s is not a principal ARN", arn)
		}
		r, err := i.store.Roles().Get(ctx, account, parts[0])
		if err != nil {
			return model.Principal{}, err
		}
		return model.Principal{Kind: model.PrincipalRoleSession, Account: account, ARN: arn, UserID: r.Value.ID + ":" + parts[1],
			Name: parts[0], Session: parts[1], RoleARN: r.Value.ARN()}, nil
	}
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::")
	account, res, _ := strings.Cut(rest, ":")
	switch {
	case ok && res == "root":
		return rootPrincipal(account), nil
	case ok && strings.HasPrefix(res, "role/"):
		name := res[strings.LastIndexByte(res, '/')+1:]
		r, err := i.store.Roles().Get(ctx, account, name)
		if err != nil {
			return model.Principal{}, err
		}
		return model.Principal{Kind: model.PrincipalRoleSession, Account: account, ARN: r.Value.ARN(), UserID: r.Value.ID,
			Name: r.Value.Name, RoleARN: r.Value.ARN()}, nil
	case ok && strings.HasPrefix(res, "user/"):
		name := res[strings.LastIndexByte(res, '/')+1:]
		u, err := i.store.Users().Get(ctx, account, name)
		if err != nil {
			return model.Principal{}, err
		}
		return model.Principal{Kind: model.PrincipalUser, Account: account, ARN: u.Value.ARN(), UserID: u.Value.ID, Name: u.Value.Name}, nil
	}
	return model.Principal{}, apierr.Errorf(apierr.InvalidParameter, "%s is not a principal ARN", arn)
}

// Authorize evaluates p's identity policies for one request: the root user may do anything; a
// user or role session what its policies allow and do not deny.
func (i *IAM) Authorize(ctx context.Context, p model.Principal, action, resource string, conditionContext map[string][]string) (bool, error) {
	d, err := i.decide(ctx, p, action, resource, conditionContext)
	return d == policy.Allowed, err
}

// decide is Authorize's decision with its kind of denial.
func (i *IAM) decide(ctx context.Context, p model.Principal, action, resource string, conditionContext map[string][]string) (policy.Decision, error) {
	if p.Kind == model.PrincipalRoot {
		return policy.Allowed, nil
	}
	var inline map[string]string
	var attached []string
	switch p.Kind {
	case model.PrincipalUser:
		u, err := i.store.Users().Get(ctx, p.Account, p.Name)
		if apierr.KindOf(err) == apierr.NotFound {
			return policy.ImplicitDeny, nil // a deleted user's keys allow nothing
		}
		if err != nil {
			return policy.ImplicitDeny, err
		}
		inline, attached = u.Value.InlinePolicies, u.Value.AttachedPolicies
	case model.PrincipalRoleSession:
		r, err := i.store.Roles().Get(ctx, p.Account, p.Name)
		if apierr.KindOf(err) == apierr.NotFound {
			return policy.ImplicitDeny, nil
		}
		if err != nil {
			return policy.ImplicitDeny, err
		}
		inline, attached = r.Value.InlinePolicies, r.Value.AttachedPolicies
	default:
		return policy.ImplicitDeny, nil
	}
	var policies []*policy.Policy
	for _, name := range sortedPolicyNames(inline) {
		if pol := i.parsed(inline[name]); pol != nil {
			policies = append(policies, pol)
		}
	}
	for _, mp := range i.policiesNamed(ctx, p.Account, attached) {
		if pol := i.parsed(mp.DefaultDocument()); pol != nil {
			policies = append(policies, pol)
		}
	}
	cond := principalContext(p)
	for k, v := range conditionContext {
		cond[k] = v
	}
	return policy.Evaluate(policy.Request{Action: action, Resource: resource, Context: cond}, policies...), nil
}

// principalContext is the condition keys AWS sets from the principal itself.
func principalContext(p model.Principal) map[string][]string {
	m := map[string][]string{
		"aws:PrincipalArn":     {p.ARN},
		"aws:PrincipalAccount": {p.Account},
		"aws:userid":           {p.UserID},
	}
	switch p.Kind {
	case model.PrincipalUser:
		m["aws:username"] = []string{p.Name}
		m["aws:PrincipalType"] = []string{"User"}
	case model.PrincipalRoleSession:
		m["aws:PrincipalArn"] = []string{p.RoleARN}
		m["aws:PrincipalType"] = []string{"AssumedRole"}
	case model.PrincipalRoot:
		m["aws:PrincipalType"] = []string{"Account"}
	}
	return m
}

// maxParsedPolicies bounds the cache of parsed identity policies.
const maxParsedPolicies = 1024

// parsed returns the identity policy doc parses to (nil if it does not: stored documents were
// validated, so only a document from an older grammar could fail), caching by document: every
// enforced request evaluates its caller's policies, and parsing costs more than evaluating.
func (i *IAM) parsed(doc string) *policy.Policy {
	i.mu.Lock()
	p, ok := i.parsedDocs[doc]
	i.mu.Unlock()
	if ok {
		return p
	}
	p, err := policy.Parse(doc, policy.Identity)
	if err != nil {
		p = nil
	}
	i.mu.Lock()
	if len(i.parsedDocs) >= maxParsedPolicies {
		clear(i.parsedDocs)
	}
	i.parsedDocs[doc] = p
	i.mu.Unlock()
	return p
}
