// Recording into the arena, reading back, building and checking, in one
// process; trace_cli_test.go at the repository root traces real process
// trees.

package trace

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"procsh/runtime"
)

// newArena makes an arena for one test, freed when it ends.
func newArena(t testing.TB, size int64) *runtime.Arena {
	t.Helper()
	a, err := runtime.NewArena(size)
	if err != nil {
		t.Fatalf("NewArena: %v", err)
	}
	t.Cleanup(func() { a.File().Close() })
	return a
}

// enable traces the arena's tree from this process until the test ends.
func enable(t testing.TB, a *runtime.Arena) *Recorder {
	t.Helper()
	r, err := Enable(a)
	if err != nil {
		t.Fatalf("Enable: %v", err)
	}
	t.Cleanup(Detach)
	return r
}

func TestRecordsReadBack(t *testing.T) {
	a := newArena(t, 64<<20)
	if Enabled(a) {
		t.Fatalf("Enabled(new arena) = true, want false")
	}
	if r, err := Attach(a); r != nil || err != nil {
		t.Fatalf("Attach(untraced arena) = %v, %v, want nil, nil", r, err)
	}
	r := enable(t, a)
	r.Started("MainProcess", 0)
	r.Mark("héllo", `{"i":1}`)
	long := strings.Repeat("x", 100)
	r.Spawned(4242, long, r.Now())
	r.Reaped(4242, -15)
	r.Ended(3)
	bufs, err := Read(a)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(bufs) != 1 {
		t.Fatalf("Read found %d buffers, want 1", len(bufs))
	}
	recs := bufs[0].Records
	want := []struct {
		k    kind
		strs []string
	}{
		{kindStart, []string{"MainProcess"}},
		{kindMark, []string{"héllo", `{"i":1}`}},
		{kindSpawn, []string{long}},
		{kindReap, nil},
		{kindEnd, nil},
	}
	if len(recs) != len(want) {
		t.Fatalf("read %d records, want %d: %+v", len(recs), len(want), recs)
	}
	for i, w := range want {
		if recs[i].Kind != w.k || strings.Join(recs[i].Strs, "|") != strings.Join(w.strs, "|") {
			t.Errorf("record %d = kind %d %q, want kind %d %q", i, recs[i].Kind, recs[i].Strs, w.k, w.strs)
		}
	}
	if got := int64(recs[3].B); got != -15 {
		t.Errorf("reap code = %d, want -15", got)
	}
	if got := int32(recs[4].A); got != 3 {
		t.Errorf("end code = %d, want 3", got)
	}
}

// TestBufferGrowsThenDrops: a buffer chains segments as it fills, and
// past MaxBuffer counts what it drops.
func TestBufferGrowsThenDrops(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a 64 MiB buffer")
	}
	a := newArena(t, 256<<20)
	r := enable(t, a)
	r.Started("MainProcess", 0)
	fit := MaxBuffer / recordSize // a little more than fits
	n := fit + 5000
	for i := 0; i < n; i++ {
		r.TaskBegin(uint64(i), 1, 1)
	}
	bufs, err := Read(a)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	got := len(bufs[0].Records)
	if got < fit/2 || uint64(got)+bufs[0].Dropped != uint64(n+1) || bufs[0].Dropped == 0 {
		t.Fatalf("kept %d records and dropped %d of %d, want them all counted, some dropped", got, bufs[0].Dropped, n+1)
	}
	for i, rec := range bufs[0].Records[1:] {
		if rec.C != uint64(i) {
			t.Fatalf("record %d holds %d, want %d (records kept in order)", i+1, rec.C, i)
		}
	}
}

