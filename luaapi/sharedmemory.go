// SharedMemory: mp.shared_memory.SharedMemory, a named block of shared
// memory that any process can attach by name (runtime/shm.go).

package luaapi

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	goruntime "runtime"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

const sharedMemoryTypeName = "multiprocessing.SharedMemory"

// sharedMemory is the Go side of a SharedMemory: this process's mapping
// of a block. Unlike the arena's objects it holds no reference counts:
// the block lives while its name or some process's mapping does, as
// POSIX shared memory does. The mapping is undone by close() or, once no
// Lua value reaches the object, by a cleanup after garbage collection
// (Python's SharedMemory closes in __del__).
type sharedMemory struct {
	w        *World
	name     string
	size     int
	dev, ino uint64       // the block's file, for handles sent after close
	shm      *runtime.Shm // nil once closed
}

// HandleType and HandleData make a SharedMemory a handle: it travels as
// its name, and the receiver attaches the block again (Python pickles
// it as its name). The handle also names the block's file and this
// process's descriptor of it, so that the receiver attaches this very
// block, through /proc when its name was unlinked meanwhile
// (runtime.OpenShmHandle).
func (m *sharedMemory) HandleType() string { return "SharedMemory" }

func (m *sharedMemory) HandleData() []byte {
	var pid, fd int // 0 and 0 after close: by name only
	if m.shm != nil {
		_, _, pid, fd = m.shm.Handle()
	}
	return append(appendHandleInts(nil, m.dev, m.ino, uint64(pid), uint64(fd)), m.name...)
}

func decodeSharedMemory(L *lua.LState, data []byte) (lua.LValue, error) {
	s, err := openShmHandle(data, "SharedMemory")
	if err != nil {
		return nil, err
	}
	return newSharedMemory(worldOf(L), s).userdata(L), nil
}

// openShmHandle attaches the block that a SharedMemory's (or a
// ShareableList's) handle data names.
func openShmHandle(data []byte, typ string) (*runtime.Shm, error) {
	r := handleReader{buf: data, typ: typ}
	dev, ino, pid, fd := r.uint(), r.uint(), r.uint(), r.uint()
	name := string(r.rest())
	if r.err != nil {
		return nil, r.err
	}
	if pid > math.MaxInt32 || fd > math.MaxInt32 {
		return nil, r.bad(fmt.Errorf("pid %d, descriptor %d", pid, fd))
	}
	s, err := runtime.OpenShmHandle(name, dev, ino, int(pid), int(fd))
	if err != nil {
		return nil, fmt.Errorf("decode: %s %q: %w", typ, name, err)
	}
	return s, nil
}

// newSharedMemory wraps a mapping, which it closes when the object is
// collected.
func newSharedMemory(w *World, s *runtime.Shm) *sharedMemory {
	m := &sharedMemory{w: w, name: s.Name(), size: s.Size(), shm: s}
	m.dev, m.ino, _, _ = s.Handle()
	goruntime.AddCleanup(m, func(s *runtime.Shm) { s.Close() }, s)
	return m
}

func (m *sharedMemory) userdata(L *lua.LState) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = m
	ud.Metatable = worldOf(L).typeMeta(sharedMemoryTypeName)
	return ud
}

var sharedMemoryMethods = map[string]lua.LGFunction{
	"read":   sharedMemoryRead,
	"write":  sharedMemoryWrite,
	"close":  sharedMemoryClose,
	"unlink": sharedMemoryUnlink,
}

// sharedMemoryMeta is the type's metatable: the fields name and size,
// the methods, Python's repr.
func sharedMemoryMeta(L *lua.LState) *lua.LTable {
	return fieldsMeta(L, sharedMemoryMethods, func(L *lua.LState, key lua.LValue) (lua.LValue, bool) {
		m := checkSharedMemory(L, 1)
		switch key {
		case lua.LString("name"):
			return lua.LString(m.name), true
		case lua.LString("size"):
			return lua.LNumber(m.size), true
		}
		return nil, false
	}, sharedMemoryString)
}

// fieldsMeta makes the metatable of a type with fields: __index serves
// what index serves, then the methods; __tostring. The methods are also
// the metatable's "methods", where help and completion find them.
func fieldsMeta(L *lua.LState, methods map[string]lua.LGFunction, index func(L *lua.LState, key lua.LValue) (lua.LValue, bool), tostring lua.LGFunction) *lua.LTable {
	mt := L.NewTable()
	mtab := L.SetFuncs(L.NewTable(), methods)
	L.SetField(mt, "methods", mtab)
	L.SetField(mt, "__index", fieldsThenMethods(L, index, mtab))
	L.SetField(mt, "__tostring", L.NewFunction(tostring))
	return mt
}

