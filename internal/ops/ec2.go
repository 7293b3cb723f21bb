package ops

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// EC2 serves the EC2 operations of the VPC subset: VPCs, subnets, security groups, gateways,
// route tables, network interfaces and tags. Every operation first makes sure the caller's
// scope has its default VPC.
type EC2 struct {
	store  *store.Store
	now    model.Clock
	logger *slog.Logger
	// defaulted remembers the scopes whose default VPC is known to exist, so operations skip the
	// etcd read; it only ever grows.
	defaulted sync.Map // model.Scope -> struct{}
}

// NewEC2 returns the EC2 operations over s.
func NewEC2(s *store.Store, logger *slog.Logger) *EC2 {
	return &EC2{store: s, now: time.Now, logger: logger.With("component", "ops.ec2")}
}

// SetClock replaces the clock, for tests.
func (e *EC2) SetClock(c model.Clock) { e.now = c }

// EC2's own error codes. EC2 names failures per resource (InvalidVpcID.NotFound,
// InvalidSubnet.Conflict ...) where other services use a handful of codes, so an EC2Error
// carries the exact code next to its generic kind.
const (
	CodeInvalidParameterValue       = "InvalidParameterValue"
	CodeInvalidParameterCombination = "InvalidParameterCombination"
	CodeMissingParameter            = "MissingParameter"
	CodeVpcNotFound                 = "InvalidVpcID.NotFound"
	CodeVpcMalformed                = "InvalidVpcID.Malformed"
	CodeSubnetNotFound              = "InvalidSubnetID.NotFound"
	CodeSubnetMalformed             = "InvalidSubnetID.Malformed"
	CodeGroupNotFound               = "InvalidGroup.NotFound"
	CodeGroupIDMalformed            = "InvalidGroupId.Malformed"
	CodeGroupDuplicate              = "InvalidGroup.Duplicate"
	CodeGroupReserved               = "InvalidGroup.Reserved"
	CodeSubnetConflict              = "InvalidSubnet.Conflict"
	CodeSubnetRange                 = "InvalidSubnet.Range"
	CodeVpcRange                    = "InvalidVpc.Range"
	CodePermissionDuplicate         = "InvalidPermission.Duplicate"
	CodePermissionNotFound          = "InvalidPermission.NotFound"
	CodePermissionMalformed         = "InvalidPermission.Malformed"
	CodeRuleNotFound                = "InvalidSecurityGroupRuleId.NotFound"
	CodeDependencyViolation         = "DependencyViolation"
	CodeCannotDelete                = "CannotDelete"
	CodeAlreadyAssociated           = "Resource.AlreadyAssociated"
	CodeGatewayNotAttached          = "Gateway.NotAttached"
	CodeInternetGatewayNotFound     = "InvalidInternetGatewayID.NotFound"
	CodeGatewayNotFound             = "InvalidGatewayID.NotFound"
	CodeNatGatewayNotFound          = "NatGatewayNotFound"
	CodeAllocationNotFound          = "InvalidAllocationID.NotFound"
	CodeRouteTableNotFound          = "InvalidRouteTableID.NotFound"
	CodeRouteAlreadyExists          = "RouteAlreadyExists"
	CodeNetworkInterfaceNotFound    = "InvalidNetworkInterfaceID.NotFound"
	CodeInvalidID                   = "InvalidID"
	CodeAddressLimitExceeded        = "AddressLimitExceeded"
	CodeInvalidNextToken            = "InvalidNextToken"
)

// EC2Error is a failure with EC2's exact code: an *apierr.Coded, shared with the other
// services whose errors carry AWS's own code. It unwraps to an *apierr.Error, so
// apierr.KindOf, apierr.Message and errors.Is(err, apierr.NotFound) see its generic kind, and
// callers outside EC2 (RunTask's awsvpcConfiguration) can treat it as any other error; the EC2
// front door (api.QueryOp) reads Code.
type EC2Error = apierr.Coded

// ec2Errorf returns an *EC2Error of kind k and code, with a message worded as EC2 words it.
func ec2Errorf(k apierr.Kind, code, format string, args ...any) error {
	return apierr.Codedf(k, code, format, args...)
}

