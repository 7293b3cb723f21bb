package ops

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// ImageRegistry is the image store behind the ECR operations (the built-in registry, through
// internal/ecrbackend). Its errors carry apierr kinds: RepositoryNotFound, RepositoryAlreadyExists,
// RepositoryNotEmpty, and InvalidParameter for a name, tag or digest it cannot take; an
// ImageFailure's Err is ImageNotFound or InvalidParameter.
type ImageRegistry interface {
	CreateRepository(ctx context.Context, name string) (ImageRepository, error)
	Repository(ctx context.Context, name string) (ImageRepository, error)
	// Repositories returns every repository ordered by name.
	Repositories(ctx context.Context) ([]ImageRepository, error)
	DeleteRepository(ctx context.Context, name string, force bool) (ImageRepository, error)
	// ListImages returns one ImageID per tag and one per untagged manifest, ordered by digest
	// and tag.
	ListImages(ctx context.Context, repo string) ([]ImageID, error)
	// DescribeImages describes the images ids name, or all of them ordered by digest when ids
	// is empty.
	DescribeImages(ctx context.Context, repo string, ids []ImageID) ([]ImageDetail, []ImageFailure, error)
	// BatchDeleteImages deletes images as ECR does and returns the IDs deleted.
	BatchDeleteImages(ctx context.Context, repo string, ids []ImageID) ([]ImageID, []ImageFailure, error)
}

// ImageRepository is a repository as the registry keeps it.
type ImageRepository struct {
	Name      string
	CreatedAt time.Time
}

// ImageID names an image by digest, tag or both.
type ImageID struct {
	Digest string
	Tag    string
}

// ImageDetail describes one manifest of a repository.
type ImageDetail struct {
	Repository   string
	Digest       string
	Tags         []string
	Size         int64
	PushedAt     time.Time
	MediaType    string
	ArtifactType string
}

// ImageFailure is an ImageID the registry could not handle.
type ImageFailure struct {
	ID  ImageID
	Err error
}

// ECR image failure codes, as BatchDeleteImage reports them.
const (
	FailureInvalidImageDigest         = "InvalidImageDigest"
	FailureInvalidImageTag            = "InvalidImageTag"
	FailureImageTagDoesNotMatchDigest = "ImageTagDoesNotMatchDigest"
	FailureImageNotFound              = "ImageNotFound"
	FailureMissingDigestAndTag        = "MissingDigestAndTag"
)

// ECRImageFailure is an entry of BatchDeleteImage's failures, worded as ECR words it.
type ECRImageFailure struct {
	ID     ImageID
	Code   string
	Reason string
}

// Image tag mutability settings.
const (
	TagMutable                = "MUTABLE"
	TagImmutable              = "IMMUTABLE"
	TagImmutableWithExclusion = "IMMUTABLE_WITH_EXCLUSION"
	TagMutableWithExclusion   = "MUTABLE_WITH_EXCLUSION"
)

// Tag status filters of ListImages and DescribeImages.
const (
	TagStatusTagged   = "TAGGED"
	TagStatusUntagged = "UNTAGGED"
	TagStatusAny      = "ANY"
)

// MutabilityExclusionFilter exempts tags matching a wildcard from the mutability setting.
type MutabilityExclusionFilter struct {
	Type   string
	Filter string
}

// RepositorySettings are a repository's options. The registry does not keep them yet: a create
// answer echoes what was asked, other answers show the defaults.
type RepositorySettings struct {
	ImageTagMutability string
	ExclusionFilters   []MutabilityExclusionFilter
	ScanOnPush         bool
	EncryptionType     string
	KMSKey             string
	Tags               []model.Tag
}

// ECRRepository is a repository as the ECR operations answer it.
type ECRRepository struct {
	Name       string
	RegistryID string
	ARN        string
	URI        string
	CreatedAt  time.Time
	Settings   RepositorySettings
}

// AuthorizationData is one registry's credentials, as GetAuthorizationToken answers them.
type AuthorizationData struct {
	// Token is base64("AWS:<password>"), what docker login takes apart.
	Token         string
	ExpiresAt     time.Time
	ProxyEndpoint string
}

