// Package runtime is everything procsh does with processes, with no Lua
// in it: spawning and reaping children (spawn.go) and keeping one ready
// (idle.go), how a process ended and whether a pid runs (exitstatus.go),
// the signals a process reacts to and the critical sections
// termination waits for (signals.go), the watchdog that ends daemon
// children whose parent died (watchdog.go), the shared-memory arena every
// process of a tree maps (arena.go) with the process table that gives
// every process an identity no other can take over, and tells whether it
// lives (identity.go), the reference counts that free its
// objects when no process holds them any more (refs.go), its futex-based
// primitives (futex_linux.go, mutex.go, cond.go), the synchronisation
// objects built on them (lock.go, semaphore.go, event.go, condition.go,
// barrier.go, typecode.go), the message rings of queues and pipes
// (ring.go), checks of handles other processes wrote (handlecheck.go),
// the pool's frames and scheduler (pool.go) with the mailboxes that carry
// a worker's frames through the arena (pool_mailbox.go), the Manager's
// containers (manager*.go), named shared memory (shm.go, shm_list.go),
// sockets between unrelated programs (socket.go, socket_auth.go), and
// the hooks a tracer sets on the blocking paths (tracehook.go).
// docs/faults.md says which death each structure survives, and how.
//
// A child is this same binary re-executed in worker mode. It finds, at
// fixed descriptors:
//
//	3  StartFD     a pipe holding its start message, read to end of file
//	4  ArenaFD     the tree's arena (a memfd)
//	5  WatchdogFD  a pipe that reaches end of file when the parent dies
//	6  a pool worker's task pipe, 7 its result pipe (pool.go): frames
//	   too large for its mailbox, a notice that a result waits, and the
//	   end of file that tells a worker's death
//
// Nothing travels on the command line. The environment variable WorkerEnv
// marks worker mode.
//
// Concurrency: every exported function is safe to call from any goroutine
// unless its comment says otherwise.
package runtime
