package model

import (
	"fmt"
	"strings"
	"time"
)

// Parameter types.
const (
	ParamString       = "String"
	ParamStringList   = "StringList"
	ParamSecureString = "SecureString"
)

// Parameter is an SSM Parameter Store parameter with its history. Every version's value is
// sealed (internal/sealer) by the operations before it reaches the store.
type Parameter struct {
	Scope    Scope
	Name     string
	Tags     []Tag
	Versions []ParameterVersion // oldest first; the last is the current value
}

// ParameterVersion is one version of a parameter: its value and the settings it was put with.
type ParameterVersion struct {
	Version        int64
	Type           string
	Description    string
	AllowedPattern string
	KeyID          string
	Tier           string
	DataType       string
	Labels         []string
	ModifiedAt     time.Time
	ModifiedBy     string
	Sealed         []byte
}

// ParameterARN is the ARN of a parameter (a hierarchical name keeps its leading slash once).
func ParameterARN(sc Scope, name string) string {
	return fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s", sc.Region, sc.Account, strings.TrimPrefix(name, "/"))
}

// ParameterAAD is the additional data a parameter version's value is sealed with.
func ParameterAAD(sc Scope, name string, version int64) []byte {
	return fmt.Appendf(nil, "%s#%d", ParameterARN(sc, name), version)
}

// Latest returns the current version.
func (p *Parameter) Latest() *ParameterVersion { return &p.Versions[len(p.Versions)-1] }

// Version returns version n, or nil.
func (p *Parameter) Version(n int64) *ParameterVersion {
	for i := range p.Versions {
		if p.Versions[i].Version == n {
			return &p.Versions[i]
		}
	}
	return nil
}

// Labeled returns the version carrying label, or nil.
func (p *Parameter) Labeled(label string) *ParameterVersion {
	for i := range p.Versions {
		for _, l := range p.Versions[i].Labels {
			if l == label {
				return &p.Versions[i]
			}
		}
	}
	return nil
}
