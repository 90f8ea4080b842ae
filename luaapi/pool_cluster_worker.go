//go:build cluster

// A cluster worker: `procsh worker URL --procs N`, or the worker a
// cluster pool starts for itself. It pulls tasks from the cluster and
// runs each in a local pool worker process (poolworker.go, unchanged),
// fed through runtime's Scheduler as a local pool feeds its workers.
//
// A task belongs to a pool, and a pool's processes start with its
// record (initializer, arguments, globals), so the worker keeps a
// Scheduler per pool it serves, with processes started as that pool's
// tasks need them, at most procs in all. A pool needing a process when
// all are taken gets the room of another pool's idle ones, which are
// let go. A pool whose root has gone is let go too.
//
// The worker takes a task from the cluster only when a process is free
// for it, so a task never waits here behind another. Before it runs
// one, it asks the pool's root for leave; while it holds it, it beats;
// its result is published before the task is acknowledged. A process
// that dies running a task is reported to the root (cluster.Worker.Lost),
// which decides whether the task runs again.
//
// Everything runs on the goroutine that called ServeCluster, which owns
// the World; the puller, the schedulers' readers and the publishing of
// results run on others and hand their work over through channels.

package luaapi

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"procsh/cluster"
	"procsh/runtime"
)

// ClusterWorkerOptions say what a cluster worker serves, and how it
// ends.
type ClusterWorkerOptions struct {
	URL   string
	Token string
	Procs int // processes running tasks, at most
	// Drain, once closed, makes the worker take no more tasks, finish
	// those it holds, and return. Stop, once closed, ends its processes
	// at once and returns. Either may be nil.
	Drain, Stop <-chan struct{}
	// Say tells the person who started the worker what it does; nil
	// says nothing.
	Say func(format string, args ...any)
}

// ServeCluster serves tasks until Drain or Stop, on w's goroutine. It
// connects first, trying again every second while the server does not
// answer.
func ServeCluster(w *World, o ClusterWorkerOptions) error {
	if o.Procs < 1 {
		return fmt.Errorf("cluster worker: got %d processes, want at least 1", o.Procs)
	}
	if o.Say == nil {
		o.Say = func(string, ...any) {}
	}
	host, _ := os.Hostname()
	pid := os.Getpid()
	var conn *cluster.Conn
	for said := false; ; said = true {
		var err error
		conn, err = cluster.Connect(o.URL, cluster.Options{Token: o.Token, Name: fmt.Sprintf("procsh worker on %s (pid %d)", host, pid)})
		if err == nil {
			break
		}
		if !said {
			o.Say("%v; trying again every second", err)
		}
		select {
		case <-o.Drain:
			return nil
		case <-o.Stop:
			return nil
		case <-time.After(time.Second):
		}
	}
	defer conn.Close()
	wk, err := conn.Serve(host, pid, o.Procs)
	if err != nil {
		return err
	}
	defer wk.Close()
	// The processes find mp.cluster's objects on this server, whatever
	// address their maker used (cluster_objects.go).
	os.Setenv(clusterURLEnv, o.URL)
	os.Setenv(clusterTokenEnv, o.Token)
	o.Say("serving %s with %d processes (host %s, pid %d)", conn.URL(), o.Procs, host, pid)
	s := &clusterServer{w: w, wk: wk, procs: o.Procs, say: o.Say, pools: map[string]*servedPool{},
		held: map[*cluster.Task]bool{}, credit: make(chan struct{}, o.Procs), incoming: make(chan *cluster.Task),
		stored: make(chan *cluster.Task), notify: make(chan struct{}, 1)}
	for range o.Procs {
		s.credit <- struct{}{}
	}
	s.run(o.Drain, o.Stop)
	return nil
}

