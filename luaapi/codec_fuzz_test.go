// The decoder against hostile bytes: a fuzz target whose state has an
// arena, so that handles are decoded too, and the handle cases it found.

package luaapi

import (
	"encoding/binary"
	"strings"
	"testing"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

// fuzzArenaSize is small, so that offsets near its end are cheap to reach.
const fuzzArenaSize = 2 << 20

// newArenaWorld is a World with an arena of its own, as the root has.
func newArenaWorld(tb testing.TB) *World {
	tb.Helper()
	a, err := runtime.NewArena(fuzzArenaSize)
	if err != nil {
		tb.Fatalf("NewArena(%d): %v", fuzzArenaSize, err)
	}
	w := NewWorld(Options{Self: Identity{Name: "MainProcess"}, Arena: a})
	tb.Cleanup(func() {
		w.Close()
		a.File().Close()
	})
	return w
}

// handleMessage is a message holding one handle of type typ.
func handleMessage(typ string, data []byte) []byte {
	msg := []byte{0, tagHandle}
	msg = appendString(msg, typ)
	return appendString(msg, string(data))
}

// handleTypes are the handle types whose data starts with an arena offset.
var handleTypes = []string{"Lock", "RLock", "Condition", "Semaphore", "BoundedSemaphore", "Event", "Barrier", "Value", "Array", "Queue", "JoinableQueue", "SimpleQueue", "Connection"}

// hostileOffsets are offsets a handle must be refused for: outside the
// arena, inside its header, or misaligned (every object starts 64-byte
// aligned, so one that starts near the end and runs past it is
// misaligned too).
func hostileOffsets(a *runtime.Arena) []uint64 {
	size := uint64(a.Size())
	return []uint64{0, 1, 8, 64, 4096, 266624, size - 1, size - 4, size - 8, size - 16, size - 32, size, size + 64, 1 << 40, 1<<64 - 1, 1<<64 - 64}
}

// hostileHandles are messages with a handle of every type at every
// hostile offset, each with a few plausible fields after it.
func hostileHandles(a *runtime.Arena) [][]byte {
	var msgs [][]byte
	for _, typ := range handleTypes {
		for _, off := range hostileOffsets(a) {
			var rest []uint64
			switch typ {
			case "Semaphore", "BoundedSemaphore":
				rest = []uint64{1}
			case "Barrier":
				rest = []uint64{0, 0}
			case "Value", "Array":
				// typecode 'i', 1 element, an RLock at the same offset
				rest = []uint64{'i', 1, 2, off, 0}
			case "Connection":
				if off == 0 {
					continue // no ends at all: a closed Connection
				}
				rest = []uint64{off, 0}
			}
			msgs = append(msgs, handleMessage(typ, appendHandleInts(nil, append([]uint64{off}, rest...)...)))
		}
	}
	return msgs
}

// TestDecodeHostileHandles: a handle naming no object of its type is a
// decode error, never a panic.
func TestDecodeHostileHandles(t *testing.T) {
	w := newArenaWorld(t)
	msgs := append(hostileHandles(w.Arena), []byte("\x00\r\tCondition\x03\x80\xa3\x10"))
	for _, msg := range msgs {
		d, err := w.NewDecoder(msg)
		if err != nil {
			t.Fatalf("decode header of %q: %v", msg, err)
		}
		if v, err := d.Decode(); err == nil {
			t.Errorf("decode %q = %v, want an error", msg, v)
		}
	}
}

// TestDecodeConditionWithBadLock: a Condition whose lock offset (read
// from the arena) names no lock is refused.
func TestDecodeConditionWithBadLock(t *testing.T) {
	w := newArenaWorld(t)
	if err := w.Call(mustLoad(t, w, `return require("multiprocessing").Condition()`), 1); err != nil {
		t.Fatal(err)
	}
	c := w.L.Get(-1).(*lua.LUserData).Value.(*condObj).c
	w.L.Pop(1)
	for _, lockOff := range hostileOffsets(w.Arena) {
		binary.LittleEndian.PutUint64(w.Arena.Bytes(c.Offset()+8, 8), lockOff)
		d, _ := w.NewDecoder(handleMessage("Condition", appendHandleInts(nil, c.Offset())))
		_, err := d.Decode()
		if err == nil || !strings.Contains(err.Error(), "lock") {
			t.Errorf("decode of a Condition whose lock is at %d: error %v, want one about its lock", lockOff, err)
		}
	}
}

// fuzzSources make values worth mutating: plain data, functions, and one
// live object of every handle type.
var fuzzSources = []string{
	"return {1, 2, {a = 'b'}}",
	"local t = {} t.t = t return t",
	"local n = 1 return function() return n end",
	"return string.format",
	"return 0/0",
	"local mp = require('multiprocessing') return {mp.Lock(), mp.RLock(), mp.Event(), mp.Semaphore(2), mp.BoundedSemaphore(3)}",
	"local mp = require('multiprocessing') return {mp.Condition(), mp.Condition(mp.Lock()), mp.Barrier(2)}",
	"local mp = require('multiprocessing') return {mp.Barrier(2, function() end)}",
	"local mp = require('multiprocessing') return {mp.Value('d', 1.5), mp.Array('i', {1, 2, 3}), mp.Value('b', 1, false)}",
	"local mp = require('multiprocessing') return {mp.Queue{ring_size = 1024}, mp.JoinableQueue{maxsize = 4, ring_size = 1024}, mp.SimpleQueue{ring_size = 1024}}",
	"local mp = require('multiprocessing') return {mp.Pipe{ring_size = 1024}}",
}

// FuzzDecode: go test -run XXX -fuzz FuzzDecode ./luaapi/
//
// The receiving state has an arena, so handles are decoded to objects,
// and the seeds hold every handle type at good and hostile offsets.
// Malformed input must be an error, never a panic or a hang.
func FuzzDecode(f *testing.F) {
	w := newArenaWorld(f)
	for _, src := range fuzzSources {
		if err := w.Call(mustLoadF(f, w, src), 1); err != nil {
			f.Fatalf("run %q: %v", src, err)
		}
		e := w.NewEncoder()
		if err := e.Encode(w.L.Get(-1), "v"); err != nil {
			f.Fatalf("encode %q: %v", src, err)
		}
		w.L.Pop(1)
		f.Add(e.Bytes())
	}
	for _, msg := range hostileHandles(w.Arena) {
		f.Add(msg)
	}
	// In range, up to the last object that fits.
	for _, typ := range handleTypes {
		for _, off := range []uint64{uint64(w.Arena.Size()) - 64, uint64(w.Arena.Size()) / 2} {
			f.Add(handleMessage(typ, appendHandleInts(nil, off, 1, 1, 2, off, 0)))
		}
	}
	top := w.L.GetTop()
	f.Fuzz(func(t *testing.T, msg []byte) {
		d, err := w.NewDecoder(msg)
		if err != nil {
			return
		}
		decodeAll(d)
		w.L.SetTop(top)
	})
}

func mustLoadF(f *testing.F, w *World, src string) *lua.LFunction {
	fn, err := w.L.Load(strings.NewReader(src), "=fuzz")
	if err != nil {
		f.Fatal(err)
	}
	return fn
}

// TestDecodeFarIntegerKey: a pair whose integer key lies far beyond the
// table's items (gopher-lua would pad its array part with nils up to it,
// gigabytes for an 11-byte message) is refused; keys near the items, and
// keys the array part never holds, are taken.
func TestDecodeFarIntegerKey(t *testing.T) {
	w := newArenaWorld(t)
	far := []byte("\x00\x06\x00\x03\xea\xc5\xa72\x030")
	d, err := w.NewDecoder(far)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := d.Decode(); err == nil || !strings.Contains(err.Error(), "far beyond") {
		t.Errorf("decode %q = %v, %v; want an error about a key far beyond the items", far, v, err)
	}
	e := w.NewEncoder()
	if err := w.Call(mustLoad(t, w, `local t = {1, 2, 3}; t[-5] = "neg"; t[2^40] = "big"; t[1.5] = "half"; return t`), 1); err != nil {
		t.Fatal(err)
	}
	if err := e.Encode(w.L.Get(-1), "t"); err != nil {
		t.Fatal(err)
	}
	w.L.Pop(1)
	d, err = w.NewDecoder(e.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	v, err := d.Decode()
	if err != nil {
		t.Fatalf("decode of an ordinary table: %v", err)
	}
	tb := v.(*lua.LTable)
	if tb.Len() != 3 || tb.RawGet(lua.LNumber(-5)) != lua.LString("neg") || tb.RawGet(lua.LNumber(1<<40)) != lua.LString("big") {
		t.Errorf("ordinary table decoded as len %d, t[-5] = %v, t[2^40] = %v", tb.Len(), tb.RawGet(lua.LNumber(-5)), tb.RawGet(lua.LNumber(1<<40)))
	}
}
