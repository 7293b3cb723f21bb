package model

import "time"

// LogEvent is one CloudWatch Logs event as a log driver produces it: a message and when it was
// written (stored to the millisecond).
type LogEvent struct {
	Timestamp time.Time
	Message   string
}

// LogDestination names a log stream: where a log driver sends a container's events.
type LogDestination struct {
	Scope  Scope
	Group  string
	Stream string
}
