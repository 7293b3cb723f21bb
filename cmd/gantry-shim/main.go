// Command gantry-shim is the small per-task process that parents a task's containers (`shim`)
// and, bind-mounted into a container, its init (`init`). It is a separate binary so that each of
// the hundreds of shims on a host carries only the runtime's code, not the whole server's.
package main

import (
	"fmt"
	"os"

	"github.com/gantry-dev/gantry/internal/runtime"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: gantry-shim shim --dir DIR | gantry-shim init -- CMD...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "shim":
		os.Exit(runtime.ShimMain(os.Args[2:]))
	case "init":
		os.Exit(runtime.InitMain(os.Args[2:]))
	}
	fmt.Fprintf(os.Stderr, "gantry-shim: unknown mode %q\n", os.Args[1])
	os.Exit(2)
}
