// Tests of pool mailboxes with real worker processes: the test binary,
// spawned with mailboxWorkerEnv set, is a worker that takes its tasks
// through a WorkerChannel, as procsh's pool workers do.

package runtime

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

const mailboxWorkerEnv = "PROCSH_POOL_TEST_MAILBOX"

// A mailbox worker answers each task with its body, except:
//
//	die           exits 3 without answering
//	answer-die    answers, then exits 3
//	big:N         answers with N bytes (more than a mailbox holds: the pipe)
//	sleep:MS      answers after MS milliseconds
func init() {
	if os.Getenv(WorkerEnv) == "" || os.Getenv(mailboxWorkerEnv) == "" {
		return
	}
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
		body := string(b[1:])
		switch {
		case body == "die":
			os.Exit(3)
		case strings.HasPrefix(body, "big:"):
			n, _ := strconv.Atoi(body[4:])
			body = strings.Repeat("x", n)
		case strings.HasPrefix(body, "sleep:"):
			ms, _ := strconv.Atoi(body[6:])
			time.Sleep(time.Duration(ms) * time.Millisecond)
		}
		ch.Reply(SealFrame(append(NewFrame(FrameResult, len(body)), body...)))
		if body == "answer-die" {
			os.Exit(3)
		}
	}
}

// startMailboxWorkers starts n mailbox workers under s, which uses a's
// mailboxes.
func startMailboxWorkers(t *testing.T, s *Scheduler, a *Arena, n int) []*PoolWorker {
	t.Helper()
	t.Setenv(mailboxWorkerEnv, "1")
	var ws []*PoolWorker
	for i := 0; i < n; i++ {
		pp, err := NewPoolPipes()
		if err != nil {
			t.Fatal(err)
		}
		c, err := Spawn(SpawnOptions{Daemon: true, Executable: os.Args[0], Arena: a.File(), ExtraFiles: pp.ChildFiles()})
		if err != nil {
			pp.Close()
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Stop(time.Second) })
		ws = append(ws, s.AddWorker(c, pp, i, nil))
	}
	return ws
}

// newMailboxScheduler is a scheduler using mailboxes in a new arena.
func newMailboxScheduler(t *testing.T, maxTasks int) (*Scheduler, *Arena) {
	t.Helper()
	a := newTestArena(t)
	s := NewScheduler(maxTasks)
	if err := s.UseMailboxes(a); err != nil {
		t.Fatal(err)
	}
	return s, a
}

// await takes events the way the pool's owner does, waiting in Await,
// until done says stop, for at most 10 seconds.
func await(t *testing.T, s *Scheduler, done func([]PoolEvent) bool) []PoolEvent {
	t.Helper()
	var evs []PoolEvent
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs = append(evs, s.Events()...)
		if done(evs) {
			return evs
		}
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("events after 10 s: %d, not done", len(evs))
		}
		s.Await(context.Background(), left)
	}
}

// checkEcho checks that every result answers its task with its body, and
// that each task was answered once.
func checkEcho(t *testing.T, evs []PoolEvent, tasks []*PoolTask) {
	t.Helper()
	want := map[*PoolTask]bool{}
	for _, x := range tasks {
		want[x] = true
	}
	for _, e := range evs {
		if e.Kind != EventResult {
			continue
		}
		if body := e.Task.Value.(string); string(e.Frame[1:]) != body {
			t.Errorf("result %.20q (%d bytes) for task %.20q", e.Frame[1:], len(e.Frame)-1, body)
		}
		if !want[e.Task] {
			t.Errorf("task %.20q answered twice, or never sent", e.Task.Value)
		}
		delete(want, e.Task)
	}
	if len(want) > 0 {
		t.Errorf("%d tasks not answered", len(want))
	}
}

func TestMailboxOwnerTakesResults(t *testing.T) {
	s, a := newMailboxScheduler(t, 0)
	ws := startMailboxWorkers(t, s, a, 2)
	var tasks []*PoolTask
	for i := 0; i < 200; i++ {
		tasks = append(tasks, echoTask("task "+strconv.Itoa(i)))
	}
	s.Submit(tasks...)
	evs := await(t, s, func(evs []PoolEvent) bool { return count(evs, EventResult) == len(tasks) })
	checkEcho(t, evs, tasks)
	for _, w := range ws {
		if w.box == nil {
			t.Errorf("worker %v has no mailbox", w.Value)
		}
	}
	s.Close()
	await(t, s, func(evs []PoolEvent) bool { return count(evs, EventExit) == 2 })
	s.ReleaseMailboxes()
	if s.bell != nil {
		t.Error("ReleaseMailboxes kept the doorbell with no worker left")
	}
}

