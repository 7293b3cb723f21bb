// Package ecs is the ECS service on the front door: wire shapes with AWS's member names, and
// handlers that convert them to and from the ops layer.
package ecs

import (
	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/ops"
)

// TargetPrefix is ECS's X-Amz-Target prefix.
const TargetPrefix = "AmazonEC2ContainerServiceV20141113"

type handler struct{ ops *ops.ECS }

// Service returns the ECS service for the front door.
func Service(o *ops.ECS) *api.Service {
	h := &handler{ops: o}
	return &api.Service{
		SigningName:  "ecs",
		TargetPrefix: TargetPrefix,
		Protocol:     api.JSON,
		ErrorCode:    errorCode,
		Operations: map[string]api.Operation{
			"CreateCluster":               api.JSONOp(h.createCluster),
			"DescribeClusters":            api.JSONOp(h.describeClusters),
			"ListClusters":                api.JSONOp(h.listClusters),
			"DeleteCluster":               api.JSONOp(h.deleteCluster),
			"UpdateCluster":               api.JSONOp(h.updateCluster),
			"UpdateClusterSettings":       api.JSONOp(h.updateClusterSettings),
			"PutClusterCapacityProviders": api.JSONOp(h.putClusterCapacityProviders),
			"DescribeCapacityProviders":   api.JSONOp(h.describeCapacityProviders),
			"TagResource":                 api.JSONOp(h.tagResource),
			"UntagResource":               api.JSONOp(h.untagResource),
			"ListTagsForResource":         api.JSONOp(h.listTagsForResource),
			"RegisterTaskDefinition":      api.JSONOp(h.registerTaskDefinition),
			"DescribeTaskDefinition":      api.JSONOp(h.describeTaskDefinition),
			"ListTaskDefinitions":         api.JSONOp(h.listTaskDefinitions),
			"ListTaskDefinitionFamilies":  api.JSONOp(h.listTaskDefinitionFamilies),
			"DeregisterTaskDefinition":    api.JSONOp(h.deregisterTaskDefinition),
			"DeleteTaskDefinitions":       api.JSONOp(h.deleteTaskDefinitions),
			"RunTask":                     api.JSONOp(h.runTask),
			"StopTask":                    api.JSONOp(h.stopTask),
			"DescribeTasks":               api.JSONOp(h.describeTasks),
			"ListTasks":                   api.JSONOp(h.listTasks),
			"CreateService":               api.JSONOp(h.createService),
			"UpdateService":               api.JSONOp(h.updateService),
			"DescribeServices":            api.JSONOp(h.describeServices),
			"ListServices":                api.JSONOp(h.listServices),
			"DeleteService":               api.JSONOp(h.deleteService),
		},
	}
}

// errorCode names error kinds as ECS does.
func errorCode(k apierr.Kind) string {
	switch k {
	case apierr.InvalidParameter, apierr.MissingParameter, apierr.AlreadyExists:
		return "InvalidParameterException"
	case apierr.Client, apierr.NotFound, apierr.Conflict, apierr.ResourceInUse:
		return "ClientException"
	case apierr.ClusterNotFound:
		return "ClusterNotFoundException"
	case apierr.ServiceNotFound:
		return "ServiceNotFoundException"
	case apierr.ServiceNotActive:
		return "ServiceNotActiveException"
	case apierr.LimitExceeded:
		return "LimitExceededException"
	case apierr.AccessDenied:
		return "AccessDeniedException"
	case apierr.Unsupported:
		return "UnsupportedFeatureException"
	case apierr.TokenReused:
		return "ConflictException"
	case apierr.Internal, apierr.Unavailable:
		return "ServerException"
	case apierr.ClusterContainsServices:
		return "ClusterContainsServicesException"
	case apierr.ClusterContainsTasks:
		return "ClusterContainsTasksException"
	case apierr.UpdateInProgress:
		return "UpdateInProgressException"
	}
	return ""
}
