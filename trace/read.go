// Reading every process's buffer back from the arena.

package trace

import (
	"fmt"
	"sync/atomic"

	"procsh/runtime"
)

// Buffer is one process's records, as Read found them.
type Buffer struct {
	Pid     int
	Dropped uint64 // records that did not fit
	Records []Record
}

// maxBuffers bounds the walk of the list of buffers, in case the arena
// was damaged.
const maxBuffers = 1 << 20

// Read walks the arena's list of buffers and decodes each: every record
// a process published, whether it still runs, ended or was killed. A
// record being written while Read runs is left out.
func Read(a *runtime.Arena) ([]Buffer, error) {
	_, head := a.TraceWords()
	var out []Buffer
	for b, n := atomic.LoadUint64(head), 0; b != 0; b, n = atomic.LoadUint64(a.Uint64(b+segNextBuf)), n+1 {
		if !segmentOK(a, b) || n > maxBuffers {
			return out, fmt.Errorf("trace: the list of buffers is damaged at offset %d", b)
		}
		if atomic.LoadUint64(a.Uint64(b+segMagic)) != bufMagic {
			return out, fmt.Errorf("trace: got no buffer at offset %d, want one (magic %#x)", b, uint64(bufMagic))
		}
		buf := Buffer{
			Pid:     int(atomic.LoadUint64(a.Uint64(b + segPid))),
			Dropped: atomic.LoadUint64(a.Uint64(b + segDropped)),
		}
		for seg := b; seg != 0; seg = atomic.LoadUint64(a.Uint64(seg + segNext)) {
			if !segmentOK(a, seg) {
				return out, fmt.Errorf("trace: pid %d's buffer is damaged at offset %d", buf.Pid, seg)
			}
			n := atomic.LoadUint64(a.Uint64(seg + segCount))
			if c := atomic.LoadUint64(a.Uint64(seg + segCap)); n > c {
				n = c
			}
			buf.Records = decodeRecords(a.Bytes(seg+segHeader, int(n*recordSize)), buf.Records)
		}
		out = append(out, buf)
	}
	return out, nil
}

// segmentOK says whether a segment at off, with the capacity its header
// gives, lies inside the arena.
func segmentOK(a *runtime.Arena, off uint64) bool {
	size := uint64(a.Size())
	if off%64 != 0 || off+segHeader > size {
		return false
	}
	c := atomic.LoadUint64(a.Uint64(off + segCap))
	return c <= maxSegment*2 && off+segHeader+c*recordSize <= size
}
