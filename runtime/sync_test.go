package runtime

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

func TestLock(t *testing.T) {
	a := newTestArena(t)
	l, _ := a.NewLock()
	if err := l.Release(); !errors.Is(err, ErrNotLocked) {
		t.Errorf("Release of an unheld Lock = %v, want %v", err, ErrNotLocked)
	}
	if ok, err := l.Acquire(nil, true, -1); !ok || err != nil {
		t.Fatalf("Acquire = %v, %v, want true, nil", ok, err)
	}
	if ok, _ := l.Acquire(nil, false, -1); ok {
		t.Error("Acquire(block=false) of a held Lock = true, want false")
	}
	if ok, err := l.Acquire(nil, true, 50*time.Millisecond); ok || err != nil {
		t.Errorf("Acquire(50ms) of a held Lock = %v, %v, want false, nil", ok, err)
	}
	// Another process may release it, as in Python.
	startHelper(t, a, "lock-release", l.Offset()).wait(t, 10*time.Second)
	if l.Locked() {
		t.Error("Locked() = true after another process released it, want false")
	}
}

func TestRLock(t *testing.T) {
	a := newTestArena(t)
	r, _ := a.NewRLock()
	for i := 1; i <= 3; i++ {
		if ok, err := r.Acquire(nil, true, time.Second); !ok || err != nil {
			t.Fatalf("Acquire #%d = %v, %v, want true, nil", i, ok, err)
		}
	}
	if r.Count() != 3 || !r.Locked() {
		t.Errorf("after 3 acquires: Count, Locked = %d, %v, want 3, true", r.Count(), r.Locked())
	}
	startHelper(t, a, "rlock-release", r.Offset()).wait(t, 10*time.Second)
	startHelper(t, a, "rlock-try", r.Offset()).wait(t, 10*time.Second)
	for i := 1; i <= 3; i++ {
		if err := r.Release(); err != nil {
			t.Fatalf("Release #%d = %v, want nil", i, err)
		}
		if locked := r.Locked(); locked != (i < 3) {
			t.Errorf("after release #%d: Locked = %v, want %v", i, locked, i < 3)
		}
	}
	if err := r.Release(); !errors.Is(err, ErrNotOwner) {
		t.Errorf("Release of an unheld RLock = %v, want %v", err, ErrNotOwner)
	}
}

func TestSemaphoreAdmitsAtMostValue(t *testing.T) {
	a := newTestArena(t)
	s, _ := a.NewSemaphore(2)
	inside, most, ready := alloc(t, a, 4), alloc(t, a, 4), alloc(t, a, 4)
	var hs []*helper
	for range 3 {
		hs = append(hs, startHelper(t, a, "semaphore", s.Offset(), inside, most, 3000, ready, 3))
	}
	waitAll(t, 30*time.Second, hs...)
	if m := atomic.LoadUint32(a.Uint32(most)); m > 2 || m == 0 {
		t.Errorf("at most %d holders at once, want 1 or 2 (never 3)", m)
	}
	if v := s.Value(); v != 2 {
		t.Errorf("Value after all released = %d, want 2", v)
	}
}

func TestSemaphore(t *testing.T) {
	a := newTestArena(t)
	s, _ := a.NewSemaphore(1)
	if ok, _ := s.Acquire(nil, false, -1); !ok {
		t.Fatal("Acquire of Semaphore(1) = false, want true")
	}
	if ok, _ := s.Acquire(nil, false, -1); ok {
		t.Error("second Acquire(block=false) of Semaphore(1) = true, want false")
	}
	for range 3 { // unbounded: may rise above its start
		if err := s.Release(); err != nil {
			t.Errorf("Release = %v, want nil", err)
		}
	}
	if v := s.Value(); v != 3 {
		t.Errorf("Value = %d, want 3", v)
	}

	b, _ := a.NewBoundedSemaphore(1)
	if err := b.Release(); !errors.Is(err, ErrOverRelease) {
		t.Errorf("Release of a full BoundedSemaphore = %v, want %v", err, ErrOverRelease)
	}
	b.Acquire(nil, true, -1)
	if err := b.Release(); err != nil {
		t.Errorf("Release after Acquire = %v, want nil", err)
	}
	if _, err := a.NewSemaphore(-1); err == nil {
		t.Error("NewSemaphore(-1) = nil error, want one")
	}

	// A release from another goroutine wakes a waiter.
	z, _ := a.NewSemaphore(0)
	released := make(chan struct{})
	time.AfterFunc(20*time.Millisecond, func() { z.Release(); close(released) })
	if ok, err := z.Acquire(nil, true, 5*time.Second); !ok || err != nil {
		t.Errorf("Acquire woken by Release = %v, %v, want true, nil", ok, err)
	}
	<-released
}

