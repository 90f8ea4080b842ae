// Value and Array: mp.Value(typecode [, init [, lock]]) and
// mp.Array(typecode, size_or_list [, lock]), numbers in the arena, and
// their lockless forms mp.RawValue and mp.RawArray.

package luaapi

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

const (
	valueTypeName = "multiprocessing.Value"
	arrayTypeName = "multiprocessing.Array"

	// arrayReprMax is how many elements an Array's repr shows.
	arrayReprMax = 16
)

// Kinds of lock a Value or Array carries.
const (
	sharedNoLock = iota
	sharedLock
	sharedRLock
)

// sharedObj is the Go side of a Value or an Array: n elements of typecode
// code at off, and its lock (none, a Lock or an RLock) at lockOff.
type sharedObj struct {
	arenaBase
	w        *World
	array    bool
	code     byte
	size     int // bytes per element
	off      uint64
	n        int
	lockKind int
	lockOff  uint64
	ownLock  bool           // made by the constructor
	lockUD   *lua.LUserData // get_lock's answer, once asked
}

func (s *sharedObj) HandleType() string {
	if s.array {
		return "Array"
	}
	return "Value"
}

func (s *sharedObj) HandleData() []byte {
	own := uint64(0)
	if s.ownLock {
		own = 1
	}
	return appendHandleInts(nil, s.off, uint64(s.code), uint64(s.n), uint64(s.lockKind), s.lockOff, own)
}

func (s *sharedObj) offset() uint64 { return s.off }

// parts: the elements and the lock, which each handle keeps alive (a Lock
// given to the constructor may be closed by its own handle meanwhile).
func (s *sharedObj) parts() []uint64 {
	if s.lockKind == sharedNoLock {
		return []uint64{s.off}
	}
	return []uint64{s.off, s.lockOff}
}

var valueMethods = map[string]lua.LGFunction{
	"get_lock": sharedGetLock,
	"acquire":  sharedAcquire,
	"release":  sharedRelease,
	"close":    sharedClose,
}

var arrayMethods = map[string]lua.LGFunction{
	"get_lock": sharedGetLock,
	"acquire":  sharedAcquire,
	"release":  sharedRelease,
	"totable":  arrayToTable,
	"slice":    arraySlice,
	"iter":     arrayIter,
	"close":    sharedClose,
}

func (s *sharedObj) userdata() *lua.LUserData {
	name := valueTypeName
	if s.array {
		name = arrayTypeName
	}
	return newArenaUserdata(s.w.L, name, s)
}

