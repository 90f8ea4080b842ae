// Package repl is procsh's interactive loop: it reads Lua chunks at a
// prompt, runs each in the root process's World, and shows what they
// return. The command line (package main) starts it with Run when there
// is no script, or after one with -i.
//
// The files:
//
//	repl.go      the session: the terminal, the loop, Ctrl-C, leaving
//	eval.go      compiling a chunk (is it complete?), running it, showing
//	             its values or its error
//	complete.go  Tab completion of globals, keywords, fields and methods
//	help.go      the help() guide and help(obj)
//	ps.go        ps() and child(name or pid): the live children
//	history.go   the history file
//
// A session runs on the goroutine that owns the World's Lua state; only
// its SIGINT watcher runs on another, and it touches no Lua.
package repl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"procsh/luaapi"
	"procsh/runtime"

	"github.com/peterh/liner"
	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

const (
	prompt     = "> "
	morePrompt = ">> "
	chunkName  = "stdin"
)

// Options are what the command line tells the REPL.
type Options struct {
	// Banner is the first line the REPL prints: the program's version.
	Banner string
	// KillGrace is how long a second Ctrl-C while leaving gives the
	// children to pass SIGTERM on to their own before they are killed,
	// as a script's second Ctrl-C does.
	KillGrace time.Duration
}

// session is one interactive session on a World. Only the goroutine that
// owns the World's Lua state calls its methods, except interrupt, which
// the signal goroutine calls.
type session struct {
	w *luaapi.World
	o Options

	// Line editing, on a terminal; plain reads standard input otherwise.
	ln    *liner.State
	plain *bufio.Reader
	// Terminal modes: raw while liner reads a line, cooked (as the REPL
	// found it) while code runs, so that Ctrl-C is SIGINT, and what a
	// script reads from standard input is echoed and line-buffered.
	raw, cooked liner.ModeApplier
	hist        *history
	results     int // how many values the last line that gave any gave

	mu      sync.Mutex
	cancel  context.CancelFunc // the running evaluation's, nil at the prompt
	leaving bool               // Ctrl-D: waiting for the children
	hits    int                // Ctrl-Cs while leaving
}

// Run runs the REPL on w until Ctrl-D (or the end of standard input),
// then cleans up the children as the end of a script does. It gives the
// exit status: 0, or 130 when Ctrl-C ended the wait for the children.
// It handles SIGINT itself while it runs: the caller stops its own
// handling first. Only the goroutine that owns w's Lua state may call it.
func Run(w *luaapi.World, o Options) int {
	s := &session{w: w, o: o}
	stop := s.watchInterrupts()
	defer stop()
	s.open()
	s.setupGlobals()
	fmt.Fprintf(os.Stderr, "%s\nType help() for a guide; Ctrl-D leaves.\n", o.Banner)
	s.loop()
	s.closeTerminal()
	return s.leave()
}

// IsTerminal says whether f is a terminal.
func IsTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// open sets up line editing when standard input and output are both
// terminals.
func (s *session) open() {
	if !IsTerminal(os.Stdin) || !IsTerminal(os.Stdout) {
		s.plain = bufio.NewReader(os.Stdin)
		return
	}
	if m, err := liner.TerminalMode(); err == nil {
		s.cooked = m
	}
	s.ln = liner.NewLiner()
	if m, err := liner.TerminalMode(); err == nil {
		s.raw = m
	}
	// Multi-line mode wraps long lines, and redraws the prompt and the
	// line on every key, so that a key pressed after a child printed
	// something brings the prompt back below it.
	s.ln.SetMultiLineMode(true)
	s.ln.SetCtrlCAborts(true)
	s.ln.SetTabCompletionStyle(liner.TabPrints)
	s.ln.SetWordCompleter(s.complete)
	s.hist = openHistory(s.ln)
	s.applyMode(s.cooked)
}

// closeTerminal gives the terminal back as the REPL found it.
func (s *session) closeTerminal() {
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
	s.hist.close()
}

func (s *session) applyMode(m liner.ModeApplier) {
	if m != nil {
		m.ApplyMode()
	}
}

