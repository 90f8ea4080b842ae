// Package trace records what every process of a procsh tree does, for
// procsh --trace, and turns it into a Chrome Trace Event file (which
// Perfetto and chrome://tracing open) and a text summary.
//
// Recording (recorder.go, record.go). When the root enables tracing
// (Enable), it sets a flag in the arena's header; every process that
// attaches to the arena (Attach: the root, each child as it starts) then
// gets a buffer of its own in the arena, a chain of segments of
// fixed-size binary records (48 bytes, CLOCK_MONOTONIC nanoseconds), and
// pushes it on a lock-free list whose head is another header word. A
// process only appends; each record is published by a store of its
// segment's count after it is written, so the records of a process
// killed by SIGKILL, up to the kill, stay readable. A buffer that reaches
// MaxBuffer drops new records and counts them.
//
// What is recorded: the Recorder is runtime's Tracer (runtime/tracehook.go),
// told about the blocking waits of Lock, RLock, Semaphore, Condition,
// Event and Barrier and about every put and get of a Queue's or Pipe's
// ring; package luaapi tells it about processes (start, end, start() of
// a child, join, a child reaped), pool tasks (submitted, sent to a
// worker, run, result taken, lost) and the script's mp.trace.mark and
// mp.trace.span.
//
// Reading (read.go, build.go, file.go). At its end the root walks the
// list (Read), and Build pairs what the records say: a child's start with
// its parent's start(), a message's put with its get (the k-th message
// committed to a ring is the k-th taken: both carry k), a pool task's
// submission with its run on a worker and its result. Build keeps the
// rules Check verifies: complete events nest on each track (one that
// cannot becomes an async slice), and every flow has one start and one
// end, inside a slice of its track. docs/trace.md lists every event and
// field.
//
// Summary (summary.go) draws, from a File, a Gantt chart in text and the
// share of time each process worked, waited and idled.
//
// The package uses runtime's arena and never gopher-lua. A Recorder is
// safe to use from any goroutine.
package trace
