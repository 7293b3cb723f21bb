package agent_test

import (
	"os"
	"testing"

	"github.com/gantry-dev/gantry/internal/runtime"
)

// shimEnv makes the test binary act as the runtime's shim when the runtime starts it.
const shimEnv = "GANTRY_AGENT_TEST_SHIM"

func TestMain(m *testing.M) {
	if os.Getenv(shimEnv) == "1" {
		os.Exit(runtime.ShimMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}
