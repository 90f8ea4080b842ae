// The REPL: read a chunk (line editing, history, completion, multi-line
// input), run it under its own context, show what it returns.

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"

	"procsh/luaapi"
	"procsh/runtime"

	"github.com/peterh/liner"
	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

const (
	prompt     = "> "
	morePrompt = ">> "
	chunkName  = "stdin"
)

// repl is one interactive session on a World. Only the goroutine that
// owns the World's Lua state calls its methods, except interrupt, which
// the signal goroutine calls.
type repl struct {
	w *luaapi.World

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

// runREPL runs the REPL until Ctrl-D (or the end of standard input), then
// cleans up the children as the end of a script does. It gives the exit
// status.
func runREPL(w *luaapi.World) int {
	r := &repl{w: w}
	stop := r.watchInterrupts()
	defer stop()
	r.open()
	r.setupGlobals()
	fmt.Fprintf(os.Stderr, "%s\nType help() for a guide; Ctrl-D leaves.\n", version)
	r.loop()
	r.closeTerminal()
	return r.leave()
}

// open sets up line editing when standard input and output are both
// terminals.
func (r *repl) open() {
	if !isTerminal(os.Stdin) || !isTerminal(os.Stdout) {
		r.plain = bufio.NewReader(os.Stdin)
		return
	}
	if m, err := liner.TerminalMode(); err == nil {
		r.cooked = m
	}
	r.ln = liner.NewLiner()
	if m, err := liner.TerminalMode(); err == nil {
		r.raw = m
	}
	// Multi-line mode wraps long lines, and redraws the prompt and the
	// line on every key, so that a key pressed after a child printed
	// something brings the prompt back below it.
	r.ln.SetMultiLineMode(true)
	r.ln.SetCtrlCAborts(true)
	r.ln.SetTabCompletionStyle(liner.TabPrints)
	r.ln.SetWordCompleter(r.complete)
	r.hist = openHistory(r.ln)
	r.applyMode(r.cooked)
}

// closeTerminal gives the terminal back as the REPL found it.
func (r *repl) closeTerminal() {
	if r.ln != nil {
		r.ln.Close()
		r.ln = nil
	}
	r.hist.close()
}

func (r *repl) applyMode(m liner.ModeApplier) {
	if m != nil {
		m.ApplyMode()
	}
}

// setupGlobals preloads mp and time, and adds the REPL's helpers.
func (r *repl) setupGlobals() {
	L := r.w.L
	for global, mod := range map[string]string{"mp": "multiprocessing", "time": "time"} {
		if L.GetGlobal(global) != lua.LNil {
			continue
		}
		if err := r.w.Call(L.GetGlobal("require"), 1, lua.LString(mod)); err == nil {
			L.SetGlobal(global, L.Get(-1))
			L.Pop(1)
		}
	}
	for name, fn := range r.helpers() {
		if L.GetGlobal(name) == lua.LNil {
			L.SetGlobal(name, L.NewFunction(fn))
		}
	}
}

// readLine reads one line at the given prompt. io.EOF means Ctrl-D (or
// the end of standard input), liner.ErrPromptAborted means Ctrl-C.
func (r *repl) readLine(p string) (string, error) {
	if r.ln == nil {
		fmt.Fprint(os.Stderr, p)
		line, err := r.plain.ReadString('\n')
		if err == io.EOF && line != "" {
			err = nil
		}
		return strings.TrimRight(line, "\r\n"), err
	}
	r.applyMode(r.raw)
	defer r.applyMode(r.cooked)
	return r.ln.Prompt(p)
}

// loop reads and runs chunks until the end of input.
func (r *repl) loop() {
	var buf []string // the lines of an incomplete chunk
	for {
		p := prompt
		if len(buf) > 0 {
			p = morePrompt
		}
		line, err := r.readLine(p)
		switch {
		case err == nil:
		case errors.Is(err, liner.ErrPromptAborted):
			buf = nil
			continue
		case errors.Is(err, io.EOF):
			if r.ln != nil {
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
		r.hist.add(line)
		buf = append(buf, line)
		fn, incomplete, err := r.compile(strings.Join(buf, "\n"))
		if incomplete {
			continue
		}
		buf = nil
		if err != nil {
			r.w.WriteOut(os.Stderr, []byte(err.Error()+"\n"))
			continue
		}
		r.eval(fn)
	}
}

// compile compiles src as an expression to show (return src) or else as
// statements. Both go through the Lua state's Load, so the chunk registry
// keeps them and their functions can be sent to other processes. An error
// at the end of the input means the chunk is incomplete.
func (r *repl) compile(src string) (fn *lua.LFunction, incomplete bool, err error) {
	L := r.w.L
	if rest, ok := strings.CutPrefix(src, "="); ok { // Lua 5.1's "=expr"
		src = "return " + rest
	}
	fn, rerr := L.Load(strings.NewReader("return "+src), chunkName)
	if rerr == nil {
		return fn, false, nil
	}
	fn, err = L.Load(strings.NewReader(src), chunkName)
	if err == nil {
		return fn, false, nil
	}
	if atEOF(rerr) || atEOF(err) {
		return nil, true, nil
	}
	if ae, ok := err.(*lua.ApiError); ok {
		if pe, ok := ae.Cause.(*parse.Error); ok {
			if pe.Pos.Line == parse.EOF {
				return nil, false, fmt.Errorf("stdin: %s at the end of the line", strings.TrimSpace(pe.Message))
			}
			return nil, false, fmt.Errorf("stdin:%d: %s near '%s'", pe.Pos.Line, strings.TrimSpace(pe.Message), pe.Token)
		}
	}
	return nil, false, errors.New(strings.TrimSpace(err.Error()))
}

// atEOF says whether a compile error is at the end of the input, so that
// more lines may complete the chunk. An unterminated short string never
// does: a newline cannot be in one.
func atEOF(err error) bool {
	if ae, ok := err.(*lua.ApiError); ok {
		if pe, ok := ae.Cause.(*parse.Error); ok {
			return pe.Pos.Line == parse.EOF && pe.Message != "unterminated string"
		}
	}
	return false
}

// eval runs fn under a fresh context, which Ctrl-C interrupts
// (World.Interrupt), and shows what it returns. The values are kept in
// globals: the first in _ (what `x = line` would keep), the others in _2,
// _3…; a line that gives nothing keeps the last ones.
func (r *repl) eval(fn *lua.LFunction) {
	w, L := r.w, r.w.L
	w.SetContext(context.Background())
	r.setCancel(func() { w.Interrupt() })
	defer r.setCancel(nil)
	top := L.GetTop()
	err := w.Call(fn, lua.MultRet)
	if err != nil {
		L.SetTop(top)
		r.report(err)
		return
	}
	n := L.GetTop() - top
	if n == 0 {
		return
	}
	vals := make([]lua.LValue, n)
	for i := range vals {
		vals[i] = L.Get(top + 1 + i)
	}
	L.SetTop(top)
	r.keepResults(vals)
	parts := make([]string, n)
	for i, v := range vals {
		parts[i] = luaapi.Inspect(L, v, luaapi.DefaultInspect)
	}
	if w.Interrupted() {
		r.w.WriteOut(os.Stderr, []byte("KeyboardInterrupt\n"))
		return
	}
	w.WriteOut(os.Stdout, []byte(strings.Join(parts, "\t")+"\n"))
}

// keepResults sets _, _2, _3… to a line's values, and clears the _N
// left from an earlier line that gave more.
func (r *repl) keepResults(vals []lua.LValue) {
	L := r.w.L
	L.SetGlobal("_", vals[0])
	for i := 2; i <= max(len(vals), r.results); i++ {
		v := lua.LValue(lua.LNil)
		if i <= len(vals) {
			v = vals[i-1]
		}
		L.SetGlobal("_"+strconv.Itoa(i), v)
	}
	r.results = len(vals)
}

// report shows an error raised by a line: KeyboardInterrupt after Ctrl-C,
// else the error and its traceback.
func (r *repl) report(err error) {
	var le *luaapi.LuaError
	isLua := errors.As(err, &le)
	if isLua && luaapi.ErrorType(le.Value) == "KeyboardInterrupt" || r.w.Interrupted() {
		r.w.WriteOut(os.Stderr, []byte("KeyboardInterrupt\n"))
		return
	}
	msg := err.Error()
	if isLua {
		msg = le.Text
		if tb := trimTraceback(le.Traceback); tb != "" {
			msg += "\n" + tb
		}
	}
	r.w.WriteOut(os.Stderr, []byte(msg+"\n"))
}

// trimTraceback drops from a traceback the frames of the REPL's own
// machinery (the Go function that ran the line), and the traceback
// altogether when no Lua function but the line itself is in it.
func trimTraceback(tb string) string {
	lines := strings.Split(strings.TrimRight(tb, "\n"), "\n")
	var keep []string
	luaFrames := 0
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "[G]: ?" || t == "[G]: in ?" || strings.HasPrefix(t, chunkName+":") && strings.HasSuffix(t, "in main chunk") {
			continue
		}
		if t != "stack traceback:" && !strings.HasPrefix(t, "[G]:") {
			luaFrames++
		}
		keep = append(keep, l)
	}
	if luaFrames == 0 {
		return ""
	}
	return strings.Join(keep, "\n")
}

func (r *repl) setCancel(c context.CancelFunc) {
	r.mu.Lock()
	r.cancel = c
	r.mu.Unlock()
}

// watchInterrupts turns SIGINT (Ctrl-C while code runs; at the prompt
// liner reads Ctrl-C as a key) into cancelling the running line. While
// leaving, the first Ctrl-C stops the wait for the children (which are
// then terminated) and a second kills them and leaves at once.
func (r *repl) watchInterrupts() (stop func()) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, os.Interrupt)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ch:
				r.interrupt()
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
func (r *repl) interrupt() {
	r.mu.Lock()
	c, leaving := r.cancel, r.leaving
	if leaving {
		r.hits++
	}
	hits := r.hits
	r.mu.Unlock()
	if leaving && hits >= 2 {
		// As a script's second Ctrl-C: the children pass SIGTERM on to
		// theirs before they are killed.
		runtime.EndChildren(killGrace)
		fmt.Fprintln(os.Stderr, "KeyboardInterrupt")
		os.Exit(130)
	}
	if c != nil {
		c()
	}
}

// leave does what the end of a script does: daemon children terminated,
// the others waited for (saying so), and Ctrl-C terminates them.
func (r *repl) leave() int {
	// Ready for Ctrl-C before saying it can be pressed.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.mu.Lock()
	r.cancel, r.leaving = cancel, true
	r.mu.Unlock()
	var waiting []string
	for _, c := range r.w.Children() {
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
	r.w.SetContext(ctx)
	r.w.Shutdown()
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "KeyboardInterrupt: child processes terminated")
		return 130
	}
	return 0
}