// checkSharedMemory returns the SharedMemory at n.
func checkSharedMemory(L *lua.LState, n int) *sharedMemory {
	return checkObject[*sharedMemory](L, n, sharedMemoryTypeName)
}

// open returns the mapping, raising ValueError after close, as Python's
// buf is None then.
func (m *sharedMemory) open(L *lua.LState, what string) *runtime.Shm {
	if m.shm == nil {
		Raise(L, "ValueError", "%s: the SharedMemory '%s' is closed in this process", what, m.name)
	}
	return m.shm
}

// sharedMemoryParams are SharedMemory's, as Python's (name, create,
// size), and Python 3.13's track.
var sharedMemoryParams = params{pos: []string{"name", "create", "size"}, extra: []string{"track"}}

// mpSharedMemory is mp.shared_memory.SharedMemory([name [, create [,
// size]]]) or SharedMemory{name=, create=, size=, track=}: a new block
// (create = true) or the block named name.
func mpSharedMemory(L *lua.LState) int {
	const what = "SharedMemory"
	var a [4]lua.LValue
	sharedMemoryParams.read(L, 1, what, a[:])
	name := ""
	switch v := a[0].(type) {
	case *lua.LNilType:
	case lua.LString:
		if _, err := runtime.ShmName(string(v)); err != nil {
			raiseShm(L, err, what, string(v)) // "" is no name to give
		}
		name = string(v)
	default:
		Raise(L, "TypeError", "%s: got a %s as name, want a string or nil", what, v.Type().String())
	}
	create := toBool(L, a[1], what+": create", false)
	size := 0
	if a[2] != lua.LNil {
		size = byteCount(L, a[2], what+": size")
	}
	track := toBool(L, a[3], what+": track", true)
	w := worldOf(L)
	var s *runtime.Shm
	var err error
	switch {
	case create && size == 0:
		Raise(L, "ValueError", "%s: got no size (or 0) with create = true, want the new block's size in bytes, more than 0", what)
	case create:
		owner := runtime.ShmOwner{}
		if track {
			owner = runtime.ShmOwnerOf(w.Arena)
		}
		s, err = runtime.CreateShm(name, size, owner)
	case name == "":
		Raise(L, "ValueError", "%s: got no name and create = false, want the name of a block to attach, or create = true to make one", what)
	default:
		s, err = runtime.OpenShm(name)
	}
	if err != nil {
		raiseShm(L, err, what, name)
	}
	L.Push(newSharedMemory(w, s).userdata(L))
	return 1
}

// byteCount reads a size or an offset: a whole number, at least 0.
func byteCount(L *lua.LState, v lua.LValue, what string) int {
	n, ok := v.(lua.LNumber)
	if !ok {
		Raise(L, "TypeError", "%s: got a %s, want a whole number of bytes", what, v.Type().String())
	}
	f := float64(n)
	if f != math.Trunc(f) || math.IsInf(f, 0) {
		Raise(L, "TypeError", "%s: got %s, want a whole number of bytes", what, formatNumber(n))
	}
	if f < 0 || f > 1<<62 {
		Raise(L, "ValueError", "%s: got %s, want a whole number of bytes from 0 to 2^62", what, formatNumber(n))
	}
	return int(f)
}

// raiseShm raises the error a runtime error of shared memory means, as
// Python raises it: FileExistsError, FileNotFoundError, ValueError for a
// closed or damaged block, OSError for the rest. name is the block's,
// when known.
func raiseShm(L *lua.LState, err error, what, name string) {
	switch {
	case errors.Is(err, runtime.ErrShmClosed):
		Raise(L, "ValueError", "%s: the SharedMemory '%s' is closed in this process", what, name)
	case errors.Is(err, fs.ErrExist):
		Raise(L, "FileExistsError", "%s: a block named '%s' exists already, want a new name (or create = false to attach it)", what, name)
	case errors.Is(err, fs.ErrNotExist):
		Raise(L, "FileNotFoundError", "%s: no block is named '%s' (in %s)", what, name, runtime.ShmDir)
	case errors.Is(err, runtime.ErrShmEmpty), errors.Is(err, runtime.ErrShmListRoom), errors.Is(err, runtime.ErrShmListLayout):
		Raise(L, "ValueError", "%s: %v", what, err)
	case errors.Is(err, fs.ErrPermission):
		Raise(L, "PermissionError", "%s: %v", what, err)
	}
	Raise(L, "OSError", "%s: %v", what, err)
}

