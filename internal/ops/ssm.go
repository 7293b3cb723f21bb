package ops

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/sealer"
	"github.com/gantry-dev/gantry/internal/store"
)

// SSM serves the SSM Parameter Store operations. Every version's value is sealed before it
// reaches the store (String and StringList too: the store holds no value in clear).
type SSM struct {
	params store.Parameters
	seal   *sealer.Sealer
	now    model.Clock
	logger *slog.Logger
}

// NewSSM returns the Parameter Store operations; seal encrypts values at rest.
func NewSSM(s *store.Store, seal *sealer.Sealer, logger *slog.Logger) *SSM {
	return &SSM{params: s.Parameters(), seal: seal, now: time.Now, logger: logger.With("component", "ops.ssm")}
}

// SetClock replaces the clock, for tests.
func (m *SSM) SetClock(c model.Clock) { m.now = c }

// Parameter limits.
const (
	maxParamNameLen       = 1011
	maxParamLevels        = 15
	maxParamVersions      = 100
	maxStandardValueChars = 4096
	maxAdvancedValueChars = 8192
	defaultSecureKeyID    = "alias/aws/ssm"
)

var (
	paramNameRE = regexp.MustCompile(`^[A-Za-z0-9_.\-/]+$`)
	paramTypes  = []string{model.ParamSecureString, model.ParamStringList, model.ParamString}
	paramTiers  = []string{"Standard", "Advanced", "Intelligent-Tiering"}
	dataTypes   = []string{"text", "aws:ec2:image", "aws:ssm:integration"}

	errParamNamePattern = apierr.New(apierr.InvalidParameter, `Parameter name: can't be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_`)
)

func paramNotFound(name string) error {
	return apierr.Errorf(apierr.NotFound, "Parameter %s not found.", name)
}

