// The pid waiter of mp.connection.wait: on a pidfd, and by looking at
// the pid where pidfds are missing.

package luaapi

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// TestPidWaiter: each way of waiting for a process that is not a child of
// the waiter returns once the process has exited, and returns at once when
// its context ends first.
func TestPidWaiter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		await func(x pidWaiter, ctx context.Context)
	}{
		{"pidfd", pidWaiter.await},
		{"looking", pidWaiter.poll},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("sleep", "0.3")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			x := pidWaiter{cmd.Process.Pid}
			if x.ready() {
				t.Fatalf("pid %d ready while it runs", x.pid)
			}
			// A cancelled wait returns at once.
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			start := time.Now()
			tc.await(x, ctx)
			cancel()
			if d := time.Since(start); d > 250*time.Millisecond {
				t.Errorf("await with a context ending after 50 ms took %v, want it back at once", d)
			}
			// An exit ends the wait; the waiter's goroutine does not reap.
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			tc.await(x, ctx)
			if ctx.Err() != nil {
				t.Fatalf("await still waiting 10 s after start for a 0.3 s process")
			}
			<-done
			if !x.ready() {
				t.Errorf("pid %d not ready after it exited", x.pid)
			}
		})
	}
}
