package ops

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// ServiceTaskInput is one task the service controller launches for a deployment.
type ServiceTaskInput struct {
	Service    model.Service
	Deployment model.Deployment
	// Token is the launch's client token, derived from the service, deployment and sequence.
	Token string
	// Subnets, the preferred first: the task goes to the first with a free address.
	Subnets []string
}

// LaunchServiceTask runs one task of a service's deployment through RunTask's launch path
// (placement, ENI, the atomic launch with its client token): startedBy is the deployment id,
// group is service:<name>, tags as the service propagates them. When no host or subnet has
// room, reason says why, as ECS words it in the service's events, and nothing is launched.
// A retry with the same token answers the task the first call launched.
func (e *ECS) LaunchServiceTask(ctx context.Context, in ServiceTaskInput) (model.Task, string, error) {
	svc, dep := in.Service, in.Deployment
	sc := svc.Scope
	cl, err := e.Cluster(ctx, sc, svc.Cluster)
	if err != nil {
		return model.Task{}, "", err
	}
	run := RunTaskInput{Cluster: cl.Name, TaskDefinition: dep.TaskDefinition, LaunchType: dep.LaunchType,
		CapacityProviderStrategy: dep.CapacityProviderStrategy, StartedBy: dep.ID, Group: svc.Group(),
		ClientToken: in.Token, EnableExecuteCommand: svc.EnableExecuteCommand, PlatformVersion: dep.PlatformVersion}
	if svc.PropagateTags == propagateTaskDef {
		run.PropagateTags = propagateTaskDef
	}
	if svc.PropagateTags == propagateService {
		run.Tags = append(run.Tags, svc.Tags...)
	}
	if svc.EnableECSManagedTags {
		run.Tags = append(run.Tags, model.Tag{Key: "aws:ecs:serviceName", Value: svc.Name},
			model.Tag{Key: "aws:ecs:clusterName", Value: cl.Name})
	}
	fp := fingerprint(run)
	if ts, fs, ok, err := e.replay(ctx, sc, cl.Name, in.Token, fp); ok || err != nil {
		return launched(ts, fs, err)
	}
	td, err := e.TaskDefinition(ctx, sc, dep.TaskDefinition)
	if err != nil {
		return model.Task{}, "", err
	}
	var net *netRequest
	if dep.Network != nil {
		n := *dep.Network
		if len(in.Subnets) > 0 {
			n.Subnets = in.Subnets[:1]
		}
		run.Network = &n
		req, err := e.checkAwsVpc(ctx, sc, n)
		if err != nil {
			return model.Task{}, err.Error(), nil
		}
		net = &req
	}
	tasks, err := e.newTasks(ctx, cl, td, run)
	if err != nil {
		return model.Task{}, "", err
	}
	for attempt := range maxLaunchAttempts {
		launch, failures, err := e.planLaunch(ctx, td, tasks, net)
		if err != nil {
			return model.Task{}, "", err
		}
		if len(launch.Tasks) == 0 && net != nil && len(net.subnets) < len(dep.Network.Subnets) && len(failures) > 0 && failures[0].Reason == failureENI {
			// The preferred subnet is full: any of the deployment's subnets will do.
			req, err := e.checkAwsVpc(ctx, sc, *dep.Network)
			if err != nil {
				return model.Task{}, err.Error(), nil
			}
			net = &req
			continue
		}
		if len(launch.Tasks) == 0 {
			return model.Task{}, placementReason(failures), nil
		}
		launch.Token = &store.ClientToken{Scope: sc, Cluster: cl.Name, Token: in.Token, Fingerprint: fp,
			TaskIDs: taskIDs(launch.Tasks), Failures: failuresToStore(failures), CreatedAt: e.now().UTC()}
		_, err = e.store.Tasks().Launch(ctx, launch)
		if err == nil {
			return launch.Tasks[0], "", nil
		}
		if !errors.Is(err, apierr.Conflict) || ctx.Err() != nil {
			return model.Task{}, "", fmt.Errorf("launch service task: %w", err)
		}
		if ts, fs, ok, err := e.replay(ctx, sc, cl.Name, in.Token, fp); ok || err != nil {
			return launched(ts, fs, err)
		}
		if err := launchBackoff(ctx, attempt); err != nil {
			return model.Task{}, "", err
		}
	}
	return model.Task{}, "", errTooManyLaunchTries
}

func launched(ts []model.Task, fs []TaskFailure, err error) (model.Task, string, error) {
	if err != nil {
		return model.Task{}, "", err
	}
	if len(ts) > 0 {
		return ts[0], "", nil
	}
	return model.Task{}, placementReason(fs), nil
}

// placementReason words placement failures for a service event.
func placementReason(fs []TaskFailure) string {
	if len(fs) == 0 {
		return "No Container Instances were found in your cluster."
	}
	var parts []string
	for _, f := range fs {
		switch f.Reason {
		case "AGENT":
			parts = append(parts, "No Container Instances were found in your cluster.")
		case "RESOURCE:CPU", "RESOURCE:MEMORY", "RESOURCE:ENI":
			parts = append(parts, cmp.Or(f.Detail, "Not enough capacity")+" ("+f.Reason+").")
		default:
			parts = append(parts, strings.TrimSpace(f.Reason+" "+f.Detail))
		}
	}
	return strings.Join(parts, " ")
}

// StopServiceTask asks a service's task to stop as the service scheduler does: stopCode
// ServiceSchedulerInitiated and the given reason. A task already stopping stays as it is.
func (e *ECS) StopServiceTask(ctx context.Context, sc model.Scope, cluster, taskID, reason string) error {
	cur, err := e.store.Tasks().Get(ctx, sc, cluster, taskID)
	if errors.Is(err, apierr.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	orphan, err := e.hostGone(ctx, cur.Value.HostID)
	if err != nil {
		return err
	}
	now := e.now().UTC()
	_, err = e.store.Tasks().Mutate(ctx, sc, cluster, taskID, func(t *model.Task) error {
		if t.DesiredStatus == model.TaskStopped {
			return nil
		}
		t.DesiredStatus = model.TaskStopped
		t.StopCode = cmp.Or(t.StopCode, model.StopServiceSchedulerInit)
		t.StoppedReason = cmp.Or(t.StoppedReason, reason)
		if t.Times.StoppingAt.IsZero() {
			t.Times.StoppingAt = now
		}
		if orphan && t.LastStatus != model.TaskStopped {
			t.LastStatus = model.TaskStopped
			t.Times.StoppedAt = now
			t.Times.ExecutionStoppedAt = cmp.Or(t.Times.ExecutionStoppedAt, now)
		}
		t.Version++
		return nil
	})
	if errors.Is(err, apierr.NotFound) {
		return nil
	}
	return err
}
