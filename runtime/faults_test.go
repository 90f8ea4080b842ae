// Fault tests: processes die (SIGKILL, SIGTERM) at random moments inside
// the shared structures' multi-step updates, and the structures must stay
// whole: no memory handed out twice, no lost or stolen lock, no waiter left
// behind.

package runtime

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func init() {
	// hold stopOff [tokenOff]: live (holding its slot of the process
	// table) until *stop != 0, having written its token at tokenOff.
	helpers["hold"] = func(a *Arena, args []uint64) error {
		stop := a.Uint32(args[0])
		if len(args) > 1 {
			atomic.StoreUint32(a.Uint32(args[1]), a.Me())
		}
		deadline := time.Now().Add(20 * time.Second)
		for atomic.LoadUint32(stop) == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		return nil
	}
	// notify-die condOff mutexOff: what a Notify leaves when its process is
	// killed after it signalled the first waiter and before it took that
	// waiter out of the queue; then die holding the Mutex.
	helpers["notify-die"] = func(a *Arena, args []uint64) error {
		c, m := a.CondAt(args[0]), a.MutexAt(args[1])
		if err := m.Lock(nil, 5*time.Second); err != nil {
			return err
		}
		node := c.u64(c.off + condHead)
		if node == 0 {
			return errors.New("no waiter queued")
		}
		word := a.Uint32(node + nodeWord)
		atomic.StoreUint32(word, 1)
		futexWake(word, 1)
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(10 * time.Second)
		return errors.New("still alive after SIGKILL")
	}
	// alloc-churn badOff recoveredOff: allocate and free blocks of many
	// sizes until killed, each filled with a byte of its own and checked
	// before it is freed, so memory handed out twice shows. A failure sets
	// *bad; a recovery of the allocator from a dead holder counts in
	// *recovered.
	helpers["alloc-churn"] = func(a *Arena, args []uint64) error {
		DeferTermination()
		bad, recovered := a.Uint32(args[0]), a.Uint32(args[1])
		OnOwnerDied = func(int, string, string) { atomic.AddUint32(recovered, 1) }
		r := rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(time.Now().UnixNano())))
		type block struct {
			off  uint64
			n    int
			fill byte
		}
		var held []block
		deadline := time.Now().Add(30 * time.Second)
		for i := 0; time.Now().Before(deadline); i++ {
			if len(held) > 0 && (len(held) >= 24 || r.IntN(2) == 0) {
				j := r.IntN(len(held))
				b := held[j]
				held = append(held[:j], held[j+1:]...)
				mem := a.Bytes(b.off, b.n)
				for k := 0; k < b.n; k += 1 + r.IntN(512) {
					if mem[k] != b.fill {
						atomic.StoreUint32(bad, 1)
						return fmt.Errorf("block %d (%d bytes): byte %d is %#x, want %#x: another process wrote it", b.off, b.n, k, mem[k], b.fill)
					}
				}
				a.Free(b.off)
				continue
			}
			var n int
			switch r.IntN(4) {
			case 0:
				n = r.IntN(4000) // small classes
			case 1:
				n = 4096 + r.IntN(60000) // a few pages
			case 2:
				n = punchMin + r.IntN(punchMin) // punched when freed
			default:
				n = 1 + r.IntN(200)
			}
			off, err := a.Alloc(n)
			if err != nil {
				continue // full for now
			}
			fill := byte(1 + r.IntN(255))
			mem := a.Bytes(off, n)
			for k := range mem {
				mem[k] = fill
			}
			held = append(held, block{off, n, fill})
		}
		return nil
	}
	// lock-churn mutexOff condOff insideOff badOff: take the Mutex, check
	// that nobody else is inside, now and then wait on or notify the Cond,
	// until killed. A holder that died inside is noticed through
	// LockRecover and its mark cleared.
	helpers["lock-churn"] = func(a *Arena, args []uint64) error {
		DeferTermination()
		m, c, inside, bad := a.MutexAt(args[0]), a.CondAt(args[1]), a.Uint32(args[2]), a.Uint32(args[3])
		OnOwnerDied = func(int, string, string) {}
		r := rand.New(rand.NewPCG(uint64(os.Getpid()), 7))
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			recovered, err := m.LockRecover(nil, 5*time.Second)
			if err != nil {
				atomic.StoreUint32(bad, 1)
				return fmt.Errorf("Lock: %v", err)
			}
			if recovered {
				atomic.StoreUint32(inside, 0) // its holder died inside
			}
			if n := atomic.AddUint32(inside, 1); n != 1 {
				atomic.StoreUint32(bad, 1)
				return fmt.Errorf("%d processes inside the Mutex at once", n)
			}
			spin(r.IntN(200))
			switch r.IntN(8) {
			case 0:
				atomic.AddUint32(inside, ^uint32(0))
				c.Wait(m, nil, time.Duration(r.IntN(3000))*time.Microsecond)
				if n := atomic.AddUint32(inside, 1); n != 1 {
					// A holder may have died inside while we waited.
					atomic.StoreUint32(inside, 1)
				}
			case 1:
				c.Notify(1)
			case 2:
				c.NotifyAll()
			}
			atomic.AddUint32(inside, ^uint32(0))
			m.Unlock()
		}
		return nil
	}
}

