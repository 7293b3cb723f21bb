package ops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/sealer"
	"github.com/gantry-dev/gantry/internal/store"
)

// Secrets serves the Secrets Manager operations and resolves the secrets a task definition
// names (ResolveValueFrom), from Secrets Manager or Parameter Store. Values are sealed before
// they reach the store and opened only to answer GetSecretValue or a task's injection.
type Secrets struct {
	secrets store.Secrets
	params  store.Parameters
	seal    *sealer.Sealer
	now     model.Clock
	logger  *slog.Logger
}

// NewSecrets returns the Secrets Manager operations; seal encrypts values at rest.
func NewSecrets(s *store.Store, seal *sealer.Sealer, logger *slog.Logger) *Secrets {
	return &Secrets{secrets: s.Secrets(), params: s.Parameters(), seal: seal, now: time.Now,
		logger: logger.With("component", "ops.secretsmanager")}
}

// SetClock replaces the clock, for tests.
func (s *Secrets) SetClock(c model.Clock) { s.now = c }

// SecretValue is a secret's value: exactly one of String and Binary is set.
type SecretValue struct {
	String *string
	Binary []byte
}

func (v SecretValue) bytes() []byte {
	if v.String != nil {
		return []byte(*v.String)
	}
	return v.Binary
}

// CreateSecretInput is CreateSecret's request.
type CreateSecretInput struct {
	Name        string
	Description *string
	KMSKeyID    string
	Token       string
	Value       *SecretValue
	Tags        []model.Tag
}

// SecretVersionOut names the version a write made.
type SecretVersionOut struct {
	ARN       string
	Name      string
	VersionID string
	Stages    []string
}

// SecretValueOut is GetSecretValue's answer.
type SecretValueOut struct {
	ARN       string
	Name      string
	VersionID string
	Stages    []string
	CreatedAt time.Time
	Value     SecretValue
}

const (
	maxSecretValueBytes  = 65536
	maxSecretDescription = 2048
	maxSecretNameLen     = 512
)

var secretNameRE = regexp.MustCompile(`^[A-Za-z0-9/_+=.@!-]+$`)

var (
	errSecretNotFound   = apierr.New(apierr.NotFound, "Secrets Manager can't find the specified secret.")
	errSecretScheduled  = apierr.New(apierr.InvalidRequest, "You can't perform this operation on the secret because it was marked for deletion.")
	errVersionImmutable = apierr.New(apierr.AlreadyExists, "You can't modify an existing version, you can only create a new version.")
)

func validateSecretName(name string) error {
	if name == "" {
		return apierr.New(apierr.InvalidParameter, "You must provide a value for the Name parameter.")
	}
	if n := utf8.RuneCountInString(name); n > maxSecretNameLen {
		return apierr.Errorf(apierr.InvalidParameter, "Invalid name: the name has %d characters; a secret name can have at most %d.", n, maxSecretNameLen)
	}
	if !secretNameRE.MatchString(name) {
		return apierr.New(apierr.InvalidParameter, "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!")
	}
	return nil
}

func validateSecretValue(v *SecretValue) error {
	if v == nil {
		return nil
	}
	if v.String != nil && v.Binary != nil {
		return apierr.New(apierr.InvalidParameter, "You can't specify both a binary secret value and a string secret value in the same secret.")
	}
	if n := len(v.bytes()); n > maxSecretValueBytes {
		return apierr.Errorf(apierr.InvalidParameter, "The secret value is %d bytes; SecretString and SecretBinary can have at most %d bytes.", n, maxSecretValueBytes)
	}
	if v.String == nil && len(v.Binary) == 0 {
		return apierr.New(apierr.InvalidParameter, "SecretBinary must have a length of at least 1 byte.")
	}
	return nil
}

func validateToken(token string) error {
	if token != "" && (len(token) < 32 || len(token) > 64) {
		return apierr.Errorf(apierr.InvalidParameter, "ClientRequestToken must be between 32 and 64 characters; it has %d.", len(token))
	}
	return nil
}

func validateDescription(d *string) error {
	if d != nil && utf8.RuneCountInString(*d) > maxSecretDescription {
		return apierr.Errorf(apierr.InvalidParameter, "Description can have at most %d characters.", maxSecretDescription)
	}
	return nil
}

