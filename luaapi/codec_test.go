package luaapi

import (
	"math"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// roundTrip runs src in a sender world (it must return one value), sends
// the value to a fresh receiver world, and returns the receiver.
func roundTrip(t *testing.T, src string) (*World, lua.LValue) {
	t.Helper()
	from := NewWorld(Options{Self: Identity{Name: "sender"}})
	t.Cleanup(from.Close)
	if err := from.Call(mustLoad(t, from, src), 1); err != nil {
		t.Fatalf("run %q: %v", src, err)
	}
	v := from.L.Get(-1)
	from.L.Pop(1)
	e := from.NewEncoder()
	if err := e.Encode(v, "value"); err != nil {
		t.Fatalf("encode %q: %v", src, err)
	}
	to := NewWorld(Options{Self: Identity{Name: "receiver"}})
	t.Cleanup(to.Close)
	d, err := to.NewDecoder(e.Bytes())
	if err != nil {
		t.Fatalf("decode header of %q: %v", src, err)
	}
	got, err := d.Decode()
	if err != nil {
		t.Fatalf("decode %q: %v", src, err)
	}
	if d.More() {
		t.Fatalf("decode %q: bytes left over", src)
	}
	return to, got
}

func mustLoad(t *testing.T, w *World, src string) *lua.LFunction {
	t.Helper()
	fn, err := w.L.Load(strings.NewReader(src), "=test")
	if err != nil {
		t.Fatalf("compile %q: %v", src, err)
	}
	return fn
}

// TestRoundTrip sends values to another state and checks them there with
// a Lua predicate that receives the value as v.
func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name, value, check string
	}{
		{"nil", "return nil", "return v == nil"},
		{"true", "return true", "return v == true"},
		{"false", "return false", "return v == false"},
		{"integer", "return 42", "return v == 42"},
		{"negative", "return -7", "return v == -7"},
		{"2^53", "return 2^53", "return v == 2^53"},
		{"-2^63", "return -2^63", "return v == -2^63"},
		{"2^64", "return 2^64", "return v == 2^64"},
		{"float", "return 0.1", "return v == 0.1"},
		{"tiny", "return 5e-324", "return v == 5e-324"},
		{"inf", "return math.huge", "return v == math.huge"},
		{"-inf", "return -math.huge", "return v == -math.huge"},
		{"nan", "return 0/0", "return v ~= v"},
		{"string", `return "hello"`, `return v == "hello"`},
		{"binary string", `return "a\0b\255\n"`, `return v == "a\0b\255\n" and #v == 5`},
		{"empty string", `return ""`, `return v == ""`},
		{"list", "return {1, 2, 3}", "return #v == 3 and v[1] == 1 and v[3] == 3"},
		{"holes", "return {1, nil, 3}", "return v[1] == 1 and v[2] == nil and v[3] == 3"},
		{"map", "return {a = 1, [true] = 'x', [2.5] = 'y'}", "return v.a == 1 and v[true] == 'x' and v[2.5] == 'y'"},
		{"table keys", "local k = {} return {[k] = k}", "local k = next(v) return v[k] == k"},
		{"cycle", "local t = {} t.self = t return t", "return v.self == v"},
		{"shared", "local s = {} return {s, s}", "return v[1] == v[2] and type(v[1]) == 'table'"},
		{"metatable", "return setmetatable({}, {__index = function(_, k) return k * 2 end})", "return v[21] == 42"},
		{"shared metatable", "local mt = {} return {setmetatable({}, mt), setmetatable({}, mt)}", "return getmetatable(v[1]) == getmetatable(v[2])"},
		{"function", "return function(x) return x + 1 end", "return v(1) == 2"},
		{"closure", "local n = 10 return function() n = n + 1 return n end", "return v() == 11 and v() == 12"},
		{"shared upvalue", "local n = 0 return {function() n = n + 1 end, function() return n end}", "v[1]() v[1]() return v[2]() == 2"},
		{"recursive function", "local function f(n) if n == 0 then return 0 end return n + f(n - 1) end return f", "return v(10) == 55"},
		{"nested function", "return function() return function() return 7 end end", "return v()() == 7"},
		{"builtin function", "return string.format", "return v == string.format"},
		{"builtin table", "return string", "return v == string"},
		{"io.stdout", "return io.stdout", "return v == io.stdout"},
		{"module function", "return require('multiprocessing').Process", "return v == require('multiprocessing').Process"},
		{"globals", "x_global = 5 return _G", "return v == _G and x_global == 5"},
		{"loadstring function", "return loadstring('return 99')", "return v() == 99"},
		{"function env", "local f = function() return y end setfenv(f, {y = 3}) return f", "return v() == 3"},
		{"packed args", "return table.pack(1, nil, 3)", "return v.n == 3 and v[3] == 3 and v[2] == nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to, got := roundTrip(t, tt.value)
			check := mustLoad(t, to, "local v = ... "+tt.check)
			if err := to.Call(check, 1, got); err != nil {
				t.Fatalf("check %q on %q: %v", tt.check, tt.value, err)
			}
			if ok := to.L.Get(-1); ok != lua.LTrue {
				t.Errorf("decode(encode(%s)): check %q = %v, want true", tt.value, tt.check, ok)
			}
		})
	}
}

