package ops

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

func clManyTags(n int) []model.Tag {
	var out []model.Tag
	for i := range n {
		out = append(out, model.Tag{Key: fmt.Sprintf("k%02d", i), Value: "v"})
	}
	return out
}

func TestValidateTagList(t *testing.T) {
	tests := []struct {
		name string
		tags []model.Tag
		msg  string // "" for valid
	}{
		{"fifty", clManyTags(50), ""},
		{"fifty-one", clManyTags(51), "at most 50"},
		{"longest key and value", []model.Tag{{Key: strings.Repeat("k", 128), Value: strings.Repeat("v", 256)}}, ""},
		{"unicode counts runes", []model.Tag{{Key: strings.Repeat("é", 128), Value: "ü"}}, ""},
		{"empty key", []model.Tag{{Key: "", Value: "v"}}, "between 1 and 128 characters"},
		{"key too long", []model.Tag{{Key: strings.Repeat("k", 129)}}, "between 1 and 128 characters"},
		{"value too long", []model.Tag{{Key: "k", Value: strings.Repeat("v", 257)}}, "at most 256 characters"},
		{"empty value", []model.Tag{{Key: "k"}}, ""},
		{"allowed punctuation", []model.Tag{{Key: "a b+-=._:/@", Value: "x y+-=._:/@"}}, ""},
		{"bad key char", []model.Tag{{Key: "a*b"}}, "characters that are not allowed"},
		{"bad value char", []model.Tag{{Key: "k", Value: "a#b"}}, "characters that are not allowed"},
		{"aws key", []model.Tag{{Key: "aws:cost", Value: "v"}}, "reserved"},
		{"AWS key any case", []model.Tag{{Key: "AwS:cost", Value: "v"}}, "reserved"},
		{"aws value", []model.Tag{{Key: "k", Value: "aws:v"}}, "reserved"},
		{"aws without colon is fine", []model.Tag{{Key: "awsome", Value: "v"}}, ""},
		{"duplicate key", []model.Tag{{Key: "k", Value: "1"}, {Key: "k", Value: "2"}}, "Duplicate tag key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateTagList(tt.tags)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			clWantErr(t, err, apierr.InvalidParameter, tt.msg)
		})
	}
}

func TestClusterTagging(t *testing.T) {
	e := clTestECS(t)
	ctx := t.Context()
	if _, err := e.CreateCluster(ctx, model.Cluster{Scope: clTestScope, Name: "t", Tags: []model.Tag{{Key: "a", Value: "1"}}}); err != nil {
		t.Fatal(err)
	}
	arn := model.ClusterARN(clTestScope, "t")
	list := func() string {
		t.Helper()
		tags, err := e.ListTagsForResource(ctx, clTestScope, arn)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(tags)
	}
	if err := e.TagResource(ctx, clTestScope, arn, []model.Tag{{Key: "b", Value: "2"}, {Key: "a", Value: "one"}}); err != nil {
		t.Fatal(err)
	}
	if got := list(); got != "[{a one} {b 2}]" {
		t.Fatalf("tags = %s", got)
	}
	if err := e.UntagResource(ctx, clTestScope, arn, []string{"a", "never-there"}); err != nil {
		t.Fatal(err)
	}
	if got := list(); got != "[{b 2}]" {
		t.Fatalf("tags after untag = %s", got)
	}
	// The limit counts the merged result.
	err := e.TagResource(ctx, clTestScope, arn, clManyTags(50))
	clWantErr(t, err, apierr.InvalidParameter, "would have 51 tags")
	if err := e.TagResource(ctx, clTestScope, arn, clManyTags(49)); err != nil {
		t.Fatal(err)
	}
	// Tagging the default cluster's ARN creates it, as any use does.
	tags, err := e.ListTagsForResource(ctx, clTestScope, model.ClusterARN(clTestScope, "default"))
	if err != nil || len(tags) != 0 {
		t.Fatalf("default cluster tags = %v, %v", tags, err)
	}

	tests := []struct {
		name string
		run  func() error
		kind apierr.Kind
		msg  string
	}{
		{"not an arn", func() error { _, err := e.ListTagsForResource(ctx, clTestScope, "t"); return err }, apierr.InvalidParameter, "The ARN provided is invalid."},
		{"blank arn", func() error { _, err := e.ListTagsForResource(ctx, clTestScope, ""); return err }, apierr.InvalidParameter, "resourceArn can not be blank"},
		{"other service", func() error {
			_, err := e.ListTagsForResource(ctx, clTestScope, "arn:aws:sqs:us-east-1:000000000000:cluster/t")
			return err
		}, apierr.InvalidParameter, "The ARN provided is invalid."},
		{"unknown type", func() error {
			_, err := e.ListTagsForResource(ctx, clTestScope, "arn:aws:ecs:us-east-1:000000000000:widget/t")
			return err
		}, apierr.InvalidParameter, "The ARN provided is invalid."},
		{"missing cluster", func() error {
			return e.TagResource(ctx, clTestScope, model.ClusterARN(clTestScope, "nope"), []model.Tag{{Key: "a"}})
		}, apierr.ClusterNotFound, "Cluster not found."},
		{"other account", func() error {
			_, err := e.ListTagsForResource(ctx, clTestScope, "arn:aws:ecs:us-east-1:111111111111:cluster/t")
			return err
		}, apierr.ClusterNotFound, "Cluster not found."},
		{"no tags", func() error { return e.TagResource(ctx, clTestScope, arn, nil) }, apierr.InvalidParameter, "tags can not be empty"},
		{"no keys", func() error { return e.UntagResource(ctx, clTestScope, arn, nil) }, apierr.InvalidParameter, "tagKeys can not be empty"},
		{"untag aws key", func() error { return e.UntagResource(ctx, clTestScope, arn, []string{"aws:x"}) }, apierr.InvalidParameter, "reserved"},
		{"bad task definition arn", func() error {
			_, err := e.ListTagsForResource(ctx, clTestScope, "arn:aws:ecs:us-east-1:000000000000:task-definition/web")
			return err
		}, apierr.InvalidParameter, "The ARN provided is invalid."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { clWantErr(t, tt.run(), tt.kind, tt.msg) })
	}
}

func TestTaggedResourceDispatch(t *testing.T) {
	tests := []struct {
		arn, typ, id string
	}{
		{"arn:aws:ecs:us-east-1:000000000000:cluster/web", "cluster", "web"},
		{"arn:aws:ecs:us-east-1:000000000000:task-definition/web:3", "task-definition", "web:3"},
		{"arn:aws:ecs:eu-west-1:000000000000:task-definition/web:3", "task-definition", "web:3"},
	}
	for _, tt := range tests {
		r, err := taggedResource(clTestScope, tt.arn)
		if err != nil || r.Type != tt.typ || r.ID != tt.id {
			t.Errorf("taggedResource(%q) = %+v, %v", tt.arn, r, err)
		}
	}
}