// Page selects one page of a listing: MaxResults (nil for the operation's default) after the
// position NextToken holds.
type Page struct {
	MaxResults *int
	NextToken  string
}

// ImageQuery selects images of a repository for ListImages and DescribeImages.
type ImageQuery struct {
	RegistryID string
	Repository string
	// IDs names images (DescribeImages only); empty for all.
	IDs []ImageID
	// TagStatus is TAGGED, UNTAGGED or ANY ("" for ANY).
	TagStatus string
	Page      Page
}

// Limits of the ECR operations.
const (
	ecrDefaultMaxResults = 100
	ecrMaxMaxResults     = 1000
	ecrMaxListItems      = 100 // repositoryNames, imageIds
	ecrMaxRegistryIDs    = 10
	ecrTokenLifetime     = 12 * time.Hour
)

var (
	ecrRepoNameRE   = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
	ecrRegistryIDRE = regexp.MustCompile(`^[0-9]{12}$`)
	ecrDigestRE     = regexp.MustCompile(`^[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+$`)
	// ecrTagRE is the distribution spec's tag grammar, which the registry keeps to.
	ecrTagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)
)

const ecrRepoNamePattern = `(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*`

// ECR serves the ECR operations over an image registry.
type ECR struct {
	reg ImageRegistry
	// endpoint is the host:port where clients reach gantry, and with it the registry's /v2/.
	endpoint string
	now      model.Clock
}

// NewECR returns the ECR operations over reg; endpointHost (host:port) is where clients reach
// the registry, as GetAuthorizationToken's proxyEndpoint tells them.
func NewECR(reg ImageRegistry, endpointHost string) *ECR {
	return &ECR{reg: reg, endpoint: endpointHost, now: time.Now}
}

// SetClock replaces the clock, for tests.
func (e *ECR) SetClock(c model.Clock) { e.now = c }

func invalidECRParam(field, constraint string) error {
	return apierr.Errorf(apierr.InvalidParameter, "Invalid parameter at '%s' failed to satisfy constraint: '%s'", field, constraint)
}

// registryID resolves a request's registryId: the caller's account when empty. ok is false for
// another account's registry, which holds nothing gantry can show.
func registryID(sc model.Scope, id string) (string, bool, error) {
	if id == "" {
		return sc.Account, true, nil
	}
	if !ecrRegistryIDRE.MatchString(id) {
		return "", false, invalidECRParam("registryId", "must satisfy regular expression '[0-9]{12}'")
	}
	return id, id == sc.Account, nil
}

func validateRepositoryName(name string) error {
	switch {
	case name == "":
		return invalidECRParam("repositoryName", "Member must not be null")
	case len(name) < 2:
		return invalidECRParam("repositoryName", "Member must have length greater than or equal to 2")
	case len(name) > 256:
		return invalidECRParam("repositoryName", "Member must have length less than or equal to 256")
	case !ecrRepoNameRE.MatchString(name):
		return invalidECRParam("repositoryName", "must satisfy regular expression '"+ecrRepoNamePattern+"'")
	}
	return nil
}

func errRepositoryNotFound(name, registry string) error {
	return apierr.Errorf(apierr.RepositoryNotFound, "The repository with name '%s' does not exist in the registry with id '%s'", name, registry)
}

// repoError words a registry error about repository name in ECR's terms.
func repoError(err error, name, registry string) error {
	switch {
	case errors.Is(err, apierr.RepositoryNotFound):
		return errRepositoryNotFound(name, registry)
	case errors.Is(err, apierr.RepositoryAlreadyExists):
		return apierr.Errorf(apierr.RepositoryAlreadyExists, "The repository with name '%s' already exists in the registry with id '%s'", name, registry)
	case errors.Is(err, apierr.RepositoryNotEmpty):
		return apierr.Errorf(apierr.RepositoryNotEmpty, "The repository with name '%s' in registry with id '%s' cannot be deleted because it still contains images", name, registry)
	case errors.Is(err, apierr.InvalidParameter):
		return invalidECRParam("repositoryName", "must satisfy regular expression '"+ecrRepoNamePattern+"'")
	}
	return fmt.Errorf("repository %q: %w", name, err)
}

