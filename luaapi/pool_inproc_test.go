package luaapi

import (
	"slices"
	"testing"

	"procsh/runtime"
)

// inprocSched is a pool scheduler whose worker is a second state in this
// process: Events runs each submitted task there, in order, through the
// same frames a worker process gets and answers. It lets the tests and
// benchmarks below look at the pool's two sides without processes.
type inprocSched struct {
	tb     testing.TB
	pw     *poolWorker
	worker *runtime.PoolWorker
	queue  []*runtime.PoolTask
	notify chan struct{}
	// cache, when set, answers a task with the result frame its first
	// run gave for the same first item: the parent's side alone.
	cache   map[int][]byte
	ran     int // tasks the worker state ran
	workers int
	// batch, when not 0, is how many tasks each Events runs; the others
	// stay queued.
	batch int
}

func newInprocSched(tb testing.TB) *inprocSched {
	w := newArenaWorld(tb)
	pw, err := newPoolWorker(w)
	if err != nil {
		tb.Fatal(err)
	}
	// Its worker is always ready: a wait for it never blocks.
	notify := make(chan struct{})
	close(notify)
	return &inprocSched{tb: tb, pw: pw, worker: &runtime.PoolWorker{Local: &workerLocal{chunks: map[ChunkID]bool{}}}, notify: notify, workers: 1}
}

func (s *inprocSched) Submit(tasks ...*runtime.PoolTask) { s.queue = append(s.queue, tasks...) }

func (s *inprocSched) Cancel(tasks ...*runtime.PoolTask) []*runtime.PoolTask { return nil }
func (s *inprocSched) Queued() int                                           { return len(s.queue) }
func (s *inprocSched) Workers() int                                          { return s.workers }
func (s *inprocSched) Close()                                                {}
func (s *inprocSched) Notify() <-chan struct{}                               { return s.notify }

func (s *inprocSched) Stop() []*runtime.PoolTask {
	q := s.queue
	s.queue = nil
	return q
}

func (s *inprocSched) Events() []runtime.PoolEvent {
	var ev []runtime.PoolEvent
	run := s.queue
	if s.batch > 0 && len(run) > s.batch {
		run = run[:s.batch]
	}
	for _, t := range run {
		frame := t.Frame(s.worker)
		first := t.Value.(*poolTask).first
		res, ok := s.cache[first]
		if !ok {
			s.ran++
			res = slices.Clone(s.pw.run(frame[5:])[4:]) // the body, kind first, as the pipe or mailbox gives it
			if s.cache != nil {
				s.cache[first] = res
			}
		}
		ev = append(ev, runtime.PoolEvent{Kind: runtime.EventResult, Task: t, Frame: res})
	}
	s.queue = s.queue[len(run):]
	return ev
}

// newInprocPool is a Pool of n (for the default chunksize) in a new
// state, as the global pool, whose worker is s.
func newInprocPool(tb testing.TB, n int) (*World, *inprocSched) {
	w, s, _ := newInprocPoolObject(tb, n)
	return w, s
}

// newInprocPoolObject is newInprocPool, with the pool.
func newInprocPoolObject(tb testing.TB, n int) (*World, *inprocSched, *pool) {
	w := newArenaWorld(tb)
	s := newInprocSched(tb)
	if parentBallast == nil { // as a real pool's parent and workers have
		parentBallast = make([]byte, parentBallastSize)
	}
	if ballast == nil {
		ballast = make([]byte, ballastSize)
	}
	p := &pool{w: w, n: n, sched: s, live: map[*runtime.PoolWorker]*process{}, pending: map[*poolCall]struct{}{}}
	for range n { // live workers: the pool starts no others
		p.live[&runtime.PoolWorker{}] = &process{}
	}
	p.ud = w.L.NewUserData()
	p.ud.Value = p
	p.ud.Metatable = w.typeMeta(poolTypeName)
	w.L.SetGlobal("pool", p.ud)
	return w, s, p
}
