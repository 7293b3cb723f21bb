package logs

import (
	"context"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// LogGroup is CloudWatch Logs' log group shape.
type LogGroup struct {
	LogGroupName    string `json:"logGroupName"`
	CreationTime    int64  `json:"creationTime"`
	RetentionInDays *int   `json:"retentionInDays,omitempty"`
	// MetricFilterCount is always 0: metric filters are not served yet.
	MetricFilterCount *int    `json:"metricFilterCount,omitempty"`
	Arn               string  `json:"arn"`
	StoredBytes       *int64  `json:"storedBytes,omitempty"`
	KmsKeyID          *string `json:"kmsKeyId,omitempty"`
	LogGroupClass     string  `json:"logGroupClass,omitempty"`
	LogGroupArn       string  `json:"logGroupArn,omitempty"`
}

// logGroupToWire converts a group; brief is DescribeLogGroups with logGroupNamePattern, which
// answers only arn, creationTime and logGroupName, as AWS documents.
func logGroupToWire(g ops.LogGroup, brief bool) LogGroup {
	out := LogGroup{LogGroupName: g.Name, CreationTime: g.CreatedAt.UnixMilli(), Arn: g.ARN}
	if brief {
		return out
	}
	zero := 0
	out.RetentionInDays, out.MetricFilterCount, out.StoredBytes = optional(g.RetentionDays), &zero, &g.StoredBytes
	out.KmsKeyID, out.LogGroupClass, out.LogGroupArn = optional(g.KMSKeyID), g.Class, g.ARN[:len(g.ARN)-2]
	return out
}

type createLogGroupInput struct {
	LogGroupName  *string           `json:"logGroupName"`
	KmsKeyID      *string           `json:"kmsKeyId"`
	Tags          map[string]string `json:"tags"`
	LogGroupClass *string           `json:"logGroupClass"`
}

func (h *handler) createLogGroup(ctx context.Context, sc model.Scope, in *createLogGroupInput) (*empty, error) {
	err := h.ops.CreateLogGroup(ctx, sc, deref(in.LogGroupName), ops.LogGroupSettings{
		KMSKeyID: deref(in.KmsKeyID), Class: deref(in.LogGroupClass), Tags: in.Tags})
	return &empty{}, err
}

type logGroupNameInput struct {
	LogGroupName *string `json:"logGroupName"`
}

func (h *handler) deleteLogGroup(ctx context.Context, sc model.Scope, in *logGroupNameInput) (*empty, error) {
	return &empty{}, h.ops.DeleteLogGroup(ctx, sc, deref(in.LogGroupName))
}

type describeLogGroupsInput struct {
	LogGroupNamePrefix  *string `json:"logGroupNamePrefix"`
	LogGroupNamePattern *string `json:"logGroupNamePattern"`
	LogGroupClass       *string `json:"logGroupClass"`
	NextToken           *string `json:"nextToken"`
	Limit               *int    `json:"limit"`
}

type describeLogGroupsOutput struct {
	LogGroups []LogGroup `json:"logGroups"`
	NextToken *string    `json:"nextToken,omitempty"`
}

func (h *handler) describeLogGroups(ctx context.Context, sc model.Scope, in *describeLogGroupsInput) (*describeLogGroupsOutput, error) {
	gs, next, err := h.ops.DescribeLogGroups(ctx, sc, ops.LogGroupQuery{Prefix: deref(in.LogGroupNamePrefix),
		Pattern: deref(in.LogGroupNamePattern), Class: deref(in.LogGroupClass), Limit: in.Limit, Token: deref(in.NextToken)})
	if err != nil {
		return nil, err
	}
	out := &describeLogGroupsOutput{LogGroups: make([]LogGroup, len(gs)), NextToken: optional(next)}
	for i, g := range gs {
		out.LogGroups[i] = logGroupToWire(g, in.LogGroupNamePattern != nil && *in.LogGroupNamePattern != "")
	}
	return out, nil
}

type putRetentionPolicyInput struct {
	LogGroupName    *string `json:"logGroupName"`
	RetentionInDays *int    `json:"retentionInDays"`
}

func (h *handler) putRetentionPolicy(ctx context.Context, sc model.Scope, in *putRetentionPolicyInput) (*empty, error) {
	days := 0
	if in.RetentionInDays != nil {
		days = *in.RetentionInDays
	}
	return &empty{}, h.ops.PutRetentionPolicy(ctx, sc, deref(in.LogGroupName), days)
}

func (h *handler) deleteRetentionPolicy(ctx context.Context, sc model.Scope, in *logGroupNameInput) (*empty, error) {
	return &empty{}, h.ops.DeleteRetentionPolicy(ctx, sc, deref(in.LogGroupName))
}

type tagLogGroupInput struct {
	LogGroupName *string           `json:"logGroupName"`
	Tags         map[string]string `json:"tags"`
}

func (h *handler) tagLogGroup(ctx context.Context, sc model.Scope, in *tagLogGroupInput) (*empty, error) {
	return &empty{}, h.ops.TagLogGroup(ctx, sc, deref(in.LogGroupName), in.Tags)
}

type untagLogGroupInput struct {
	LogGroupName *string  `json:"logGroupName"`
	Tags         []string `json:"tags"`
}

func (h *handler) untagLogGroup(ctx context.Context, sc model.Scope, in *untagLogGroupInput) (*empty, error) {
	return &empty{}, h.ops.UntagLogGroup(ctx, sc, deref(in.LogGroupName), in.Tags)
}

type tagsOutput struct {
	Tags map[string]string `json:"tags"`
}

func (h *handler) listTagsLogGroup(ctx context.Context, sc model.Scope, in *logGroupNameInput) (*tagsOutput, error) {
	tags, err := h.ops.LogGroupTags(ctx, sc, deref(in.LogGroupName))
	if err != nil {
		return nil, err
	}
	return &tagsOutput{Tags: tags}, nil
}

type tagResourceInput struct {
	ResourceArn *string           `json:"resourceArn"`
	Tags        map[string]string `json:"tags"`
}

func (h *handler) tagResource(ctx context.Context, sc model.Scope, in *tagResourceInput) (*empty, error) {
	return &empty{}, h.ops.TagResource(ctx, sc, deref(in.ResourceArn), in.Tags)
}

type untagResourceInput struct {
	ResourceArn *string  `json:"resourceArn"`
	TagKeys     []string `json:"tagKeys"`
}

func (h *handler) untagResource(ctx context.Context, sc model.Scope, in *untagResourceInput) (*empty, error) {
	return &empty{}, h.ops.UntagResource(ctx, sc, deref(in.ResourceArn), in.TagKeys)
}

type resourceArnInput struct {
	ResourceArn *string `json:"resourceArn"`
}

func (h *handler) listTagsForResource(ctx context.Context, sc model.Scope, in *resourceArnInput) (*tagsOutput, error) {
	tags, err := h.ops.ListTagsForResource(ctx, sc, deref(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	return &tagsOutput{Tags: tags}, nil
}
