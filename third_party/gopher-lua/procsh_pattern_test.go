package lua

// Tests for the procsh patch that makes pattern matches interruptible
// (pm.FindInterruptible, LState.findPattern; see PATCHES.md).

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/yuin/gopher-lua/pm"
)

// A match that backtracks for ever: 40 "a*" against 40 a's and no b.
const endlessMatch = `string.rep("a", 40), string.rep("a*", 40) .. "b"`

// Each of string.find, match, gmatch and gsub gives up with the state's
// context error once the context is done, as the VM's loop does.
func TestPatternMatchCancelled(t *testing.T) {
	for name, call := range map[string]string{
		"find":   "string.find(s, p)",
		"match":  "string.match(s, p)",
		"gmatch": "for _ in string.gmatch(s, p) do end",
		"gsub":   "string.gsub(s, p, 'x')",
	} {
		t.Run(name, func(t *testing.T) {
			L := NewState()
			defer L.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			L.SetContext(ctx)
			done := make(chan error, 1)
			go func() { done <- L.DoString("local s, p = " + endlessMatch + "\n" + call) }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), context.DeadlineExceeded.Error()) {
					t.Fatalf("got %v, want the context's error", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the match went on 30 s after its context was done")
			}
		})
	}
}

// A match whose done channel is never closed finds what Find finds; one
// whose channel is closed gives up with ErrInterrupted.
func TestFindInterruptible(t *testing.T) {
	src := []byte("key=value; other=thing")
	want, err := pm.Find(`(%w+)=(%w+)`, src, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pm.FindInterruptible(`(%w+)=(%w+)`, src, 0, -1, make(chan struct{}))
	if err != nil || len(got) != len(want) || len(got) != 2 {
		t.Fatalf("got %d matches, %v; want %d", len(got), err, len(want))
	}
	for i := range got {
		for c := 0; c < got[i].CaptureLength(); c++ {
			if got[i].Capture(c) != want[i].Capture(c) {
				t.Errorf("match %d capture %d: %d, want %d", i, c, got[i].Capture(c), want[i].Capture(c))
			}
		}
	}
	closed := make(chan struct{})
	close(closed)
	if _, err := pm.FindInterruptible(strings.Repeat("a*", 40)+"b", []byte(strings.Repeat("a", 40)), 0, 1, closed); err != pm.ErrInterrupted {
		t.Fatalf("with done closed: %v, want ErrInterrupted", err)
	}
}
