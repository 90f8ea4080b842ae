// The command line's worker subcommand: procsh worker URL serves the
// tasks of cluster pools (main_cluster.go; a build without the tag
// cluster says how to get one, main_cluster_stub.go).

package main

import "os"

// isWorkerCommand says whether the command line is procsh worker …,
// rather than a script named worker: unless a file of that name is
// there, it is the subcommand.
func isWorkerCommand(argv []string) bool {
	if len(argv) == 0 || argv[0] != "worker" {
		return false
	}
	fi, err := os.Stat("worker")
	return err != nil || fi.IsDir()
}

const workerUsage = `usage: procsh worker URL [--procs N] [--token TOKEN]
Serves the tasks of cluster pools, mp.Pool{cluster = URL} or
mp.Pool{cluster = "embedded", listen = ...}, from the NATS server at URL
(nats://host:4222), in N processes of this host.

options:
  --procs N        processes running tasks (default: the number of CPUs)
  --token TOKEN    the server's token (also the PROCSH_CLUSTER_TOKEN
                   environment variable, which ps does not show)
  -h, --help       show this help

Ctrl-C (or SIGTERM) drains: the running tasks finish, then the worker
leaves; a second one stops the tasks too. Until the server answers, the
worker tries again every second.
`
