// The text summary of a trace: a Gantt chart of the processes, the share
// of time each worked and waited, and the longest waits.

package trace

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// States of a process in the chart, one character each.
const (
	stateRunning   = '#'
	stateIdle      = '.'
	stateLock      = 'L'
	stateBarrier   = 'B'
	stateQueue     = 'Q'
	stateCondition = 'C'
	stateJoin      = 'J'
	statePool      = 'P'
)

// chartLegend explains the chart's characters.
const chartLegend = "# running  L lock  B barrier  C condition/event  Q queue/pipe  J join  P pool results  . idle pool worker"

// waitKinds lists the kinds of wait in the order the summary shows them.
var waitKinds = []struct {
	state byte
	name  string
}{
	{stateLock, "lock"}, {stateBarrier, "barrier"}, {stateCondition, "condition"},
	{stateQueue, "queue"}, {stateJoin, "join"}, {statePool, "pool"},
}

// span is a stretch of time (microseconds) a process spent in a state.
type span struct {
	from, to float64
	state    byte
	ev       *Event
}

// track is a process as the summary sees it.
type track struct {
	pid          int
	name         string
	order        int
	from, to     float64 // the life
	alive        bool
	code         *float64
	worker       bool   // a pool worker: idle between tasks
	tasks, waits []span // tasks (workers) and waits
}

// tracks reads the processes and their waits from the events.
func tracks(f *File) []*track {
	byPid := map[int]*track{}
	get := func(pid int) *track {
		t := byPid[pid]
		if t == nil {
			t = &track{pid: pid, name: fmt.Sprint(pid), order: 1 << 30}
			byPid[pid] = t
		}
		return t
	}
	opened := map[uint64]*Event{}
	for i := range f.TraceEvents {
		e := &f.TraceEvents[i]
		switch {
		case e.Ph == "M" && e.Name == "process_name":
			if s, ok := e.Args["name"].(string); ok {
				get(e.Pid).name = s
			}
		case e.Ph == "M" && e.Name == "process_sort_index":
			if n, ok := number(e.Args["sort_index"]); ok {
				get(e.Pid).order = int(n)
			}
		case e.Ph == "X" && e.Cat == "process":
			t := get(e.Pid)
			t.from, t.to, t.alive = e.Ts, e.End(), true
		case e.Ph == "i" && e.Cat == "process" && e.Name == "exit":
			if c, ok := number(e.Args["exitcode"]); ok {
				get(e.Pid).code = &c
			}
		case e.Ph == "X" && e.Cat == "pool":
			t := get(e.Pid)
			t.worker = true
			t.tasks = append(t.tasks, span{e.Ts, e.End(), stateRunning, e})
		case e.Ph == "X" && e.Cat == "wait":
			get(e.Pid).waits = append(get(e.Pid).waits, span{e.Ts, e.End(), waitState(e), e})
		case e.Ph == "b" && (e.Cat == "wait" || e.Cat == "queue"):
			opened[e.ID] = e
		case e.Ph == "e":
			if b := opened[e.ID]; b != nil {
				delete(opened, e.ID)
				get(b.Pid).waits = append(get(b.Pid).waits, span{b.Ts, e.Ts, waitState(b), b})
			}
		}
	}
	var out []*track
	for _, t := range byPid {
		if t.alive {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].order != out[j].order {
			return out[i].order < out[j].order
		}
		return out[i].from < out[j].from
	})
	return out
}

// number reads a numeric argument, from JSON (float64) or from a File
// Build made (Go integers).
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	}
	return 0, false
}

// waitState is the chart's character for a wait event.
func waitState(e *Event) byte {
	switch {
	case e.Cat == "queue":
		return stateQueue
	case e.Name == "join":
		return stateJoin
	case e.Name == "Pool.wait":
		return statePool
	case strings.HasPrefix(e.Name, "Barrier."):
		return stateBarrier
	case strings.HasPrefix(e.Name, "Condition."), strings.HasPrefix(e.Name, "Event."):
		return stateCondition
	}
	return stateLock
}