// clusterServer is a cluster worker's state. Only ServeCluster's
// goroutine uses it.
type clusterServer struct {
	w        *World
	wk       *cluster.Worker
	procs    int
	say      func(string, ...any)
	pools    map[string]*servedPool // by pool id
	retiring []*servedPool          // pools whose processes are let go
	running  int                    // processes alive, all pools
	held     map[*cluster.Task]bool // granted and not yet stored: beaten for
	draining bool
	credit   chan struct{}      // one per free process, for the puller
	incoming chan *cluster.Task // from the puller
	stored   chan *cluster.Task // a result was published (or given up)
	notify   chan struct{}      // a pool's Scheduler posted events
}

// servedPool is a pool the worker runs tasks of.
type servedPool struct {
	id      string
	payload []byte // its processes' start payload
	sched   *runtime.Scheduler
	procs   map[*runtime.PoolWorker]*process
	tasks   int    // tasks given to sched and not answered
	fails   int    // processes in a row that died before they were ready
	broken  string // why its processes cannot start
	gone    bool   // its root has gone
	quit    chan struct{}
}

func (s *clusterServer) run(drain, stop <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.pull(ctx)
	beat := time.NewTicker(cluster.Heartbeat)
	defer beat.Stop()
	sweep := time.NewTicker(10 * time.Second)
	defer sweep.Stop()
	for !s.draining || len(s.held) > 0 {
		select {
		case t := <-s.incoming:
			s.take(t)
		case <-s.notify:
			s.pump()
		case t := <-s.stored:
			delete(s.held, t)
		case <-beat.C:
			s.beat()
		case id := <-s.wk.Gone():
			s.gone(id)
		case <-sweep.C:
			s.sweep()
		case <-drain:
			drain = nil
			s.draining = true
			cancel()
			if len(s.held) > 0 {
				s.say("draining: finishing %d running tasks, then leaving (Ctrl-C again to stop now)", len(s.held))
			}
		case <-stop:
			s.kill()
			return
		}
	}
	// Drained: let the processes go, and wait (boundedly) for them.
	for _, sp := range s.pools {
		s.retire(sp)
	}
	limit := time.After(5 * time.Second)
	for s.running > 0 {
		select {
		case <-s.notify:
			s.pump()
		case <-limit:
			s.kill()
			return
		case <-stop:
			s.kill()
			return
		}
	}
}

// pull takes a task from the cluster for each free process.
func (s *clusterServer) pull(ctx context.Context) {
	for {
		select {
		case <-s.credit:
		case <-ctx.Done():
			return
		}
		t, err := s.wk.Next(ctx)
		if err != nil {
			return
		}
		select {
		case s.incoming <- t:
		case <-ctx.Done():
			t.Release(0)
			return
		}
	}
}

// free gives a process's room back to the puller.
func (s *clusterServer) free() {
	select {
	case s.credit <- struct{}{}:
	default:
	}
}

// take runs a task delivered: with its root's leave, in a process of its
// pool.
func (s *clusterServer) take(t *cluster.Task) {
	if s.draining {
		t.Release(0)
		return
	}
	sp, err := s.pool(t.Pool)
	if err == nil {
		var leave cluster.Leave
		leave, err = s.wk.MayRun(t)
		switch {
		case err == nil && leave == cluster.LeaveDrop:
			t.Drop()
			s.free()
			return
		case err == nil && leave == cluster.LeaveLater:
			t.Release(cluster.AckWait)
			s.free()
			return
		}
	}
	switch {
	case errors.Is(err, cluster.ErrPoolGone):
		t.Drop()
		if sp != nil {
			s.retire(sp)
		}
		s.free()
		return
	case err != nil:
		s.say("%v; the task goes back", err)
		t.Release(time.Second)
		s.free()
		return
	}
	s.held[t] = true
	if sp.broken != "" {
		s.lost(t, 0, sp.broken, 1)
		return
	}
	sp.tasks++
	sp.sched.Submit(&runtime.PoolTask{Value: t, Frame: func(pw *runtime.PoolWorker) []byte {
		s.wk.Started(t, pw.Child.Pid)
		return t.Frame
	}})
	s.place()
}

