// The `time` module: time, monotonic, sleep, strftime.

package luaapi

import (
	"fmt"
	"math"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	lua "github.com/yuin/gopher-lua"
)

// timeTime is seconds since the epoch, with a fraction.
func timeTime(L *lua.LState) int {
	L.Push(lua.LNumber(float64(time.Now().UnixNano()) / 1e9))
	return 1
}

// timeMonotonic is seconds on the system's monotonic clock
// (CLOCK_MONOTONIC, as Python's time.monotonic): it never goes back, and
// every process of the machine reads the same clock, so a value read in
// a child can be compared with one read in its parent.
func timeMonotonic(L *lua.LState) int {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		Raise(L, "OSError", "monotonic: %v", err)
	}
	L.Push(lua.LNumber(float64(ts.Sec) + float64(ts.Nsec)/1e9))
	return 1
}

// timeSleep sleeps, and Ctrl-C interrupts it.
func timeSleep(L *lua.LState) int {
	s := checkNumberArg(L, 1)
	if math.IsNaN(s) || s < 0 {
		Raise(L, "ValueError", "sleep: got %v seconds, want a non-negative number", lua.LNumber(s))
	}
	w := worldOf(L)
	t := time.NewTimer(secondsToDuration(s))
	defer t.Stop()
	select {
	case <-t.C:
	case <-w.ctx.Done():
		w.interrupted()
	}
	return 0
}

// secondsToDuration converts seconds, capping what does not fit.
func secondsToDuration(s float64) time.Duration {
	if s > float64(math.MaxInt64)/1e9 {
		return math.MaxInt64
	}
	return time.Duration(s * 1e9)
}

// timeStrftime formats a time (seconds since the epoch, default now) as C's
// strftime, local time, with Python's %f (microseconds, six digits).
func timeStrftime(L *lua.LState) int {
	format := checkStringArg(L, 1)
	var t time.Time
	if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
		s := checkNumberArg(L, 2)
		// To the nearest microsecond, as Python's datetime.fromtimestamp.
		sec := math.Floor(s)
		us := math.RoundToEven((s - sec) * 1e6)
		t = time.Unix(int64(sec), int64(us)*1000)
	} else {
		t = time.Now()
	}
	L.Push(lua.LString(strftime(format, t)))
	return 1
}

// strftime implements the usual directives; an unknown one is kept as it is.
func strftime(format string, t time.Time) string {
	var sb strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			sb.WriteByte(c)
			continue
		}
		i++
		switch format[i] {
		case 'Y':
			fmt.Fprintf(&sb, "%04d", t.Year())
		case 'y':
			fmt.Fprintf(&sb, "%02d", t.Year()%100)
		case 'm':
			fmt.Fprintf(&sb, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&sb, "%02d", t.Day())
		case 'e':
			fmt.Fprintf(&sb, "%2d", t.Day())
		case 'H':
			fmt.Fprintf(&sb, "%02d", t.Hour())
		case 'I':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			fmt.Fprintf(&sb, "%02d", h)
		case 'M':
			fmt.Fprintf(&sb, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&sb, "%02d", t.Second())
		case 'f':
			fmt.Fprintf(&sb, "%06d", t.Nanosecond()/1000)
		case 'p':
			if t.Hour() < 12 {
				sb.WriteString("AM")
			} else {
				sb.WriteString("PM")
			}
		case 'j':
			fmt.Fprintf(&sb, "%03d", t.YearDay())
		case 'a':
			sb.WriteString(t.Weekday().String()[:3])
		case 'A':
			sb.WriteString(t.Weekday().String())
		case 'b', 'h':
			sb.WriteString(t.Month().String()[:3])
		case 'B':
			sb.WriteString(t.Month().String())
		case 'Z':
			name, _ := t.Zone()
			sb.WriteString(name)
		case 'z':
			sb.WriteString(t.Format("-0700"))
		case 'F':
			sb.WriteString(t.Format("2006-01-02"))
		case 'T':
			sb.WriteString(t.Format("15:04:05"))
		case 'c':
			sb.WriteString(t.Format("Mon Jan  2 15:04:05 2006"))
		case 'x':
			sb.WriteString(t.Format("01/02/06"))
		case 'X':
			sb.WriteString(t.Format("15:04:05"))
		case 's':
			fmt.Fprintf(&sb, "%d", t.Unix())
		case 'n':
			sb.WriteByte('\n')
		case 't':
			sb.WriteByte('\t')
		case '%':
			sb.WriteByte('%')
		default:
			sb.WriteByte('%')
			sb.WriteByte(format[i])
		}
	}
	return sb.String()
}
