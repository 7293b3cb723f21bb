package elbv2

import (
	"context"

	"github.com/gantry-dev/gantry/internal/model"
)

type addTagsInput struct {
	ResourceArns []string `query:"ResourceArns.member,required"`
	Tags         []Tag    `query:"Tags.member,required"`
}

func (h *handler) addTags(ctx context.Context, sc model.Scope, in *addTagsInput) (*empty, error) {
	return &empty{}, h.ops.AddTags(ctx, sc, in.ResourceArns, tagsFromWire(in.Tags))
}

type removeTagsInput struct {
	ResourceArns []string `query:"ResourceArns.member,required"`
	TagKeys      []string `query:"TagKeys.member,required"`
}

func (h *handler) removeTags(ctx context.Context, sc model.Scope, in *removeTagsInput) (*empty, error) {
	return &empty{}, h.ops.RemoveTags(ctx, sc, in.ResourceArns, in.TagKeys)
}

type describeTagsInput struct {
	ResourceArns []string `query:"ResourceArns.member,required"`
}

type tagDescription struct {
	ResourceArn string    `xml:"ResourceArn"`
	Tags        list[Tag] `xml:"Tags"`
}

type describeTagsOutput struct {
	TagDescriptions list[tagDescription] `xml:"TagDescriptions"`
}

func (h *handler) describeTags(ctx context.Context, sc model.Scope, in *describeTagsInput) (*describeTagsOutput, error) {
	descs, err := h.ops.DescribeTags(ctx, sc, in.ResourceArns)
	if err != nil {
		return nil, err
	}
	out := make([]tagDescription, len(descs))
	for i, d := range descs {
		out[i] = tagDescription{ResourceArn: d.ResourceARN, Tags: tagsToWire(d.Tags)}
	}
	return &describeTagsOutput{TagDescriptions: listOf(out)}, nil
}

type describeSSLPoliciesInput struct {
	Names            []string `query:"Names.member"`
	Marker           string   `query:"Marker"`
	PageSize         *int32   `query:"PageSize"`
	LoadBalancerType string   `query:"LoadBalancerType"`
}

type sslPolicy struct {
	SslProtocols               list[string] `xml:"SslProtocols"`
	Ciphers                    list[cipher] `xml:"Ciphers"`
	Name                       string       `xml:"Name"`
	SupportedLoadBalancerTypes list[string] `xml:"SupportedLoadBalancerTypes"`
}

type cipher struct {
	Name     string `xml:"Name"`
	Priority int32  `xml:"Priority"`
}

type describeSSLPoliciesOutput struct {
	SslPolicies list[sslPolicy] `xml:"SslPolicies"`
	NextMarker  string          `xml:"NextMarker,omitempty"`
}

func (h *handler) describeSSLPolicies(ctx context.Context, sc model.Scope, in *describeSSLPoliciesInput) (*describeSSLPoliciesOutput, error) {
	policies, next, err := h.ops.DescribeSSLPolicies(ctx, sc, in.Names, in.LoadBalancerType, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	out := make([]sslPolicy, len(policies))
	for i, p := range policies {
		ciphers := make([]cipher, len(p.Ciphers))
		for j, c := range p.Ciphers {
			ciphers[j] = cipher{Name: c, Priority: int32(j + 1)}
		}
		out[i] = sslPolicy{Name: p.Name, SslProtocols: listOf(append([]string{}, p.Protocols...)), Ciphers: listOf(ciphers),
			SupportedLoadBalancerTypes: listOf([]string{model.LoadBalancerTypeApplication})}
	}
	return &describeSSLPoliciesOutput{SslPolicies: listOf(out), NextMarker: next}, nil
}
