package runtime

import (
	"errors"
	"os/exec"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func init() {
	// two-sections readyOff bDoneOff aDoneOff: goroutine A opens a
	// section and says so in *ready; once SIGTERM has come, goroutine B
	// opens and closes a section of its own and sets *bDone; then A
	// closes its section after setting *aDone, and the process must die
	// by SIGTERM there.
	helpers["two-sections"] = func(a *Arena, args []uint64) error {
		ready, bDone, aDone := a.Uint32(args[0]), a.Uint32(args[1]), a.Uint32(args[2])
		DeferTermination()
		go func() {
			<-TermContext().Done()
			EnterCritical()
			atomic.StoreUint32(bDone, 1)
			LeaveCritical()
		}()
		EnterCritical()
		atomic.StoreUint32(ready, 1)
		deadline := time.Now().Add(5 * time.Second)
		for atomic.LoadUint32(bDone) == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		atomic.StoreUint32(aDone, 1)
		LeaveCritical()
		time.Sleep(5 * time.Second)
		return errors.New("still alive 5 s after its last section closed with SIGTERM pending")
	}
}

// TestTerminationWaitsForEverySection: SIGTERM arrives while one goroutine
// is in a critical section; another goroutine that enters one then is not
// killed on entering, and the process dies by SIGTERM when the last
// section closes.
func TestTerminationWaitsForEverySection(t *testing.T) {
	a := newTestArena(t)
	off, err := a.Alloc(12)
	if err != nil {
		t.Fatal(err)
	}
	ready, bDone, aDone := a.Uint32(off), a.Uint32(off+4), a.Uint32(off+8)
	*ready, *bDone, *aDone = 0, 0, 0
	h := startHelper(t, a, "two-sections", off, off+4, off+8)
	deadline := time.Now().Add(10 * time.Second)
	for atomic.LoadUint32(ready) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("helper did not open its section in 10 s\n%s", h.out.String())
		}
		time.Sleep(time.Millisecond)
	}
	syscall.Kill(h.pid(), syscall.SIGTERM)
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("helper still running 10 s after SIGTERM\n%s", h.out.String())
	}
	var ee *exec.ExitError
	if !errors.As(h.err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Errorf("helper ended with %v, want killed by SIGTERM\n%s", h.err, h.out.String())
	}
	if atomic.LoadUint32(bDone) != 1 {
		t.Errorf("the second goroutine's section did not run: the process died as it entered")
	}
	if atomic.LoadUint32(aDone) != 1 {
		t.Errorf("the first goroutine's section did not finish")
	}
}
