// Package model holds gantry's domain types and their invariants, free of wire and storage concerns.
package model

import "time"

// DefaultAccount is the account id every request runs as until IAM enforcement names another.
const DefaultAccount = "000000000000"

// DefaultRegion is used when a request carries no SigV4 scope.
const DefaultRegion = "us-east-1"

// Scope is the account and region a resource belongs to; every resource lives in exactly one.
type Scope struct {
	Account string
	Region  string
}

// Tag is a user's key and value on a resource.
type Tag struct {
	Key   string
	Value string
}

// Clock returns the current time; operations take one so tests can fix time.
type Clock func() time.Time
