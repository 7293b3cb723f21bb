package store

import (
	"time"

	"github.com/gantry-dev/gantry/internal/model"
)

// Storage records of the ELB resources, schema version 1, with their conversions.

type loadBalancerRecord struct {
	Account               string            `json:"account"`
	Region                string            `json:"region"`
	ARN                   string            `json:"arn"`
	Name                  string            `json:"name"`
	Type                  string            `json:"type"`
	Scheme                string            `json:"scheme"`
	VpcID                 string            `json:"vpcId"`
	Nodes                 []elbLbNodeRecord `json:"nodes,omitempty"`
	SecurityGroups        []string          `json:"groups,omitempty"`
	DNSName               string            `json:"dns"`
	CanonicalHostedZoneID string            `json:"zone"`
	State                 string            `json:"state"`
	StateReason           string            `json:"stateReason,omitempty"`
	IPAddressType         string            `json:"ipType"`
	HostAddress           string            `json:"hostAddr"`
	Attributes            map[string]string `json:"attrs,omitempty"`
	Tags                  []tagRecord       `json:"tags,omitempty"`
	CreatedAt             time.Time         `json:"createdAt"`
}

type elbLbNodeRecord struct {
	SubnetID         string `json:"subnetId"`
	AvailabilityZone string `json:"az"`
	ENIID            string `json:"eni"`
	PrivateIP        string `json:"ip"`
}

func recordFromLoadBalancer(l model.LoadBalancer) loadBalancerRecord {
	return loadBalancerRecord{Account: l.Scope.Account, Region: l.Scope.Region, ARN: l.ARN, Name: l.Name, Type: l.Type,
		Scheme: l.Scheme, VpcID: l.VpcID, SecurityGroups: l.SecurityGroups, DNSName: l.DNSName,
		CanonicalHostedZoneID: l.CanonicalHostedZoneID, State: l.State, StateReason: l.StateReason,
		IPAddressType: l.IPAddressType, HostAddress: l.HostAddress, Attributes: l.Attributes,
		Tags: tagsToRecords(l.Tags), CreatedAt: l.CreatedAt,
		Nodes: convertAll(l.Nodes, func(n model.LoadBalancerNode) elbLbNodeRecord { return elbLbNodeRecord(n) })}
}

func loadBalancerFromRecord(r loadBalancerRecord) model.LoadBalancer {
	return model.LoadBalancer{Scope: model.Scope{Account: r.Account, Region: r.Region}, ARN: r.ARN, Name: r.Name, Type: r.Type,
		Scheme: r.Scheme, VpcID: r.VpcID, SecurityGroups: r.SecurityGroups, DNSName: r.DNSName,
		CanonicalHostedZoneID: r.CanonicalHostedZoneID, State: r.State, StateReason: r.StateReason,
		IPAddressType: r.IPAddressType, HostAddress: r.HostAddress, Attributes: r.Attributes,
		Tags: tagsFromRecords(r.Tags), CreatedAt: r.CreatedAt,
		Nodes: convertAll(r.Nodes, func(n elbLbNodeRecord) model.LoadBalancerNode { return model.LoadBalancerNode(n) })}
}

type targetGroupRecord struct {
	Account         string               `json:"account"`
	Region          string               `json:"region"`
	ARN             string               `json:"arn"`
	Name            string               `json:"name"`
	Protocol        string               `json:"protocol"`
	ProtocolVersion string               `json:"protocolVersion"`
	Port            int32                `json:"port"`
	VpcID           string               `json:"vpcId"`
	TargetType      string               `json:"targetType"`
	IPAddressType   string               `json:"ipType"`
	HealthCheck     elbHealthCheckRecord `json:"healthCheck"`
	Matcher         elbMatcherRecord     `json:"matcher"`
	Attributes      map[string]string    `json:"attrs,omitempty"`
	Tags            []tagRecord          `json:"tags,omitempty"`
	CreatedAt       time.Time            `json:"createdAt"`
}

type elbHealthCheckRecord struct {
	Enabled                 bool   `json:"enabled"`
	Protocol                string `json:"protocol"`
	Port                    string `json:"port"`
	Path                    string `json:"path,omitempty"`
	IntervalSeconds         int32  `json:"interval"`
	TimeoutSeconds          int32  `json:"timeout"`
	HealthyThresholdCount   int32  `json:"healthy"`
	UnhealthyThresholdCount int32  `json:"unhealthy"`
}

type elbMatcherRecord struct {
	HTTPCode string `json:"http,omitempty"`
	GRPCCode string `json:"grpc,omitempty"`
}

