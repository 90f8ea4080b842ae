// The per-process recorder: a buffer in the arena that this process
// appends records to, published in the arena's list of buffers.

package trace

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"procsh/runtime"
)

// A process's buffer is a chain of segments in the arena. Each segment
// opens with a header:
//
//	0   next buffer: the list of every process's buffer (first segment)
//	8   next segment of this buffer (0: none yet)
//	16  records published in this segment
//	24  the segment's capacity, in records
//	32  pid (first segment)
//	40  records dropped because the buffer was full (first segment)
//	48  magic
//
// and its records follow, from segHeader on. Only the owning process
// writes its buffer; it writes a record, then publishes it by storing the
// segment's count, so a reader (the root, at the end) sees whole records
// only, whenever the writer was killed.
const (
	segNextBuf = 0
	segNext    = 8
	segCount   = 16
	segCap     = 24
	segPid     = 32
	segDropped = 40
	segMagic   = 48
	segHeader  = 64

	bufMagic = 0x4655424543415254 // "TRACEBUF", little-endian

	// firstSegment and maxSegment bound a segment's records: a buffer
	// starts small (a process that does little costs 12 KiB of arena) and
	// doubles.
	firstSegment = 256
	maxSegment   = 16384
	// MaxBuffer is the most arena a process's buffer takes (about 1.4
	// million records); past it, records are dropped and counted.
	MaxBuffer = 64 << 20
)

// Recorder appends this process's records to its buffer. It implements
// runtime.Tracer. Its methods are safe to call from any goroutine.
type Recorder struct {
	a     *runtime.Arena
	pid   int
	mono0 int64     // CLOCK_MONOTONIC when t0 was read
	t0    time.Time // and Go's clock then, whose monotonic reading Now uses
	ids   atomic.Uint64

	mu    sync.Mutex
	first uint64 // the first segment
	seg   uint64 // the segment being filled
	n     uint64 // its records
	cap   uint64 // its capacity
	total uint64 // bytes of segments taken
	full  bool   // no more room: drop
	blob  []byte
}

var active atomic.Pointer[Recorder]

// Active is this process's Recorder, or nil when the tree is not traced.
func Active() *Recorder { return active.Load() }

// Enable marks the tree of arena a as traced, so that every process that
// attaches to it records, and attaches this process (the root, before it
// starts any child).
func Enable(a *runtime.Arena) (*Recorder, error) {
	on, _ := a.TraceWords()
	atomic.StoreUint64(on, 1)
	return Attach(a)
}

// Enabled reports whether the tree of arena a is traced.
func Enabled(a *runtime.Arena) bool {
	if a == nil {
		return false
	}
	on, _ := a.TraceWords()
	return atomic.LoadUint64(on) != 0
}

// Attach gives this process a buffer when the tree of arena a is traced,
// and installs its Recorder (Active, and runtime's tracer). It returns
// nil, nil when the tree is not traced.
func Attach(a *runtime.Arena) (*Recorder, error) {
	if !Enabled(a) {
		return nil, nil
	}
	if r := active.Load(); r != nil && r.a == a {
		return r, nil
	}
	r := &Recorder{a: a, pid: os.Getpid()}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return nil, fmt.Errorf("trace: clock_gettime: %w", err)
	}
	r.t0 = time.Now()
	r.mono0 = ts.Nano()
	seg, err := r.newSegment(firstSegment)
	if err != nil {
		return nil, fmt.Errorf("trace: cannot make this process's buffer: %w", err)
	}
	r.first, r.seg, r.cap = seg, seg, firstSegment
	*a.Uint64(seg + segPid) = uint64(r.pid)
	atomic.StoreUint64(a.Uint64(seg+segMagic), bufMagic)
	// Publish the buffer: push it on the arena's list.
	_, head := a.TraceWords()
	for {
		old := atomic.LoadUint64(head)
		atomic.StoreUint64(a.Uint64(seg+segNextBuf), old)
		if atomic.CompareAndSwapUint64(head, old, seg) {
			break
		}
	}
	active.Store(r)
	runtime.SetTracer(r)
	return r, nil
}