// TestWaitsRecorded: the primitives' blocking paths reach the Recorder,
// their fast paths do not.
func TestWaitsRecorded(t *testing.T) {
	a := newArena(t, 64<<20)
	r := enable(t, a)
	r.Started("MainProcess", 0)
	l, _ := a.NewLock()
	if ok, _ := l.Acquire(nil, true, -1); !ok { // fast path: nothing
		t.Fatal("Acquire of a free Lock failed")
	}
	if ok, _ := l.Acquire(nil, true, time.Millisecond); ok { // held by us: a wait
		t.Fatal("Acquire of a held Lock succeeded")
	}
	rl, _ := a.NewRLock()
	rl.Acquire(nil, true, -1)
	rl.Acquire(nil, true, -1) // held by us: taken again, no wait
	s, _ := a.NewSemaphore(0)
	s.Acquire(nil, true, time.Millisecond)
	e, _ := a.NewEvent()
	e.Wait(nil, time.Millisecond)
	c, _ := a.NewCondition(nil)
	c.Acquire(nil, true, -1)
	c.Wait(nil, time.Millisecond)
	c.Release()
	b, _ := a.NewBarrier(1)
	b.Wait(nil, -1, nil)
	ring, _ := a.NewRing(runtime.RingOptions{})
	ring.Put(nil, []byte("m"), true, -1)
	ring.Get(nil, true, -1)
	ring.Get(nil, true, time.Millisecond) // empty: no message, nothing

	bufs, err := Read(a)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	var got []string
	for _, rec := range bufs[0].Records {
		switch rec.Kind {
		case kindWait:
			got = append(got, waitNames[runtime.WaitKind(rec.Flags&0xff)][1])
		case kindPut:
			got = append(got, "put")
		case kindGet:
			got = append(got, "get")
		}
	}
	want := "Lock.acquire Semaphore.acquire Event.wait Condition.wait Barrier.wait put get"
	if strings.Join(got, " ") != want {
		t.Errorf("recorded %q, want %q", strings.Join(got, " "), want)
	}
	f := Build(bufs)
	if err := Check(f); err != nil {
		t.Errorf("Check: %v", err)
	}
	var lockWait *Event
	for i := range f.TraceEvents {
		if f.TraceEvents[i].Name == "Lock.acquire" {
			lockWait = &f.TraceEvents[i]
		}
	}
	if lockWait == nil || lockWait.Args["holder"] != "MainProcess" || lockWait.Args["acquired"] != false {
		t.Errorf("Lock.acquire event = %+v, want one held by MainProcess, not acquired", lockWait)
	}
}

// TestTraceOffNoAllocs: with no tracer, the hooked blocking paths and the
// rings' fast paths allocate nothing.
func TestTraceOffNoAllocs(t *testing.T) {
	a := newArena(t, 64<<20)
	Detach()
	l, _ := a.NewLock()
	l.Acquire(nil, true, -1)
	rl, _ := a.NewRLock()
	s, _ := a.NewSemaphore(0)
	e, _ := a.NewEvent()
	ring, _ := a.NewRing(runtime.RingOptions{})
	msg := []byte("message")
	cases := []struct {
		name string
		fn   func()
	}{
		{"Lock.Acquire, held", func() { l.Acquire(nil, true, 50*time.Microsecond) }},
		{"RLock.Acquire, free", func() { rl.Acquire(nil, true, -1); rl.Release() }},
		{"Semaphore.Acquire, 0", func() { s.Acquire(nil, true, 50*time.Microsecond) }},
		{"Event.Wait, not set", func() { e.Wait(nil, 50*time.Microsecond) }},
		{"Ring put and get", func() { ring.Put(nil, msg, true, -1); ring.Get(nil, true, -1) }},
		{"Ring.Get, empty", func() { ring.Get(nil, true, 50*time.Microsecond) }},
	}
	for _, c := range cases {
		if n := testing.AllocsPerRun(20, c.fn); n != 0 {
			t.Errorf("%s with tracing off: %v allocations a call, want 0", c.name, n)
		}
	}
}