func decodeShared(L *lua.LState, data []byte, array bool) (lua.LValue, error) {
	w := worldOf(L)
	r := handleReader{buf: data, typ: "Value"}
	if array {
		r.typ = "Array"
	}
	s := &sharedObj{w: w, array: array}
	s.off = r.uint()
	s.code = byte(r.uint())
	n := r.uint()
	s.lockKind = int(r.uint())
	s.lockOff = r.uint()
	ownLock := r.uint()
	s.ownLock = ownLock == 1
	size, err := runtime.TypeSize(s.code)
	if r.err == nil && (err != nil || n > math.MaxInt32 || ownLock > 1 || s.lockKind != sharedNoLock && s.lockKind != sharedLock && s.lockKind != sharedRLock) {
		r.err = fmt.Errorf("decode: bad %s handle", r.typ)
	}
	r.checkOffset(w, s.off, max(n*uint64(size), 8))
	if r.err == nil && s.lockKind != sharedNoLock {
		if err := w.Arena.CheckLock(s.lockOff, s.lockKind == sharedRLock); err != nil {
			r.err = r.bad(fmt.Errorf("its lock: %w", err))
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	s.n = int(n)
	s.size = size
	return s.userdata(), nil
}

// checkTypecode reads a typecode argument: one of b B h H i I l L q Q f d.
func checkTypecode(L *lua.LState, v lua.LValue, what string) (byte, int) {
	str, ok := v.(lua.LString)
	if ok && len(str) == 1 && strings.IndexByte(runtime.Typecodes, str[0]) >= 0 {
		size, _ := runtime.TypeSize(str[0])
		return str[0], size
	}
	if ok {
		Raise(L, "TypeError", "%s: bad typecode %q, want one of b, B, h, H, i, I, l, L, q, Q, f, d", what, string(str))
	}
	Raise(L, "TypeError", "%s: got a %s as typecode, want a string, one of b, B, h, H, i, I, l, L, q, Q, f, d", what, v.Type().String())
	return 0, 0
}

// The parameters of Value and Array after the typecode: an options
// table can stand for them (mp.Value("i", 0, {lock = false})). RawValue
// and RawArray take no lock, as Python's do.
var (
	valueParams    = params{pos: []string{"init", "lock"}}
	arrayParams    = params{pos: []string{"size_or_list", "lock"}, list: "size_or_list"}
	rawValueParams = params{pos: []string{"init"}}
	rawArrayParams = params{pos: []string{"size_or_list"}, list: "size_or_list"}
)

// newShared allocates n elements of an Array (array) or a Value, and sets
// up the lock the argument lock asks for: nil or true a new RLock, false
// none, or the Lock or RLock given. what names the call in errors.
func newShared(L *lua.LState, what string, array bool, code byte, size, n int, lock lua.LValue) *sharedObj {
	a := checkArena(L, what)
	s := &sharedObj{w: worldOf(L), array: array, code: code, size: size, n: n}
	switch v := lock.(type) {
	case *lua.LNilType:
		s.lockKind = sharedRLock
	case lua.LBool:
		if v {
			s.lockKind = sharedRLock
		}
	default:
		l, ok := toLock(lock)
		if !ok {
			Raise(L, "TypeError", "%s: got a %s as lock, want true, false, a Lock or an RLock", what, lock.Type().String())
		}
		checkOpen(L, l, what)
		s.lockKind = sharedLock
		if l.rlock {
			s.lockKind = sharedRLock
		}
		s.lockOff = l.offset()
	}
	if s.lockKind != sharedNoLock && s.lockOff == 0 {
		r, err := whenFull(a.NewRLock)
		if err != nil {
			raiseSync(L, err, what)
		}
		s.lockOff, s.ownLock = r.Offset(), true
	}
	off, err := whenFull(func() (uint64, error) { return a.Alloc(max(n*size, 8)) })
	if err != nil {
		if s.ownLock {
			a.Free(s.lockOff)
		}
		raiseSync(L, err, what)
	}
	s.off = off
	holdNew(L, s, what)
	return s
}

// mpValue is mp.Value(typecode [, init [, lock]]).
func mpValue(L *lua.LState) int {
	var given [2]lua.LValue // init, lock
	return newValue(L, "Value", valueParams, given[:])
}

// mpRawValue is mp.RawValue(typecode [, init]): a Value with no lock, as
// mp.Value(typecode, init, false) makes.
func mpRawValue(L *lua.LState) int {
	given := [2]lua.LValue{lua.LNil, lua.LFalse} // init, and no lock
	return newValue(L, "RawValue", rawValueParams, given[:])
}

// newValue makes a Value from the typecode at 1 and p's parameters after
// it, read into given (init, then lock where p has it).
func newValue(L *lua.LState, what string, p params, given []lua.LValue) int {
	code, size := checkTypecode(L, L.Get(1), what)
	p.read(L, 2, what, given[:len(p.pos)])
	init := given[0]
	if init != lua.LNil {
		checkNumber(L, init, what+": initial value")
	}
	s := newShared(L, what, false, code, size, 1, given[1])
	if init != lua.LNil {
		if err := s.store(0, init); err != nil {
			closeArenaObject(s)
			Raise(L, "ValueError", "%s: %v", what, err)
		}
	}
	L.Push(s.userdata())
	return 1
}

// mpArray is mp.Array(typecode, size_or_list [, lock]).
func mpArray(L *lua.LState) int {
	var given [2]lua.LValue // size_or_list, lock
	return newArray(L, "Array", arrayParams, given[:])
}

// mpRawArray is mp.RawArray(typecode, size_or_list): an Array with no
// lock, as mp.Array(typecode, size_or_list, false) makes.
func mpRawArray(L *lua.LState) int {
	given := [2]lua.LValue{lua.LNil, lua.LFalse} // size_or_list, and no lock
	return newArray(L, "RawArray", rawArrayParams, given[:])
}

// newArray makes an Array from the typecode at 1 and p's parameters after
// it, read into given (size_or_list, then lock where p has it).
func newArray(L *lua.LState, what string, p params, given []lua.LValue) int {
	code, size := checkTypecode(L, L.Get(1), what)
	p.read(L, 2, what, given[:len(p.pos)])
	var list *lua.LTable
	n := 0
	switch v := given[0].(type) {
	case lua.LNumber:
		f := float64(v)
		if f != math.Trunc(f) || f < 0 || f > 1<<40 {
			Raise(L, "ValueError", "%s: got size %v, want an integer of 0 or more", what, v)
		}
		n = int(f)
	case *lua.LTable:
		list, n = v, v.Len()
		for i := 1; i <= n; i++ {
			checkNumber(L, v.RawGetInt(i), fmt.Sprintf("%s: element %d", what, i))
		}
	default:
		Raise(L, "TypeError", "%s: got a %s as size_or_list, want a size or a list of numbers", what, v.Type().String())
	}
	s := newShared(L, what, true, code, size, n, given[1])
	for i := 0; list != nil && i < n; i++ {
		if err := s.store(i, list.RawGetInt(i+1)); err != nil {
			closeArenaObject(s)
			Raise(L, "ValueError", "%s: element %d: %v", what, i+1, err)
		}
	}
	L.Push(s.userdata())
	return 1
}

// checkNumber raises TypeError unless v is a number.
func checkNumber(L *lua.LState, v lua.LValue, what string) {
	if _, ok := v.(lua.LNumber); !ok {
		Raise(L, "TypeError", "%s: got a %s, want a number", what, v.Type().String())
	}
}

// element returns the bytes of element i (0-based).
func (s *sharedObj) element(i int) []byte {
	return s.w.Arena.Bytes(s.off+uint64(i*s.size), s.size)
}

func (s *sharedObj) load(i int) lua.LNumber {
	return lua.LNumber(runtime.LoadNumber(s.code, s.element(i)))
}

// store writes v, a number, as element i: out of range is an error.
func (s *sharedObj) store(i int, v lua.LValue) error {
	return runtime.StoreNumber(s.code, s.element(i), float64(v.(lua.LNumber)))
}

// checkShared returns the Value or Array at n, which must be open when
// what is not "".
func checkShared(L *lua.LState, n int, what string) *sharedObj {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if s, ok := ud.Value.(*sharedObj); ok {
			if what != "" && s.closed {
				checkOpen(L, s, s.HandleType()+"."+what)
			}
			return s
		}
	}
	argTypeError(L, n, "multiprocessing.Value or Array")
	return nil
}

func valueIndex(L *lua.LState, key lua.LValue) (lua.LValue, bool) {
	if k, ok := key.(lua.LString); ok && k == "value" {
		s := checkShared(L, 1, "")
		if s.closed {
			checkOpen(L, s, "Value.value")
		}
		return L.BoxNumber(s.load(0)), true
	}
	return nil, false
}

func valueNewIndex(L *lua.LState) int {
	s := checkShared(L, 1, "")
	if k, ok := L.Get(2).(lua.LString); !ok || k != "value" {
		Raise(L, "AttributeError", "Value: cannot set %s, want only .value", L.Get(2).String())
	}
	checkOpen(L, s, "Value.value")
	v := L.Get(3)
	checkNumber(L, v, "Value.value")
	if err := s.store(0, v); err != nil {
		Raise(L, "ValueError", "Value.value: %v", err)
	}
	return 0
}

// arrayPos reads an Array index: an integer from 1 to #a, else IndexError.
func arrayPos(L *lua.LState, s *sharedObj, key lua.LValue) int {
	f := float64(key.(lua.LNumber))
	if f != math.Trunc(f) || f < 1 || f > float64(s.n) {
		Raise(L, "IndexError", "Array: index %v out of range, want an integer from 1 to %d", key, s.n)
	}
	return int(f) - 1
}

func arrayIndex(L *lua.LState, key lua.LValue) (lua.LValue, bool) {
	if _, ok := key.(lua.LNumber); !ok {
		return nil, false
	}
	s := checkShared(L, 1, "")
	if s.closed {
		checkOpen(L, s, "Array")
	}
	return L.BoxNumber(s.load(arrayPos(L, s, key))), true
}

func arrayNewIndex(L *lua.LState) int {
	s := checkShared(L, 1, "")
	key := L.Get(2)
	if _, ok := key.(lua.LNumber); !ok {
		Raise(L, "TypeError", "Array: got a %s as index, want an integer from 1 to %d", key.Type().String(), s.n)
	}
	checkOpen(L, s, "Array")
	i := arrayPos(L, s, key)
	v := L.Get(3)
	if _, ok := v.(lua.LNumber); !ok {
		checkNumber(L, v, fmt.Sprintf("Array: element %d", i+1))
	}
	if err := s.store(i, v); err != nil {
		Raise(L, "ValueError", "Array: element %d: %v", i+1, err)
	}
	return 0
}

func arrayLen(L *lua.LState) int {
	s := checkShared(L, 1, "len")
	L.Push(lua.LNumber(s.n))
	return 1
}

// arrayToTable is a:totable(): the elements as a Lua list.
func arrayToTable(L *lua.LState) int {
	s := checkShared(L, 1, "totable")
	t := L.CreateTable(s.n, 0)
	for i := 0; i < s.n; i++ {
		t.RawSetInt(i+1, s.load(i))
	}
	L.Push(t)
	return 1
}

// arraySlice is a:slice([i [, j]]): elements i to j, both included, as a
// new Lua list, with string.sub's rules: i defaults to 1 and j to #a, a
// negative index counts from the end (-1 is the last element), and what
// lies outside 1 … #a is cut off, so a range beyond the ends gives fewer
// elements (or none), never an IndexError, as a Python slice does.
func arraySlice(L *lua.LState) int {
	s := checkShared(L, 1, "slice")
	i := sliceBound(L, 2, "i", 1, s.n)
	j := sliceBound(L, 3, "j", s.n, s.n)
	i = max(i, 1)
	j = min(j, s.n)
	t := L.CreateTable(max(j-i+1, 0), 0)
	for k := i; k <= j; k++ {
		t.RawSetInt(k-i+1, s.load(k-1))
	}
	L.Push(t)
	return 1
}

// sliceBound reads a bound of a:slice at n: def when nil, a negative one
// counted from the end of n elements.
func sliceBound(L *lua.LState, at int, name string, def, n int) int {
	v := L.Get(at)
	if v == lua.LNil {
		return def
	}
	x, ok := v.(lua.LNumber)
	if !ok {
		Raise(L, "TypeError", "Array.slice: got a %s as %s, want an integer", v.Type().String(), name)
	}
	f := float64(x)
	if f != math.Trunc(f) {
		Raise(L, "ValueError", "Array.slice: got %v as %s, want an integer", x, name)
	}
	f = max(min(f, float64(n)+1), -float64(n)-1) // beyond the ends is cut off anyway
	if f < 0 {
		f += float64(n) + 1
	}
	return int(f)
}

// arrayIter is a:iter(): for i, x in a:iter() do … end goes over the
// elements as ipairs goes over a list (ipairs itself takes only tables).
// Each step reads the element then, so a loop sees what other processes
// wrote meanwhile.
func arrayIter(L *lua.LState) int {
	checkShared(L, 1, "iter")
	L.Push(L.NewFunction(arrayNext))
	L.Push(L.Get(1))
	L.Push(lua.LNumber(0))
	return 3
}

// arrayNext is the step of a:iter(): after index i, i+1 and its element,
// or nothing past the end.
func arrayNext(L *lua.LState) int {
	s := checkShared(L, 1, "iter")
	i := L.CheckInt(2)
	if i < 0 || i >= s.n {
		return 0
	}
	L.Push(lua.LNumber(i + 1))
	L.Push(s.load(i))
	return 2
}

// lock returns the object's lock as a userdata; AttributeError when it was
// made with lock = false.
func (s *sharedObj) lock(L *lua.LState, what string) *lua.LUserData {
	if s.lockKind == sharedNoLock {
		Raise(L, "AttributeError", "%s.%s: this %s was made with lock = false and has no lock", s.HandleType(), what, s.HandleType())
	}
	if s.lockUD == nil {
		ud := lockAt(s.w, s.lockOff, s.lockKind == sharedRLock)
		holdPart(L, ud.Value.(*lockObj), s.HandleType()+"."+what)
		s.lockUD = ud
	}
	return s.lockUD
}

// sharedGetLock is v:get_lock().
func sharedGetLock(L *lua.LState) int {
	s := checkShared(L, 1, "get_lock")
	L.Push(s.lock(L, "get_lock"))
	return 1
}

// sharedAcquire is v:acquire(...): the lock's acquire, so that mp.with
// takes a Value or an Array as it takes a lock.
func sharedAcquire(L *lua.LState) int {
	s := checkShared(L, 1, "acquire")
	L.Replace(1, s.lock(L, "acquire"))
	return lockAcquire(L)
}

// sharedRelease is v:release(): the lock's release.
func sharedRelease(L *lua.LState) int {
	s := checkShared(L, 1, "release")
	L.Replace(1, s.lock(L, "release"))
	return lockRelease(L)
}

// sharedClose is v:close(): this handle is done with the elements and
// the lock, each freed once no handle in any process holds it.
func sharedClose(L *lua.LState) int {
	closeArenaObject(checkShared(L, 1, ""))
	return 0
}

// formatNumber writes an element as Python shows it: integers without a
// fraction.
func formatNumber(v lua.LNumber) string {
	f := float64(v)
	if f == math.Trunc(f) && math.Abs(f) < 1e17 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return v.String()
}

// sharedString is <Value('i', 5)> or <Array('i', {1, 2, 3})> (the first
// elements and the size when there are many).
func sharedString(L *lua.LState) int {
	s := checkShared(L, 1, "")
	var sb strings.Builder
	fmt.Fprintf(&sb, "<%s('%c', ", s.HandleType(), s.code)
	switch {
	case s.closed:
		sb.WriteString("closed")
	case !s.array:
		sb.WriteString(formatNumber(s.load(0)))
	default:
		sb.WriteByte('{')
		for i := 0; i < s.n && i < arrayReprMax; i++ {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(formatNumber(s.load(i)))
		}
		if s.n > arrayReprMax {
			fmt.Fprintf(&sb, ", ...} size=%d", s.n)
		} else {
			sb.WriteByte('}')
		}
	}
	sb.WriteString(")>")
	L.Push(lua.LString(sb.String()))
	return 1
}

// enter and exit make mp.with(v, fn) hold the object's lock, as Python's
// with v: does.
func (s *sharedObj) enter(L *lua.LState) {
	if s.closed {
		checkOpen(L, s, s.HandleType()+".acquire")
	}
	s.lock(L, "acquire").Value.(*lockObj).enter(L)
}

func (s *sharedObj) exit(L *lua.LState) {
	if s.closed {
		checkOpen(L, s, s.HandleType()+".release")
	}
	s.lock(L, "release").Value.(*lockObj).exit(L)
}
