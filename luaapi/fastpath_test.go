package luaapi

import (
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// The lock benchmark's loop is Lua method calls on shared objects; what
// procsh adds to each must not allocate. A Lock's acquire and release
// allocate nothing, nor do a Value's .value and an Array's elements (the
// key is the function's constant, the number boxed by the state's
// allocator), read or written; other fields cost what gopher-lua's own
// call of an __index or __newindex function costs, no more. These count
// allocations, they time nothing.
func TestFastPathAllocs(t *testing.T) {
	w := newArenaWorld(t)
	L := w.L
	// baseline: a userdata whose __index and __newindex are bare Go
	// functions, the least a field of a userdata costs.
	base := L.NewUserData()
	mt := L.NewTable()
	L.SetField(mt, "__index", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(42))
		return 1
	}))
	L.SetField(mt, "__newindex", L.NewFunction(func(L *lua.LState) int { return 0 }))
	base.Metatable = mt
	L.SetGlobal("base", base)
	if err := w.RunString(`
local mp = require("multiprocessing")
local lock, rlock = mp.Lock(), mp.RLock()
local v, a = mp.Value("i", 0, false), mp.Array("d", 4, false)
local vl = mp.Value("i", 0)
local base = base
local f = function() end
local x
probes = {
  ["Lock acquire/release"] = function() lock:acquire() lock:release() end,
  ["RLock acquire/release"] = function() rlock:acquire() rlock:release() end,
  ["Lock acquire(false)"] = function() lock:acquire(false) lock:release() end,
  ["mp.with(lock, f)"] = function() mp.with(lock, f) end,
  ["Value acquire/release"] = function() vl:acquire() vl:release() end,
  ["mp.with(value, f)"] = function() mp.with(vl, f) end,
  ["Value get"] = function() x = v.value end,
  ["Value set"] = function() v.value = 7 end,
  ["Array get"] = function() x = a[2] end,
  ["Array set"] = function() a[2] = 7 end,
  ["base get"] = function() x = base.value end,
  ["base set"] = function() base.value = 7 end,
  ["base index get"] = function() x = base[2] end,
  ["base index set"] = function() base[2] = 7 end,
}
`, "fastpath"); err != nil {
		t.Fatal(err)
	}
	probes := L.GetGlobal("probes").(*lua.LTable)
	allocs := func(name string) float64 {
		fn := probes.RawGetString(name)
		if fn == lua.LNil {
			t.Fatalf("no probe %q", name)
		}
		return testing.AllocsPerRun(200, func() {
			L.Push(fn)
			if err := L.PCall(0, 0, nil); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		})
	}
	for _, name := range []string{"Lock acquire/release", "RLock acquire/release", "Lock acquire(false)", "mp.with(lock, f)", "mp.with(value, f)", "Value get", "Value set", "Array get", "Array set"} {
		if n := allocs(name); n != 0 {
			t.Errorf("%s: %.1f allocations, want 0", name, n)
		}
	}
	for _, c := range []struct{ probe, base string }{
		{"Value acquire/release", "base get"}, // two method lookups through __index
		{"Value get", "base get"},
		{"Value set", "base set"},
		{"Array get", "base index get"},
		{"Array set", "base index set"},
	} {
		got, want := allocs(c.probe), allocs(c.base)
		if c.probe == "Value acquire/release" {
			want *= 2
		}
		if got > want {
			t.Errorf("%s: %.1f allocations, want at most %.1f (gopher-lua's own, %s)", c.probe, got, want, c.base)
		}
	}
}
