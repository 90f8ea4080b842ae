package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSharedObjectLifetimes runs testdata/refs/*.lua in a 64 MiB arena:
// shared objects are reference counted across processes, so closing one
// handle, dropping one or killing a process that holds one frees an
// object exactly when its last handle goes.
func TestSharedObjectLifetimes(t *testing.T) {
	files, err := filepath.Glob("testdata/refs/*.lua")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test scripts found: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".lua")
		t.Run(name, func(t *testing.T) {
			r := procsh(t, 120*time.Second, "", "--arena-size", "64M", f)
			if r.code != 0 || !strings.Contains(r.stdout, name+" ok") {
				t.Errorf("exit status %d, want 0 and %q\nstdout:\n%s\nstderr:\n%s", r.code, name+" ok", r.stdout, r.stderr)
			}
		})
	}
}

// TestManyLocksInTinyArena: 20000 Locks made and dropped in an arena
// whose heap holds about 13000 at once.
func TestManyLocksInTinyArena(t *testing.T) {
	src := `local mp = require("multiprocessing")
for i = 1, 20000 do
  local l = mp.Lock()
  l:acquire()
  l:release()
  if i % 1000 == 0 then collectgarbage() end
end
print("locks ok")`
	r := procsh(t, 60*time.Second, "", "--arena-size", "2M", "-e", src)
	if r.code != 0 || !strings.Contains(r.stdout, "locks ok") {
		t.Errorf("exit status %d, want 0 and \"locks ok\"\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
