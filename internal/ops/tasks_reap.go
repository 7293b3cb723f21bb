package ops

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// DefaultStoppedTaskRetention is how long a stopped task stays visible: on AWS, stopped tasks
// appear in DescribeTasks and ListTasks for at least an hour after they stop.
const DefaultStoppedTaskRetention = time.Hour

// reapPage is how many records one read of a sweep takes.
const reapPage = 500

// Reaped counts what one sweep deleted.
type Reaped struct {
	Tasks, Tokens int
}

// ReapStopped deletes the tasks that have been STOPPED for longer than retention, and the RunTask
// client tokens older than retention whose tasks are all gone. Everything a task held (host
// capacity, its ENI and address) was released when it stopped, so a stopped task's record is
// all there is to delete; without this, every list of a cluster's tasks (services, cluster
// counts, ListTasks) would read every task the cluster ever ran. A record that changed since it
// was read is left for the next sweep.
func (e *ECS) ReapStopped(ctx context.Context, retention time.Duration) (Reaped, error) {
	var n Reaped
	cutoff := e.now().Add(-retention)
	after := ""
	for {
		page, err := e.store.Tasks().ListAll(ctx, after, reapPage)
		if err != nil {
			return n, err
		}
		for i, it := range page.Items {
			after = page.Keys[i]
			if !stoppedBefore(it.Value, cutoff) {
				continue
			}
			switch err := e.store.Tasks().Forget(ctx, page.Keys[i], it.Revision); {
			case err == nil:
				n.Tasks++
			case !errors.Is(err, apierr.Conflict):
				return n, err
			}
		}
		if !page.More || len(page.Items) == 0 {
			break
		}
	}
	after = ""
	for {
		page, err := e.store.Tasks().Tokens(ctx, after, reapPage)
		if err != nil {
			return n, err
		}
		for i, it := range page.Items {
			after = page.Keys[i]
			tok := it.Value
			if !tok.CreatedAt.Before(cutoff) {
				continue
			}
			if gone, err := e.tasksGone(ctx, tok); err != nil || !gone {
				if err != nil {
					return n, err
				}
				continue
			}
			switch err := e.store.Tasks().ForgetToken(ctx, page.Keys[i], it.Revision); {
			case err == nil:
				n.Tokens++
			case !errors.Is(err, apierr.Conflict):
				return n, err
			}
		}
		if !page.More || len(page.Items) == 0 {
			return n, nil
		}
	}
}

// stoppedBefore reports whether t is STOPPED and stopped before cutoff.
func stoppedBefore(t model.Task, cutoff time.Time) bool {
	if t.LastStatus != model.TaskStopped {
		return false
	}
	at := cmp.Or(t.Times.StoppedAt, t.Times.ExecutionStoppedAt, t.Times.CreatedAt)
	return at.Before(cutoff)
}

// tasksGone reports whether none of the tasks a client token made still exists: until then a
// retry must answer them, not run new ones.
func (e *ECS) tasksGone(ctx context.Context, tok store.ClientToken) (bool, error) {
	got, err := e.store.Tasks().GetMany(ctx, tok.Scope, tok.Cluster, tok.TaskIDs)
	if err != nil {
		return false, err
	}
	return !slices.ContainsFunc(got, func(v *store.Versioned[model.Task]) bool { return v != nil }), nil
}
