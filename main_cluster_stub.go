//go:build !cluster

// procsh worker in a build without the tag cluster.

package main

import (
	"fmt"
	"os"
)

// workerCommand says how to get a procsh that has the subcommand.
func workerCommand(argv []string) int {
	fmt.Fprintln(os.Stderr, "procsh worker: this procsh was built without cluster support: build it with go build -tags cluster")
	return 1
}
