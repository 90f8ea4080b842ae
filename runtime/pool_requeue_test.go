// Tests of tasks handed to workers that die: a task the worker never
// took goes to another worker, a task it took is lost with it, and no
// task runs twice. The test binary, spawned with markWorkerEnv set, is a
// worker that marks in the arena each task it starts.

package runtime

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// markWorkerEnv holds the offset of the marks: one uint32 per task id.
const markWorkerEnv = "PROCSH_POOL_TEST_MARK"

// A mark worker takes tasks "ID:US" through a WorkerChannel (its
// mailbox, or its pipes when the scheduler gives it none), adds 1 to
// mark ID as soon as it has the task, sleeps US microseconds and answers
// with the task's body.
func init() {
	if os.Getenv(WorkerEnv) == "" || os.Getenv(markWorkerEnv) == "" {
		return
	}
	marks, _ := strconv.ParseUint(os.Getenv(markWorkerEnv), 10, 64)
	a, err := AttachArena(os.NewFile(ArenaFD, "arena"))
	if err != nil {
		os.Exit(4)
	}
	ch := NewWorkerChannel(a)
	ch.Send(SealFrame(NewFrame(FrameBooted, 0)))
	ch.Send(SealFrame(NewFrame(FrameReady, 0)))
	for {
		b, err := ch.Next()
		if err != nil || b[0] != FrameTask {
			os.Exit(0)
		}
		id, us, _ := strings.Cut(string(b[1:]), ":")
		n, _ := strconv.ParseUint(id, 10, 32)
		atomic.AddUint32(a.Uint32(marks+4*n), 1)
		d, _ := strconv.Atoi(us)
		time.Sleep(time.Duration(d) * time.Microsecond)
		ch.Reply(SealFrame(append(NewFrame(FrameResult, len(b)), b[1:]...)))
	}
}

// markPool is a scheduler of mark workers and the marks of n tasks.
type markPool struct {
	t     *testing.T
	s     *Scheduler
	a     *Arena
	marks uint64
}

// newMarkPool makes a scheduler for mark workers, using mailboxes or not.
func newMarkPool(t *testing.T, mailboxes bool, n int) *markPool {
	a := newTestArena(t)
	s := NewScheduler(0)
	if mailboxes {
		if err := s.UseMailboxes(a); err != nil {
			t.Fatal(err)
		}
	}
	mp := &markPool{t: t, s: s, a: a, marks: alloc(t, a, 4*n)}
	t.Setenv(markWorkerEnv, fmt.Sprint(mp.marks))
	return mp
}

// start starts a mark worker.
func (mp *markPool) start() *PoolWorker {
	mp.t.Helper()
	pp, err := NewPoolPipes()
	if err != nil {
		mp.t.Fatal(err)
	}
	c, err := Spawn(SpawnOptions{Daemon: true, Executable: os.Args[0], Arena: mp.a.File(), ExtraFiles: pp.ChildFiles()})
	if err != nil {
		pp.Close()
		mp.t.Fatal(err)
	}
	mp.t.Cleanup(func() { c.Stop(time.Second) })
	return mp.s.AddWorker(c, pp, nil, nil)
}

// mark returns how many workers started task id.
func (mp *markPool) mark(id int) uint32 {
	return atomic.LoadUint32(mp.a.Uint32(mp.marks + 4*uint64(id)))
}

// markTask is task id, which sleeps us microseconds.
func markTask(id, us int) *PoolTask {
	body := fmt.Sprintf("%d:%d", id, us)
	return &PoolTask{Value: id, Frame: func(*PoolWorker) []byte {
		return SealFrame(append(NewFrame(FrameTask, len(body)), body...))
	}}
}

// stopProcess stops pid with SIGSTOP and waits until it is stopped. It
// reports false when pid has exited instead.
func stopProcess(t *testing.T, pid int) bool {
	t.Helper()
	syscall.Kill(pid, syscall.SIGSTOP)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(b), ") Z ") || strings.Contains(string(b), ") X ") {
			return false
		}
		if strings.Contains(string(b), ") T ") || strings.Contains(string(b), ") t ") {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("process %d not stopped 10 s after SIGSTOP", pid)
	return false
}

func transports(t *testing.T, f func(t *testing.T, mailboxes bool)) {
	t.Run("mailbox", func(t *testing.T) { f(t, true) })
	t.Run("pipe", func(t *testing.T) { f(t, false) })
}

// A worker that can no longer take a task (stopped, then killed) is
// handed one: the task goes to the next worker, and runs once.
func TestSchedulerRequeuesUntakenTask(t *testing.T) {
	transports(t, func(t *testing.T, mailboxes bool) {
		mp := newMarkPool(t, mailboxes, 1)
		s := mp.s
		dead := mp.start()
		collect(t, s, func(evs []PoolEvent) bool { return count(evs, EventReady) == 1 })
		if !stopProcess(t, dead.Child.Pid) {
			t.Fatal("the worker exited before it was stopped")
		}
		x := markTask(0, 0)
		s.Submit(x)
		if !x.Started() {
			t.Fatal("the task was not handed to the only idle worker")
		}
		dead.Child.Kill()
		evs := collect(t, s, func(evs []PoolEvent) bool { return count(evs, EventExit) == 1 })
		for _, e := range evs {
			if e.Kind == EventExit && e.Task != nil {
				t.Fatalf("the task was lost with a worker that never took it")
			}
		}
		if q := s.Queued(); q != 1 || x.Started() {
			t.Fatalf("Queued() = %d, Started() = %v after the death, want 1, false", q, x.Started())
		}
		mp.start()
		evs = collect(t, s, func(evs []PoolEvent) bool { return count(evs, EventResult) == 1 })
		for _, e := range evs {
			if e.Kind == EventResult && (e.Task != x || string(e.Frame[1:]) != "0:0") {
				t.Errorf("result %q for task %v, want 0:0 for task 0", e.Frame[1:], e.Task.Value)
			}
		}
		if m := mp.mark(0); m != 1 {
			t.Errorf("the task started %d times, want 1", m)
		}
		s.Close()
		collect(t, s, func(evs []PoolEvent) bool { return count(evs, EventExit) == 1 })
	})
}