// BenchmarkHooks measures a ring's put and get, and a Lock taken and
// released, with tracing off and on.
func BenchmarkHooks(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run("ring/"+name, func(b *testing.B) {
			a := newArena(b, 64<<20)
			if on {
				enable(b, a).Started("bench", 0)
			}
			ring, _ := a.NewRing(runtime.RingOptions{})
			msg := []byte("message")
			b.ReportAllocs()
			for b.Loop() {
				ring.Put(nil, msg, true, -1)
				ring.Get(nil, true, -1)
			}
		})
		b.Run("lock/"+name, func(b *testing.B) {
			a := newArena(b, 64<<20)
			if on {
				enable(b, a).Started("bench", 0)
			}
			l, _ := a.NewLock()
			b.ReportAllocs()
			for b.Loop() {
				l.Acquire(nil, true, -1)
				l.Release()
			}
		})
	}
}

// code is an exit code as a reap record holds it.
func code(c int64) uint64 { return uint64(c) }

// BenchmarkRecord measures one record appended (a message), and the
// clock it reads.
func BenchmarkRecord(b *testing.B) {
	b.Run("Message", func(b *testing.B) {
		r := enable(b, newArena(b, 256<<20))
		for b.Loop() {
			r.Message(runtime.TraceMessage{Ring: 1, Seq: 2, At: 3})
		}
	})
	b.Run("Now", func(b *testing.B) {
		r := enable(b, newArena(b, 64<<20))
		var s int64
		for b.Loop() {
			s += r.Now()
		}
		_ = s
	})
}

// TestBuildPairs: a start() and the child's start, a put and its get, a
// pool task's submission, run and result, become arrows; a task whose
// worker died ends with it, lost.
func TestBuildPairs(t *testing.T) {
	ms := int64(time.Millisecond)
	root := Buffer{Pid: 100, Records: []Record{
		{Kind: kindStart, TS: 0, Strs: []string{"MainProcess"}},
		{Kind: kindSpawn, TS: 1 * ms, End: 2 * ms, A: 200, Strs: []string{"p1"}},
		{Kind: kindSpawn, TS: 1 * ms, End: 2 * ms, A: 300, Strs: []string{"PoolWorker-1"}},
		{Kind: kindPut, TS: 3 * ms, End: 3 * ms, B: 4096, C: 1},
		{Kind: kindDispatch, TS: 4 * ms, End: 4 * ms, A: 300, B: 1, C: 1, D: 0<<32 | 2, Strs: []string{"map"}},
		{Kind: kindDispatch, TS: 4 * ms, End: 6 * ms, A: 300, B: 2, C: 2, D: 2<<32 | 2, Strs: []string{"map"}},
		{Kind: kindResult, TS: 6 * ms, B: 1},
		{Kind: kindLost, TS: 9 * ms, A: 300, B: 2},
		{Kind: kindReap, TS: 9 * ms, A: 300, B: code(-9)},
		{Kind: kindJoin, TS: 5 * ms, End: 8 * ms, A: 200, Flags: joinEnded},
		{Kind: kindReap, TS: 8 * ms, A: 200, B: 0},
		{Kind: kindEnd, TS: 10 * ms},
	}}
	child := Buffer{Pid: 200, Records: []Record{
		{Kind: kindStart, TS: 2 * ms, A: 100, Strs: []string{"p1"}},
		{Kind: kindGet, TS: 3 * ms, End: 4 * ms, B: 4096, C: 1, Flags: msgBlocked},
		{Kind: kindEnd, TS: 7 * ms},
	}}
	worker := Buffer{Pid: 300, Dropped: 2, Records: []Record{
		{Kind: kindStart, TS: 2 * ms, A: 100, Strs: []string{"PoolWorker-1"}},
		{Kind: kindTaskBegin, TS: 4 * ms, A: 2, B: 1, C: 1},
		{Kind: kindTaskEnd, TS: 5 * ms, C: 1},
		{Kind: kindTaskBegin, TS: 6 * ms, A: 2, B: 1, C: 2},
	}}
	idle := Buffer{Pid: 400, Records: nil} // never started: left out
	f := Build([]Buffer{worker, idle, child, root})
	if err := Check(f); err != nil {
		t.Fatalf("Check: %v", err)
	}
	count := map[string]int{}
	for _, e := range f.TraceEvents {
		count[e.Ph+" "+e.Cat+" "+e.Name]++
		if e.Ph == "X" && e.Cat == "pool" && e.Ts == 6000 {
			if e.Args["lost"] != true || *e.Dur != 3000 {
				t.Errorf("the second task = %+v, want lost, ending with its worker at 9 ms", e)
			}
		}
		if e.Ph == "i" && e.Name == "exit" && e.Pid == 300 && (e.Args["exitcode"] != -9 || e.Args["signal"] != "SIGKILL") {
			t.Errorf("worker's exit = %v, want exitcode -9, SIGKILL", e.Args)
		}
	}
	want := map[string]int{
		"M  process_name":         3,
		"X process MainProcess":   1,
		"s start start":           2,
		"f start start":           2,
		"s queue Queue 0x1000":    1,
		"f queue Queue 0x1000":    1,
		"b queue Queue.get":       1,
		"X pool map task":         2,
		"s pool submit":           2,
		"f pool submit":           2,
		"s pool result":           1,
		"f pool result":           1,
		"X wait join":             1,
		"i trace records dropped": 1,
	}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%d events %q, want %d", count[k], k, n)
		}
	}
}

