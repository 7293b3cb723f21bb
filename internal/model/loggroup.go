package model

import "time"

// LogGroup is a CloudWatch Logs log group's metadata; its streams and events live in the log
// store (internal/logstore), not in etcd.
type LogGroup struct {
	Scope     Scope
	Name      string
	CreatedAt time.Time
	// RetentionDays is 0 when events never expire.
	RetentionDays int
	KMSKeyID      string
	Class         string // STANDARD, INFREQUENT_ACCESS or DELIVERY
	Tags          []Tag
}
