//go:build cluster

// procsh worker URL: a cluster worker (luaapi.ServeCluster) in a process
// tree of its own.

package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"

	"procsh/luaapi"
	"procsh/runtime"
)

// workerArgs are procsh worker's command line.
type workerArgs struct {
	url   string
	procs int
	token string
}

// parseWorkerArgs reads URL, --procs N and --token TOKEN (also as
// --procs=N, --token=TOKEN). A nil result with code 0 is -h.
func parseWorkerArgs(argv []string) (*workerArgs, int, error) {
	a := &workerArgs{procs: goruntime.NumCPU(), token: os.Getenv("PROCSH_CLUSTER_TOKEN")}
	for i := 0; i < len(argv); i++ {
		arg := argv[i]
		name, value, inline := strings.Cut(arg, "=")
		next := func() (string, error) {
			if inline {
				return value, nil
			}
			if i+1 >= len(argv) {
				return "", fmt.Errorf("%s: got no value, want one after it", name)
			}
			i++
			return argv[i], nil
		}
		switch {
		case arg == "-h" || arg == "--help":
			fmt.Print(workerUsage)
			return nil, 0, nil
		case name == "--procs":
			v, err := next()
			if err != nil {
				return nil, 1, err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, 1, fmt.Errorf("--procs: got %q, want a whole number, 1 or more", v)
			}
			a.procs = n
		case name == "--token":
			v, err := next()
			if err != nil {
				return nil, 1, err
			}
			a.token = v
		case strings.HasPrefix(arg, "-"):
			return nil, 1, fmt.Errorf("unrecognized option '%s'", arg)
		case a.url == "":
			a.url = arg
		default:
			return nil, 1, fmt.Errorf("got %q after the URL %s, want one URL", arg, a.url)
		}
	}
	if a.url == "" {
		return nil, 1, fmt.Errorf("got no URL, want the NATS server's (nats://host:4222)")
	}
	return a, 0, nil
}

// workerCommand is procsh worker: it serves until Ctrl-C or SIGTERM
// (drain), a second one stopping at once.
func workerCommand(argv []string) int {
	a, code, err := parseWorkerArgs(argv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "procsh worker: %v\n%s", err, workerUsage)
		return code
	}
	if a == nil {
		return code
	}
	arena, err := runtime.NewArena(runtime.DefaultArenaSize)
	if err != nil {
		fmt.Fprintf(os.Stderr, "procsh worker: %v\n", err)
		return 1
	}
	w := luaapi.NewWorld(luaapi.Options{Self: luaapi.Identity{Name: "MainProcess"}, Arena: arena})
	defer w.Close()
	arena.RegisterProcess(os.Getpid(), "MainProcess")
	w.SetContext(context.Background())

	drain, stop := make(chan struct{}), make(chan struct{})
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		<-sig
		close(drain)
		<-sig
		close(stop)
	}()
	say := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "procsh worker: "+format+"\n", args...)
	}
	err = luaapi.ServeCluster(w, luaapi.ClusterWorkerOptions{URL: a.url, Token: a.token, Procs: a.procs, Drain: drain, Stop: stop, Say: say})
	w.Shutdown()
	if err != nil {
		say("%v", err)
		return 1
	}
	select {
	case <-stop:
		return 130
	default:
		return 0
	}
}