// CreateSecret creates a secret, with a first version (AWSCURRENT) when a value is given. The
// same ClientRequestToken with the same value again succeeds; with another value it is
// ResourceExistsException.
func (s *Secrets) CreateSecret(ctx context.Context, sc model.Scope, in CreateSecretInput) (SecretVersionOut, error) {
	err := errors.Join(validateSecretName(in.Name), validateDescription(in.Description), validateSecretValue(in.Value),
		validateToken(in.Token), validateTagList(in.Tags))
	if err != nil {
		return SecretVersionOut{}, err
	}
	if in.Token == "" {
		in.Token = newUUID()
	}
	cur, err := s.secrets.Get(ctx, sc, in.Name)
	switch {
	case err == nil:
		return s.createAgain(cur.Value, in)
	case !errors.Is(err, apierr.NotFound):
		return SecretVersionOut{}, err
	}
	now := s.now()
	sec := model.ManagedSecret{Scope: sc, Name: in.Name, ARN: model.SecretARN(sc, in.Name, randomSuffix(6)),
		Description: smDeref(in.Description), KMSKeyID: in.KMSKeyID, Tags: in.Tags, CreatedAt: now, ChangedAt: now}
	out := SecretVersionOut{ARN: sec.ARN, Name: sec.Name}
	if in.Value != nil {
		v, err := s.newVersion(sec.ARN, in.Token, *in.Value, now)
		if err != nil {
			return SecretVersionOut{}, err
		}
		sec.AddVersion(v, []string{model.StageCurrent})
		out.VersionID, out.Stages = v.ID, []string{model.StageCurrent}
	}
	if _, err := s.secrets.Create(ctx, sec); err != nil {
		if errors.Is(err, apierr.AlreadyExists) {
			return SecretVersionOut{}, apierr.Errorf(apierr.AlreadyExists, "The operation failed because the secret %s already exists.", in.Name)
		}
		return SecretVersionOut{}, err
	}
	s.logger.DebugContext(ctx, "secret created", "arn", sec.ARN)
	return out, nil
}

// createAgain answers CreateSecret for a name that exists: a retry of the same call succeeds.
func (s *Secrets) createAgain(cur model.ManagedSecret, in CreateSecretInput) (SecretVersionOut, error) {
	if cur.Scheduled() {
		return SecretVersionOut{}, apierr.New(apierr.InvalidRequest, "You can't create this secret because a secret with this name is already scheduled for deletion.")
	}
	if v := cur.Version(in.Token); v != nil && in.Value != nil {
		same, err := s.sameValue(cur.ARN, *v, *in.Value)
		if err != nil {
			return SecretVersionOut{}, err
		}
		if !same {
			return SecretVersionOut{}, errVersionImmutable
		}
		return SecretVersionOut{ARN: cur.ARN, Name: cur.Name, VersionID: v.ID, Stages: v.Stages}, nil
	}
	return SecretVersionOut{}, apierr.Errorf(apierr.AlreadyExists, "The operation failed because the secret %s already exists.", in.Name)
}

func (s *Secrets) newVersion(arn, id string, val SecretValue, now time.Time) (model.SecretVersion, error) {
	sealed, err := s.seal.Seal(val.bytes(), model.SecretVersionAAD(arn, id))
	if err != nil {
		return model.SecretVersion{}, fmt.Errorf("seal secret %s: %w", arn, err)
	}
	return model.SecretVersion{ID: id, CreatedAt: now, Binary: val.String == nil, Sealed: sealed}, nil
}

func (s *Secrets) open(arn string, v model.SecretVersion) (SecretValue, error) {
	pt, err := s.seal.Open(v.Sealed, model.SecretVersionAAD(arn, v.ID))
	if err != nil {
		return SecretValue{}, apierr.Errorf(apierr.DecryptionFailure, "Secrets Manager can't decrypt the protected secret text of %s version %s using the provided KMS key.", arn, v.ID)
	}
	if v.Binary {
		return SecretValue{Binary: pt}, nil
	}
	str := string(pt)
	return SecretValue{String: &str}, nil
}

func (s *Secrets) sameValue(arn string, v model.SecretVersion, val SecretValue) (bool, error) {
	old, err := s.open(arn, v)
	if err != nil {
		return false, err
	}
	return v.Binary == (val.String == nil) && bytes.Equal(old.bytes(), val.bytes()), nil
}

