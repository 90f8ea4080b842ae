package lua

import "sync"

// procsh patch: the call-frame stack is one concrete type with both of
// upstream's behaviours, where it was an interface (callFrameStack) with
// a fixed and an auto-growing implementation. Every Lua call pushes,
// reads and pops frames through it (some 25 times for one turn of a loop
// that takes a lock and sets a shared value), and an interface call can
// be neither inlined nor predicted as well as a direct one; the common
// case, a push or pop inside the current segment, is now a few inlined
// instructions.
//
// A fixed stack (the default) is one segment of CallStackSize frames.
// An auto-growing stack (Options.MinimizeStackMemory) is a list of
// segments of FramesPerSegment frames, taken from a pool as calls nest
// and given back as they return, up to enough segments for maxSize
// frames. Frames never move: the VM keeps pointers to them (Parent,
// LState.currentFrame, Debug).

// FramesPerSegment should be a power of 2 constant for performance reasons. It will allow the go compiler to change
// the divs and mods into bitshifts.
const FramesPerSegment = 8

type callFrameStackSegment struct {
	array [FramesPerSegment]callFrame
}

type callFrameStack struct {
	// cur is the segment frames are pushed to, curSp the frames used in
	// it (len(cur) when it is full, 0 when the frames below are in the
	// segment before), and base the Idx of cur[0].
	cur   []callFrame
	curSp int
	base  int
	// segments is nil for a fixed stack. For an auto-growing one it
	// holds the segments in use, segments[segIdx] being cur's, and may
	// hold one more, empty, kept for the next call: a program whose
	// calls go back and forth across a segment's edge would otherwise
	// take a segment from the pool and give it back at every call.
	segments []*callFrameStackSegment
	segIdx   int
	// maxSegs is the most segments an auto-growing stack may have (1
	// for a fixed stack).
	maxSegs int
}

var segmentPool sync.Pool

func newCallFrameStackSegment() *callFrameStackSegment {
	seg := segmentPool.Get()
	if seg == nil {
		return &callFrameStackSegment{}
	}
	return seg.(*callFrameStackSegment)
}

func freeCallFrameStackSegment(seg *callFrameStackSegment) {
	segmentPool.Put(seg)
}

// newFixedCallFrameStack makes a stack of size frames, allocated now.
func newFixedCallFrameStack(size int) *callFrameStack {
	return &callFrameStack{cur: make([]callFrame, size), maxSegs: 1}
}

// newAutoGrowingCallFrameStack makes a stack that grows up to a max size of at least maxSize.
// it will actually grow up to the next segment size multiple after maxSize, where the segment size is dictated by
// FramesPerSegment.
func newAutoGrowingCallFrameStack(maxSize int) *callFrameStack {
	// The segment table starts with one segment and grows with the
	// stack: made at its full length, it cost every coroutine of a
	// state with a deep limit as much as a deep stack.
	seg := newCallFrameStackSegment()
	cs := &callFrameStack{
		cur:      seg.array[:],
		segments: make([]*callFrameStackSegment, 1, 4),
		maxSegs:  (maxSize + (FramesPerSegment - 1)) / FramesPerSegment,
	}
	if cs.maxSegs < 1 {
		cs.maxSegs = 1
	}
	cs.segments[0] = seg
	return cs
}

func (cs *callFrameStack) IsEmpty() bool { return cs.curSp == 0 && cs.base == 0 }

// IsFull returns true if the stack cannot receive any more stack pushes without overflowing
func (cs *callFrameStack) IsFull() bool {
	return cs.curSp == len(cs.cur) && cs.segIdx >= cs.maxSegs-1
}

// Sp retrieves the current stack depth, which is the number of frames currently pushed on the stack.
func (cs *callFrameStack) Sp() int { return cs.base + cs.curSp }

// Push pushes the passed callFrame onto the stack and returns it. It panics if the stack is full, caller should
// call IsFull() before invoking this to avoid this.
func (cs *callFrameStack) Push(v callFrame) *callFrame {
	v.Idx = cs.Sp()
	f := cs.next()
	*f = v
	return f
}

