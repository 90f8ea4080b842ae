// The REPL: read a line, run it, print what it returns.

package main

import (
	"bufio"
	"fmt"
	"os"

	"procsh/luaapi"
)

// runREPL is a plain line-by-line REPL.
func runREPL(w *luaapi.World) int {
	in := bufio.NewScanner(os.Stdin)
	fmt.Println(version)
	for {
		fmt.Print("> ")
		if !in.Scan() {
			fmt.Println()
			break
		}
		line := in.Text()
		if err := w.RunChunk("return "+line, "=stdin"); err != nil {
			if err := w.RunChunk(line, "=stdin"); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
		}
	}
	w.Shutdown()
	return 0
}
