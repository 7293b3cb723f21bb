package model

import (
	"fmt"
	"strings"
	"time"
)

// IAM is global: its resources belong to an account only. IAMRegion is the region in the SigV4
// scope of IAM requests and in the scope IAM operations run under.
const IAMRegion = "us-east-1"

// Role is an IAM role: an identity with a trust policy that says who may assume it, and
// identity policies (inline and attached managed ones) that say what its sessions may do.
type Role struct {
	Account            string
	Name               string
	Path               string
	ID                 string // AROA + 17 uppercase alphanumerics
	Description        string
	AssumeRolePolicy   string // the trust policy document, as given
	MaxSessionDuration int    // seconds, 3600..43200
	CreatedAt          time.Time
	Tags               []Tag
	InlinePolicies     map[string]string // name -> document
	AttachedPolicies   []string          // managed policy ARNs, in attachment order
}

// ARN is the role's ARN.
func (r Role) ARN() string { return IAMARN(r.Account, "role", r.Path, r.Name) }

// User is an IAM user: a long-lived identity with access keys and identity policies.
type User struct {
	Account          string
	Name             string
	Path             string
	ID               string // AIDA + 17 uppercase alphanumerics
	CreatedAt        time.Time
	Tags             []Tag
	InlinePolicies   map[string]string
	AttachedPolicies []string
}

// ARN is the user's ARN.
func (u User) ARN() string { return IAMARN(u.Account, "user", u.Path, u.Name) }

// ManagedPolicy is a customer managed policy (or an AWS managed one, Account "aws") with its
// versions; one of them is the default, the one in force.
type ManagedPolicy struct {
	Account        string
	Name           string
	Path           string
	ID             string // ANPA + 17 uppercase alphanumerics
	Description    string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	DefaultVersion string // "v1", "v2" ...
	Versions       []PolicyVersion
	NextVersion    int // the number of the next version made (versions are never renumbered)
	Tags           []Tag
}

// ARN is the policy's ARN.
func (p ManagedPolicy) ARN() string { return IAMARN(p.Account, "policy", p.Path, p.Name) }

// Version returns the version with id, and whether it exists.
func (p ManagedPolicy) Version(id string) (PolicyVersion, bool) {
	for _, v := range p.Versions {
		if v.ID == id {
			return v, true
		}
	}
	return PolicyVersion{}, false
}

// DefaultDocument is the document of the default version.
func (p ManagedPolicy) DefaultDocument() string {
	v, _ := p.Version(p.DefaultVersion)
	return v.Document
}

// PolicyVersion is one version of a managed policy.
type PolicyVersion struct {
	ID        string // "v1"
	Document  string
	CreatedAt time.Time
}

// MaxPolicyVersions is how many versions a managed policy keeps at most.
const MaxPolicyVersions = 5

// IAMARN is the ARN of an IAM entity: arn:aws:iam::<account>:<kind><path><name>.
func IAMARN(account, kind, path, name string) string {
	if path == "" {
		path = "/"
	}
	return fmt.Sprintf("arn:aws:iam::%s:%s%s%s", account, kind, path, name)
}

// AccountRootARN is the ARN of an account's root user.
func AccountRootARN(account string) string { return "arn:aws:iam::" + account + ":root" }

// AssumedRoleARN is the ARN of a role session.
func AssumedRoleARN(account, role, session string) string {
	return fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", account, role, session)
}

// PrincipalKind says what sort of identity signed a request.
type PrincipalKind int

// Principal kinds.
const (
	PrincipalRoot PrincipalKind = iota + 1
	PrincipalUser
	PrincipalRoleSession
)

// Principal is the identity behind a request's credentials, as GetCallerIdentity reports it.
type Principal struct {
	Kind    PrincipalKind
	Account string
	ARN     string
	// UserID is the account id (root), the user's id (AIDA...), or "<role id>:<session name>".
	UserID string
	// Name is the user's name or the role's name; Session the role session's name.
	Name    string
	Session string
	// RoleARN is the role's own ARN for a role session (whose ARN is the sts assumed-role one).
	RoleARN string
}

// AccessKey is a credential pair kept by IAM/STS: a user's long-lived key, the account root's
// bootstrap key, or a role session's temporary key. The secret and session token are sealed.
type AccessKey struct {
	ID           string // AKIA... (long-lived) or ASIA... (temporary)
	Principal    Principal
	SealedSecret []byte
	SealedToken  []byte // role sessions only
	Active       bool
	CreatedAt    time.Time
	Expiration   time.Time // zero: never
}

// Expired says whether the key has expired at now.
func (k AccessKey) Expired(now time.Time) bool {
	return !k.Expiration.IsZero() && !now.Before(k.Expiration)
}

// Credentials are an access key in the clear, as handed to a caller once.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string    // temporary credentials only
	Expiration      time.Time // zero: never
}

// RoleNameFromARN returns the role name of a role ARN (arn:aws:iam::<acct>:role/<path>name),
// its account, and whether s is one.
func RoleNameFromARN(s string) (account, name string, ok bool) {
	rest, ok := strings.CutPrefix(s, "arn:aws:iam::")
	if !ok {
		return "", "", false
	}
	account, res, ok := strings.Cut(rest, ":")
	if !ok {
		return "", "", false
	}
	res, ok = strings.CutPrefix(res, "role/")
	if !ok || res == "" || strings.HasSuffix(res, "/") {
		return "", "", false
	}
	return account, res[strings.LastIndexByte(res, '/')+1:], true
}