// lost reports a held task whose process died (or could not start): its
// root decides whether it runs again.
func (s *clusterServer) lost(t *cluster.Task, pid int, how string, code int) {
	delete(s.held, t)
	s.wk.Lost(t, pid, how, code)
	s.free()
}

// pool finds the pool a task belongs to, reading its record the first
// time.
func (s *clusterServer) pool(id string) (*servedPool, error) {
	if sp := s.pools[id]; sp != nil {
		return sp, nil
	}
	rec, err := s.wk.Record(id)
	if err != nil {
		return nil, err
	}
	maxTasks, n := binary.Uvarint(rec)
	if n <= 0 {
		return nil, fmt.Errorf("cluster worker: the record of pool %s is damaged", id)
	}
	sp := &servedPool{id: id, payload: rec[n:], sched: runtime.NewScheduler(int(maxTasks)), procs: map[*runtime.PoolWorker]*process{}, quit: make(chan struct{})}
	go forward(sp.sched.Notify(), s.notify, sp.quit)
	s.pools[id] = sp
	return sp, nil
}

// forward passes the wake-ups of from to to, until quit.
func forward(from <-chan struct{}, to chan struct{}, quit <-chan struct{}) {
	for {
		select {
		case <-from:
			select {
			case to <- struct{}{}:
			default:
			}
		case <-quit:
			return
		}
	}
}

// place starts processes for the pools whose tasks wait for one, taking
// the room of other pools' idle processes when there is no other.
func (s *clusterServer) place() {
	short := false
	for _, sp := range s.pools {
		for len(sp.procs) < sp.tasks && s.running < s.procs {
			if err := s.spawn(sp); err != nil {
				s.cannotStart(sp, err)
				break
			}
		}
		short = short || len(sp.procs) < sp.tasks
	}
	if !short {
		return
	}
	for _, sp := range s.pools {
		if sp.tasks == 0 && len(sp.procs) > 0 {
			s.retire(sp) // its processes end; place runs again then
		}
	}
}

// spawn starts a process of sp, as a local pool starts a worker.
func (s *clusterServer) spawn(sp *servedPool) error {
	w := s.w
	proc := &process{w: w, kind: kindChild, daemon: true, fields: w.L.NewTable(), poolName: "PoolWorker"}
	proc.ident, proc.name = w.nextIdentity("PoolWorker")
	pp, err := runtime.NewPoolPipes()
	if err != nil {
		return err
	}
	msg := StartMessage{Kind: startPoolWorker, Self: Identity{Name: proc.name, Ident: proc.ident, Daemon: true}, Parent: w.Self, Payload: sp.payload}
	if err := proc.spawn(msg, pp.ChildFiles()...); err != nil {
		pp.Close()
		return err
	}
	sp.procs[sp.sched.AddWorker(proc.child, pp, proc, nil)] = proc
	s.running++
	return nil
}

// cannotStart fails the waiting tasks of a pool that has no process and
// cannot start one; a later task of the pool starts afresh.
func (s *clusterServer) cannotStart(sp *servedPool, err error) {
	s.say("could not start a process: %v", err)
	if len(sp.procs) > 0 {
		return // those it has take its tasks in turn
	}
	for _, rt := range sp.sched.Stop() {
		sp.tasks--
		s.lost(rt.Value.(*cluster.Task), 0, "could not be started: "+err.Error(), 1)
	}
	s.retire(sp)
}

// pump takes what the pools' processes did: results go to the cluster,
// deaths to the roots.
func (s *clusterServer) pump() {
	all := append([]*servedPool(nil), s.retiring...)
	for _, sp := range s.pools {
		all = append(all, sp)
	}
	for _, sp := range all {
		for _, ev := range sp.sched.Events() {
			s.event(sp, ev)
		}
	}
	kept := s.retiring[:0]
	for _, sp := range s.retiring {
		if len(sp.procs) > 0 {
			kept = append(kept, sp)
		} else {
			close(sp.quit)
		}
	}
	clear(s.retiring[len(kept):])
	s.retiring = kept
	s.place()
}

