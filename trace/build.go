// Building the Chrome Trace Event file from the records of every process.

package trace

import (
	"encoding/json"
	"fmt"
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
	b := &builder{byPid: map[int][]*proc{}}
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

// msg is a put or a get of a ring, and the process that made it.
type msg struct {
	p *proc
	r *Record
}

// messages adds, per ring: an arrow from each put to the get of the same
// message, the number of messages in the ring as a counter on the root's
// track, and the puts and gets that waited as slices.
func (b *builder) messages() {
	rings := map[uint64][]msg{}
	for _, p := range b.procs {
		for j := range p.buf.Records {
			r := &p.buf.Records[j]
			if r.Kind == kindPut || r.Kind == kindGet {
				rings[r.B] = append(rings[r.B], msg{p, r})
			}
		}
	}
	if len(rings) == 0 {
		return
	}
	root := b.procs[0]
	offs := make([]uint64, 0, len(rings))
	for off := range rings {
		offs = append(offs, off)
	}
	sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
	for _, off := range offs {
		ms := rings[off]
		sort.SliceStable(ms, func(i, j int) bool { return ms[i].r.End < ms[j].r.End })
		typ, put, get := "Queue", "Queue.put", "Queue.get"
		if ms[0].r.Flags&msgPipe != 0 {
			typ, put, get = "Pipe", "Connection.send", "Connection.recv"
		}
		obj := objectName(typ, off)
		pending := map[uint64]msg{}
		var puts, gets uint64
		depth := int64(-1)
		for _, m := range ms {
			seq := m.r.C
			if m.r.Kind == kindPut {
				if seq == 1 && puts > 1 {
					puts, gets = 0, 0 // a new ring at the same offset
				}
				pending[seq] = m
				puts = max(puts, seq)
			} else {
				if pm, ok := pending[seq]; ok {
					b.flow("queue", obj, pm.p, pm.r.End, m.p, m.r.End)
					delete(pending, seq)
				}
				gets = max(gets, seq)
			}
			if m.r.Flags&msgBlocked != 0 {
				name := put
				if m.r.Kind == kindGet {
					name = get
				}
				b.async(m.p, "queue", name, m.r.TS, m.r.End, map[string]any{"object": obj, "seq": seq})
			}
			if d := max(int64(puts)-int64(gets), 0); d != depth {
				depth = d
				b.add(item{ph: "C", cat: "queue", name: "qsize " + obj, ts: m.r.End, pid: root.pid, args: map[string]any{"qsize": d}})
			}
		}
	}
}

// taskKey names a pool task by the process that submitted it and its id
// there; frameKey names a task frame by its worker and its number.
type taskKey struct {
	p  *proc
	id uint64
}

type frameKey struct {
	worker *proc
	frame  uint64
}

// pool adds a slice per pool task on its worker's track, with arrows from
// its submission in the parent and back to the parent taking its result;
// a task whose worker died ends with the worker, lost.
func (b *builder) pool() {
	submits := map[taskKey]*Record{}
	results := map[taskKey]*Record{}
	lost := map[taskKey]bool{}
	sent := map[frameKey]taskKey{}
	for _, p := range b.procs {
		for j := range p.buf.Records {
			r := &p.buf.Records[j]
			k := taskKey{p, r.B}
			switch r.Kind {
			case kindSubmit:
				submits[k] = r
			case kindResult:
				results[k] = r
			case kindLost:
				lost[k] = true
			case kindDispatch:
				if w := b.procAt(int(r.A), r.TS); w != nil {
					sent[frameKey{w, r.C}] = k
				}
			}
		}
	}
	for _, w := range b.procs {
		ends := map[uint64]*Record{}
		for j := range w.buf.Records {
			if r := &w.buf.Records[j]; r.Kind == kindTaskEnd {
				ends[r.C] = r
			}
		}
		for j := range w.buf.Records {
			r := &w.buf.Records[j]
			if r.Kind != kindTaskBegin {
				continue
			}
			name := "task"
			args := map[string]any{"call": r.B, "items": r.A}
			k, known := sent[frameKey{w, r.C}]
			sub := submits[k]
			if known && sub != nil {
				name = str(sub, 0) + " task"
				args["first"] = sub.A + 1
				args["parent"] = k.p.name
			}
			end, finished := ends[r.C]
			to := w.end
			if finished {
				to = end.TS
				args["failed"] = end.A
			}
			if !finished || known && lost[k] {
				args["lost"] = true
			}
			b.slice(w, "pool", name, r.TS, to, args)
			if known && sub != nil {
				b.flow("pool", "submit", k.p, sub.TS, w, r.TS)
			}
			if res := results[k]; known && finished && res != nil {
				b.flow("pool", "result", w, end.TS, k.p, res.TS)
			}
		}
	}
}

// nest makes the complete events of each track nest: one that overlaps
// another without being inside it (two goroutines' waits, a span left
// open in a coroutine) becomes an async slice, which may overlap.
func (b *builder) nest() {
	var xs []int
	for i := range b.items {
		if b.items[i].ph == "X" {
			xs = append(xs, i)
		}
	}
	sort.SliceStable(xs, func(i, j int) bool {
		x, y := &b.items[xs[i]], &b.items[xs[j]]
		if x.pid != y.pid {
			return x.pid < y.pid
		}
		if x.ts != y.ts {
			return x.ts < y.ts
		}
		return x.dur > y.dur
	})
	var stack []int64 // ends of the open slices of the current track
	pid := 0
	for _, i := range xs {
		it := &b.items[i]
		if it.pid != pid {
			pid, stack = it.pid, stack[:0]
		}
		for len(stack) > 0 && stack[len(stack)-1] <= it.ts {
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 && it.end() > stack[len(stack)-1] {
			end := it.end()
			it.ph = "b"
			it.id = b.id()
			b.items = append(b.items, item{ph: "e", cat: it.cat, name: it.name, ts: end, pid: it.pid, id: it.id})
			continue
		}
		stack = append(stack, it.end())
	}
}

// dropLooseFlows removes the arrows whose start or end is not inside a
// complete event of its track (Perfetto binds an arrow to the slice
// around it).
func (b *builder) dropLooseFlows() {
	// The outermost slices of each track, in order: the slices nest, so
	// a time is inside a slice when it is inside one of these.
	tops := map[int][][2]int64{}
	var xs []*item
	for i := range b.items {
		if b.items[i].ph == "X" {
			xs = append(xs, &b.items[i])
		}
	}
	sort.SliceStable(xs, func(i, j int) bool {
		if xs[i].ts != xs[j].ts {
			return xs[i].ts < xs[j].ts
		}
		return xs[i].dur > xs[j].dur
	})
	for _, it := range xs {
		t := tops[it.pid]
		if n := len(t); n > 0 && it.end() <= t[n-1][1] {
			continue
		}
		tops[it.pid] = append(t, [2]int64{it.ts, it.end()})
	}
	inside := func(pid int, ts int64) bool {
		t := tops[pid]
		i := sort.Search(len(t), func(i int) bool { return t[i][1] >= ts })
		return i < len(t) && t[i][0] <= ts
	}
	bad := map[uint64]bool{}
	for i := range b.items {
		it := &b.items[i]
		if (it.ph == "s" || it.ph == "f") && !inside(it.pid, it.ts) {
			bad[it.id] = true
		}
	}
	if len(bad) == 0 {
		return
	}
	kept := b.items[:0]
	for _, it := range b.items {
		if (it.ph == "s" || it.ph == "f") && bad[it.id] {
			continue
		}
		kept = append(kept, it)
	}
	b.items = kept
}

// file orders the events (metadata first, then by time) and writes times
// in microseconds.
func (b *builder) file() *File {
	sort.SliceStable(b.items, func(i, j int) bool {
		x, y := &b.items[i], &b.items[j]
		if (x.ph == "M") != (y.ph == "M") {
			return x.ph == "M"
		}
		return x.ts < y.ts
	})
	f := &File{DisplayTimeUnit: "ms", TraceEvents: make([]Event, len(b.items))}
	for i := range b.items {
		it := &b.items[i]
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
