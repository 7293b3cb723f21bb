package awsquery

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
)

type matcher struct {
	HTTPCode string `query:"HttpCode"`
}

type healthCheck struct {
	Path     *string  `query:"Path"`
	Port     int32    `query:"Port"`
	Matcher  *matcher `query:"Matcher"`
	Interval *int64   `query:"IntervalSeconds"`
}

type tag struct {
	Key   string  `query:"Key,required"`
	Value *string `query:"Value"`
}

type filter struct {
	Name   string   `query:"Name"`
	Values []string `query:"Value"`
}

type input struct {
	Name       *string           `query:"Name,required"`
	Names      []string          `query:"Names.member"`
	Enabled    *bool             `query:"Enabled"`
	Weight     float64           `query:"Weight"`
	Big        uint64            `query:"Big"`
	When       *time.Time        `query:"When"`
	Tags       []tag             `query:"Tags.member"`
	Attributes map[string]string `query:"Attributes.entry"`
	Renamed    map[string]int32  `query:"Attribute,key=Name,value=Value"`
	Health     *healthCheck      `query:"HealthCheck"`
	Filters    []filter          `query:"Filter"`   // EC2: Filter.1.Name, Filter.1.Value.1
	SubnetIDs  []string          `query:"SubnetId"` // EC2: SubnetId.1
	Ignored    string
	Skipped    string `query:"-"`
}

func ptr[T any](v T) *T { return &v }

func TestDecode(t *testing.T) {
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name     string
		form     string
		want     input
		wantKind apierr.Kind // empty: success
		wantMsg  string      // substring of the error message
	}{
		{name: "scalars", form: "Name=a&Enabled=TRUE&Weight=1.5&Big=18446744073709551615&When=2026-01-02T03:04:05Z&Ignored=x&Skipped=y",
			want: input{Name: ptr("a"), Enabled: ptr(true), Weight: 1.5, Big: 1<<64 - 1, When: &when}},
		{name: "empty string is present", form: "Name=",
			want: input{Name: ptr("")}},
		{name: "query list in index order", form: "Name=a&Names.member.2=y&Names.member.1=x&Names.member.10=z",
			want: input{Name: ptr("a"), Names: []string{"x", "y", "z"}}},
		{name: "empty list as bare name", form: "Name=a&Names=",
			want: input{Name: ptr("a"), Names: []string{}}},
		{name: "list of structs", form: "Name=a&Tags.member.1.Key=k1&Tags.member.1.Value=v1&Tags.member.2.Key=k2",
			want: input{Name: ptr("a"), Tags: []tag{{Key: "k1", Value: ptr("v1")}, {Key: "k2"}}}},
		{name: "map entries", form: "Name=a&Attributes.entry.1.key=idle&Attributes.entry.1.value=60&Attributes.entry.2.key=http2&Attributes.entry.2.value=true",
			want: input{Name: ptr("a"), Attributes: map[string]string{"idle": "60", "http2": "true"}}},
		{name: "renamed map members", form: "Name=a&Attribute.1.Name=n&Attribute.1.Value=7",
			want: input{Name: ptr("a"), Renamed: map[string]int32{"n": 7}}},
		{name: "nested struct", form: "Name=a&HealthCheck.Path=/up&HealthCheck.Port=8080&HealthCheck.Matcher.HttpCode=200-299&HealthCheck.IntervalSeconds=30",
			want: input{Name: ptr("a"), Health: &healthCheck{Path: ptr("/up"), Port: 8080, Matcher: &matcher{HTTPCode: "200-299"}, Interval: ptr(int64(30))}}},
		{name: "ec2 lists", form: "Name=a&SubnetId.1=subnet-1&SubnetId.2=subnet-2&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1&Filter.1.Value.2=vpc-2",
			want: input{Name: ptr("a"), SubnetIDs: []string{"subnet-1", "subnet-2"}, Filters: []filter{{Name: "vpc-id", Values: []string{"vpc-1", "vpc-2"}}}}},
		{name: "missing required", form: "Names.member.1=x",
			wantKind: apierr.MissingParameter, wantMsg: "parameter Name"},
		{name: "missing required in list element", form: "Name=a&Tags.member.1.Value=v",
			wantKind: apierr.MissingParameter, wantMsg: "parameter Tags.member.1.Key"},
		{name: "missing map key", form: "Name=a&Attributes.entry.1.value=v",
			wantKind: apierr.MissingParameter, wantMsg: "Attributes.entry.1.key"},
		{name: "bad bool", form: "Name=a&Enabled=yes",
			wantKind: apierr.InvalidParameter, wantMsg: "parameter Enabled"},
		{name: "int32 overflow", form: "Name=a&HealthCheck.Port=99999999999",
			wantKind: apierr.InvalidParameter, wantMsg: "parameter HealthCheck.Port"},
		{name: "bad int in map value", form: "Name=a&Attribute.1.Name=n&Attribute.1.Value=x",
			wantKind: apierr.InvalidParameter, wantMsg: "parameter Attribute.1.Value"},
		{name: "negative uint", form: "Name=a&Big=-1",
			wantKind: apierr.InvalidParameter, wantMsg: "parameter Big"},
		{name: "bad float", form: "Name=a&Weight=heavy",
			wantKind: apierr.InvalidParameter, wantMsg: "parameter Weight"},
		{name: "bad timestamp", form: "Name=a&When=yesterday",
			wantKind: apierr.InvalidParameter, wantMsg: "parameter When"},
		{name: "bad list index", form: "Name=a&Names.member.first=x",
			wantKind: apierr.InvalidParameter, wantMsg: "Names.member.first"},
		{name: "zero list index", form: "Name=a&SubnetId.0=x",
			wantKind: apierr.InvalidParameter, wantMsg: "SubnetId.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form, err := url.ParseQuery(tt.form)
			if err != nil {
				t.Fatal(err)
			}
			var got input
			err = Decode(form, &got)
			if tt.wantKind != "" {
				if err == nil || apierr.KindOf(err) != tt.wantKind || !strings.Contains(apierr.Message(err), tt.wantMsg) {
					t.Fatalf("error %v (kind %q), want kind %q with %q", err, apierr.KindOf(err), tt.wantKind, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeRejectsNonStruct(t *testing.T) {
	var s string
	for _, v := range []any{nil, s, &s, (*input)(nil)} {
		if err := Decode(url.Values{}, v); apierr.KindOf(err) != apierr.Internal {
			t.Errorf("Decode(%T) = %v, want an internal error", v, err)
		}
	}
}

func TestDecodeUnsupportedType(t *testing.T) {
	var v struct {
		C chan int `query:"C"`
	}
	err := Decode(url.Values{"C": {"1"}}, &v)
	if apierr.KindOf(err) != apierr.Internal {
		t.Fatalf("got %v, want an internal error for a field type the decoder cannot fill", err)
	}
}
