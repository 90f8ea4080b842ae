// mp.connection.wait(objects [, timeout]): wait until one of several
// connections, queues or processes is ready.

package luaapi

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// waiter is one object mp.connection.wait watches.
//
// ready looks without waiting; it runs on the goroutine that owns the Lua
// state. await returns once the object may have become ready, or soon
// after ctx is done; each await runs on a goroutine of its own, never
// touches the Lua state, and has returned before connectionWait goes on.
// An await that returns is a hint, never a promise: another process may
// have taken the message that woke it, so ready decides.
type waiter interface {
	ready() bool
	await(ctx context.Context)
}

// connectionWait is mp.connection.wait(objects [, timeout]): the list of
// the objects that are ready, in the order given (each once), after
// waiting until at least one is or the timeout passes (then the list is
// empty). nil waits for as long as it takes, 0 only looks.
func connectionWait(L *lua.LState) int {
	const what = "connection.wait"
	w := worldOf(L)
	list, ok := L.Get(1).(*lua.LTable)
	if !ok {
		argTypeError(L, 1, "table")
	}
	timeout := timeoutArg(L, 2, what, -1)
	var objs []lua.LValue
	var ws []waiter
	seen := map[lua.LValue]bool{}
	for i := 1; i <= list.Len(); i++ {
		v := list.RawGetInt(i)
		if seen[v] {
			continue
		}
		seen[v] = true
		objs = append(objs, v)
		ws = append(ws, waiterOf(L, v, fmt.Sprintf("%s: objects[%d]", what, i)))
	}
	ready := w.waitAny(ws, timeout)
	out := L.CreateTable(len(objs), 0)
	for i, v := range objs {
		if ready[i] {
			out.Append(v)
		}
	}
	L.Push(out)
	return 1
}

// waiterOf is the waiter of an object wait accepts: the receiving end of
// a Connection, a SocketConnection, a Queue of any kind, a sentinel, or a
// Process itself (which Python's wait does not take). where names the
// object in errors.
func waiterOf(L *lua.LState, v lua.LValue, where string) waiter {
	ud, _ := v.(*lua.LUserData)
	if ud != nil {
		switch o := ud.Value.(type) {
		case *connObj:
			if o.closed {
				Raise(L, "OSError", "%s: the connection is closed", where)
			}
			if o.rd == nil {
				Raise(L, "OSError", "%s: this end of a one-way pipe only sends, want the receiving end", where)
			}
			return ringWaiter{o.rd}
		case *sockConn:
			if o.isClosed() {
				Raise(L, "OSError", "%s: the connection is closed", where)
			}
			return sockWaiter{o.sc}
		case *queueObj:
			if o.closed {
				Raise(L, "ValueError", "%s: the %s is closed", where, o.HandleType())
			}
			return ringWaiter{o.ring}
		case *sentinelObj:
			return o.p.waiter()
		case *process:
			if o.closed {
				Raise(L, "ValueError", "%s: the process object is closed", where)
			}
			if o.kind == kindChild && o.child == nil {
				Raise(L, "ValueError", "%s: process not started, want start() first", where)
			}
			return o.waiter()
		}
	}
	Raise(L, "TypeError", "%s: got %s, want a Connection, a Queue, a Process or a sentinel", where, describeValue(L, v))
	return nil
}

// describeValue names a value in an error: "a number", "a Lock".
func describeValue(L *lua.LState, v lua.LValue) string {
	if typ := ObjectType(L, v); typ != "" {
		return "a " + typ
	}
	return "a " + v.Type().String()
}

