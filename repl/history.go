// The REPL's persistent history: one line per entry, appended as typed.

package repl

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/peterh/liner"
)

// historyKeep is how many lines the history file keeps.
const historyKeep = 1000

// history appends each line typed to the history file. A file that cannot
// be read or written costs one warning, never the session.
type history struct {
	ln     *liner.State
	path   string
	f      *os.File
	last   string
	warned bool
}

// historyPath is $XDG_STATE_HOME/procsh/history, else
// ~/.local/state/procsh/history, else ~/.procsh_history when that
// directory cannot be made.
func historyPath() (string, error) {
	home, herr := os.UserHomeDir()
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		if herr != nil {
			return "", fmt.Errorf("no home directory: %v", herr)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	dir = filepath.Join(dir, "procsh")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		if herr != nil {
			return "", err
		}
		return filepath.Join(home, ".procsh_history"), nil
	}
	return filepath.Join(dir, "history"), nil
}

// openHistory loads the history into ln and opens the file to append to.
func openHistory(ln *liner.State) *history {
	h := &history{ln: ln}
	path, err := historyPath()
	if err != nil {
		h.warn(err)
		return h
	}
	h.path = path
	var lines []string
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		f.Close()
	}
	if len(lines) > historyKeep {
		lines = lines[len(lines)-historyKeep:]
		// Rewrite the file with the lines kept; a failure shows on append.
		os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	}
	ln.ReadHistory(strings.NewReader(strings.Join(lines, "\n")))
	if len(lines) > 0 {
		h.last = lines[len(lines)-1]
	}
	h.f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		h.warn(err)
	}
	return h
}

// add records a line typed (not blank ones, nor repeats of the last).
func (h *history) add(line string) {
	if h == nil || strings.TrimSpace(line) == "" || line == h.last {
		return
	}
	h.last = line
	h.ln.AppendHistory(line)
	if h.f == nil {
		return
	}
	if _, err := h.f.WriteString(line + "\n"); err != nil {
		h.warn(err)
		h.f.Close()
		h.f = nil
	}
}

// warn says once that the history will not be saved.
func (h *history) warn(err error) {
	if !h.warned {
		h.warned = true
		fmt.Fprintf(os.Stderr, "procsh: history will not be saved: %v\n", err)
	}
}

func (h *history) close() {
	if h != nil && h.f != nil {
		h.f.Close()
		h.f = nil
	}
}
