package model

import (
	"fmt"
	"time"
)

// Certificate is an ACM certificate imported by a user. Its private key is sealed
// (internal/sealer) by the operations before it reaches the store.
type Certificate struct {
	Scope              Scope
	ID                 string
	ARN                string
	CertificatePEM     string
	ChainPEM           string
	SealedKey          []byte
	DomainName         string
	SANs               []string
	Subject            string
	Issuer             string
	Serial             string
	KeyAlgorithm       string // RSA_2048, EC_prime256v1 ...
	SignatureAlgorithm string // SHA256WITHRSA ...
	NotBefore          time.Time
	NotAfter           time.Time
	CreatedAt          time.Time
	ImportedAt         time.Time
	Tags               []Tag
}

// CertificateARN is the ARN of certificate id.
func CertificateARN(sc Scope, id string) string {
	return fmt.Sprintf("arn:aws:acm:%s:%s:certificate/%s", sc.Region, sc.Account, id)
}

// CertificateKeyAAD is the additional data a certificate's private key is sealed with; the import
// time is part of it so a key cannot be moved to an earlier import of the same ARN.
func CertificateKeyAAD(arn string, importedAt time.Time) []byte {
	return fmt.Appendf(nil, "%s#%d", arn, importedAt.UnixNano())
}

// CertificateStatus is an imported certificate's status at now: ISSUED, or EXPIRED after NotAfter.
func (c *Certificate) Status(now time.Time) string {
	if now.After(c.NotAfter) {
		return "EXPIRED"
	}
	return "ISSUED"
}
