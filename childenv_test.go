package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

// childEnvScript prints what a child and a grandchild find in their
// environment of the variables a parent sets to start a child.
const childEnvScript = `
local mp = require("multiprocessing")
local function seen()
  return (os.getenv("GOMAXPROCS") or "unset") .. " " .. (os.getenv("PROCSH_WORKER") or "unset")
end
local function run(f, ...)
  local q = mp.Queue()
  local p = mp.Process{target = f, args = {q, ...}}
  p:start()
  local r = q:get()
  p:join()
  return r
end
local function grandchild(q) q:put(seen()) end
local function child(q) q:put(seen() .. " / " .. run(grandchild)) end
print(run(child))
`

// TestChildEnvironment: the GOMAXPROCS=1 a child starts with, and the
// variable that puts it in worker mode, are gone by the time its Lua code
// runs; a GOMAXPROCS the user set reaches every process.
func TestChildEnvironment(t *testing.T) {
	t.Setenv("GOMAXPROCS", "") // restored when the test ends
	os.Unsetenv("GOMAXPROCS")
	r := procsh(t, 30*time.Second, "", "-e", childEnvScript)
	if got, want := strings.TrimSpace(r.stdout), "unset unset / unset unset"; r.code != 0 || got != want {
		t.Errorf("without GOMAXPROCS: exit %d, children saw %q, want %q\n%s", r.code, got, want, r.stderr)
	}
	t.Setenv("GOMAXPROCS", "3")
	r = procsh(t, 30*time.Second, "", "-e", childEnvScript)
	if got, want := strings.TrimSpace(r.stdout), "3 unset / 3 unset"; r.code != 0 || got != want {
		t.Errorf("with GOMAXPROCS=3: exit %d, children saw %q, want %q\n%s", r.code, got, want, r.stderr)
	}
}
