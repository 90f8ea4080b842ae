package lua

import (
	"math/rand"
	"testing"
)

// Tests of procsh's patches to the call-frame stack (callstack.go) and
// the registry's clearing of slots above its top: see PATCHES.md.

// checkStack compares cs with want, the Idx and NArgs of the frames a
// plain slice holds after the same pushes, pops and unwinds.
func checkStack(t *testing.T, step string, cs *callFrameStack, want []int) {
	t.Helper()
	if cs.Sp() != len(want) {
		t.Fatalf("%s: Sp() = %d, want %d", step, cs.Sp(), len(want))
	}
	if cs.IsEmpty() != (len(want) == 0) {
		t.Fatalf("%s: IsEmpty() = %v with %d frames", step, cs.IsEmpty(), len(want))
	}
	last := cs.Last()
	if len(want) == 0 {
		if last != nil {
			t.Fatalf("%s: Last() of an empty stack = %+v, want nil", step, last)
		}
		return
	}
	if last == nil || last.Idx != len(want)-1 || last.NArgs != want[len(want)-1] {
		t.Fatalf("%s: Last() = %+v, want Idx %d NArgs %d", step, last, len(want)-1, want[len(want)-1])
	}
	for i, nargs := range want {
		if f := cs.At(i); f.Idx != i || f.NArgs != nargs {
			t.Fatalf("%s: At(%d) = Idx %d NArgs %d, want Idx %d NArgs %d", step, i, f.Idx, f.NArgs, i, nargs)
		}
	}
}

// TestCallFrameStackModel pushes, pops and unwinds a fixed and an
// auto-growing stack at random, across segment edges, and checks every
// step against a slice.
func TestCallFrameStackModel(t *testing.T) {
	const size = 5*FramesPerSegment + 3
	for _, mode := range []string{"fixed", "auto"} {
		t.Run(mode, func(t *testing.T) {
			cs := newFixedCallFrameStack(size)
			limit := size
			if mode == "auto" {
				cs = newAutoGrowingCallFrameStack(size)
				limit = 6 * FramesPerSegment // a whole last segment
			}
			rnd := rand.New(rand.NewSource(1))
			var want []int
			for step := 0; step < 20000; step++ {
				switch op := rnd.Intn(10); {
				case op < 5:
					if cs.IsFull() != (len(want) == limit) {
						t.Fatalf("step %d: IsFull() = %v with %d frames of %d", step, cs.IsFull(), len(want), limit)
					}
					if len(want) == limit {
						continue
					}
					var f *callFrame
					if step%2 == 0 {
						f = cs.Push(callFrame{NArgs: step, Pc: 7})
					} else { // as the VM's calls push
						idx := cs.Sp()
						f = cs.next()
						*f = callFrame{Idx: idx, NArgs: step, Pc: 7}
					}
					if f != cs.Last() || f.Pc != 7 {
						t.Fatalf("step %d: Push returned %p, Last() is %p", step, f, cs.Last())
					}
					want = append(want, step)
				case op < 9:
					f := cs.Pop()
					if len(want) == 0 {
						if f != nil {
							t.Fatalf("step %d: Pop() of an empty stack = %+v, want nil", step, f)
						}
						continue
					}
					if f == nil || f.NArgs != want[len(want)-1] {
						t.Fatalf("step %d: Pop() = %+v, want NArgs %d", step, f, want[len(want)-1])
					}
					want = want[:len(want)-1]
				default:
					sp := rnd.Intn(len(want) + 1)
					cs.SetSp(sp)
					want = want[:sp]
				}
				checkStack(t, "step", cs, want)
			}
			// Filled to the limit, the stack says so and Push panics.
			for len(want) < limit {
				cs.Push(callFrame{NArgs: len(want)})
				want = append(want, len(want))
			}
			checkStack(t, "full", cs, want)
			if !cs.IsFull() {
				t.Fatalf("IsFull() = false with %d frames of %d", len(want), limit)
			}
			func() {
				defer func() {
					if recover() == nil {
						t.Fatalf("Push on a full stack did not panic")
					}
				}()
				cs.Push(callFrame{})
			}()
			cs.FreeAll()
		})
	}
}

// TestCallFrameStackSetSpAtSegmentEdge unwinds to a depth that fills the
// first segment exactly while no second segment exists: upstream's
// SetSp took that depth for segment 1's start and left the stack empty.
func TestCallFrameStackSetSpAtSegmentEdge(t *testing.T) {
	cs := newAutoGrowingCallFrameStack(100)
	for i := 0; i < FramesPerSegment; i++ {
		cs.Push(callFrame{NArgs: i})
	}
	cs.SetSp(FramesPerSegment)
	want := make([]int, FramesPerSegment)
	for i := range want {
		want[i] = i
	}
	checkStack(t, "SetSp(FramesPerSegment)", cs, want)
}

// TestCallFrameStackKeepsSegment: calls that go back and forth across a
// segment's edge reuse one segment, where they took one from the pool
// and gave it back at every call.
func TestCallFrameStackKeepsSegment(t *testing.T) {
	cs := newAutoGrowingCallFrameStack(100)
	for i := 0; i < FramesPerSegment-1; i++ {
		cs.Push(callFrame{})
	}
	cs.Push(callFrame{})
	cs.Push(callFrame{}) // the first frame of segment 1
	seg := cs.segments[1]
	for i := 0; i < 100; i++ {
		cs.Pop()
		cs.Pop()
		cs.Push(callFrame{})
		cs.Push(callFrame{})
		if cs.segments[1] != seg {
			t.Fatalf("turn %d: segment 1 was replaced", i)
		}
	}
	// Two segments down, the kept one above is given back.
	for cs.Sp() > FramesPerSegment-1 {
		cs.Pop()
	}
	if len(cs.segments) > 1 && cs.segments[1] == nil {
		t.Fatalf("segment 1 was given back as soon as it was left")
	}
	for i := 0; i < 2*FramesPerSegment+1; i++ {
		cs.Push(callFrame{})
	}
	for cs.Sp() > FramesPerSegment-1 {
		cs.Pop()
	}
	if cs.segments[2] != nil {
		t.Fatalf("segment 2 was kept two segments above the stack's top")
	}
	// An unwind gives back every segment above the new top's.
	for cs.Sp() < 3*FramesPerSegment+1 {
		cs.Push(callFrame{})
	}
	cs.SetSp(0)
	for i := 1; i < len(cs.segments); i++ {
		if cs.segments[i] != nil {
			t.Fatalf("SetSp(0) kept segment %d", i)
		}
	}
}

// TestRegistryClearsAboveTop: the slots a return leaves above the top,
// a few (cleared one by one) or many (cleared as a slice), are nil, so
// that their values can be collected.
func TestRegistryClearsAboveTop(t *testing.T) {
	for _, n := range []int{1, 3, 16, 17, 100} {
		L := NewState()
		L.SetGlobal("many", L.NewFunction(func(L *LState) int {
			for i := 0; i < n; i++ {
				L.Push(LString("x"))
			}
			return 1
		}))
		if err := L.DoString(`local x = many()`); err != nil {
			t.Fatal(err)
		}
		for i := L.reg.Top(); i < len(L.reg.array); i++ {
			if L.reg.array[i] != nil {
				t.Fatalf("n=%d: slot %d above the top (%d) holds %v", n, i, L.reg.Top(), L.reg.array[i])
			}
		}
		L.Close()
	}
}