// find resolves a SecretId: a name, a full ARN, or a partial ARN (without the random suffix).
// A secret whose recovery window has passed is deleted here and reported missing.
func (s *Secrets) find(ctx context.Context, sc model.Scope, id string) (store.Versioned[model.ManagedSecret], error) {
	if id == "" {
		return store.Versioned[model.ManagedSecret]{}, apierr.New(apierr.InvalidParameter, "You must provide a value for the SecretId parameter.")
	}
	got, err := s.lookup(ctx, sc, id)
	if err != nil {
		return got, err
	}
	if got.Value.Scheduled() && !s.now().Before(got.Value.DeleteAfter) {
		if err := s.secrets.Delete(ctx, got.Value.Scope, got.Value.Name, got.Revision); err != nil && !errors.Is(err, apierr.Conflict) {
			return got, err
		}
		return got, errSecretNotFound
	}
	return got, nil
}

func (s *Secrets) lookup(ctx context.Context, sc model.Scope, id string) (store.Versioned[model.ManagedSecret], error) {
	var none store.Versioned[model.ManagedSecret]
	if !strings.HasPrefix(id, "arn:") {
		got, err := s.secrets.Get(ctx, sc, id)
		if errors.Is(err, apierr.NotFound) {
			return none, errSecretNotFound
		}
		return got, err
	}
	parts := strings.SplitN(id, ":", 7)
	if len(parts) != 7 || parts[2] != "secretsmanager" || parts[5] != "secret" || parts[6] == "" {
		return none, errSecretNotFound
	}
	asc := model.Scope{Region: parts[3], Account: parts[4]}
	rest := parts[6]
	if n := len(rest); n > 7 && rest[n-7] == '-' {
		got, err := s.secrets.Get(ctx, asc, rest[:n-7])
		if err == nil && got.Value.ARN == id {
			return got, nil
		}
		if err != nil && !errors.Is(err, apierr.NotFound) {
			return none, err
		}
	}
	got, err := s.secrets.Get(ctx, asc, rest)
	if errors.Is(err, apierr.NotFound) {
		return none, errSecretNotFound
	}
	return got, err
}

// GetSecretValue opens one version: by VersionId, by VersionStage, or AWSCURRENT.
func (s *Secrets) GetSecretValue(ctx context.Context, sc model.Scope, id, versionID, stage string) (SecretValueOut, error) {
	got, err := s.find(ctx, sc, id)
	if err != nil {
		return SecretValueOut{}, err
	}
	sec := got.Value
	if sec.Scheduled() {
		return SecretValueOut{}, errSecretScheduled
	}
	v, err := pickVersion(&sec, versionID, stage)
	if err != nil {
		return SecretValueOut{}, err
	}
	val, err := s.open(sec.ARN, *v)
	if err != nil {
		return SecretValueOut{}, err
	}
	s.touch(ctx, sec)
	return SecretValueOut{ARN: sec.ARN, Name: sec.Name, VersionID: v.ID, Stages: v.Stages, CreatedAt: v.CreatedAt, Value: val}, nil
}

func pickVersion(sec *model.ManagedSecret, versionID, stage string) (*model.SecretVersion, error) {
	if versionID == "" && stage == "" {
		stage = model.StageCurrent
	}
	var v *model.SecretVersion
	switch {
	case versionID != "":
		v = sec.Version(versionID)
		if v == nil {
			return nil, apierr.Errorf(apierr.NotFound, "Secrets Manager can't find the specified secret value for VersionId: %s", versionID)
		}
		if stage != "" && !slices.Contains(v.Stages, stage) {
			return nil, apierr.Errorf(apierr.InvalidRequest, "You provided a VersionStage that is not associated to the provided VersionId.")
		}
	default:
		v = sec.Staged(stage)
		if v == nil {
			return nil, apierr.Errorf(apierr.NotFound, "Secrets Manager can't find the specified secret value for staging label: %s", stage)
		}
	}
	return v, nil
}

// touch records the access date (a day's precision, as AWS keeps it), at most one write a day.
func (s *Secrets) touch(ctx context.Context, sec model.ManagedSecret) {
	day := s.now().UTC().Truncate(24 * time.Hour)
	if sec.AccessedAt.Equal(day) {
		return
	}
	_, err := s.secrets.Mutate(ctx, sec.Scope, sec.Name, func(m *model.ManagedSecret) error {
		m.AccessedAt = day
		return nil
	})
	if err != nil {
		s.logger.WarnContext(ctx, "record secret access date", "arn", sec.ARN, "error", err)
	}
}