func (s *clusterServer) event(sp *servedPool, ev runtime.PoolEvent) {
	switch ev.Kind {
	case runtime.EventResult:
		t := ev.Task.Value.(*cluster.Task)
		sp.tasks--
		s.free()
		go s.store(t, ev.Frame)
	case runtime.EventReady:
		sp.fails = 0
	case runtime.EventExit:
		delete(sp.procs, ev.Worker)
		s.running--
		if ev.Task != nil {
			t := ev.Task.Value.(*cluster.Task)
			sp.tasks--
			if sp.gone {
				delete(s.held, t)
				t.Drop()
				s.free()
			} else {
				s.lost(t, ev.Worker.Child.Pid, exitDescription(ev.Code), ev.Code)
			}
		}
		if ev.Served == 0 && ev.Code != 0 && !ev.Worker.Ready() && !sp.gone {
			sp.fails++
			if sp.fails >= maxStartFailures && sp.broken == "" {
				sp.broken = fmt.Sprintf("could not start: %d processes in a row exited before they were ready, the last one %s (does the initializer fail?)", sp.fails, exitDescription(ev.Code))
				for _, rt := range sp.sched.Stop() {
					sp.tasks--
					s.lost(rt.Value.(*cluster.Task), 0, sp.broken, 1)
				}
			}
		}
	}
}

// store publishes a result, trying a few times, then stops the beats.
func (s *clusterServer) store(t *cluster.Task, frame []byte) {
	for try := 1; ; try++ {
		err := s.wk.Done(t, frame)
		if err == nil || try == 3 {
			if err != nil {
				s.say("%v; the task will be delivered again", err)
			}
			break
		}
		time.Sleep(time.Second)
	}
	s.stored <- t
}

// beat keeps the leases of the tasks held.
func (s *clusterServer) beat() {
	if len(s.held) == 0 {
		return
	}
	tasks := make([]*cluster.Task, 0, len(s.held))
	for t := range s.held {
		tasks = append(tasks, t)
	}
	s.wk.Beat(tasks)
}

// gone lets go of a pool whose root has ended: its tasks are dropped,
// running ones with their processes.
func (s *clusterServer) gone(id string) {
	sp := s.pools[id]
	if sp == nil {
		return
	}
	sp.gone = true
	for _, rt := range sp.sched.Stop() {
		t := rt.Value.(*cluster.Task)
		sp.tasks--
		delete(s.held, t)
		t.Drop()
		s.free()
	}
	for _, proc := range sp.procs {
		proc.child.Terminate()
	}
	s.retire(sp)
}

// sweep lets go of the idle pools whose root no longer answers (it died
// without saying so).
func (s *clusterServer) sweep() {
	for _, sp := range s.pools {
		if sp.tasks == 0 && !s.wk.Alive(sp.id) {
			s.retire(sp)
		}
	}
}

// retire lets go of a pool's processes: they quit once idle.
func (s *clusterServer) retire(sp *servedPool) {
	if s.pools[sp.id] != sp {
		return
	}
	delete(s.pools, sp.id)
	sp.sched.Close()
	s.retiring = append(s.retiring, sp)
}

// kill ends every process now.
func (s *clusterServer) kill() {
	var procs []*process
	for _, sp := range s.pools {
		for _, p := range sp.procs {
			procs = append(procs, p)
		}
	}
	for _, sp := range s.retiring {
		for _, p := range sp.procs {
			procs = append(procs, p)
		}
	}
	for _, p := range procs {
		p.child.Terminate()
	}
	for _, p := range procs {
		p.child.Stop(500 * time.Millisecond)
	}
}