// next makes room for a frame on the stack and returns it, for the
// caller to fill, Idx (Sp() before the call) included. It is Push for
// the calls the VM makes at every turn: it is inlined, where Push, a
// frame passed by value and copied, is not.
func (cs *callFrameStack) next() *callFrame {
	if cs.curSp == len(cs.cur) {
		cs.nextSegment()
	}
	cs.curSp++
	return &cs.cur[cs.curSp-1]
}

// nextSegment makes the segment after the current one current, for a
// push into a full segment.
func (cs *callFrameStack) nextSegment() {
	if cs.segIdx >= cs.maxSegs-1 {
		panic("lua callstack overflow")
	}
	cs.segIdx++
	if cs.segIdx == len(cs.segments) {
		cs.segments = append(cs.segments, nil)
	}
	seg := cs.segments[cs.segIdx]
	if seg == nil {
		seg = newCallFrameStackSegment()
		cs.segments[cs.segIdx] = seg
	}
	cs.cur = seg.array[:]
	cs.base += FramesPerSegment
	cs.curSp = 0
}

// Pop pops off the most recent stack frame and returns it (nil when the stack is empty).
func (cs *callFrameStack) Pop() *callFrame {
	if cs.curSp == 0 && !cs.prevSegment() {
		return nil
	}
	cs.curSp--
	return &cs.cur[cs.curSp]
}

// prevSegment makes the segment before the current, empty, one current
// and full, for a pop or a look at the last frame; false when there is
// none. The segment left is kept for the next push, and one kept before
// it is given back.
func (cs *callFrameStack) prevSegment() bool {
	if cs.segIdx == 0 {
		return false
	}
	if cs.segIdx+1 < len(cs.segments) && cs.segments[cs.segIdx+1] != nil {
		freeCallFrameStackSegment(cs.segments[cs.segIdx+1])
		cs.segments[cs.segIdx+1] = nil
	}
	cs.segIdx--
	cs.cur = cs.segments[cs.segIdx].array[:]
	cs.base -= FramesPerSegment
	cs.curSp = FramesPerSegment
	return true
}

// Last returns the most recent stack frame, nil when the stack is empty.
func (cs *callFrameStack) Last() *callFrame {
	if cs.curSp > 0 {
		return &cs.cur[cs.curSp-1]
	}
	if cs.segIdx == 0 {
		return nil
	}
	return &cs.segments[cs.segIdx-1].array[FramesPerSegment-1]
}

// At returns the frame at depth sp (0 is the first frame pushed).
func (cs *callFrameStack) At(sp int) *callFrame {
	if cs.segments == nil {
		return &cs.cur[sp]
	}
	return &cs.segments[sp/FramesPerSegment].array[sp%FramesPerSegment]
}

// SetSp can be used to rapidly unwind the stack, freeing all stack frames on the way. It should not be used to
// allocate new stack space, use Push() for that.
func (cs *callFrameStack) SetSp(sp int) {
	if sp >= cs.base {
		cs.curSp = sp - cs.base
		return
	}
	// Every segment above the one that holds frame sp-1 is given back,
	// the current one and a kept one above it included.
	for i := len(cs.segments) - 1; i > 0 && i*FramesPerSegment >= sp; i-- {
		if cs.segments[i] != nil {
			freeCallFrameStackSegment(cs.segments[i])
			cs.segments[i] = nil
		}
	}
	cs.segIdx = 0
	if sp > 0 {
		cs.segIdx = (sp - 1) / FramesPerSegment
	}
	cs.cur = cs.segments[cs.segIdx].array[:]
	cs.base = cs.segIdx * FramesPerSegment
	cs.curSp = sp - cs.base
}

// FreeAll gives an auto-growing stack's segments back to the pool.
func (cs *callFrameStack) FreeAll() {
	for i, seg := range cs.segments {
		if seg != nil {
			freeCallFrameStackSegment(seg)
			cs.segments[i] = nil
		}
	}
	cs.cur = nil
	cs.curSp = 0
	cs.base = 0
}