// offset reads the offset of read and write: nil is 0, and it must lie
// in the block (IndexError otherwise, as Python's buf[i]).
func (m *sharedMemory) offset(L *lua.LState, v lua.LValue, what string) int {
	if v == lua.LNil {
		return 0
	}
	if _, ok := v.(lua.LNumber); !ok {
		Raise(L, "TypeError", "%s: got a %s as offset, want a whole number of bytes from 0", what, v.Type().String())
	}
	off := byteOffset(L, v.(lua.LNumber), what+": offset")
	if off < 0 || off > m.size {
		Raise(L, "IndexError", "%s: got offset %d, want 0 to %d (the block holds %d bytes, at offsets 0 to %d)", what, off, m.size, m.size, m.size-1)
	}
	return off
}

// byteOffset reads a whole number that may be negative (for the range
// check to report).
func byteOffset(L *lua.LState, n lua.LNumber, what string) int {
	f := float64(n)
	if f != math.Trunc(f) || math.IsInf(f, 0) {
		Raise(L, "TypeError", "%s: got %s, want a whole number", what, formatNumber(n))
	}
	return int(max(min(f, 1<<62), -(1 << 62)))
}

// sharedMemoryRead is shm:read([offset [, n]]) → the n bytes at offset
// (0-based, as Python's buf) as a string; n defaults to the rest of the
// block.
func sharedMemoryRead(L *lua.LState) int {
	const what = "SharedMemory.read"
	m := checkSharedMemory(L, 1)
	if L.GetTop() > 3 {
		raiseTooMany(L, what, L.GetTop()-1, []string{"offset", "n"})
	}
	s := m.open(L, what)
	off := m.offset(L, L.Get(2), what)
	n := m.size - off
	if v := L.Get(3); v != lua.LNil {
		nv, ok := v.(lua.LNumber)
		if !ok {
			Raise(L, "TypeError", "%s: got a %s as n, want a whole number of bytes", what, v.Type().String())
		}
		n = byteOffset(L, nv, what+": n")
		if n < 0 {
			Raise(L, "ValueError", "%s: got n = %d, want a number of bytes, at least 0", what, n)
		}
		if n > m.size-off {
			Raise(L, "IndexError", "%s: got %d bytes from offset %d, want at most %d: the block holds %d bytes", what, n, off, m.size-off, m.size)
		}
	}
	b, err := s.Read(off, n)
	if err != nil {
		raiseShm(L, err, what, m.name)
	}
	L.Push(lua.LString(b))
	return 1
}

// sharedMemoryWrite is shm:write(offset, s): the bytes of s into the
// block from offset (0-based). ValueError when they do not fit, as
// Python's buf[offset:offset+len(s)] = s.
func sharedMemoryWrite(L *lua.LState) int {
	const what = "SharedMemory.write"
	m := checkSharedMemory(L, 1)
	if L.GetTop() > 3 {
		raiseTooMany(L, what, L.GetTop()-1, []string{"offset", "s"})
	}
	s := m.open(L, what)
	if L.Get(2) == lua.LNil {
		Raise(L, "TypeError", "%s: got no offset, want shm:write(offset, s) with offset a whole number of bytes from 0", what)
	}
	off := m.offset(L, L.Get(2), what)
	var data string
	switch v := L.Get(3).(type) {
	case lua.LString:
		data = string(v)
	case lua.LNumber:
		data = v.String()
	default:
		Raise(L, "TypeError", "%s: got a %s as s, want a string", what, v.Type().String())
	}
	if len(data) > m.size-off {
		Raise(L, "ValueError", "%s: got %d bytes at offset %d, want at most %d: the block holds %d bytes", what, len(data), off, m.size-off, m.size)
	}
	if err := s.Write(off, []byte(data)); err != nil {
		raiseShm(L, err, what, m.name)
	}
	return 0
}

// sharedMemoryClose is shm:close(): this process unmaps the block. The
// block lives on; a second close does nothing.
func sharedMemoryClose(L *lua.LState) int {
	m := checkSharedMemory(L, 1)
	m.close()
	return 0
}

func (m *sharedMemory) close() {
	if m.shm != nil {
		m.shm.Close()
		m.shm = nil
	}
}

// sharedMemoryUnlink is shm:unlink(): the name goes (FileNotFoundError
// when it went already); processes that map the block keep it until they
// close it.
func sharedMemoryUnlink(L *lua.LState) int {
	m := checkSharedMemory(L, 1)
	if err := runtime.UnlinkShm(m.name); err != nil {
		raiseShm(L, err, "SharedMemory.unlink", m.name)
	}
	return 0
}

// sharedMemoryString is Python's repr, SharedMemory('psm_1a2b3c4d',
// size=10), with ", closed" once closed in this process.
func sharedMemoryString(L *lua.LState) int {
	m := checkSharedMemory(L, 1)
	closed := ""
	if m.shm == nil {
		closed = ", closed"
	}
	L.Push(lua.LString(fmt.Sprintf("SharedMemory('%s', size=%d%s)", m.name, m.size, closed)))
	return 1
}
