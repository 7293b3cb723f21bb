package ops

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// TagSpecification is a Create call's tags for the resource type it names.
type TagSpecification struct {
	ResourceType string
	Tags         []model.Tag
}

// EC2's limits on tags, the same as ECS's (tags.go).
const (
	ec2MaxTags        = 50
	ec2MaxTagKeyLen   = 127
	ec2MaxTagValueLen = 255
)

// tagsFor returns the tags of specs for a new resource of resourceType; a specification for
// another type is InvalidParameterValue.
func tagsFor(specs []TagSpecification, resourceType string) ([]model.Tag, error) {
	var tags []model.Tag
	for _, s := range specs {
		if s.ResourceType != resourceType {
			return nil, invalidValue("'%s' is not a valid taggable resource type for this operation.", s.ResourceType)
		}
		tags = mergeTags(tags, s.Tags)
	}
	return tags, checkTags(tags)
}

func checkTags(tags []model.Tag) error {
	if len(tags) > ec2MaxTags {
		return ec2Errorf(apierr.LimitExceeded, "TagLimitExceeded", "The maximum number of Tags for a resource has been reached.")
	}
	for _, t := range tags {
		switch {
		case t.Key == "":
			return invalidValue("Tag key cannot be empty")
		case len(t.Key) > ec2MaxTagKeyLen:
			return invalidValue("Tag key exceeds the maximum length of %d characters", ec2MaxTagKeyLen)
		case len(t.Value) > ec2MaxTagValueLen:
			return invalidValue("Tag value exceeds the maximum length of %d characters", ec2MaxTagValueLen)
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return invalidValue("Tag keys starting with 'aws:' are reserved for internal use")
		}
	}
	return nil
}

// mergeTags sets the tags of add on tags, replacing the values of keys already there.
func mergeTags(tags, add []model.Tag) []model.Tag {
	out := append([]model.Tag(nil), tags...)
	for _, a := range add {
		found := false
		for i := range out {
			if out[i].Key == a.Key {
				out[i].Value, found = a.Value, true
			}
		}
		if !found {
			out = append(out, a)
		}
	}
	return out
}

// TagDescription is one tag of one resource, as DescribeTags answers it.
type TagDescription struct {
	ResourceID   string
	ResourceType string
	Key          string
	Value        string
}

// taggable is one EC2 resource type as the tag operations see it.
type taggable struct {
	prefix       string
	resourceType string
	notFound     func(id string) error
	list         func(ctx context.Context, sc model.Scope) ([]TagDescription, error)
	mutate       func(ctx context.Context, sc model.Scope, id string, fn func([]model.Tag) ([]model.Tag, error)) error
}

// ec2Repo is what the tag operations need of a store repository.
type ec2Repo[T any] interface {
	List(ctx context.Context, sc model.Scope) ([]store.Versioned[T], error)
	Mutate(ctx context.Context, sc model.Scope, id string, fn func(*T) error) (store.Versioned[T], error)
}

func taggableOf[T any](prefix, typ, code, noun string, repo ec2Repo[T], id func(T) string, tags func(*T) *[]model.Tag) taggable {
	t := taggable{prefix: prefix, resourceType: typ}
	t.notFound = func(i string) error {
		return ec2Errorf(apierr.NotFound, code, "The %s ID '%s' does not exist", noun, i)
	}
	t.list = func(ctx context.Context, sc model.Scope) ([]TagDescription, error) {
		all, err := repo.List(ctx, sc)
		var out []TagDescription
		for _, v := range all {
			for _, tg := range *tags(&v.Value) {
				out = append(out, TagDescription{ResourceID: id(v.Value), ResourceType: typ, Key: tg.Key, Value: tg.Value})
			}
		}
		return out, err
	}
	t.mutate = func(ctx context.Context, sc model.Scope, i string, fn func([]model.Tag) ([]model.Tag, error)) error {
		_, err := repo.Mutate(ctx, sc, i, func(v *T) error {
			next, err := fn(*tags(v))
			*tags(v) = next
			return err
		})
		if apierr.KindOf(err) == apierr.NotFound && !isEC2Error(err) {
			return t.notFound(i)
		}
		return err
	}
	return t
}

func isEC2Error(err error) bool {
	var e *EC2Error
	return errors.As(err, &e)
}

