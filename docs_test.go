package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The manual is part of the repository: its links must lead somewhere in
// it, and its examples must run.

// docFiles are the Markdown files a user reads: README.md and docs/.
func docFiles(t *testing.T, root string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{filepath.Join(root, "README.md")}, files...)
}

var (
	mdLink    = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	mdHeading = regexp.MustCompile("(?m)^#{1,6}\\s+(.+?)\\s*#*\\s*$")
	mdFence   = regexp.MustCompile("(?ms)^```.*?^```")
	slugDrop  = regexp.MustCompile(`[^\p{L}\p{N}\- _]`)
)

// slug is the anchor GitHub gives a heading: lower case, punctuation
// dropped, spaces made hyphens.
func slug(heading string) string {
	h := strings.ToLower(strings.TrimSpace(heading))
	h = strings.NewReplacer("`", "", "*", "").Replace(h)
	h = slugDrop.ReplaceAllString(h, "")
	return strings.ReplaceAll(h, " ", "-")
}

// anchors lists the anchors of a Markdown file's headings, numbered as
// GitHub numbers repeats (-1, -2, …).
func anchors(src string) map[string]bool {
	src = mdFence.ReplaceAllString(src, "")
	seen := map[string]int{}
	out := map[string]bool{}
	for _, m := range mdHeading.FindAllStringSubmatch(src, -1) {
		s := slug(m[1])
		if n := seen[s]; n > 0 {
			out[fmt.Sprintf("%s-%d", s, n)] = true
		} else {
			out[s] = true
		}
		seen[s]++
	}
	return out
}

// checkLinks reports every relative link of the files under root that
// does not resolve to a file (and heading) inside root.
func checkLinks(t *testing.T, root string) {
	t.Helper()
	absRoot, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range docFiles(t, absRoot) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		src := mdFence.ReplaceAllString(string(b), "")
		rel, _ := filepath.Rel(absRoot, file)
		for _, m := range mdLink.FindAllStringSubmatch(src, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			dest := file
			if path != "" {
				dest = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
				if r, err := filepath.Rel(absRoot, dest); err != nil || strings.HasPrefix(r, "..") {
					t.Errorf("%s: link %q leads outside the repository", rel, target)
					continue
				}
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s: link %q: no such file in the repository", rel, target)
					continue
				}
			}
			if anchor != "" && strings.HasSuffix(dest, ".md") {
				d, err := os.ReadFile(dest)
				if err != nil {
					t.Errorf("%s: link %q: %v", rel, target, err)
					continue
				}
				if !anchors(string(d))[anchor] {
					t.Errorf("%s: link %q: %s has no heading with anchor #%s", rel, target, filepath.Base(dest), anchor)
				}
			}
		}
	}
}

// TestDocLinks: every relative link in README.md and docs/ resolves inside
// the repository, to a file and, where it names one, a heading.
func TestDocLinks(t *testing.T) {
	checkLinks(t, ".")
}

var luaBlock = regexp.MustCompile("(?ms)^```lua[ \t]*\n(.*?)^```")

// TestReferenceExamples runs every Lua example of the reference
// (docs/reference*.md) as a script: each must run to the end (exit 0).
func TestReferenceExamples(t *testing.T) {
	files, err := filepath.Glob("docs/reference*.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no docs/reference*.md found")
	}
	dir := t.TempDir()
	n := 0
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		for _, loc := range luaBlock.FindAllStringSubmatchIndex(src, -1) {
			line := 1 + strings.Count(src[:loc[0]], "\n")
			code := src[loc[2]:loc[3]]
			name := fmt.Sprintf("%s:%d", filepath.Base(file), line)
			n++
			t.Run(name, func(t *testing.T) {
				path := filepath.Join(dir, fmt.Sprintf("example%d.lua", n))
				if err := os.WriteFile(path, []byte(code), 0o644); err != nil {
					t.Fatal(err)
				}
				r := procsh(t, 60*time.Second, "", path)
				if r.code != 0 {
					t.Errorf("the example at %s exits %d\n%s\nstdout:\n%s\nstderr:\n%s", name, r.code, code, r.stdout, r.stderr)
				}
			})
		}
	}
	if n == 0 {
		t.Error("the reference has no ```lua examples")
	}
}

// TestFreshClone: a clone of the repository, with nothing beside it,
// holds everything its README and docs link to, and its benchmark runs
// both sides from there.
func TestFreshClone(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short: clones and builds")
	}
	if _, err := os.Stat(".git"); err != nil {
		t.Skip("skipped: not a git checkout")
	}
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("skipped: no git")
	}
	clone := filepath.Join(t.TempDir(), "procsh")
	if out, err := exec.Command(git, "clone", "--quiet", ".", clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	checkLinks(t, clone)
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("skipped the benchmark: no python3 for its Python side")
	}
	cmd := exec.Command("bash", "bench/compare", "spawn")
	cmd.Dir = clone
	cmd.Env = append(os.Environ(), "RUNS=1", "GORACE=atexit_sleep_ms=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bench/compare spawn in a fresh clone: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^spawn\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+x$`).Match(out) {
		t.Errorf("bench/compare spawn printed no ratio for spawn:\n%s", out)
	}
}
