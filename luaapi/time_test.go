package luaapi

import (
	"testing"

	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// time.monotonic reads the system's monotonic clock, as Python's does, so
// values read in different processes compare.
func TestMonotonicIsTheSystemClock(t *testing.T) {
	w := NewWorld(Options{})
	defer w.Close()
	var before, after unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &before)
	if err := w.L.DoString(`return require("time").monotonic()`); err != nil {
		t.Fatal(err)
	}
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &after)
	got := float64(w.L.Get(-1).(lua.LNumber))
	lo := float64(before.Sec) + float64(before.Nsec)/1e9
	hi := float64(after.Sec) + float64(after.Nsec)/1e9
	if got < lo || got > hi {
		t.Errorf("time.monotonic() = %f, want the system's CLOCK_MONOTONIC, between %f and %f", got, lo, hi)
	}
}
