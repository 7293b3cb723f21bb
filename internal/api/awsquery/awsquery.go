// Package awsquery decodes AWS query-protocol forms (Action=...&Names.member.1=...) into wire
// shapes, with AWS's errors.
package awsquery

import (
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
)

// Decode fills the struct v points to from form. Exported fields are named by `query` tags, with
// the member names AWS sends; untagged fields are left alone:
//
//	`query:"LoadBalancerArn"`   a scalar (string, bool, integers, floats, time.Time) or a pointer to one;
//	                            a pointer stays nil when the member is absent
//	`query:"Names.member"`      a list: Names.member.1, Names.member.2 ... (botocore sends an empty
//	                            list as "Names="); EC2's flavour is just `query:"SubnetId"` -> SubnetId.1
//	`query:"Attributes.entry"`  a map with string keys: Attributes.entry.N.key and .value;
//	                            ",key=Name,value=Value" renames the two
//	`query:"HealthCheck"`       a nested struct (or pointer to one): HealthCheck.Path ...
//
// ",required" makes an absent member apierr.MissingParameter. A value that does not parse is
// apierr.InvalidParameter naming the parameter. List elements are taken in index order; gaps are
// tolerated, as AWS tolerates them.
func Decode(form url.Values, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("awsquery: decode into %T, want a pointer to a struct: %w", v, apierr.Internal)
	}
	d := decoder{form: form}
	return d.fields("", rv.Elem())
}

type decoder struct{ form url.Values }

// options are a tag's settings after the name.
type options struct {
	required bool
	key      string // map entry key member, default "key"
	value    string // map entry value member, default "value"
}

func parseTag(tag string) (string, options) {
	name, rest, _ := strings.Cut(tag, ",")
	o := options{key: "key", value: "value"}
	for opt := range strings.SplitSeq(rest, ",") {
		switch k, v, _ := strings.Cut(opt, "="); k {
		case "required":
			o.required = true
		case "key":
			o.key = v
		case "value":
			o.value = v
		}
	}
	return name, o
}

// fields decodes the tagged fields of struct v from the members under prefix.
func (d decoder) fields(prefix string, v reflect.Value) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("query")
		if !ok || tag == "-" || !f.IsExported() {
			continue
		}
		name, opts := parseTag(tag)
		if prefix != "" {
			name = prefix + "." + name
		}
		present, err := d.value(name, opts, v.Field(i))
		if err != nil {
			return err
		}
		if !present && opts.required {
			return apierr.Errorf(apierr.MissingParameter, "The request must contain the parameter %s", name)
		}
	}
	return nil
}

var timeType = reflect.TypeFor[time.Time]()

// value decodes the member called name into v and says whether the form had it at all.
func (d decoder) value(name string, opts options, v reflect.Value) (bool, error) {
	switch {
	case v.Kind() == reflect.Pointer:
		if !d.has(name, v.Type().Elem()) {
			return false, nil
		}
		elem := reflect.New(v.Type().Elem())
		if _, err := d.value(name, opts, elem.Elem()); err != nil {
			return true, err
		}
		v.Set(elem)
		return true, nil
	case v.Kind() == reflect.Struct && v.Type() != timeType:
		return d.has(name, v.Type()), d.fields(name, v)
	case v.Kind() == reflect.Slice:
		return d.list(name, v)
	case v.Kind() == reflect.Map:
		return d.mapping(name, opts, v)
	}
	raw, ok := d.form[name]
	if !ok || len(raw) == 0 {
		return false, nil
	}
	return true, scalar(name, raw[0], v)
}

// has says whether the form holds the member name of type t: the key itself for a scalar, or
// anything below it for a struct.
func (d decoder) has(name string, t reflect.Type) bool {
	if t.Kind() == reflect.Struct && t != timeType {
		for k := range d.form {
			if strings.HasPrefix(k, name+".") {
				return true
			}
		}
		return false
	}
	_, ok := d.form[name]
	return ok
}

func (d decoder) list(name string, v reflect.Value) (bool, error) {
	idx, err := d.indexes(name)
	if err != nil {
		return true, err
	}
	if len(idx) == 0 {
		// botocore sends an empty list as its bare name: "Names=" for "Names.member".
		if _, ok := d.form[strings.TrimSuffix(name, ".member")]; ok {
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			return true, nil
		}
		return false, nil
	}
	s := reflect.MakeSlice(v.Type(), len(idx), len(idx))
	for i, n := range idx {
		if _, err := d.value(name+"."+strconv.Itoa(n), options{}, s.Index(i)); err != nil {
			return true, err
		}
	}
	v.Set(s)
	return true, nil
}

func (d decoder) mapping(name string, opts options, v reflect.Value) (bool, error) {
	if v.Type().Key().Kind() != reflect.String {
		return false, fmt.Errorf("awsquery: map key of %s must be a string: %w", v.Type(), apierr.Internal)
	}
	idx, err := d.indexes(name)
	if err != nil || len(idx) == 0 {
		return err != nil, err
	}
	m := reflect.MakeMapWithSize(v.Type(), len(idx))
	for _, n := range idx {
		entry := name + "." + strconv.Itoa(n) + "."
		key, ok := d.form[entry+opts.key]
		if !ok || len(key) == 0 {
			return true, apierr.Errorf(apierr.MissingParameter, "The request must contain the parameter %s%s", entry, opts.key)
		}
		val := reflect.New(v.Type().Elem()).Elem()
		if _, err := d.value(entry+opts.value, options{}, val); err != nil {
			return true, err
		}
		m.SetMapIndex(reflect.ValueOf(key[0]).Convert(v.Type().Key()), val)
	}
	v.Set(m)
	return true, nil
}

// indexes returns the distinct N of the members name.N and name.N.*, in ascending order.
func (d decoder) indexes(name string) ([]int, error) {
	var idx []int
	for k := range d.form {
		rest, ok := strings.CutPrefix(k, name+".")
		if !ok {
			continue
		}
		seg, _, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(seg)
		if err != nil || n < 1 {
			return nil, apierr.Errorf(apierr.InvalidParameter, "Invalid parameter %s: %q is not a list index (1, 2, ...)", k, seg)
		}
		idx = append(idx, n)
	}
	slices.Sort(idx)
	return slices.Compact(idx), nil
}

// scalar parses s into v, naming the parameter when it does not fit.
func scalar(name, s string, v reflect.Value) error {
	invalid := func(want string) error {
		return apierr.Errorf(apierr.InvalidParameter, "Invalid value %q for parameter %s: expected %s", s, name, want)
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		switch strings.ToLower(s) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			return invalid("true or false")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return invalid(fmt.Sprintf("an integer of %d bits", v.Type().Bits()))
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, v.Type().Bits())
		if err != nil {
			return invalid(fmt.Sprintf("a non-negative integer of %d bits", v.Type().Bits()))
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil {
			return invalid("a number")
		}
		v.SetFloat(f)
	case reflect.Struct: // time.Time, the only struct value() hands over
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return invalid("an ISO 8601 timestamp")
		}
		v.Set(reflect.ValueOf(t))
	default:
		return fmt.Errorf("awsquery: parameter %s has unsupported type %s: %w", name, v.Type(), apierr.Internal)
	}
	return nil
}
