package lua

// Tests for procsh's patches to gopher-lua (see PATCHES.md). The pure Lua
// cases carry the output Debian's lua5.1 (5.1.5) prints for them;
// TestProcshPatchesMatchLua51 runs them through lua5.1 itself when it is
// installed.

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

type procshLuaCase struct {
	name string
	src  string
	want string
}

// Raising an error closes the upvalues of the frames it unwinds, and only
// those (yuin/gopher-lua#448).
var procshUpvalueCases = []procshLuaCase{
	{
		name: "reproducer",
		src: `local count = 0
local function inc() count = count + 1 end
inc()
pcall(function() error("boom") end)
inc()
print(count)
`,
		want: "2\n",
	},
	{
		name: "upstream issue 448",
		src: `local a
function use_a()
  a("test")
end
pcall(function()
  error("an error")
end)
a = function(prompt)
  print(prompt)
end
use_a()
`,
		want: "test\n",
	},
	{
		name: "nested pcalls",
		src: `local n = 0
local function bump() n = n + 1 end
print(pcall(function()
  local inner = 0
  local function ib() inner = inner + 1 end
  ib()
  pcall(error, "x")
  pcall(function() pcall(error, "y"); error("z") end)
  ib(); bump()
  print("inner", inner)
  error("outer", 0)
end))
bump()
print("n", n)
`,
		want: "inner\t2\nfalse\touter\nn\t2\n",
	},
	{
		name: "error value is a table",
		src: `local t = 0
local function tinc() t = t + 1 end
tinc()
pcall(error, {code = 1})
tinc()
pcall(function() error({}) end)
tinc()
print(t)
`,
		want: "3\n",
	},
	{
		name: "error raised by the VM",
		src: `local t = 0
local function tinc() t = t + 1 end
tinc()
pcall(function() local x; return x.y end)
tinc()
print(t)
`,
		want: "2\n",
	},
	{
		name: "xpcall handler writes an upvalue of a running function",
		src: `local v = 1
local function setv(x) v = x end
local ok, r = xpcall(function()
  setv(2)
  pcall(error, "inner")
  error("e", 0)
end, function(e) v = v + 100; return e .. v end)
print(ok, r, v)
setv(v + 1)
print(v)
`,
		want: "false\te102\t102\n103\n",
	},
	{
		name: "xpcall handler sees the stack before unwinding",
		src: `local get
local ok, e = xpcall(function()
  local secret = 1
  get = function() return secret end
  pcall(error, "inner")
  secret = 2
  error("x")
end, function(e)
  local name, val = debug.getlocal(3, 1)
  debug.setlocal(3, 1, val + 97)
  return name .. "=" .. val
end)
print(ok, e, get())
`,
		want: "false\tsecret=2\t99\n",
	},
	{
		name: "xpcall handler fails",
		src: `local c = 0
local function inc() c = c + 1 end
inc()
print((xpcall(function()
  local u = 1
  escaped = function() return u end
  u = 5
  error("a")
end, function(e) error("b") end)))
inc()
local function other() local a, b, c, d = 10, 20, 30, 40; return a + b + c + d end
print(c, escaped(), other(), escaped())
`,
		want: "false\n2\t5\t100\t5\n",
	},
	{
		name: "closure escaped from the failing call keeps its value",
		src: `local keep
pcall(function()
  local x = 5
  keep = function() x = x + 1; return x end
  x = 7
  escaped = function() return x end
  error("die")
end)
local y = 0
local function other() local a, b, c = 100, 200, 300; return a + b + c end
other()
print(keep(), keep(), escaped(), other())
`,
		want: "8\t9\t9\t600\n",
	},
	{
		name: "pcall inside a coroutine",
		src: `local outer = 0
local function oinc() outer = outer + 1 end
local co = coroutine.create(function()
  local c = 0
  local function ci() c = c + 1 end
  ci(); oinc()
  pcall(error, "in co")
  ci(); oinc()
  coroutine.yield(c)
  ci()
  return c
end)
print(coroutine.resume(co))
print(coroutine.resume(co))
oinc()
print(outer)
`,
		want: "true\t2\ntrue\t3\n3\n",
	},
	{
		name: "coroutine dies from an error",
		src: `local getter
local shared = 0
local function sinc() shared = shared + 1 end
local co = coroutine.create(function()
  local z = 1
  getter = function() z = z + 1; return z end
  z = 41
  sinc()
  error("dead", 0)
end)
print(coroutine.resume(co))
sinc()
print(coroutine.status(co), getter(), getter(), shared)
`,
		want: "false\tdead\ndead\t42\t43\t2\n",
	},
	{
		name: "wrapped coroutine dies inside a pcall",
		src: `local shared = 0
local function sinc() shared = shared + 1 end
local co = coroutine.wrap(function()
  sinc()
  error("w", 0)
end)
sinc()
print(pcall(co))
sinc()
print(shared)
`,
		want: "false\tw\n3\n",
	},
}

