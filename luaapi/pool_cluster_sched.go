//go:build cluster

// The scheduler of a cluster pool: what runtime.Scheduler is to local
// workers, for workers reached through NATS JetStream.
//
// Tasks are published as they come (the stream is the queue); any
// worker of the cluster takes them. Before running one, a worker asks
// leave (onRun): the scheduler grants it while the task has not settled
// and has run fewer than 1 + retries times, and notes who runs it.
// Workers beat every cluster.Heartbeat for the tasks they hold; a task
// whose worker goes silent for cluster.AckWait, or whose worker reports
// its process dead, is lost: it fails with WorkerLostError, or, with
// retries left, waits to be delivered again. The first result of a task
// settles it; later ones are dropped.
//
// The handlers run on the NATS client's goroutines and the watcher on
// its own: they only record, under mu, and post. The Lua goroutine
// takes results with Events and failures with failures (clusterPool's
// maintain), as pump does.

package luaapi

import (
	"sync"
	"time"

	"procsh/cluster"
	"procsh/runtime"
)

// clusterTask is the scheduler's record of a published task.
type clusterTask struct {
	id   uint64
	rt   *runtime.PoolTask
	runs int       // leaves granted
	held bool      // a worker holds it: leave granted, no result yet
	dels int       // JetStream's count of its deliveries when leave was last granted
	host string    // the worker last granted leave
	wpid int       // its procsh worker process
	pid  int       // the process that ran it, once known
	beat time.Time // when its worker last said it holds it
	// Why it failed, for the Lua goroutine (failures).
	fail failKind
	how  string // lost: how its process ended; else the error's text
	code int    // lost: its process's exit code, when known
}

type failKind int

const (
	failLost    failKind = iota + 1 // its worker died or went silent
	failConn                        // the connection to the server was lost
	failPublish                     // it could not be published, or its result not read
)

// clusterScheduler implements poolScheduler over a cluster.Pool.
type clusterScheduler struct {
	conn    *cluster.Conn
	out     *cluster.Pool // set once the pool is open
	retries int
	stopped func() // clusterPool's end, for Stop

	mu       sync.Mutex
	next     uint64
	tasks    map[uint64]*clusterTask
	byRT     map[*runtime.PoolTask]*clusterTask
	events   []runtime.PoolEvent
	failed   []*clusterTask
	connLost bool
	closed   bool // no more events (Stop)
	notify   chan struct{}
	quit     chan struct{}
}

func newClusterScheduler(conn *cluster.Conn, retries int) *clusterScheduler {
	s := &clusterScheduler{conn: conn, retries: retries, tasks: map[uint64]*clusterTask{}, byRT: map[*runtime.PoolTask]*clusterTask{},
		notify: make(chan struct{}, 1), quit: make(chan struct{})}
	go s.watch()
	return s
}

// handlers are the cluster pool's answers, bound to s.
func (s *clusterScheduler) handlers() cluster.Handlers {
	return cluster.Handlers{Result: s.onResult, Run: s.onRun, Notice: s.onNotice, Failed: s.onFailed}
}

// clusterWorker stands for "any worker" when a task's frame is made: it
// has no chunk and no function, so the frame holds them all.
func clusterWorker() *runtime.PoolWorker {
	return &runtime.PoolWorker{Child: &runtime.Child{}, Local: &workerLocal{chunks: map[ChunkID]bool{}}}
}

// Submit publishes the tasks. Called on the Lua goroutine (frames are
// made from the call's encoders).
func (s *clusterScheduler) Submit(tasks ...*runtime.PoolTask) {
	for _, rt := range tasks {
		frame := rt.Frame(clusterWorker())
		s.mu.Lock()
		s.next++
		t := &clusterTask{id: s.next, rt: rt}
		s.tasks[t.id], s.byRT[rt] = t, t
		lost := s.connLost
		if lost {
			s.failLocked(t, failConn, "")
		}
		s.mu.Unlock()
		if !lost {
			s.out.Publish(t.id, frame)
		}
	}
}

// Cancel withdraws the tasks no worker has been granted: a worker that
// asks for one later is told to drop it.
func (s *clusterScheduler) Cancel(tasks ...*runtime.PoolTask) []*runtime.PoolTask {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*runtime.PoolTask
	for _, rt := range tasks {
		if t := s.byRT[rt]; t != nil && t.runs == 0 {
			s.forgetLocked(t)
			out = append(out, rt)
		}
	}
	return out
}

// Queued counts the tasks no worker has started.
func (s *clusterScheduler) Queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.tasks {
		if t.runs == 0 {
			n++
		}
	}
	return n
}

// Workers is 0: a cluster's workers are not this process's children.
func (s *clusterScheduler) Workers() int { return 0 }

// Close: no more tasks will come. The workers are the cluster's; the
// pool lets go of them when it is joined (clusterPool.done).
func (s *clusterScheduler) Close() {}

// Stop withdraws what no worker has started and ends the pool's part in
// the cluster (terminate): nothing more arrives.
func (s *clusterScheduler) Stop() []*runtime.PoolTask {
	s.mu.Lock()
	var out []*runtime.PoolTask
	for _, t := range s.tasks {
		if t.runs == 0 {
			out = append(out, t.rt)
		}
	}
	s.mu.Unlock()
	s.stopped()
	return out
}

