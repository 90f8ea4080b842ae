// Python array typecodes: the element types of shared Values and Arrays.

package runtime

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync/atomic"
	"unsafe"
)

// Typecodes are those of Python's array module, with the sizes they have on
// Linux x86-64: b B h H i I l L q Q (integers, signed lower-case) f d
// (float32, float64).
const Typecodes = "bBhHiIlLqQfd"

// maxExact is the largest integer magnitude a Lua number (a float64) holds
// exactly.
const maxExact = 1 << 53

// TypeSize returns the size in bytes of one element of typecode code.
func TypeSize(code byte) (int, error) {
	switch code {
	case 'b', 'B':
		return 1, nil
	case 'h', 'H':
		return 2, nil
	case 'i', 'I', 'f':
		return 4, nil
	case 'l', 'L', 'q', 'Q', 'd':
		return 8, nil
	}
	return 0, fmt.Errorf("bad typecode %q, want one of b, B, h, H, i, I, l, L, q, Q, f, d", string(rune(code)))
}

// intRange returns the range of integer typecode code, clipped to what a
// float64 holds exactly.
func intRange(code byte) (lo, hi float64, ok bool) {
	switch code {
	case 'b':
		return math.MinInt8, math.MaxInt8, true
	case 'B':
		return 0, math.MaxUint8, true
	case 'h':
		return math.MinInt16, math.MaxInt16, true
	case 'H':
		return 0, math.MaxUint16, true
	case 'i':
		return math.MinInt32, math.MaxInt32, true
	case 'I':
		return 0, math.MaxUint32, true
	case 'l', 'q':
		return -maxExact, maxExact, true
	case 'L', 'Q':
		return 0, maxExact, true
	}
	return 0, 0, false
}

// StoreNumber writes v as one element of typecode code at the start of
// dst. Nothing wraps or rounds silently: for an integer code, v must be an
// integer within the code's range (and within ±2^53, beyond which a Lua
// number is not exact); for 'f', v must not round beyond float32's range (NaN
// and the infinities are allowed). Aligned 4- and 8-byte elements are stored
// atomically, so a reader in another process never sees half a value.
func StoreNumber(code byte, dst []byte, v float64) error {
	size, err := TypeSize(code)
	if err != nil {
		return err
	}
	if len(dst) < size {
		return fmt.Errorf("typecode %q: got %d bytes to store into, want %d", string(rune(code)), len(dst), size)
	}
	switch code {
	case 'd':
		store64(dst, math.Float64bits(v))
		return nil
	case 'f':
		// As CPython packs 'f': refuse what would round to an infinity.
		if math.IsInf(float64(float32(v)), 0) && !math.IsInf(v, 0) {
			return fmt.Errorf("typecode 'f': %v is out of range, want a number from %v to %v", v, -math.MaxFloat32, math.MaxFloat32)
		}
		store32(dst, math.Float32bits(float32(v)))
		return nil
	}
	lo, hi, _ := intRange(code)
	if v != math.Trunc(v) || math.IsInf(v, 0) {
		return fmt.Errorf("typecode %q: got %v, want an integer from %.0f to %.0f", string(rune(code)), v, lo, hi)
	}
	if v < lo || v > hi {
		extra := ""
		if hi == maxExact {
			extra = " (a Lua number is exact only up to 2^53)"
		}
		return fmt.Errorf("typecode %q: %.0f is out of range, want an integer from %.0f to %.0f%s", string(rune(code)), v, lo, hi, extra)
	}
	i := int64(v)
	switch size {
	case 1:
		dst[0] = byte(i)
	case 2:
		store16(dst, uint16(i))
	case 4:
		store32(dst, uint32(i))
	case 8:
		store64(dst, uint64(i))
	}
	return nil
}

// LoadNumber reads one element of typecode code from the start of src. An
// unknown code, or src too short, reads as NaN.
func LoadNumber(code byte, src []byte) float64 {
	size, err := TypeSize(code)
	if err != nil || len(src) < size {
		return math.NaN()
	}
	switch code {
	case 'b':
		return float64(int8(src[0]))
	case 'B':
		return float64(src[0])
	case 'h':
		return float64(int16(load16(src)))
	case 'H':
		return float64(load16(src))
	case 'i':
		return float64(int32(load32(src)))
	case 'I':
		return float64(load32(src))
	case 'f':
		return float64(math.Float32frombits(load32(src)))
	case 'l', 'q':
		return float64(int64(load64(src)))
	case 'L', 'Q':
		return float64(load64(src))
	default: // 'd'
		return math.Float64frombits(load64(src))
	}
}

// The machine is little-endian (x86-64, arm64), so native and
// little-endian layouts agree; aligned words go through atomics.

func aligned(b []byte, n uintptr) bool {
	return uintptr(unsafe.Pointer(&b[0]))%n == 0
}

func store16(b []byte, v uint16) {
	if aligned(b, 2) {
		*(*uint16)(unsafe.Pointer(&b[0])) = v // one aligned store
		return
	}
	binary.LittleEndian.PutUint16(b, v)
}

func load16(b []byte) uint16 {
	if aligned(b, 2) {
		return *(*uint16)(unsafe.Pointer(&b[0]))
	}
	return binary.LittleEndian.Uint16(b)
}

func store32(b []byte, v uint32) {
	if aligned(b, 4) {
		atomic.StoreUint32((*uint32)(unsafe.Pointer(&b[0])), v)
		return
	}
	binary.LittleEndian.PutUint32(b, v)
}

func load32(b []byte) uint32 {
	if aligned(b, 4) {
		return atomic.LoadUint32((*uint32)(unsafe.Pointer(&b[0])))
	}
	return binary.LittleEndian.Uint32(b)
}

func store64(b []byte, v uint64) {
	if aligned(b, 8) {
		atomic.StoreUint64((*uint64)(unsafe.Pointer(&b[0])), v)
		return
	}
	binary.LittleEndian.PutUint64(b, v)
}

func load64(b []byte) uint64 {
	if aligned(b, 8) {
		return atomic.LoadUint64((*uint64)(unsafe.Pointer(&b[0])))
	}
	return binary.LittleEndian.Uint64(b)
}
