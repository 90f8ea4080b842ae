//go:build cluster

// Package cluster moves a Pool's tasks and results between hosts through
// NATS JetStream. It knows nothing of Lua: a task is the frame a local
// pool worker reads from its task pipe, a result the frame it writes
// back, and a pool's record the start payload of its workers; luaapi
// makes and reads them. The package is built only with the build tag
// `cluster`, so that the default procsh does not link NATS.
//
// # Who does what
//
//   - The root (the process that made the Pool) opens a Pool: it stores
//     the pool's record, publishes tasks, reads results, answers the
//     workers' questions ("may I run task 7?"), and watches the
//     heartbeats of the workers running its tasks (root.go).
//   - A worker (`procsh worker URL`, or the ones the root starts) pulls
//     tasks from one durable consumer shared by every worker, asks the
//     root for leave to run each, hands it to a local process, beats
//     while it runs, and publishes the result (worker.go).
//   - Server runs an embedded nats-server with JetStream, for a root
//     that wants one of its own (server.go).
//
// # Subjects, streams and stores
//
//	procsh.task.<pool>    stream PROCSH_TASKS (work queue): the tasks
//	procsh.result.<pool>  stream PROCSH_RESULTS: the results
//	procsh.run.<pool>     request/reply: leave to run a task (root answers)
//	procsh.alive.<pool>   request/reply: does the pool's root live?
//	procsh.event.<pool>   started, beat and lost notices, to the root
//	procsh.gone           the ids of pools whose root has ended
//	procsh.workers        request: every worker answers with its capacity
//
// The object store procsh_blobs holds each pool's record and the bodies
// of messages larger than the server's maximum payload (blob.go).
//
// # Delivery and deaths
//
// JetStream delivers at least once. A task is acknowledged only after
// its result is stored; a worker that holds a task sends in-progress
// acknowledgements every Heartbeat, so a task is redelivered only when
// AckWait passes without one: its worker died or lost the server. The
// root decides whether a delivered task runs: leave is refused once the
// task has settled or has run as often as the pool's retries allow, so
// a task is never run again silently. The root learns of a death from
// the worker that saw its process die (at once) or from the heartbeats
// that stopped (within AckWait). Results carry their task's id as their
// message id, and the root keeps the first result of each task.
//
// All methods are safe to call from any goroutine; the handlers a
// caller gives run on goroutines of the NATS client and must not block
// for long.
package cluster

import "time"

// Timing shared by roots and workers.
const (
	// AckWait is how long a task may go without an acknowledgement
	// (in progress or done) before JetStream delivers it again, and how
	// long a root waits without a heartbeat before it counts a running
	// task's worker as lost.
	AckWait = 5 * time.Second
	// Heartbeat is how often a worker tells the server and the root
	// that it still runs the tasks it holds.
	Heartbeat = time.Second
	// ReconnectGrace is how long a root waits for its connection to
	// come back before it fails the pool's pending tasks.
	ReconnectGrace = time.Second
)