// Events takes the results arrived so far. Called by pump, on the Lua
// goroutine: each result is read once here, refusing shared objects in
// it, before onResult reads it as a local worker's (checkClusterResult).
func (s *clusterScheduler) Events() []runtime.PoolEvent {
	s.mu.Lock()
	ev := s.events
	s.events = nil
	s.mu.Unlock()
	for i := range ev {
		t := ev[i].Task.Value.(*poolTask)
		ev[i].Frame = checkClusterResult(t.call.p.w, t, ev[i].Frame)
	}
	return ev
}

// Notify receives a value after events or failures were posted.
func (s *clusterScheduler) Notify() <-chan struct{} { return s.notify }

// failures takes the tasks that failed since the last call.
func (s *clusterScheduler) failures() []*clusterTask {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.failed
	s.failed = nil
	return f
}

// pending counts the tasks not settled.
func (s *clusterScheduler) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tasks)
}

// end stops the watcher and drops whatever arrives from now on.
func (s *clusterScheduler) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.quit)
	}
}

func (s *clusterScheduler) postLocked() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// forgetLocked drops a task that has settled (or will never run).
func (s *clusterScheduler) forgetLocked(t *clusterTask) {
	delete(s.tasks, t.id)
	delete(s.byRT, t.rt)
	if s.out != nil {
		go s.out.Settled(t.id)
	}
}

// failLocked settles t as failed, for the Lua goroutine to report.
func (s *clusterScheduler) failLocked(t *clusterTask, kind failKind, how string) {
	t.fail = kind
	if how != "" {
		t.how = how
	}
	s.forgetLocked(t)
	s.failed = append(s.failed, t)
	s.postLocked()
}

func (s *clusterScheduler) onResult(id uint64, frame []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tasks[id]
	if t == nil || s.closed {
		return // settled already: a second run's result, or cancelled
	}
	s.forgetLocked(t)
	s.events = append(s.events, runtime.PoolEvent{Kind: runtime.EventResult, Task: t.rt, Frame: frame})
	s.postLocked()
}

func (s *clusterScheduler) onRun(r cluster.RunRequest) cluster.Leave {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tasks[r.Task]
	if t == nil || s.closed {
		return cluster.LeaveDrop
	}
	if t.held && r.Delivered > t.dels {
		// JetStream delivered it again while its worker held it: the
		// worker let its lease lapse (no acknowledgement for AckWait),
		// so it is lost, whatever its last beat to this root says.
		t.held, t.how = false, ""
		if t.runs > s.retries {
			s.failLocked(t, failLost, "")
			return cluster.LeaveDrop
		}
	}
	switch {
	case t.held && time.Since(t.beat) < cluster.AckWait:
		return cluster.LeaveLater
	case t.runs > s.retries:
		return cluster.LeaveDrop
	}
	t.runs++
	t.held, t.host, t.wpid, t.pid, t.beat, t.dels = true, r.Host, r.Pid, 0, time.Now(), r.Delivered
	return cluster.LeaveRun
}

func (s *clusterScheduler) onNotice(n cluster.Notice) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mine := func(id uint64) *clusterTask {
		t := s.tasks[id]
		if t == nil || !t.held || t.host != n.Host || t.wpid != n.Pid {
			return nil
		}
		return t
	}
	now := time.Now()
	switch n.Kind {
	case cluster.NoticeStarted:
		if t := mine(n.Task); t != nil {
			t.pid, t.beat = n.Child, now
		}
	case cluster.NoticeBeat:
		for _, id := range n.Tasks {
			if t := mine(id); t != nil {
				t.beat = now
			}
		}
	case cluster.NoticeLost:
		t := mine(n.Task)
		if t == nil {
			return
		}
		t.held, t.pid, t.code = false, n.Child, n.Code
		t.how = n.How
		if t.runs > s.retries {
			s.failLocked(t, failLost, n.How)
		}
		// Else its worker put it back: it is delivered again.
	}
}

func (s *clusterScheduler) onFailed(id uint64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tasks[id]; t != nil && !s.closed {
		s.failLocked(t, failPublish, err.Error())
	}
}

// watchEvery is how often the watcher looks at heartbeats and at the
// connection.
const watchEvery = 100 * time.Millisecond

// watch finds the tasks whose worker went silent, and a connection lost
// for longer than cluster.ReconnectGrace.
func (s *clusterScheduler) watch() {
	tick := time.NewTicker(watchEvery)
	defer tick.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-tick.C:
		}
		down := s.conn.Down()
		s.mu.Lock()
		if down > cluster.ReconnectGrace && !s.connLost {
			s.connLost = true
			for _, t := range s.tasks {
				s.failLocked(t, failConn, "")
			}
		}
		if down == 0 {
			s.connLost = false
		}
		for _, t := range s.tasks {
			if !t.held || time.Since(t.beat) < cluster.AckWait || down > 0 {
				continue
			}
			t.held = false
			t.how = ""
			if t.runs > s.retries {
				s.failLocked(t, failLost, "")
			}
			// Else JetStream delivers it again about now: its lease
			// ended with the last heartbeat.
		}
		s.mu.Unlock()
	}
}
