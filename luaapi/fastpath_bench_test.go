package luaapi

import (
	"syscall"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// cpuTime is the CPU time the process has used: the benchmarks report
// it a turn (cpu-ns/op), which a machine busy with other work disturbs
// less than the wall clock.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLockLoop times the pieces of the lock benchmark's loop
// (bench/workloads/lock.lua) in one process, each in a Lua loop of b.N
// turns, so that a piece's cost is its ns/op (or cpu-ns/op) less the
// empty loop's:
//
//	go test ./luaapi/ -run XXX -bench LockLoop -count 5
func BenchmarkLockLoop(b *testing.B) {
	w := newArenaWorld(b)
	L := w.L
	if err := w.RunString(`
local mp = require("multiprocessing")
local lock = mp.Lock()
local value = mp.Value("i", 0, false)
local f = function() end
local x
loops = {
  ["empty"] = function(n) for _ = 1, n do end end,
  ["acquire+release"] = function(n) for _ = 1, n do lock:acquire() lock:release() end end,
  ["with"] = function(n) for _ = 1, n do mp.with(lock, f) end end,
  ["pcall"] = function(n) for _ = 1, n do pcall(f) end end,
  ["get"] = function(n) for _ = 1, n do x = value.value end end,
  ["set"] = function(n) for _ = 1, n do value.value = 7 end end,
  ["closure"] = function(n) for _ = 1, n do x = function() x = value end end end,
  ["iteration"] = function(n)
    value.value = 0
    for _ = 1, n do
      mp.with(lock, function()
        value.value = value.value + 1
      end)
    end
    assert(value.value == n % 2^31, value.value)
  end,
}
`, "lockloop"); err != nil {
		b.Fatal(err)
	}
	loops := L.GetGlobal("loops").(*lua.LTable)
	for _, name := range []string{"empty", "acquire+release", "with", "pcall", "get", "set", "closure", "iteration"} {
		fn := loops.RawGetString(name)
		b.Run(name, func(b *testing.B) {
			L.Push(fn)
			L.Push(lua.LNumber(b.N))
			b.ResetTimer()
			start := cpuTime(b)
			if err := L.PCall(1, 0, nil); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
		})
	}
}
