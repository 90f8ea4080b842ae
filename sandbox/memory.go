// Memory: a budget for the Go heap's growth, checked before large
// allocations and by a watcher, with RLIMIT_DATA as the hard stop.

package sandbox

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// MemoryGuard holds this process to a memory budget: how much its Go heap
// may grow above what it held when the guard was made (in a fresh child:
// the Go runtime, the Lua state and procsh's modules). It works in
// three layers, each above the last:
//
//  1. Allows, asked before a large allocation (luaapi hooks it into
//     gopher-lua's CheckAlloc): an allocation that would pass the budget
//     is refused before it is made, so string.rep("x", 1e9) costs
//     nothing.
//  2. Watch, a goroutine that reads the heap every WatchEvery and
//     reports a heap past the budget, once a collection has shown that
//     what is there is live: a table grown forever by small steps.
//  3. The kernel: RLIMIT_DATA, at twice the budget and DataSlack more, past which mmap fails and Go's allocator ends the
//     process with a fatal error. Layers 1 and 2 keep a process from
//     getting there; it is the stop for what they cannot see. Under the
//     race detector, whose shadow memory grows in the data segment with
//     the heap, several times its size, RLIMIT_DATA is left alone; so it
//     is where the data segment cannot be read (a process started under
//     another's file rules, which forbid /proc), which keeps the limit
//     it inherited.
//
// Go's soft memory limit (debug.SetMemoryLimit) is set at the budget, so
// that the collector works harder as the heap nears it and garbage is
// collected before it counts as use. The shared arena is a shared
// mapping, which RLIMIT_DATA does not count, and neither does the
// guard. RLIMIT_DATA counts from the data segment the process had when
// the guard was made, not from 0.
type MemoryGuard struct {
	baseHeap  uint64 // bytes in heap objects when made, after a collection
	baseLive  uint64 // bytes the collection marked live then
	baseTotal uint64 // bytes the Go runtime held then, less what it released
	baseData  uint64 // the process's data segment then (VmData)
	limit     atomic.Int64

	mu      sync.Mutex // one collection at a time
	overAt  time.Time  // when the watcher first saw the heap over; zero if not
	samples []metrics.Sample
}

// WatchEvery is how often Watch reads the heap.
const WatchEvery = 10 * time.Millisecond

// DataSlack is what RLIMIT_DATA allows above two budgets: the Go
// runtime's own structures, and a fresh process's growth.
const DataSlack = 64 << 20

const (
	metricLive     = "/gc/heap/live:bytes"
	metricObjects  = "/memory/classes/heap/objects:bytes"
	metricTotal    = "/memory/classes/total:bytes"
	metricReleased = "/memory/classes/heap/released:bytes"
)

// NewMemoryGuard measures what this process holds now, the base every
// budget counts from, after a collection. It sets no limit.
func NewMemoryGuard() *MemoryGuard {
	g := &MemoryGuard{samples: []metrics.Sample{{Name: metricObjects}, {Name: metricTotal}, {Name: metricReleased}, {Name: metricLive}}}
	runtime.GC()
	g.read()
	g.baseHeap = g.samples[0].Value.Uint64()
	g.baseTotal = g.samples[1].Value.Uint64() - g.samples[2].Value.Uint64()
	g.baseLive = g.samples[3].Value.Uint64()
	g.baseData = dataSegment()
	return g
}

// read refreshes g.samples. Callers hold g.mu, or are NewMemoryGuard.
func (g *MemoryGuard) read() { metrics.Read(g.samples) }

// Limit is the budget in bytes, 0 for none.
func (g *MemoryGuard) Limit() int64 { return g.limit.Load() }

