package store

import (
	"fmt"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/gantry-dev/gantry/internal/model"
)

// node covers what the model types hold and more: a recursive pointer, a map of pointers,
// an array of slices, nested slices of structs, and an unexported field that holds no memory.
type node struct {
	Name     string
	Next     *node
	Children []node
	ByName   map[string]*node
	Grid     [2][]int
	At       time.Time
	Raw      []byte
	n        int
}

// fill sets every exported field of v, recursively to depth, to something other than its zero
// value: slices and maps of two elements, allocated pointers.
func fill(v reflect.Value, depth int) {
	if depth == 0 {
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("s" + v.Type().Name())
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Pointer:
		n := reflect.New(v.Type().Elem())
		fill(n.Elem(), depth-1)
		v.Set(n)
	case reflect.Slice:
		n := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(n.Index(i), depth-1)
		}
		v.Set(n)
	case reflect.Array:
		for i := range v.Len() {
			fill(v.Index(i), depth-1)
		}
	case reflect.Map:
		n := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, depth-1)
		fill(e, depth-1)
		n.SetMapIndex(k, e)
		v.Set(n)
	case reflect.Struct:
		if v.Type() == timeType {
			v.Set(reflect.ValueOf(time.Date(2026, 11, 27, 10, 0, 0, 5, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth-1)
			}
		}
	}
}

// shared names the first place where a and b, of the same type, share memory.
func shared(a, b reflect.Value, path string) string {
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return ""
		}
		if a.Pointer() == b.Pointer() {
			return path
		}
		return shared(a.Elem(), b.Elem(), path+"*")
	case reflect.Slice:
		if a.Len() == 0 || b.Len() == 0 {
			return ""
		}
		if a.Pointer() == b.Pointer() {
			return path
		}
		for i := range a.Len() {
			if p := shared(a.Index(i), b.Index(i), path+"[]"); p != "" {
				return p
			}
		}
	case reflect.Array:
		for i := range a.Len() {
			if p := shared(a.Index(i), b.Index(i), path+"[]"); p != "" {
				return p
			}
		}
	case reflect.Map:
		if a.Len() == 0 {
			return ""
		}
		if a.Pointer() == b.Pointer() {
			return path
		}
		for it := a.MapRange(); it.Next(); {
			if p := shared(it.Value(), b.MapIndex(it.Key()), path+"{}"); p != "" {
				return p
			}
		}
	case reflect.Struct:
		if a.Type() == timeType {
			return ""
		}
		for i := range a.NumField() {
			if p := shared(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); p != "" {
				return p
			}
		}
	}
	return ""
}

func checkClone[T any](t *testing.T) {
	t.Helper()
	c, err := clonerFor[T]()
	if err != nil {
		t.Fatalf("%s: %v", reflect.TypeFor[T](), err)
	}
	var v T
	fill(reflect.ValueOf(&v).Elem(), 8)
	if reflect.ValueOf(v).IsZero() {
		t.Fatalf("%s: fill left it zero", reflect.TypeFor[T]())
	}
	got := c.clone(v).(T)
	if !reflect.DeepEqual(got, v) {
		t.Errorf("%s: the clone differs from its source", reflect.TypeFor[T]())
	}
	if p := shared(reflect.ValueOf(&got).Elem(), reflect.ValueOf(&v).Elem(), reflect.TypeFor[T]().String()); p != "" {
		t.Errorf("clone shares %s with its source", p)
	}
}

// TestCloneSharesNothing: every value type a table of the store decodes can be cloned, and the
// clone is equal to its source without sharing a slice, map or pointer with it. A type that
// gains an interface or func field fails here, rather than silently losing the decode cache.
func TestCloneSharesNothing(t *testing.T) {
	checkClone[node](t)
	checkClone[model.Task](t)
	checkClone[model.Service](t)
	checkClone[model.TaskDefinition](t)
	checkClone[model.Cluster](t)
	checkClone[model.Host](t)
	checkClone[model.LogGroup](t)
	checkClone[model.ManagedPolicy](t)
	checkClone[model.ManagedSecret](t)
	checkClone[model.Parameter](t)
	checkClone[model.Role](t)
	checkClone[model.User](t)
	checkClone[model.AccessKey](t)
	checkClone[model.Certificate](t)
	checkClone[model.Vpc](t)
	checkClone[model.Subnet](t)
	checkClone[model.SecurityGroup](t)
	checkClone[model.InternetGateway](t)
	checkClone[model.ElasticIP](t)
	checkClone[model.NatGateway](t)
	checkClone[model.RouteTable](t)
	checkClone[model.NetworkInterface](t)
	checkClone[model.LoadBalancer](t)
	checkClone[model.TargetGroup](t)
	checkClone[model.Listener](t)
	checkClone[model.Rule](t)
	checkClone[model.Target](t)
	checkClone[[]model.Tag](t)
	checkClone[ClientToken](t)
	checkClone[familyCounter](t)
	checkClone[hostAddress](t)
	checkClone[defaultVpc](t)
}

// TestCloneOfAMapResetsNilValues: a nil pointer after a non-nil one in a map stays nil in the
// copy (the copy reuses one scratch value for all entries).
func TestCloneOfAMapResetsNilValues(t *testing.T) {
	c, err := clonerFor[map[string]*node]()
	if err != nil {
		t.Fatal(err)
	}
	src := map[string]*node{}
	for i := range 50 {
		src[fmt.Sprint("p", i)] = &node{Name: "x"}
		src[fmt.Sprint("n", i)] = nil
	}
	got := c.clone(src).(map[string]*node)
	if !reflect.DeepEqual(got, src) {
		t.Fatalf("clone = %v, want %v", got, src)
	}
}

// TestClonerRefuses: types whose copies could share memory unseen get no cloner.
func TestClonerRefuses(t *testing.T) {
	type withInterface struct{ V any }
	type withFunc struct{ F func() }
	type withHiddenSlice struct{ s []int }
	type withChan struct{ C chan int }
	type withUnsafe struct{ P unsafe.Pointer }
	for _, err := range []error{
		errOf(clonerFor[withInterface]()),
		errOf(clonerFor[withFunc]()),
		errOf(clonerFor[withHiddenSlice]()),
		errOf(clonerFor[withChan]()),
		errOf(clonerFor[withUnsafe]()),
	} {
		if err == nil {
			t.Error("a type that cannot be copied safely got a cloner")
		}
	}
	// Asked again, the answer is the same (it is kept).
	if _, err := clonerFor[withInterface](); err == nil {
		t.Error("second ask got a cloner")
	}
}

func errOf(_ *cloner, err error) error { return err }