func invalidValue(format string, args ...any) error {
	return ec2Errorf(apierr.InvalidParameter, CodeInvalidParameterValue, format, args...)
}

func missingParameter(name string) error {
	return ec2Errorf(apierr.MissingParameter, CodeMissingParameter, "The request must contain the parameter %s", name)
}

// newEC2ID returns prefix followed by 17 random lowercase hex digits, as EC2's long ids.
func newEC2ID(prefix string) string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])[:17]
}

// validID says whether id is prefix followed by 8 or 17 lowercase hex digits.
func validID(id, prefix string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || (len(rest) != 8 && len(rest) != 17) {
		return false
	}
	for _, c := range rest {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// maxFenceAttempts bounds the retries of an operation whose VPC changed under it.
const maxFenceAttempts = 50

// fenced runs fn, which reads what it needs and commits one write fenced by a VPC record's
// revision, again while the commit loses to a concurrent change (apierr.Conflict).
func fenced(ctx context.Context, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || apierr.KindOf(err) != apierr.Conflict || errors.As(err, new(*EC2Error)) || attempt >= maxFenceAttempts {
			return err
		}
		t := time.NewTimer(time.Duration(1+attempt%10) * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// vpc reads a VPC, or answers InvalidVpcID.NotFound.
func (e *EC2) vpc(ctx context.Context, sc model.Scope, id string) (store.Versioned[model.Vpc], error) {
	if id == "" {
		return store.Versioned[model.Vpc]{}, missingParameter("VpcId")
	}
	v, err := e.store.Vpcs().Get(ctx, sc, id)
	if apierr.KindOf(err) == apierr.NotFound {
		return v, ec2Errorf(apierr.NotFound, CodeVpcNotFound, "The vpc ID '%s' does not exist", id)
	}
	return v, err
}

// Subnet returns the subnet id, or InvalidSubnetID.NotFound.
func (e *EC2) Subnet(ctx context.Context, sc model.Scope, id string) (model.Subnet, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return model.Subnet{}, err
	}
	s, err := e.subnet(ctx, sc, id)
	return s.Value, err
}

func (e *EC2) subnet(ctx context.Context, sc model.Scope, id string) (store.Versioned[model.Subnet], error) {
	if id == "" {
		return store.Versioned[model.Subnet]{}, missingParameter("SubnetId")
	}
	s, err := e.store.Subnets().Get(ctx, sc, id)
	if apierr.KindOf(err) == apierr.NotFound {
		return s, ec2Errorf(apierr.NotFound, CodeSubnetNotFound, "The subnet ID '%s' does not exist", id)
	}
	return s, err
}

// SecurityGroup returns the security group id, or InvalidGroup.NotFound
// (InvalidGroupId.Malformed for an id that is not sg-...).
func (e *EC2) SecurityGroup(ctx context.Context, sc model.Scope, id string) (model.SecurityGroup, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return model.SecurityGroup{}, err
	}
	g, err := e.group(ctx, sc, id)
	return g.Value, err
}

func (e *EC2) group(ctx context.Context, sc model.Scope, id string) (store.Versioned[model.SecurityGroup], error) {
	if !validID(id, model.PrefixSecurityGroup) {
		return store.Versioned[model.SecurityGroup]{}, ec2Errorf(apierr.InvalidParameter, CodeGroupIDMalformed,
			"Invalid id: \"%s\" (expecting \"sg-...\")", id)
	}
	g, err := e.store.SecurityGroups().Get(ctx, sc, id)
	if apierr.KindOf(err) == apierr.NotFound {
		return g, ec2Errorf(apierr.NotFound, CodeGroupNotFound, "The security group '%s' does not exist", id)
	}
	return g, err
}

// Filter is one of a Describe call's filters: a resource matches when one of its values for
// Name matches one of Values (which may hold the wildcards * and ?).
type Filter struct {
	Name   string
	Values []string
}

// filterSpec names the filters a resource type takes and gives each one's values for a resource;
// tag:<key>, tag-key and tag-value are understood for every type.
type filterSpec[T any] map[string]func(T) []string

// applyFilters keeps the items that match every filter; an unknown filter name is
// InvalidParameterValue, as EC2 answers it.
func applyFilters[T any](spec filterSpec[T], tags func(T) []model.Tag, filters []Filter, items []T) ([]T, error) {
	for _, f := range filters {
		if _, ok := spec[f.Name]; !ok && !strings.HasPrefix(f.Name, "tag:") && f.Name != "tag-key" && f.Name != "tag-value" {
			return nil, invalidValue("The filter '%s' is invalid", f.Name)
		}
	}
	var out []T
	for _, it := range items {
		if matchesAll(spec, tags, filters, it) {
			out = append(out, it)
		}
	}
	return out, nil
}

func matchesAll[T any](spec filterSpec[T], tags func(T) []model.Tag, filters []Filter, it T) bool {
	for _, f := range filters {
		var have []string
		switch {
		case spec[f.Name] != nil:
			have = spec[f.Name](it)
		case strings.HasPrefix(f.Name, "tag:"):
			for _, t := range tags(it) {
				if t.Key == f.Name[len("tag:"):] {
					have = append(have, t.Value)
				}
			}
		default: // tag-key, tag-value
			for _, t := range tags(it) {
				have = append(have, map[bool]string{true: t.Key, false: t.Value}[f.Name == "tag-key"])
			}
		}
		if !anyMatch(f.Values, have) {
			return false
		}
	}
	return true
}

func anyMatch(patterns, values []string) bool {
	for _, p := range patterns {
		for _, v := range values {
			if globMatch(p, v) {
				return true
			}
		}
	}
	return false
}

// globMatch matches s against p, where * is any run of characters and ? any one character.
func globMatch(p, s string) bool {
	if !strings.ContainsAny(p, "*?") {
		return p == s
	}
	pr, sr := []rune(p), []rune(s)
	star, match := -1, 0
	i, j := 0, 0
	for j < len(sr) {
		switch {
		case i < len(pr) && (pr[i] == '?' || pr[i] == sr[j]):
			i++
			j++
		case i < len(pr) && pr[i] == '*':
			star, match = i, j
			i++
		case star >= 0:
			i, match = star+1, match+1
			j = match
		default:
			return false
		}
	}
	for i < len(pr) && pr[i] == '*' {
		i++
	}
	return i == len(pr)
}

// boolValues is a boolean filter value as EC2 spells it.
func boolValues(b bool) []string {
	if b {
		return []string{"true"}
	}
	return []string{"false"}
}

// Paging is a Describe call's MaxResults and NextToken.
type Paging struct {
	MaxResults *int32
	NextToken  string
}

// paginate returns the page of items that p asks for, and the token of the next one. Items are
// in id order; the token is the last id answered, opaque to the caller.
func paginate[T any](items []T, id func(T) string, p Paging) ([]T, string, error) {
	start := 0
	if p.NextToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(p.NextToken)
		if err != nil {
			return nil, "", ec2Errorf(apierr.InvalidParameter, CodeInvalidNextToken, "The token '%s' is invalid.", p.NextToken)
		}
		for start < len(items) && id(items[start]) <= string(raw) {
			start++
		}
	}
	if p.MaxResults == nil {
		return items[start:], "", nil
	}
	if n := *p.MaxResults; n < 5 || n > 1000 {
		return nil, "", invalidValue("Value ( %d ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.", n)
	}
	end := min(start+int(*p.MaxResults), len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(id(items[end-1])))
	}
	return items[start:end], next, nil
}

// values drops the revisions of a listing.
func values[T any](vs []store.Versioned[T]) []T {
	out := make([]T, len(vs))
	for i, v := range vs {
		out[i] = v.Value
	}
	return out
}

// byIDs keeps the items whose id is in ids (all when ids is empty); an id that matches nothing
// is the error notFound makes for it.
func byIDs[T any](items []T, id func(T) string, ids []string, notFound func(string) error) ([]T, error) {
	if len(ids) == 0 {
		return items, nil
	}
	want := map[string]bool{}
	for _, i := range ids {
		want[i] = true
	}
	var out []T
	for _, it := range items {
		if want[id(it)] {
			out = append(out, it)
			delete(want, id(it))
		}
	}
	for _, i := range ids {
		if want[i] {
			return nil, notFound(i)
		}
	}
	return out, nil
}
