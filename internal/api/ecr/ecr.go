// Package ecr is the ECR service on the front door: wire shapes with AWS's member names, and
// handlers that convert them to and from the ops layer.
package ecr

import (
	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/ops"
)

// TargetPrefix is ECR's X-Amz-Target prefix.
const TargetPrefix = "AmazonEC2ContainerRegistry_V20150921"

type handler struct{ ops *ops.ECR }

// Service returns the ECR service for the front door.
func Service(o *ops.ECR) *api.Service {
	h := &handler{ops: o}
	return &api.Service{
		SigningName:  "ecr",
		TargetPrefix: TargetPrefix,
		Protocol:     api.JSON,
		ErrorCode:    errorCode,
		Operations: map[string]api.Operation{
			"CreateRepository":      api.JSONOp(h.createRepository),
			"DescribeRepositories":  api.JSONOp(h.describeRepositories),
			"DeleteRepository":      api.JSONOp(h.deleteRepository),
			"ListImages":            api.JSONOp(h.listImages),
			"DescribeImages":        api.JSONOp(h.describeImages),
			"BatchDeleteImage":      api.JSONOp(h.batchDeleteImage),
			"GetAuthorizationToken": api.JSONOp(h.getAuthorizationToken),
		},
	}
}

// errorCode names error kinds as ECR does.
func errorCode(k apierr.Kind) string {
	switch k {
	case apierr.InvalidParameter, apierr.MissingParameter, apierr.Client:
		return "InvalidParameterException"
	case apierr.RepositoryNotFound:
		return "RepositoryNotFoundException"
	case apierr.RepositoryAlreadyExists:
		return "RepositoryAlreadyExistsException"
	case apierr.RepositoryNotEmpty:
		return "RepositoryNotEmptyException"
	case apierr.ImageNotFound:
		return "ImageNotFoundException"
	case apierr.LimitExceeded:
		return "LimitExceededException"
	case apierr.Internal:
		return "ServerException"
	}
	return ""
}
