package runtime

import (
	"context"
	"errors"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

func TestMutexIncrementsAcrossProcesses(t *testing.T) {
	a := newTestArena(t)
	m, err := a.NewMutex()
	if err != nil {
		t.Fatal(err)
	}
	counter, ready := alloc(t, a, 8), alloc(t, a, 4)
	const procs, each = 4, 25000
	var hs []*helper
	for range procs {
		hs = append(hs, startHelper(t, a, "increment", m.Offset(), counter, each, ready, procs))
	}
	waitAll(t, 30*time.Second, hs...)
	if got := atomic.LoadUint64(a.Uint64(counter)); got != procs*each {
		t.Errorf("counter = %d after %d processes × %d locked increments, want %d", got, procs, each, procs*each)
	}
	if m.Locked() {
		t.Errorf("Locked() = true after every process unlocked, want false")
	}
}

func TestMutexBasics(t *testing.T) {
	a := newTestArena(t)
	m, _ := a.NewMutex()
	if err := m.Unlock(); !errors.Is(err, ErrNotLocked) {
		t.Errorf("Unlock of an unlocked Mutex = %v, want %v", err, ErrNotLocked)
	}
	if !m.TryLock() {
		t.Fatal("TryLock of a free Mutex = false, want true")
	}
	if m.TryLock() {
		t.Error("TryLock of a held Mutex = true, want false")
	}
	if !m.Locked() || m.Owner() != os.Getpid() {
		t.Errorf("Locked, Owner = %v, %d, want true, %d", m.Locked(), m.Owner(), os.Getpid())
	}
	if err := m.Lock(nil, 0); !errors.Is(err, ErrTimeout) {
		t.Errorf("Lock(timeout 0) of a held Mutex = %v, want %v", err, ErrTimeout)
	}
	if err := m.Unlock(); err != nil {
		t.Errorf("Unlock = %v, want nil", err)
	}
	if m.Locked() || m.Owner() != 0 {
		t.Errorf("after Unlock: Locked, Owner = %v, %d, want false, 0", m.Locked(), m.Owner())
	}
	if err := m.Lock(nil, 0); err != nil {
		t.Errorf("Lock(timeout 0) of a free Mutex = %v, want nil", err)
	}
	m2 := a.MutexAt(m.Offset())
	if err := m2.Unlock(); err != nil {
		t.Errorf("Unlock through a second handle = %v, want nil", err)
	}
}

func TestMutexTimeoutAndCancel(t *testing.T) {
	a := newTestArena(t)
	m, _ := a.NewMutex()
	m.Lock(nil, -1)
	defer m.Unlock()

	start := time.Now()
	err := m.Lock(nil, 100*time.Millisecond)
	if el := time.Since(start); !errors.Is(err, ErrTimeout) || el < 80*time.Millisecond || el > 2*time.Second {
		t.Errorf("Lock(100ms) of a held Mutex = %v after %v, want %v after 80ms–2s", err, el, ErrTimeout)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	start = time.Now()
	err = m.Lock(ctx, 5*time.Second)
	if el := time.Since(start); !errors.Is(err, context.Canceled) || el > time.Second {
		t.Errorf("Lock cancelled after 30ms = %v after %v, want %v at once", err, el, context.Canceled)
	}
	if err := m.Lock(ctx, -1); !errors.Is(err, context.Canceled) {
		t.Errorf("Lock with a cancelled context = %v, want %v", err, context.Canceled)
	}
}

func TestMutexOwnerDied(t *testing.T) {
	a := newTestArena(t)
	m, _ := a.NewMutex()
	m.what = "a Lock"

	type death struct {
		pid        int
		name, what string
	}
	died := make(chan death, 4)
	saved := OnOwnerDied
	OnOwnerDied = func(pid int, name, what string) { died <- death{pid, name, what} }
	defer func() { OnOwnerDied = saved }()

	// Start the child by hand and reap it only at the end, so that it is a
	// zombie while we recover its lock.
	p, err := os.StartProcess(os.Args[0], []string{os.Args[0], "-test.run=^$"}, &os.ProcAttr{
		Env:   helperEnviron("die-holding-lock", strconv.FormatUint(m.Offset(), 10)),
		Files: []*os.File{nil, os.Stdout, os.Stderr, a.File()},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Wait()
	defer p.Kill()
	a.RegisterProcess(p.Pid, "Process-7")
	defer a.UnregisterProcess(p.Pid)

	eventually(t, 5*time.Second, "the child to hold the lock and die", func() bool {
		return m.Owner() == p.Pid && !a.Alive(m.Holder())
	})
	start := time.Now()
	if err := m.Lock(nil, 5*time.Second); err != nil {
		t.Fatalf("Lock of a Mutex whose holder died = %v, want nil", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("recovered the lock after %v, want within 1s", el)
	}
	if m.Owner() != os.Getpid() {
		t.Errorf("Owner after recovery = %d, want %d", m.Owner(), os.Getpid())
	}
	select {
	case d := <-died:
		if want := (death{p.Pid, "Process-7", "a Lock"}); d != want {
			t.Errorf("OnOwnerDied(%d, %q, %q), want (%d, %q, %q)", d.pid, d.name, d.what, want.pid, want.name, want.what)
		}
	default:
		t.Error("OnOwnerDied was not called")
	}
	if err := m.Unlock(); err != nil {
		t.Errorf("Unlock after recovery = %v", err)
	}
}

func TestMutexOwnerDiedReaped(t *testing.T) {
	// The same, with the dead holder reaped (kill(pid, 0) says ESRCH), and
	// two processes racing to recover: exactly one does.
	a := newTestArena(t)
	m, _ := a.NewMutex()
	var calls atomic.Int32
	saved := OnOwnerDied
	OnOwnerDied = func(int, string, string) { calls.Add(1) }
	defer func() { OnOwnerDied = saved }()

	h := startHelper(t, a, "die-holding-lock", m.Offset())
	<-h.done
	if m.Owner() != h.pid() {
		t.Fatalf("Owner = %d after the helper died holding the lock, want %d (%s)", m.Owner(), h.pid(), h.out.String())
	}
	counter := alloc(t, a, 8)
	inc := startHelper(t, a, "increment", m.Offset(), counter, 1000)
	start := time.Now()
	if err := m.Lock(nil, 5*time.Second); err != nil {
		t.Fatalf("Lock = %v, want nil", err)
	}
	el := time.Since(start)
	m.Unlock()
	inc.wait(t, 10*time.Second)
	if el > time.Second {
		t.Errorf("took the lock after %v, want within 1s", el)
	}
	if got := atomic.LoadUint64(a.Uint64(counter)); got != 1000 {
		t.Errorf("counter = %d, want 1000", got)
	}
	// The helper, not this process, may have been the one to recover.
	if c := calls.Load(); c > 1 {
		t.Errorf("OnOwnerDied called %d times in this process, want at most 1", c)
	}
}

func BenchmarkMutexUncontended(b *testing.B) {
	a := newTestArena(b)
	m, _ := a.NewMutex()
	for b.Loop() {
		m.Lock(nil, -1)
		m.Unlock()
	}
}

// BenchmarkMutexContended2Proc measures lock+unlock in this process while
// a child process locks and unlocks the same Mutex in a loop.
func BenchmarkMutexContended2Proc(b *testing.B) {
	a := newTestArena(b)
	m, _ := a.NewMutex()
	stop := alloc(b, a, 4)
	h := startHelper(b, a, "spin-lock", m.Offset(), stop)
	time.Sleep(20 * time.Millisecond)
	for b.Loop() {
		m.Lock(nil, -1)
		m.Unlock()
	}
	atomic.StoreUint32(a.Uint32(stop), 1)
	h.wait(b, 10*time.Second)
}

// BenchmarkBarrier2Proc measures one round of a two-party Barrier with the
// other party in a child process.
func BenchmarkBarrier2Proc(b *testing.B) {
	a := newTestArena(b)
	bar, _ := a.NewBarrier(2)
	h := startHelper(b, a, "barrier-bench", bar.Offset(), uint64(b.N))
	b.ResetTimer()
	for range b.N {
		if _, err := bar.Wait(nil, 30*time.Second, nil); err != nil {
			b.Fatal(err)
		}
	}
	h.wait(b, 10*time.Second)
}
