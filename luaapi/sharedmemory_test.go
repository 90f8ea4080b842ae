// SharedMemory and ShareableList on the Go side: the end of a tree's
// blocks, handles through the codec, and the help test's probes.

package luaapi

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

// The types compute fields in __index, so the help test needs one object
// of each (help_test.go's helpProbes). Their blocks are unlinked at once:
// the objects keep their mappings.
func init() {
	helpProbes["SharedMemory"] = `local s = mp.shared_memory.SharedMemory{create = true, size = 8}
		s:unlink()
		return s`
	helpProbes["ShareableList"] = `local l = mp.shared_memory.ShareableList({1, "a"})
		l.shm:unlink()
		return l`
}

// newShmWorld is a root World with an arena of its own.
func newShmWorld(t *testing.T, parent *Identity) *World {
	t.Helper()
	a, err := runtime.NewArena(16 << 20)
	if err != nil {
		t.Fatalf("NewArena: %v", err)
	}
	w := NewWorld(Options{Self: Identity{Name: "MainProcess"}, Parent: parent, Arena: a})
	w.L.SetGlobal("mp", w.module("multiprocessing"))
	t.Cleanup(func() {
		w.Close()
		a.File().Close()
	})
	return w
}

// run runs a chunk in w and returns its string results.
func runShm(t *testing.T, w *World, src string, nret int) []string {
	t.Helper()
	fn, err := w.L.Load(strings.NewReader(src), "test")
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	if err := w.Call(fn, nret); err != nil {
		t.Fatalf("run %q: %v", src, err)
	}
	out := make([]string, nret)
	for i := range out {
		out[i] = lua.LVAsString(w.L.Get(-nret + i))
	}
	w.L.Pop(nret)
	return out
}

// shmExists says whether a block is named name.
func shmExists(t *testing.T, name string) bool {
	t.Helper()
	s, err := runtime.OpenShm(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err != nil {
		t.Fatalf("OpenShm(%q): %v", name, err)
	}
	s.Close()
	return true
}

// captureStderr runs f and returns what it wrote on standard error.
func captureStderr(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	f()
	os.Stderr = old
	w.Close()
	return <-done
}

// The root unlinks at its end the blocks its tree made and nobody
// unlinked, and says so; blocks made with track = false, unlinked ones,
// and those of other trees stay as they are.
func TestUnlinkLeakedBlocks(t *testing.T) {
	w := newShmWorld(t, nil)
	other := newShmWorld(t, nil)
	names := runShm(t, w, `
		local sm = mp.shared_memory
		local leaked = sm.SharedMemory{create = true, size = 8}
		local list = sm.ShareableList({1, 2})
		local kept = sm.SharedMemory{create = true, size = 8, track = false}
		local done = sm.SharedMemory{create = true, size = 8}
		done:unlink()
		return leaked.name, list.shm.name, kept.name`, 3)
	otherName := runShm(t, other, `return mp.shared_memory.SharedMemory{create = true, size = 8}.name`, 1)[0]
	defer runtime.UnlinkShm(names[2])
	defer runtime.UnlinkShm(otherName)

	child := newShmWorld(t, &Identity{Name: "MainProcess"})
	childName := runShm(t, child, `return mp.shared_memory.SharedMemory{create = true, size = 8}.name`, 1)[0]
	defer runtime.UnlinkShm(childName)
	if out := captureStderr(t, child.unlinkLeakedBlocks); out != "" || !shmExists(t, childName) {
		t.Errorf("a child's unlinkLeakedBlocks wrote %q and left the block: %v; want nothing done", out, shmExists(t, childName))
	}

	out := captureStderr(t, w.unlinkLeakedBlocks)
	for _, name := range names[:2] {
		if shmExists(t, name) {
			t.Errorf("the leaked block %s is still linked", name)
		}
		if !strings.Contains(out, "'"+name+"'") {
			t.Errorf("the warning %q does not name %s", out, name)
		}
	}
	if !strings.Contains(out, "2 shared memory blocks were left linked") {
		t.Errorf("the warning %q does not say how many blocks it unlinked", out)
	}
	if !shmExists(t, names[2]) {
		t.Errorf("the block made with track = false was unlinked")
	}
	if !shmExists(t, otherName) {
		t.Errorf("another tree's block was unlinked")
	}
	if out := captureStderr(t, w.unlinkLeakedBlocks); out != "" {
		t.Errorf("a second unlinkLeakedBlocks wrote %q, want nothing", out)
	}
}

// A SharedMemory and a ShareableList travel through the codec as their
// blocks: the receiver maps the same bytes.
func TestSharedMemoryHandles(t *testing.T) {
	from := newShmWorld(t, nil)
	to := NewWorld(Options{Self: Identity{Name: "receiver"}, Arena: from.Arena})
	defer to.Close()
	L := from.L
	runShm(t, from, `
		shm = mp.shared_memory.SharedMemory{create = true, size = 4}
		shm:write(0, "abcd")
		list = mp.shared_memory.ShareableList({"x", 2})
		return nil`, 1)
	shm, list := L.GetGlobal("shm"), L.GetGlobal("list")
	defer runShm(t, from, `shm:unlink() list.shm:unlink() return nil`, 1)
	for _, v := range []lua.LValue{shm, list} {
		e := from.NewEncoder()
		if err := e.Encode(v, "value"); err != nil {
			t.Fatalf("encode %v: %v", v, err)
		}
		d, err := to.NewDecoder(e.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.Decode()
		if err != nil {
			t.Fatalf("decode %v: %v", v, err)
		}
		if a, b := lua.LVAsString(L.ToStringMeta(v)), lua.LVAsString(to.L.ToStringMeta(got)); a != b {
			t.Errorf("decoded %s, want %s", b, a)
		}
	}
}
