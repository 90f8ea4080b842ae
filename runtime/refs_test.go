package runtime

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

func init() {
	// hold-and-wait readyOff n transferOff...: adopt a transfer reference
	// to each object given, make and hold n objects of its own, hold the
	// first given one a second time, then say so at readyOff and wait to
	// be killed.
	helpers["hold-and-wait"] = func(a *Arena, args []uint64) error {
		ready, n := a.Uint32(args[0]), int(args[1])
		for _, off := range args[2:] {
			if err := a.Adopt(off); err != nil {
				return err
			}
		}
		if len(args) > 2 {
			if err := a.Hold(args[2]); err != nil {
				return err
			}
		}
		for i := 0; i < n; i++ {
			off, err := a.Alloc(64 + i%3000)
			if err != nil {
				return err
			}
			if err := a.Hold(off); err != nil {
				return err
			}
		}
		atomic.StoreUint32(ready, 1)
		time.Sleep(time.Minute)
		return fmt.Errorf("not killed")
	}
}

func TestRetainRelease(t *testing.T) {
	a := newTestArena(t)
	base := a.InUse()
	off := alloc(t, a, 100)
	if got := a.Refs(off); got != 0 {
		t.Fatalf("Refs of a new block = %d, want 0", got)
	}
	// Not counted: Release leaves it alone.
	a.Release(off)
	if a.InUse() == base {
		t.Fatal("Release of a block never retained freed it")
	}
	for i := 0; i < 2; i++ {
		if err := a.Retain(off); err != nil {
			t.Fatal(err)
		}
	}
	a.Release(off)
	if got := a.Refs(off); got != 1 {
		t.Fatalf("Refs after 2 Retain and 1 Release = %d, want 1", got)
	}
	a.Release(off)
	if got := a.InUse(); got != base {
		t.Fatalf("InUse after the last Release = %d, want %d", got, base)
	}
	// Freed: a second Release does nothing, even once the block is
	// reused.
	a.Release(off)
	again := alloc(t, a, 100)
	if err := a.Retain(again); err != nil {
		t.Fatal(err)
	}
	a.Release(off + 8)
	if again == off {
		a.Release(off) // the new object's own reference: a real release
		if got := a.InUse(); got != base {
			t.Fatalf("InUse = %d, want %d", got, base)
		}
	}
}

func TestRetainBadOffsets(t *testing.T) {
	a := newTestArena(t)
	off := alloc(t, a, 100)
	for _, bad := range []uint64{0, 64, heapStart, off + 64, off - 64, off + 1, uint64(a.Size()), 1 << 62} {
		if err := a.Retain(bad); err == nil {
			t.Errorf("Retain(%d) = nil, want an error", bad)
		}
		a.Release(bad) // must not fault or free anything
		if err := a.Adopt(bad); err == nil {
			t.Errorf("Adopt(%d) = nil, want an error", bad)
		}
	}
}

func TestHoldSharesOneReference(t *testing.T) {
	a := newTestArena(t)
	base := a.InUse()
	off := alloc(t, a, 8)
	for i := 0; i < 3; i++ {
		if err := a.Hold(off); err != nil {
			t.Fatal(err)
		}
	}
	if got, h := a.Refs(off), a.Holding(off); got != 1 || h != 3 {
		t.Fatalf("after 3 Hold: Refs = %d, Holding = %d, want 1 and 3", got, h)
	}
	// A transfer reference adopted by a process that holds the object
	// already is dropped.
	if err := a.Retain(off); err != nil {
		t.Fatal(err)
	}
	if err := a.Adopt(off); err != nil {
		t.Fatal(err)
	}
	if got, h := a.Refs(off), a.Holding(off); got != 1 || h != 4 {
		t.Fatalf("after Adopt: Refs = %d, Holding = %d, want 1 and 4", got, h)
	}
	for i := 0; i < 4; i++ {
		a.Unhold(off)
	}
	a.Unhold(off) // one too many: nothing
	// What is left is this process's reference log.
	if got := a.InUse(); got > base+4096 {
		t.Fatalf("InUse after the last Unhold = %d, want %d and the log", got, base)
	}
	if err := a.Adopt(off); err == nil {
		t.Fatal("Adopt of a freed object = nil, want an error")
	}
}

// TestKilledHolderReleases: a child killed by SIGKILL while holding
// references, its own objects' and transferred ones, releases them all
// once its slot is swept, as the parent does after reaping a child.
func TestKilledHolderReleases(t *testing.T) {
	a := newTestArena(t)
	ready := alloc(t, a, 8)
	var shared []uint64
	for i := 0; i < 3; i++ {
		off := alloc(t, a, 200)
		if err := a.Hold(off); err != nil {
			t.Fatal(err)
		}
		shared = append(shared, off)
	}
	base := a.InUse()
	args := []uint64{ready, 500}
	for _, off := range shared {
		if err := a.Retain(off); err != nil { // in flight to the child
			t.Fatal(err)
		}
		args = append(args, off)
	}
	h := startHelper(t, a, "hold-and-wait", args...)
	eventually(t, 10*time.Second, "the helper to hold its references", func() bool {
		select {
		case <-h.done:
			t.Fatalf("helper ended early: %v\n%s", h.err, h.out.String())
		default:
		}
		return atomic.LoadUint32(a.Uint32(ready)) == 1
	})
	for _, off := range shared {
		if got := a.Refs(off); got != 2 {
			t.Fatalf("Refs of a shared object while the child holds it = %d, want 2", got)
		}
	}
	if a.InUse() <= base {
		t.Fatal("InUse did not grow while the child held its objects")
	}
	h.cmd.Process.Kill()
	<-h.done
	a.SweepDead()
	for _, off := range shared {
		if got := a.Refs(off); got != 1 {
			t.Errorf("Refs of a shared object after the child died = %d, want 1", got)
		}
	}
	if got := a.InUse(); got != base {
		t.Errorf("InUse after the child died = %d, want the baseline %d", got, base)
	}
	// A second sweep finds nothing more to release.
	a.SweepDead()
	if got := a.Refs(shared[0]); got != 1 {
		t.Errorf("Refs after a second sweep = %d, want 1", got)
	}
}

// TestLogGrows: many objects held at once, then dropped, all freed.
func TestLogGrows(t *testing.T) {
	a := newTestArena(t)
	base := a.InUse()
	offs := make([]uint64, 5000)
	for i := range offs {
		offs[i] = alloc(t, a, 8)
		if err := a.Hold(offs[i]); err != nil {
			t.Fatal(err)
		}
	}
	for _, off := range offs {
		a.Unhold(off)
	}
	// Only the log is left: 5000 entries of 8 bytes, rounded up.
	if got := a.InUse() - base; got > 64<<10 {
		t.Fatalf("InUse after dropping every object = base + %d, want only the log's bytes", got)
	}
	// Its entries are reused.
	for i := 0; i < 3; i++ {
		off := alloc(t, a, 8)
		if err := a.Hold(off); err != nil {
			t.Fatal(err)
		}
		a.Unhold(off)
	}
}
