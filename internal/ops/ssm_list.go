package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// ParameterFilter is a ParameterStringFilter: Key (Name, Type, KeyId, Path, Tier, DataType,
// Label, tag:<key>, tag-key), Option (Equals, BeginsWith, Contains, Recursive, OneLevel), Values.
type ParameterFilter struct {
	Key    string
	Option string
	Values []string
}

var describeFilterKeys = []string{"Name", "Type", "KeyId", "Path", "Tier", "DataType", "Label"}
var byPathFilterKeys = []string{"Type", "KeyId", "Label"}

// filterOptions lists the options each key takes; the first is the default.
func filterOptions(key string) []string {
	switch {
	case key == "Path":
		return []string{"OneLevel", "Recursive"}
	case key == "Name":
		return []string{"Equals", "BeginsWith", "Contains"}
	case key == "KeyId" || strings.HasPrefix(key, "tag:"):
		return []string{"Equals", "BeginsWith"}
	}
	return []string{"Equals"}
}

func validateParamFilters(filters []ParameterFilter, keys []string) error {
	for i := range filters {
		f := &filters[i]
		if !slices.Contains(keys, f.Key) && !(strings.HasPrefix(f.Key, "tag:") && len(f.Key) > 4) && f.Key != "tag-key" {
			return apierr.Errorf(apierr.InvalidFilterKey, "The following filter key is not valid: %s. Valid filter keys include: [%s, tag:<key>].", f.Key, strings.Join(keys, ", "))
		}
		opts := filterOptions(f.Key)
		if f.Option == "" {
			f.Option = opts[0]
		}
		if !slices.Contains(opts, f.Option) {
			return apierr.Errorf(apierr.InvalidFilterOption, "The following filter option is not valid: %s. Valid options include: [%s].", f.Option, strings.Join(opts, ", "))
		}
		if len(f.Values) == 0 && !strings.HasPrefix(f.Key, "tag") {
			return apierr.Errorf(apierr.InvalidFilterValue, "The following filter values are missing : null for filter key %s.", f.Key)
		}
		if f.Key == "Type" {
			for _, v := range f.Values {
				if !slices.Contains(paramTypes, v) {
					return apierr.Errorf(apierr.InvalidFilterValue, "The following filter value is not valid: %s. Valid values include: [%s].", v, strings.Join(paramTypes, ", "))
				}
			}
		}
	}
	return nil
}

func matchParamFilter(p model.Parameter, f ParameterFilter) bool {
	v := p.Latest()
	field := func(s string) bool {
		return slices.ContainsFunc(f.Values, func(want string) bool {
			switch f.Option {
			case "BeginsWith":
				return strings.HasPrefix(s, want)
			case "Contains":
				return strings.Contains(s, want)
			}
			return s == want
		})
	}
	switch {
	case f.Key == "Name":
		return field(p.Name) || field(strings.TrimPrefix(p.Name, "/"))
	case f.Key == "Type":
		return field(v.Type)
	case f.Key == "KeyId":
		return field(v.KeyID)
	case f.Key == "Tier":
		return field(v.Tier)
	case f.Key == "DataType":
		return field(v.DataType)
	case f.Key == "Label":
		return slices.ContainsFunc(v.Labels, field)
	case f.Key == "Path":
		return slices.ContainsFunc(f.Values, func(path string) bool { return underPath(p.Name, path, f.Option == "Recursive") })
	case f.Key == "tag-key":
		return slices.ContainsFunc(p.Tags, func(t model.Tag) bool { return slices.Contains(f.Values, t.Key) })
	}
	key := strings.TrimPrefix(f.Key, "tag:")
	i := tagIndex(p.Tags, key)
	return i >= 0 && (len(f.Values) == 0 || field(p.Tags[i].Value))
}

// underPath says whether name lies under path: directly, or anywhere below when recursive.
func underPath(name, path string, recursive bool) bool {
	prefix := strings.TrimSuffix(path, "/") + "/"
	if !strings.HasPrefix(name, prefix) {
		return false
	}
	return recursive || !strings.Contains(name[len(prefix):], "/")
}

// PathQuery is GetParametersByPath's request.
type PathQuery struct {
	Path       string
	Recursive  bool
	Filters    []ParameterFilter
	Decrypt    bool
	MaxResults int
	Token      string
}

