package lua

import (
	"context"
	"testing"
)

// procsh patch: Options.Interrupted decides what a done context means.
// Returning after giving the state a live context lets the code go on;
// raising ends it with the hook's error.
func TestOptionsInterrupted(t *testing.T) {
	calls := 0
	var L *LState
	L = NewState(Options{Interrupted: func(L *LState) {
		calls++
		if calls == 1 {
			L.SetContext(context.Background())
			return
		}
		L.RaiseError("interrupted by the hook")
	}})
	defer L.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	L.SetContext(ctx)
	if err := L.DoString("local s = 0 for i = 1, 100000 do s = s + i end result = s"); err != nil {
		t.Fatalf("after the hook gave a live context: %v", err)
	}
	if got := L.GetGlobal("result"); got != LNumber(5000050000) || calls != 1 {
		t.Errorf("result = %v after %d hook calls, want 5000050000 after 1", got, calls)
	}
	L.SetContext(ctx)
	err := L.DoString("while true do end")
	if err == nil || calls != 2 {
		t.Fatalf("DoString = %v after %d hook calls, want the hook's error after 2", err, calls)
	}
	if got := err.(*ApiError).Object.String(); got != "<string>:1: interrupted by the hook" {
		t.Errorf("error = %q, want the hook's", got)
	}
}
