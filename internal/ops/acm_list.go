package ops

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// Certificate statuses ListCertificates filters on.
var certificateStatuses = []string{"PENDING_VALIDATION", "ISSUED", "INACTIVE", "EXPIRED", "VALIDATION_TIMED_OUT", "REVOKED", "FAILED"}

func (a *ACM) detail(ctx context.Context, c model.Certificate) (CertificateDetail, error) {
	c.SealedKey = nil
	d := CertificateDetail{Certificate: c, Status: c.Status(a.now())}
	if a.usage != nil {
		users, err := a.usage(ctx, c.Scope, c.ARN)
		if err != nil {
			return d, err
		}
		d.InUseBy = users
	}
	return d, nil
}

// DescribeCertificate describes a certificate, without its key.
func (a *ACM) DescribeCertificate(ctx context.Context, sc model.Scope, arn string) (CertificateDetail, error) {
	got, err := a.getIn(ctx, sc, arn)
	if err != nil {
		return CertificateDetail{}, err
	}
	return a.detail(ctx, got.Value)
}

// GetCertificate returns a certificate's PEM and its chain (never its key).
func (a *ACM) GetCertificate(ctx context.Context, sc model.Scope, arn string) (string, string, error) {
	got, err := a.getIn(ctx, sc, arn)
	if err != nil {
		return "", "", err
	}
	return got.Value.CertificatePEM, got.Value.ChainPEM, nil
}

// CertificateQuery is ListCertificates' request.
type CertificateQuery struct {
	Statuses []string
	KeyTypes []string
	MaxItems int
	Token    string
}

// ListCertificates lists a scope's certificates, filtered by status (and key type), paged.
func (a *ACM) ListCertificates(ctx context.Context, sc model.Scope, q CertificateQuery) ([]CertificateDetail, string, error) {
	if q.MaxItems == 0 {
		q.MaxItems = 1000
	}
	if q.MaxItems < 1 || q.MaxItems > 1000 {
		return nil, "", apierr.Errorf(apierr.InvalidParameter, "1 validation error detected: Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", q.MaxItems)
	}
	for _, st := range q.Statuses {
		if !slices.Contains(certificateStatuses, st) {
			return nil, "", apierr.Errorf(apierr.InvalidParameter, "1 validation error detected: Value '[%s]' at 'certificateStatuses' failed to satisfy constraint: Member must satisfy enum value set: [%s]", st, strings.Join(certificateStatuses, ", "))
		}
	}
	page, err := a.certs.List(ctx, sc, "", 0)
	if err != nil {
		return nil, "", err
	}
	var out []CertificateDetail
	for _, it := range page.Items {
		d, err := a.detail(ctx, it.Value)
		if err != nil {
			return nil, "", err
		}
		if len(q.Statuses) > 0 && !slices.Contains(q.Statuses, d.Status) {
			continue
		}
		keyTypes := q.KeyTypes
		if len(keyTypes) == 0 { // ACM lists only RSA_1024 and RSA_2048 certificates unless asked
			keyTypes = []string{"RSA_1024", "RSA_2048"}
		}
		if !slices.Contains(keyTypes, d.KeyAlgorithm) {
			continue
		}
		out = append(out, d)
	}
	return keyedPage(out, func(d CertificateDetail) string { return d.ID }, q.Token, q.MaxItems)
}

// DeleteCertificate deletes a certificate no resource uses (ResourceInUseException otherwise).
func (a *ACM) DeleteCertificate(ctx context.Context, sc model.Scope, arn string) error {
	for {
		got, err := a.getIn(ctx, sc, arn)
		if err != nil {
			return err
		}
		if a.usage != nil {
			users, err := a.usage(ctx, got.Value.Scope, arn)
			if err != nil {
				return err
			}
			if len(users) > 0 {
				return apierr.Errorf(apierr.ResourceInUse, "Certificate %s in account %s is in use.", arn, got.Value.Scope.Account)
			}
		}
		err = a.certs.Delete(ctx, got.Value.Scope, got.Value.ID, got.Revision)
		if !errors.Is(err, apierr.Conflict) {
			return err
		}
	}
}

// ACM's tag limits.
const maxACMTags = 50

func validateACMTags(tags []model.Tag) error {
	if len(tags) > maxACMTags {
		return apierr.Errorf(apierr.LimitExceeded, "A certificate can have at most %d tags.", maxACMTags)
	}
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return apierr.Errorf(apierr.InvalidParameter, "Tag key %q must have 1 to 128 characters and its value at most 256.", t.Key)
		}
		if reservedTagPrefix(t.Key) {
			return apierr.Errorf(apierr.InvalidParameter, "Tag key %q starts with aws:, which is reserved for AWS use.", t.Key)
		}
	}
	return nil
}

// AddTagsToCertificate adds or replaces tags.
func (a *ACM) AddTagsToCertificate(ctx context.Context, sc model.Scope, arn string, tags []model.Tag) error {
	if len(tags) == 0 {
		return apierr.New(apierr.InvalidParameter, "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	if err := validateACMTags(tags); err != nil {
		return err
	}
	return a.mutateTags(ctx, sc, arn, func(cur []model.Tag) ([]model.Tag, error) {
		merged, err := tagsMerged(cur, tags)
		if err != nil {
			return nil, apierr.Errorf(apierr.LimitExceeded, "A certificate can have at most %d tags.", maxACMTags)
		}
		return merged, nil
	})
}

// RemoveTagsFromCertificate removes tags by key (and value, when the tag names one).
func (a *ACM) RemoveTagsFromCertificate(ctx context.Context, sc model.Scope, arn string, tags []model.Tag) error {
	return a.mutateTags(ctx, sc, arn, func(cur []model.Tag) ([]model.Tag, error) {
		return slices.DeleteFunc(slices.Clone(cur), func(t model.Tag) bool {
			return slices.ContainsFunc(tags, func(r model.Tag) bool { return r.Key == t.Key && (r.Value == "" || r.Value == t.Value) })
		}), nil
	})
}

// ListTagsForCertificate returns a certificate's tags.
func (a *ACM) ListTagsForCertificate(ctx context.Context, sc model.Scope, arn string) ([]model.Tag, error) {
	got, err := a.getIn(ctx, sc, arn)
	if err != nil {
		return nil, err
	}
	return got.Value.Tags, nil
}

func (a *ACM) mutateTags(ctx context.Context, sc model.Scope, arn string, fn func([]model.Tag) ([]model.Tag, error)) error {
	got, err := a.getIn(ctx, sc, arn)
	if err != nil {
		return err
	}
	_, err = a.certs.Mutate(ctx, got.Value.Scope, got.Value.ID, func(c *model.Certificate) error {
		tags, err := fn(c.Tags)
		c.Tags = tags
		return err
	})
	return err
}
