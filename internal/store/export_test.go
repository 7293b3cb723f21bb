package store

// NewTestTable returns a table of T stored as itself under dir, so the contract suite in
// storetest runs against the real generic table without the package exporting it to anything
// but its own tests.
func NewTestTable[T any](s *Store, dir string) *table[T, T] {
	same := func(v T) T { return v }
	return &table[T, T]{s: s, dir: dir, version: 1, toRecord: same, fromRecord: same}
}