// repository checks the request's registry and repository name and returns the registry id.
func (e *ECR) repository(ctx context.Context, sc model.Scope, registry, name string) (string, error) {
	reg, ours, err := registryID(sc, registry)
	if err != nil {
		return "", err
	}
	if err := validateRepositoryName(name); err != nil {
		return "", err
	}
	if !ours {
		return "", errRepositoryNotFound(name, reg)
	}
	if _, err := e.reg.Repository(ctx, name); err != nil {
		return "", repoError(err, name, reg)
	}
	return reg, nil
}

func (e *ECR) repositoryOut(sc model.Scope, r ImageRepository, s RepositorySettings) ECRRepository {
	return ECRRepository{
		Name:       r.Name,
		RegistryID: sc.Account,
		ARN:        fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", sc.Region, sc.Account, r.Name),
		URI:        fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", sc.Account, sc.Region, r.Name),
		CreatedAt:  r.CreatedAt,
		Settings:   s,
	}
}

// defaultRepositorySettings are what ECR gives a repository created without options.
func defaultRepositorySettings() RepositorySettings {
	return RepositorySettings{ImageTagMutability: TagMutable, EncryptionType: "AES256"}
}

func validateRepositorySettings(s *RepositorySettings) error {
	switch s.ImageTagMutability {
	case "":
		s.ImageTagMutability = TagMutable
	case TagMutable, TagImmutable, TagImmutableWithExclusion, TagMutableWithExclusion:
	default:
		return invalidECRParam("imageTagMutability", "Member must satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]")
	}
	switch s.EncryptionType {
	case "":
		s.EncryptionType = "AES256"
	case "AES256", "KMS", "KMS_DSSE":
	default:
		return invalidECRParam("encryptionConfiguration.encryptionType", "Member must satisfy enum value set: [AES256, KMS, KMS_DSSE]")
	}
	if s.KMSKey != "" && s.EncryptionType == "AES256" {
		return apierr.New(apierr.InvalidParameter, "Invalid parameter: kmsKey can only be specified when encryptionType is 'KMS' or 'KMS_DSSE'")
	}
	for _, t := range s.Tags {
		if t.Key == "" {
			return invalidECRParam("tags.key", "Member must have length greater than or equal to 1")
		}
	}
	return nil
}

// CreateRepository creates an empty repository in the caller's registry.
func (e *ECR) CreateRepository(ctx context.Context, sc model.Scope, registry, name string, s RepositorySettings) (ECRRepository, error) {
	reg, ours, err := registryID(sc, registry)
	if err != nil {
		return ECRRepository{}, err
	}
	if err := validateRepositoryName(name); err != nil {
		return ECRRepository{}, err
	}
	if !ours {
		return ECRRepository{}, apierr.Errorf(apierr.AccessDenied, "Repositories can only be created in the registry with id '%s'", sc.Account)
	}
	if err := validateRepositorySettings(&s); err != nil {
		return ECRRepository{}, err
	}
	r, err := e.reg.CreateRepository(ctx, name)
	if err != nil {
		return ECRRepository{}, repoError(err, name, reg)
	}
	return e.repositoryOut(sc, r, s), nil
}

// DescribeRepositories describes the repositories names lists, or a page of all of them in name
// order when names is empty. A missing named repository fails the call, as in ECR.
func (e *ECR) DescribeRepositories(ctx context.Context, sc model.Scope, registry string, names []string, p Page) ([]ECRRepository, string, error) {
	reg, ours, err := registryID(sc, registry)
	if err != nil {
		return nil, "", err
	}
	limit, err := ecrPageLimit(p)
	if err != nil {
		return nil, "", err
	}
	if len(names) > 0 {
		return e.describeNamedRepositories(ctx, sc, reg, ours, names, p)
	}
	after, err := decodeECRToken(p.NextToken)
	if err != nil {
		return nil, "", err
	}
	out := []ECRRepository{}
	if !ours {
		return out, "", nil
	}
	all, err := e.reg.Repositories(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("list repositories: %w", err)
	}
	for _, r := range all {
		if after != "" && r.Name <= after {
			continue
		}
		if len(out) == limit {
			return out, encodeECRToken(out[limit-1].Name), nil
		}
		out = append(out, e.repositoryOut(sc, r, defaultRepositorySettings()))
	}
	return out, "", nil
}

