// Package runtime is everything procsh does with processes, with no Lua
// in it: spawning and reaping children (spawn.go), the signals a process
// reacts to and the critical sections termination waits for (signals.go),
// the watchdog that ends daemon children whose parent died (watchdog.go),
// the shared-memory arena every process of a tree maps (arena.go) with its
// futex-based primitives (futex_linux.go, mutex.go, cond.go) and the
// synchronisation objects built on them.
//
// A child is this same binary re-executed in worker mode. It finds, at
// fixed descriptors:
//
//	3  StartFD     a pipe holding its start message, read to end of file
//	4  ArenaFD     the tree's arena (a memfd)
//	5  WatchdogFD  a pipe that reaches end of file when the parent dies
//
// Nothing travels on the command line. The environment variable WorkerEnv
// marks worker mode.
//
// Concurrency: every exported function is safe to call from any goroutine
// unless its comment says otherwise.
package runtime
