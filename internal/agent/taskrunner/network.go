package taskrunner

import (
	"context"

	"github.com/gantry-dev/gantry/internal/model"
)

// Network gives a task its network namespace. The VPC data plane implements it with an ENI (a
// veth into the VPC's router namespace); Loopback is the stand-in until then.
type Network interface {
	// Setup prepares the task's network and returns the path of the namespace its containers
	// join; "" asks the runtime to create one with only loopback. eni is the task's place in its
	// VPC (the assignment's Network); nil for a task without one.
	Setup(ctx context.Context, task model.Task, eni *model.TaskNetwork) (netnsPath string, err error)
	// NetNSPath is the path Setup will return, known before it runs: the sandbox is made while
	// the network is set up.
	NetNSPath(eni *model.TaskNetwork) string
	// Release undoes Setup; it is idempotent, and called for tasks Setup never saw after a
	// restart.
	Release(ctx context.Context, taskID string) error
}

// Loopback leaves the network to the runtime: each task gets a fresh namespace with only
// loopback up.
type Loopback struct{}

var _ Network = Loopback{}

// Setup returns "" so the runtime creates the namespace.
func (Loopback) Setup(context.Context, model.Task, *model.TaskNetwork) (string, error) {
	return "", nil
}

// NetNSPath is "": the runtime creates the namespace.
func (Loopback) NetNSPath(*model.TaskNetwork) string { return "" }

// Release does nothing: the runtime removes the namespace it created with the task.
func (Loopback) Release(context.Context, string) error { return nil }
