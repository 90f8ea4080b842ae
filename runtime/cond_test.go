package runtime

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

func TestCondNotifyCounts(t *testing.T) {
	a := newTestArena(t)
	m, _ := a.NewMutex()
	c, _ := a.NewCond()
	ready, woken := alloc(t, a, 4), alloc(t, a, 4)
	var hs []*helper
	for range 3 {
		hs = append(hs, startHelper(t, a, "cond-wait", c.Offset(), m.Offset(), ready, woken))
	}
	// A waiter counts itself ready under m and enqueues before releasing
	// it, so three ready means three waiting.
	eventually(t, 10*time.Second, "3 waiters", func() bool {
		m.Lock(nil, -1)
		defer m.Unlock()
		return *a.Uint32(ready) == 3
	})

	m.Lock(nil, -1)
	n := c.Notify(1)
	m.Unlock()
	if n != 1 {
		t.Errorf("Notify(1) with 3 waiters = %d, want 1", n)
	}
	eventually(t, 5*time.Second, "one waiter to wake", func() bool { return atomic.LoadUint32(a.Uint32(woken)) >= 1 })
	time.Sleep(200 * time.Millisecond)
	if got := atomic.LoadUint32(a.Uint32(woken)); got != 1 {
		t.Errorf("%d waiters woke after Notify(1), want exactly 1", got)
	}

	m.Lock(nil, -1)
	n = c.NotifyAll()
	m.Unlock()
	if n != 2 {
		t.Errorf("NotifyAll with 2 waiters left = %d, want 2", n)
	}
	waitAll(t, 10*time.Second, hs...)
	if got := atomic.LoadUint32(a.Uint32(woken)); got != 3 {
		t.Errorf("%d waiters woke in all, want 3", got)
	}
	m.Lock(nil, -1)
	if n := c.Notify(5); n != 0 {
		t.Errorf("Notify(5) with no waiters = %d, want 0", n)
	}
	m.Unlock()
}

func TestCondTimeoutLeavesQueue(t *testing.T) {
	a := newTestArena(t)
	m, _ := a.NewMutex()
	c, _ := a.NewCond()
	m.Lock(nil, -1)
	start := time.Now()
	woken, err := c.Wait(m, nil, 100*time.Millisecond)
	el := time.Since(start)
	if woken || !errors.Is(err, ErrTimeout) || el < 80*time.Millisecond || el > 2*time.Second {
		t.Errorf("Wait(100ms) = %v, %v after %v, want false, %v after 80ms–2s", woken, err, el, ErrTimeout)
	}
	if m.Owner() != os.Getpid() {
		t.Errorf("after a timed-out Wait the Mutex is held by %d, want this process", m.Owner())
	}
	// The timed-out waiter left the queue: a later Notify finds nobody.
	if n := c.Notify(1); n != 0 || c.Waiting() {
		t.Errorf("Notify(1) after the only waiter timed out = %d, want 0", n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	woken, err = c.Wait(m, ctx, 5*time.Second)
	if woken || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Wait = %v, %v, want false, %v", woken, err, context.Canceled)
	}
	if c.Waiting() {
		t.Error("a cancelled waiter is still queued")
	}
	m.Unlock()
}

func TestCondNotifySkipsLeftWaiter(t *testing.T) {
	// A waiter that timed out before another started must not absorb the
	// Notify meant for the second: in-process, with goroutines.
	a := newTestArena(t)
	m, _ := a.NewMutex()
	c, _ := a.NewCond()
	m.Lock(nil, -1)
	c.Wait(m, nil, 10*time.Millisecond) // times out, leaves
	done := make(chan bool)
	go func() {
		m.Lock(nil, -1)
		woken, _ := c.Wait(m, nil, 5*time.Second)
		m.Unlock()
		done <- woken
	}()
	m.Unlock()
	eventually(t, 5*time.Second, "the second waiter", func() bool {
		m.Lock(nil, -1)
		defer m.Unlock()
		return c.Waiting()
	})
	m.Lock(nil, -1)
	n := c.Notify(1)
	m.Unlock()
	if n != 1 || !<-done {
		t.Errorf("Notify(1) = %d, want 1 and the waiter woken", n)
	}
}
