package main

import (
	"strings"
	"testing"
	"time"
)

// TestArenaLimits runs the scripts of testdata/limits/ in an arena of
// 8 MiB: a message larger than the arena raises ArenaFullError in the
// process that puts it.
func TestArenaLimits(t *testing.T) {
	r := procsh(t, 60*time.Second, "", "--arena-size", "8M", "testdata/limits/arena_8m.lua")
	if r.code != 0 {
		t.Errorf("exit status %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestArenaUnderAddressLimit: under ulimit -v, which counts the arena's
// whole (sparse) capacity, procsh says how to ask for a smaller arena, and
// a smaller one works.
func TestArenaUnderAddressLimit(t *testing.T) {
	if raceEnabled {
		t.Skip("skipped under the race detector, whose shadow memory alone passes ulimit -v; .ci/run runs it without")
	}
	limited := []string{"bash", "-c", `ulimit -v 2097152 && exec "$0" "$@"`}
	r := procshVia(t, 30*time.Second, limited, "-e", "print('ran')")
	if r.code != 1 || !strings.Contains(r.stderr, "--arena-size") || !strings.Contains(r.stderr, "PROCSH_ARENA_SIZE") {
		t.Errorf("under ulimit -v 2G: exit %d, stderr %q; want exit 1 and a message naming --arena-size and PROCSH_ARENA_SIZE", r.code, r.stderr)
	}
	r = procshVia(t, 30*time.Second, limited, "--arena-size", "256M", "-e", "print('ran')")
	if r.code != 0 || r.stdout != "ran\n" {
		t.Errorf("under ulimit -v 2G with --arena-size 256M: exit %d, stdout %q, stderr %q; want it to run", r.code, r.stdout, r.stderr)
	}
}