// error(msg, level) blames the place Lua 5.1 blames. The chunk is named
// "stdin", as lua5.1 names a script read from its standard input.
var procshErrorLevelCases = []procshLuaCase{
	{
		name: "level 0",
		src: `local function f() error("msg", 0) end
local function g() f() end
print(select(2, pcall(g)))
`,
		want: "msg\n",
	},
	{
		name: "level 1",
		src: `local function f() error("msg", 1) end
local function g() f() end
print(select(2, pcall(g)))
`,
		want: "stdin:1: msg\n",
	},
	{
		name: "default level",
		src: `local function f()
  error("msg")
end
print(select(2, pcall(f)))
`,
		want: "stdin:2: msg\n",
	},
	{
		name: "level 2",
		src: `local function f() error("msg", 2) end
local function g()
  f()
end
local function h() g() end
print(select(2, pcall(h)))
`,
		want: "stdin:3: msg\n",
	},
	{
		name: "level 3",
		src: `local function f() error("msg", 3) end
local function g() f() end
local function h()
  g()
end
local function k() h() end
print(select(2, pcall(k)))
`,
		want: "stdin:4: msg\n",
	},
	{
		name: "levels 0 to 4 from one place",
		src: `local function f(n) error("msg", n) end
local function g(n) f(n) end
local function h(n) g(n) end
for n = 0, 4 do print(n, select(2, pcall(h, n))) end
`,
		want: "0\tmsg\n1\tstdin:1: msg\n2\tstdin:2: msg\n3\tstdin:3: msg\n4\tmsg\n",
	},
	{
		name: "level 2 when the caller is pcall",
		src: `local function f() error("msg", 2) end
print(select(2, pcall(f)))
`,
		want: "msg\n",
	},
	{
		name: "error called by pcall",
		src: `print(select(2, pcall(error, "msg")))
print(select(2, pcall(error, "msg", 1)))
print(select(2, pcall(error, "msg", 2)))
`,
		want: "msg\nmsg\nstdin:3: msg\n",
	},
	{
		name: "level 2 lost to a tail call",
		src: `local function f() error("msg", 2) end
local function g() return f() end
local function h()
  g()
end
print(select(2, pcall(h)))
`,
		want: "msg\n",
	},
	{
		name: "level 3 past a tail call",
		src: `local function f() error("msg", 3) end
local function g() f() end
local function h() return g() end
local function k()
  h()
end
print(select(2, pcall(k)))
`,
		want: "msg\n",
	},
	{
		name: "error raised by the VM is placed where it happens",
		src: `local function f(t)
  return t.x
end
local function g() f(nil) end
print((string.match(select(2, pcall(g)), "^stdin:%d+:")))
`,
		want: "stdin:2:\n",
	},
	{
		name: "Go function called from Lua",
		src: `local function f()
  string.rep()
end
print((string.match(select(2, pcall(f)), "^stdin:%d+:")))
print((string.match(select(2, pcall(string.rep)), "^stdin:%d+:")))
`,
		want: "stdin:2:\nnil\n",
	},
}

