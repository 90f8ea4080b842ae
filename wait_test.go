package main

import (
	"strings"
	"testing"
	"time"
)

// waitInterrupted waits with mp.connection.wait on every kind of object,
// with no timeout, and is interrupted there (the test presses Ctrl-C at
// each "ready" line): caught the first time, then, on a wait for
// nothing, uncaught.
const waitInterrupted = `
local mp = require("multiprocessing")
local time = require("time")
local r, w = mp.Pipe()
local q = mp.Queue()
local p = mp.Process{target = function() time.sleep(60) end}
p:start()
print("ready 1")
local t0 = time.monotonic()
local ok, e = pcall(mp.connection.wait, {r, q, p.sentinel, p})
print("wait interrupted", ok, tostring(e), time.monotonic() - t0 < 10)
w:send(1)
print("after", #mp.connection.wait({r, q}, 5))
p:terminate()
p:join()
print("ready 2")
mp.connection.wait({})
print("not reached")
`

// TestWaitInterrupted: Ctrl-C ends mp.connection.wait with
// KeyboardInterrupt, which pcall catches, and the objects it waited on
// work afterwards; uncaught, it ends the run with status 130.
func TestWaitInterrupted(t *testing.T) {
	got, stderr := interruptAtReady(t, waitInterrupted, 200*time.Millisecond)
	want := strings.Join([]string{
		"ready 1",
		"wait interrupted\tfalse\tKeyboardInterrupt: interrupted\ttrue",
		"after\t1",
		"ready 2",
	}, "\n")
	if g := strings.Join(got, "\n"); g != want {
		t.Errorf("stdout:\n%s\nwant:\n%s\nstderr: %s", g, want, stderr)
	}
	if msg := stderr; msg != "KeyboardInterrupt\n" {
		t.Errorf("stderr = %q, want one KeyboardInterrupt line", msg)
	}
}
