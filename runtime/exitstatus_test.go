package runtime

import (
	"os"
	"testing"
)

func TestExitStatus(t *testing.T) {
	for _, c := range []struct {
		s          ExitStatus
		text, repr string
	}{
		{0, "exited with code 0", "0"},
		{9, "exited with code 9", "9"},
		{-9, "killed by SIGKILL", "-SIGKILL"},
		{-15, "killed by SIGTERM", "-SIGTERM"},
		{-2, "killed by SIGINT", "-SIGINT"},
		{-200, "killed by signal 200", "-200"},
	} {
		if got := c.s.String(); got != c.text {
			t.Errorf("ExitStatus(%d).String() = %q, want %q", int(c.s), got, c.text)
		}
		if got := c.s.Repr(); got != c.repr {
			t.Errorf("ExitStatus(%d).Repr() = %q, want %q", int(c.s), got, c.repr)
		}
	}
}

func TestPidRunning(t *testing.T) {
	if !PidRunning(os.Getpid()) {
		t.Error("PidRunning(this process) = false, want true")
	}
	for _, pid := range []int{0, -1, 1 << 30} {
		if PidRunning(pid) {
			t.Errorf("PidRunning(%d) = true, want false", pid)
		}
	}
}