// TestMutexRecoveredByPolling: a dead holder's lock is recovered by calls
// that never wait long — TryLock, and Lock with a timeout shorter than the
// waiters' check interval — not only by one long wait.
func TestMutexRecoveredByPolling(t *testing.T) {
	for _, how := range []string{"TryLock", "Lock(50ms)"} {
		t.Run(how, func(t *testing.T) {
			a := newTestArena(t)
			saved := OnOwnerDied
			OnOwnerDied = func(int, string, string) {}
			defer func() { OnOwnerDied = saved }()
			m, _ := a.NewMutex()
			h := startHelper(t, a, "die-holding-lock", m.Offset())
			<-h.done
			if !m.Locked() {
				t.Fatalf("the helper died without holding the lock:\n%s", h.out.String())
			}
			deadline := time.Now().Add(3 * time.Second)
			for {
				var got bool
				if how == "TryLock" {
					got = m.TryLock()
				} else {
					got = m.Lock(nil, 50*time.Millisecond) == nil
				}
				if got {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s never recovered the lock of a dead holder in 3s of polling", how)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if m.Owner() != os.Getpid() {
				t.Errorf("Owner after recovery = %d, want %d", m.Owner(), os.Getpid())
			}
		})
	}
}

// TestMutexRecoveredWhenSlotReused: the dead holder's place in the process
// table (its identity, as its pid was) has gone to a live process; the
// lock is still recovered, and not while that process lives only.
func TestMutexRecoveredWhenSlotReused(t *testing.T) {
	a := newTestArena(t)
	saved := OnOwnerDied
	OnOwnerDied = func(int, string, string) {}
	defer func() { OnOwnerDied = saved }()
	m, _ := a.NewMutex()
	stop := alloc(t, a, 4)
	h := startHelper(t, a, "die-holding-lock", m.Offset())
	<-h.done
	dead := m.Holder()
	if dead == 0 {
		t.Fatalf("the helper died without holding the lock:\n%s", h.out.String())
	}
	// The next process takes the dead holder's slot.
	atomic.StoreUint32(a.Uint32(hdrProcCursor), dead&(procSlots-1))
	heir := startHelper(t, a, "hold", stop)
	eventually(t, 5*time.Second, "the new process to take the slot", func() bool {
		return atomic.LoadUint32(a.Uint32(procSlotOff(int(dead&(procSlots-1)))+slotGen)) != dead>>procSlotBits
	})
	if err := m.Lock(nil, 2*time.Second); err != nil {
		t.Errorf("Lock of a Mutex whose dead holder's slot has a live owner = %v, want it recovered", err)
	}
	atomic.StoreUint32(a.Uint32(stop), 1)
	heir.wait(t, 5*time.Second)
}

// TestAliveIsTheKernelsWord: a live process is alive, a zombie is dead,
// and this process is alive.
func TestAliveIsTheKernelsWord(t *testing.T) {
	a := newTestArena(t)
	stop, tokOff := alloc(t, a, 4), alloc(t, a, 4)
	// Started by hand and reaped only at the end, to be a zombie a while.
	p, err := os.StartProcess(os.Args[0], []string{os.Args[0], "-test.run=^$"}, &os.ProcAttr{
		Env:   helperEnviron("hold", fmt.Sprint(stop), fmt.Sprint(tokOff)),
		Files: []*os.File{nil, os.Stdout, os.Stderr, a.File()},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Wait()
	defer p.Kill()
	var tok uint32
	eventually(t, 5*time.Second, "the helper to take a slot", func() bool {
		tok = atomic.LoadUint32(a.Uint32(tokOff))
		return tok != 0
	})
	if !a.Alive(tok) {
		t.Errorf("Alive(token of a live helper) = false, want true")
	}
	if a.TokenPid(tok) != p.Pid {
		t.Errorf("TokenPid = %d, want %d", a.TokenPid(tok), p.Pid)
	}
	atomic.StoreUint32(a.Uint32(stop), 1)
	eventually(t, 5*time.Second, "the helper to become a zombie", func() bool {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Pid))
		return err == nil && strings.Contains(string(b), ") Z ")
	})
	// The leader shows Z while the process's other threads may still be
	// exiting; the kernel drops its locks when the last one has.
	eventually(t, 2*time.Second, "Alive(token of a zombie) to be false", func() bool { return !a.Alive(tok) })
	if !a.Alive(a.Me()) || a.Alive(0) {
		t.Errorf("Alive(Me()), Alive(0) = %v, %v, want true, false", a.Alive(a.Me()), a.Alive(0))
	}
}

// TestCondSkipsZombieWaiter: a waiter killed and not yet reaped (a zombie,
// as orphans stay under an init that does not reap) must not take a
// Notify(1) meant for a live waiter.
func TestCondSkipsZombieWaiter(t *testing.T) {
	a := newTestArena(t)
	m, _ := a.NewMutex()
	c, _ := a.NewCond()
	ready, woken := alloc(t, a, 4), alloc(t, a, 4)
	// Start the child by hand and reap it only at the end, so that it is a
	// zombie while we notify.
	p, err := os.StartProcess(os.Args[0], []string{os.Args[0], "-test.run=^$"}, &os.ProcAttr{
		Env:   helperEnviron("cond-wait", fmt.Sprint(c.Offset()), fmt.Sprint(m.Offset()), fmt.Sprint(ready), fmt.Sprint(woken)),
		Files: []*os.File{nil, os.Stdout, os.Stderr, a.File()},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Wait()
	defer p.Kill()
	eventually(t, 5*time.Second, "the child to wait", func() bool {
		m.Lock(nil, -1)
		defer m.Unlock()
		return c.Waiting()
	})
	p.Signal(syscall.SIGKILL)
	eventually(t, 5*time.Second, "the child to be a zombie", func() bool {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Pid))
		return err == nil && strings.Contains(string(b), ") Z ")
	})
	zombie := atomic.LoadUint32(a.Uint32(c.u64(c.off+condHead) + nodeToken))
	eventually(t, 2*time.Second, "the zombie's token to be dead", func() bool { return !a.Alive(zombie) })
	// A live waiter, queued behind the zombie.
	done := make(chan bool)
	m.Lock(nil, -1)
	go func() {
		w, _ := c.Wait(m, nil, 5*time.Second)
		m.Unlock()
		done <- w
	}()
	eventually(t, 5*time.Second, "the live waiter to queue", func() bool {
		return c.u64(c.off+condHead) != 0 && c.u64(c.u64(c.off+condHead)+nodeNext) != 0
	})
	m.Lock(nil, -1)
	n := c.Notify(1)
	m.Unlock()
	if n != 1 {
		t.Errorf("Notify(1) = %d, want 1", n)
	}
	select {
	case w := <-done:
		if !w {
			t.Error("the live waiter timed out: the zombie took its wake-up")
		}
	case <-time.After(6 * time.Second):
		t.Fatal("the live waiter never returned")
	}
}

// TestCondNotifierDiesAfterSignal: a notifier killed after signalling a
// waiter and before taking it out of the queue leaves a queue that the
// other waiters and later notifies still use.
func TestCondNotifierDiesAfterSignal(t *testing.T) {
	a := newTestArena(t)
	saved := OnOwnerDied
	OnOwnerDied = func(int, string, string) {}
	defer func() { OnOwnerDied = saved }()
	m, _ := a.NewMutex()
	c, _ := a.NewCond()
	ready, woken := alloc(t, a, 4), alloc(t, a, 4)
	var hs []*helper
	for range 3 {
		hs = append(hs, startHelper(t, a, "cond-wait", c.Offset(), m.Offset(), ready, woken))
		want := uint32(len(hs))
		eventually(t, 5*time.Second, "a waiter to queue", func() bool {
			if m.Lock(nil, time.Second) != nil {
				return false
			}
			defer m.Unlock()
			return atomic.LoadUint32(a.Uint32(ready)) == want && c.Waiting()
		})
	}
	killer := startHelper(t, a, "notify-die", c.Offset(), m.Offset())
	<-killer.done
	hs[0].wait(t, 5*time.Second) // the signalled waiter returns woken
	if err := m.Lock(nil, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	n := c.NotifyAll()
	m.Unlock()
	if n != 2 {
		t.Errorf("NotifyAll after the notifier died = %d, want the 2 waiters left", n)
	}
	waitAll(t, 5*time.Second, hs[1:]...)
	if got := atomic.LoadUint32(a.Uint32(woken)); got != 3 {
		t.Errorf("%d waiters woken, want 3", got)
	}
}

// TestFaultsAllocatorAndLocks kills processes (SIGKILL or SIGTERM, at
// random moments, many rounds) while they allocate and free, and while they
// take a Mutex and wait on and notify a Cond; then checks that no memory
// was handed out twice, the free lists are whole, the Mutex is free to
// take, and the Cond still wakes new waiters.
func TestFaultsAllocatorAndLocks(t *testing.T) {
	a := newTestArena(t)
	saved := OnOwnerDied
	var recoveredHere atomic.Int32
	OnOwnerDied = func(int, string, string) { recoveredHere.Add(1) }
	defer func() { OnOwnerDied = saved }()
	m, _ := a.NewMutex()
	c, _ := a.NewCond()
	inside, bad, recovered := alloc(t, a, 4), alloc(t, a, 4), alloc(t, a, 4)
	rounds := 30
	if testing.Short() {
		rounds = 8
	}
	r := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	for round := range rounds {
		sig := syscall.SIGKILL
		if round%2 == 1 {
			sig = syscall.SIGTERM
		}
		var hs []*helper
		for range 2 {
			hs = append(hs, startHelper(t, a, "alloc-churn", bad, recovered))
			hs = append(hs, startHelper(t, a, "lock-churn", m.Offset(), c.Offset(), inside, bad))
		}
		time.Sleep(time.Duration(20+r.IntN(60)) * time.Millisecond)
		for _, h := range hs {
			time.Sleep(time.Duration(r.IntN(5)) * time.Millisecond)
			h.cmd.Process.Signal(sig)
		}
		for _, h := range hs {
			select {
			case <-h.done:
			case <-time.After(10 * time.Second):
				t.Fatalf("round %d: %s (pid %d) still running 10s after %v", round, h.name, h.pid(), sig)
			}
			if out := h.out.String(); strings.Contains(out, "another process") || strings.Contains(out, "inside the Mutex") {
				t.Fatalf("round %d: %s", round, out)
			}
		}
		if atomic.LoadUint32(a.Uint32(bad)) != 0 {
			t.Fatalf("round %d: a helper saw a broken structure", round)
		}
		if sig == syscall.SIGTERM {
			// Termination waits for the allocator's critical section: no
			// process may die holding its lock.
			if n := atomic.SwapUint32(a.Uint32(recovered), 0); n != 0 {
				t.Errorf("round %d (SIGTERM): the allocator was recovered from a dead holder %d times, want 0", round, n)
			}
			if a.allocMu.Locked() {
				t.Errorf("round %d (SIGTERM): the allocator's lock is held after every helper was terminated", round)
			}
		}
		atomic.StoreUint32(a.Uint32(recovered), 0)
		if err := a.verifyHeap(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	// Whatever is left free is handed out once: fill every block with its
	// own byte and read them all back.
	var blocks []uint64
	var sizes []int
	for range 400 {
		n := 1 + r.IntN(40000)
		off, err := a.Alloc(n)
		if err != nil {
			break
		}
		b := a.Bytes(off, n)
		for k := range b {
			b[k] = byte(len(blocks)%251 + 1)
		}
		blocks, sizes = append(blocks, off), append(sizes, n)
	}
	for i, off := range blocks {
		for k, x := range a.Bytes(off, sizes[i]) {
			if x != byte(i%251+1) {
				t.Fatalf("block %d at %d: byte %d was overwritten by another allocation", i, off, k)
			}
		}
	}
	// The Mutex is free or recoverable at once; the Cond wakes new waiters.
	if err := m.Lock(nil, 2*time.Second); err != nil {
		t.Fatalf("Lock after the campaign = %v", err)
	}
	atomic.StoreUint32(a.Uint32(inside), 0)
	m.Unlock()
	ready, woken := alloc(t, a, 4), alloc(t, a, 4)
	w1 := startHelper(t, a, "cond-wait", c.Offset(), m.Offset(), ready, woken)
	w2 := startHelper(t, a, "cond-wait", c.Offset(), m.Offset(), ready, woken)
	eventually(t, 5*time.Second, "two new waiters", func() bool {
		if m.Lock(nil, time.Second) != nil {
			return false
		}
		defer m.Unlock()
		return atomic.LoadUint32(a.Uint32(ready)) == 2
	})
	m.Lock(nil, time.Second)
	n := c.NotifyAll()
	m.Unlock()
	if n != 2 {
		t.Errorf("NotifyAll after the campaign woke %d, want the 2 new waiters", n)
	}
	waitAll(t, 5*time.Second, w1, w2)
}

// verifyHeap checks the allocator's free lists: every free block lies in
// the heap below the wilderness, carries its free tag and its class's size,
// the large list is in address order, and no two free blocks overlap.
func (a *Arena) verifyHeap() error {
	a.allocMu.Lock(nil, -1)
	defer a.allocMu.Unlock()
	top := a.word64(hdrTop)
	type span struct{ lo, hi uint64 }
	var spans []span
	last := uint64(0)
	for b, n := a.word64(hdrLargeHead), 0; b != 0; b, n = a.word64(b+blkNext), n+1 {
		size := a.word64(b + blkSize)
		switch {
		case n > 1<<20:
			return errors.New("the large free list loops")
		case b < heapStart || b+size > top || size == 0 || size%pageSize != 0:
			return fmt.Errorf("large free block %d of %d bytes lies outside the heap [%d, %d)", b, size, heapStart, top)
		case a.word64(b+blkTag) != tagLargeFree:
			return fmt.Errorf("large free block %d has tag %#x", b, a.word64(b+blkTag))
		case b <= last:
			return fmt.Errorf("large free list out of order at %d", b)
		}
		last = b
		spans = append(spans, span{b, b + size})
	}
	for cls := range numClasses {
		bs := uint64(1) << (minClassShift + cls)
		for b, n := a.word64(uint64(hdrClassHeads+8*cls)), 0; b != 0; b, n = a.word64(b+blkNext), n+1 {
			switch {
			case n > 1<<22:
				return fmt.Errorf("small free list of %d-byte blocks loops", bs)
			case b < heapStart || b+bs > top:
				return fmt.Errorf("small free block %d lies outside the heap", b)
			case a.word64(b+blkTag) != tagSmallFree || a.word64(b+blkSize) != bs:
				return fmt.Errorf("small free block %d: tag %#x size %d, want %#x and %d", b, a.word64(b+blkTag), a.word64(b+blkSize), tagSmallFree, bs)
			}
			spans = append(spans, span{b, b + bs})
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].lo < spans[j].lo })
	for i := 1; i < len(spans); i++ {
		if spans[i].lo < spans[i-1].hi {
			return fmt.Errorf("free blocks [%d, %d) and [%d, %d) overlap", spans[i-1].lo, spans[i-1].hi, spans[i].lo, spans[i].hi)
		}
	}
	return nil
}

func init() {
	// barrier-loop barrierOff: wait on the Barrier over and over until
	// killed; on a broken Barrier it waits a moment and tries again.
	helpers["barrier-loop"] = func(a *Arena, args []uint64) error {
		DeferTermination()
		OnOwnerDied = func(int, string, string) {}
		b := a.BarrierAt(args[0])
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := b.Wait(nil, 10*time.Second, nil); errors.Is(err, ErrBrokenBarrier) {
				time.Sleep(time.Millisecond)
			} else if err != nil {
				return err
			}
		}
		return nil
	}
}

// TestBarrierPartyDies: a party killed while it waits, or while it holds
// the Barrier's Mutex, breaks the Barrier for the others within a bounded
// time (Python's waits forever); after a reset it works again.
func TestBarrierPartyDies(t *testing.T) {
	a := newTestArena(t)
	saved := OnOwnerDied
	OnOwnerDied = func(int, string, string) {}
	defer func() { OnOwnerDied = saved }()
	b, _ := a.NewBarrier(3)
	doomed := startHelper(t, a, "barrier-once", b.Offset())
	eventually(t, 5*time.Second, "the doomed party to wait", func() bool { return b.NWaiting() == 1 })
	doomed.cmd.Process.Kill()
	<-doomed.done
	start := time.Now()
	if _, err := b.Wait(nil, 5*time.Second, nil); !errors.Is(err, ErrBrokenBarrier) {
		t.Errorf("Wait with a dead party = %v, want %v", err, ErrBrokenBarrier)
	}
	// Not by the 5 s timeout: by noticing the death.
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("the Barrier broke after %v, want well within the 5s timeout", el)
	}
	b.Reset()
	h1 := startHelper(t, a, "barrier-once", b.Offset())
	h2 := startHelper(t, a, "barrier-once", b.Offset())
	if _, err := b.Wait(nil, 5*time.Second, nil); err != nil {
		t.Errorf("Wait after Reset = %v, want nil", err)
	}
	waitAll(t, 5*time.Second, h1, h2)
}

// TestFaultsBarrier kills parties of a Barrier at random moments, many
// rounds, and checks that the Barrier never stays stuck: after each round
// a reset Barrier lets a full set of parties through.
func TestFaultsBarrier(t *testing.T) {
	a := newTestArena(t)
	saved := OnOwnerDied
	OnOwnerDied = func(int, string, string) {}
	defer func() { OnOwnerDied = saved }()
	b, _ := a.NewBarrier(3)
	r := rand.New(rand.NewPCG(2, uint64(time.Now().UnixNano())))
	rounds := 20
	if testing.Short() {
		rounds = 6
	}
	for round := range rounds {
		var hs []*helper
		for range 3 {
			hs = append(hs, startHelper(t, a, "barrier-loop", b.Offset()))
		}
		time.Sleep(time.Duration(20+r.IntN(50)) * time.Millisecond)
		victim := hs[r.IntN(len(hs))]
		sig := syscall.SIGKILL
		if round%2 == 1 {
			sig = syscall.SIGTERM
		}
		victim.cmd.Process.Signal(sig)
		<-victim.done
		// The others notice and go on resetting and waiting; stop them.
		time.Sleep(time.Duration(r.IntN(300)) * time.Millisecond)
		for _, h := range hs {
			h.cmd.Process.Signal(syscall.SIGKILL)
		}
		for _, h := range hs {
			select {
			case <-h.done:
			case <-time.After(10 * time.Second):
				t.Fatalf("round %d: %s (pid %d) still running 10s after SIGKILL", round, h.name, h.pid())
			}
		}
		b.Reset()
		h1 := startHelper(t, a, "barrier-once", b.Offset())
		h2 := startHelper(t, a, "barrier-once", b.Offset())
		if _, err := b.Wait(nil, 5*time.Second, nil); err != nil {
			t.Fatalf("round %d: Wait after Reset = %v, want nil", round, err)
		}
		waitAll(t, 5*time.Second, h1, h2)
	}
}

func init() {
	// stop-holding-lock mutexOff: lock, then stop (SIGSTOP) itself.
	helpers["stop-holding-lock"] = func(a *Arena, args []uint64) error {
		if err := a.MutexAt(args[0]).Lock(nil, 5*time.Second); err != nil {
			return err
		}
		syscall.Kill(os.Getpid(), syscall.SIGSTOP)
		return nil
	}
}

// TestTimeoutsHoldWhileAHolderIsStopped: a process stopped (SIGSTOP) while
// it holds a lock does not make a timed wait overrun its deadline: a Lock
// acquire and a Barrier wait return by their timeouts.
func TestTimeoutsHoldWhileAHolderIsStopped(t *testing.T) {
	a := newTestArena(t)
	b, _ := a.NewBarrier(2)
	bm := a.MutexAt(b.Offset() + barMutex)
	h := startHelper(t, a, "stop-holding-lock", bm.Offset())
	eventually(t, 5*time.Second, "the helper to hold the lock and stop", func() bool {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", h.pid()))
		return bm.Locked() && err == nil && strings.Contains(string(st), ") T ")
	})
	defer func() {
		h.cmd.Process.Kill()
		<-h.done
	}()
	start := time.Now()
	if err := bm.Lock(nil, 300*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Errorf("Lock(300ms) of a lock held by a stopped process = %v, want %v", err, ErrTimeout)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("Lock(300ms) returned after %v", el)
	}
	start = time.Now()
	if _, err := b.Wait(nil, 300*time.Millisecond, nil); !errors.Is(err, ErrBrokenBarrier) {
		t.Errorf("Barrier.Wait(300ms) while its lock's holder is stopped = %v, want %v", err, ErrBrokenBarrier)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("Barrier.Wait(300ms) returned after %v, want by its timeout", el)
	}
}
