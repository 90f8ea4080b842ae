// Tests of Scheduler.Cancel and PoolTask.Started, which the executor of
// concurrent.futures builds its cancel and running on.

package runtime

import "testing"

func TestSchedulerCancel(t *testing.T) {
	s := NewScheduler(0)
	t1, t2, t3, t4 := echoTask("1"), echoTask("2"), echoTask("3"), echoTask("4")
	s.Submit(t1, t2, t3, t4)
	if got := s.Cancel(t4, t2, echoTask("never submitted")); len(got) != 2 || got[0] != t2 || got[1] != t4 {
		t.Fatalf("Cancel(t4, t2, other) = %d tasks, want t2 and t4 in queue order", len(got))
	}
	if got := s.Cancel(t2); len(got) != 0 {
		t.Errorf("Cancel of a task cancelled already = %d tasks, want none", len(got))
	}
	if q := s.Queued(); q != 2 {
		t.Errorf("Queued() = %d after cancelling 2 of 4, want 2", q)
	}
	for _, x := range []*PoolTask{t1, t2, t3, t4} {
		if x.Started() {
			t.Errorf("task %s started with no worker", x.Value)
		}
	}
	startEchoWorkers(t, s, 1)
	evs := collect(t, s, func(evs []PoolEvent) bool { return count(evs, EventResult) == 2 })
	for _, e := range evs {
		if e.Kind == EventResult && e.Task != t1 && e.Task != t3 {
			t.Errorf("task %s ran, want only 1 and 3", e.Task.Value)
		}
	}
	if !t1.Started() || !t3.Started() || t2.Started() || t4.Started() {
		t.Errorf("Started() = %v %v %v %v, want true false true false", t1.Started(), t2.Started(), t3.Started(), t4.Started())
	}
	if got := s.Cancel(t1, t3); len(got) != 0 {
		t.Errorf("Cancel of finished tasks = %d tasks, want none", len(got))
	}
	s.Close()
	collect(t, s, func(evs []PoolEvent) bool { return count(evs, EventExit) == 1 })
}
