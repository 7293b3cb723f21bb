package ops

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/sealer"
	"github.com/gantry-dev/gantry/internal/store"
)

// CertificateUsage answers which resources (load balancer ARNs) use a certificate; the
// ELBv2 side sets it with SetUsage. Without one, InUseBy is empty and deletion is never refused.
type CertificateUsage func(ctx context.Context, sc model.Scope, certificateARN string) ([]string, error)

// ACM serves the Certificate Manager operations for imported certificates, and hands the load
// balancer its key pairs. Private keys are sealed before they reach the store.
type ACM struct {
	certs  store.Certificates
	seal   *sealer.Sealer
	now    model.Clock
	logger *slog.Logger
	usage  CertificateUsage
}

// NewACM returns the ACM operations; seal encrypts private keys at rest.
func NewACM(s *store.Store, seal *sealer.Sealer, logger *slog.Logger) *ACM {
	return &ACM{certs: s.Certificates(), seal: seal, now: time.Now, logger: logger.With("component", "ops.acm")}
}

// SetClock replaces the clock, for tests.
func (a *ACM) SetClock(c model.Clock) { a.now = c }

// SetUsage tells ACM which resources use a certificate (InUseBy, and ResourceInUseException
// on DeleteCertificate). Call it before serving.
func (a *ACM) SetUsage(u CertificateUsage) { a.usage = u }

// CertificateDetail is a certificate as DescribeCertificate answers it, without its key.
type CertificateDetail struct {
	model.Certificate
	Status  string
	InUseBy []string
}

// parseCertificateARN returns the scope and id of a certificate ARN; anything else is
// InvalidArnException.
func parseCertificateARN(arn string) (model.Scope, string, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "acm" || parts[3] == "" || parts[4] == "" ||
		!strings.HasPrefix(parts[5], "certificate/") || len(parts[5]) == len("certificate/") {
		return model.Scope{}, "", apierr.Errorf(apierr.InvalidARN, "String '%s' is not a valid certificate ARN.", arn)
	}
	return model.Scope{Region: parts[3], Account: parts[4]}, strings.TrimPrefix(parts[5], "certificate/"), nil
}

func certNotFound(arn string) error {
	sc, _, _ := parseCertificateARN(arn)
	return apierr.Errorf(apierr.NotFound, "Certificate with arn '%s' not found in account '%s'", arn, sc.Account)
}

func (a *ACM) get(ctx context.Context, arn string) (store.Versioned[model.Certificate], error) {
	sc, id, err := parseCertificateARN(arn)
	if err != nil {
		return store.Versioned[model.Certificate]{}, err
	}
	got, err := a.certs.Get(ctx, sc, id)
	if errors.Is(err, apierr.NotFound) {
		return got, certNotFound(arn)
	}
	return got, err
}

// getIn reads a certificate the caller in sc names: one in another account or region is not found.
func (a *ACM) getIn(ctx context.Context, sc model.Scope, arn string) (store.Versioned[model.Certificate], error) {
	asc, _, err := parseCertificateARN(arn)
	if err != nil {
		return store.Versioned[model.Certificate]{}, err
	}
	if asc != sc {
		return store.Versioned[model.Certificate]{}, certNotFound(arn)
	}
	return a.get(ctx, arn)
}

// CertificateExists says whether the certificate arn exists in sc: nil, or an error of kind
// NotFound (or InvalidARN for a malformed ARN) whose message names the ARN. The ELBv2 side
// calls it before it accepts a listener certificate.
func (a *ACM) CertificateExists(ctx context.Context, sc model.Scope, arn string) error {
	_, err := a.getIn(ctx, sc, arn)
	return err
}