// Detach stops this process's recording (tests; a process records until
// it ends).
func Detach() {
	active.Store(nil)
	runtime.SetTracer(nil)
}

// newSegment allocates a segment of n records.
func (r *Recorder) newSegment(n uint64) (uint64, error) {
	size := segHeader + n*recordSize
	if r.total+size > MaxBuffer {
		return 0, errors.New("the buffer is at its limit")
	}
	seg, err := r.a.Alloc(int(size))
	if err != nil {
		return 0, err
	}
	r.total += size
	// Fault the segment's pages in with one call rather than one fault
	// per page as records reach them (an old kernel without
	// MADV_POPULATE_WRITE faults them one by one, as before).
	unix.Madvise(pageAligned(r.a.Bytes(seg, int(size))), unix.MADV_POPULATE_WRITE)
	*r.a.Uint64(seg + segCap) = n
	return seg, nil
}

// pageAligned is the part of b that covers whole pages.
func pageAligned(b []byte) []byte {
	const page = 4096
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	skip := int((page - addr%page) % page)
	if skip >= len(b) {
		return nil
	}
	b = b[skip:]
	return b[:len(b)/page*page]
}

// Now is the tree's trace clock, CLOCK_MONOTONIC in nanoseconds, read
// through Go's monotonic clock (no system call).
func (r *Recorder) Now() int64 { return r.mono0 + int64(time.Since(r.t0)) }

// add appends rec and its strings. When the buffer has no room, the
// record is dropped and counted.
func (r *Recorder) add(rec *Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	nstr := 0
	if len(rec.Strs) > 0 {
		r.blob = stringsBlob(r.blob[:0], rec.Strs)
		nstr = (len(r.blob) + recordSize - 1) / recordSize
	}
	need := uint64(1 + nstr)
	if r.n+need > r.cap && !r.grow(need) {
		atomic.AddUint64(r.a.Uint64(r.first+segDropped), 1)
		return
	}
	at := r.seg + segHeader + r.n*recordSize
	putRecord(r.a.Bytes(at, recordSize), rec, nstr)
	if nstr > 0 {
		b := r.a.Bytes(at+recordSize, nstr*recordSize)
		clear(b[copy(b, r.blob):])
	}
	r.n += need
	atomic.StoreUint64(r.a.Uint64(r.seg+segCount), r.n)
}

// grow chains a new segment with room for need records. The caller holds
// mu.
func (r *Recorder) grow(need uint64) bool {
	if r.full {
		return false
	}
	n := max(min(2*r.cap, maxSegment), need)
	seg, err := r.newSegment(n)
	if err != nil {
		r.full = true
		return false
	}
	atomic.StoreUint64(r.a.Uint64(r.seg+segNext), seg)
	r.seg, r.n, r.cap = seg, 0, n
	return true
}

// Wait records a blocking wait (runtime.Tracer).
func (r *Recorder) Wait(w runtime.TraceWait) {
	flags := uint16(w.Kind)
	if w.Recovered {
		flags |= waitRecovered
	}
	if w.OK {
		flags |= waitOK
	}
	if w.Broken {
		flags |= waitBroken
	}
	rec := Record{Kind: kindWait, TS: w.Start, End: w.End, Flags: flags, B: w.Object, C: uint64(w.Index), D: uint64(w.Generation)}
	if w.Holder != 0 {
		rec.A = uint32(r.a.TokenPid(w.Holder))
	}
	r.add(&rec)
}

// Message records a ring's put or get (runtime.Tracer).
func (r *Recorder) Message(m runtime.TraceMessage) {
	rec := Record{Kind: kindPut, TS: m.At, End: m.At, B: m.Ring, C: m.Seq}
	if m.Get {
		rec.Kind = kindGet
	}
	if m.Pipe {
		rec.Flags |= msgPipe
	}
	if m.Blocked {
		rec.Flags |= msgBlocked
		rec.TS = m.Start
	}
	r.add(&rec)
}

