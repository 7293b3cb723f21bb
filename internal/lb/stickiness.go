package lb

import (
	"encoding/base64"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Cookie names, as ALB names them.
const (
	lbCookieName    = "AWSALB"      // lb_cookie target stickiness
	appCookieName   = "AWSALBAPP-0" // app_cookie target stickiness
	groupCookieName = "AWSALBTG"    // forward action target-group stickiness
)

// pickGroup chooses the forward action's target group: the one the AWSALBTG cookie names
// while it is valid, otherwise by weighted random.
func pickGroup(f *compiledForward, r *http.Request, rt *route) *group {
	var g *group
	if len(f.groups) == 1 {
		g = f.groups[0]
	} else {
		if f.sticky {
			if id, _, ok := readCookie(r, groupCookieName); ok {
				g = f.stickyByKey[id]
			}
		}
		if g == nil {
			g = weighted(f)
		}
	}
	if f.sticky {
		rt.cookies = append(rt.cookies, stickyCookies(groupCookieName, encodeCookie(g.id, "", f.stickyFor), f.stickyFor)...)
	}
	return g
}

func weighted(f *compiledForward) *group {
	if f.total == 0 {
		return f.groups[0]
	}
	x := rand.IntN(f.total)
	for i, w := range f.weights {
		if x < w {
			return f.groups[i]
		}
		x -= w
	}
	return f.groups[len(f.groups)-1]
}

// pickTarget chooses a target of g: the sticky one while it is routable, otherwise by the
// group's algorithm. It returns nil when g has no registered target.
func pickTarget(g *group, r *http.Request, rt *route) *target {
	v := g.view.Load()
	if len(v.registered) == 0 {
		return nil
	}
	st := v.cfg.Stickiness
	var t *target
	name := lbCookieName
	if st.Enabled && st.Type == AppCookie {
		name = appCookieName
	}
	if st.Enabled {
		if id, addr, ok := readCookie(r, name); ok && id == g.id {
			if ap, err := netip.ParseAddrPort(addr); err == nil {
				t = v.lookup(ap)
			}
		}
	}
	if t == nil {
		t = v.pick(g)
	}
	switch {
	case st.Enabled && st.Type == AppCookie:
		rt.appStick, rt.appFor = st.CookieName, st.Duration
	case st.Enabled:
		rt.cookies = append(rt.cookies, stickyCookies(lbCookieName, encodeCookie(g.id, t.addr.String(), st.Duration), st.Duration)...)
	}
	return t
}

// targetCookie is the AWSALBAPP-0 cookie naming t.
func targetCookie(name string, t *target, d time.Duration) *http.Cookie {
	return &http.Cookie{Name: name, Value: encodeCookie(t.g.id, t.addr.String(), d), Path: "/", Expires: time.Now().Add(d)}
}

// stickyCookies returns the cookie and its CORS twin (SameSite=None, for cross-origin requests).
func stickyCookies(name, value string, d time.Duration) []*http.Cookie {
	exp := time.Now().Add(d)
	return []*http.Cookie{
		{Name: name, Value: value, Path: "/", Expires: exp},
		{Name: name + "CORS", Value: value, Path: "/", Expires: exp, SameSite: http.SameSiteNoneMode, Secure: true},
	}
}

// encodeCookie encodes group, target and expiry; the LB honours a cookie only until then.
func encodeCookie(group, addr string, d time.Duration) string {
	exp := strconv.FormatInt(time.Now().Add(d).Unix(), 10)
	return base64.RawURLEncoding.EncodeToString([]byte(group + "\x00" + addr + "\x00" + exp))
}

// readCookie decodes the named cookie (or its CORS twin): group, target, ok when unexpired.
func readCookie(r *http.Request, name string) (group, addr string, ok bool) {
	c, err := r.Cookie(name)
	if err != nil {
		if c, err = r.Cookie(name + "CORS"); err != nil {
			return "", "", false
		}
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return "", "", false
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 {
		return "", "", false
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || time.Now().Unix() > exp {
		return "", "", false
	}
	return parts[0], parts[1], true
}