func TestEventWakesProcesses(t *testing.T) {
	a := newTestArena(t)
	e, _ := a.NewEvent()
	var hs []*helper
	for range 3 {
		hs = append(hs, startHelper(t, a, "event-wait", e.Offset()))
	}
	eventually(t, 10*time.Second, "3 waiters", func() bool { return atomic.LoadUint32(e.waits) == 3 })
	if e.IsSet() {
		t.Error("IsSet of a new Event = true, want false")
	}
	e.Set()
	waitAll(t, 10*time.Second, hs...)
	if !e.IsSet() {
		t.Error("IsSet after Set = false, want true")
	}
	if ok, _ := e.Wait(nil, 0); !ok {
		t.Error("Wait on a set Event = false, want true")
	}
	e.Clear()
	if e.IsSet() {
		t.Error("IsSet after Clear = true, want false")
	}
}

func TestBarrierRounds(t *testing.T) {
	a := newTestArena(t)
	const parties, rounds = 3, 1000
	b, _ := a.NewBarrier(parties)
	counter, masks, actions := alloc(t, a, 8), alloc(t, a, 4*rounds), alloc(t, a, 8)
	var hs []*helper
	for range parties {
		hs = append(hs, startHelper(t, a, "barrier-rounds", b.Offset(), counter, masks, actions, rounds))
	}
	waitAll(t, 60*time.Second, hs...)
	for r := range uint64(rounds) {
		if m := atomic.LoadUint32(a.Uint32(masks + 4*r)); m != 1<<parties-1 {
			t.Fatalf("round %d: indexes returned %03b, want each of 0..%d once", r, m, parties-1)
		}
	}
	if n := atomic.LoadUint64(a.Uint64(actions)); n != rounds {
		t.Errorf("the action ran %d times in %d rounds, want once a round", n, rounds)
	}
}

func TestBarrierBreaks(t *testing.T) {
	a := newTestArena(t)
	b, _ := a.NewBarrier(2)
	if b.Parties() != 2 || b.Broken() || b.NWaiting() != 0 {
		t.Fatalf("new Barrier(2): Parties, Broken, NWaiting = %d, %v, %d", b.Parties(), b.Broken(), b.NWaiting())
	}

	// Timeout breaks it.
	start := time.Now()
	_, err := b.Wait(nil, 100*time.Millisecond, nil)
	if el := time.Since(start); !errors.Is(err, ErrBrokenBarrier) || el < 80*time.Millisecond || el > 2*time.Second {
		t.Errorf("Wait(100ms) alone = %v after %v, want %v after 80ms–2s", err, el, ErrBrokenBarrier)
	}
	if !b.Broken() {
		t.Error("Broken after a timeout = false, want true")
	}
	if _, err := b.Wait(nil, time.Second, nil); !errors.Is(err, ErrBrokenBarrier) {
		t.Errorf("Wait on a broken Barrier = %v, want %v", err, ErrBrokenBarrier)
	}
	b.Reset()
	if b.Broken() {
		t.Error("Broken after Reset = true, want false")
	}

	// Abort breaks it for a waiter in another process.
	h := startHelper(t, a, "barrier-broken", b.Offset())
	eventually(t, 10*time.Second, "a waiter", func() bool { return b.NWaiting() == 1 })
	b.Abort()
	h.wait(t, 10*time.Second)
	b.Reset()

	// Reset breaks it for the current waiters and leaves it usable.
	h = startHelper(t, a, "barrier-broken", b.Offset())
	eventually(t, 10*time.Second, "a waiter", func() bool { return b.NWaiting() == 1 })
	b.Reset()
	h.wait(t, 10*time.Second)
	if b.Broken() {
		t.Error("Broken after Reset = true, want false")
	}
	h = startHelper(t, a, "barrier-once", b.Offset())
	if idx, err := b.Wait(nil, 10*time.Second, nil); err != nil || idx < 0 || idx > 1 {
		t.Errorf("Wait after Reset = %d, %v, want 0 or 1, nil", idx, err)
	}
	h.wait(t, 10*time.Second)

	// A failing action: its process gets the error, the other
	// ErrBrokenBarrier.
	h = startHelper(t, a, "barrier-broken", b.Offset())
	eventually(t, 10*time.Second, "a waiter", func() bool { return b.NWaiting() == 1 })
	boom := errors.New("boom")
	if _, err := b.Wait(nil, 10*time.Second, func() error { return boom }); err != boom {
		t.Errorf("Wait whose action failed = %v, want %v", err, boom)
	}
	h.wait(t, 10*time.Second)
	if !b.Broken() {
		t.Error("Broken after a failed action = false, want true")
	}

	// Cancelling breaks it too.
	b.Reset()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	if _, err := b.Wait(ctx, 5*time.Second, nil); !errors.Is(err, context.Canceled) || !b.Broken() {
		t.Errorf("cancelled Wait = %v, Broken %v, want %v, true", err, b.Broken(), context.Canceled)
	}
}