func (e *ECR) describeNamedRepositories(ctx context.Context, sc model.Scope, reg string, ours bool, names []string, p Page) ([]ECRRepository, string, error) {
	if p.MaxResults != nil || p.NextToken != "" {
		return nil, "", apierr.New(apierr.InvalidParameter, "Invalid parameter: maxResults and nextToken cannot be used with repositoryNames")
	}
	if len(names) > ecrMaxListItems {
		return nil, "", invalidECRParam("repositoryNames", fmt.Sprintf("Member must have length less than or equal to %d", ecrMaxListItems))
	}
	out := make([]ECRRepository, 0, len(names))
	for _, name := range names {
		if err := validateRepositoryName(name); err != nil {
			return nil, "", err
		}
		if !ours {
			return nil, "", errRepositoryNotFound(name, reg)
		}
		r, err := e.reg.Repository(ctx, name)
		if err != nil {
			return nil, "", repoError(err, name, reg)
		}
		out = append(out, e.repositoryOut(sc, r, defaultRepositorySettings()))
	}
	return out, "", nil
}

// DeleteRepository deletes a repository; unless force is set, one that holds images is refused.
func (e *ECR) DeleteRepository(ctx context.Context, sc model.Scope, registry, name string, force bool) (ECRRepository, error) {
	reg, ours, err := registryID(sc, registry)
	if err != nil {
		return ECRRepository{}, err
	}
	if err := validateRepositoryName(name); err != nil {
		return ECRRepository{}, err
	}
	if !ours {
		return ECRRepository{}, errRepositoryNotFound(name, reg)
	}
	r, err := e.reg.DeleteRepository(ctx, name, force)
	if err != nil {
		return ECRRepository{}, repoError(err, name, reg)
	}
	return e.repositoryOut(sc, r, defaultRepositorySettings()), nil
}

func ecrPageLimit(p Page) (int, error) {
	if p.MaxResults == nil {
		return ecrDefaultMaxResults, nil
	}
	if *p.MaxResults < 1 || *p.MaxResults > ecrMaxMaxResults {
		return 0, invalidECRParam("maxResults", fmt.Sprintf("Member must have value between 1 and %d", ecrMaxMaxResults))
	}
	return *p.MaxResults, nil
}

func checkTagStatus(s string) error {
	switch s {
	case "", TagStatusTagged, TagStatusUntagged, TagStatusAny:
		return nil
	}
	return invalidECRParam("filter.tagStatus", "Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]")
}

// tagStatusMatches says whether an image with tagged tags passes the filter.
func tagStatusMatches(status string, tagged bool) bool {
	switch status {
	case TagStatusTagged:
		return tagged
	case TagStatusUntagged:
		return !tagged
	}
	return true
}

// ListImages returns a page of a repository's image IDs: one per tag, and one per untagged image.
func (e *ECR) ListImages(ctx context.Context, sc model.Scope, q ImageQuery) ([]ImageID, string, error) {
	limit, err := e.checkImageQuery(q)
	if err != nil {
		return nil, "", err
	}
	after, err := decodeECRToken(q.Page.NextToken)
	if err != nil {
		return nil, "", err
	}
	reg, err := e.repository(ctx, sc, q.RegistryID, q.Repository)
	if err != nil {
		return nil, "", err
	}
	ids, err := e.reg.ListImages(ctx, q.Repository)
	if err != nil {
		return nil, "", repoError(err, q.Repository, reg)
	}
	out := []ImageID{}
	for _, id := range ids {
		if !tagStatusMatches(q.TagStatus, id.Tag != "") || after != "" && imageKey(id) <= after {
			continue
		}
		if len(out) == limit {
			return out, encodeECRToken(imageKey(out[limit-1])), nil
		}
		out = append(out, id)
	}
	return out, "", nil
}

