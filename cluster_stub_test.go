//go:build !cluster

// What a procsh built without the tag cluster says when asked for a
// cluster.

package main

import (
	"strings"
	"testing"
	"time"
)

// TestClusterNotBuilt: cluster = (on a Pool or an executor), mp.cluster
// and procsh worker say how
// to get a build that has them.
func TestClusterNotBuilt(t *testing.T) {
	const want = "built without cluster support: build it with go build -tags cluster"
	r := procsh(t, 20*time.Second, "", "-e", `
local mp = require("multiprocessing")
local ok, err = pcall(mp.Pool, {processes = 1, cluster = "embedded"})
print(ok, err.type, err.message)`)
	if r.code != 0 || !strings.Contains(r.stdout, "false\tValueError\t") || !strings.Contains(r.stdout, want) {
		t.Errorf("Pool{cluster = ...} = %d %q %q, want a ValueError saying %q", r.code, r.stdout, r.stderr, want)
	}
	r = procsh(t, 20*time.Second, "", "-e", `
local mp = require("multiprocessing")
local ok, err = pcall(mp.cluster.connect, "nats://127.0.0.1:4222")
print(ok, err.type, err.message)`)
	if r.code != 0 || !strings.Contains(r.stdout, "false\tValueError\t") || !strings.Contains(r.stdout, want) {
		t.Errorf("mp.cluster.connect = %d %q %q, want a ValueError saying %q", r.code, r.stdout, r.stderr, want)
	}
	r = procsh(t, 20*time.Second, "", "-e", `
local futures = require("concurrent.futures")
local ok, err = pcall(futures.ProcessPoolExecutor, {max_workers = 1, cluster = "embedded"})
print(ok, err.type, err.message)`)
	if r.code != 0 || !strings.Contains(r.stdout, "false\tValueError\t") || !strings.Contains(r.stdout, want) {
		t.Errorf("ProcessPoolExecutor{cluster = ...} = %d %q %q, want a ValueError saying %q", r.code, r.stdout, r.stderr, want)
	}
	r = procsh(t, 20*time.Second, "", "worker", "nats://127.0.0.1:4222")
	if r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("procsh worker = %d %q, want 1 and %q", r.code, r.stderr, want)
	}
}