// KeyPair returns a certificate's PEM (the leaf followed by its chain, as a TLS server sends
// them) and its private key's PEM, opened from the store; what tls.X509KeyPair accepts.
func (a *ACM) KeyPair(ctx context.Context, arn string) (certPEM, keyPEM []byte, err error) {
	got, err := a.get(ctx, arn)
	if err != nil {
		return nil, nil, err
	}
	c := got.Value
	key, err := a.seal.Open(c.SealedKey, model.CertificateKeyAAD(c.ARN, c.ImportedAt))
	if err != nil {
		return nil, nil, apierr.Errorf(apierr.DecryptionFailure, "the private key of certificate %s could not be decrypted", arn)
	}
	certPEM = []byte(c.CertificatePEM)
	if c.ChainPEM != "" {
		certPEM = append(append(certPEM, '\n'), c.ChainPEM...)
	}
	return certPEM, key, nil
}

// ImportCertificateInput is ImportCertificate's request; ARN set re-imports into it.
type ImportCertificateInput struct {
	ARN         string
	Certificate []byte
	PrivateKey  []byte
	Chain       []byte
	Tags        []model.Tag
}

// ImportCertificate checks a PEM certificate, its key and chain, and stores them (the key
// sealed); it returns the certificate's ARN.
func (a *ACM) ImportCertificate(ctx context.Context, sc model.Scope, in ImportCertificateInput) (string, error) {
	if in.ARN != "" && len(in.Tags) > 0 {
		return "", apierr.New(apierr.InvalidParameter, "Tags cannot be specified when reimporting a certificate.")
	}
	if err := validateACMTags(in.Tags); err != nil {
		return "", err
	}
	parsed, err := parseImport(in)
	if err != nil {
		return "", err
	}
	now := a.now()
	if in.ARN == "" {
		return a.importNew(ctx, sc, parsed, in, now)
	}
	got, err := a.getIn(ctx, sc, in.ARN)
	if err != nil {
		return "", err
	}
	sealed, err := a.seal.Seal(in.PrivateKey, model.CertificateKeyAAD(in.ARN, now))
	if err != nil {
		return "", err
	}
	_, err = a.certs.Mutate(ctx, got.Value.Scope, got.Value.ID, func(c *model.Certificate) error {
		tags, created := c.Tags, c.CreatedAt
		*c = parsed
		c.Scope, c.ID, c.ARN, c.Tags, c.CreatedAt, c.ImportedAt, c.SealedKey = got.Value.Scope, got.Value.ID, in.ARN, tags, created, now, sealed
		return nil
	})
	return in.ARN, err
}

func (a *ACM) importNew(ctx context.Context, sc model.Scope, c model.Certificate, in ImportCertificateInput, now time.Time) (string, error) {
	c.Scope, c.ID, c.CreatedAt, c.ImportedAt, c.Tags = sc, newUUID(), now, now, in.Tags
	c.ARN = model.CertificateARN(sc, c.ID)
	sealed, err := a.seal.Seal(in.PrivateKey, model.CertificateKeyAAD(c.ARN, now))
	if err != nil {
		return "", err
	}
	c.SealedKey = sealed
	if _, err := a.certs.Create(ctx, c); err != nil {
		return "", err
	}
	a.logger.DebugContext(ctx, "certificate imported", "arn", c.ARN, "domain", c.DomainName)
	return c.ARN, nil
}

func validationErr(msg string) error { return apierr.New(apierr.InvalidParameter, msg) }

