package main

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// The six ports of the seed's scripts: golden outputs with random
// numbers, timestamps and timings normalised, and each port's property
// (the "must show" of its issue) asserted. Ordering is compared only
// where the semantics fix it; elsewhere the lines are compared as a set.

var (
	reNumber    = regexp.MustCompile(`\b0\.\d+|\b\d\.\d+e-\d+`)
	reTimestamp = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}`)
	reSeconds   = regexp.MustCompile(`\d+\.\d\d seconds`)
)

func normalise(out string) string {
	out = reTimestamp.ReplaceAllString(out, "<time>")
	out = reSeconds.ReplaceAllString(out, "<t> seconds")
	return reNumber.ReplaceAllString(out, "<random>")
}

// runPort runs scripts/name.lua and returns its normalised lines.
func runPort(t *testing.T, name string) (lines []string, raw string) {
	t.Helper()
	start := time.Now()
	r := procsh(t, 30*time.Second, "", "scripts/"+name+".lua")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("scripts/%s.lua: exit status %d, stderr:\n%s", name, r.code, r.stderr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("scripts/%s.lua took %v, want a few seconds", name, d)
	}
	out := strings.TrimSuffix(normalise(r.stdout), "\n")
	return strings.Split(out, "\n"), r.stdout
}

// golden reads testdata/golden/name.txt; with PROCSH_UPDATE_GOLDEN=1 it
// writes got there instead.
func golden(t *testing.T, name string, got []string) []string {
	t.Helper()
	path := "testdata/golden/" + name + ".txt"
	if os.Getenv("PROCSH_UPDATE_GOLDEN") != "" {
		os.WriteFile(path, []byte(strings.Join(got, "\n")+"\n"), 0o644)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func sameLines(t *testing.T, name string, got, want []string, ordered bool) {
	t.Helper()
	g, w := append([]string(nil), got...), append([]string(nil), want...)
	if !ordered {
		sort.Strings(g)
		sort.Strings(w)
	}
	if strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Errorf("scripts/%s.lua printed (normalised):\n%s\nwant:\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func indexOf(lines []string, prefix string) int {
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return i
		}
	}
	return -1
}

func TestPortNaming(t *testing.T) {
	got, _ := runPort(t, "naming")
	sameLines(t, "naming", got, golden(t, "naming", got), false)
	// The children may print before the parent's start line; the parent's
	// report comes after both, since it joined them.
	parent := indexOf(got, "Parent's list 1")
	for _, l := range []string{"Started do_something process 1 and Process-2", "do_something process 1 output list length: 1000", "Process-2 output list length: 1000"} {
		if i := indexOf(got, l); i < 0 || i > parent {
			t.Errorf("want %q before the parent's report: %q", l, got)
		}
	}
	if i, j := indexOf(got, "Parent's list 1 length: 0"), indexOf(got, "Why 0:"); i < 0 || j != i+2 {
		t.Errorf("want the parent's empty lists and why: %q", got)
	}
	if indexOf(got, "Total execution time") != len(got)-1 {
		t.Errorf("want the total time last: %q", got)
	}
}

func TestPortSpawning(t *testing.T) {
	got, _ := runPort(t, "spawning")
	sameLines(t, "spawning", got, golden(t, "spawning", got), true)
}

func TestPortKilling(t *testing.T) {
	got, _ := runPort(t, "killing")
	// Whether the child printed its first line before SIGTERM reached it
	// is a race; its last line never appears.
	var rest []string
	for _, l := range got {
		if l != "Starting function (do_something)" {
			rest = append(rest, l)
		}
	}
	sameLines(t, "killing", rest, golden(t, "killing", rest), true)
	if indexOf(got, "Finished function") >= 0 {
		t.Errorf("the terminated child finished its work: %q", got)
	}
}

func TestPortDaemons(t *testing.T) {
	got, _ := runPort(t, "daemons")
	ticks := 0
	var rest []string
	for _, l := range got {
		if strings.HasPrefix(l, "---> ") {
			ticks++
		} else {
			rest = append(rest, l)
		}
	}
	sameLines(t, "daemons", rest, golden(t, "daemons", rest), false)
	if ticks < 2 {
		t.Errorf("the daemon printed %d ticks, want a few while the other worked: %q", ticks, got)
	}
	if indexOf(got, "Exiting background_process") >= 0 {
		t.Errorf("the daemon printed its exit line; it should have been terminated: %q", got)
	}
	// The daemon may tick once more between the main program's last line
	// and its termination, but it never gets to say it is exiting.
	if indexOf(rest, "Main program ends") != len(rest)-1 {
		t.Errorf("want the main program's end last: %q", got)
	}
}

func TestPortBarrier(t *testing.T) {
	got, raw := runPort(t, "barrier")
	sameLines(t, "barrier", got, golden(t, "barrier", got), false)
	// Under the lock, the two lines of p1 and those of p2 never mix
	// (p3 and p4 take no lock and may print between them).
	var locked []string
	for _, l := range got {
		if strings.Contains(l, "test_with_barrier") {
			locked = append(locked, l)
		}
	}
	for _, p := range []string{"p1", "p2"} {
		i := indexOf(locked, "process "+p+" - test_with_barrier ---->")
		if i < 0 || i+1 >= len(locked) || !strings.HasPrefix(locked[i+1], p+" - test_with_barrier results:") {
			t.Errorf("%s's lines are not together: %q", p, got)
		}
	}
	// The two that met at the barrier left it within milliseconds.
	stamps := map[string]time.Time{}
	for _, l := range strings.Split(raw, "\n") {
		if m := regexp.MustCompile(`^process (p\d) .* ----> (.*)$`).FindStringSubmatch(l); m != nil {
			ts, err := time.ParseInLocation("2006-01-02 15:04:05.000000", m[2], time.Local)
			if err != nil {
				t.Fatalf("bad timestamp in %q: %v", l, err)
			}
			stamps[m[1]] = ts
		}
	}
	if d := stamps["p1"].Sub(stamps["p2"]).Abs(); len(stamps) != 4 || d > 50*time.Millisecond {
		t.Errorf("p1 and p2 left the barrier %v apart, want within milliseconds (%v)", d, stamps)
	}
}

func TestPortPool(t *testing.T) {
	got, _ := runPort(t, "pool")
	sameLines(t, "pool", got, []string{"Pool: {0, 1, 4, 9, 16, 25, 36, 49, 64, 81}"}, true)
}

// TestExamplePoolErrors runs the README's scenario: a failed task and a
// dead worker, and every other task completes.
func TestExamplePoolErrors(t *testing.T) {
	r := procsh(t, 30*time.Second, "", "scripts/examples/pool_errors.lua")
	if r.code != 0 {
		t.Fatalf("exit status %d: %s", r.code, r.stderr)
	}
	out := regexp.MustCompile(`pid \d+`).ReplaceAllString(r.stdout, "pid N")
	out = regexp.MustCompile(`PoolWorker-\d`).ReplaceAllString(out, "PoolWorker-N")
	want := "1\tok\t10\n2\tok\t20\n3\tRemoteError\tscripts/examples/pool_errors.lua:7: 3 is unlucky\n4\tok\t40\n" +
		"5\tWorkerLostError\tPoolWorker-N (pid N) exited with code 9 while running its apply_async task\n6\tok\t60\n"
	if out != want {
		t.Errorf("scripts/examples/pool_errors.lua printed:\n%s\nwant:\n%s", out, want)
	}
}
