// Command gantry is a self-hosted AWS Fargate: `gantry server` runs the whole thing in one process.
package main

import (
	"fmt"
	"os"
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