// A worker killed while it runs its task loses it: it is not run again.
func TestSchedulerLosesTakenTask(t *testing.T) {
	transports(t, func(t *testing.T, mailboxes bool) {
		mp := newMarkPool(t, mailboxes, 1)
		s := mp.s
		w := mp.start()
		x := markTask(0, 60_000_000)
		s.Submit(x)
		eventually(t, 10*time.Second, "the task to start", func() bool { return mp.mark(0) == 1 })
		w.Child.Kill()
		evs := collect(t, s, func(evs []PoolEvent) bool { return count(evs, EventExit) == 1 })
		for _, e := range evs {
			if e.Kind == EventExit && e.Task != x {
				t.Errorf("exit with task %v, want the task it ran, lost", e.Task)
			}
		}
		if q := s.Queued(); q != 0 {
			t.Errorf("Queued() = %d after the death, want 0", q)
		}
		s.Close()
	})
}

// TestFaultsPoolWorkersKilled kills workers with SIGKILL at random
// moments while tasks flow, and after each round checks that every task
// answered exactly once or was lost with a worker that had started it,
// and that no task started twice. A kill that would land between the
// worker taking its task and marking it is put off (the worker is
// stopped, looked at, and let go): that instant counts as started for
// the scheduler but shows no mark.
func TestFaultsPoolWorkersKilled(t *testing.T) {
	transports(t, func(t *testing.T, mailboxes bool) {
		const rounds, perRound, nworkers = 12, 60, 3
		mp := newMarkPool(t, mailboxes, rounds*perRound)
		s := mp.s
		live := map[*PoolWorker]bool{}
		for range nworkers {
			live[mp.start()] = true
		}
		results := make([]int, rounds*perRound)
		lost := make([]int, rounds*perRound)
		kills, deferred := 0, 0
		// kill kills w unless it is between taking a task and marking it.
		kill := func(w *PoolWorker) {
			if !live[w] || !stopProcess(t, w.Child.Pid) {
				return
			}
			w.sendMu.Lock()
			window := false
			if x := w.sent; x != nil && !w.untakenLocked(x) && mp.mark(x.Value.(int)) == 0 {
				window = true
			}
			w.sendMu.Unlock()
			if window {
				deferred++
				w.Child.Signal(syscall.SIGCONT)
				return
			}
			w.Child.Kill()
			delete(live, w)
			kills++
		}
		for r := range rounds {
			var tasks []*PoolTask
			for i := range perRound {
				tasks = append(tasks, markTask(r*perRound+i, rand.IntN(500)))
			}
			s.Submit(tasks...)
			toKill := 1 + rand.IntN(3)
			done := func() bool {
				for i := r * perRound; i < (r+1)*perRound; i++ {
					if results[i]+lost[i] == 0 {
						return false
					}
				}
				return true
			}
			deadline := time.Now().Add(30 * time.Second)
			for !done() {
				if time.Now().After(deadline) {
					t.Fatalf("round %d: tasks without an outcome after 30 s (queued %d, workers %d)", r, s.Queued(), s.Workers())
				}
				tick := time.NewTimer(time.Duration(rand.IntN(3000)) * time.Microsecond)
				select {
				case <-s.Notify():
				case <-tick.C:
					if toKill > 0 && len(live) > 0 {
						for w := range live { // a random one
							kill(w)
							break
						}
						toKill--
					}
				}
				tick.Stop()
				for _, e := range s.Events() {
					switch e.Kind {
					case EventResult:
						id := e.Task.Value.(int)
						results[id]++
						if want := string(tasks[id-r*perRound].Frame(nil)[5:]); string(e.Frame[1:]) != want {
							t.Errorf("task %d answered %q, want %q", id, e.Frame[1:], want)
						}
						// The worker that answered is handed the next
						// task now: kill it as that happens, sometimes.
						if toKill > 0 && rand.IntN(4) == 0 {
							kill(e.Worker)
							toKill--
						}
					case EventExit:
						delete(live, e.Worker)
						if e.Task != nil {
							lost[e.Task.Value.(int)]++
						}
						live[mp.start()] = true
					}
				}
			}
		}
		nlost := 0
		for id := range results {
			m := mp.mark(id)
			switch {
			case results[id]+lost[id] != 1:
				t.Errorf("task %d: %d results and %d losses, want one outcome", id, results[id], lost[id])
			case m > 1:
				t.Errorf("task %d started %d times, want once", id, m)
			case m == 0:
				t.Errorf("task %d: %d results and %d losses, and never started", id, results[id], lost[id])
			}
			nlost += lost[id]
		}
		t.Logf("%d kills (%d put off), %d tasks lost with a worker that had started them", kills, deferred, nlost)
		s.Stop()
		for len(live) > 0 {
			for _, e := range collect(t, s, func(evs []PoolEvent) bool { return count(evs, EventExit) > 0 }) {
				if e.Kind == EventExit {
					delete(live, e.Worker)
				}
			}
		}
	})
}
