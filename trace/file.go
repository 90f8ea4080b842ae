// The Chrome Trace Event file: its Go form, writing it and reading it
// back.

package trace

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"

	"procsh/runtime"
)

// File is a trace in the Chrome Trace Event format, which Perfetto
// (ui.perfetto.dev) and chrome://tracing open:
//
//	{"traceEvents": [...], "displayTimeUnit": "ms", "otherData": {...}}
//
// docs/trace.md lists every event procsh writes.
type File struct {
	TraceEvents     []Event        `json:"traceEvents"`
	DisplayTimeUnit string         `json:"displayTimeUnit"`
	OtherData       map[string]any `json:"otherData,omitempty"`
}

// Event is one trace event. Ts and Dur are in microseconds, from the
// trace's first event.
type Event struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	Ts   float64        `json:"ts"`
	Dur  *float64       `json:"dur,omitempty"`
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	ID   uint64         `json:"id,omitempty"`
	S    string         `json:"s,omitempty"`
	Bp   string         `json:"bp,omitempty"`
	Args map[string]any `json:"args,omitempty"`
}

// End is the end of a complete event (ph "X"): Ts + Dur.
func (e *Event) End() float64 {
	if e.Dur == nil {
		return e.Ts
	}
	return e.Ts + *e.Dur
}

// Collect reads every process's buffer from the arena and builds the
// trace.
func Collect(a *runtime.Arena) (*File, error) {
	bufs, err := Read(a)
	f := Build(bufs)
	return f, err
}

// Write writes f as JSON, one event a line.
func (f *File) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("{\"traceEvents\": [\n")
	for i := range f.TraceEvents {
		b, err := json.Marshal(&f.TraceEvents[i])
		if err != nil {
			return fmt.Errorf("trace: event %d (%s): %w", i, f.TraceEvents[i].Name, err)
		}
		if i > 0 {
			bw.WriteString(",\n")
		}
		bw.Write(b)
	}
	bw.WriteString("\n],\n\"displayTimeUnit\": " + strconv.Quote(f.DisplayTimeUnit))
	if len(f.OtherData) > 0 {
		b, err := json.Marshal(f.OtherData)
		if err != nil {
			return fmt.Errorf("trace: otherData: %w", err)
		}
		bw.WriteString(",\n\"otherData\": ")
		bw.Write(b)
	}
	bw.WriteString("\n}\n")
	return bw.Flush()
}

// WriteFile writes f to the file at path.
func (f *File) WriteFile(path string) error {
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("trace: %w", err)
	}
	if err := f.Write(out); err != nil {
		out.Close()
		return fmt.Errorf("trace: writing %s: %w", path, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("trace: writing %s: %w", path, err)
	}
	return nil
}

// ReadFile reads a trace written by procsh (or any Chrome Trace Event
// file in the object form).
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	return Decode(b)
}

// Decode reads a trace from its JSON.
func Decode(b []byte) (*File, error) {
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("trace: got a file that is not a trace (%v), want the JSON procsh --trace writes", err)
	}
	return &f, nil
}
