// The watchdog pipe: how a child learns that its parent is gone.

package runtime

import (
	"fmt"
	"os"
	"sync"
)

// PR_SET_PDEATHSIG alone is not enough for a Go parent: the signal fires
// when the OS thread that started the child exits, not the process
// (golang/go#27505), and it misses a parent that died before the child
// set it. So every child also inherits the read end of a pipe whose write
// end only the parent holds; when the parent dies, however it dies, the
// kernel closes the write end and the child reads end of file.

var watchdog struct {
	once sync.Once
	r, w *os.File
	err  error
}

// watchdogReader is the read end handed to every child of this process.
// The write end stays open, unused, for the life of the process.
func watchdogReader() (*os.File, error) {
	watchdog.once.Do(func() {
		watchdog.r, watchdog.w, watchdog.err = os.Pipe()
		if watchdog.err != nil {
			watchdog.err = fmt.Errorf("spawn: watchdog pipe: %w", watchdog.err)
		}
	})
	return watchdog.r, watchdog.err
}

// WatchParent calls gone, on its own goroutine, when the parent of this
// child process has ended. It is a no-op when WatchdogFD is not a pipe.
func WatchParent(gone func()) {
	f := os.NewFile(WatchdogFD, "watchdog")
	if f == nil {
		return
	}
	go func() {
		buf := make([]byte, 1)
		for {
			if _, err := f.Read(buf); err != nil {
				gone()
				return
			}
		}
	}()
}
