package logs

import (
	"context"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// LogStream is CloudWatch Logs' log stream shape.
type LogStream struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp *int64 `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  *int64 `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   *int64 `json:"lastIngestionTime,omitempty"`
	// UploadSequenceToken is a constant: PutLogEvents ignores sequence tokens, as AWS now does.
	UploadSequenceToken string `json:"uploadSequenceToken"`
	Arn                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

type streamInput struct {
	LogGroupName  *string `json:"logGroupName"`
	LogStreamName *string `json:"logStreamName"`
}

func (h *handler) createLogStream(ctx context.Context, sc model.Scope, in *streamInput) (*empty, error) {
	return &empty{}, h.ops.CreateLogStream(ctx, sc, deref(in.LogGroupName), deref(in.LogStreamName))
}

func (h *handler) deleteLogStream(ctx context.Context, sc model.Scope, in *streamInput) (*empty, error) {
	return &empty{}, h.ops.DeleteLogStream(ctx, sc, deref(in.LogGroupName), deref(in.LogStreamName))
}

type describeLogStreamsInput struct {
	LogGroupName        *string `json:"logGroupName"`
	LogGroupIdentifier  *string `json:"logGroupIdentifier"`
	LogStreamNamePrefix *string `json:"logStreamNamePrefix"`
	OrderBy             *string `json:"orderBy"`
	Descending          bool    `json:"descending"`
	NextToken           *string `json:"nextToken"`
	Limit               *int    `json:"limit"`
}

type describeLogStreamsOutput struct {
	LogStreams []LogStream `json:"logStreams"`
	NextToken  *string     `json:"nextToken,omitempty"`
}

func (h *handler) describeLogStreams(ctx context.Context, sc model.Scope, in *describeLogStreamsInput) (*describeLogStreamsOutput, error) {
	group, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	ss, next, err := h.ops.DescribeLogStreams(ctx, sc, group, ops.LogStreamQuery{
		Prefix: deref(in.LogStreamNamePrefix), OrderBy: deref(in.OrderBy), Descending: in.Descending,
		Limit: in.Limit, Token: deref(in.NextToken)})
	if err != nil {
		return nil, err
	}
	out := &describeLogStreamsOutput{LogStreams: make([]LogStream, len(ss)), NextToken: optional(next)}
	for i, s := range ss {
		out.LogStreams[i] = LogStream{LogStreamName: s.Name, CreationTime: s.CreatedAt, FirstEventTimestamp: optional(s.FirstEventTime),
			LastEventTimestamp: optional(s.LastEventTime), LastIngestionTime: optional(s.LastIngestionTime),
			UploadSequenceToken: "1", Arn: s.ARN, StoredBytes: s.StoredBytes}
	}
	return out, nil
}