// taggables returns the resource types the tag operations reach, by id prefix.
func (e *EC2) taggables() []taggable {
	s := e.store
	eips := taggableOf(model.PrefixAllocation, "elastic-ip", CodeAllocationNotFound, "allocation", s.ElasticIPs(),
		func(a model.ElasticIP) string { return a.AllocationID }, func(a *model.ElasticIP) *[]model.Tag { return &a.Tags })
	eips.mutate = func(ctx context.Context, sc model.Scope, id string, fn func([]model.Tag) ([]model.Tag, error)) error {
		a, err := e.address(ctx, sc, id)
		if err != nil {
			return err
		}
		_, err = s.ElasticIPs().Mutate(ctx, sc, a.Value.PublicIP, func(v *model.ElasticIP) error {
			next, err := fn(v.Tags)
			v.Tags = next
			return err
		})
		return err
	}
	return []taggable{
		taggableOf(model.PrefixVpc, "vpc", CodeVpcNotFound, "vpc", s.Vpcs(),
			func(v model.Vpc) string { return v.ID }, func(v *model.Vpc) *[]model.Tag { return &v.Tags }),
		taggableOf(model.PrefixSubnet, "subnet", CodeSubnetNotFound, "subnet", s.Subnets(),
			func(v model.Subnet) string { return v.ID }, func(v *model.Subnet) *[]model.Tag { return &v.Tags }),
		taggableOf(model.PrefixSecurityGroup, "security-group", CodeGroupNotFound, "security group", s.SecurityGroups(),
			func(v model.SecurityGroup) string { return v.ID }, func(v *model.SecurityGroup) *[]model.Tag { return &v.Tags }),
		taggableOf(model.PrefixInternetGateway, "internet-gateway", CodeInternetGatewayNotFound, "internetGateway", s.InternetGateways(),
			func(v model.InternetGateway) string { return v.ID }, func(v *model.InternetGateway) *[]model.Tag { return &v.Tags }),
		taggableOf(model.PrefixNatGateway, "natgateway", CodeNatGatewayNotFound, "natGateway", s.NatGateways(),
			func(v model.NatGateway) string { return v.ID }, func(v *model.NatGateway) *[]model.Tag { return &v.Tags }),
		taggableOf(model.PrefixRouteTable, "route-table", CodeRouteTableNotFound, "routeTable", s.RouteTables(),
			func(v model.RouteTable) string { return v.ID }, func(v *model.RouteTable) *[]model.Tag { return &v.Tags }),
		taggableOf(model.PrefixNetworkInterface, "network-interface", CodeNetworkInterfaceNotFound, "networkInterface", s.NetworkInterfaces(),
			func(v model.NetworkInterface) string { return v.ID }, func(v *model.NetworkInterface) *[]model.Tag { return &v.Tags }),
		eips,
	}
}

func (e *EC2) taggableFor(id string) (taggable, error) {
	for _, t := range e.taggables() {
		if strings.HasPrefix(id, t.prefix) {
			return t, nil
		}
	}
	return taggable{}, ec2Errorf(apierr.InvalidParameter, CodeInvalidID, "The ID '%s' is not valid", id)
}

// CreateTags adds or overwrites tags on each resource.
func (e *EC2) CreateTags(ctx context.Context, sc model.Scope, resources []string, tags []model.Tag) error {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return err
	}
	if len(resources) == 0 {
		return missingParameter("ResourceId")
	}
	if len(tags) == 0 {
		return missingParameter("Tag")
	}
	if err := checkTags(tags); err != nil {
		return err
	}
	return e.eachResource(ctx, sc, resources, func(old []model.Tag) ([]model.Tag, error) {
		next := mergeTags(old, tags)
		return next, checkTags(next)
	})
}

// DeleteTags removes tags from each resource: a tag given with a value only when the value
// matches, one given by key alone whatever its value, and all of them when tags is empty.
func (e *EC2) DeleteTags(ctx context.Context, sc model.Scope, resources []string, tags []DeleteTag) error {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return err
	}
	if len(resources) == 0 {
		return missingParameter("ResourceId")
	}
	return e.eachResource(ctx, sc, resources, func(old []model.Tag) ([]model.Tag, error) {
		var keep []model.Tag
		for _, t := range old {
			if len(tags) > 0 && !deletes(tags, t) {
				keep = append(keep, t)
			}
		}
		return keep, nil
	})
}

// DeleteTag is one tag DeleteTags removes; a nil Value matches any value.
type DeleteTag struct {
	Key   string
	Value *string
}

func deletes(tags []DeleteTag, t model.Tag) bool {
	for _, d := range tags {
		if d.Key == t.Key && (d.Value == nil || *d.Value == t.Value) {
			return true
		}
	}
	return false
}

// eachResource checks every id before changing any, then applies fn to each one's tags.
func (e *EC2) eachResource(ctx context.Context, sc model.Scope, ids []string, fn func([]model.Tag) ([]model.Tag, error)) error {
	kinds := make([]taggable, len(ids))
	for i, id := range ids {
		t, err := e.taggableFor(id)
		if err != nil {
			return err
		}
		kinds[i] = t
	}
	for i, id := range ids {
		if err := kinds[i].mutate(ctx, sc, id, fn); err != nil {
			return err
		}
	}
	return nil
}

var tagFilters = filterSpec[TagDescription]{
	"resource-id":   func(t TagDescription) []string { return []string{t.ResourceID} },
	"resource-type": func(t TagDescription) []string { return []string{t.ResourceType} },
	"key":           func(t TagDescription) []string { return []string{t.Key} },
	"value":         func(t TagDescription) []string { return []string{t.Value} },
}

// DescribeTags lists the tags of every EC2 resource of the scope that match filters, ordered
// by resource id and key.
func (e *EC2) DescribeTags(ctx context.Context, sc model.Scope, filters []Filter, p Paging) ([]TagDescription, string, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return nil, "", err
	}
	var all []TagDescription
	for _, t := range e.taggables() {
		tags, err := t.list(ctx, sc)
		if err != nil {
			return nil, "", err
		}
		all = append(all, tags...)
	}
	slices.SortFunc(all, func(a, b TagDescription) int {
		return cmp.Or(cmp.Compare(a.ResourceID, b.ResourceID), cmp.Compare(a.Key, b.Key))
	})
	out, err := applyFilters(tagFilters, func(t TagDescription) []model.Tag { return []model.Tag{{Key: t.Key, Value: t.Value}} }, filters, all)
	if err != nil {
		return nil, "", err
	}
	return paginate(out, func(t TagDescription) string { return t.ResourceID + "\x00" + t.Key }, p)
}
