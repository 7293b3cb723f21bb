package store

import (
	"fmt"
	"reflect"
	"sync"
	"time"
)

// cloner makes deep copies of values of one type: a copy shares no slice, map or pointer with
// its source, so a caller may change it freely. Strings are shared (they cannot change), and
// so are time.Time values (their location is immutable).
type cloner struct {
	t    reflect.Type
	plan *plan
}

// plan says how to copy one type: leaf types are copied by assignment.
type plan struct {
	kind   reflect.Kind
	leaf   bool
	elem   *plan   // slice, array, pointer and map values
	key    *plan   // map keys
	fields []field // struct fields that are not leaves
}

type field struct {
	index int
	plan  *plan
}

var (
	cloners  sync.Map // reflect.Type -> *cloner, nil for a type that cannot be cloned
	timeType = reflect.TypeFor[time.Time]()
)

// clonerFor returns the cloner of T, or an error naming what T holds that cannot be copied
// (an interface, a function, a channel, an unexported field that refers to memory).
func clonerFor[T any]() (*cloner, error) {
	t := reflect.TypeFor[T]()
	if c, ok := cloners.Load(t); ok {
		if c.(*cloner) == nil {
			return nil, fmt.Errorf("%s cannot be cloned", t)
		}
		return c.(*cloner), nil
	}
	p, err := planFor(t, map[reflect.Type]*plan{})
	if err != nil {
		cloners.Store(t, (*cloner)(nil))
		return nil, err
	}
	c := &cloner{t: t, plan: p}
	cloners.Store(t, c)
	return c, nil
}

func planFor(t reflect.Type, seen map[reflect.Type]*plan) (*plan, error) {
	if p, ok := seen[t]; ok {
		return p, nil // a recursive type: the plan is being built
	}
	p := &plan{kind: t.Kind()}
	seen[t] = p
	var err error
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.String:
		p.leaf = true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		p.elem, err = planFor(t.Elem(), seen)
		p.leaf = t.Kind() == reflect.Array && p.elem.leaf
	case reflect.Map:
		if p.key, err = planFor(t.Key(), seen); err == nil {
			p.elem, err = planFor(t.Elem(), seen)
		}
	case reflect.Struct:
		if t == timeType {
			p.leaf = true
			break
		}
		for i := range t.NumField() {
			f := t.Field(i)
			fp, ferr := planFor(f.Type, seen)
			if ferr != nil {
				return nil, ferr
			}
			if fp.leaf {
				continue
			}
			if !f.IsExported() {
				return nil, fmt.Errorf("%s.%s is unexported and refers to memory", t, f.Name)
			}
			p.fields = append(p.fields, field{index: i, plan: fp})
		}
		p.leaf = len(p.fields) == 0
	default:
		return nil, fmt.Errorf("%s holds a %s", t, t.Kind())
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// clone returns a deep copy of v, which must be of the cloner's type.
func (c *cloner) clone(v any) any {
	src := reflect.ValueOf(v)
	dst := reflect.New(c.t).Elem()
	copyValue(dst, src, c.plan)
	return dst.Interface()
}

// copyValue sets dst, a settable value, to a deep copy of src.
func copyValue(dst, src reflect.Value, p *plan) {
	if p.leaf {
		dst.Set(src)
		return
	}
	if (p.kind == reflect.Pointer || p.kind == reflect.Slice || p.kind == reflect.Map) && src.IsNil() {
		dst.SetZero()
		return
	}
	switch p.kind {
	case reflect.Pointer:
		n := reflect.New(src.Type().Elem())
		copyValue(n.Elem(), src.Elem(), p.elem)
		dst.Set(n)
	case reflect.Slice:
		n := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		if p.elem.leaf {
			reflect.Copy(n, src)
		} else {
			for i := range src.Len() {
				copyValue(n.Index(i), src.Index(i), p.elem)
			}
		}
		dst.Set(n)
	case reflect.Array:
		for i := range src.Len() {
			copyValue(dst.Index(i), src.Index(i), p.elem)
		}
	case reflect.Map:
		n := reflect.MakeMapWithSize(src.Type(), src.Len())
		k := reflect.New(src.Type().Key()).Elem()
		e := reflect.New(src.Type().Elem()).Elem()
		for it := src.MapRange(); it.Next(); {
			copyValue(k, it.Key(), p.key)
			copyValue(e, it.Value(), p.elem)
			n.SetMapIndex(k, e)
		}
		dst.Set(n)
	case reflect.Struct:
		dst.Set(src)
		for _, f := range p.fields {
			copyValue(dst.Field(f.index), src.Field(f.index), f.plan)
		}
	}
}
