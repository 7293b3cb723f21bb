package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// scrubRunscState takes the container's environment out of the spec runsc keeps in its state
// file (<root>/<id>_sandbox:<sandbox>.state), which holds the task's secrets as the bundle does.
// runsc reads and writes that file under an flock of the matching .lock file; this takes the
// same lock, and changes nothing but spec.process.env, so every other field (runsc's own, of its
// pinned version) stays as runsc wrote it. Later runsc commands keep the scrubbed spec: they
// load it, and save what they loaded. Execs get the process from memory (shimContainer.exec).
func scrubRunscState(root, id string) error {
	// id is a checked name (validName): nothing in it is special to Glob.
	states, err := filepath.Glob(filepath.Join(root, id+"_sandbox:*.state"))
	if err == nil && len(states) == 0 {
		return nil // a container that ended at once is deleted, its state with it
	}
	if err != nil || len(states) != 1 {
		return fmt.Errorf("scrub runsc state of %s: found %d state files (%v)", id, len(states), err)
	}
	state := states[0]
	lock, err := os.OpenFile(strings.TrimSuffix(state, ".state")+".lock", os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("scrub runsc state: %w", err)
	}
	defer lock.Close() // which unlocks it
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("scrub runsc state: lock: %w", err)
	}
	b, err := os.ReadFile(state)
	if errors.Is(err, fs.ErrNotExist) { // deleted before the lock was ours
		return nil
	}
	if err != nil {
		return fmt.Errorf("scrub runsc state: %w", err)
	}
	out, err := withoutProcessEnv(b)
	if err != nil {
		return fmt.Errorf("scrub runsc state %s: %w", state, err)
	}
	if err := writeFileAtomic(state, out, 0o640); err != nil {
		return fmt.Errorf("scrub runsc state: %w", err)
	}
	return nil
}

// withoutProcessEnv returns a state document with spec.process.env removed and every other
// field kept as it was.
func withoutProcessEnv(b []byte) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(doc["spec"], &spec); err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	if _, err := takeProcessEnv(spec); err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	var err error
	if doc["spec"], err = json.Marshal(spec); err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}

// takeProcessEnv removes process.env from an OCI spec held as JSON fields, keeping every other
// field as it was, and returns the process as it was before.
func takeProcessEnv(spec map[string]json.RawMessage) (json.RawMessage, error) {
	before := spec["process"]
	var process map[string]json.RawMessage
	if err := json.Unmarshal(before, &process); err != nil || process == nil {
		return nil, errors.New("no process")
	}
	delete(process, "env")
	after, err := json.Marshal(process)
	if err != nil {
		return nil, err
	}
	spec["process"] = after
	return before, nil
}
