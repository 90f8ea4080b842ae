package main

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestLiveHolderInPidNamespace runs a whole procsh tree in a new pid
// namespace whose /proc is still the outer one's: a live holder's locks
// are never taken from it, and a dead one's are recovered. Identity in the
// arena (record locks, not pids and /proc) makes both hold there.
func TestLiveHolderInPidNamespace(t *testing.T) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("skipped: no unshare(1) on this machine")
	}
	if out, err := exec.Command(unshare, "--pid", "--fork", "true").CombinedOutput(); err != nil {
		t.Skipf("skipped: unshare --pid is not permitted here (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	r := procshVia(t, 60*time.Second, []string{unshare, "--pid", "--fork"}, "testdata/sync_live_holder.lua")
	if r.code != 0 || !strings.Contains(r.stdout, "live holder ok") {
		t.Errorf("in a new pid namespace: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