// overlap is how much of [a0, a1] lies in [b0, b1].
func overlap(a0, a1, b0, b1 float64) float64 {
	return max(0, min(a1, b1)-max(a0, b0))
}

// union is the time the spans cover, counting overlaps once, within
// [from, to]; keep says which spans count.
func union(spans []span, from, to float64, keep func(byte) bool) float64 {
	var iv [][2]float64
	for _, s := range spans {
		if keep(s.state) {
			a, b := max(s.from, from), min(s.to, to)
			if b > a {
				iv = append(iv, [2]float64{a, b})
			}
		}
	}
	sort.Slice(iv, func(i, j int) bool { return iv[i][0] < iv[j][0] })
	total, end := 0.0, from
	for _, x := range iv {
		a := max(x[0], end)
		if x[1] > a {
			total += x[1] - a
			end = x[1]
		}
	}
	return total
}

// share is, for [from, to], the time t spent alive, in tasks, and in each
// kind of wait.
type share struct {
	alive, busy, waiting float64
	byKind               map[byte]float64
}

func (t *track) share(from, to float64) share {
	s := share{alive: overlap(t.from, t.to, from, to), byKind: map[byte]float64{}}
	if s.alive == 0 {
		return s
	}
	from, to = max(from, t.from), min(to, t.to)
	s.busy = union(t.tasks, from, to, func(byte) bool { return true })
	s.waiting = union(t.waits, from, to, func(byte) bool { return true })
	for _, k := range waitKinds {
		if d := union(t.waits, from, to, func(st byte) bool { return st == k.state }); d > 0 {
			s.byKind[k.state] = d
		}
	}
	return s
}

// idle is the time a pool worker spent neither in a task nor waiting.
func (s share) idle(worker bool) float64 {
	if !worker {
		return 0
	}
	return max(0, s.alive-max(s.busy, s.waiting))
}

// state is the chart's character for a column: what took most of it.
func (t *track) state(from, to float64) byte {
	s := t.share(from, to)
	if s.alive == 0 {
		return ' '
	}
	best, most := byte(stateRunning), max(0, s.alive-s.waiting-s.idle(t.worker))
	if idle := s.idle(t.worker); idle > most {
		best, most = stateIdle, idle
	}
	for _, k := range waitKinds {
		if d := s.byKind[k.state]; d > most {
			best, most = k.state, d
		}
	}
	return best
}

// chartWidth is the chart's columns.
const chartWidth = 64

