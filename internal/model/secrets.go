package model

import (
	"fmt"
	"slices"
	"time"
)

// Secrets Manager's staging labels with a meaning of their own.
const (
	StageCurrent  = "AWSCURRENT"
	StagePrevious = "AWSPREVIOUS"
	StagePending  = "AWSPENDING"
)

// ManagedSecret is a Secrets Manager secret. Its versions' values are sealed (internal/sealer) by the
// operations before the secret reaches the store; the domain never holds a value in clear.
type ManagedSecret struct {
	Scope       Scope
	Name        string
	ARN         string
	Description string
	KMSKeyID    string
	Tags        []Tag
	CreatedAt   time.Time
	ChangedAt   time.Time
	AccessedAt  time.Time
	// DeletedAt is when DeleteSecret scheduled the deletion, DeleteAfter when it takes effect;
	// both zero when the secret is not scheduled for deletion.
	DeletedAt   time.Time
	DeleteAfter time.Time
	Versions    []SecretVersion
}

// SecretVersion is one version of a secret's value.
type SecretVersion struct {
	ID        string
	Stages    []string
	CreatedAt time.Time
	// Binary says the sealed value was a SecretBinary rather than a SecretString.
	Binary bool
	Sealed []byte
}

// SecretARN is the ARN of a secret; suffix is the six random characters AWS appends.
func SecretARN(sc Scope, name, suffix string) string {
	return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", sc.Region, sc.Account, name, suffix)
}

// SecretVersionAAD is the additional data a secret version's value is sealed with, so a sealed
// value cannot be moved to another secret or version.
func SecretVersionAAD(arn, versionID string) []byte { return []byte(arn + "#" + versionID) }

// Scheduled says the secret is marked for deletion.
func (s *ManagedSecret) Scheduled() bool { return !s.DeleteAfter.IsZero() }

// Version returns the version with id, or nil.
func (s *ManagedSecret) Version(id string) *SecretVersion {
	for i := range s.Versions {
		if s.Versions[i].ID == id {
			return &s.Versions[i]
		}
	}
	return nil
}

// Staged returns the version carrying stage, or nil.
func (s *ManagedSecret) Staged(stage string) *SecretVersion {
	for i := range s.Versions {
		if slices.Contains(s.Versions[i].Stages, stage) {
			return &s.Versions[i]
		}
	}
	return nil
}

// MaxSecretVersions bounds the versions a secret keeps: unlabelled (deprecated) versions beyond
// it are dropped, oldest first, as AWS does.
const MaxSecretVersions = 100

// AddVersion adds v with stages and moves those stages from other versions: moving AWSCURRENT
// away from a version gives that version AWSPREVIOUS (taken from whichever held it).
func (s *ManagedSecret) AddVersion(v SecretVersion, stages []string) {
	s.Versions = append(s.Versions, v)
	s.MoveStages(v.ID, stages)
	s.prune()
}

// MoveStages attaches stages to the version id, taking them from any other version.
func (s *ManagedSecret) MoveStages(id string, stages []string) {
	if slices.Contains(stages, StageCurrent) {
		if old := s.Staged(StageCurrent); old != nil && old.ID != id {
			s.removeStage(StagePrevious)
			old.Stages = append(old.Stages, StagePrevious)
		}
	}
	for _, st := range stages {
		s.removeStageExcept(st, id)
	}
	v := s.Version(id)
	for _, st := range stages {
		if !slices.Contains(v.Stages, st) {
			v.Stages = append(v.Stages, st)
		}
	}
	slices.Sort(v.Stages)
}

func (s *ManagedSecret) removeStage(stage string) { s.removeStageExcept(stage, "") }

func (s *ManagedSecret) removeStageExcept(stage, keep string) {
	for i := range s.Versions {
		if s.Versions[i].ID != keep {
			s.Versions[i].Stages = slices.DeleteFunc(s.Versions[i].Stages, func(x string) bool { return x == stage })
		}
	}
}

func (s *ManagedSecret) prune() {
	for len(s.Versions) > MaxSecretVersions {
		i := slices.IndexFunc(s.Versions, func(v SecretVersion) bool { return len(v.Stages) == 0 })
		if i < 0 {
			return
		}
		s.Versions = slices.Delete(s.Versions, i, i+1)
	}
}
