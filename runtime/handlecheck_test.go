package runtime

import (
	"errors"
	"testing"
)

// TestCheckRange: an object must lie whole in the heap, 64-byte aligned.
func TestCheckRange(t *testing.T) {
	a := newTestArena(t)
	size := uint64(a.Size())
	first := uint64(heapStart + blockHeader)
	tests := []struct {
		off, n uint64
		ok     bool
	}{
		{first, 8, true},
		{first + 64, 48, true},
		{size - 64, 64, true},
		{size - 64, 65, false},
		{size - 64, 1 << 63, false},
		{size - 8, 8, false},
		{size, 0, false},
		{size + 64, 8, false},
		{0, 8, false},
		{64, 8, false},
		{heapStart, 8, false},
		{first + 1, 8, false},
		{first + 32, 8, false},
		{1<<64 - 64, 128, false},
	}
	for _, tt := range tests {
		err := a.CheckRange(tt.off, tt.n)
		if (err == nil) != tt.ok || err != nil && !errors.Is(err, ErrBadOffset) {
			t.Errorf("CheckRange(%d, %d) = %v, want ok=%v", tt.off, tt.n, err, tt.ok)
		}
	}
}

// TestFromHandle: the checked constructors refuse what CheckRange
// refuses, and a Condition whose stored lock offset is bad.
func TestFromHandle(t *testing.T) {
	a := newTestArena(t)
	bad := uint64(a.Size()) - 4
	if _, err := a.LockFromHandle(bad); err == nil {
		t.Errorf("LockFromHandle(%d): no error, want one", bad)
	}
	if _, err := a.RLockFromHandle(bad); err == nil {
		t.Errorf("RLockFromHandle(%d): no error, want one", bad)
	}
	if _, err := a.EventFromHandle(bad); err == nil {
		t.Errorf("EventFromHandle(%d): no error, want one", bad)
	}
	if _, err := a.SemaphoreFromHandle(bad); err == nil {
		t.Errorf("SemaphoreFromHandle(%d): no error, want one", bad)
	}
	if _, err := a.BarrierFromHandle(bad); err == nil {
		t.Errorf("BarrierFromHandle(%d): no error, want one", bad)
	}
	c, err := a.NewCondition(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a.ConditionFromHandle(c.Offset()); err != nil || got.Lock().Offset() != c.Lock().Offset() {
		t.Fatalf("ConditionFromHandle(%d) = %v, %v, want the Condition", c.Offset(), got, err)
	}
	*a.Uint64(c.Offset() + condnLock) = bad
	if _, err := a.ConditionFromHandle(c.Offset()); err == nil {
		t.Errorf("ConditionFromHandle of a Condition whose lock is at %d: no error, want one", bad)
	}
}
