//go:build !unix

package main

import "os"

// lockDataDir is a no-op where flock does not exist; etcd's own WAL lock still applies.
func lockDataDir(dir string) (*os.File, error) { return nil, nil }
