package luaapi

import (
	"encoding/binary"
	"testing"

	"procsh/runtime"

	lua "github.com/yuin/gopher-lua"
)

// numberTaskFrame is the body of a task frame (kind byte first) of call 1
// over count packed numbers 1..count, without the call's function.
func numberTaskFrame(count int) []byte {
	items := make([]lua.LValue, count)
	for i := range items {
		items[i] = lua.LNumber(i + 1)
	}
	packed, _ := packNumbers(items)
	b := runtime.NewFrame(runtime.FrameTask, 16+len(packed))
	b = binary.AppendUvarint(b, 1)
	b = binary.AppendUvarint(b, uint64(count))
	b = append(b, modeMap, 0, valuesPacked)
	b = append(b, packed...)
	return runtime.SealFrame(b)[5:]
}

// newBenchWorker is a pool worker's loop state whose call 1 is the
// global function name of src.
func newBenchWorker(tb testing.TB, src, name string) *poolWorker {
	w := newArenaWorld(tb)
	if err := w.RunString(src, "bench"); err != nil {
		tb.Fatal(err)
	}
	pw, err := newPoolWorker(w)
	if err != nil {
		tb.Fatal(err)
	}
	pw.fns.put(1, w.L.GetGlobal(name))
	if ballast == nil { // as a worker has
		ballast = make([]byte, ballastSize)
	}
	return pw
}

// BenchmarkWorkerSquare is the worker's side of the pool_map benchmark:
// one task of 12,500 numbers through square, from frame to result frame.
func BenchmarkWorkerSquare(b *testing.B) {
	pw := newBenchWorker(b, "function square(x) return x * x end", "square")
	frame := numberTaskFrame(12500)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		pw.run(frame)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*12500), "ns/item")
}

// BenchmarkPoolMapParent is the parent's side of the pool_map benchmark:
// pool:map(square, items) over 100,000 numbers on Pool(2), the workers'
// answers given from a cache.
func BenchmarkPoolMapParent(b *testing.B) {
	w, s := newInprocPool(b, 2)
	s.cache = map[int][]byte{}
	if err := w.RunString(`
local function square(x) return x * x end
items = {}
for i = 1, 100000 do items[i] = i end
function bench() local out = pool:map(square, items) assert(out[100000] == 1e10) end
bench()`, "bench"); err != nil {
		b.Fatal(err)
	}
	fn := w.L.GetGlobal("bench")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		w.L.Push(fn)
		if err := w.L.PCall(0, 0, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100000), "ns/item")
}
