// Package apierr defines the error kinds that every layer returns and only the api layer names for AWS.
package apierr

import (
	"errors"
	"fmt"
)

// Kind is a class of failure. Kinds are errors themselves, so a layer can wrap one with context
// (fmt.Errorf("cluster %q: %w", name, apierr.ClusterNotFound)) and the front door can find it with
// errors.Is. Kinds are transport-free: each AWS service maps them to its own codes.
type Kind string

func (k Kind) Error() string { return string(k) }

// The kinds. Their text is for logs; users see the message of an *Error or the wrapped chain.
const (
	InvalidParameter Kind = "invalid parameter" // a member has a bad value (ECS InvalidParameterException)
	Client           Kind = "client error"      // the request cannot be served as asked (ECS ClientException)
	NotFound         Kind = "not found"         // a named resource does not exist
	ClusterNotFound  Kind = "cluster not found"
	ServiceNotFound  Kind = "service not found"
	ServiceNotActive Kind = "service not active"
	AlreadyExists    Kind = "already exists"
	Conflict         Kind = "conflict" // an optimistic write lost a race; retry the read-modify-write
	LimitExceeded    Kind = "limit exceeded"
	ResourceInUse    Kind = "resource in use"
	AccessDenied     Kind = "access denied"
	Unsupported      Kind = "unsupported"
	Throttled        Kind = "throttled"
	Serialization    Kind = "serialization" // the body could not be decoded
	UnknownOperation Kind = "unknown operation"
	MissingParameter Kind = "missing parameter"
	TooLarge         Kind = "request too large"
	Internal         Kind = "internal"
	// Unavailable is a request that ran out of time waiting on the store (an etcd that does
	// not answer): nothing is wrong with it, and a retry may succeed.
	Unavailable Kind = "unavailable"

	ClusterContainsServices Kind = "cluster contains services"
	ClusterContainsTasks    Kind = "cluster contains tasks"
	UpdateInProgress        Kind = "update in progress"

	RepositoryNotFound      Kind = "repository not found" // an image repository (ECR)
	RepositoryAlreadyExists Kind = "repository already exists"
	RepositoryNotEmpty      Kind = "repository not empty"
	ImageNotFound           Kind = "image not found"

	// TokenReused is an idempotency token sent again with different parameters.
	TokenReused Kind = "idempotency token reused"

	// Secrets Manager, SSM Parameter Store and ACM.
	InvalidRequest      Kind = "invalid request"       // the resource's state refuses the call (Secrets Manager InvalidRequestException)
	InvalidNextToken    Kind = "invalid next token"    // a paging token this server did not make
	VersionNotFound     Kind = "version not found"     // a parameter version or label that does not exist
	PatternMismatch     Kind = "pattern mismatch"      // a value that does not match its AllowedPattern
	HierarchyLimit      Kind = "hierarchy limit"       // a parameter name nested too deep
	InvalidFilterKey    Kind = "invalid filter key"    // a listing filter with an unknown key
	InvalidFilterValue  Kind = "invalid filter value"  // a listing filter with a bad value
	InvalidFilterOption Kind = "invalid filter option" // a listing filter with a bad option
	InvalidResourceID   Kind = "invalid resource id"   // tagging a resource that does not exist (SSM)
	InvalidARN          Kind = "invalid arn"           // a malformed ARN (ACM InvalidArnException)
	DecryptionFailure   Kind = "decryption failure"    // a sealed value that does not open

	// IAM and STS.
	MalformedPolicy Kind = "malformed policy document" // a policy document that does not parse or breaks the grammar
	InvalidInput    Kind = "invalid input"             // a well-formed IAM parameter that is not acceptable (IAM InvalidInput)
	ExpiredToken    Kind = "expired token"             // temporary credentials used after their expiration

	// SSM Parameter Store, continued.
	TypeMismatch        Kind = "type mismatch"         // overwriting a parameter with another type (SSM HierarchyTypeMismatchException)
	VersionLimitReached Kind = "version limit reached" // the oldest version cannot be dropped: it has a label
)

// Error is a kind with the message the user should read, worded as AWS words it.
type Error struct {
	Kind    Kind
	Message string
}

func (e *Error) Error() string { return e.Message }

// Is lets errors.Is(err, apierr.NotFound) see through an *Error.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind
}

// New returns an *Error of kind k with message msg.
func New(k Kind, msg string) error { return &Error{Kind: k, Message: msg} }

// Errorf returns an *Error of kind k with a formatted message.
func Errorf(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of err, Internal when it has none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	var k Kind
	if errors.As(err, &k) {
		return k
	}
	return Internal
}

// Message returns what the user should read for err: the message of the outermost *Error, or the
// whole chain's text when the error carries a bare kind.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// Coded is a failure with the exact code its AWS service names it by, for services that name
// failures per resource (EC2's InvalidVpcID.NotFound, ELBv2's TargetGroupNotFound ...) where a
// handful of kinds cannot. It unwraps to its *Error, so KindOf, Message and errors.Is see the
// generic kind, and callers in another service treat it as any other error; the front door of
// the service that made it answers with Code.
type Coded struct {
	Code string
	Err  Error
}

func (e *Coded) Error() string { return e.Err.Message }

// Unwrap exposes the kind and message.
func (e *Coded) Unwrap() error { return &e.Err }

// Codedf returns a *Coded of kind k and code, with a formatted message.
func Codedf(k Kind, code, format string, args ...any) error {
	return &Coded{Code: code, Err: Error{Kind: k, Message: fmt.Sprintf(format, args...)}}
}
