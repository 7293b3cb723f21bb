package lb

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"/api/*", "/api/v1/x", true},
		{"/api/*", "/api", false},
		{"/img/*.png", "/img/a/b.png", true},
		{"/img/*.png", "/img/a.jpg", false},
		{"/v?/x", "/v1/x", true},
		{"/v?/x", "/v10/x", false},
		{"*", "", true},
		{"", "", true},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"*.example.com", "www.example.com", true},
		{"*.example.com", "example.com", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
	} {
		if got := glob(tc.p, tc.s); got != tc.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tc.p, tc.s, got, tc.want)
		}
	}
}

func TestConditions(t *testing.T) {
	type req struct {
		method, target, host string
		header               http.Header
		src                  string
	}
	mk := func(r req) (*http.Request, netip.Addr) {
		if r.method == "" {
			r.method = "GET"
		}
		hr := httptest.NewRequest(r.method, r.target, nil)
		if r.host != "" {
			hr.Host = r.host
		}
		for k, v := range r.header {
			hr.Header[k] = v
		}
		if r.src == "" {
			r.src = "192.0.2.1"
		}
		return hr, netip.MustParseAddr(r.src)
	}
	for _, tc := range []struct {
		name string
		c    Condition
		r    req
		want bool
	}{
		{"path match", Condition{Field: PathPattern, Values: []string{"/api/*"}}, req{target: "/api/users?x=1"}, true},
		{"path ignores query", Condition{Field: PathPattern, Values: []string{"/a"}}, req{target: "/a?b=c"}, true},
		{"path is case sensitive", Condition{Field: PathPattern, Values: []string{"/API/*"}}, req{target: "/api/users"}, false},
		{"path any of values", Condition{Field: PathPattern, Values: []string{"/x", "/y*"}}, req{target: "/yes"}, true},
		{"host case-insensitive", Condition{Field: HostHeader, Values: []string{"*.Example.COM"}}, req{target: "/", host: "WWW.example.com:8080"}, true},
		{"host question mark", Condition{Field: HostHeader, Values: []string{"api?.example.com"}}, req{target: "/", host: "api2.example.com"}, true},
		{"host mismatch", Condition{Field: HostHeader, Values: []string{"*.example.com"}}, req{target: "/", host: "example.org"}, false},
		{"header", Condition{Field: HTTPHeader, HeaderName: "user-agent", Values: []string{"*mobile*"}}, req{target: "/", header: http.Header{"User-Agent": {"Foo Mobile Safari"}}}, true},
		{"header absent", Condition{Field: HTTPHeader, HeaderName: "X-Env", Values: []string{"*"}}, req{target: "/"}, false},
		{"header any value", Condition{Field: HTTPHeader, HeaderName: "X-Env", Values: []string{"prod"}}, req{target: "/", header: http.Header{"X-Env": {"dev", "PROD"}}}, true},
		{"method", Condition{Field: HTTPRequestMethod, Values: []string{"POST", "PUT"}}, req{method: "PUT", target: "/"}, true},
		{"method case-sensitive", Condition{Field: HTTPRequestMethod, Values: []string{"post"}}, req{method: "POST", target: "/"}, false},
		{"query key value", Condition{Field: QueryString, QueryValues: []QueryValue{{Key: "version", Value: "v1"}}}, req{target: "/?Version=V1"}, true},
		{"query value only", Condition{Field: QueryString, QueryValues: []QueryValue{{Value: "ex*"}}}, req{target: "/?a=b&c=example"}, true},
		{"query wildcard key", Condition{Field: QueryString, QueryValues: []QueryValue{{Key: "ver*", Value: "?"}}}, req{target: "/?version=2"}, true},
		{"query mismatch", Condition{Field: QueryString, QueryValues: []QueryValue{{Key: "a", Value: "1"}}}, req{target: "/?a=2&b=1"}, false},
		{"source ip", Condition{Field: SourceIP, SourceIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, req{target: "/", src: "10.1.2.3"}, true},
		{"source ip mapped v4", Condition{Field: SourceIP, SourceIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, req{target: "/", src: "::ffff:10.1.2.3"}, true},
		{"source ip outside", Condition{Field: SourceIP, SourceIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}}, req{target: "/", src: "192.0.2.1"}, false},
		{"source ip v6", Condition{Field: SourceIP, SourceIPs: []netip.Prefix{netip.MustParsePrefix("2001:db8::/32")}}, req{target: "/", src: "2001:db8::5"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc, err := compileCondition(tc.c)
			if err != nil {
				t.Fatal(err)
			}
			r, src := mk(tc.r)
			if got := cc.match(r, src); got != tc.want {
				t.Errorf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRulePriority(t *testing.T) {
	fixedRule := func(prio int, def bool, body string, conds ...Condition) Rule {
		return Rule{ID: body, Priority: prio, Default: def, Conditions: conds,
			Action: Action{Type: FixedResponse, FixedResponse: &FixedResponseAction{StatusCode: 200, Body: body}}}
	}
	api := Condition{Field: PathPattern, Values: []string{"/api/*"}}
	v2 := Condition{Field: PathPattern, Values: []string{"/api/v2/*"}}
	post := Condition{Field: HTTPRequestMethod, Values: []string{"POST"}}
	rules := []Rule{
		fixedRule(0, true, "default"),
		fixedRule(20, false, "api", api),
		fixedRule(10, false, "v2-post", v2, post),
		fixedRule(30, false, "v2", v2),
	}
	cfg := Config{LoadBalancers: []LoadBalancer{{ID: "lb", Listeners: []Listener{{Addr: netip.MustParseAddrPort("127.0.0.1:1"), Protocol: HTTP, Rules: rules}}}}}
	if err := validate(cfg); err != nil {
		t.Fatal(err)
	}
	snap := compile(cfg, nil)
	cl := snap.listeners[listenerKey{"lb", netip.MustParseAddrPort("127.0.0.1:1")}]
	for _, tc := range []struct{ method, path, want string }{
		{"POST", "/api/v2/x", "v2-post"}, // priority 10: both conditions
		{"GET", "/api/v2/x", "api"},      // 20 before 30
		{"GET", "/other", "default"},     // no match: default, listed first but evaluated last
	} {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		got := matchRule(cl.rules, r, netip.MustParseAddr("192.0.2.1"))
		if got == nil || got.id != tc.want {
			t.Errorf("%s %s matched %v, want %s", tc.method, tc.path, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	addr := netip.MustParseAddrPort("127.0.0.1:80")
	good := simple(addr, fastCheck(), Target{IP: netip.MustParseAddr("10.0.0.1")})
	if err := validate(good); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"unknown group", func(c *Config) { c.LoadBalancers[0].Listeners[0].Rules[0].Action = forwardTo("nope") }, "unknown target group"},
		{"bad weight", func(c *Config) { c.LoadBalancers[0].Listeners[0].Rules[0].Action.Forward.TargetGroups[0].Weight = 1000 }, "0..999"},
		{"bad matcher", func(c *Config) { c.TargetGroups[0].HealthCheck.Matcher = "2xx" }, "matcher"},
		{"bad protocol", func(c *Config) { c.LoadBalancers[0].Listeners[0].Protocol = "TCP" }, "HTTP, HTTPS"},
		{"https without certificate", func(c *Config) { c.LoadBalancers[0].Listeners[0].Protocol = HTTPS }, "certificate"},
		{"bad redirect code", func(c *Config) {
			c.LoadBalancers[0].Listeners[0].Rules[0].Action = Action{Type: Redirect, Redirect: &RedirectAction{StatusCode: 307}}
		}, "301 or 302"},
		{"bad condition", func(c *Config) {
			c.LoadBalancers[0].Listeners[0].Rules = append(c.LoadBalancers[0].Listeners[0].Rules,
				Rule{Priority: 1, Conditions: []Condition{{Field: "cookie"}}, Action: forwardTo("tg")})
		}, "path-pattern"},
		{"repeated priority", func(c *Config) {
			r := Rule{Priority: 5, Conditions: []Condition{{Field: PathPattern, Values: []string{"/"}}}, Action: forwardTo("tg")}
			c.LoadBalancers[0].Listeners[0].Rules = append(c.LoadBalancers[0].Listeners[0].Rules, r, r)
		}, "priority 5"},
		{"target without port", func(c *Config) { c.TargetGroups[0].Port = 0 }, "port 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := simple(addr, fastCheck(), Target{IP: netip.MustParseAddr("10.0.0.1")})
			tc.edit(&cfg)
			err := validate(cfg)
			if err == nil || !contains(err.Error(), tc.want) {
				t.Fatalf("validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
