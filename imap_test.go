// Pool.imap over a function of ten million items: the items are pulled as
// the workers need them, so memory stays flat.

package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// tenMillionScript takes ten million results of an imap over a function,
// checking each, and prints how far the function ever ran ahead of the
// results taken and the resident memory after one million items and at
// the end.
const tenMillionScript = `
local mp = require("multiprocessing")
local N, chunk = 10000000, 1000
local pool = mp.Pool(2)
local pulled, taken, most = 0, 0, 0
local function rss()
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("*a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end
local early
for i, v in pool:imap(function(x) return x + 1 end, function()
  if pulled < N then pulled = pulled + 1; return pulled end
end, chunk) do
  taken = taken + 1
  if i ~= taken or v ~= i + 1 then error(("item %d: got %d, %s"):format(taken, i, tostring(v))) end
  if pulled - taken > most then most = pulled - taken end
  if taken == 1000000 then early = rss() end
end
print(("taken %d ahead %d rss %d %d"):format(taken, most, early, rss()))
pool:terminate()
`

func TestIMapTenMillionItems(t *testing.T) {
	if testing.Short() {
		t.Skip("ten million items take several seconds")
	}
	if raceEnabled {
		t.Skip("ten million Lua steps take minutes under the race detector; testdata/imap_pulled.lua checks the same bound over 100,000 items")
	}
	r := procsh(t, 180*time.Second, tenMillionScript, "-")
	if r.code != 0 {
		t.Fatalf("exit status %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	var taken, ahead, early, end int
	if _, err := fmt.Sscanf(strings.TrimSpace(r.stdout), "taken %d ahead %d rss %d %d", &taken, &ahead, &early, &end); err != nil {
		t.Fatalf("read %q: %v", r.stdout, err)
	}
	if taken != 10000000 {
		t.Errorf("took %d results, want 10000000", taken)
	}
	// 4 chunks of 1000 for each of the 2 workers.
	if ahead > 8000 {
		t.Errorf("the function ran %d items ahead of the results taken, want at most 8000", ahead)
	}
	// Holding the items would take hundreds of megabytes.
	if grew := end - early; grew > 48<<10 {
		t.Errorf("resident memory grew by %d KiB from the first million items to the last, want under 48 MiB", grew)
	}
	t.Logf("ran at most %d items ahead; resident memory %d KiB after a million items, %d KiB at the end", ahead, early, end)
}
