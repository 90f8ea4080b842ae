// Package sandbox is the kernel's side of procsh's limits: what a child
// process may use (CPU time, memory) and touch (files, programs,
// sockets), enforced by Linux on the process itself, with no Lua in it
// (luaapi/limits*.go reads `limits = {...}` and decides when each part
// applies).
//
//   - support.go   Probe: what this kernel can enforce (the Landlock
//     ABI, seccomp, resource limits), asked once per process.
//   - cpu.go       CPU time: RLIMIT_CPU, whose soft limit sends SIGXCPU
//     (which Go ignores unless asked: NotifyCPU asks) and whose hard
//     limit sends SIGKILL.
//   - memory.go    MemoryGuard: the Go heap's growth against a budget,
//     checked before large allocations and by a watcher, with Go's soft
//     memory limit and RLIMIT_DATA above it as the hard stop.
//   - landlock.go  Restrict: Landlock rules for the files a process may
//     read, write and execute.
//   - landlock_syscall.go  Landlock's system calls, the rights each ABI
//     version knows, and a ruleset enforced on every thread (which a
//     binary built with cgo cannot do: Probe reports Landlock missing
//     there).
//   - seccomp.go   DenySockets: a seccomp filter that refuses network
//     sockets with EPERM.
//
// Everything here applies to the calling process, every thread of it,
// and is inherited by the processes it starts: a child can narrow what
// its parent left it, never widen it. Landlock rules and seccomp filters
// cannot be lifted once applied; resource limits can be raised again up
// to their hard limit, which can only be lowered. Functions are safe to
// call from any goroutine unless their comment says otherwise.
package sandbox
