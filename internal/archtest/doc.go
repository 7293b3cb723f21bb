// Package archtest checks gantry's architecture with tests: the import rules of
// ARCHITECTURE.md's package table, and a doc comment on every package.
package archtest