// TestAppendEvent: the events are written as encoding/json writes them.
func TestAppendEvent(t *testing.T) {
	d := 12.5
	events := []Event{
		{Name: "x", Ph: "X", Ts: 1234.567, Dur: &d, Pid: 7, Tid: 7, Args: map[string]any{
			"s": "a\"b<é>", "b": true, "i": 3, "i64": int64(-4), "u32": uint32(5), "u64": uint64(6),
			"f": 0.25, "big": 1e22, "m": map[string]any{"z": 1, "a": "b"}, "l": []any{1.0, "x"}, "nil": nil}},
		{Name: "message", Cat: "queue", Ph: "f", Bp: "e", Ts: 0, Pid: 1, Tid: 1, ID: 99},
		{Name: "exit", Ph: "i", S: "t", Ts: 1e-7, Pid: 1, Tid: 1},
		{Name: "process_name", Ph: "M", Args: map[string]any{"name": "p1 - \u00e9\n"}},
	}
	for _, e := range events {
		want, err := json.Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendEvent(nil, &e)
		if err != nil || string(got) != string(want) {
			t.Errorf("appendEvent(%s) = %s, %v, want %s", e.Name, got, err, want)
		}
	}
}

// TestCheckFinds: each rule of Check, broken once.
func TestCheckFinds(t *testing.T) {
	d := func(v float64) *float64 { return &v }
	life := Event{Name: "life", Ph: "X", Ts: 0, Dur: d(100), Pid: 1, Tid: 1}
	cases := []struct {
		name   string
		events []Event
		want   string
	}{
		{"a kind", []Event{{Name: "x", Ph: "Q"}}, `got ph "Q"`},
		{"negative ts", []Event{{Name: "x", Ph: "i", Ts: -1}}, "got ts -1"},
		{"negative dur", []Event{{Name: "x", Ph: "X", Dur: d(-1)}}, "got dur -1"},
		{"overlap", []Event{life, {Name: "w", Ph: "X", Ts: 50, Dur: d(60), Pid: 1, Tid: 1}}, "overlaps"},
		{"flow without end", []Event{life, {Name: "m", Ph: "s", Ts: 1, ID: 7, Pid: 1, Tid: 1}}, "got 1 starts and 0 ends"},
		{"flow backwards", []Event{life, {Name: "m", Ph: "s", Ts: 5, ID: 7, Pid: 1, Tid: 1}, {Name: "m", Ph: "f", Ts: 4, ID: 7, Pid: 1, Tid: 1}}, "before its start"},
		{"flow outside", []Event{life, {Name: "m", Ph: "s", Ts: 5, ID: 7, Pid: 1, Tid: 1}, {Name: "m", Ph: "f", Ts: 6, ID: 7, Pid: 2, Tid: 2}}, "inside no slice"},
	}
	for _, c := range cases {
		err := Check(&File{TraceEvents: c.events})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Check = %v, want an error with %q", c.name, err, c.want)
		}
	}
	ok := []Event{life, {Name: "w", Ph: "X", Ts: 50, Dur: d(50), Pid: 1, Tid: 1},
		{Name: "m", Ph: "s", Ts: 100, ID: 7, Pid: 1, Tid: 1}, {Name: "m", Ph: "f", Bp: "e", Ts: 100, ID: 7, Pid: 1, Tid: 1}}
	if err := Check(&File{TraceEvents: ok}); err != nil {
		t.Errorf("Check(good trace) = %v, want nil", err)
	}
}

