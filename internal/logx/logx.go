// Package logx sets up slog and carries loggers and shared attribute keys through contexts.
package logx

import (
	"context"
	"io"
	"log/slog"
)

// Attribute keys shared by every component, so one grep finds a task or request everywhere.
const (
	KeyComponent = "component"
	KeyRequestID = "request_id"
	KeyOperation = "operation"
	KeyService   = "service"
	KeyCluster   = "cluster"
	KeyTaskARN   = "task_arn"
	KeyHostID    = "host_id"
	KeyError     = "err"
)

// New returns a text logger at the given level writing to w.
func New(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// Discard returns a logger that drops everything, for tests and defaults.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

type ctxKey struct{}

// WithLogger returns a context carrying l.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// From returns the context's logger, or a discarding one.
func From(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(ctxKey{}).(*slog.Logger); ok {
		return l
	}
	return Discard()
}
