package runtime

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestReapersHoldNoThread: the children a process waits for do not each
// hold one of its threads (their reapers wait on pidfds in Go's poller,
// not in waitid).
func TestReapersHoldNoThread(t *testing.T) {
	if !pollablePidfd() {
		t.Skip("this kernel's waitid takes no pidfd")
	}
	t.Setenv(echoWorkerEnv, "1")
	before := threads(t)
	const n = 24
	for i := 0; i < n; i++ {
		pp, err := NewPoolPipes()
		if err != nil {
			t.Fatal(err)
		}
		c, err := Spawn(SpawnOptions{Executable: os.Args[0], ExtraFiles: pp.ChildFiles()})
		if err != nil {
			pp.Close()
			t.Fatal(err)
		}
		t.Cleanup(func() {
			c.Stop(time.Second)
			pp.Close()
		})
	}
	// Give each reaper the time to reach its wait, where one in waitid
	// would hold its thread.
	time.Sleep(200 * time.Millisecond)
	if grown := threads(t) - before; grown >= n/2 {
		t.Errorf("waiting for %d children took %d more threads, want a few at most", n, grown)
	}
}

// threads counts this process's threads.
func threads(t *testing.T) int {
	tasks, err := filepath.Glob("/proc/self/task/*")
	if err != nil {
		t.Fatal(err)
	}
	return len(tasks)
}
