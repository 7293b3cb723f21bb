package model

import (
	"slices"
	"testing"
)

func TestSecretStagingMoves(t *testing.T) {
	var s ManagedSecret
	s.AddVersion(SecretVersion{ID: "v1"}, []string{StageCurrent})
	s.AddVersion(SecretVersion{ID: "v2"}, []string{StagePending})
	s.AddVersion(SecretVersion{ID: "v3"}, []string{StageCurrent, "custom"})
	s.AddVersion(SecretVersion{ID: "v4"}, []string{StageCurrent})
	s.MoveStages("v2", []string{"custom"})
	want := map[string][]string{"v1": nil, "v2": {StagePending, "custom"}, "v3": {StagePrevious}, "v4": {StageCurrent}}
	for id, stages := range want {
		if got := s.Version(id).Stages; !slices.Equal(got, stages) && !(len(got) == 0 && len(stages) == 0) {
			t.Errorf("version %s stages = %v, want %v", id, got, stages)
		}
	}
	if s.Staged(StagePrevious).ID != "v3" || s.Staged("nope") != nil {
		t.Fatal("Staged lookups wrong")
	}
}

func TestSecretVersionsPruneUnlabelledOnly(t *testing.T) {
	var s ManagedSecret
	s.AddVersion(SecretVersion{ID: "keep"}, []string{"label"})
	for i := range MaxSecretVersions + 5 {
		s.AddVersion(SecretVersion{ID: string(rune('a'+i%26)) + string(rune('0'+i/26))}, []string{StageCurrent})
	}
	if len(s.Versions) != MaxSecretVersions || s.Version("keep") == nil {
		t.Fatalf("%d versions, labelled kept: %v", len(s.Versions), s.Version("keep") != nil)
	}
}

func TestParameterARN(t *testing.T) {
	sc := Scope{Account: "1", Region: "r"}
	for name, want := range map[string]string{"/a/b": "arn:aws:ssm:r:1:parameter/a/b", "flat": "arn:aws:ssm:r:1:parameter/flat"} {
		if got := ParameterARN(sc, name); got != want {
			t.Errorf("ParameterARN(%s) = %s", name, got)
		}
	}
}
