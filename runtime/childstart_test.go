package runtime

import (
	"errors"
	"os"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func init() {
	// lazy-sigterm: DeferTermination installs no handler (and starts no
	// thread) until the first section opens; a child's exit opens none.
	helpers["lazy-sigterm"] = func(a *Arena, args []uint64) error {
		DeferTermination()
		if termHooked.Load() {
			return errors.New("SIGTERM's handler installed by DeferTermination, before any section")
		}
		EnterCritical()
		LeaveCritical()
		if !termHooked.Load() {
			return errors.New("SIGTERM's handler not installed by the first section")
		}
		return nil
	}
	helpers["exit-no-sigterm"] = func(a *Arena, args []uint64) error {
		DeferTermination()
		EnterExit()
		if termHooked.Load() {
			return errors.New("SIGTERM's handler installed by EnterExit in a process that never opened a section")
		}
		return nil
	}
}

// TestTerminationHandlerLazy: a child that never opens a critical section
// never installs the SIGTERM handler; the first section does.
func TestTerminationHandlerLazy(t *testing.T) {
	a := newTestArena(t)
	startHelper(t, a, "lazy-sigterm").wait(t, 10*time.Second)
	startHelper(t, a, "exit-no-sigterm").wait(t, 10*time.Second)
}

// TestWorkerEnv: a child starts with GOMAXPROCS=1 unless the user set
// GOMAXPROCS, and says which in WorkerEnv; TakeWorkerEnv takes both away.
func TestWorkerEnv(t *testing.T) {
	t.Setenv("GOMAXPROCS", "3") // restored when the test ends
	os.Unsetenv("GOMAXPROCS")
	env := workerEnv()
	for _, want := range []string{WorkerEnv + "=" + startProcs, "GOMAXPROCS=1"} {
		if !slices.Contains(env, want) {
			t.Errorf("without GOMAXPROCS, a child's environment lacks %s", want)
		}
	}

	t.Setenv("GOMAXPROCS", "3")
	env = workerEnv()
	if !slices.Contains(env, WorkerEnv+"=1") || slices.Contains(env, "GOMAXPROCS=1") || !slices.Contains(env, "GOMAXPROCS=3") {
		t.Errorf("with GOMAXPROCS=3, got a child's environment with %v, want WorkerEnv=1 and the user's GOMAXPROCS=3", childVars(env))
	}
	t.Setenv(WorkerEnv, "1")
	if TakeWorkerEnv() {
		t.Error("TakeWorkerEnv says GOMAXPROCS was the parent's, want the user's (WorkerEnv=1)")
	}
	if _, ok := os.LookupEnv(WorkerEnv); ok {
		t.Errorf("%s still set after TakeWorkerEnv", WorkerEnv)
	}
	if os.Getenv("GOMAXPROCS") != "3" {
		t.Errorf("TakeWorkerEnv took the user's GOMAXPROCS=3 away")
	}

	t.Setenv(WorkerEnv, startProcs)
	t.Setenv("GOMAXPROCS", "1")
	if !TakeWorkerEnv() {
		t.Error("TakeWorkerEnv says GOMAXPROCS was the user's, want the parent's")
	}
	for _, v := range []string{WorkerEnv, "GOMAXPROCS"} {
		if _, ok := os.LookupEnv(v); ok {
			t.Errorf("%s still set after TakeWorkerEnv", v)
		}
	}
}

// childVars are the variables of env that the parent may add.
func childVars(env []string) []string {
	var out []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "GOMAXPROCS=") || strings.HasPrefix(kv, WorkerEnv+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// TestWorkerStartedRestoresProcs: after WorkerStarted, a process started
// with GOMAXPROCS=1 comes back to the default.
func TestWorkerStartedRestoresProcs(t *testing.T) {
	if _, set := os.LookupEnv("GOMAXPROCS"); set {
		t.Skip("GOMAXPROCS is set: the default is not known")
	}
	def := goruntime.GOMAXPROCS(0)
	if def == 1 {
		t.Skip("the default GOMAXPROCS is 1 here")
	}
	defer goruntime.SetDefaultGOMAXPROCS()
	goruntime.GOMAXPROCS(1)
	WorkerStarted()
	deadline := time.Now().Add(10 * time.Second)
	for goruntime.GOMAXPROCS(0) != def {
		if time.Now().After(deadline) {
			t.Fatalf("GOMAXPROCS still %d 10 s after WorkerStarted, want the default %d", goruntime.GOMAXPROCS(0), def)
		}
		time.Sleep(time.Millisecond)
	}
}
