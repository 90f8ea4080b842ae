package runtime

import (
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestArenaAllocAcrossProcesses(t *testing.T) {
	a := newTestArena(t)
	out := alloc(t, a, 8)
	for _, n := range []int{100, 5000, 1 << 20} {
		// A child allocates and fills; we see its bytes and free them.
		startHelper(t, a, "alloc", uint64(n), out).wait(t, 10*time.Second)
		off := atomic.LoadUint64(a.Uint64(out))
		if b := a.Bytes(off, n); b[0] != 0xAB || b[n-1] != 0xAB {
			t.Fatalf("Alloc(%d) in a child: this process reads %#x…%#x at %d, want 0xab", n, b[0], b[n-1], off)
		}
		a.Free(off)
		// Another child gets the space back, zeroed (it checks).
		startHelper(t, a, "alloc", uint64(n), out).wait(t, 10*time.Second)
		if again := atomic.LoadUint64(a.Uint64(out)); again != off {
			t.Errorf("Alloc(%d) after Free(%d) = %d, want the space back", n, off, again)
		}
		// And a child frees what this process allocated.
		mine := alloc(t, a, n)
		startHelper(t, a, "free", mine).wait(t, 10*time.Second)
		if again := alloc(t, a, n); again != mine {
			t.Errorf("Alloc(%d) after a child freed %d = %d, want it back", n, mine, again)
		}
	}
}

func TestArenaAllocStress(t *testing.T) {
	a := newTestArena(t)
	rng := rand.New(rand.NewPCG(1, 2))
	type block struct {
		off uint64
		n   int
	}
	var live []block
	owner := map[uint64]int{} // 64-byte granule → index+1 of the block using it
	check := func(b block, fill byte) {
		if b.off%64 != 0 {
			t.Fatalf("Alloc(%d) = %d, want a multiple of 64", b.n, b.off)
		}
		for i, x := range a.Bytes(b.off, b.n) {
			if x != fill {
				t.Fatalf("block %d (%d bytes): byte %d = %#x, want %#x", b.off, b.n, i, x, fill)
			}
		}
	}
	for i := range 3000 {
		if len(live) > 0 && rng.IntN(3) == 0 {
			j := rng.IntN(len(live))
			b := live[j]
			check(b, byte(b.off>>6))
			for g := b.off; g < b.off+uint64(b.n); g += 64 {
				delete(owner, g>>6)
			}
			a.Free(b.off)
			live = append(live[:j], live[j+1:]...)
			continue
		}
		n := 1 + rng.IntN(2000)
		if i%50 == 0 {
			n = 1 + rng.IntN(3<<20)
		}
		off, err := a.Alloc(n)
		if err != nil {
			t.Fatalf("Alloc(%d) with %d blocks live: %v", n, len(live), err)
		}
		b := block{off, n}
		check(b, 0)
		for g := off; g < off+uint64(n); g += 64 {
			if o, ok := owner[g>>6]; ok {
				t.Fatalf("Alloc(%d) = %d overlaps live block %d", n, off, o)
			}
			owner[g>>6] = int(off)
		}
		clear(a.Bytes(off, n))
		for k := range a.Bytes(off, n) {
			a.Bytes(off, n)[k] = byte(off >> 6)
		}
		live = append(live, b)
	}
	for _, b := range live {
		a.Free(b.off)
	}
	// The large blocks coalesced again: half the arena fits in one piece
	// (the small-class chunks stay where they are).
	if _, err := a.Alloc(int(a.Size() / 2)); err != nil {
		t.Errorf("after freeing everything, a big Alloc fails: %v", err)
	}
}

func TestArenaLargeCoalesce(t *testing.T) {
	a := newTestArena(t)
	var offs []uint64
	for range 3 {
		offs = append(offs, alloc(t, a, 16<<20))
	}
	guard := alloc(t, a, 1<<20) // keeps the three away from the wilderness
	for _, i := range []int{0, 2, 1} {
		a.Free(offs[i])
	}
	// Only the three merged can hold 40 MiB below the guard.
	if big := alloc(t, a, 40<<20); big != offs[0] {
		t.Errorf("Alloc(40M) after freeing three adjacent 16M blocks = %d, want %d (merged)", big, offs[0])
	}
	a.Free(guard)
}

func TestArenaFull(t *testing.T) {
	a, err := NewArena(minArenaSize)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { a.unmap(); a.f.Close() }()
	_, err = a.Alloc(64 << 20)
	if !errors.Is(err, ErrArenaFull) {
		t.Fatalf("Alloc(64M) in a small arena = %v, want %v", err, ErrArenaFull)
	}
	for _, want := range []string{"64M", "PROCSH_ARENA_SIZE", "--arena-size", formatSize(a.Size())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	// Small objects until it is full, then the same error.
	n := 0
	for ; n < 1<<20; n++ {
		if _, err = a.Alloc(100); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrArenaFull) || n < 1000 {
		t.Errorf("after %d small allocations: %v, want %v", n, err, ErrArenaFull)
	}
	if _, err := NewArena(1000); err == nil {
		t.Error("NewArena(1000) = nil error, want one about the minimum size")
	}
}

func TestAttachArena(t *testing.T) {
	a := newTestArena(t)
	b, err := AttachArena(a.File())
	if err != nil {
		t.Fatal(err)
	}
	defer b.unmap()
	off := alloc(t, a, 8)
	*a.Uint64(off) = 42
	if got := *b.Uint64(off); got != 42 || b.Size() != a.Size() {
		t.Errorf("second mapping reads %d, size %d, want 42, %d", got, b.Size(), a.Size())
	}

	fd, _ := unix.MemfdCreate("not-an-arena", unix.MFD_CLOEXEC)
	f := os.NewFile(uintptr(fd), "not-an-arena")
	defer f.Close()
	unix.Ftruncate(fd, minArenaSize)
	if _, err := AttachArena(f); err == nil || !strings.Contains(err.Error(), "magic") {
		t.Errorf("AttachArena of a blank memfd = %v, want an error about its magic", err)
	}
}

func TestProcessRegistry(t *testing.T) {
	a := newTestArena(t)
	if got := a.ProcessName(1234); got != "" {
		t.Errorf("ProcessName of an unknown pid = %q, want \"\"", got)
	}
	a.RegisterProcess(1234, "Process-1")
	a.RegisterProcess(99, strings.Repeat("x", 100))
	a.RegisterProcess(1234, "worker")
	if got := a.ProcessName(1234); got != "worker" {
		t.Errorf("ProcessName(1234) = %q, want %q", got, "worker")
	}
	if got := a.ProcessName(99); got != strings.Repeat("x", registryName) {
		t.Errorf("ProcessName(99) = %q, want the name cut to %d bytes", got, registryName)
	}
	a.UnregisterProcess(1234)
	if got := a.ProcessName(1234); got != "" {
		t.Errorf("ProcessName after Unregister = %q, want \"\"", got)
	}
	for pid := 1; pid <= registrySlots+10; pid++ { // overfill: extra ones are dropped
		a.RegisterProcess(100000+pid, "p")
	}
	if got := a.ProcessName(100001); got != "p" {
		t.Errorf("ProcessName(100001) = %q, want \"p\"", got)
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"1048576", 1 << 20}, {"64M", 64 << 20}, {"4G", 4 << 30}, {"512k", 512 << 10},
		{"2GiB", 2 << 30}, {"1T", 1 << 40}, {" 8m ", 8 << 20}, {"100B", 100},
	} {
		if got, err := ParseSize(tc.in); got != tc.want || err != nil {
			t.Errorf("ParseSize(%q) = %d, %v, want %d", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "G", "-1", "0", "1.5G", "4X", "99999999999T"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		}
	}
	if got := formatSize(4 << 30); got != "4G" {
		t.Errorf("formatSize(4<<30) = %q, want 4G", got)
	}
}
