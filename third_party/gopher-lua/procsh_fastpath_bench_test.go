//go:build unix

package lua

// Benchmarks of the paths a method call on a userdata takes (procsh's
// shared objects are userdata with Go methods and Go __index and
// __newindex functions): each runs a Lua loop of b.N turns, so a
// path's cost is its ns/op less the empty loop's. cpu-ns/op is the
// process's CPU time a turn, which a machine busy with other work
// disturbs less than the wall clock.
//
//	go test -run XXX -bench Procsh -count 5

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// procshCPUTime is the CPU time the process has used.
func procshCPUTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func procshBenchState(b *testing.B) *LState {
	b.Helper()
	L := NewState(Options{MinimizeStackMemory: true, CallStackSize: 200000}) // as procsh's
	b.Cleanup(L.Close)
	fields := L.NewUserData()
	fmt := L.NewTable()
	L.SetField(fmt, "__index", L.NewFunction(func(L *LState) int {
		L.Push(LNumber(1000.5))
		return 1
	}))
	L.SetField(fmt, "__newindex", L.NewFunction(func(L *LState) int { return 0 }))
	fields.Metatable = fmt
	L.SetGlobal("fields", fields)
	methods := L.NewUserData()
	mmt := L.NewTable()
	L.SetField(mmt, "__index", L.SetFuncs(L.NewTable(), map[string]LGFunction{
		"m": func(L *LState) int { return 0 },
	}))
	methods.Metatable = mmt
	L.SetGlobal("methods", methods)
	L.SetGlobal("gocall", L.NewFunction(func(L *LState) int {
		L.Push(L.Get(1))
		if err := L.PCall(0, MultRet, nil); err != nil {
			L.RaiseError("%v", err)
		}
		return 0
	}))
	L.SetGlobal("gnop", L.NewFunction(func(L *LState) int { return 0 }))
	return L
}

func procshBenchLoop(b *testing.B, body string) {
	L := procshBenchState(b)
	src := "local fields, methods, gocall, gnop = fields, methods, gocall, gnop\n" +
		"local f = function() end\nlocal t = {value = 1}\nlocal x\n" +
		"return function(n) for _ = 1, n do " + body + " end end"
	fn, err := L.Load(strings.NewReader(src), "bench")
	if err != nil {
		b.Fatal(err)
	}
	L.Push(fn)
	if err := L.PCall(0, 1, nil); err != nil {
		b.Fatal(err)
	}
	loop := L.Get(-1)
	L.Pop(1)
	L.Push(loop)
	L.Push(LNumber(b.N))
	b.ResetTimer()
	start := procshCPUTime(b)
	if err := L.PCall(1, 0, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(procshCPUTime(b)-start)/float64(b.N), "cpu-ns/op")
}

func BenchmarkProcshPaths(b *testing.B) {
	for _, c := range []struct{ name, body string }{
		{"empty", ""},
		{"table get", "x = t.value"},
		{"table set", "t.value = 2"},
		{"go __index", "x = fields.value"},
		{"go __newindex", "fields.value = 7"},
		{"method", "methods:m()"},
		{"go call", "gnop()"},
		{"pcall lua", "pcall(f)"},
		{"go pcall lua", "gocall(f)"},
		{"closure", "x = function() return x end"},
	} {
		b.Run(c.name, func(b *testing.B) { procshBenchLoop(b, c.body) })
	}
}
