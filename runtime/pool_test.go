// Tests of the pool scheduler with real worker processes: the test
// binary, spawned with echoWorkerEnv set, acts as an echo worker.

package runtime

import (
	"bytes"
	"io"
	"os"
	"testing"
	"time"
)

const echoWorkerEnv = "PROCSH_POOL_TEST_ECHO"

// An echo worker answers each task with its body; the body "die" makes it
// exit 3 instead. It runs before TestMain, so the runtime's own helpers
// are untouched.
func init() {
	if os.Getenv(WorkerEnv) == "" || os.Getenv(echoWorkerEnv) == "" {
		return
	}
	tasks, results := WorkerPipes()
	results.Write(SealFrame(NewFrame(FrameBooted, 0)))
	results.Write(SealFrame(NewFrame(FrameReady, 0)))
	r := NewFrameReader(tasks)
	for {
		b, err := r.Next()
		if err != nil || b[0] != FrameTask {
			os.Exit(0)
		}
		if string(b[1:]) == "die" {
			os.Exit(3)
		}
		results.Write(SealFrame(append(NewFrame(FrameResult, len(b)), b[1:]...)))
	}
}

func TestFrames(t *testing.T) {
	var buf bytes.Buffer
	bodies := []string{"a", "", "hello", string(make([]byte, 100000))}
	for _, s := range bodies {
		buf.Write(SealFrame(append(NewFrame(FrameTask, 0), s...)))
	}
	r := NewFrameReader(&buf)
	for _, s := range bodies {
		b, err := r.Next()
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if b[0] != FrameTask || string(b[1:]) != s {
			t.Errorf("frame = %q (%d bytes), want T and %d bytes", b[0], len(b)-1, len(s))
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("Next at the end = %v, want io.EOF", err)
	}
	bad := []struct {
		name string
		in   []byte
	}{
		{"cut header", []byte{1, 0}},
		{"empty frame", []byte{0, 0, 0, 0}},
		{"cut body", []byte{5, 0, 0, 0, 'T', 1}},
	}
	for _, c := range bad {
		if _, err := NewFrameReader(bytes.NewReader(c.in)).Next(); err == nil || err == io.EOF {
			t.Errorf("%s: Next = %v, want an error", c.name, err)
		}
	}
}

// startEchoWorkers starts n echo workers under s.
func startEchoWorkers(t *testing.T, s *Scheduler, n int) {
	t.Helper()
	t.Setenv(echoWorkerEnv, "1")
	for i := 0; i < n; i++ {
		pp, err := NewPoolPipes()
		if err != nil {
			t.Fatal(err)
		}
		c, err := Spawn(SpawnOptions{Daemon: true, Executable: os.Args[0], ExtraFiles: pp.ChildFiles()})
		if err != nil {
			pp.Close()
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Stop(time.Second) })
		s.AddWorker(c, pp, i, nil)
	}
}

// echoTask is a task whose frame is its body.
func echoTask(body string) *PoolTask {
	return &PoolTask{Value: body, Frame: func(*PoolWorker) []byte {
		return SealFrame(append(NewFrame(FrameTask, len(body)), body...))
	}}
}

// collect takes events until done says stop, for at most 10 seconds.
func collect(t *testing.T, s *Scheduler, done func([]PoolEvent) bool) []PoolEvent {
	t.Helper()
	var evs []PoolEvent
	deadline := time.After(10 * time.Second)
	for !done(evs) {
		select {
		case <-s.Notify():
			evs = append(evs, s.Events()...)
		case <-deadline:
			t.Fatalf("events after 10 s: %d, not done", len(evs))
		}
	}
	return evs
}

func count(evs []PoolEvent, kind int) int {
	n := 0
	for _, e := range evs {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func TestSchedulerRunsEveryTaskOnce(t *testing.T) {
	s := NewScheduler(0)
	startEchoWorkers(t, s, 2)
	var tasks []*PoolTask
	want := map[string]bool{}
	for i := 0; i < 50; i++ {
		body := string(rune('a'+i%26)) + string(rune('0'+i/26))
		want[body] = true
		tasks = append(tasks, echoTask(body))
	}
	s.Submit(tasks...)
	evs := collect(t, s, func(evs []PoolEvent) bool { return count(evs, EventResult) == 50 })
	for _, e := range evs {
		if e.Kind != EventResult {
			continue
		}
		body := e.Task.Value.(string)
		if string(e.Frame[1:]) != body {
			t.Errorf("result %q for task %q", e.Frame[1:], body)
		}
		if !want[body] {
			t.Errorf("task %q answered twice", body)
		}
		delete(want, body)
	}
	s.Close()
	evs = collect(t, s, func(evs []PoolEvent) bool { return count(evs, EventExit) == 2 })
	for _, e := range evs {
		if e.Kind == EventExit && (e.Task != nil || e.Code != 0) {
			t.Errorf("exit after close: task %v, code %d; want none and 0", e.Task, e.Code)
		}
	}
	if s.Workers() != 0 {
		t.Errorf("Workers() = %d after every worker exited, want 0", s.Workers())
	}
}

func TestSchedulerLostTask(t *testing.T) {
	s := NewScheduler(0)
	startEchoWorkers(t, s, 2)
	die := echoTask("die")
	s.Submit(echoTask("1"), die, echoTask("2"), echoTask("3"))
	evs := collect(t, s, func(evs []PoolEvent) bool {
		return count(evs, EventResult) == 3 && count(evs, EventExit) == 1
	})
	for _, e := range evs {
		if e.Kind == EventExit {
			if e.Task != die || e.Code != 3 {
				t.Errorf("exit: task %v, code %d; want the task that died, 3", e.Task.Value, e.Code)
			}
		}
	}
	if s.Workers() != 1 {
		t.Errorf("Workers() = %d, want 1", s.Workers())
	}
	if dropped := s.Stop(); len(dropped) != 0 {
		t.Errorf("Stop dropped %d tasks, want 0", len(dropped))
	}
}

func TestSchedulerMaxTasks(t *testing.T) {
	s := NewScheduler(2)
	startEchoWorkers(t, s, 1)
	s.Submit(echoTask("1"), echoTask("2"), echoTask("3"))
	evs := collect(t, s, func(evs []PoolEvent) bool { return count(evs, EventExit) == 1 })
	if n := count(evs, EventResult); n != 2 {
		t.Errorf("results before the worker quit = %d, want 2", n)
	}
	for _, e := range evs {
		if e.Kind == EventExit && (e.Task != nil || e.Served != 2 || e.Code != 0) {
			t.Errorf("exit: task %v, served %d, code %d; want none, 2, 0", e.Task, e.Served, e.Code)
		}
	}
	if q := s.Queued(); q != 1 {
		t.Errorf("Queued() = %d, want 1 (left for a replacement)", q)
	}
	startEchoWorkers(t, s, 1)
	collect(t, s, func(evs []PoolEvent) bool { return count(evs, EventResult) == 1 })
	if dropped := s.Stop(); len(dropped) != 0 {
		t.Errorf("Stop dropped %d tasks, want 0", len(dropped))
	}
	collect(t, s, func(evs []PoolEvent) bool { return count(evs, EventExit) == 1 })
}

func TestSchedulerStop(t *testing.T) {
	s := NewScheduler(0)
	tasks := []*PoolTask{echoTask("1"), echoTask("2")}
	s.Submit(tasks...)
	dropped := s.Stop()
	if len(dropped) != 2 || dropped[0] != tasks[0] || dropped[1] != tasks[1] {
		t.Errorf("Stop returned %d tasks, want the 2 queued in order", len(dropped))
	}
}
