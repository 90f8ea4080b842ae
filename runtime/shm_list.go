// ShmList: Python's ShareableList as bytes in a named block: a fixed
// number of slots, each holding a number, a string, a boolean or nothing.

package runtime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"unsafe"
)

// ShmKind is what a slot of a ShmList holds.
type ShmKind uint8

const (
	ShmNil ShmKind = iota
	ShmNumber
	ShmString
	ShmFalse
	ShmTrue
)

// ShmItem is the value of one slot: Num for ShmNumber, Str for ShmString.
type ShmItem struct {
	Kind ShmKind
	Num  float64
	Str  string
}

// ErrShmListRoom is wrapped by Set's error when a string is longer than
// its slot's room.
var ErrShmListRoom = errors.New("item exceeds its slot's room")

// ErrShmListLayout is wrapped by the error of reading a block that does
// not hold a ShmList, or a slot whose bytes were overwritten by hand.
var ErrShmListLayout = errors.New("not a shareable list")

// ShmList is a list of slots in a Shm. Its length and each slot's room
// are fixed when it is made: a slot made for a number, a boolean or
// nothing has room for 8 bytes, one made for a string of n bytes for n
// rounded up to a multiple of 8 (at least 8), as Python's ShareableList
// gives. Any slot takes any kind that fits its room.
//
// The layout (procsh's own, not Python's, which the Lua user never sees):
//
//	0   magic "PROCSHL1", written last when the list is made
//	8   number of slots
//	16  the room of each slot in bytes, uint32 each, padded to 8 bytes
//	    then each slot: its state word (8 bytes) and its room
//
// A state word holds the kind in its low byte and a string's length in
// the bits above. Set writes the slot's bytes first and its state word
// last, each word with one atomic store: a process killed in the middle
// of a Set leaves a slot holding its old kind (a string's bytes maybe
// part old, part new) or the new value, never one that cannot be read.
// There is no lock, as in Python: a reader racing a writer of the same
// string slot may see a mix of the two; hold a Lock for more.
//
// A ShmList is used by one goroutine at a time.
type ShmList struct {
	shm   *Shm
	slots []int // offset of each slot's state word
	rooms []int
}

var shmListMagic = binary.LittleEndian.Uint64([]byte("PROCSHL1"))

const (
	shmListHeader  = 16
	shmListMinRoom = 8
	shmListMaxRoom = math.MaxUint32 &^ 7
)

// shmListRoom is the room a slot made for it gets.
func shmListRoom(it ShmItem) int {
	if it.Kind != ShmString {
		return shmListMinRoom
	}
	return max(shmListMinRoom, (len(it.Str)+7)&^7)
}

// shmListSize is the size of a block holding items, and each slot's
// room.
func shmListSize(items []ShmItem) (int, []int, error) {
	rooms := make([]int, len(items))
	size := shmListHeader + (4*len(items)+7)&^7
	for i, it := range items {
		if it.Kind > ShmTrue {
			return 0, nil, fmt.Errorf("shared memory list: item %d has kind %d, want one of ShmNil to ShmTrue", i+1, it.Kind)
		}
		if len(it.Str) > shmListMaxRoom {
			return 0, nil, fmt.Errorf("shared memory list: item %d is a string of %d bytes, want at most %d", i+1, len(it.Str), shmListMaxRoom)
		}
		rooms[i] = shmListRoom(it)
		size += 8 + rooms[i]
	}
	return size, rooms, nil
}

// CreateShmList makes a block holding items (CreateShm's name and owner)
// and returns the list in it.
func CreateShmList(name string, items []ShmItem, owner ShmOwner) (*ShmList, error) {
	size, rooms, err := shmListSize(items)
	if err != nil {
		return nil, err
	}
	s, err := CreateShm(name, size, owner)
	if err != nil {
		return nil, err
	}
	l := &ShmList{shm: s, rooms: rooms, slots: make([]int, len(items))}
	off := shmListHeader + (4*len(items)+7)&^7
	for i := range items {
		l.slots[i] = off
		off += 8 + rooms[i]
	}
	err = s.With(func(mem []byte) {
		binary.LittleEndian.PutUint64(mem[8:], uint64(len(items)))
		for i, r := range rooms {
			binary.LittleEndian.PutUint32(mem[shmListHeader+4*i:], uint32(r))
		}
		for i, it := range items {
			l.store(mem, i, it)
		}
		atomic.StoreUint64(word(mem, 0), shmListMagic)
	})
	if err != nil {
		s.Close()
		UnlinkShm(s.Name())
		return nil, err
	}
	return l, nil
}

