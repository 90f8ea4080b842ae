// The end of a tree's shared memory: blocks its processes made and
// nobody unlinked, unlinked by the root as Python's resource tracker
// does.

package luaapi

import (
	"fmt"
	"os"
	"strings"

	"procsh/runtime"
)

// unlinkLeakedBlocks is meant for the end of the main program, once every
// child has ended (World.Shutdown): in the root process, it unlinks the
// blocks that processes of this tree made with track on (the default)
// and nobody unlinked, and says so on standard error, as Python 3.11's
// resource tracker does ("There appear to be 1 leaked shared_memory
// objects to clean up at shutdown"). A block made by a child that has
// ended is among them: the blocks belong to the tree, not to the process
// that made them, so a child may make one for its parent. It does nothing
// in a child, and leaves alone blocks made with track = false and blocks
// of other trees or programs (runtime.LeakedShm).
func (w *World) unlinkLeakedBlocks() {
	if w.Parent != nil || w.Arena == nil {
		return
	}
	names := runtime.LeakedShm(runtime.ShmOwnerOf(w.Arena))
	var gone []string
	for _, name := range names {
		if runtime.UnlinkShm(name) == nil {
			gone = append(gone, "'"+name+"'")
		}
	}
	if len(gone) == 0 {
		return
	}
	msg := "1 shared memory block was left linked at the end of the program; it is unlinked now"
	if len(gone) > 1 {
		msg = fmt.Sprintf("%d shared memory blocks were left linked at the end of the program; they are unlinked now", len(gone))
	}
	fmt.Fprintf(os.Stderr, "procsh: %s: %s (call unlink() on a block when done with it, or make it with track = false to keep it)\n",
		msg, strings.Join(gone, ", "))
}
