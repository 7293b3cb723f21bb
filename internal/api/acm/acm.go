// Package acm is AWS Certificate Manager on the front door (imported certificates): wire shapes
// with AWS's member names, and handlers that convert them to and from the ops layer.
package acm

import (
	"context"
	"time"

	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// TargetPrefix is ACM's X-Amz-Target prefix.
const TargetPrefix = "CertificateManager"

type handler struct{ ops *ops.ACM }

// Service returns the ACM service for the front door.
func Service(o *ops.ACM) *api.Service {
	h := &handler{ops: o}
	return &api.Service{
		SigningName:  "acm",
		TargetPrefix: TargetPrefix,
		Protocol:     api.JSON,
		ErrorCode:    errorCode,
		Operations: map[string]api.Operation{
			"ImportCertificate":         api.JSONOp(h.importCertificate),
			"DescribeCertificate":       api.JSONOp(h.describeCertificate),
			"GetCertificate":            api.JSONOp(h.getCertificate),
			"ListCertificates":          api.JSONOp(h.listCertificates),
			"DeleteCertificate":         api.JSONOp(h.deleteCertificate),
			"AddTagsToCertificate":      api.JSONOp(h.addTags),
			"RemoveTagsFromCertificate": api.JSONOp(h.removeTags),
			"ListTagsForCertificate":    api.JSONOp(h.listTags),
		},
	}
}

// errorCode names error kinds as ACM does.
func errorCode(k apierr.Kind) string {
	switch k {
	case apierr.InvalidParameter, apierr.MissingParameter, apierr.Serialization:
		return "ValidationException"
	case apierr.InvalidARN:
		return "InvalidArnException"
	case apierr.NotFound:
		return "ResourceNotFoundException"
	case apierr.ResourceInUse:
		return "ResourceInUseException"
	case apierr.LimitExceeded:
		return "TooManyTagsException"
	case apierr.InvalidNextToken:
		return "InvalidArgsException"
	case apierr.Conflict:
		return "ConflictException"
	case apierr.Throttled:
		return "ThrottlingException"
	case apierr.AccessDenied:
		return "AccessDeniedException"
	case apierr.DecryptionFailure, apierr.Internal:
		return "InternalFailure"
	}
	return ""
}

type empty struct{}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func epoch(t time.Time) *float64 {
	if t.IsZero() {
		return nil
	}
	v := float64(t.UnixMilli()) / 1000
	return &v
}

// Tag is ACM's tag shape.
type Tag struct {
	Key   *string `json:"Key"`
	Value *string `json:"Value,omitempty"`
}

func tagsFromWire(in []Tag) []model.Tag {
	out := make([]model.Tag, len(in))
	for i, t := range in {
		out[i] = model.Tag{Key: deref(t.Key), Value: deref(t.Value)}
	}
	return out
}

type importInput struct {
	CertificateArn   *string `json:"CertificateArn"`
	Certificate      []byte  `json:"Certificate"`
	PrivateKey       []byte  `json:"PrivateKey"`
	CertificateChain []byte  `json:"CertificateChain"`
	Tags             []Tag   `json:"Tags"`
}

type arnOutput struct {
	CertificateArn string `json:"CertificateArn"`
}

func (h *handler) importCertificate(ctx context.Context, sc model.Scope, in *importInput) (*arnOutput, error) {
	var tags []model.Tag
	if in.Tags != nil {
		tags = tagsFromWire(in.Tags)
	}
	arn, err := h.ops.ImportCertificate(ctx, sc, ops.ImportCertificateInput{ARN: deref(in.CertificateArn),
		Certificate: in.Certificate, PrivateKey: in.PrivateKey, Chain: in.CertificateChain, Tags: tags})
	if err != nil {
		return nil, err
	}
	return &arnOutput{CertificateArn: arn}, nil
}

type arnInput struct {
	CertificateArn *string `json:"CertificateArn"`
}

// CertificateDetail is ACM's CertificateDetail shape, for imported certificates.
type CertificateDetail struct {
	CertificateArn          string   `json:"CertificateArn"`
	DomainName              string   `json:"DomainName"`
	SubjectAlternativeNames []string `json:"SubjectAlternativeNames,omitempty"`
	Serial                  string   `json:"Serial"`
	Subject                 string   `json:"Subject"`
	Issuer                  string   `json:"Issuer"`
	CreatedAt               *float64 `json:"CreatedAt,omitempty"`
	ImportedAt              *float64 `json:"ImportedAt,omitempty"`
	Status                  string   `json:"Status"`
	NotBefore               *float64 `json:"NotBefore,omitempty"`
	NotAfter                *float64 `json:"NotAfter,omitempty"`
	KeyAlgorithm            string   `json:"KeyAlgorithm"`
	SignatureAlgorithm      string   `json:"SignatureAlgorithm"`
	InUseBy                 []string `json:"InUseBy"`
	Type                    string   `json:"Type"`
	RenewalEligibility      string   `json:"RenewalEligibility"`
}

type describeOutput struct {
	Certificate CertificateDetail `json:"Certificate"`
}

func (h *handler) describeCertificate(ctx context.Context, sc model.Scope, in *arnInput) (*describeOutput, error) {
	d, err := h.ops.DescribeCertificate(ctx, sc, deref(in.CertificateArn))
	if err != nil {
		return nil, err
	}
	inUse := d.InUseBy
	if inUse == nil {
		inUse = []string{}
	}
	return &describeOutput{Certificate: CertificateDetail{CertificateArn: d.ARN, DomainName: d.DomainName,
		SubjectAlternativeNames: d.SANs, Serial: d.Serial, Subject: d.Subject, Issuer: d.Issuer,
		CreatedAt: epoch(d.CreatedAt), ImportedAt: epoch(d.ImportedAt), Status: d.Status, NotBefore: epoch(d.NotBefore),
		NotAfter: epoch(d.NotAfter), KeyAlgorithm: d.KeyAlgorithm, SignatureAlgorithm: d.SignatureAlgorithm,
		InUseBy: inUse, Type: "IMPORTED", RenewalEligibility: "INELIGIBLE"}}, nil
}

type getOutput struct {
	Certificate      string  `json:"Certificate"`
	CertificateChain *string `json:"CertificateChain,omitempty"`
}

func (h *handler) getCertificate(ctx context.Context, sc model.Scope, in *arnInput) (*getOutput, error) {
	cert, chain, err := h.ops.GetCertificate(ctx, sc, deref(in.CertificateArn))
	if err != nil {
		return nil, err
	}
	out := &getOutput{Certificate: cert}
	if chain != "" {
		out.CertificateChain = &chain
	}
	return out, nil
}

type listInput struct {
	CertificateStatuses []string `json:"CertificateStatuses"`
	Includes            *struct {
		KeyTypes []string `json:"keyTypes"`
	} `json:"Includes"`
	NextToken *string `json:"NextToken"`
	MaxItems  *int    `json:"MaxItems"`
}

// CertificateSummary is ACM's CertificateSummary shape.
type CertificateSummary struct {
	CertificateArn                   string   `json:"CertificateArn"`
	DomainName                       string   `json:"DomainName"`
	SubjectAlternativeNameSummaries  []string `json:"SubjectAlternativeNameSummaries,omitempty"`
	HasAdditionalSubjectAlternatives bool     `json:"HasAdditionalSubjectAlternativeNames"`
	Status                           string   `json:"Status"`
	Type                             string   `json:"Type"`
	KeyAlgorithm                     string   `json:"KeyAlgorithm"`
	InUse                            bool     `json:"InUse"`
	RenewalEligibility               string   `json:"RenewalEligibility"`
	NotBefore                        *float64 `json:"NotBefore,omitempty"`
	NotAfter                         *float64 `json:"NotAfter,omitempty"`
	CreatedAt                        *float64 `json:"CreatedAt,omitempty"`
	ImportedAt                       *float64 `json:"ImportedAt,omitempty"`
}

type listOutput struct {
	NextToken              *string              `json:"NextToken,omitempty"`
	CertificateSummaryList []CertificateSummary `json:"CertificateSummaryList"`
}

func (h *handler) listCertificates(ctx context.Context, sc model.Scope, in *listInput) (*listOutput, error) {
	q := ops.CertificateQuery{Statuses: in.CertificateStatuses, MaxItems: deref(in.MaxItems), Token: deref(in.NextToken)}
	if in.Includes != nil {
		q.KeyTypes = in.Includes.KeyTypes
	}
	list, next, err := h.ops.ListCertificates(ctx, sc, q)
	if err != nil {
		return nil, err
	}
	out := &listOutput{CertificateSummaryList: make([]CertificateSummary, len(list))}
	if next != "" {
		out.NextToken = &next
	}
	for i, d := range list {
		out.CertificateSummaryList[i] = CertificateSummary{CertificateArn: d.ARN, DomainName: d.DomainName,
			SubjectAlternativeNameSummaries: d.SANs, Status: d.Status, Type: "IMPORTED", KeyAlgorithm: d.KeyAlgorithm,
			InUse: len(d.InUseBy) > 0, RenewalEligibility: "INELIGIBLE", NotBefore: epoch(d.NotBefore),
			NotAfter: epoch(d.NotAfter), CreatedAt: epoch(d.CreatedAt), ImportedAt: epoch(d.ImportedAt)}
	}
	return out, nil
}

func (h *handler) deleteCertificate(ctx context.Context, sc model.Scope, in *arnInput) (*empty, error) {
	return &empty{}, h.ops.DeleteCertificate(ctx, sc, deref(in.CertificateArn))
}

type tagsInput struct {
	CertificateArn *string `json:"CertificateArn"`
	Tags           []Tag   `json:"Tags"`
}

func (h *handler) addTags(ctx context.Context, sc model.Scope, in *tagsInput) (*empty, error) {
	return &empty{}, h.ops.AddTagsToCertificate(ctx, sc, deref(in.CertificateArn), tagsFromWire(in.Tags))
}

func (h *handler) removeTags(ctx context.Context, sc model.Scope, in *tagsInput) (*empty, error) {
	return &empty{}, h.ops.RemoveTagsFromCertificate(ctx, sc, deref(in.CertificateArn), tagsFromWire(in.Tags))
}

type listTagsOutput struct {
	Tags []Tag `json:"Tags"`
}

func (h *handler) listTags(ctx context.Context, sc model.Scope, in *arnInput) (*listTagsOutput, error) {
	tags, err := h.ops.ListTagsForCertificate(ctx, sc, deref(in.CertificateArn))
	if err != nil {
		return nil, err
	}
	out := &listTagsOutput{Tags: make([]Tag, len(tags))}
	for i, t := range tags {
		out.Tags[i] = Tag{Key: &t.Key, Value: &t.Value}
	}
	return out, nil
}