func recordFromTargetGroup(g model.TargetGroup) targetGroupRecord {
	return targetGroupRecord{Account: g.Scope.Account, Region: g.Scope.Region, ARN: g.ARN, Name: g.Name, Protocol: g.Protocol,
		ProtocolVersion: g.ProtocolVersion, Port: g.Port, VpcID: g.VpcID, TargetType: g.TargetType, IPAddressType: g.IPAddressType,
		HealthCheck: elbHealthCheckRecord(g.HealthCheck), Matcher: elbMatcherRecord(g.Matcher), Attributes: g.Attributes,
		Tags: tagsToRecords(g.Tags), CreatedAt: g.CreatedAt}
}

func targetGroupFromRecord(r targetGroupRecord) model.TargetGroup {
	return model.TargetGroup{Scope: model.Scope{Account: r.Account, Region: r.Region}, ARN: r.ARN, Name: r.Name, Protocol: r.Protocol,
		ProtocolVersion: r.ProtocolVersion, Port: r.Port, VpcID: r.VpcID, TargetType: r.TargetType, IPAddressType: r.IPAddressType,
		HealthCheck: model.TargetGroupHealthCheck(r.HealthCheck), Matcher: model.Matcher(r.Matcher), Attributes: r.Attributes,
		Tags: tagsFromRecords(r.Tags), CreatedAt: r.CreatedAt}
}

type listenerRecord struct {
	Account         string            `json:"account"`
	Region          string            `json:"region"`
	ARN             string            `json:"arn"`
	LoadBalancerARN string            `json:"lb"`
	Port            int32             `json:"port"`
	Protocol        string            `json:"protocol"`
	SslPolicy       string            `json:"sslPolicy,omitempty"`
	Certificates    []elbCertRecord   `json:"certs,omitempty"`
	DefaultActions  []elbActionRecord `json:"actions"`
	AlpnPolicy      []string          `json:"alpn,omitempty"`
	Tags            []tagRecord       `json:"tags,omitempty"`
}

type elbCertRecord struct {
	CertificateARN string `json:"arn"`
	IsDefault      bool   `json:"default,omitempty"`
}

type elbActionRecord struct {
	Type                string                  `json:"type"`
	Order               int32                   `json:"order,omitempty"`
	TargetGroupARN      string                  `json:"tg,omitempty"`
	ForwardConfig       *elbForwardRecord       `json:"forward,omitempty"`
	RedirectConfig      *elbRedirectRecord      `json:"redirect,omitempty"`
	FixedResponseConfig *elbFixedResponseRecord `json:"fixed,omitempty"`
}

type elbForwardRecord struct {
	TargetGroups       []elbWeightedTGRecord `json:"tgs"`
	StickinessEnabled  bool                  `json:"sticky,omitempty"`
	StickinessDuration int32                 `json:"stickySeconds,omitempty"`
}

type elbWeightedTGRecord struct {
	TargetGroupARN string `json:"arn"`
	Weight         int32  `json:"weight"`
}

type elbRedirectRecord struct {
	Protocol   string `json:"protocol"`
	Port       string `json:"port"`
	Host       string `json:"host"`
	Path       string `json:"path"`
	Query      string `json:"query"`
	StatusCode string `json:"status"`
}

type elbFixedResponseRecord struct {
	StatusCode  string `json:"status"`
	ContentType string `json:"type,omitempty"`
	MessageBody string `json:"body,omitempty"`
}

func elbActionToRecord(a model.Action) elbActionRecord {
	return elbActionRecord{Type: a.Type, Order: a.Order, TargetGroupARN: a.TargetGroupARN,
		ForwardConfig: convertPtr(a.ForwardConfig, func(f model.ForwardConfig) elbForwardRecord {
			return elbForwardRecord{StickinessEnabled: f.StickinessEnabled, StickinessDuration: f.StickinessDuration,
				TargetGroups: convertAll(f.TargetGroups, func(t model.WeightedTargetGroup) elbWeightedTGRecord { return elbWeightedTGRecord(t) })}
		}),
		RedirectConfig:      convertPtr(a.RedirectConfig, func(r model.RedirectConfig) elbRedirectRecord { return elbRedirectRecord(r) }),
		FixedResponseConfig: convertPtr(a.FixedResponseConfig, func(f model.FixedResponseConfig) elbFixedResponseRecord { return elbFixedResponseRecord(f) })}
}

func elbActionFromRecord(a elbActionRecord) model.Action {
	return model.Action{Type: a.Type, Order: a.Order, TargetGroupARN: a.TargetGroupARN,
		ForwardConfig: convertPtr(a.ForwardConfig, func(f elbForwardRecord) model.ForwardConfig {
			return model.ForwardConfig{StickinessEnabled: f.StickinessEnabled, StickinessDuration: f.StickinessDuration,
				TargetGroups: convertAll(f.TargetGroups, func(t elbWeightedTGRecord) model.WeightedTargetGroup { return model.WeightedTargetGroup(t) })}
		}),
		RedirectConfig:      convertPtr(a.RedirectConfig, func(r elbRedirectRecord) model.RedirectConfig { return model.RedirectConfig(r) }),
		FixedResponseConfig: convertPtr(a.FixedResponseConfig, func(f elbFixedResponseRecord) model.FixedResponseConfig { return model.FixedResponseConfig(f) })}
}

