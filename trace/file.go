// The Chrome Trace Event file: its Go form, writing it and reading it
// back.

package trace

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
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
	var b []byte
	for i := range f.TraceEvents {
		var err error
		b, err = appendEvent(b[:0], &f.TraceEvents[i])
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

// appendEvent appends e as encoding/json would write it, without
// reflection for the values events hold (a trace has hundreds of
// thousands of events).
func appendEvent(b []byte, e *Event) ([]byte, error) {
	b = append(b, `{"name":`...)
	b = appendString(b, e.Name)
	if e.Cat != "" {
		b = append(b, `,"cat":`...)
		b = appendString(b, e.Cat)
	}
	b = append(b, `,"ph":`...)
	b = appendString(b, e.Ph)
	b = append(b, `,"ts":`...)
	b = appendFloat(b, e.Ts)
	if e.Dur != nil {
		b = append(b, `,"dur":`...)
		b = appendFloat(b, *e.Dur)
	}
	b = append(b, `,"pid":`...)
	b = strconv.AppendInt(b, int64(e.Pid), 10)
	b = append(b, `,"tid":`...)
	b = strconv.AppendInt(b, int64(e.Tid), 10)
	if e.ID != 0 {
		b = append(b, `,"id":`...)
		b = strconv.AppendUint(b, e.ID, 10)
	}
	if e.S != "" {
		b = append(b, `,"s":`...)
		b = appendString(b, e.S)
	}
	if e.Bp != "" {
		b = append(b, `,"bp":`...)
		b = appendString(b, e.Bp)
	}
	if len(e.Args) > 0 {
		b = append(b, `,"args":`...)
		var err error
		if b, err = appendValue(b, e.Args); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// appendValue appends v as JSON: the kinds of value Build puts in args
// directly, anything else through encoding/json.
func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return appendString(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case uint64:
		return strconv.AppendUint(b, v, 10), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			break
		}
		return appendFloat(b, v), nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendValue(b, v[k]); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	}
	j, err := json.Marshal(v)
	return append(b, j...), err
}

// appendFloat writes a number as encoding/json does for the values of a
// trace (not negative, below 1e21).
func appendFloat(b []byte, f float64) []byte {
	if f != 0 && (math.Abs(f) < 1e-6 || math.Abs(f) >= 1e21) {
		j, _ := json.Marshal(f)
		return append(b, j...)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

// appendString writes s as a JSON string, as encoding/json does.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= 0x80 {
			j, _ := json.Marshal(s)
			return append(b, j...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
