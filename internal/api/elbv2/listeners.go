package elbv2

import (
	"context"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// Listener is ELBv2's listener shape.
type Listener struct {
	ListenerArn     string             `xml:"ListenerArn"`
	LoadBalancerArn string             `xml:"LoadBalancerArn"`
	Port            int32              `xml:"Port"`
	Protocol        string             `xml:"Protocol"`
	Certificates    *list[certificate] `xml:"Certificates,omitempty"`
	SslPolicy       string             `xml:"SslPolicy,omitempty"`
	DefaultActions  list[action]       `xml:"DefaultActions"`
}

type certificate struct {
	CertificateArn string `xml:"CertificateArn" query:"CertificateArn"`
	IsDefault      *bool  `xml:"IsDefault,omitempty" query:"IsDefault"`
}

// action is ELBv2's Action shape, both ways.
type action struct {
	Type                string               `xml:"Type" query:"Type"`
	TargetGroupArn      string               `xml:"TargetGroupArn,omitempty" query:"TargetGroupArn"`
	Order               *int32               `xml:"Order,omitempty" query:"Order"`
	RedirectConfig      *redirectConfig      `xml:"RedirectConfig,omitempty" query:"RedirectConfig"`
	FixedResponseConfig *fixedResponseConfig `xml:"FixedResponseConfig,omitempty" query:"FixedResponseConfig"`
	ForwardConfig       *forwardConfig       `xml:"ForwardConfig,omitempty" query:"ForwardConfig"`
}

type redirectConfig struct {
	Protocol   string  `xml:"Protocol,omitempty" query:"Protocol"`
	Port       string  `xml:"Port,omitempty" query:"Port"`
	Host       string  `xml:"Host,omitempty" query:"Host"`
	Path       string  `xml:"Path,omitempty" query:"Path"`
	Query      *string `xml:"Query" query:"Query"`
	StatusCode string  `xml:"StatusCode" query:"StatusCode"`
}

type fixedResponseConfig struct {
	MessageBody string `xml:"MessageBody,omitempty" query:"MessageBody"`
	StatusCode  string `xml:"StatusCode" query:"StatusCode"`
	ContentType string `xml:"ContentType,omitempty" query:"ContentType"`
}

type forwardConfig struct {
	TargetGroups                []targetGroupTuple `xml:"TargetGroups>member" query:"TargetGroups.member"`
	TargetGroupStickinessConfig *stickinessConfig  `xml:"TargetGroupStickinessConfig,omitempty" query:"TargetGroupStickinessConfig"`
}

type targetGroupTuple struct {
	TargetGroupArn string `xml:"TargetGroupArn" query:"TargetGroupArn"`
	Weight         *int32 `xml:"Weight,omitempty" query:"Weight"`
}

type stickinessConfig struct {
	Enabled         *bool  `xml:"Enabled,omitempty" query:"Enabled"`
	DurationSeconds *int32 `xml:"DurationSeconds,omitempty" query:"DurationSeconds"`
}

func actionsFromWire(in []action) []ops.ActionInput {
	if in == nil {
		return nil
	}
	out := make([]ops.ActionInput, len(in))
	for i, a := range in {
		o := ops.ActionInput{Type: a.Type, Order: a.Order, TargetGroupARN: a.TargetGroupArn}
		if f := a.ForwardConfig; f != nil {
			o.Forward = &ops.ForwardInput{}
			for _, t := range f.TargetGroups {
				o.Forward.TargetGroups = append(o.Forward.TargetGroups, ops.WeightedInput{TargetGroupARN: t.TargetGroupArn, Weight: t.Weight})
			}
			if s := f.TargetGroupStickinessConfig; s != nil {
				o.Forward.StickinessEnabled, o.Forward.StickinessDuration = s.Enabled, s.DurationSeconds
			}
		}
		if r := a.RedirectConfig; r != nil {
			o.Redirect = &ops.RedirectInput{Protocol: r.Protocol, Port: r.Port, Host: r.Host, Path: r.Path, StatusCode: r.StatusCode}
			if r.Query != nil {
				o.Redirect.Query, o.Redirect.QueryGiven = *r.Query, true
			}
		}
		if f := a.FixedResponseConfig; f != nil {
			o.FixedResponse = &ops.FixedResponseInput{StatusCode: f.StatusCode, ContentType: f.ContentType, MessageBody: f.MessageBody}
		}
		out[i] = o
	}
	return out
}

func actionsToWire(in []model.Action) list[action] {
	out := make([]action, len(in))
	for i, a := range in {
		order := a.Order
		w := action{Type: a.Type, Order: &order, TargetGroupArn: a.TargetGroupARN}
		if f := a.ForwardConfig; f != nil {
			fc := &forwardConfig{TargetGroups: []targetGroupTuple{}}
			for _, t := range f.TargetGroups {
				weight := t.Weight
				fc.TargetGroups = append(fc.TargetGroups, targetGroupTuple{TargetGroupArn: t.TargetGroupARN, Weight: &weight})
			}
			enabled := f.StickinessEnabled
			fc.TargetGroupStickinessConfig = &stickinessConfig{Enabled: &enabled}
			if f.StickinessEnabled {
				d := f.StickinessDuration
				fc.TargetGroupStickinessConfig.DurationSeconds = &d
			}
			w.ForwardConfig = fc
		}
		if r := a.RedirectConfig; r != nil {
			q := r.Query
			w.RedirectConfig = &redirectConfig{Protocol: r.Protocol, Port: r.Port, Host: r.Host, Path: r.Path, Query: &q, StatusCode: r.StatusCode}
		}
		if f := a.FixedResponseConfig; f != nil {
			w.FixedResponseConfig = &fixedResponseConfig{StatusCode: f.StatusCode, ContentType: f.ContentType, MessageBody: f.MessageBody}
		}
		out[i] = w
	}
	return listOf(out)
}

func listenerToWire(l model.Listener) Listener {
	out := Listener{ListenerArn: l.ARN, LoadBalancerArn: l.LoadBalancerARN, Port: l.Port, Protocol: l.Protocol,
		SslPolicy: l.SslPolicy, DefaultActions: actionsToWire(l.DefaultActions)}
	if len(l.Certificates) > 0 {
		certs := make([]certificate, len(l.Certificates))
		for i, c := range l.Certificates {
			certs[i] = certificate{CertificateArn: c.CertificateARN}
		}
		lc := listOf(certs)
		out.Certificates = &lc
	}
	return out
}

func certificatesFromWire(in []certificate) []model.ListenerCertificate {
	out := make([]model.ListenerCertificate, len(in))
	for i, c := range in {
		out[i] = model.ListenerCertificate{CertificateARN: c.CertificateArn, IsDefault: c.IsDefault == nil || *c.IsDefault}
	}
	return out
}

type createListenerInput struct {
	LoadBalancerArn string        `query:"LoadBalancerArn,required"`
	Protocol        string        `query:"Protocol"`
	Port            *int32        `query:"Port"`
	SslPolicy       string        `query:"SslPolicy"`
	Certificates    []certificate `query:"Certificates.member"`
	DefaultActions  []action      `query:"DefaultActions.member,required"`
	AlpnPolicy      []string      `query:"AlpnPolicy.member"`
	Tags            []Tag         `query:"Tags.member"`
}

type listenersOutput struct {
	Listeners  list[Listener] `xml:"Listeners"`
	NextMarker string         `xml:"NextMarker,omitempty"`
}

func (h *handler) createListener(ctx context.Context, sc model.Scope, in *createListenerInput) (*listenersOutput, error) {
	actions := actionsFromWire(in.DefaultActions)
	if actions == nil {
		actions = []ops.ActionInput{}
	}
	l, err := h.ops.CreateListener(ctx, sc, ops.ListenerInput{LoadBalancerARN: in.LoadBalancerArn, Protocol: in.Protocol, Port: in.Port,
		SslPolicy: in.SslPolicy, Certificates: certificatesFromWire(in.Certificates), DefaultActions: actions,
		AlpnPolicy: in.AlpnPolicy, Tags: tagsFromWire(in.Tags)})
	if err != nil {
		return nil, err
	}
	return &listenersOutput{Listeners: listOf([]Listener{listenerToWire(l)})}, nil
}

type modifyListenerInput struct {
	ListenerArn    string        `query:"ListenerArn,required"`
	Protocol       string        `query:"Protocol"`
	Port           *int32        `query:"Port"`
	SslPolicy      string        `query:"SslPolicy"`
	Certificates   []certificate `query:"Certificates.member"`
	DefaultActions []action      `query:"DefaultActions.member"`
	AlpnPolicy     []string      `query:"AlpnPolicy.member"`
}

func (h *handler) modifyListener(ctx context.Context, sc model.Scope, in *modifyListenerInput) (*listenersOutput, error) {
	l, err := h.ops.ModifyListener(ctx, sc, in.ListenerArn, ops.ListenerInput{Protocol: in.Protocol, Port: in.Port,
		SslPolicy: in.SslPolicy, Certificates: certificatesFromWire(in.Certificates), DefaultActions: actionsFromWire(in.DefaultActions),
		AlpnPolicy: in.AlpnPolicy})
	if err != nil {
		return nil, err
	}
	return &listenersOutput{Listeners: listOf([]Listener{listenerToWire(l)})}, nil
}

type describeListenersInput struct {
	LoadBalancerArn string   `query:"LoadBalancerArn"`
	ListenerArns    []string `query:"ListenerArns.member"`
	Marker          string   `query:"Marker"`
	PageSize        *int32   `query:"PageSize"`
}

func (h *handler) describeListeners(ctx context.Context, sc model.Scope, in *describeListenersInput) (*listenersOutput, error) {
	ls, next, err := h.ops.DescribeListeners(ctx, sc, ops.DescribeListenersInput{LoadBalancerARN: in.LoadBalancerArn,
		ARNs: in.ListenerArns, Marker: in.Marker, PageSize: in.PageSize})
	if err != nil {
		return nil, err
	}
	out := make([]Listener, len(ls))
	for i, l := range ls {
		out[i] = listenerToWire(l)
	}
	return &listenersOutput{Listeners: listOf(out), NextMarker: next}, nil
}

type listenerArnInput struct {
	ListenerArn string `query:"ListenerArn,required"`
}

func (h *handler) deleteListener(ctx context.Context, sc model.Scope, in *listenerArnInput) (*empty, error) {
	return &empty{}, h.ops.DeleteListener(ctx, sc, in.ListenerArn)
}
