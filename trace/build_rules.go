// Building, continued: the rules a trace keeps for its viewers, slices
// that nest on each track and arrows that start and end inside slices.

package trace

import "sort"

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
