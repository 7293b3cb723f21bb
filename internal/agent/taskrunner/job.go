package taskrunner

import "context"

// job is work a start runs beside its other steps: begun once, its result taken once.
type job[T any] struct {
	ch     chan T
	cancel context.CancelFunc
	begun  bool
}

// start begins work under a context of its own, unless the job was begun before.
func (j *job[T]) start(ctx context.Context, work func(context.Context) T) {
	if j.begun {
		return
	}
	j.begun = true
	ctx, j.cancel = context.WithCancel(ctx)
	ch := make(chan T, 1)
	j.ch = ch
	go func() { ch <- work(ctx) }()
}

// take waits for the result; false when the job was never begun or its result was taken.
func (j *job[T]) take() (T, bool) {
	if j.ch == nil {
		var zero T
		return zero, false
	}
	v := <-j.ch
	j.cancel()
	j.ch = nil
	return v, true
}
