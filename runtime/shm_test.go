// Named shared memory: creating, attaching, the trailer, handles after
// unlink, faults, the scan for leaked blocks, and ShmList's layout.

package runtime

import (
	"bytes"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// newTestShm makes a block with a fresh name, unlinked and closed when
// the test ends.
func newTestShm(t *testing.T, size int, owner ShmOwner) *Shm {
	t.Helper()
	s, err := CreateShm("", size, owner)
	if err != nil {
		t.Fatalf("CreateShm(%d): %v", size, err)
	}
	t.Cleanup(func() {
		s.Close()
		UnlinkShm(s.Name())
	})
	return s
}

// shmPath is the file of a block.
func shmPath(name string) string { return filepath.Join(ShmDir, name) }

// testShmName is a name no other test uses.
func testShmName(t *testing.T) string {
	name := "procsh_test_" + strings.TrimPrefix(newShmName(), "psm_")
	t.Cleanup(func() { os.Remove(shmPath(name)) })
	return name
}

func TestShmCreateOpenUnlink(t *testing.T) {
	s := newTestShm(t, 10, ShmOwner{})
	if !strings.HasPrefix(s.Name(), "psm_") || len(s.Name()) != 12 {
		t.Errorf("fresh name %q, want psm_ and 8 hex digits", s.Name())
	}
	st, err := os.Stat(shmPath(s.Name()))
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != pageSize+shmTrailerSize || st.Mode().Perm() != 0o600 {
		t.Errorf("file of a 10-byte block: %d bytes, mode %v; want %d bytes (a page and the trailer), mode 0600", st.Size(), st.Mode().Perm(), pageSize+shmTrailerSize)
	}
	if err := s.Write(3, []byte("abc")); err != nil {
		t.Fatal(err)
	}
	a, err := OpenShm("/" + s.Name())
	if err != nil {
		t.Fatalf("OpenShm: %v", err)
	}
	defer a.Close()
	if a.Size() != 10 || a.Name() != s.Name() {
		t.Errorf("attached %q of %d bytes, want %q of 10", a.Name(), a.Size(), s.Name())
	}
	got, err := a.Read(0, 10)
	if want := []byte("\x00\x00\x00abc\x00\x00\x00\x00"); err != nil || !bytes.Equal(got, want) {
		t.Errorf("Read = %q, %v; want %q", got, err, want)
	}
	if _, err := CreateShm(s.Name(), 4, ShmOwner{}); !errors.Is(err, fs.ErrExist) {
		t.Errorf("CreateShm of a taken name: %v, want ErrExist", err)
	}
	for _, r := range []struct{ off, n int }{{-1, 1}, {0, 11}, {10, 1}, {11, 0}, {5, -1}} {
		if _, err := a.Read(r.off, r.n); err == nil {
			t.Errorf("Read(%d, %d) of 10 bytes: no error, want one", r.off, r.n)
		}
	}
	if err := UnlinkShm(s.Name()); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenShm(s.Name()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenShm after unlink: %v, want ErrNotExist", err)
	}
	if err := UnlinkShm(s.Name()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("second UnlinkShm: %v, want ErrNotExist", err)
	}
	if err := a.Write(0, []byte("x")); err != nil {
		t.Errorf("write after unlink: %v, want the mapping to live on", err)
	}
	a.Close()
	if err := a.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := a.Read(0, 1); !errors.Is(err, ErrShmClosed) {
		t.Errorf("Read after Close: %v, want ErrShmClosed", err)
	}
}

func TestShmSizes(t *testing.T) {
	for _, size := range []int{1, pageSize - 1, pageSize, pageSize + 1, 3 * pageSize} {
		s := newTestShm(t, size, ShmOwner{})
		a, err := OpenShm(s.Name())
		if err != nil {
			t.Fatal(err)
		}
		if a.Size() != size {
			t.Errorf("a block of %d bytes attaches as %d", size, a.Size())
		}
		if err := a.Write(size-1, []byte{7}); err != nil {
			t.Errorf("writing the last byte of %d: %v", size, err)
		}
		a.Close()
	}
	for _, size := range []int{0, -1} {
		if _, err := CreateShm("", size, ShmOwner{}); err == nil {
			t.Errorf("CreateShm(size %d): no error, want one", size)
		}
	}
}

// A file made by another program (Python, or by hand) is a block of its
// whole length; an empty one is refused after a moment.
func TestShmForeignFiles(t *testing.T) {
	for _, length := range []int{100, pageSize + shmTrailerSize} {
		name := testShmName(t)
		if err := os.WriteFile(shmPath(name), make([]byte, length), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := OpenShm(name)
		if err != nil {
			t.Fatalf("OpenShm of a plain file of %d bytes: %v", length, err)
		}
		if s.Size() != length {
			t.Errorf("a plain file of %d bytes attaches as %d", length, s.Size())
		}
		s.Close()
	}
	name := testShmName(t)
	if err := os.WriteFile(shmPath(name), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := OpenShm(name); !errors.Is(err, ErrShmEmpty) {
		t.Errorf("OpenShm of an empty file: %v, want ErrShmEmpty", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > 2*time.Second {
		t.Errorf("an empty file was given %v, want about 100 ms", d)
	}
	// A block being made meanwhile is waited for.
	name = testShmName(t)
	fd, err := unix.Open(shmPath(name), unix.O_CREAT|unix.O_EXCL|unix.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	go func() {
		time.Sleep(10 * time.Millisecond)
		var tr [shmTrailerSize]byte
		copy(tr[:], []byte("PROCSHM1"))
		tr[trSize] = 5
		unix.Pwrite(fd, tr[:], pageSize)
	}()
	s, err := OpenShm(name)
	if err != nil {
		t.Fatalf("OpenShm of a block being made: %v", err)
	}
	if s.Size() != 5 {
		t.Errorf("a block made meanwhile attaches as %d bytes, want 5", s.Size())
	}
	s.Close()
}

func TestShmName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"a", "a"}, {"/a", "a"}, {"//psm_1", "psm_1"}, {"a.b-c_d", "a.b-c_d"}, {strings.Repeat("x", 255), strings.Repeat("x", 255)},
	} {
		if got, err := ShmName(c.in); got != c.want || err != nil {
			t.Errorf("ShmName(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "/", ".", "..", "/..", "a/b", "a\x00b", strings.Repeat("x", 256)} {
		if _, err := ShmName(bad); !errors.Is(err, unix.EINVAL) {
			t.Errorf("ShmName(%q): %v, want EINVAL", bad, err)
		}
	}
}

// A handle reaches its block after the name was unlinked, or taken by
// another block, through the sender's descriptor.
func TestShmHandle(t *testing.T) {
	s := newTestShm(t, 8, ShmOwner{})
	s.Write(0, []byte("original"))
	dev, ino, pid, fd := s.Handle()
	read := func(what string) {
		t.Helper()
		h, err := OpenShmHandle(s.Name(), dev, ino, pid, fd)
		if err != nil {
			t.Fatalf("%s: OpenShmHandle: %v", what, err)
		}
		defer h.Close()
		if got, _ := h.Read(0, 8); string(got) != "original" {
			t.Errorf("%s: the handle's block holds %q, want %q", what, got, "original")
		}
	}
	read("by name")
	UnlinkShm(s.Name())
	read("after unlink")
	other, err := CreateShm(s.Name(), 8, ShmOwner{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	read("with the name taken by another block")
	if _, err := OpenShmHandle(s.Name(), dev, ino, 0, 0); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenShmHandle with no sender: %v, want ErrNotExist", err)
	}
}

// A page that cannot exist (the file was cut short) is an error, not a
// crash.
func TestShmFault(t *testing.T) {
	s := newTestShm(t, 2*pageSize, ShmOwner{})
	if err := os.Truncate(shmPath(s.Name()), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(pageSize, 8); !errors.Is(err, unix.EFAULT) {
		t.Errorf("Read of a page cut off: %v, want EFAULT", err)
	}
	if err := s.Write(0, []byte("x")); !errors.Is(err, unix.EFAULT) {
		t.Errorf("Write of a page cut off: %v, want EFAULT", err)
	}
}

func TestLeakedShm(t *testing.T) {
	var b [8]byte
	copy(b[:], newShmName()[4:])
	owner := ShmOwner{Dev: 1<<63 | uint64(b[0])<<8 | uint64(b[1]), Ino: uint64(time.Now().UnixNano())}
	mine := []string{newTestShm(t, 1, owner).Name(), newTestShm(t, pageSize+1, owner).Name()}
	newTestShm(t, 1, ShmOwner{})
	newTestShm(t, 1, ShmOwner{Dev: owner.Dev, Ino: owner.Ino + 1})
	got := LeakedShm(owner)
	slices.Sort(got)
	slices.Sort(mine)
	if !slices.Equal(got, mine) {
		t.Errorf("LeakedShm = %v, want %v", got, mine)
	}
	if got := LeakedShm(ShmOwner{}); got != nil {
		t.Errorf("LeakedShm(zero owner) = %v, want none", got)
	}
}

func TestShmOwnerOf(t *testing.T) {
	a, err := NewArena(minArenaSize)
	if err != nil {
		t.Fatal(err)
	}
	defer a.File().Close()
	if o := ShmOwnerOf(a); o.Ino == 0 {
		t.Errorf("ShmOwnerOf(arena) = %+v, want the memfd's inode", o)
	}
	if o := ShmOwnerOf(nil); o != (ShmOwner{}) {
		t.Errorf("ShmOwnerOf(nil) = %+v, want zero", o)
	}
}

func TestShmList(t *testing.T) {
	items := []ShmItem{
		{Kind: ShmNumber, Num: 1.5}, {Kind: ShmString, Str: "hello"}, {Kind: ShmString},
		{Kind: ShmTrue}, {Kind: ShmFalse}, {Kind: ShmNil}, {Kind: ShmString, Str: "nine char"},
		{Kind: ShmNumber, Num: math.Inf(-1)},
	}
	l, err := CreateShmList("", items, ShmOwner{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Shm().Close(); UnlinkShm(l.Shm().Name()) })
	wantRooms := []int{8, 8, 8, 8, 8, 8, 16, 8}
	for i, want := range items {
		if got, err := l.Get(i); got != want || err != nil {
			t.Errorf("Get(%d) = %+v, %v; want %+v", i, got, err, want)
		}
		if l.Room(i) != wantRooms[i] {
			t.Errorf("Room(%d) = %d, want %d", i, l.Room(i), wantRooms[i])
		}
	}
	s, err := OpenShm(l.Shm().Name())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, err := OpenShmList(s)
	if err != nil {
		t.Fatalf("OpenShmList: %v", err)
	}
	if a.Len() != len(items) {
		t.Errorf("attached Len = %d, want %d", a.Len(), len(items))
	}
	for i, it := range []ShmItem{{Kind: ShmString, Str: "8 bytes!"}, {Kind: ShmNumber, Num: -2}, {Kind: ShmNil}, {Kind: ShmString, Str: "sixteen bytes!!!"}} {
		if i == 3 {
			i = 6
		}
		if err := a.Set(i, it); err != nil {
			t.Fatalf("Set(%d, %+v): %v", i, it, err)
		}
		if got, _ := l.Get(i); got != it {
			t.Errorf("after Set(%d) in the other mapping, Get = %+v, want %+v", i, got, it)
		}
	}
	if err := a.Set(0, ShmItem{Kind: ShmString, Str: "9 bytes!!"}); !errors.Is(err, ErrShmListRoom) {
		t.Errorf("Set of 9 bytes into 8: %v, want ErrShmListRoom", err)
	}
	// Damage: a state word written by hand.
	s.Write(l.slots[1], []byte{9})
	if _, err := l.Get(1); !errors.Is(err, ErrShmListLayout) {
		t.Errorf("Get of kind 9: %v, want ErrShmListLayout", err)
	}
	s.Write(l.slots[1], []byte{byte(ShmString), 0, 1})
	if _, err := l.Get(1); !errors.Is(err, ErrShmListLayout) {
		t.Errorf("Get of a string longer than its room: %v, want ErrShmListLayout", err)
	}
	// Blocks that hold no list.
	plain := newTestShm(t, 64, ShmOwner{})
	if _, err := OpenShmList(plain); !errors.Is(err, ErrShmListLayout) {
		t.Errorf("OpenShmList of a zeroed block: %v, want ErrShmListLayout", err)
	}
	plain.Write(0, []byte("PROCSHL1\xff\xff\xff\xff"))
	if _, err := OpenShmList(plain); !errors.Is(err, ErrShmListLayout) {
		t.Errorf("OpenShmList of a header claiming 2^32-1 slots: %v, want ErrShmListLayout", err)
	}
	plain.Write(0, []byte("PROCSHL1\x01\x00\x00\x00\x00\x00\x00\x00\x00\x10\x00\x00"))
	if _, err := OpenShmList(plain); !errors.Is(err, ErrShmListLayout) {
		t.Errorf("OpenShmList of a slot larger than the block: %v, want ErrShmListLayout", err)
	}
	empty, err := CreateShmList("", nil, ShmOwner{})
	if err != nil {
		t.Fatalf("CreateShmList of no items: %v", err)
	}
	defer UnlinkShm(empty.Shm().Name())
	defer empty.Shm().Close()
	if e, err := OpenShmList(empty.Shm()); err != nil || e.Len() != 0 {
		t.Errorf("an empty list reads back as %v, %v", e, err)
	}
}
