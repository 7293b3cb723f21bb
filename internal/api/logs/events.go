package logs

import (
	"context"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// InputLogEvent is an event PutLogEvents takes.
type InputLogEvent struct {
	Timestamp *int64  `json:"timestamp"`
	Message   *string `json:"message"`
}

// OutputLogEvent is an event GetLogEvents answers.
type OutputLogEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

// FilteredLogEvent is an event FilterLogEvents answers.
type FilteredLogEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

// SearchedLogStream is a stream FilterLogEvents searched.
type SearchedLogStream struct {
	LogStreamName      string `json:"logStreamName"`
	SearchedCompletely bool   `json:"searchedCompletely"`
}

// RejectedLogEventsInfo says which events of a PutLogEvents batch were not stored.
type RejectedLogEventsInfo struct {
	TooNewLogEventStartIndex *int `json:"tooNewLogEventStartIndex,omitempty"`
	TooOldLogEventEndIndex   *int `json:"tooOldLogEventEndIndex,omitempty"`
	ExpiredLogEventEndIndex  *int `json:"expiredLogEventEndIndex,omitempty"`
}

type putLogEventsInput struct {
	LogGroupName  *string         `json:"logGroupName"`
	LogStreamName *string         `json:"logStreamName"`
	LogEvents     []InputLogEvent `json:"logEvents"`
	SequenceToken *string         `json:"sequenceToken"` // ignored, as AWS now does
}

type putLogEventsOutput struct {
	RejectedLogEventsInfo *RejectedLogEventsInfo `json:"rejectedLogEventsInfo,omitempty"`
}

func (h *handler) putLogEvents(ctx context.Context, sc model.Scope, in *putLogEventsInput) (*putLogEventsOutput, error) {
	evs := make([]ops.InputLogEvent, len(in.LogEvents))
	for i, e := range in.LogEvents {
		evs[i].Message = deref(e.Message)
		if e.Timestamp != nil {
			evs[i].Timestamp = *e.Timestamp
		}
	}
	rej, err := h.ops.PutLogEvents(ctx, sc, deref(in.LogGroupName), deref(in.LogStreamName), evs)
	if err != nil {
		return nil, err
	}
	out := &putLogEventsOutput{}
	if rej != nil {
		out.RejectedLogEventsInfo = &RejectedLogEventsInfo{TooNewLogEventStartIndex: rej.TooNewStartIndex,
			TooOldLogEventEndIndex: rej.TooOldEndIndex, ExpiredLogEventEndIndex: rej.ExpiredEndIndex}
	}
	return out, nil
}

type getLogEventsInput struct {
	LogGroupName       *string `json:"logGroupName"`
	LogGroupIdentifier *string `json:"logGroupIdentifier"`
	LogStreamName      *string `json:"logStreamName"`
	StartTime          *int64  `json:"startTime"`
	EndTime            *int64  `json:"endTime"`
	NextToken          *string `json:"nextToken"`
	Limit              *int    `json:"limit"`
	StartFromHead      *bool   `json:"startFromHead"`
}

type getLogEventsOutput struct {
	Events            []OutputLogEvent `json:"events"`
	NextForwardToken  string           `json:"nextForwardToken"`
	NextBackwardToken string           `json:"nextBackwardToken"`
}

func (h *handler) getLogEvents(ctx context.Context, sc model.Scope, in *getLogEventsInput) (*getLogEventsOutput, error) {
	q := ops.GetLogEventsQuery{StartTime: in.StartTime, EndTime: in.EndTime, Limit: in.Limit, Token: deref(in.NextToken)}
	if in.StartFromHead != nil {
		q.StartFromHead = *in.StartFromHead
	}
	group, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	res, err := h.ops.GetLogEvents(ctx, sc, group, deref(in.LogStreamName), q)
	if err != nil {
		return nil, err
	}
	out := &getLogEventsOutput{Events: make([]OutputLogEvent, len(res.Events)), NextForwardToken: res.ForwardToken, NextBackwardToken: res.BackwardToken}
	for i, e := range res.Events {
		out.Events[i] = OutputLogEvent{Timestamp: e.Timestamp, Message: e.Message, IngestionTime: e.IngestionTime}
	}
	return out, nil
}

type filterLogEventsInput struct {
	LogGroupName        *string  `json:"logGroupName"`
	LogGroupIdentifier  *string  `json:"logGroupIdentifier"`
	LogStreamNames      []string `json:"logStreamNames"`
	LogStreamNamePrefix *string  `json:"logStreamNamePrefix"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	FilterPattern       *string  `json:"filterPattern"`
	NextToken           *string  `json:"nextToken"`
	Limit               *int     `json:"limit"`
	Interleaved         *bool    `json:"interleaved"` // deprecated; ignored
}

type filterLogEventsOutput struct {
	Events             []FilteredLogEvent  `json:"events"`
	SearchedLogStreams []SearchedLogStream `json:"searchedLogStreams"`
	NextToken          *string             `json:"nextToken,omitempty"`
}

func (h *handler) filterLogEvents(ctx context.Context, sc model.Scope, in *filterLogEventsInput) (*filterLogEventsOutput, error) {
	group, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	res, err := h.ops.FilterLogEvents(ctx, sc, group, ops.FilterLogEventsQuery{
		StreamNames: in.LogStreamNames, StreamPrefix: deref(in.LogStreamNamePrefix), StartTime: in.StartTime, EndTime: in.EndTime,
		Pattern: deref(in.FilterPattern), Limit: in.Limit, Token: deref(in.NextToken)})
	if err != nil {
		return nil, err
	}
	out := &filterLogEventsOutput{Events: make([]FilteredLogEvent, len(res.Events)), SearchedLogStreams: make([]SearchedLogStream, len(res.Searched)),
		NextToken: optional(res.Token)}
	for i, e := range res.Events {
		out.Events[i] = FilteredLogEvent{LogStreamName: e.Stream, Timestamp: e.Timestamp, Message: e.Message, IngestionTime: e.IngestionTime, EventID: e.EventID}
	}
	for i, s := range res.Searched {
		out.SearchedLogStreams[i] = SearchedLogStream{LogStreamName: s, SearchedCompletely: true}
	}
	return out, nil
}
