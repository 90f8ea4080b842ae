package luaapi

import (
	goruntime "runtime"
	"runtime/debug"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// runInproc runs src in a state whose global pool is a Pool of n (for
// the default chunksize) with an in-process worker, and fails the test
// with the error src raised; then again with a worker for each CPU
// answering one task at a time, so that the parent keeps results back
// (pool_results.go, deferResult).
func runInproc(t *testing.T, n int, src string) {
	t.Helper()
	w, _ := newInprocPool(t, n)
	if err := w.RunString(src, "test"); err != nil {
		t.Fatal(err)
	}
	w, s := newInprocPool(t, numCPU)
	s.batch = 1
	if err := w.RunString(src, "test"); err != nil {
		t.Fatalf("one task at a time: %v", err)
	}
}

// The fast paths of a map over numbers (items packed straight from the
// list, results boxed in place and set in one loop, each result in its
// item's place on the worker) give what the values' own path gives:
// every result in order, of its type, nil where the function gave nil.
func TestPoolMapResultsExact(t *testing.T) {
	runInproc(t, 2, `
local function check(ok, what) if not ok then error(what, 2) end end
function square(x) return x * x end
function mixed(x)
  if x % 5 == 0 then return nil end
  if x % 5 == 1 then return tostring(x) end
  if x % 5 == 2 then return {x} end
  if x % 5 == 3 then return x % 2 == 0 end
  return x / 2
end
local items = {}
for i = 1, 1000 do items[i] = i - 500.25 end
for _, cs in ipairs({1, 7, 1000, 5000}) do
  local out = pool:map(square, items, cs)
  check(#out == 1000, "length " .. #out)
  for i = 1, 1000 do check(out[i] == items[i] * items[i], "square " .. i) end
end
local out = pool:map(square, items) -- the default chunksize
for i = 1, 1000 do check(out[i] == items[i] * items[i], "default " .. i) end
for i = 1, 1000 do items[i] = i end
for _, cs in ipairs({1, 3, 1000}) do
  local out = pool:map(mixed, items, cs)
  for i = 1, 1000 do
    local want, got = mixed(i), out[i]
    if type(want) == "table" then
      check(type(got) == "table" and got[1] == want[1], "mixed table " .. i)
    else
      check(got == want, "mixed " .. i .. ": " .. tostring(got) .. ", want " .. tostring(want))
    end
  end
end
-- numbers with a hole, and a list with an n field: the values' path
local holes = {n = 5, 1, 2, nil, 4, nil}
local out = pool:map(function(x) return x end, holes, 2)
for i = 1, 5 do check(out[i] == holes[i], "hole " .. i) end
local out = pool:map(function(x) return x + 1 end, {n = 3, 1, 2, 3})
check(out[1] == 2 and out[2] == 3 and out[3] == 4, "n field")
-- nothing to map
check(#pool:map(square, {}) == 0, "empty")
-- starmap: each item a list of arguments, its result in its place
local out = pool:starmap(function(a, b) return a * b end, {{1, 2}, {3, 4}, {5, 6}}, 2)
check(out[1] == 2 and out[2] == 12 and out[3] == 30, "starmap")
-- imap over numbers, in order
local k = 0
for i, v in pool:imap(square, {1, 2, 3, 4, 5}, 2) do
  k = k + 1
  check(i == k and v == i * i, "imap " .. i)
end
check(k == 5, "imap count")
`)
}

// An item that raises fails alone: the items before and after it in its
// task have their results, and it has its error, not its argument.
func TestPoolMapRaisingItem(t *testing.T) {
	runInproc(t, 2, `
local function check(ok, what) if not ok then error(what, 2) end end
function f(x)
  if x == 3 or x == 6 then error("bad item " .. x) end
  return x * 10
end
local items = {}
for i = 1, 8 do items[i] = i end
local it = pool:imap(f, items, 4)
for i = 1, 8 do
  local ok, j, v = pcall(it.next, it)
  if i == 3 or i == 6 then
    check(not ok and j.type == "RemoteError", "item " .. i .. " raised: " .. tostring(j))
    check(tostring(j.message):find("bad item " .. i, 1, true), "its error: " .. tostring(j.message))
  else
    check(ok and j == i and v == i * 10, "item " .. i .. ": " .. tostring(j) .. " " .. tostring(v))
  end
end
local ok, err = pcall(pool.map, pool, f, items, 4)
check(not ok and err.type == "RemoteError" and tostring(err.message):find("bad item 3", 1, true), "map raises the first: " .. tostring(err))
-- starmap too
local ok, err = pcall(pool.starmap, pool, function(a) if a == 2 then error("two") end return a end, {{1}, {2}, {3}}, 3)
check(not ok and tostring(err.message):find("two", 1, true), "starmap raises")
`)
}

// A worker's task over numbers allocates far less than once per item:
// what is left is gopher-lua boxing the results in blocks of 32 (its
// allocator) and the task's few tables and buffers; each number boxed
// apart, a list of them and a second table made it more than once.
func TestWorkerTaskAllocs(t *testing.T) {
	pw := newBenchWorker(t, "function square(x) return x * x end", "square")
	frame := numberTaskFrame(1000)
	pw.run(frame)
	if n := testing.AllocsPerRun(20, func() { pw.run(frame) }); n > 200 {
		t.Errorf("a task of 1000 numbers: %.0f allocations, want at most 200", n)
	}
	// Bytes: the numbers unpacked, and gopher-lua's boxes of the loop's
	// index and of the results, 8 bytes each; the list and the result
	// frame are the last task's.
	big := numberTaskFrame(10000)
	pw.run(big)
	if n := bytesPerRun(10, func() { pw.run(big) }); n > 28*10000 {
		t.Errorf("a task of 10000 numbers: %d bytes allocated, want at most 28 an item", n)
	}
}

// bytesPerRun is how many bytes of heap f allocates, on average over
// runs calls.
func bytesPerRun(runs int, f func()) uint64 {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	for range runs {
		f()
	}
	goruntime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

// The parent's side of a map over numbers makes a few allocations, not
// one or more per item.
func TestPoolMapParentAllocs(t *testing.T) {
	w, s := newInprocPool(t, 2)
	s.cache = map[int][]byte{}
	if err := w.RunString(`
local function square(x) return x * x end
local items = {}
for i = 1, 1000 do items[i] = i + 0.5 end
function run() local out = pool:map(square, items) assert(out[1000] == 1000.5 * 1000.5) end
run()`, "test"); err != nil {
		t.Fatal(err)
	}
	fn := w.L.GetGlobal("run")
	n := testing.AllocsPerRun(20, func() {
		w.L.Push(fn)
		if err := w.L.PCall(0, 0, nil); err != nil {
			t.Fatal(err)
		}
	})
	if n > 150 {
		t.Errorf("a map of 1000 numbers: %.0f allocations in the parent, want at most 150", n)
	}
}

// While every CPU has a busy worker and tasks wait, the parent keeps a
// map's results of numbers undecoded (decoding would take a CPU from a
// worker), and decodes them once the queue is empty; an imap's results,
// taken one by one, are decoded as they come.
func TestPoolMapDefersResults(t *testing.T) {
	w, s, p := newInprocPoolObject(t, numCPU)
	s.batch = 1
	L := w.L
	if err := w.RunString(`
function square(x) return x * x end
items = {}
for i = 1, 100 do items[i] = i end
r = pool:map_async(square, items, 10)`, "test"); err != nil {
		t.Fatal(err)
	}
	c := L.GetGlobal("r").(*lua.LUserData).Value.(*poolCall)
	p.pump(L)
	if len(p.deferred) != 1 || c.remaining != 100 {
		t.Fatalf("after one result of ten tasks: %d kept, %d items left, want 1 kept and 100 left", len(p.deferred), c.remaining)
	}
	if err := w.RunString(`
local out = r:get()
for i = 1, 100 do assert(out[i] == i * i, i) end
it = pool:imap(square, items, 10)`, "test"); err != nil {
		t.Fatal(err)
	}
	if len(p.deferred) != 0 {
		t.Fatalf("after get: %d results kept, want none", len(p.deferred))
	}
	p.pump(L)
	if len(p.deferred) != 0 {
		t.Fatalf("imap: %d results kept, want none", len(p.deferred))
	}
	if err := w.RunString(`
for i, v in it do assert(v == i * i) end`, "test"); err != nil {
		t.Fatal(err)
	}
}
