// Command gantry is a self-hosted AWS Fargate: `gantry server` runs the whole thing in one process.
package main

import (
	"fmt"
	"os"

	"github.com/gantry-dev/gantry/internal/runtime"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var code int
	switch os.Args[1] {
	case "server":
		code = runServer(os.Args[2:])
	case "shim":
		// The per-task shim: started by the runtime, it outlives the server.
		code = runtime.ShimMain(os.Args[2:])
	case "init":
		// A task container's pid 1 when initProcessEnabled is set.
		code = runtime.InitMain(os.Args[2:])
	case "version":
		fmt.Println("gantry", version)
	case "-h", "--help", "help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "gantry: unknown command %q\n", os.Args[1])
		usage()
		code = 2
	}
	os.Exit(code)
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func usage() {
	fmt.Fprint(os.Stderr, `usage: gantry <command> [flags]

commands:
  server    run the API, the store, the controllers and a local agent in one process
  version   print the version

Run 'gantry server -h' for the server's flags.
`)
}
