// Building, continued: what pairs up across processes, a queue's put
// with its get and a pool task's dispatch with its run and its result.

package trace

import "sort"

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
	dispatches := map[taskKey]*Record{}
	results := map[taskKey]*Record{}
	lost := map[taskKey]bool{}
	sent := map[frameKey]taskKey{}
	for _, p := range b.procs {
		for j := range p.buf.Records {
			r := &p.buf.Records[j]
			k := taskKey{p, r.B}
			switch r.Kind {
			case kindResult:
				results[k] = r
			case kindLost:
				lost[k] = true
			case kindDispatch:
				dispatches[k] = r
				if w := b.procAt(int(r.A), r.End); w != nil {
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
			sub := dispatches[k]
			if known {
				name = str(sub, 0) + " task"
				args["first"] = sub.D>>32 + 1
				args["parent"] = k.p.name
			}
			end, finished := ends[r.C]
			to := w.end
			if finished {
				to = end.TS
			}
			if !finished || known && lost[k] {
				args["lost"] = true
			}
			b.slice(w, "pool", name, r.TS, to, args)
			if known {
				b.flow("pool", "submit", k.p, sub.TS, w, r.TS)
			}
			if res := results[k]; known && finished && res != nil {
				b.flow("pool", "result", w, end.TS, k.p, res.TS)
			}
		}
	}
}