// validateParamName checks a name as PutParameter does.
func validateParamName(name string) error {
	if name == "" {
		return apierr.New(apierr.InvalidParameter, "1 validation error detected: Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	if n := utf8.RuneCountInString(name); n > maxParamNameLen {
		return apierr.Errorf(apierr.InvalidParameter, "Parameter name has %d characters; a parameter name can have at most %d.", n, maxParamNameLen)
	}
	if strings.Contains(name, "/") && !strings.HasPrefix(name, "/") {
		return apierr.New(apierr.InvalidParameter, "Parameter name must be a fully qualified name.")
	}
	first := strings.ToLower(strings.TrimPrefix(name, "/"))
	if !paramNameRE.MatchString(name) || strings.HasPrefix(first, "aws") || strings.HasPrefix(first, "ssm") ||
		strings.Contains(name, "//") || strings.HasSuffix(name, "/") {
		return errParamNamePattern
	}
	if strings.Count(name, "/") > maxParamLevels {
		return apierr.Errorf(apierr.HierarchyLimit, "A parameter name can have at most %d levels of hierarchy; %s has %d.", maxParamLevels, name, strings.Count(name, "/"))
	}
	return nil
}

// PutParameterInput is PutParameter's request; empty members keep (on overwrite) or default.
type PutParameterInput struct {
	Name           string
	Value          string
	Type           string
	Description    *string
	KeyID          string
	AllowedPattern *string
	Tier           string
	DataType       string
	Overwrite      bool
	Tags           []model.Tag
}

// PutParameter creates a parameter or, with Overwrite, adds a version. It returns the new
// version and its tier.
func (m *SSM) PutParameter(ctx context.Context, sc model.Scope, in PutParameterInput) (int64, string, error) {
	in.Name = strings.TrimSpace(in.Name) // as AWS does; spaces inside the name stay invalid
	if err := validatePut(&in); err != nil {
		return 0, "", err
	}
	for attempt := 0; ; attempt++ {
		v, tier, err := m.putOnce(ctx, sc, in)
		if !errors.Is(err, apierr.Conflict) || attempt > 20 {
			return v, tier, err
		}
	}
}

func validatePut(in *PutParameterInput) error {
	if err := validateParamName(in.Name); err != nil {
		return err
	}
	var errs []error
	if in.Type != "" && !slices.Contains(paramTypes, in.Type) {
		errs = append(errs, apierr.Errorf(apierr.InvalidParameter, "1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [%s]", in.Type, strings.Join(paramTypes, ", ")))
	}
	if in.Tier != "" && !slices.Contains(paramTiers, in.Tier) {
		errs = append(errs, apierr.Errorf(apierr.InvalidParameter, "1 validation error detected: Value '%s' at 'tier' failed to satisfy constraint: Member must satisfy enum value set: [%s]", in.Tier, strings.Join(paramTiers, ", ")))
	}
	if in.DataType != "" && !slices.Contains(dataTypes, in.DataType) {
		errs = append(errs, apierr.Errorf(apierr.InvalidParameter, "The following data type is not supported: %s (Data type names are all lowercase.)", in.DataType))
	}
	if in.Value == "" {
		errs = append(errs, apierr.New(apierr.InvalidParameter, "1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1"))
	}
	if in.Description != nil && utf8.RuneCountInString(*in.Description) > 1024 {
		errs = append(errs, apierr.New(apierr.InvalidParameter, "Description can have at most 1024 characters."))
	}
	if in.Tags != nil && in.Overwrite {
		errs = append(errs, apierr.New(apierr.InvalidParameter, "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource."))
	}
	if in.AllowedPattern != nil {
		if _, err := regexp.Compile(*in.AllowedPattern); err != nil || len(*in.AllowedPattern) > 1024 {
			errs = append(errs, apierr.Errorf(apierr.InvalidParameter, "Parameter AllowedPattern is not a valid regular expression (at most 1024 characters)."))
		}
	}
	errs = append(errs, validateTagList(in.Tags))
	return errors.Join(errs...)
}

func (m *SSM) putOnce(ctx context.Context, sc model.Scope, in PutParameterInput) (int64, string, error) {
	cur, err := m.params.Get(ctx, sc, in.Name)
	exists := err == nil
	if err != nil && !errors.Is(err, apierr.NotFound) {
		return 0, "", err
	}
	if exists && !in.Overwrite {
		return 0, "", apierr.New(apierr.AlreadyExists, "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
	}
	p := model.Parameter{Scope: sc, Name: in.Name, Tags: in.Tags}
	var prev model.ParameterVersion
	if exists {
		p = cur.Value
		prev = *p.Latest()
	}
	v, err := nextParamVersion(in, prev, exists, m.now())
	if err != nil {
		return 0, "", err
	}
	if v.Sealed, err = m.seal.Seal([]byte(in.Value), model.ParameterAAD(sc, in.Name, v.Version)); err != nil {
		return 0, "", fmt.Errorf("seal parameter %s: %w", in.Name, err)
	}
	if len(p.Versions) >= maxParamVersions {
		if oldest := p.Versions[0]; len(oldest.Labels) > 0 {
			return 0, "", apierr.Errorf(apierr.VersionLimitReached, "You attempted to create a new version of %s by calling the PutParameter API with the overwrite flag. Version %d, the oldest version, can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again.", in.Name, oldest.Version)
		}
		p.Versions = p.Versions[len(p.Versions)-maxParamVersions+1:]
	}
	p.Versions = append(p.Versions, v)
	if exists {
		_, err = m.params.Update(ctx, p, cur.Revision)
	} else if _, err = m.params.Create(ctx, p); errors.Is(err, apierr.AlreadyExists) {
		err = apierr.Conflict // someone created it meanwhile: decide again
	}
	return v.Version, v.Tier, err
}

// nextParamVersion is the version a put makes: the settings given, else the previous ones.
func nextParamVersion(in PutParameterInput, prev model.ParameterVersion, exists bool, now time.Time) (model.ParameterVersion, error) {
	v := model.ParameterVersion{Version: prev.Version + 1, Type: in.Type, Description: prev.Description,
		AllowedPattern: prev.AllowedPattern, KeyID: in.KeyID, Tier: in.Tier, DataType: in.DataType, ModifiedAt: now,
		ModifiedBy: "arn:aws:iam::" + model.DefaultAccount + ":root"}
	if v.Type == "" {
		if !exists {
			return v, apierr.New(apierr.InvalidParameter, "A parameter type is required when you create a parameter.")
		}
		v.Type = prev.Type
	}
	if exists && v.Type != prev.Type {
		return v, apierr.Errorf(apierr.TypeMismatch, "Parameter Store doesn't support changing a parameter type: %s is a %s, not a %s. You must create a new, unique parameter.", in.Name, prev.Type, v.Type)
	}
	if in.Description != nil {
		v.Description = *in.Description
	}
	if in.AllowedPattern != nil {
		v.AllowedPattern = *in.AllowedPattern
	}
	if v.Tier == "" || v.Tier == "Intelligent-Tiering" {
		v.Tier = cmp.Or(prev.Tier, "Standard")
		if utf8.RuneCountInString(in.Value) > maxStandardValueChars {
			v.Tier = "Advanced"
		}
	}
	if v.DataType == "" {
		v.DataType = cmp.Or(prev.DataType, "text")
	}
	if v.KeyID != "" && v.Type != model.ParamSecureString {
		return v, apierr.New(apierr.InvalidParameter, "KeyId is required for SecureString type parameter only.")
	}
	if v.Type == model.ParamSecureString && v.KeyID == "" {
		v.KeyID = cmp.Or(prev.KeyID, defaultSecureKeyID)
	}
	if v.Type != model.ParamSecureString {
		v.KeyID = ""
	}
	return v, checkParamValue(v, in.Value)
}

func checkParamValue(v model.ParameterVersion, value string) error {
	n := utf8.RuneCountInString(value)
	if v.Tier == "Standard" && n > maxStandardValueChars {
		return apierr.Errorf(apierr.InvalidParameter, "Standard tier parameters support a maximum parameter value of %d characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier.", maxStandardValueChars)
	}
	if n > maxAdvancedValueChars {
		return apierr.Errorf(apierr.InvalidParameter, "Advanced tier parameters support a maximum parameter value of %d characters.", maxAdvancedValueChars)
	}
	if v.AllowedPattern != "" {
		re, err := regexp.Compile(v.AllowedPattern)
		if err != nil || !re.MatchString(value) {
			return apierr.Errorf(apierr.PatternMismatch, "Parameter value, cannot be validated against allowedPattern: %s", v.AllowedPattern)
		}
	}
	if v.DataType == "aws:ec2:image" && !regexp.MustCompile(`^ami-[0-9a-f]{8,17}$`).MatchString(value) {
		return apierr.New(apierr.InvalidParameter, "The parameter value is not a valid AMI id (ami-xxxxxxxx) for data type aws:ec2:image.")
	}
	return nil
}

// ParameterOut is one parameter version as GetParameter and its kin answer it.
type ParameterOut struct {
	Name       string
	ARN        string
	Type       string
	Value      string
	Version    int64
	Selector   string
	ModifiedAt time.Time
	DataType   string
	Labels     []string
	// The version's metadata, for DescribeParameters and GetParameterHistory.
	Description    string
	AllowedPattern string
	KeyID          string
	Tier           string
	ModifiedBy     string
}

// parseParamSelector splits a reference (a name or a parameter ARN, with an optional :version
// or :label) into the name and the selector.
func parseParamSelector(ref string) (name, selector string) {
	if strings.HasPrefix(ref, "arn:") {
		if _, rest, ok := strings.Cut(ref, ":parameter"); ok {
			ref = rest
			if strings.Count(ref, "/") == 1 {
				ref = strings.TrimPrefix(ref, "/")
			}
		}
	}
	if i := strings.LastIndex(ref, ":"); i >= 0 {
		return ref[:i], ref[i+1:]
	}
	return ref, ""
}

// readParameter reads one parameter version by reference; a missing one is ParameterNotFound,
// a missing version or label ParameterVersionNotFound.
func readParameter(ctx context.Context, params store.Parameters, seal *sealer.Sealer, sc model.Scope, ref string, decrypt bool) (ParameterOut, error) {
	name, sel := parseParamSelector(ref)
	got, err := params.Get(ctx, sc, name)
	if errors.Is(err, apierr.NotFound) && strings.HasPrefix(ref, "arn:") && !strings.HasPrefix(name, "/") {
		got, err = params.Get(ctx, sc, "/"+name)
	}
	if errors.Is(err, apierr.NotFound) {
		return ParameterOut{}, paramNotFound(ref)
	}
	if err != nil {
		return ParameterOut{}, err
	}
	p := got.Value
	v := p.Latest()
	if sel != "" {
		if n, perr := strconv.ParseInt(sel, 10, 64); perr == nil {
			v = p.Version(n)
		} else {
			v = p.Labeled(sel)
		}
		if v == nil {
			return ParameterOut{}, apierr.Errorf(apierr.VersionNotFound, "Systems Manager could not find version %s of %s. Verify the version and try again.", sel, p.Name)
		}
		sel = ":" + sel
	}
	out := versionOut(p, *v)
	out.Selector = sel
	out.Value, err = openParamValue(seal, p, *v, decrypt)
	return out, err
}

func versionOut(p model.Parameter, v model.ParameterVersion) ParameterOut {
	return ParameterOut{Name: p.Name, ARN: model.ParameterARN(p.Scope, p.Name), Type: v.Type, Version: v.Version,
		ModifiedAt: v.ModifiedAt, DataType: v.DataType, Labels: v.Labels, Description: v.Description,
		AllowedPattern: v.AllowedPattern, KeyID: v.KeyID, Tier: v.Tier, ModifiedBy: v.ModifiedBy}
}

// openParamValue is a version's value: in clear, except a SecureString read without decryption,
// which answers its ciphertext (base64), as AWS answers the KMS ciphertext.
func openParamValue(seal *sealer.Sealer, p model.Parameter, v model.ParameterVersion, decrypt bool) (string, error) {
	if v.Type == model.ParamSecureString && !decrypt {
		return base64.StdEncoding.EncodeToString(v.Sealed), nil
	}
	pt, err := seal.Open(v.Sealed, model.ParameterAAD(p.Scope, p.Name, v.Version))
	if err != nil {
		return "", apierr.Errorf(apierr.DecryptionFailure, "The parameter %s version %d could not be decrypted.", p.Name, v.Version)
	}
	return string(pt), nil
}

// GetParameter reads a parameter (name, name:version or name:label, or its ARN).
func (m *SSM) GetParameter(ctx context.Context, sc model.Scope, ref string, decrypt bool) (ParameterOut, error) {
	if ref == "" {
		return ParameterOut{}, apierr.New(apierr.InvalidParameter, "1 validation error detected: Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	return readParameter(ctx, m.params, m.seal, sc, ref, decrypt)
}

// GetParameters reads up to 10 parameters; the ones that do not exist are listed as invalid.
func (m *SSM) GetParameters(ctx context.Context, sc model.Scope, refs []string, decrypt bool) ([]ParameterOut, []string, error) {
	if len(refs) < 1 || len(refs) > 10 {
		return nil, nil, apierr.Errorf(apierr.InvalidParameter, "1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length less than or equal to 10 and greater than or equal to 1 (%d given)", len(refs))
	}
	var out []ParameterOut
	var invalid []string
	for _, ref := range slices.Compact(slices.Clone(refs)) {
		p, err := readParameter(ctx, m.params, m.seal, sc, ref, decrypt)
		switch k := apierr.KindOf(err); {
		case err == nil:
			out = append(out, p)
		case k == apierr.NotFound || k == apierr.VersionNotFound:
			invalid = append(invalid, ref)
		default:
			return nil, nil, err
		}
	}
	return out, invalid, nil
}

// DeleteParameter deletes a parameter and its history.
func (m *SSM) DeleteParameter(ctx context.Context, sc model.Scope, name string) error {
	for {
		got, err := m.params.Get(ctx, sc, name)
		if errors.Is(err, apierr.NotFound) {
			return paramNotFound(name)
		}
		if err != nil {
			return err
		}
		if err := m.params.Delete(ctx, sc, name, got.Revision); !errors.Is(err, apierr.Conflict) {
			return err
		}
	}
}

// DeleteParameters deletes up to 10 parameters, answering which were deleted and which not found.
func (m *SSM) DeleteParameters(ctx context.Context, sc model.Scope, names []string) (deleted, invalid []string, err error) {
	if len(names) < 1 || len(names) > 10 {
		return nil, nil, apierr.New(apierr.InvalidParameter, "1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length less than or equal to 10 and greater than or equal to 1")
	}
	for _, n := range names {
		err := m.DeleteParameter(ctx, sc, n)
		switch {
		case err == nil:
			deleted = append(deleted, n)
		case errors.Is(err, apierr.NotFound):
			invalid = append(invalid, n)
		default:
			return nil, nil, err
		}
	}
	return deleted, invalid, nil
}