func TestCondition(t *testing.T) {
	a := newTestArena(t)
	c, err := a.NewCondition(nil) // on a new RLock
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wait(nil, time.Second); !errors.Is(err, ErrNotOwner) {
		t.Errorf("Wait on an un-acquired Condition = %v, want %v", err, ErrNotOwner)
	}
	if _, err := c.Notify(1); !errors.Is(err, ErrNotOwner) {
		t.Errorf("Notify on an un-acquired Condition = %v, want %v", err, ErrNotOwner)
	}

	// Waiting on an RLock taken twice releases it fully and restores it.
	c.Acquire(nil, true, -1)
	c.Acquire(nil, true, -1)
	start := time.Now()
	woken, err := c.Wait(nil, 100*time.Millisecond)
	if el := time.Since(start); woken || err != nil || el < 80*time.Millisecond || el > 2*time.Second {
		t.Errorf("Wait(100ms) = %v, %v after %v, want false, nil after 80ms–2s", woken, err, el)
	}
	if r := c.Lock().(*RLock); r.Count() != 2 || r.Owner() != os.Getpid() {
		t.Errorf("after Wait: RLock count, owner = %d, %d, want 2, %d", r.Count(), r.Owner(), os.Getpid())
	}
	c.Release()
	c.Release()

	// A waiter in another process, notified.
	ready := alloc(t, a, 4)
	h := startHelper(t, a, "condition-wait", c.Offset(), ready)
	eventually(t, 10*time.Second, "the waiter", func() bool {
		c.Acquire(nil, true, -1)
		defer c.Release()
		return *a.Uint32(ready) == 1
	})
	c.Acquire(nil, true, -1)
	if n, err := c.Notify(1); n != 1 || err != nil {
		t.Errorf("Notify(1) = %d, %v, want 1, nil", n, err)
	}
	c.Release()
	h.wait(t, 10*time.Second)

	// On a plain Lock.
	l, _ := a.NewLock()
	cl, _ := a.NewCondition(l)
	cl2 := a.ConditionAt(cl.Offset())
	cl2.Acquire(nil, true, -1)
	if n, err := cl2.NotifyAll(); n != 0 || err != nil {
		t.Errorf("NotifyAll with no waiters = %d, %v, want 0, nil", n, err)
	}
	if !l.Locked() {
		t.Error("the Condition's Lock is not held after Acquire")
	}
	cl2.Release()
	cl.Free()
	c.Free()
}

func TestTimeouts(t *testing.T) {
	a := newTestArena(t)
	sem, _ := a.NewSemaphore(0)
	ev, _ := a.NewEvent()
	for _, tc := range []struct {
		name string
		wait func() (bool, error)
	}{
		{"Semaphore.Acquire", func() (bool, error) { return sem.Acquire(nil, true, 100*time.Millisecond) }},
		{"Event.Wait", func() (bool, error) { return ev.Wait(nil, 100*time.Millisecond) }},
	} {
		start := time.Now()
		ok, err := tc.wait()
		if el := time.Since(start); ok || err != nil || el < 80*time.Millisecond || el > 2*time.Second {
			t.Errorf("%s(100ms) = %v, %v after %v, want false, nil after 80ms–2s", tc.name, ok, err, el)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	if ok, err := sem.Acquire(ctx, true, -1); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Semaphore.Acquire = %v, %v, want false, %v", ok, err, context.Canceled)
	}
	if ok, err := ev.Wait(ctx, -1); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("Event.Wait with a cancelled context = %v, %v, want false, %v", ok, err, context.Canceled)
	}
}