// TestNestMakesOverlapAsync: two waits of one process that overlap (a
// feeder's and the script's) cannot both be complete events.
func TestNestMakesOverlapAsync(t *testing.T) {
	ms := int64(time.Millisecond)
	buf := Buffer{Pid: 1, Records: []Record{
		{Kind: kindStart, TS: 0, Strs: []string{"MainProcess"}},
		{Kind: kindWait, TS: 1 * ms, End: 3 * ms, Flags: uint16(runtime.WaitLock)},
		{Kind: kindWait, TS: 2 * ms, End: 4 * ms, Flags: uint16(runtime.WaitEvent)},
		{Kind: kindEnd, TS: 5 * ms},
	}}
	f := Build([]Buffer{buf})
	if err := Check(f); err != nil {
		t.Fatalf("Check: %v", err)
	}
	phs := ""
	for _, e := range f.TraceEvents {
		if e.Cat == "wait" {
			phs += e.Ph
		}
	}
	if phs != "Xbe" {
		t.Errorf("the waits' kinds = %q, want %q (the second made async)", phs, "Xbe")
	}
}

// TestWriteDecodeSummary: the file written decodes to the same events,
// and the summary draws every process.
func TestWriteDecodeSummary(t *testing.T) {
	ms := int64(time.Millisecond)
	bufs := []Buffer{
		{Pid: 1, Records: []Record{
			{Kind: kindStart, TS: 0, Strs: []string{"MainProcess"}},
			{Kind: kindSpawn, TS: 0, End: ms, A: 2, Strs: []string{"p1"}},
			{Kind: kindJoin, TS: ms, End: 40 * ms, A: 2, Flags: joinEnded},
			{Kind: kindReap, TS: 40 * ms, A: 2, B: code(-15)},
			{Kind: kindEnd, TS: 41 * ms},
		}},
		{Pid: 2, Records: []Record{
			{Kind: kindStart, TS: ms, A: 1, Strs: []string{"p1"}},
			{Kind: kindWait, TS: 10 * ms, End: 30 * ms, Flags: uint16(runtime.WaitBarrier) | waitOK, B: 0x40},
		}},
	}
	f := Build(bufs)
	var out bytes.Buffer
	if err := f.Write(&out); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if !json.Valid(out.Bytes()) {
		t.Fatalf("Write wrote invalid JSON:\n%s", out.String())
	}
	g, err := Decode(out.Bytes())
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if len(g.TraceEvents) != len(f.TraceEvents) || g.DisplayTimeUnit != "ms" {
		t.Fatalf("decoded %d events (unit %q), want %d (ms)", len(g.TraceEvents), g.DisplayTimeUnit, len(f.TraceEvents))
	}
	if err := Check(g); err != nil {
		t.Errorf("Check: %v", err)
	}
	var sum bytes.Buffer
	Summary(&sum, g)
	s := sum.String()
	for _, want := range []string{"2 processes", "MainProcess", "p1", "JJJJ", "BBBB", "Barrier.wait on Barrier 0x40", "-15"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}