// TestEncodeRefusals checks that what cannot be sent is an error naming
// the value's path and its type.
func TestEncodeRefusals(t *testing.T) {
	tests := []struct {
		value, want string
	}{
		{"return {co = coroutine.create(print)}", "cannot send a coroutine (args.co)"},
		{"return {1, {x = {coroutine.create(print)}}}", "cannot send a coroutine (args[2].x[1])"},
		{"return {['a b'] = coroutine.create(print)}", `cannot send a coroutine (args["a b"])`},
		{"local co = coroutine.create(print) return {function() return co end}", "cannot send a coroutine (args[1] of upvalue 'co')"},
		{"return {channel.make()}", "cannot send a channel (args[1])"},
	}
	for _, tt := range tests {
		w := NewWorld(Options{})
		if err := w.Call(mustLoad(t, w, tt.value), 1); err != nil {
			t.Fatal(err)
		}
		err := w.NewEncoder().Encode(w.L.Get(-1), "args")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("encode(%s) = %v, want an error containing %q", tt.value, err, tt.want)
		}
		w.Close()
	}
}

// TestDeepNesting checks that 10,000 nested levels neither crash the
// encoder nor the decoder, and that past MaxDepth both refuse cleanly.
func TestDeepNesting(t *testing.T) {
	to, got := roundTrip(t, "local t = {} local top = t for i = 1, 10000 do t.next = {} t = t.next end t.leaf = 'bottom' return top")
	check := mustLoad(t, to, "local v = ... local n = 0 while v.next do v = v.next n = n + 1 end return n == 10000 and v.leaf == 'bottom'")
	if err := to.Call(check, 1, got); err != nil || to.L.Get(-1) != lua.LTrue {
		t.Fatalf("10,000 levels did not round-trip: %v", err)
	}

	w := NewWorld(Options{})
	defer w.Close()
	if err := w.Call(mustLoad(t, w, "local t = {} local top = t for i = 1, 100001 do t.next = {} t = t.next end return top"), 1); err != nil {
		t.Fatal(err)
	}
	err := w.NewEncoder().Encode(w.L.Get(-1), "v")
	if err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("encode of %d levels = %v, want a nesting error", MaxDepth+1, err)
	}
	// A hostile message nesting tables deeper than MaxDepth.
	msg := []byte{0}
	for i := 0; i <= MaxDepth; i++ {
		msg = append(msg, tagTable, 0)
	}
	d, err := w.NewDecoder(msg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Decode(); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("decode of %d nested tables = %v, want a nesting error", MaxDepth+1, err)
	}
}

// TestLargeTable round-trips a table of a million entries in each part.
func TestLargeTable(t *testing.T) {
	to, got := roundTrip(t, "local t = {} for i = 1, 1000000 do t[i] = i * 2 end for i = 1, 1000000 do t['k' .. i] = i end return t")
	check := mustLoad(t, to, "local v = ... for i = 1, 1000000 do if v[i] ~= i * 2 or v['k' .. i] ~= i then return false end end return #v == 1000000")
	if err := to.Call(check, 1, got); err != nil || to.L.Get(-1) != lua.LTrue {
		t.Fatalf("a table of 2e6 entries did not round-trip: %v", err)
	}
}

// TestDecodeHostile feeds the decoder truncated and corrupted messages:
// each must give an error or a value, never a panic or a hang.
func TestDecodeHostile(t *testing.T) {
	from := NewWorld(Options{})
	defer from.Close()
	if err := from.Call(mustLoad(t, from, "local t = {1, 'two', 3.5, {x = true}} t.self = t local n = 0 t.f = function() n = n + 1 return n end return t"), 1); err != nil {
		t.Fatal(err)
	}
	e := from.NewEncoder()
	if err := e.Encode(from.L.Get(-1), "v"); err != nil {
		t.Fatal(err)
	}
	good := e.Bytes()
	to := NewWorld(Options{})
	defer to.Close()
	decode := func(msg []byte) (err error) {
		d, err := to.NewDecoder(msg)
		if err != nil {
			return err
		}
		_, err = d.Decode()
		return err
	}
	for n := 0; n < len(good); n++ {
		if err := decode(good[:n]); err == nil {
			t.Errorf("decode of %d of %d bytes: no error, want one", n, len(good))
		}
	}
	for i := range good {
		for _, b := range []byte{0, 1, 0x7f, 0x80, 0xff, good[i] ^ 0x55} {
			bad := append([]byte(nil), good...)
			bad[i] = b
			decode(bad) // must not panic
		}
	}
	huge := []byte{0, tagStr, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}
	if err := decode(huge); err == nil {
		t.Errorf("decode of a string longer than its message: no error, want one")
	}
	refs := []byte{0, tagRef, 5}
	if err := decode(refs); err == nil {
		t.Errorf("decode of a reference to nothing: no error, want one")
	}
}

// TestNumbersExact checks the integer/float split of the number encoding.
func TestNumbersExact(t *testing.T) {
	w := NewWorld(Options{})
	defer w.Close()
	for _, f := range []float64{0, 1, -1, 0.5, 1e300, -1e-300, math.MaxInt64, math.MinInt64, 1 << 53, (1 << 53) + 2, math.Inf(1), math.Copysign(0, -1), math.SmallestNonzeroFloat64} {
		e := w.NewEncoder()
		e.Encode(lua.LNumber(f), "n")
		d, err := w.NewDecoder(e.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		v, err := d.Decode()
		if err != nil {
			t.Fatalf("decode %v: %v", f, err)
		}
		got := float64(v.(lua.LNumber))
		if math.Float64bits(got) != math.Float64bits(f) {
			t.Errorf("decode(encode(%v)) = %v, want the same bits", f, got)
		}
	}
}
