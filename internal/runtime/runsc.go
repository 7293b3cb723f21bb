package runtime

// runscArgs are runsc's global flags. systrap needs no hardware virtualisation. With
// --network=sandbox the sandbox joins the netns path in the spec and runs its own network stack
// over the interfaces it finds there.
var runscArgs = []string{"--platform=systrap", "--network=sandbox"}

// NewRunsc returns a runtime that drives gVisor's runsc: the same bundles, shim and cgroups as
// runc, with each container in a user-space kernel.
//
// Each container gets its own sandbox; the containers of a task share the netns but not one
// sandbox network stack, so they do not reach each other over 127.0.0.1 (that needs the CRI
// sandbox annotations and a pause container, not done yet).
func NewRunsc(cfg Config) (*Runc, error) {
	return newOCIRuntime(cfg, ociRunsc, runscArgs)
}