// imageKey orders image IDs as the registry lists them: by digest, then tag. A space sorts
// before every tag character.
func imageKey(id ImageID) string { return id.Digest + " " + id.Tag }

func (e *ECR) checkImageQuery(q ImageQuery) (int, error) {
	if err := checkTagStatus(q.TagStatus); err != nil {
		return 0, err
	}
	return ecrPageLimit(q.Page)
}

// DescribeImages describes the images q.IDs names, or a page of all of the repository's images.
// A named image that does not exist fails the call, as in ECR.
func (e *ECR) DescribeImages(ctx context.Context, sc model.Scope, q ImageQuery) ([]ImageDetail, string, error) {
	limit, err := e.checkImageQuery(q)
	if err != nil {
		return nil, "", err
	}
	if len(q.IDs) > 0 {
		return e.describeNamedImages(ctx, sc, q)
	}
	after, err := decodeECRToken(q.Page.NextToken)
	if err != nil {
		return nil, "", err
	}
	reg, err := e.repository(ctx, sc, q.RegistryID, q.Repository)
	if err != nil {
		return nil, "", err
	}
	all, _, err := e.reg.DescribeImages(ctx, q.Repository, nil)
	if err != nil {
		return nil, "", repoError(err, q.Repository, reg)
	}
	out := []ImageDetail{}
	for _, d := range all {
		if !tagStatusMatches(q.TagStatus, len(d.Tags) > 0) || after != "" && d.Digest <= after {
			continue
		}
		if len(out) == limit {
			return out, encodeECRToken(out[limit-1].Digest), nil
		}
		out = append(out, d)
	}
	return out, "", nil
}

func (e *ECR) describeNamedImages(ctx context.Context, sc model.Scope, q ImageQuery) ([]ImageDetail, string, error) {
	if q.Page.MaxResults != nil || q.Page.NextToken != "" {
		return nil, "", apierr.New(apierr.InvalidParameter, "Invalid parameter: maxResults and nextToken cannot be used with imageIds")
	}
	if len(q.IDs) > ecrMaxListItems {
		return nil, "", invalidECRParam("imageIds", fmt.Sprintf("Member must have length less than or equal to %d", ecrMaxListItems))
	}
	for _, id := range q.IDs {
		if f, bad := checkImageID(id); bad {
			return nil, "", apierr.New(apierr.InvalidParameter, f.Reason)
		}
	}
	reg, err := e.repository(ctx, sc, q.RegistryID, q.Repository)
	if err != nil {
		return nil, "", err
	}
	found, failures, err := e.reg.DescribeImages(ctx, q.Repository, q.IDs)
	if err != nil {
		return nil, "", repoError(err, q.Repository, reg)
	}
	if len(failures) > 0 {
		id := failures[0].ID
		return nil, "", apierr.Errorf(apierr.ImageNotFound,
			"The image with imageId {imageDigest:'%s', imageTag:'%s'} does not exist within the repository with name '%s' in the registry with id '%s'",
			orNull(id.Digest), orNull(id.Tag), q.Repository, reg)
	}
	out := []ImageDetail{}
	for _, d := range found {
		if tagStatusMatches(q.TagStatus, len(d.Tags) > 0) {
			out = append(out, d)
		}
	}
	return out, "", nil
}

func orNull(s string) string { return cmp.Or(s, "null") }

// checkImageID finds what ECR refuses in an image ID before looking it up.
func checkImageID(id ImageID) (ECRImageFailure, bool) {
	switch {
	case id.Digest == "" && id.Tag == "":
		return ECRImageFailure{ID: id, Code: FailureMissingDigestAndTag, Reason: "Invalid request parameters: both tag and digest cannot be null"}, true
	case id.Digest != "" && !ecrDigestRE.MatchString(id.Digest):
		return ECRImageFailure{ID: id, Code: FailureInvalidImageDigest, Reason: "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'"}, true
	case id.Tag != "" && !ecrTagRE.MatchString(id.Tag):
		return ECRImageFailure{ID: id, Code: FailureInvalidImageTag, Reason: "Invalid request parameters: image tag should satisfy the regex '[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}'"}, true
	}
	return ECRImageFailure{}, false
}

