// Building the Chrome Trace Event file from the records of every process.

package trace

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"syscall"

	"golang.org/x/sys/unix"

	"procsh/runtime"
)

// proc is one process of the trace: a buffer with a start record.
type proc struct {
	buf        *Buffer
	pid        int
	name       string
	parent     int
	start, end int64 // the life: first instruction to exit
	last       int64 // the latest time a record of its mentions
	code       int
	codeKnown  bool
	reapTS     int64 // when the parent saw it end (0: never)
	sortIndex  int
}

// item is an event before it is written: times in nanoseconds since the
// trace's origin.
type item struct {
	ph, name, cat string
	ts, dur       int64
	pid           int
	id            uint64
	s, bp         string
	args          map[string]any
}

func (it *item) end() int64 { return it.ts + it.dur }

// builder turns buffers into events.
type builder struct {
	procs  []*proc
	byPid  map[int][]*proc // in order of start
	items  []item
	nextID uint64
	origin int64
}

// Build makes the trace of the buffers Read returned. A buffer without a
// start record (a child made ready for a start that never came) is left
// out. The rules the result keeps, whatever the records say (a process
// killed mid-wait, records dropped), are those Check verifies.
func Build(bufs []Buffer) *File {
	n := 0
	for i := range bufs {
		n += len(bufs[i].Records)
	}
	// About two events a record (a message: an arrow's end and a count).
	b := &builder{byPid: map[int][]*proc{}, items: make([]item, 0, 2*n+16)}
	b.findProcs(bufs)
	for _, p := range b.procs {
		b.process(p)
	}
	b.messages()
	b.pool()
	b.nest()
	b.dropLooseFlows()
	return b.file()
}

// findProcs makes a proc of every buffer with a start, orders them by
// start and settles how each ended.
func (b *builder) findProcs(bufs []Buffer) {
	for i := range bufs {
		buf := &bufs[i]
		var p *proc
		for j := range buf.Records {
			r := &buf.Records[j]
			if r.Kind == kindStart && p == nil {
				p = &proc{buf: buf, pid: buf.Pid, name: str(r, 0), parent: int(r.A), start: r.TS}
			}
		}
		if p == nil {
			continue
		}
		for j := range buf.Records {
			r := &buf.Records[j]
			p.last = max(p.last, r.TS, r.End)
		}
		b.procs = append(b.procs, p)
	}
	b.unstarted()
	sort.SliceStable(b.procs, func(i, j int) bool { return b.procs[i].start < b.procs[j].start })
	for i, p := range b.procs {
		p.sortIndex = i
		b.byPid[p.pid] = append(b.byPid[p.pid], p)
	}
	if len(b.procs) > 0 {
		b.origin = b.procs[0].start
	}
	// A parent's reap says how a child ended, killed or not.
	for _, p := range b.procs {
		for j := range p.buf.Records {
			r := &p.buf.Records[j]
			if r.Kind != kindReap {
				continue
			}
			if c := b.procAt(int(r.A), r.TS); c != nil && c.reapTS == 0 {
				c.reapTS = r.TS
				c.code, c.codeKnown = int(int64(r.B)), true
			}
		}
	}
	for _, p := range b.procs {
		p.end = 0
		for j := range p.buf.Records {
			r := &p.buf.Records[j]
			if r.Kind == kindEnd && r.TS >= p.start {
				p.end = r.TS
				if !p.codeKnown {
					p.code, p.codeKnown = int(int32(r.A)), true
				}
				break
			}
		}
		if p.end == 0 {
			p.end = p.reapTS
		}
		p.end = max(p.end, p.last, p.start)
	}
}

// unstarted adds the children that were started but ended before their
// first instruction (terminated at once): their parent's start() names
// them, and their life begins when start() returned.
func (b *builder) unstarted() {
	started := map[int][]int64{}
	for _, p := range b.procs {
		started[p.pid] = append(started[p.pid], p.start)
	}
	for _, p := range b.procs {
		for j := range p.buf.Records {
			r := &p.buf.Records[j]
			if r.Kind != kindSpawn || slices.ContainsFunc(started[int(r.A)], func(s int64) bool { return s >= r.TS }) {
				continue
			}
			c := &proc{buf: &Buffer{Pid: int(r.A)}, pid: int(r.A), name: str(r, 0), parent: p.pid, start: r.End, last: r.End}
			b.procs = append(b.procs, c)
			started[c.pid] = append(started[c.pid], c.start)
		}
	}
}