// parseImport parses and cross-checks the PEM inputs, and describes the certificate.
func parseImport(in ImportCertificateInput) (model.Certificate, error) {
	if len(in.Certificate) == 0 || len(in.PrivateKey) == 0 {
		return model.Certificate{}, validationErr("1 validation error detected: Value null at 'certificate' and 'privateKey' failed to satisfy constraint: Member must not be null")
	}
	certs, err := pemCertificates(in.Certificate)
	if err != nil || len(certs) == 0 {
		return model.Certificate{}, validationErr("Unable to parse certificate. Please ensure the certificate is in PEM format.")
	}
	if len(certs) > 1 {
		return model.Certificate{}, validationErr("The certificate field contains more than one certificate. You can specify only one certificate in this field.")
	}
	if len(in.Chain) > 0 {
		if chain, err := pemCertificates(in.Chain); err != nil || len(chain) == 0 {
			return model.Certificate{}, validationErr("Unable to parse certificate chain. Please ensure the chain is in PEM format.")
		}
	}
	if blk, _ := pem.Decode(in.PrivateKey); blk == nil || x509.IsEncryptedPEMBlock(blk) || strings.Contains(blk.Type, "ENCRYPTED") { //nolint:staticcheck // refusing encrypted keys, as ACM does
		return model.Certificate{}, validationErr("The private key is not supported.")
	}
	if _, err := tls.X509KeyPair(in.Certificate, in.PrivateKey); err != nil {
		return model.Certificate{}, validationErr("The private key does not match the public key in the certificate.")
	}
	leaf := certs[0]
	alg, err := keyAlgorithm(leaf)
	if err != nil {
		return model.Certificate{}, err
	}
	c := model.Certificate{CertificatePEM: strings.TrimSpace(string(in.Certificate)) + "\n", KeyAlgorithm: alg,
		Subject: leaf.Subject.String(), Issuer: leaf.Issuer.String(), Serial: serialHex(leaf.SerialNumber.Bytes()),
		SignatureAlgorithm: signatureAlgorithm(leaf), NotBefore: leaf.NotBefore.UTC(), NotAfter: leaf.NotAfter.UTC()}
	if len(in.Chain) > 0 {
		c.ChainPEM = strings.TrimSpace(string(in.Chain)) + "\n"
	}
	c.DomainName = leaf.Subject.CommonName
	c.SANs = append(c.SANs, leaf.DNSNames...)
	for _, ip := range leaf.IPAddresses {
		c.SANs = append(c.SANs, ip.String())
	}
	if c.DomainName == "" && len(c.SANs) > 0 {
		c.DomainName = c.SANs[0]
	}
	if !slices.Contains(c.SANs, c.DomainName) && c.DomainName != "" {
		c.SANs = append([]string{c.DomainName}, c.SANs...)
	}
	return c, nil
}

func pemCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("unexpected PEM block %q", blk.Type)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if strings.TrimSpace(string(data)) != "" {
		return nil, errors.New("trailing data after the PEM blocks")
	}
	return out, nil
}

// keyAlgorithm names the certificate's key as ACM does; other keys are refused.
func keyAlgorithm(c *x509.Certificate) (string, error) {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits == 1024 || bits == 2048 || bits == 3072 || bits == 4096 {
			return fmt.Sprintf("RSA_%d", bits), nil
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return "EC_prime256v1", nil
		case elliptic.P384():
			return "EC_secp384r1", nil
		case elliptic.P521():
			return "EC_secp521r1", nil
		}
	case ed25519.PublicKey:
	}
	return "", validationErr("The certificate's key algorithm is not supported. Supported: RSA 1024, 2048, 3072 or 4096 bits, and ECDSA P-256, P-384 or P-521.")
}

func signatureAlgorithm(c *x509.Certificate) string {
	switch c.SignatureAlgorithm {
	case x509.SHA1WithRSA:
		return "SHA1WITHRSA"
	case x509.SHA256WithRSA:
		return "SHA256WITHRSA"
	case x509.SHA384WithRSA:
		return "SHA384WITHRSA"
	case x509.SHA512WithRSA:
		return "SHA512WITHRSA"
	case x509.ECDSAWithSHA256:
		return "SHA256WITHECDSA"
	case x509.ECDSAWithSHA384:
		return "SHA384WITHECDSA"
	case x509.ECDSAWithSHA512:
		return "SHA512WITHECDSA"
	}
	return strings.ToUpper(c.SignatureAlgorithm.String())
}

func serialHex(b []byte) string {
	parts := make([]string, len(b))
	for i := range b {
		parts[i] = hex.EncodeToString(b[i : i+1])
	}
	return strings.Join(parts, ":")
}