// BatchDeleteImage deletes images by digest (the image and all its tags) or by tag (the tag, and
// the image with its last tag). IDs it cannot delete come back as failures in ECR's words.
func (e *ECR) BatchDeleteImage(ctx context.Context, sc model.Scope, registry, repo string, ids []ImageID) ([]ImageID, []ECRImageFailure, error) {
	switch {
	case len(ids) == 0:
		return nil, nil, invalidECRParam("imageIds", "Member must have length greater than or equal to 1")
	case len(ids) > ecrMaxListItems:
		return nil, nil, invalidECRParam("imageIds", fmt.Sprintf("Member must have length less than or equal to %d", ecrMaxListItems))
	}
	reg, err := e.repository(ctx, sc, registry, repo)
	if err != nil {
		return nil, nil, err
	}
	deleted, failures := []ImageID{}, []ECRImageFailure{}
	for _, id := range ids {
		if f, bad := checkImageID(id); bad {
			failures = append(failures, f)
			continue
		}
		// One ID at a time keeps the failures in the request's order.
		got, failed, err := e.reg.BatchDeleteImages(ctx, repo, []ImageID{id})
		if err != nil {
			return nil, nil, repoError(err, repo, reg)
		}
		deleted = append(deleted, got...)
		for _, f := range failed {
			failures = append(failures, e.deleteFailure(ctx, repo, f.ID))
		}
	}
	return deleted, failures, nil
}

// deleteFailure words a failed deletion: a tag that names another image than the digest given
// is ImageTagDoesNotMatchDigest, anything else ImageNotFound.
func (e *ECR) deleteFailure(ctx context.Context, repo string, id ImageID) ECRImageFailure {
	if id.Tag != "" && id.Digest != "" {
		found, _, err := e.reg.DescribeImages(ctx, repo, []ImageID{{Tag: id.Tag}})
		if err == nil && len(found) == 1 && found[0].Digest != id.Digest {
			return ECRImageFailure{ID: id, Code: FailureImageTagDoesNotMatchDigest, Reason: "Invalid request parameters: given tag does not map to the given digest"}
		}
	}
	return ECRImageFailure{ID: id, Code: FailureImageNotFound, Reason: "Requested image not found"}
}

// GetAuthorizationToken returns credentials for docker login, one per registry asked for (the
// caller's when none). The built-in registry accepts any credentials for now.
func (e *ECR) GetAuthorizationToken(_ context.Context, sc model.Scope, registryIDs []string) ([]AuthorizationData, error) {
	if len(registryIDs) > ecrMaxRegistryIDs {
		return nil, invalidECRParam("registryIds", fmt.Sprintf("Member must have length less than or equal to %d", ecrMaxRegistryIDs))
	}
	if len(registryIDs) == 0 {
		registryIDs = []string{sc.Account}
	}
	expires := e.now().UTC().Add(ecrTokenLifetime)
	out := make([]AuthorizationData, 0, len(registryIDs))
	for _, id := range registryIDs {
		if !ecrRegistryIDRE.MatchString(id) {
			return nil, invalidECRParam("registryIds", "Member must satisfy regular expression '[0-9]{12}'")
		}
		var secret [32]byte
		_, _ = rand.Read(secret[:])
		token := "AWS:" + base64.RawURLEncoding.EncodeToString(secret[:])
		out = append(out, AuthorizationData{
			Token:         base64.StdEncoding.EncodeToString([]byte(token)),
			ExpiresAt:     expires,
			ProxyEndpoint: "http://" + e.endpoint,
		})
	}
	return out, nil
}

// ecrTokenPrefix versions the opaque pagination tokens of the ECR operations.
const ecrTokenPrefix = "gantry-ecr1:"

func encodeECRToken(pos string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(ecrTokenPrefix + pos))
}

func decodeECRToken(tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	pos, ok := strings.CutPrefix(string(raw), ecrTokenPrefix)
	if err != nil || !ok || pos == "" {
		return "", invalidECRParam("nextToken", "the token is not valid")
	}
	return pos, nil
}