// Started records this process's first instruction: its name and its
// parent's pid (0 for the root).
func (r *Recorder) Started(name string, parentPid int) {
	r.add(&Record{Kind: kindStart, TS: r.Now(), A: uint32(parentPid), Strs: []string{name}})
}

// Ended records that this process ends by itself with code.
func (r *Recorder) Ended(code int) {
	r.add(&Record{Kind: kindEnd, TS: r.Now(), A: uint32(int32(code))})
}

// Spawned records a child started from start (Now at start()'s call) to
// now.
func (r *Recorder) Spawned(pid int, name string, start int64) {
	r.add(&Record{Kind: kindSpawn, TS: start, End: r.Now(), A: uint32(pid), Strs: []string{name}})
}

// Reaped records that this process saw its child pid end with code.
func (r *Recorder) Reaped(pid, code int) {
	r.add(&Record{Kind: kindReap, TS: r.Now(), A: uint32(pid), B: uint64(int64(code))})
}

// Joined records a join of child pid that waited from start to now;
// ended says the child had ended.
func (r *Recorder) Joined(pid int, start int64, ended bool) {
	rec := Record{Kind: kindJoin, TS: start, End: r.Now(), A: uint32(pid)}
	if ended {
		rec.Flags = joinEnded
	}
	r.add(&rec)
}

// Mark records an instant event of the script's: its name and its
// arguments as a JSON object ("" for none).
func (r *Recorder) Mark(name, argsJSON string) {
	r.add(&Record{Kind: kindMark, TS: r.Now(), Strs: []string{name, argsJSON}})
}

// SpanBegin records the start of a span of the script's and returns its
// id, for SpanEnd.
func (r *Recorder) SpanBegin(name string) uint64 {
	id := r.ids.Add(1)
	r.add(&Record{Kind: kindSpanBegin, TS: r.Now(), B: id, Strs: []string{name}})
	return id
}

// SpanEnd records the end of span id.
func (r *Recorder) SpanEnd(id uint64) {
	r.add(&Record{Kind: kindSpanEnd, TS: r.Now(), B: id})
}

// Dispatch records that a pool task goes to worker pid as the frame-th
// task frame on its pipe (the first is 1): the task of call what ("map"…)
// made at submitted (Now then), with count items from first (0-based).
// It returns the task's id, for Result and Lost.
func (r *Recorder) Dispatch(what string, submitted int64, first, count, pid int, frame uint64) uint64 {
	id := r.ids.Add(1)
	r.add(&Record{Kind: kindDispatch, TS: submitted, End: r.Now(), A: uint32(pid), B: id, C: frame,
		D: uint64(first)<<32 | uint64(uint32(count)), Strs: []string{what}})
	return id
}

// TaskBegin records that this worker starts the task of its frame-th
// task frame: items of call.
func (r *Recorder) TaskBegin(frame, call uint64, items int) {
	r.add(&Record{Kind: kindTaskBegin, TS: r.Now(), A: uint32(items), B: call, C: frame})
}

// TaskEnd records that this worker finished the task of its frame-th
// task frame.
func (r *Recorder) TaskEnd(frame uint64) {
	r.add(&Record{Kind: kindTaskEnd, TS: r.Now(), C: frame})
}

// Result records that this process took the result of task.
func (r *Recorder) Result(task uint64) {
	r.add(&Record{Kind: kindResult, TS: r.Now(), B: task})
}

// PoolWait records that the script waited for a pool's workers from
// start to now.
func (r *Recorder) PoolWait(start int64) {
	r.add(&Record{Kind: kindPoolWait, TS: start, End: r.Now()})
}

// Lost records that worker pid died while it ran task.
func (r *Recorder) Lost(task uint64, pid int) {
	r.add(&Record{Kind: kindLost, TS: r.Now(), A: uint32(pid), B: task})
}