// GetParametersByPath reads the parameters under a path (one level, or all with Recursive).
func (m *SSM) GetParametersByPath(ctx context.Context, sc model.Scope, q PathQuery) ([]ParameterOut, string, error) {
	if !strings.HasPrefix(q.Path, "/") || (q.Path != "/" && validateParamName(strings.TrimSuffix(q.Path, "/")) != nil) {
		return nil, "", apierr.Errorf(apierr.InvalidParameter, "The parameter path %q is not valid: it must start with / and consist of sub-paths of letters, numbers and .-_ divided by /.", q.Path)
	}
	if err := validateParamFilters(q.Filters, byPathFilterKeys); err != nil {
		return nil, "", err
	}
	max, err := maxResults(q.MaxResults, 10)
	if err != nil {
		return nil, "", err
	}
	prefix := strings.TrimSuffix(q.Path, "/") + "/"
	page, err := m.params.List(ctx, sc, prefix, "", 0)
	if err != nil {
		return nil, "", err
	}
	var matched []model.Parameter
	for _, it := range page.Items {
		if underPath(it.Value.Name, q.Path, q.Recursive) && matchAll(it.Value, q.Filters) {
			matched = append(matched, it.Value)
		}
	}
	ps, next, err := keyedPage(matched, func(p model.Parameter) string { return p.Name }, q.Token, max)
	if err != nil {
		return nil, "", err
	}
	out := make([]ParameterOut, 0, len(ps))
	for _, p := range ps {
		o := versionOut(p, *p.Latest())
		if o.Value, err = openParamValue(m.seal, p, *p.Latest(), q.Decrypt); err != nil {
			return nil, "", err
		}
		out = append(out, o)
	}
	return out, next, nil
}

func matchAll(p model.Parameter, filters []ParameterFilter) bool {
	for _, f := range filters {
		if !matchParamFilter(p, f) {
			return false
		}
	}
	return true
}

func maxResults(n, limit int) (int, error) {
	if n == 0 {
		return limit, nil
	}
	if n < 1 || n > limit {
		return 0, apierr.Errorf(apierr.InvalidParameter, "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to %d and greater than or equal to 1", n, limit)
	}
	return n, nil
}

// DescribeQuery is DescribeParameters' request: the old Filters (Name, Type, KeyId) become
// ParameterFilters (Name matches as a prefix).
type DescribeQuery struct {
	Filters    []ParameterFilter
	MaxResults int
	Token      string
}

// DescribeParameters lists parameters' metadata (their latest version), filtered and paged.
func (m *SSM) DescribeParameters(ctx context.Context, sc model.Scope, q DescribeQuery) ([]ParameterOut, string, error) {
	if err := validateParamFilters(q.Filters, describeFilterKeys); err != nil {
		return nil, "", err
	}
	max, err := maxResults(q.MaxResults, 50)
	if err != nil {
		return nil, "", err
	}
	page, err := m.params.List(ctx, sc, "", "", 0)
	if err != nil {
		return nil, "", err
	}
	var matched []model.Parameter
	for _, it := range page.Items {
		if matchAll(it.Value, q.Filters) {
			matched = append(matched, it.Value)
		}
	}
	ps, next, err := keyedPage(matched, func(p model.Parameter) string { return p.Name }, q.Token, max)
	if err != nil {
		return nil, "", err
	}
	out := make([]ParameterOut, 0, len(ps))
	for _, p := range ps {
		out = append(out, versionOut(p, *p.Latest()))
	}
	return out, next, nil
}

// GetParameterHistory lists a parameter's versions, oldest first, with their values.
func (m *SSM) GetParameterHistory(ctx context.Context, sc model.Scope, name string, decrypt bool, maxN int, token string) ([]ParameterOut, string, error) {
	max, err := maxResults(maxN, 50)
	if err != nil {
		return nil, "", err
	}
	got, err := m.params.Get(ctx, sc, name)
	if errors.Is(err, apierr.NotFound) {
		return nil, "", paramNotFound(name)
	}
	if err != nil {
		return nil, "", err
	}
	p := got.Value
	vs, next, err := keyedPage(p.Versions, func(v model.ParameterVersion) string { return fmt.Sprint(v.Version) }, token, max)
	if err != nil {
		return nil, "", err
	}
	out := make([]ParameterOut, 0, len(vs))
	for _, v := range vs {
		o := versionOut(p, v)
		if o.Value, err = openParamValue(m.seal, p, v, decrypt); err != nil {
			return nil, "", err
		}
		out = append(out, o)
	}
	return out, next, nil
}