func recordFromListener(l model.Listener) listenerRecord {
	return listenerRecord{Account: l.Scope.Account, Region: l.Scope.Region, ARN: l.ARN, LoadBalancerARN: l.LoadBalancerARN,
		Port: l.Port, Protocol: l.Protocol, SslPolicy: l.SslPolicy, AlpnPolicy: l.AlpnPolicy, Tags: tagsToRecords(l.Tags),
		Certificates:   convertAll(l.Certificates, func(c model.ListenerCertificate) elbCertRecord { return elbCertRecord(c) }),
		DefaultActions: convertAll(l.DefaultActions, elbActionToRecord)}
}

func listenerFromRecord(r listenerRecord) model.Listener {
	return model.Listener{Scope: model.Scope{Account: r.Account, Region: r.Region}, ARN: r.ARN, LoadBalancerARN: r.LoadBalancerARN,
		Port: r.Port, Protocol: r.Protocol, SslPolicy: r.SslPolicy, AlpnPolicy: r.AlpnPolicy, Tags: tagsFromRecords(r.Tags),
		Certificates:   convertAll(r.Certificates, func(c elbCertRecord) model.ListenerCertificate { return model.ListenerCertificate(c) }),
		DefaultActions: convertAll(r.DefaultActions, elbActionFromRecord)}
}

type ruleRecord struct {
	Account     string               `json:"account"`
	Region      string               `json:"region"`
	ARN         string               `json:"arn"`
	ListenerARN string               `json:"listener"`
	Priority    int32                `json:"priority"`
	IsDefault   bool                 `json:"default,omitempty"`
	Conditions  []elbConditionRecord `json:"conditions,omitempty"`
	Actions     []elbActionRecord    `json:"actions"`
	Tags        []tagRecord          `json:"tags,omitempty"`
}

type elbConditionRecord struct {
	Field          string             `json:"field"`
	Values         []string           `json:"values,omitempty"`
	HTTPHeaderName string             `json:"header,omitempty"`
	QueryStrings   []elbQueryKVRecord `json:"query,omitempty"`
}

type elbQueryKVRecord struct {
	Key   string `json:"k,omitempty"`
	Value string `json:"v"`
}

func recordFromRule(r model.Rule) ruleRecord {
	return ruleRecord{Account: r.Scope.Account, Region: r.Scope.Region, ARN: r.ARN, ListenerARN: r.ListenerARN,
		Priority: r.Priority, IsDefault: r.IsDefault, Tags: tagsToRecords(r.Tags), Actions: convertAll(r.Actions, elbActionToRecord),
		Conditions: convertAll(r.Conditions, func(c model.RuleCondition) elbConditionRecord {
			return elbConditionRecord{Field: c.Field, Values: c.Values, HTTPHeaderName: c.HTTPHeaderName,
				QueryStrings: convertAll(c.QueryStrings, func(q model.QueryStringKeyValue) elbQueryKVRecord { return elbQueryKVRecord(q) })}
		})}
}

func ruleFromRecord(r ruleRecord) model.Rule {
	return model.Rule{Scope: model.Scope{Account: r.Account, Region: r.Region}, ARN: r.ARN, ListenerARN: r.ListenerARN,
		Priority: r.Priority, IsDefault: r.IsDefault, Tags: tagsFromRecords(r.Tags), Actions: convertAll(r.Actions, elbActionFromRecord),
		Conditions: convertAll(r.Conditions, func(c elbConditionRecord) model.RuleCondition {
			return model.RuleCondition{Field: c.Field, Values: c.Values, HTTPHeaderName: c.HTTPHeaderName,
				QueryStrings: convertAll(c.QueryStrings, func(q elbQueryKVRecord) model.QueryStringKeyValue { return model.QueryStringKeyValue(q) })}
		})}
}

type targetRecord struct {
	TargetGroupARN   string    `json:"tg"`
	ID               string    `json:"id"`
	Port             int32     `json:"port"`
	AvailabilityZone string    `json:"az,omitempty"`
	State            string    `json:"state"`
	Reason           string    `json:"reason,omitempty"`
	Description      string    `json:"description,omitempty"`
	RegisteredAt     time.Time `json:"registeredAt"`
	DeregisteredAt   time.Time `json:"deregisteredAt,omitzero"`
}

func recordFromTarget(t model.Target) targetRecord { return targetRecord(t) }

func targetFromRecord(r targetRecord) model.Target { return model.Target(r) }