// procAt is the process with pid that had started by ts (the latest such
// when a pid was reused), or the first with pid.
func (b *builder) procAt(pid int, ts int64) *proc {
	ps := b.byPid[pid]
	if len(ps) == 0 {
		return nil
	}
	best := ps[0]
	for _, p := range ps {
		if p.start <= ts {
			best = p
		}
	}
	return best
}

// procStartedAfter is the process with pid whose start is the first at
// or after ts: the child a start() at ts made.
func (b *builder) procStartedAfter(pid int, ts int64) *proc {
	for _, p := range b.byPid[pid] {
		if p.start >= ts {
			return p
		}
	}
	return nil
}

// nameAt names pid as a process of the trace, or "".
func (b *builder) nameAt(pid int, ts int64) string {
	if p := b.procAt(pid, ts); p != nil {
		return p.name
	}
	return ""
}

func str(r *Record, i int) string {
	if i < len(r.Strs) {
		return r.Strs[i]
	}
	return ""
}

func (b *builder) id() uint64 {
	b.nextID++
	return b.nextID
}

func (b *builder) add(it item) {
	it.ts -= b.origin
	if it.ts < 0 {
		it.dur += it.ts
		it.ts = 0
	}
	it.dur = max(it.dur, 0)
	b.items = append(b.items, it)
}

// slice adds a complete event on p's track.
func (b *builder) slice(p *proc, cat, name string, from, to int64, args map[string]any) {
	b.add(item{ph: "X", cat: cat, name: name, ts: from, dur: to - from, pid: p.pid, args: args})
}

// instant adds an instant event on p's track.
func (b *builder) instant(p *proc, cat, name string, at int64, args map[string]any) {
	b.add(item{ph: "i", s: "t", cat: cat, name: name, ts: at, pid: p.pid, args: args})
}

// flow adds an arrow from (from, at1) to (to, at2).
func (b *builder) flow(cat, name string, from *proc, at1 int64, to *proc, at2 int64) {
	if at2 < at1 {
		return
	}
	id := b.id()
	b.add(item{ph: "s", cat: cat, name: name, ts: at1, pid: from.pid, id: id})
	b.add(item{ph: "f", bp: "e", cat: cat, name: name, ts: at2, pid: to.pid, id: id})
}

// async adds a slice that may overlap others on p's track.
func (b *builder) async(p *proc, cat, name string, from, to int64, args map[string]any) {
	id := b.id()
	b.add(item{ph: "b", cat: cat, name: name, ts: from, pid: p.pid, id: id, args: args})
	b.add(item{ph: "e", cat: cat, name: name, ts: to, pid: p.pid, id: id})
}

// process adds p's track: its names, its life, its exit, and the events of
// its own records (waits, joins, starts of children, marks, spans).
func (b *builder) process(p *proc) {
	b.add(item{ph: "M", name: "process_name", pid: p.pid, ts: b.origin, args: map[string]any{"name": p.name}})
	b.add(item{ph: "M", name: "process_sort_index", pid: p.pid, ts: b.origin, args: map[string]any{"sort_index": p.sortIndex}})
	b.add(item{ph: "M", name: "thread_name", pid: p.pid, ts: b.origin, args: map[string]any{"name": p.name}})
	life := map[string]any{"pid": p.pid}
	if p.parent != 0 {
		life["parent"] = b.nameAt(p.parent, p.start)
		life["parent_pid"] = p.parent
	}
	b.slice(p, "process", p.name, p.start, p.end, life)
	if p.codeKnown {
		exit := map[string]any{"exitcode": p.code}
		if sig, ok := runtime.ExitStatus(p.code).Signal(); ok {
			exit["signal"] = signalName(sig)
		}
		b.instant(p, "process", "exit", p.end, exit)
	}
	if p.buf.Dropped > 0 {
		b.instant(p, "trace", "records dropped", p.end, map[string]any{"dropped": p.buf.Dropped})
	}
	spans := map[uint64]*Record{}
	for j := range p.buf.Records {
		r := &p.buf.Records[j]
		switch r.Kind {
		case kindWait:
			b.wait(p, r)
		case kindPoolWait:
			b.slice(p, "wait", "Pool.wait", r.TS, r.End, nil)
		case kindJoin:
			args := map[string]any{"child": b.nameAt(int(r.A), r.TS), "child_pid": r.A, "ended": r.Flags&joinEnded != 0}
			b.slice(p, "wait", "join", r.TS, r.End, args)
		case kindSpawn:
			args := map[string]any{"child": str(r, 0), "child_pid": r.A}
			b.slice(p, "start", "start", r.TS, r.End, args)
			if c := b.procStartedAfter(int(r.A), r.TS); c != nil {
				b.flow("start", "start", p, r.TS, c, c.start)
			}
		case kindMark:
			args := map[string]any{}
			if s := str(r, 1); s != "" {
				if err := json.Unmarshal([]byte(s), &args); err != nil {
					args = map[string]any{"args": s}
				}
			}
			b.instant(p, "user", str(r, 0), r.TS, args)
		case kindSpanBegin:
			spans[r.B] = r
		case kindSpanEnd:
			if s := spans[r.B]; s != nil {
				b.slice(p, "user", str(s, 0), s.TS, r.TS, nil)
				delete(spans, r.B)
			}
		}
	}
	for _, s := range spans {
		b.slice(p, "user", str(s, 0), s.TS, p.end, map[string]any{"unfinished": true})
	}
}

