package lua

// Tests for procsh's patches to the paths of field access and calls (see
// PATCHES.md: the metatable's copy of __index and __newindex, Go
// metamethods called without a run of the VM, keys not boxed again,
// closures in one allocation, the loop counter boxed once, BoxNumber).
// The pure Lua cases carry the output Debian's lua5.1 (5.1.5) prints for
// them; TestProcshPatchesMatchLua51 runs them through lua5.1 too.

import (
	"bytes"
	"testing"
)

var procshFastPathCases = []procshLuaCase{
	{
		name: "__index and __newindex set, changed and removed after setmetatable",
		src: `local mt = {}
local t = setmetatable({}, mt)
print(t.x)
mt.__index = {x = 1}
print(t.x)
mt.__index = function(_, k) return k .. "!" end
print(t.x, t[1])
rawset(mt, "__index", nil)
print(t.x)
mt.__index = mt
mt.y = 2
print(t.y, t.__index == mt)
local log = {}
mt.__newindex = function(_, k, v) log[#log + 1] = k .. "=" .. tostring(v) end
t.a = 1
print(rawget(t, "a"), log[1])
rawset(mt, "__newindex", nil)
t.b = 2
print(rawget(t, "b"), #log)
mt.__newindex = log
t.c = 3
print(rawget(t, "c"), log.c)
local k = "__index"
mt[k] = {x = "through a computed key"}
print(t.x)
`,
		want: "nil\n1\nx!\t1!\nnil\n2\ttrue\nnil\ta=1\n2\t1\nnil\t3\nthrough a computed key\n",
	},
	{
		name: "chains, shared metatables, constructors and Go metamethods",
		src: `local base = {z = 3}
local mid = setmetatable({}, {__index = base})
local top = setmetatable({}, {__index = mid})
print(top.z)
getmetatable(mid).__index = {z = 4}
print(top.z)
local shared = {__index = {s = "shared"}}
local a, b = setmetatable({}, shared), setmetatable({}, shared)
shared.__index = {s = "changed"}
print(a.s, b.s)
local c = setmetatable({}, {__index = rawget, __newindex = rawset})
c.v = 5
print(rawget(c, "v"), c.v, c.w)
local plain = {__index = 1, __newindex = 2}
print(plain.__index, plain.__newindex)
print(("abc"):upper(), ("x"):rep(3), #("abc"):sub(2))
`,
		want: "3\n4\nchanged\tchanged\n5\t5\tnil\n1\t2\nABC\txxx\t2\n",
	},
	{
		name: "the globals' metatable",
		src: `setmetatable(_G, {__index = function(_, k) return "no " .. k end,
  __newindex = function(t, k, v) rawset(t, k, v .. "!") end})
print(undefined_name)
new_global = "set"
print(new_global)
`,
		want: "no undefined_name\nset!\n",
	},
	{
		name: "errors in metamethods",
		src: `local t = setmetatable({}, {__index = function(_, k) error("no field " .. k) end,
  __newindex = function(_, k) error("cannot set " .. k, 2) end})
print(pcall(function() return t.x end))
print(pcall(function() t.y = 1 end))
`,
		want: "false\tstdin:1: no field x\nfalse\tstdin:4: cannot set y\n",
	},
	{
		name: "closures of one, two and three upvalues",
		src: `local function mk()
  local a, b, c = 0, 0, 0
  return function() a = a + 1 return a end,
    function() a = a + 1 b = b + 1 return a, b end,
    function() a = a + 1 b = b + 1 c = c + 1 return a, b, c end
end
local f1, f2, f3 = mk()
print(f1(), f2())
print(f3())
print(f1())
local fs = {}
for i = 1, 3 do fs[i] = function() return i end end
print(fs[1](), fs[2](), fs[3]())
`,
		want: "1\t2\t1\n3\t2\t1\n4\n1\t2\t3\n",
	},
	{
		name: "numeric for loops",
		src: `local out = {}
local function w(...) for _, x in ipairs({...}) do out[#out + 1] = tostring(x) end end
for i = 1, 3 do i = i * 10 w(i) end
for i = 1, 2, 0.5 do w(i) end
for i = 3, 1, -1 do w(i) end
for i = 200, 1000, 400 do w(i) end
for i = 1, 0 do w("never") end
print(table.concat(out, " "))
local sum = 0
for i = 1, 3 do for j = i, 3 do sum = sum + i * j end end
print(sum)
`,
		want: "10 20 30 1 1.5 2 3 2 1 200 600 1000\n25\n",
	},
}

func TestProcshFastPaths(t *testing.T) {
	procshCheckCases(t, procshFastPathCases)
}

// procshGoFields is a state like procsh's with a userdata, fields, whose
// __index and __newindex are Go functions, as procsh's shared Values are.
func procshGoFields(t *testing.T) (*LState, *bytes.Buffer) {
	L, out := procshDeepState(t)
	values := map[string]LValue{}
	fields := L.NewUserData()
	mt := L.NewTable()
	L.SetField(mt, "__index", L.NewFunction(func(L *LState) int {
		k := L.CheckString(2)
		switch k {
		case "bad":
			L.RaiseError("no field %s", k)
		case "loop":
			L.Push(L.GetField(L.Get(1), "loop")) // an __index calling itself
			return 1
		case "none":
			return 0
		}
		v, ok := values[k]
		if !ok {
			v = LNil
		}
		L.Push(v)
		return 1
	}))
	L.SetField(mt, "__newindex", L.NewFunction(func(L *LState) int {
		k := L.CheckString(2)
		if k == "bad" {
			L.ArgError(3, "not settable")
		}
		values[k] = L.Get(3)
		return 0
	}))
	fields.Metatable = mt
	L.SetGlobal("fields", fields)
	return L, out
}