// waitAny waits until one of ws is ready or the timeout (< 0: none)
// passes, and says which are ready. Each round starts one goroutine per
// waiter; the first to return ends the round, which cancels the others
// and waits for them, then looks again. So nothing polls: the goroutines
// sleep on futexes, on a child's reaper or on a pidfd. Waiting on nothing
// sleeps out the timeout, or until Ctrl-C, as Python's does. Ctrl-C
// raises KeyboardInterrupt.
func (w *World) waitAny(ws []waiter, timeout time.Duration) []bool {
	ready := make([]bool, len(ws))
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		some := false
		for i, x := range ws {
			ready[i] = x.ready()
			some = some || ready[i]
		}
		if some || timeout == 0 {
			return ready
		}
		if timeout > 0 && !time.Now().Before(deadline) {
			return ready
		}
		ctx, cancel := w.roundContext(deadline)
		woke := make(chan struct{}, len(ws))
		var wg sync.WaitGroup
		for _, x := range ws {
			wg.Add(1)
			go func() {
				defer wg.Done()
				x.await(ctx)
				woke <- struct{}{}
			}()
		}
		select {
		case <-woke:
		case <-ctx.Done():
		}
		cancel()
		wg.Wait()
		if w.Context().Err() != nil {
			w.interrupted()
		}
	}
}

// roundContext is the context of one round of waitAny: Ctrl-C's, ending
// at the deadline unless it is zero.
func (w *World) roundContext(deadline time.Time) (context.Context, context.CancelFunc) {
	if deadline.IsZero() {
		return context.WithCancel(w.Context())
	}
	return context.WithDeadline(w.Context(), deadline)
}

// ringWaiter watches a queue's ring or a connection's receiving ring:
// ready when a get or recv would not wait, for a message or, on a pipe,
// for the end of file (EOFError) once every sender has gone.
type ringWaiter struct{ r *runtime.Ring }

// ready: an error other than an empty ring counts, since recv would
// raise it at once rather than wait.
func (x ringWaiter) ready() bool {
	ok, err := x.r.Poll(nil, 0)
	return ok || err != nil
}

func (x ringWaiter) await(ctx context.Context) { x.r.Poll(ctx, -1) }

// childWaiter watches a child of this process: ready once it has been
// reaped.
type childWaiter struct{ c *runtime.Child }

func (x childWaiter) ready() bool {
	_, ended := x.c.ExitCode()
	return ended
}

func (x childWaiter) await(ctx context.Context) {
	select {
	case <-x.c.Done():
	case <-ctx.Done():
	}
}

// selfWaiter is this process's own sentinel: never ready here.
type selfWaiter struct{}

func (selfWaiter) ready() bool               { return false }
func (selfWaiter) await(ctx context.Context) { <-ctx.Done() }

// pidWaiter watches a process that is not a child of this one (the
// parent, or a process reached through a message) by its pid, as join
// does for such a process: ready once the pid runs no live process. It
// sleeps on a pidfd, which the kernel makes readable when the process
// exits; where pidfds are missing (Linux before 5.3) it looks at the pid
// at growing intervals, from 1 ms up to pidPollMax.
type pidWaiter struct{ pid int }

// pidPollMax bounds the interval between looks without a pidfd.
const pidPollMax = 50 * time.Millisecond

func (x pidWaiter) ready() bool { return !runtime.PidRunning(x.pid) }

func (x pidWaiter) await(ctx context.Context) {
	fd, err := unix.PidfdOpen(x.pid, 0)
	switch {
	case errors.Is(err, unix.ESRCH):
		return // gone already
	case err != nil:
		x.poll(ctx)
		return
	}
	defer unix.Close(fd)
	// ctx's end closes the write end of a pipe, which wakes the poll.
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		x.poll(ctx)
		return
	}
	defer unix.Close(p[0])
	stop := context.AfterFunc(ctx, func() { unix.Close(p[1]) })
	defer func() {
		if stop() {
			unix.Close(p[1])
		}
	}()
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(p[0]), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, -1)
		if n > 0 || err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

// poll looks at the pid until it has gone or ctx is done.
func (x pidWaiter) poll(ctx context.Context) {
	sleep := time.Millisecond
	for x.pid > 0 && runtime.PidRunning(x.pid) {
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		sleep = min(2*sleep, pidPollMax)
	}
}
