package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README's walkthrough shows one run of each port: processes that run
// at once print in an order that changes from run to run, so each port's
// section must say what of its output may vary (or that nothing does).
func TestWalkthroughSaysWhatVaries(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	ports, err := filepath.Glob("scripts/*.lua")
	if err != nil || len(ports) == 0 {
		t.Fatalf("no ports in scripts/: %v", err)
	}
	heading := regexp.MustCompile("(?m)^### (\\w+) — `go run \\. scripts/(\\w+)\\.lua`$")
	says := regexp.MustCompile(`(?i)\bvar(y|ies)\b`)
	src := string(b)
	sections := map[string]string{}
	locs := heading.FindAllStringSubmatchIndex(src, -1)
	for i, m := range locs {
		end := len(src)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		body := src[m[1]:end]
		if j := strings.Index(body, "\n## "); j >= 0 {
			body = body[:j]
		}
		sections[src[m[4]:m[5]]] = body
	}
	for _, p := range ports {
		name := strings.TrimSuffix(filepath.Base(p), ".lua")
		body, ok := sections[name]
		if !ok {
			t.Errorf("README.md's walkthrough has no section for scripts/%s.lua", name)
			continue
		}
		if !says.MatchString(body) {
			t.Errorf("README.md's walkthrough of %s does not say what of its output varies from run to run", name)
		}
	}
}