// waitNames names the kinds of wait as the methods that wait.
var waitNames = map[runtime.WaitKind][2]string{
	runtime.WaitLock:      {"Lock", "Lock.acquire"},
	runtime.WaitRLock:     {"RLock", "RLock.acquire"},
	runtime.WaitSemaphore: {"Semaphore", "Semaphore.acquire"},
	runtime.WaitCondition: {"Condition", "Condition.wait"},
	runtime.WaitEvent:     {"Event", "Event.wait"},
	runtime.WaitBarrier:   {"Barrier", "Barrier.wait"},
}

// wait adds a blocking wait of a synchronisation object.
func (b *builder) wait(p *proc, r *Record) {
	k := runtime.WaitKind(r.Flags & 0xff)
	names, ok := waitNames[k]
	if !ok {
		return
	}
	ok = r.Flags&waitOK != 0
	args := map[string]any{"object": objectName(names[0], r.B)}
	switch k {
	case runtime.WaitLock, runtime.WaitRLock, runtime.WaitSemaphore:
		args["acquired"] = ok
		if r.A != 0 {
			args["holder"] = b.nameAt(int(r.A), r.TS)
			args["holder_pid"] = r.A
		}
		if k != runtime.WaitSemaphore {
			args["recovered"] = r.Flags&waitRecovered != 0
		}
	case runtime.WaitCondition:
		args["notified"] = ok
	case runtime.WaitEvent:
		args["set"] = ok
	case runtime.WaitBarrier:
		args["index"] = r.C
		args["generation"] = r.D
		args["broken"] = r.Flags&waitBroken != 0
	}
	b.slice(p, "wait", names[1], r.TS, r.End, args)
}

// objectName names a shared object in the trace by its type and offset
// in the arena, which no two live objects share.
func objectName(typ string, off uint64) string { return fmt.Sprintf("%s 0x%x", typ, off) }

// signalName is "SIGTERM" for signal 15.
func signalName(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return fmt.Sprintf("signal %d", int(sig))
}

// file orders the events (metadata first, then by time) and writes times
// in microseconds.
func (b *builder) file() *File {
	// Sort indices: an item is large, and a trace may have a million.
	order := make([]int32, len(b.items))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(i, j int32) int {
		x, y := &b.items[i], &b.items[j]
		if (x.ph == "M") != (y.ph == "M") {
			if x.ph == "M" {
				return -1
			}
			return 1
		}
		return cmp.Compare(x.ts, y.ts)
	})
	f := &File{DisplayTimeUnit: "ms", TraceEvents: make([]Event, len(b.items))}
	for i, k := range order {
		it := &b.items[k]
		e := Event{Name: it.name, Cat: it.cat, Ph: it.ph, Ts: micros(it.ts), Pid: it.pid, Tid: it.pid, ID: it.id, S: it.s, Bp: it.bp, Args: it.args}
		if it.ph == "M" {
			e.Ts = 0
		}
		if it.ph == "X" {
			d := micros(it.dur)
			e.Dur = &d
		}
		f.TraceEvents[i] = e
	}
	f.OtherData = map[string]any{"clock": "CLOCK_MONOTONIC", "origin_ns": b.origin, "processes": len(b.procs)}
	var dropped uint64
	for _, p := range b.procs {
		dropped += p.buf.Dropped
	}
	if dropped > 0 {
		f.OtherData["dropped"] = dropped
	}
	return f
}

// micros turns nanoseconds into microseconds, exact to the nanosecond.
func micros(ns int64) float64 { return float64(ns) / 1000 }