func procshNewState(t *testing.T) (*LState, *bytes.Buffer) {
	t.Helper()
	L := NewState()
	out := &bytes.Buffer{}
	L.SetGlobal("print", L.NewFunction(func(L *LState) int {
		for i := 1; i <= L.GetTop(); i++ {
			if i > 1 {
				out.WriteByte('\t')
			}
			out.WriteString(L.ToStringMeta(L.Get(i)).String())
		}
		out.WriteByte('\n')
		return 0
	}))
	return L, out
}

func procshRunLua(t *testing.T, L *LState, src string) {
	t.Helper()
	fn, err := L.Load(strings.NewReader(src), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	L.Push(fn)
	if err := L.PCall(0, MultRet, nil); err != nil {
		t.Fatal(err)
	}
}

func procshCheckCases(t *testing.T, cases []procshLuaCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			L, out := procshNewState(t)
			defer L.Close()
			procshRunLua(t, L, c.src)
			if got := out.String(); got != c.want {
				t.Errorf("got\n%q\nwant (as lua5.1 prints)\n%q", got, c.want)
			}
		})
	}
}

func TestProcshUpvaluesSurviveErrors(t *testing.T) {
	procshCheckCases(t, procshUpvalueCases)
}

func TestProcshErrorLevels(t *testing.T) {
	procshCheckCases(t, procshErrorLevelCases)
}

func TestProcshPatchesMatchLua51(t *testing.T) {
	lua51, err := exec.LookPath("lua5.1")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("lua5.1 is not on PATH: %v", err)
		}
		t.Skip("lua5.1 is not on PATH")
	}
	cases := append(append([]procshLuaCase{}, procshUpvalueCases...), procshErrorLevelCases...)
	cases = append(cases, procshFastPathCases...)
	for _, c := range append(cases, procshLimitCases...) {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(lua51, "-")
			cmd.Stdin = strings.NewReader(c.src)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("lua5.1: %v\n%s", err, out)
			}
			if string(out) != c.want {
				t.Errorf("lua5.1 printed\n%q\nthe test expects\n%q", out, c.want)
			}
			L, got := procshNewState(t)
			defer L.Close()
			procshRunLua(t, L, c.src)
			if got.String() != string(out) {
				t.Errorf("gopher-lua printed\n%q\nlua5.1 printed\n%q", got.String(), out)
			}
		})
	}
}

