package main

import (
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
