// Package logs is the CloudWatch Logs service on the front door: wire shapes with AWS's member
// names, and handlers that convert them to and from the ops layer.
package logs

import (
	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/ops"
)

// TargetPrefix is CloudWatch Logs' X-Amz-Target prefix.
const TargetPrefix = "Logs_20140328"

type handler struct{ ops *ops.Logs }

// Service returns the CloudWatch Logs service for the front door.
func Service(o *ops.Logs) *api.Service {
	h := &handler{ops: o}
	return &api.Service{
		SigningName:  "logs",
		TargetPrefix: TargetPrefix,
		Protocol:     api.JSON,
		ErrorCode:    errorCode,
		Operations: map[string]api.Operation{
			"CreateLogGroup":        api.JSONOp(h.createLogGroup),
			"DeleteLogGroup":        api.JSONOp(h.deleteLogGroup),
			"DescribeLogGroups":     api.JSONOp(h.describeLogGroups),
			"PutRetentionPolicy":    api.JSONOp(h.putRetentionPolicy),
			"DeleteRetentionPolicy": api.JSONOp(h.deleteRetentionPolicy),
			"CreateLogStream":       api.JSONOp(h.createLogStream),
			"DeleteLogStream":       api.JSONOp(h.deleteLogStream),
			"DescribeLogStreams":    api.JSONOp(h.describeLogStreams),
			"PutLogEvents":          api.JSONOp(h.putLogEvents),
			"GetLogEvents":          api.JSONOp(h.getLogEvents),
			"FilterLogEvents":       api.JSONOp(h.filterLogEvents),
			"TagLogGroup":           api.JSONOp(h.tagLogGroup),
			"UntagLogGroup":         api.JSONOp(h.untagLogGroup),
			"ListTagsLogGroup":      api.JSONOp(h.listTagsLogGroup),
			"TagResource":           api.JSONOp(h.tagResource),
			"UntagResource":         api.JSONOp(h.untagResource),
			"ListTagsForResource":   api.JSONOp(h.listTagsForResource),
		},
	}
}

// errorCode names error kinds as CloudWatch Logs does.
func errorCode(k apierr.Kind) string {
	switch k {
	case apierr.InvalidParameter, apierr.MissingParameter, apierr.Client, apierr.Unsupported:
		return "InvalidParameterException"
	case apierr.NotFound:
		return "ResourceNotFoundException"
	case apierr.AlreadyExists:
		return "ResourceAlreadyExistsException"
	case apierr.Conflict:
		return "OperationAbortedException"
	case apierr.LimitExceeded:
		return "LimitExceededException"
	case apierr.AccessDenied:
		return "AccessDeniedException"
	case apierr.Throttled:
		return "ThrottlingException"
	case apierr.Internal:
		return "ServiceUnavailableException"
	}
	return ""
}

type empty struct{}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func optional[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

// groupName is the group a request names by logGroupName or logGroupIdentifier (name or ARN);
// naming it both ways is refused, as AWS does.
func groupName(name, identifier *string) (string, error) {
	if name != nil && identifier != nil {
		return "", apierr.New(apierr.InvalidParameter, "LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	}
	if name != nil {
		return *name, nil
	}
	id := deref(identifier)
	const marker = ":log-group:"
	for i := 0; i+len(marker) <= len(id); i++ {
		if id[i:i+len(marker)] == marker {
			rest := id[i+len(marker):]
			if n := len(rest); n >= 2 && rest[n-2:] == ":*" {
				rest = rest[:n-2]
			}
			return rest, nil
		}
	}
	return id, nil
}