// OpenShmList reads the list in the block s maps. The error wraps
// ErrShmListLayout when s holds none.
func OpenShmList(s *Shm) (*ShmList, error) {
	var l *ShmList
	var bad string
	err := s.With(func(mem []byte) {
		if len(mem) < shmListHeader || atomic.LoadUint64(word(mem, 0)) != shmListMagic {
			bad = "no list header"
			return
		}
		n := binary.LittleEndian.Uint64(mem[8:])
		// Each slot takes at least 4 + 8 + 8 bytes.
		if n > uint64(len(mem)-shmListHeader)/20 {
			bad = fmt.Sprintf("%d slots in %d bytes", n, len(mem))
			return
		}
		l = &ShmList{shm: s, slots: make([]int, n), rooms: make([]int, n)}
		off := shmListHeader + (4*int(n)+7)&^7
		for i := range l.slots {
			r := int(binary.LittleEndian.Uint32(mem[shmListHeader+4*i:]))
			if r < shmListMinRoom || r%8 != 0 || off+8+r > len(mem) || off+8+r < off {
				bad = fmt.Sprintf("slot %d has room %d", i+1, r)
				return
			}
			l.slots[i], l.rooms[i] = off, r
			off += 8 + r
		}
	})
	if err != nil {
		return nil, err
	}
	if bad != "" {
		return nil, fmt.Errorf("shared memory list: the block %q holds no list made by procsh (%s): %w", s.Name(), bad, ErrShmListLayout)
	}
	return l, nil
}

// Shm is the block the list lives in.
func (l *ShmList) Shm() *Shm { return l.shm }

// Len is the number of slots.
func (l *ShmList) Len() int { return len(l.slots) }

// Room is the number of bytes slot i (from 0) can hold.
func (l *ShmList) Room(i int) int { return l.rooms[i] }

// Get reads slot i (from 0, below Len).
func (l *ShmList) Get(i int) (ShmItem, error) {
	var it ShmItem
	var bad error
	err := l.shm.With(func(mem []byte) {
		off := l.slots[i]
		state := atomic.LoadUint64(word(mem, off))
		kind, n := ShmKind(state&0xff), state>>8
		switch kind {
		case ShmNil, ShmFalse, ShmTrue:
			it.Kind = kind
		case ShmNumber:
			it = ShmItem{Kind: kind, Num: math.Float64frombits(atomic.LoadUint64(word(mem, off+8)))}
		case ShmString:
			if n > uint64(l.rooms[i]) {
				bad = fmt.Errorf("shared memory list: item %d of %q says it holds %d bytes, its room is %d (was the block written by hand?): %w", i+1, l.shm.Name(), n, l.rooms[i], ErrShmListLayout)
				return
			}
			it = ShmItem{Kind: kind, Str: string(mem[off+8 : off+8+int(n)])}
		default:
			bad = fmt.Errorf("shared memory list: item %d of %q has kind %d (was the block written by hand?): %w", i+1, l.shm.Name(), kind, ErrShmListLayout)
		}
	})
	if err == nil {
		err = bad
	}
	return it, err
}

// Set stores it in slot i (from 0, below Len). The error wraps
// ErrShmListRoom when it is a string longer than the slot's room.
func (l *ShmList) Set(i int, it ShmItem) error {
	if it.Kind > ShmTrue {
		return fmt.Errorf("shared memory list: got kind %d, want one of ShmNil to ShmTrue", it.Kind)
	}
	if it.Kind == ShmString && len(it.Str) > l.rooms[i] {
		return fmt.Errorf("shared memory list: item %d: got a string of %d bytes, its room is %d bytes, fixed when the list was made: %w", i+1, len(it.Str), l.rooms[i], ErrShmListRoom)
	}
	return l.shm.With(func(mem []byte) { l.store(mem, i, it) })
}

// store writes it into slot i: the bytes, then the state word.
func (l *ShmList) store(mem []byte, i int, it ShmItem) {
	off := l.slots[i]
	state := uint64(it.Kind)
	switch it.Kind {
	case ShmNumber:
		atomic.StoreUint64(word(mem, off+8), math.Float64bits(it.Num))
	case ShmString:
		copy(mem[off+8:off+8+len(it.Str)], it.Str)
		state |= uint64(len(it.Str)) << 8
	}
	atomic.StoreUint64(word(mem, off), state)
}

// word is the 8-byte word at off (8-aligned) of a mapping.
func word(mem []byte, off int) *uint64 {
	_ = mem[off+7]
	return (*uint64)(unsafe.Pointer(&mem[off]))
}
