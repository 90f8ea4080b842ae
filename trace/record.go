// The record format: the fixed-size binary records each process appends
// to its trace buffer, and the strings that follow some of them.

package trace

import (
	"encoding/binary"
	"unicode/utf8"
)

// recordSize is the size of every record. A record:
//
//	0   ts     u64  CLOCK_MONOTONIC ns: when it happened, or began
//	8   end    u64  when it ended (slices), else 0
//	16  kind   u8
//	17  nstr   u8   how many records of strings follow
//	18  flags  u16
//	20  a      u32
//	24  b      u64
//	32  c      u64
//	40  d      u64
//
// A record with strings (a process's name, a mark's name and arguments)
// is followed by nstr records that hold them: each string as a uvarint
// length and its bytes, one after the other, the last record padded with
// zeros. The fields each kind uses are listed with the kinds.
const recordSize = 48

// maxStrings is the most bytes of strings one record carries; longer
// strings are cut (at a character boundary).
const maxStrings = 255 * recordSize

// kind says what a record is. For each: what ts, end, a, b, c, d and the
// strings hold.
type kind uint8

const (
	// kindStart: the process's first instruction. a: the parent's pid (0
	// for the root). Strings: the process's name.
	kindStart kind = iota + 1
	// kindEnd: the process ends by itself. a: its exit code (int32).
	kindEnd
	// kindSpawn: start() of a child, from ts to end. a: the child's pid.
	// Strings: its name.
	kindSpawn
	// kindReap: the parent saw its child end. a: the child's pid, b: its
	// exit code (int64: -N for signal N).
	kindReap
	// kindWait: a blocking wait of a synchronisation object, from ts to
	// end. flags: the runtime.WaitKind in the low byte, and waitRecovered,
	// waitOK, waitBroken. a: the lock's holder's pid (0: unknown), b: the
	// object's offset, c: a Barrier party's index, d: its generation.
	kindWait
	// kindJoin: Process:join that waited, from ts to end. a: the child's
	// pid; flags: joinEnded when the child had ended.
	kindJoin
	// kindPut and kindGet: a message put into or taken from a ring,
	// committed at end; ts is when a blocked call began (flags:
	// msgBlocked; else ts == end). b: the ring's offset, c: the message's
	// sequence number; flags: msgPipe for a Pipe's ring.
	kindPut
	kindGet
	// kindMark: mp.trace.mark. Strings: the name, the arguments as a JSON
	// object (or "").
	kindMark
	// kindSpanBegin and kindSpanEnd: mp.trace.span. b: the span's id.
	// Strings (begin): the name.
	kindSpanBegin
	kindSpanEnd
	// kindDispatch: the parent sent a pool task to a worker, at end; ts
	// is when the script made the call the task belongs to. a: the
	// worker's pid, b: the task's id (this process's), c: the number of
	// the frame on that worker's pipe (the first is 1), d: the task's
	// first item (0-based) << 32 | its number of items. Strings: the
	// call ("map", "apply_async"…).
	kindDispatch
	// kindTaskBegin and kindTaskEnd: a worker runs a task. c: the number
	// of the frame it came in (as kindDispatch's c); begin: b the call's
	// id, a the items.
	kindTaskBegin
	kindTaskEnd
	// kindResult: the parent took a task's result. b: the task's id.
	kindResult
	// kindLost: the parent learnt that the worker running a task died.
	// a: the worker's pid, b: the task's id.
	kindLost
	// kindPoolWait: the script waited for a pool's workers (map, get,
	// wait, join…), from ts to end.
	kindPoolWait
	numKinds
)

// Flags of kindWait, above the runtime.WaitKind.
const (
	waitRecovered = 1 << 8
	waitOK        = 1 << 9
	waitBroken    = 1 << 10
)

// Flags of kindPut and kindGet, and of kindJoin.
const (
	msgBlocked = 1 << 0
	msgPipe    = 1 << 1
	joinEnded  = 1 << 0
)

// Record is one decoded record.
type Record struct {
	TS, End int64
	Kind    kind
	Flags   uint16
	A       uint32
	B, C, D uint64
	Strs    []string
}

// stringsBlob lays strings out as a record's strings, cut to maxStrings
// bytes in all, appended to dst.
func stringsBlob(dst []byte, strs []string) []byte {
	for _, s := range strs {
		room := maxStrings - len(dst) - binary.MaxVarintLen16
		if room < 0 {
			room = 0
		}
		if len(s) > room {
			s = cutString(s, room)
		}
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	return dst
}

// cutString cuts s to at most n bytes without splitting a character.
func cutString(s string, n int) string {
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// putRecord writes rec's fixed part into dst (recordSize bytes); nstr is
// the number of string records that follow it.
func putRecord(dst []byte, rec *Record, nstr int) {
	le := binary.LittleEndian
	le.PutUint64(dst[0:], uint64(rec.TS))
	le.PutUint64(dst[8:], uint64(rec.End))
	dst[16] = byte(rec.Kind)
	dst[17] = byte(nstr)
	le.PutUint16(dst[18:], rec.Flags)
	le.PutUint32(dst[20:], rec.A)
	le.PutUint64(dst[24:], rec.B)
	le.PutUint64(dst[32:], rec.C)
	le.PutUint64(dst[40:], rec.D)
}

// decodeRecords decodes n records from buf (n*recordSize bytes). A
// record whose kind is unknown, or whose strings are cut off or
// malformed, is skipped.
func decodeRecords(buf []byte, out []Record) []Record {
	le := binary.LittleEndian
	n := len(buf) / recordSize
	for i := 0; i < n; i++ {
		b := buf[i*recordSize : (i+1)*recordSize]
		rec := Record{
			TS:    int64(le.Uint64(b[0:])),
			End:   int64(le.Uint64(b[8:])),
			Kind:  kind(b[16]),
			Flags: le.Uint16(b[18:]),
			A:     le.Uint32(b[20:]),
			B:     le.Uint64(b[24:]),
			C:     le.Uint64(b[32:]),
			D:     le.Uint64(b[40:]),
		}
		nstr := int(b[17])
		if i+nstr >= n && nstr > 0 {
			break // its strings were never published
		}
		if nstr > 0 {
			blob := buf[(i+1)*recordSize : (i+1+nstr)*recordSize]
			i += nstr
			strs, ok := readStrings(blob)
			if !ok {
				continue
			}
			rec.Strs = strs
		}
		if rec.Kind == 0 || rec.Kind >= numKinds {
			continue
		}
		out = append(out, rec)
	}
	return out
}

// readStrings reads the strings of a blob, up to its zero padding.
func readStrings(blob []byte) ([]string, bool) {
	var strs []string
	for len(blob) > 0 {
		n, k := binary.Uvarint(blob)
		if k <= 0 || n > uint64(len(blob)-k) {
			return nil, false
		}
		if n == 0 && allZero(blob) {
			break
		}
		strs = append(strs, string(blob[k:k+int(n)]))
		blob = blob[k+int(n):]
	}
	return strs, true
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