// setupGlobals preloads mp and time, and adds the REPL's helpers.
func (s *session) setupGlobals() {
	L := s.w.L
	for global, mod := range map[string]string{"mp": "multiprocessing", "time": "time"} {
		if L.GetGlobal(global) != lua.LNil {
			continue
		}
		if err := s.w.Call(L.GetGlobal("require"), 1, lua.LString(mod)); err == nil {
			L.SetGlobal(global, L.Get(-1))
			L.Pop(1)
		}
	}
	for name, fn := range s.helpers() {
		if L.GetGlobal(name) == lua.LNil {
			L.SetGlobal(name, L.NewFunction(fn))
		}
	}
}

// helpers are the globals the REPL adds.
func (s *session) helpers() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"help":  s.help,
		"ps":    s.ps,
		"child": s.child,
	}
}

// readLine reads one line at the given prompt. io.EOF means Ctrl-D (or
// the end of standard input), liner.ErrPromptAborted means Ctrl-C.
func (s *session) readLine(p string) (string, error) {
	if s.ln == nil {
		fmt.Fprint(os.Stderr, p)
		line, err := s.plain.ReadString('\n')
		if err == io.EOF && line != "" {
			err = nil
		}
		return strings.TrimRight(line, "\r\n"), err
	}
	s.applyMode(s.raw)
	defer s.applyMode(s.cooked)
	return s.ln.Prompt(p)
}

// loop reads and runs chunks until the end of input.
func (s *session) loop() {
	var buf []string // the lines of an incomplete chunk
	for {
		p := prompt
		if len(buf) > 0 {
			p = morePrompt
		}
		line, err := s.readLine(p)
		switch {
		case err == nil:
		case errors.Is(err, liner.ErrPromptAborted):
			buf = nil
			continue
		case errors.Is(err, io.EOF):
			if s.ln != nil {
				fmt.Println()
			}
			return
		default:
			fmt.Fprintf(os.Stderr, "procsh: reading input: %v\n", err)
			return
		}
		if len(buf) == 0 && strings.TrimSpace(line) == "" {
			continue
		}
		s.hist.add(line)
		buf = append(buf, line)
		fn, incomplete, err := s.compile(strings.Join(buf, "\n"))
		if incomplete {
			continue
		}
		buf = nil
		if err != nil {
			s.w.WriteOut(os.Stderr, []byte(err.Error()+"\n"))
			continue
		}
		s.eval(fn)
	}
}

func (s *session) setCancel(c context.CancelFunc) {
	s.mu.Lock()
	s.cancel = c
	s.mu.Unlock()
}

// watchInterrupts turns SIGINT (Ctrl-C while code runs; at the prompt
// liner reads Ctrl-C as a key) into cancelling the running line. While
// leaving, the first Ctrl-C stops the wait for the children (which are
// then terminated) and a second kills them and leaves at once.
func (s *session) watchInterrupts() (stop func()) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, os.Interrupt)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ch:
				s.interrupt()
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}

// interrupt handles one SIGINT; it runs on the signal goroutine.
func (s *session) interrupt() {
	s.mu.Lock()
	c, leaving := s.cancel, s.leaving
	if leaving {
		s.hits++
	}
	hits := s.hits
	s.mu.Unlock()
	if leaving && hits >= 2 {
		// As a script's second Ctrl-C: the children pass SIGTERM on to
		// theirs before they are killed.
		runtime.EndChildren(s.o.KillGrace)
		fmt.Fprintln(os.Stderr, "KeyboardInterrupt")
		os.Exit(130)
	}
	if c != nil {
		c()
	}
}

// leave does what the end of a script does: daemon children terminated,
// the others waited for (saying so), and Ctrl-C terminates them.
func (s *session) leave() int {
	// Ready for Ctrl-C before saying it can be pressed.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.mu.Lock()
	s.cancel, s.leaving = cancel, true
	s.mu.Unlock()
	var waiting []string
	for _, c := range s.w.Children() {
		if !c.Daemon && !c.PoolWorker {
			waiting = append(waiting, c.Name)
		}
	}
	if n := len(waiting); n > 0 {
		what, them := "child process", "it"
		if n > 1 {
			what, them = "child processes", "them"
		}
		fmt.Fprintf(os.Stderr, "waiting for %d %s (%s); Ctrl-C terminates %s\n", n, what, strings.Join(waiting, ", "), them)
	}
	s.w.SetContext(ctx)
	s.w.Shutdown()
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "KeyboardInterrupt: child processes terminated")
		return 130
	}
	return 0
}
