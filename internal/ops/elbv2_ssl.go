package ops

import (
	"context"
	"slices"

	"github.com/gantry-dev/gantry/internal/model"
)

// SSLPolicy is a predefined security policy of HTTPS listeners: its protocols and its ciphers
// in order of preference (priority 1 first). Names, protocols and ciphers are AWS's, from "Security
// policies for your Application Load Balancer".
type SSLPolicy struct {
	Name      string
	Protocols []string
	Ciphers   []string
}

// Cipher lists shared by several policies.
var (
	tls13Ciphers = []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}
	fsCiphers    = []string{
		"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256",
		"ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
		"ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA", "ECDHE-ECDSA-AES256-SHA",
	}
	rsaCiphers = []string{"AES128-GCM-SHA256", "AES128-SHA256", "AES128-SHA", "AES256-GCM-SHA384", "AES256-SHA256", "AES256-SHA"}
	legacy     = concat(fsCiphers, rsaCiphers)
	tls12Only  = []string{
		"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256",
		"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384",
		"AES128-GCM-SHA256", "AES128-SHA256", "AES256-GCM-SHA384", "AES256-SHA256",
	}
	gcmOnly   = []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384"}
	tls10to12 = []string{"TLSv1", "TLSv1.1", "TLSv1.2"}
)

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// sslPolicies are the predefined policies gantry knows, in the order DescribeSSLPolicies lists
// them.
var sslPolicies = []SSLPolicy{
	{Name: "ELBSecurityPolicy-2016-08", Protocols: tls10to12, Ciphers: legacy},
	{Name: "ELBSecurityPolicy-TLS13-1-2-2021-06", Protocols: []string{"TLSv1.2", "TLSv1.3"}, Ciphers: concat(tls13Ciphers, tls12Only)},
	{Name: "ELBSecurityPolicy-TLS13-1-2-Res-2021-06", Protocols: []string{"TLSv1.2", "TLSv1.3"}, Ciphers: concat(tls13Ciphers, gcmOnly)},
	{Name: "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06", Protocols: []string{"TLSv1.2", "TLSv1.3"}, Ciphers: concat(tls13Ciphers, tls12Only)},
	{Name: "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06", Protocols: []string{"TLSv1.2", "TLSv1.3"}, Ciphers: concat(tls13Ciphers, legacy)},
	{Name: "ELBSecurityPolicy-TLS13-1-1-2021-06", Protocols: []string{"TLSv1.1", "TLSv1.2", "TLSv1.3"}, Ciphers: concat(tls13Ciphers, legacy)},
	{Name: "ELBSecurityPolicy-TLS13-1-0-2021-06", Protocols: []string{"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}, Ciphers: concat(tls13Ciphers, legacy)},
	{Name: "ELBSecurityPolicy-TLS13-1-3-2021-06", Protocols: []string{"TLSv1.3"}, Ciphers: tls13Ciphers},
	{Name: "ELBSecurityPolicy-TLS-1-0-2015-04", Protocols: tls10to12, Ciphers: concat(legacy, []string{"DES-CBC3-SHA"})},
	{Name: "ELBSecurityPolicy-TLS-1-1-2017-01", Protocols: []string{"TLSv1.1", "TLSv1.2"}, Ciphers: legacy},
	{Name: "ELBSecurityPolicy-TLS-1-2-2017-01", Protocols: []string{"TLSv1.2"}, Ciphers: tls12Only},
	{Name: "ELBSecurityPolicy-TLS-1-2-Ext-2018-06", Protocols: []string{"TLSv1.2"}, Ciphers: legacy},
	{Name: "ELBSecurityPolicy-FS-2018-06", Protocols: tls10to12, Ciphers: fsCiphers},
	{Name: "ELBSecurityPolicy-FS-1-1-2019-08", Protocols: []string{"TLSv1.1", "TLSv1.2"}, Ciphers: fsCiphers},
	{Name: "ELBSecurityPolicy-FS-1-2-2019-08", Protocols: []string{"TLSv1.2"}, Ciphers: fsCiphers},
	{Name: "ELBSecurityPolicy-FS-1-2-Res-2019-08", Protocols: []string{"TLSv1.2"}, Ciphers: []string{
		"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256",
		"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384"}},
	{Name: "ELBSecurityPolicy-FS-1-2-Res-2020-10", Protocols: []string{"TLSv1.2"}, Ciphers: gcmOnly},
}

// sslPolicy returns the policy name.
func sslPolicy(name string) (SSLPolicy, bool) {
	i := slices.IndexFunc(sslPolicies, func(p SSLPolicy) bool { return p.Name == name })
	if i < 0 {
		return SSLPolicy{}, false
	}
	return sslPolicies[i], true
}

// SSLPolicyOf returns the predefined policy name, for the data plane's TLS settings.
func SSLPolicyOf(name string) (SSLPolicy, bool) { return sslPolicy(name) }

// DescribeSSLPolicies lists the predefined policies, or those named (SSLPolicyNotFound for a
// name gantry does not know).
func (e *ELBv2) DescribeSSLPolicies(_ context.Context, _ model.Scope, names []string, lbType, marker string, size *int32) ([]SSLPolicy, string, error) {
	if lbType != "" && lbType != model.LoadBalancerTypeApplication {
		return nil, "", nil
	}
	out := sslPolicies
	if len(names) > 0 {
		out = nil
		for _, n := range uniq(names) {
			p, ok := sslPolicy(n)
			if !ok {
				return nil, "", elbErrorf(CodeSSLPolicyNotFound, "SSL policy '%s' not found", n)
			}
			out = append(out, p)
		}
	}
	return pageOf(out, marker, size)
}