// Errors raised by Go functions: the frames they unwind are closed, and
// the rest keep sharing their locals.
func TestProcshUpvaluesSurviveGoErrors(t *testing.T) {
	L, out := procshNewState(t)
	defer L.Close()
	L.SetGlobal("goraise", L.NewFunction(func(L *LState) int {
		L.RaiseError("raised from Go")
		return 0
	}))
	L.SetGlobal("goerrtable", L.NewFunction(func(L *LState) int {
		tb := L.NewTable()
		tb.RawSetString("code", LNumber(42))
		L.Error(tb, 1)
		return 0
	}))
	L.SetGlobal("goargerror", L.NewFunction(func(L *LState) int {
		L.CheckInt(1)
		return 0
	}))
	// gotry calls its argument in protected mode, as a Go API would, and
	// returns whether it succeeded.
	L.SetGlobal("gotry", L.NewFunction(func(L *LState) int {
		L.Push(L.CheckFunction(1))
		L.Push(LBool(L.PCall(0, 0, nil) == nil))
		return 1
	}))
	procshRunLua(t, L, `local c = 0
local function inc() c = c + 1 end
inc()
pcall(goraise); inc()
pcall(goerrtable); inc()
local ok, e = pcall(function() local l = 0; goerrtable() end); inc()
print(ok, type(e), e.code)
pcall(function() goargerror("x") end); inc()
print(gotry(function() inc(); goraise() end)); inc()
local keep
print(gotry(function()
  local x = 1
  keep = function() return x end
  x = 2
  goerrtable()
end))
local function other() local a, b, c = 7, 8, 9; return a + b + c end
print(c, keep(), other())
`)
	want := "false\ttable\t42\nfalse\n" +
		"false\n7\t2\t24\n"
	if got := out.String(); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

// A coroutine killed by an error closes its upvalues: closures it made no
// longer point into its registry.
func TestProcshDeadCoroutineClosesUpvalues(t *testing.T) {
	for _, wrap := range []string{"create", "wrap"} {
		t.Run(wrap, func(t *testing.T) {
			L, _ := procshNewState(t)
			defer L.Close()
			procshRunLua(t, L, `local co = coroutine.`+wrap+`(function()
  local z = 1
  getter = function() return z end
  z = 2
  error("dead")
end)
if type(co) == "thread" then coroutine.resume(co) else pcall(co) end
`)
			getter, ok := L.GetGlobal("getter").(*LFunction)
			if !ok {
				t.Fatal("getter is not a function")
			}
			if uv := getter.Upvalues[0]; !uv.IsClosed() || uv.Value() != LNumber(2) {
				t.Errorf("upvalue closed=%v value=%v, want closed with 2", uv.IsClosed(), uv.Value())
			}
		})
	}
}

// Errors raised from Go functions are placed as luaL_error places them:
// level 1 is where Lua called the Go function.
func TestProcshErrorLevelsFromGo(t *testing.T) {
	L, out := procshNewState(t)
	defer L.Close()
	L.SetGlobal("goraise", L.NewFunction(func(L *LState) int {
		L.RaiseError("raised from Go")
		return 0
	}))
	L.SetGlobal("goerror", L.NewFunction(func(L *LState) int {
		L.Error(LString("error from Go"), L.CheckInt(1))
		return 0
	}))
	L.SetGlobal("goargerror", L.NewFunction(func(L *LState) int {
		L.CheckInt(1)
		return 0
	}))
	procshRunLua(t, L, `print(select(2, pcall(function()
  goraise()
end)))
print(select(2, pcall(goraise)))
local function f(n)
  goerror(n)
end
local function g(n)
  f(n)
end
for n = 0, 3 do print(n, select(2, pcall(g, n))) end
print(select(2, pcall(function()
  goargerror("x")
end)))
`)
	want := "stdin:2: raised from Go\n" +
		"raised from Go\n" +
		"0\terror from Go\n" +
		"1\tstdin:6: error from Go\n" +
		"2\tstdin:9: error from Go\n" +
		"3\terror from Go\n" +
		"stdin:13: bad argument #1 to goargerror (number expected, got string)\n"
	if got := out.String(); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestProcshTablePackUnpack(t *testing.T) {
	L, out := procshNewState(t)
	defer L.Close()
	procshRunLua(t, L, `local t = table.pack(1, nil, "c", nil)
print(t.n, t[1], t[2], t[3], t[4])
local e = table.pack()
print(e.n, e[1])
print(table.unpack({1, 2, 3}))
print(table.unpack({1, 2, 3}, 2))
print(table.unpack({1, 2, 3}, 2, 3))
print(table.unpack({1, 2, 3}, 0, 1))
print(select("#", table.unpack({}, 1, 0)))
print(table.unpack(t, 1, t.n))
print(select("#", table.unpack(table.pack(nil, nil), 1, 2)))
`)
	want := "4\t1\tnil\tc\tnil\n" +
		"0\tnil\n" +
		"1\t2\t3\n" +
		"2\t3\n" +
		"2\t3\n" +
		"nil\t1\n" +
		"0\n" +
		"1\tnil\tc\tnil\n" +
		"2\n"
	if got := out.String(); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

// Limits that end in a Lua error where gopher-lua ended the program, and
// table.concat without the registry (see PATCHES.md).
var procshLimitCases = []procshLuaCase{
	{
		name: "coroutines resuming coroutines",
		src: `local function nest(n)
  local co = coroutine.create(function() return nest(n + 1) end)
  local ok, v = coroutine.resume(co)
  if not ok then error(v, 0) end
  return v
end
print(pcall(nest, 1))
`,
		want: "false\tC stack overflow\n",
	},
	{
		name: "table.concat of 6000 numbers",
		src: `local parts = {}
for i = 1, 6000 do parts[i] = i % 10 end
local s = table.concat(parts, ",")
print(#s, s:sub(1, 9), s:sub(-5))
print(table.concat({1, 2.5, "x"}, "-"), table.concat({}, "x"), table.concat({"a", "b", "c"}, "", 2, 3))
print(pcall(table.concat, {1, {}, 3}))
`,
		want: "11999\t1,2,3,4,5\t8,9,0\n1-2.5-x\t\tbc\nfalse\tinvalid value (table) at index 2 in table for 'concat'\n",
	},
}

func TestProcshLimits(t *testing.T) {
	procshCheckCases(t, procshLimitCases)
}

// A coroutine that returns in a state with a context: its own context,
// cancelled when it died, failed the resume with "context canceled".
func TestProcshCoroutineUnderContext(t *testing.T) {
	L, out := procshNewState(t)
	defer L.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	L.SetContext(ctx)
	procshRunLua(t, L, `print(coroutine.resume(coroutine.create(function(x) return x + 1 end), 1))
local gen = coroutine.wrap(function() coroutine.yield(1) return 2 end)
print(gen(), gen())
`)
	if got, want := out.String(), "true\t2\n1\t2\n"; got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

// procshDeepState is a state with limits like procsh's: a deep, growable
// call stack and registry.
func procshDeepState(t *testing.T) (*LState, *bytes.Buffer) {
	L, out := procshNewState(t)
	L.Close()
	L = NewState(Options{CallStackSize: 200000, MinimizeStackMemory: true, RegistrySize: 1024, RegistryMaxSize: 4 << 20})
	L.SetGlobal("print", L.NewFunction(func(L *LState) int {
		for i := 1; i <= L.GetTop(); i++ {
			if i > 1 {
				out.WriteByte('\t')
			}
			out.WriteString(L.ToStringMeta(L.Get(i)).String())
		}
		out.WriteByte('\n')
		return 0
	}))
	return L, out
}

// Running out of call stack, registry, Go stack or syntax levels is a Lua
// error, reported at once; the registry overflowing under xpcall (whose
// handler had no room) and nested runs of the VM ended the program.
func TestProcshOverflowsAreErrors(t *testing.T) {
	L, out := procshDeepState(t)
	defer L.Close()
	start := time.Now()
	procshRunLua(t, L, `local function f(n) if n == 0 then return 0 end return 1 + f(n - 1) end
print(f(150000))
print(pcall(f, 1e7))
print(pcall(unpack, {}, 1, 1e8))
print(xpcall(function() return unpack({}, 1, 1e8) end, function(m) return "handled: " .. m end))
local t = setmetatable({}, {__index = function(t, k) return t[k] end})
print(pcall(function() return t.x end))
local function w(n) return coroutine.wrap(function() return w(n + 1) end)() end
print(pcall(w, 1))
print(loadstring("return " .. string.rep("{", 20000) .. string.rep("}", 20000)))
print(loadstring(string.rep("do ", 20000) .. string.rep("end ", 20000)))
print(loadstring("return " .. string.rep("(", 20000) .. "1" .. string.rep(")", 20000))())
local parts = {}
for i = 1, 8000 do parts[i] = i end
print(select("#", unpack(parts)))
`)
	want := "150000\n" +
		"false\tstdin:1: stack overflow\n" +
		"false\tregistry overflow\n" +
		"false\thandled: stdin:5: registry overflow\n" +
		"false\tstdin:6: C stack overflow\n" +
		"false\tstdin:8: C stack overflow\n" +
		"nil\tcompile error near line(1) <string>: chunk has too many syntax levels\n" +
		"nil\tcompile error near line(1) <string>: chunk has too many syntax levels\n" +
		"1\n" +
		"8000\n"
	if got := out.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("the overflows took %v to report, want a few seconds at most", d)
	}
}