// With the owner never in Await, workers notice the parent's readers on
// their pipes, which hand out the queued tasks as they do without
// mailboxes.
func TestMailboxResultsWithoutOwner(t *testing.T) {
	s, a := newMailboxScheduler(t, 0)
	startMailboxWorkers(t, s, a, 2)
	var tasks []*PoolTask
	for i := 0; i < 50; i++ {
		tasks = append(tasks, echoTask("task "+strconv.Itoa(i)))
	}
	s.Submit(tasks...)
	evs := collect(t, s, func(evs []PoolEvent) bool { return count(evs, EventResult) == len(tasks) })
	checkEcho(t, evs, tasks)
	if q := s.Queued(); q != 0 {
		t.Errorf("Queued() = %d after every result, want 0", q)
	}
	s.Close()
	collect(t, s, func(evs []PoolEvent) bool { return count(evs, EventExit) == 2 })
}

// Frames larger than a mailbox's area go through the pipes, both ways.
func TestMailboxLargeFrames(t *testing.T) {
	s, a := newMailboxScheduler(t, 0)
	startMailboxWorkers(t, s, a, 1)
	big := strings.Repeat("y", boxArea+1000)
	tasks := []*PoolTask{echoTask("small"), echoTask(big), echoTask("small again")}
	s.Submit(tasks...)
	evs := await(t, s, func(evs []PoolEvent) bool { return count(evs, EventResult) == len(tasks) })
	checkEcho(t, evs, tasks)
	n := boxArea + 5
	bigResult := echoTask("big:" + strconv.Itoa(n))
	s.Submit(bigResult, echoTask("after"))
	evs = await(t, s, func(evs []PoolEvent) bool { return count(evs, EventResult) == 2 })
	for _, e := range evs {
		if e.Task == bigResult && len(e.Frame)-1 != n {
			t.Errorf("big result: %d bytes, want %d", len(e.Frame)-1, n)
		}
	}
	s.Close()
	await(t, s, func(evs []PoolEvent) bool { return count(evs, EventExit) == 1 })
}

// A worker that dies loses the task it held; one that answered first
// does not.
func TestMailboxDeaths(t *testing.T) {
	for _, c := range []struct {
		body   string
		answer bool
	}{{"die", false}, {"answer-die", true}} {
		s, a := newMailboxScheduler(t, 0)
		startMailboxWorkers(t, s, a, 1)
		task := echoTask(c.body)
		s.Submit(task)
		evs := await(t, s, func(evs []PoolEvent) bool { return count(evs, EventExit) == 1 })
		for _, e := range evs {
			switch e.Kind {
			case EventExit:
				if e.Code != 3 {
					t.Errorf("%s: exit code %d, want 3", c.body, e.Code)
				}
				if lost := e.Task != nil; lost == c.answer {
					t.Errorf("%s: task lost with the worker: %v, want %v", c.body, lost, !c.answer)
				}
			case EventResult:
				if !c.answer {
					t.Errorf("%s: a result from a worker that died before answering", c.body)
				}
			}
		}
		if got := count(evs, EventResult); got != 0 != c.answer {
			t.Errorf("%s: %d results, want the answer: %v", c.body, got, c.answer)
		}
	}
}

// Await returns when its timeout passes or its context ends, with a
// worker still busy.
func TestMailboxAwaitBounds(t *testing.T) {
	s, a := newMailboxScheduler(t, 0)
	startMailboxWorkers(t, s, a, 1)
	await(t, s, func([]PoolEvent) bool { return s.workersReady() == 1 })
	s.Submit(echoTask("sleep:1000"))
	start := time.Now()
	for time.Since(start) < 100*time.Millisecond {
		s.Events()
		s.Await(context.Background(), 100*time.Millisecond-time.Since(start))
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("Await with 100 ms took %v", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	for ctx.Err() == nil && time.Since(start) < 1500*time.Millisecond {
		s.Await(ctx, -1)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("Await with a context ended after 50 ms took %v", d)
	}
	s.Stop()
	await(t, s, func(evs []PoolEvent) bool { return count(evs, EventResult)+count(evs, EventExit) == 2 })
}

// workersReady counts the ready workers.
func (s *Scheduler) workersReady() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for w := range s.workers {
		if w.ready {
			n++
		}
	}
	return n
}
