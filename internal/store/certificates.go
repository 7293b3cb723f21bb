package store

import (
	"context"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
)

// certificateRecord is an imported ACM certificate as stored (schema version 1). The private
// key is sealed by the operations; the store never sees it in clear.
type certificateRecord struct {
	Account            string      `json:"account"`
	Region             string      `json:"region"`
	ID                 string      `json:"id"`
	ARN                string      `json:"arn"`
	CertificatePEM     string      `json:"certificatePem"`
	ChainPEM           string      `json:"chainPem,omitempty"`
	SealedKey          []byte      `json:"sealedKey"`
	DomainName         string      `json:"domainName"`
	SANs               []string    `json:"sans,omitempty"`
	Subject            string      `json:"subject,omitempty"`
	Issuer             string      `json:"issuer,omitempty"`
	Serial             string      `json:"serial,omitempty"`
	KeyAlgorithm       string      `json:"keyAlgorithm"`
	SignatureAlgorithm string      `json:"signatureAlgorithm,omitempty"`
	NotBefore          time.Time   `json:"notBefore"`
	NotAfter           time.Time   `json:"notAfter"`
	CreatedAt          time.Time   `json:"createdAt"`
	ImportedAt         time.Time   `json:"importedAt"`
	Tags               []tagRecord `json:"tags,omitempty"`
}

// Certificates is the repository of ACM certificates, keyed by scope and certificate id.
type Certificates struct {
	t *table[model.Certificate, certificateRecord]
}

// Certificates returns the certificate repository.
func (s *Store) Certificates() Certificates {
	return Certificates{&table[model.Certificate, certificateRecord]{s: s, dir: "acm/certificates", version: 1,
		toRecord: recordFromCertificate, fromRecord: certificateFromRecord}}
}

// Get reads a certificate by id; a missing one is apierr.NotFound.
func (r Certificates) Get(ctx context.Context, sc model.Scope, id string) (Versioned[model.Certificate], error) {
	return r.t.Get(ctx, ScopeKey(sc)+id)
}

// Create stores a new certificate; an existing id is apierr.AlreadyExists.
func (r Certificates) Create(ctx context.Context, c model.Certificate) (int64, error) {
	return r.t.Create(ctx, ScopeKey(c.Scope)+c.ID, c)
}

// Mutate applies fn to a certificate with optimistic retries.
func (r Certificates) Mutate(ctx context.Context, sc model.Scope, id string, fn func(*model.Certificate) error) (Versioned[model.Certificate], error) {
	return r.t.Mutate(ctx, ScopeKey(sc)+id, fn)
}

// Delete removes a certificate read at rev.
func (r Certificates) Delete(ctx context.Context, sc model.Scope, id string, rev int64) error {
	return r.t.Delete(ctx, ScopeKey(sc)+id, rev)
}

// List reads the certificates of a scope in id order, after the id after, at most limit (<= 0: all).
func (r Certificates) List(ctx context.Context, sc model.Scope, after string, limit int) (Page[model.Certificate], error) {
	a := ""
	if after != "" {
		a = ScopeKey(sc) + after
	}
	return r.t.List(ctx, ScopeKey(sc), a, limit)
}

func recordFromCertificate(c model.Certificate) certificateRecord {
	return certificateRecord{Account: c.Scope.Account, Region: c.Scope.Region, ID: c.ID, ARN: c.ARN,
		CertificatePEM: c.CertificatePEM, ChainPEM: c.ChainPEM, SealedKey: c.SealedKey, DomainName: c.DomainName,
		SANs: c.SANs, Subject: c.Subject, Issuer: c.Issuer, Serial: c.Serial, KeyAlgorithm: c.KeyAlgorithm,
		SignatureAlgorithm: c.SignatureAlgorithm, NotBefore: c.NotBefore, NotAfter: c.NotAfter, CreatedAt: c.CreatedAt,
		ImportedAt: c.ImportedAt, Tags: tagsToRecords(c.Tags)}
}

func certificateFromRecord(r certificateRecord) model.Certificate {
	return model.Certificate{Scope: model.Scope{Account: r.Account, Region: r.Region}, ID: r.ID, ARN: r.ARN,
		CertificatePEM: r.CertificatePEM, ChainPEM: r.ChainPEM, SealedKey: r.SealedKey, DomainName: r.DomainName,
		SANs: r.SANs, Subject: r.Subject, Issuer: r.Issuer, Serial: r.Serial, KeyAlgorithm: r.KeyAlgorithm,
		SignatureAlgorithm: r.SignatureAlgorithm, NotBefore: r.NotBefore, NotAfter: r.NotAfter, CreatedAt: r.CreatedAt,
		ImportedAt: r.ImportedAt, Tags: tagsFromRecords(r.Tags)}
}
