// Checking a trace file against the rules the viewers rely on.

package trace

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// allowedPh are the event kinds Check accepts: complete and begin/end
// slices, instants, counters, metadata, flows and async slices.
var allowedPh = map[string]bool{
	"X": true, "B": true, "E": true, "i": true, "I": true, "C": true, "M": true,
	"s": true, "t": true, "f": true, "b": true, "n": true, "e": true,
}

// epsilon absorbs the rounding of nanoseconds written as microseconds.
const epsilon = 0.0005

// Check verifies the rules procsh's traces keep, and returns every
// violation (at most 20) in one error:
//
//   - every ph is an allowed kind; ts and dur are not negative;
//   - the complete events of each (pid, tid) nest: two either do not
//     overlap or one is inside the other;
//   - every flow id has exactly one start (s) and one end (f), the end
//     not before the start, each inside a complete event of its track.
func Check(f *File) error {
	var errs []string
	problems := 0
	fail := func(format string, args ...any) {
		problems++
		if len(errs) < 20 {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}
	type track struct{ pid, tid int }
	slices := map[track][]*Event{}
	type flow struct{ starts, ends []*Event }
	flows := map[uint64]*flow{}
	for i := range f.TraceEvents {
		e := &f.TraceEvents[i]
		if !allowedPh[e.Ph] {
			fail("event %d (%s): got ph %q, want one of X B E i I C M s t f b n e", i, e.Name, e.Ph)
		}
		if e.Ts < 0 || math.IsNaN(e.Ts) {
			fail("event %d (%s): got ts %v, want 0 or more", i, e.Name, e.Ts)
		}
		if e.Dur != nil && (*e.Dur < 0 || math.IsNaN(*e.Dur)) {
			fail("event %d (%s): got dur %v, want 0 or more", i, e.Name, *e.Dur)
		}
		switch e.Ph {
		case "X":
			if e.Dur == nil {
				fail("event %d (%s): a complete event without dur", i, e.Name)
			}
			t := track{e.Pid, e.Tid}
			slices[t] = append(slices[t], e)
		case "s", "f":
			fl := flows[e.ID]
			if fl == nil {
				fl = &flow{}
				flows[e.ID] = fl
			}
			if e.Ph == "s" {
				fl.starts = append(fl.starts, e)
			} else {
				fl.ends = append(fl.ends, e)
			}
		}
	}
	// Nesting, and the outermost slices of each track for the flows.
	tops := map[track][][2]float64{}
	for t, xs := range slices {
		sort.SliceStable(xs, func(i, j int) bool {
			if xs[i].Ts != xs[j].Ts {
				return xs[i].Ts < xs[j].Ts
			}
			return xs[i].End() > xs[j].End()
		})
		var stack []*Event
		for _, e := range xs {
			for len(stack) > 0 && stack[len(stack)-1].End() <= e.Ts+epsilon {
				stack = stack[:len(stack)-1]
			}
			if n := len(stack); n > 0 && e.End() > stack[n-1].End()+epsilon {
				o := stack[n-1]
				fail("pid %d tid %d: %q [%v, %v] overlaps %q [%v, %v] without nesting", t.pid, t.tid, e.Name, e.Ts, e.End(), o.Name, o.Ts, o.End())
				continue
			}
			if len(stack) == 0 {
				tops[t] = append(tops[t], [2]float64{e.Ts, e.End()})
			}
			stack = append(stack, e)
		}
	}
	inside := func(e *Event) bool {
		tt := tops[track{e.Pid, e.Tid}]
		i := sort.Search(len(tt), func(i int) bool { return tt[i][1] >= e.Ts-epsilon })
		return i < len(tt) && tt[i][0] <= e.Ts+epsilon
	}
	ids := make([]uint64, 0, len(flows))
	for id := range flows {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		fl := flows[id]
		if len(fl.starts) != 1 || len(fl.ends) != 1 {
			fail("flow %d: got %d starts and %d ends, want one of each", id, len(fl.starts), len(fl.ends))
			continue
		}
		s, e := fl.starts[0], fl.ends[0]
		if e.Ts < s.Ts-epsilon {
			fail("flow %d (%s): ends at %v, before its start at %v", id, s.Name, e.Ts, s.Ts)
		}
		for _, x := range []*Event{s, e} {
			if !inside(x) {
				fail("flow %d (%s): its %s at %v (pid %d) is inside no slice of its track", id, s.Name, x.Ph, x.Ts, x.Pid)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("trace: %d problems:\n  %s", problems, strings.Join(errs, "\n  "))
	}
	return nil
}