// SetLimit sets the budget to n bytes (0: none, lifting what an earlier
// call set). With hard, RLIMIT_DATA's hard limit comes down with its soft
// one, for good: a process's own limit, which its children inherit. A
// pool task's limit leaves the hard limit, so that the next task can
// have another.
func (g *MemoryGuard) SetLimit(n int64, hard bool) error {
	g.limit.Store(n)
	if n == 0 {
		debug.SetMemoryLimit(math.MaxInt64)
	} else {
		debug.SetMemoryLimit(int64(min(g.baseTotal+uint64(n), math.MaxInt64)))
	}
	if raceEnabled || g.baseData == 0 {
		return nil // no hard stop but an inherited one: see MemoryGuard
	}
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_DATA, &old); err != nil {
		return fmt.Errorf("getrlimit(RLIMIT_DATA): %w", err)
	}
	lim := unix.Rlimit{Cur: old.Max, Max: old.Max}
	if n != 0 {
		lim.Cur = min(g.baseData+2*uint64(n)+DataSlack, old.Max)
		if hard {
			lim.Max = lim.Cur
		}
	}
	if err := unix.Setrlimit(unix.RLIMIT_DATA, &lim); err != nil {
		return fmt.Errorf("setrlimit(RLIMIT_DATA, %d, %d): %w", lim.Cur, lim.Max, err)
	}
	return nil
}

// used is how far the heap is above the base; g.mu is held.
func (g *MemoryGuard) used() int64 {
	g.read()
	return int64(g.samples[0].Value.Uint64()) - int64(g.baseHeap)
}

// Used is how many bytes the heap holds above the base (dead objects not
// yet collected included).
func (g *MemoryGuard) Used() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.used()
}

// Allows says whether an allocation of n bytes fits the budget: at once
// when it fits beside what the heap holds, else after a collection, so
// that garbage does not refuse it.
func (g *MemoryGuard) Allows(n int) bool {
	limit := g.limit.Load()
	if limit == 0 {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.used()+int64(n) <= limit {
		return true
	}
	runtime.GC()
	return g.used()+int64(n) <= limit
}

// Watch reads the heap every WatchEvery, on a goroutine of its own, and
// calls over while the heap is past the budget after a collection: with
// what it holds, the budget, and how long it has been over without
// coming back under. Call it once.
func (g *MemoryGuard) Watch(over func(used, limit int64, since time.Duration)) {
	go func() {
		t := time.NewTicker(WatchEvery)
		defer t.Stop()
		for range t.C {
			if used, limit, since, ok := g.check(); ok {
				over(used, limit, since)
			}
		}
	}()
}

// check is one look of the watcher: whether the heap is over, with what
// over is told.
func (g *MemoryGuard) check() (used, limit int64, since time.Duration, isOver bool) {
	limit = g.limit.Load()
	g.mu.Lock()
	defer g.mu.Unlock()
	if limit == 0 {
		g.overAt = time.Time{}
		return 0, 0, 0, false
	}
	// Past the budget, the heap may hold garbage: it is over when the
	// last collection found that much live, or a collection now does.
	if used = g.used(); used > limit && int64(g.samples[3].Value.Uint64())-int64(g.baseLive) <= limit {
		runtime.GC()
		used = g.used()
	}
	if used <= limit {
		g.overAt = time.Time{}
		return used, limit, 0, false
	}
	now := time.Now()
	if g.overAt.IsZero() {
		g.overAt = now
	}
	return used, limit, now.Sub(g.overAt), true
}

// dataSegment is the process's data segment (VmData in
// /proc/self/status: its private writable mappings, what RLIMIT_DATA
// counts), in bytes; 0 if it cannot be read.
func dataSegment() uint64 {
	f := statusFile()
	if f == nil {
		return 0
	}
	b := make([]byte, 4096)
	n, _ := f.ReadAt(b, 0)
	for _, line := range bytes.Split(b[:n], []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("VmData:"))
		if !ok {
			continue
		}
		kb, err := strconv.ParseUint(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}

var status struct {
	once sync.Once
	f    *os.File
}

// statusFile is /proc/self/status, opened once and kept: Restrict opens
// it before Landlock would forbid it. nil when it cannot be opened (in a
// process started under another's file rules).
func statusFile() *os.File {
	status.once.Do(func() { status.f, _ = os.Open("/proc/self/status") })
	return status.f
}
