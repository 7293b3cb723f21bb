package taskrunner

import (
	"context"
	"errors"
	"time"

	"github.com/gantry-dev/gantry/internal/image"
	"github.com/gantry-dev/gantry/internal/model"
)

// fetched is what a start's first steps produce beside the network's setup: the containers'
// secrets, then their images. Making it touches no runner state; pending applies it.
type fetched struct {
	secrets    map[string]containerSecrets
	secretsErr error
	// imgs holds each container's image; on a failed pull, failed names the container and
	// reason says why, in ECS's words.
	imgs                         map[string]image.Image
	failed, reason               string
	pullStartedAt, pullStoppedAt time.Time
}

// startFetch begins resolving secrets and pulling images, once: neither needs the task's network
// (gantry pulls on the host's), so they run while it is set up.
func (r *Runner) startFetch(ctx context.Context) { r.fetch.start(ctx, r.fetchAll) }

// errFetchTaken answers an await of a fetch already taken: the runner keeps no secret values.
var errFetchTaken = errors.New("the task's secrets and images were already taken")

// awaitFetch waits for startFetch's work and hands it over, once.
func (r *Runner) awaitFetch() fetched {
	f, ok := r.fetch.take()
	if !ok {
		return fetched{secretsErr: errFetchTaken}
	}
	return f
}

func (r *Runner) fetchAll(ctx context.Context) fetched {
	var f fetched
	if f.secrets, f.secretsErr = r.resolveSecrets(ctx); f.secretsErr != nil {
		return f
	}
	f.pullStartedAt = r.now()
	f.imgs, f.failed, f.reason = r.pullImages(ctx)
	if f.failed == "" {
		f.pullStoppedAt = r.now()
	}
	return f
}

// pullImages fetches every container's image once per reference. A failure is ECS's
// CannotPullContainerError (or the registry auth's reason) for the first container that has it.
func (r *Runner) pullImages(ctx context.Context) (imgs map[string]image.Image, failed, reason string) {
	byRef := map[string]image.Image{}
	imgs = map[string]image.Image{}
	tokens := map[string]bool{} // registry auth, checked once per region
	for _, c := range r.containers {
		ref := image.Resolve(c.def.Image, r.cfg.LocalRegistryHost)
		img, ok := byRef[ref]
		if !ok {
			// As the execution role, with gantry server --iam enforce.
			if reason := r.authorizePull(ctx, c.def.Image, tokens); reason != "" {
				return nil, c.def.Name, reason
			}
			var err error
			if img, err = r.cfg.Puller.Pull(ctx, ref, image.PullOptions{}); err != nil {
				return nil, c.def.Name, "CannotPullContainerError: " + err.Error()
			}
			byRef[ref] = img
		}
		imgs[c.def.Name] = img
	}
	return imgs, "", ""
}

// applyPull records the pull's times and each container's image, reporting them; a failed pull
// stops the task as ECS does, unless the task is stopping anyway.
func (r *Runner) applyPull(sc *scope, f fetched) (map[string]image.Image, error) {
	r.times.PullStartedAt = f.pullStartedAt
	if f.failed != "" {
		r.report(sc.ctx)
		if sc.stop.Err() == nil {
			if c := r.container(f.failed); c != nil {
				c.reason = f.reason
			}
			r.fail(model.StopTaskFailedToStart, f.reason)
		}
		return nil, errors.New(f.reason)
	}
	for _, c := range r.containers {
		img := f.imgs[c.def.Name]
		c.digest, c.stopSignal = imageDigest(img), img.Config.StopSignal
	}
	r.times.PullStoppedAt = f.pullStoppedAt
	r.report(sc.ctx)
	return f.imgs, nil
}