// Go __index and __newindex functions: their results, their errors and
// the frames those name, their recursion bounded as a Lua function's,
// and the registry as it was after each.
func TestProcshGoMetamethods(t *testing.T) {
	L, out := procshGoFields(t)
	defer L.Close()
	procshRunLua(t, L, `fields.value = 41
local k = "value"
print(fields.value + 1, fields[k], fields.unset, fields.none)
print(select("#", fields.none))
print(pcall(function() return fields.bad end))
print(pcall(function() fields.bad = 1 end))
print(pcall(function() return fields.loop end))
local ok, trace = xpcall(function() return fields.bad end, debug.traceback)
print(trace:match("%[G%]: in function") ~= nil, (trace:gsub("\n.*", "")))
local co = coroutine.wrap(function() coroutine.yield(fields.value) return fields.value + 1 end)
print(co(), co())
`)
	want := "42\t41\tnil\tnil\n1\n" +
		"false\tstdin:5: no field bad\n" +
		"false\tstdin:6: bad argument #3 to (anonymous) (not settable)\n" +
		"false\tC stack overflow\n" +
		"true\tstdin:8: no field bad\n" +
		"41\t42\n"
	if got := out.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if top := L.GetTop(); top != 0 {
		t.Errorf("the registry holds %d values after the script, want 0", top)
	}
}

// GetField and SetField from Go reach Go metamethods too, with the key
// boxed for them.
func TestProcshGoMetamethodsFromGo(t *testing.T) {
	L, _ := procshGoFields(t)
	defer L.Close()
	fields := L.GetGlobal("fields")
	L.SetField(fields, "x", LNumber(7))
	if got := L.GetField(fields, "x"); got != LNumber(7) {
		t.Errorf("GetField after SetField: got %v, want 7", got)
	}
	if top := L.GetTop(); top != 0 {
		t.Errorf("the registry holds %d values, want 0", top)
	}
}

// BoxNumber gives each number a box of its own, equal to the number.
func TestProcshBoxNumber(t *testing.T) {
	L := NewState()
	defer L.Close()
	var boxed []LValue
	for i := 0; i < 1000; i++ {
		boxed = append(boxed, L.BoxNumber(LNumber(float64(i)*1.5-3)))
	}
	for i, v := range boxed {
		if want := LNumber(float64(i)*1.5 - 3); v != want {
			t.Fatalf("box %d holds %v, want %v", i, v, want)
		}
	}
}

// The metatable's copy of __index and __newindex, with the map where
// Go code sets and clears them.
func TestProcshMetaFieldCopy(t *testing.T) {
	L := NewState()
	defer L.Close()
	mt := L.NewTable()
	obj := L.NewTable()
	L.SetMetatable(obj, mt)
	idx := L.NewTable()
	L.SetField(idx, "k", LString("v"))
	for _, c := range []struct {
		set  func()
		want LValue
	}{
		{func() {}, LNil},
		{func() { mt.RawSetString("__index", idx) }, LString("v")},
		{func() { mt.RawSetString("__index", LNil) }, LNil},
		{func() { mt.RawSetH(LString("__index"), idx) }, LString("v")},
		{func() { mt.RawSet(LString("__index"), LNil) }, LNil},
		{func() { L.SetField(mt, "__index", idx) }, LString("v")},
		{func() { L.SetTable(mt, LString("__index"), LNil) }, LNil},
	} {
		c.set()
		if got := L.GetField(obj, "k"); got != c.want {
			t.Errorf("obj.k: got %v, want %v (__index is %v)", got, c.want, mt.RawGetString("__index"))
		}
	}
}

// What the paths allocate: a field of a userdata through Go metamethods
// nothing (the key was boxed again for each call), a closure of one
// upvalue one object (it was two), a numeric for loop one number a turn,
// in the allocator's blocks of 32 (it was two).
func TestProcshFastPathAllocs(t *testing.T) {
	L, _ := procshGoFields(t)
	defer L.Close()
	procshRunLua(t, L, `local fields, x = fields, nil
fields.v = "stored"
probes = {
  get = function() x = fields.v end,
  set = function() fields.v = "stored" end,
  closure = function() x = function() return x end end,
  loop = function() for _ = 1, 3200 do end end,
}
`)
	probes := L.GetGlobal("probes").(*LTable)
	for _, c := range []struct {
		probe string
		max   float64
	}{
		{"get", 0},
		{"set", 0},
		{"closure", 1},
		{"loop", 3200/32 + 1},
	} {
		fn := probes.RawGetString(c.probe)
		n := testing.AllocsPerRun(100, func() {
			L.Push(fn)
			if err := L.PCall(0, 0, nil); err != nil {
				t.Fatalf("%s: %v", c.probe, err)
			}
		})
		if n > c.max {
			t.Errorf("%s: %.0f allocations, want at most %.0f", c.probe, n, c.max)
		}
	}
}