// Summary writes the text summary of f: the chart, per process the
// share of its life spent working, waiting and idle with its longest
// wait, and the longest waits of the whole run.
func Summary(w io.Writer, f *File) {
	ts := tracks(f)
	if len(ts) == 0 {
		fmt.Fprintln(w, "procsh trace: no processes in the trace")
		return
	}
	from, to := ts[0].from, ts[0].to
	for _, t := range ts {
		from, to = min(from, t.from), max(to, t.to)
	}
	total := max(to-from, 1e-3)
	nameWidth := 12
	for _, t := range ts {
		nameWidth = max(nameWidth, min(len(t.name), 28))
	}
	plural := "es"
	if len(ts) == 1 {
		plural = ""
	}
	fmt.Fprintf(w, "procsh trace: %d process%s, %s\n\n", len(ts), plural, duration(total))
	axis := "0" + lpad(duration(total), chartWidth+1)
	fmt.Fprintf(w, "%-*s  %s\n", nameWidth, "", axis)
	col := total / chartWidth
	for _, t := range ts {
		row := make([]byte, chartWidth)
		for c := range row {
			row[c] = t.state(from+float64(c)*col, from+float64(c+1)*col)
		}
		fmt.Fprintf(w, "%-*s |%s|\n", nameWidth, cut(t.name, nameWidth), row)
	}
	fmt.Fprintf(w, "%-*s  %s\n\n", nameWidth, "", chartLegend)

	fmt.Fprintf(w, "%-*s  %s  %s  %s  %s  %s\n", nameWidth, "process", lpad("life", 9), lpad("working", 13), lpad("waiting", 13), lpad("idle", 13), "exit")
	for _, t := range ts {
		s := t.share(t.from, t.to)
		idle := s.idle(t.worker)
		work := max(0, s.alive-s.waiting-idle)
		exit := "-"
		if t.code != nil {
			exit = fmt.Sprint(*t.code)
		}
		fmt.Fprintf(w, "%-*s  %s  %s  %s  %s  %s\n", nameWidth, cut(t.name, nameWidth), lpad(duration(s.alive), 9),
			lpad(percent(work, s.alive), 13), lpad(percent(s.waiting, s.alive), 13), lpad(percent(idle, s.alive), 13), exit)
		var kinds []string
		for _, k := range waitKinds {
			if d := s.byKind[k.state]; d > 0 {
				kinds = append(kinds, fmt.Sprintf("%s %s", k.name, duration(d)))
			}
		}
		if len(kinds) > 0 {
			fmt.Fprintf(w, "%-*s    waiting on: %s\n", nameWidth, "", strings.Join(kinds, ", "))
		}
	}

	var all []span
	owner := map[*Event]*track{}
	for _, t := range ts {
		for _, s := range t.waits {
			all = append(all, s)
			owner[s.ev] = t
		}
	}
	if len(all) == 0 {
		return
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].to-all[i].from > all[j].to-all[j].from })
	fmt.Fprintf(w, "\nlongest waits:\n")
	for _, s := range all[:min(len(all), 5)] {
		fmt.Fprintf(w, "  %s  %-*s  %s, at %s\n", lpad(duration(s.to-s.from), 9), nameWidth, cut(owner[s.ev].name, nameWidth), describeWait(s.ev), duration(s.from-from))
	}
}

// describeWait says what a wait was on: "Barrier.wait on Barrier 0x10040
// (index 0, generation 0)", "Lock.acquire on Lock 0x1000 held by p1".
func describeWait(e *Event) string {
	var sb strings.Builder
	sb.WriteString(e.Name)
	if o, ok := e.Args["object"].(string); ok {
		sb.WriteString(" on " + o)
	}
	if c, ok := e.Args["child"].(string); ok && c != "" {
		sb.WriteString(" of " + c)
	}
	if h, ok := e.Args["holder"].(string); ok && h != "" {
		sb.WriteString(" held by " + h)
	}
	if i, ok := number(e.Args["index"]); ok {
		fmt.Fprintf(&sb, " (index %v, generation %v", i, e.Args["generation"])
		if e.Args["broken"] == true {
			sb.WriteString(", broken")
		}
		sb.WriteString(")")
	}
	if e.Args["recovered"] == true {
		sb.WriteString(" (recovered from a dead holder)")
	}
	return sb.String()
}

// duration writes microseconds for people: 850 µs, 12.3 ms, 1.50 s.
func duration(us float64) string {
	switch {
	case us < 1000:
		return fmt.Sprintf("%.0f µs", us)
	case us < 1e6:
		return fmt.Sprintf("%.1f ms", us/1e3)
	}
	return fmt.Sprintf("%.2f s", us/1e6)
}

// percent writes a part of a whole as "12.3 ms  45%", and nothing as
// "-".
func percent(part, whole float64) string {
	if whole <= 0 || part <= 0 {
		return "-"
	}
	return fmt.Sprintf("%s %3.0f%%", duration(part), 100*part/whole)
}

// lpad right-aligns s in n characters.
func lpad(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return strings.Repeat(" ", n-k) + s
	}
	return s
}

// cut shortens s to n bytes.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return cutString(s, n)
}
