// The payload of a Process's start message: what the child rebuilds,
// written by start() in the parent and read by RunStart in the child.

package luaapi

import (
	lua "github.com/yuin/gopher-lua"
)

// processPayload is what a child Process starts with, after the start
// message's header (startmsg.go): four codec values and then the parent's
// globals, in one reference space, so a table reached from the target's
// upvalues and from a global arrives as one table.
type processPayload struct {
	target lua.LValue  // the target, or the Process's run function
	args   *lua.LTable // the target's arguments, with n
	attrs  lua.LValue  // the attributes the script set on the Process
	isRun  bool        // call target(self), as Python calls run()
	env    *lua.LTable // the globals, sent last (see restoreGlobals)
}

// encode writes the payload. Globals that cannot be sent become stand-ins
// that raise when the child uses them; everything else must be sendable.
func (p processPayload) encode(w *World) ([]byte, error) {
	e := w.NewEncoder()
	if err := e.Encode(p.target, "target"); err != nil {
		return nil, err
	}
	if err := e.Encode(p.args, "args"); err != nil {
		return nil, err
	}
	if err := e.Encode(p.attrs, "attributes"); err != nil {
		return nil, err
	}
	e.Encode(lua.LBool(p.isRun), "run")
	if err := e.EncodeLenient(p.env, "globals"); err != nil {
		return nil, err
	}
	return e.Bytes(), nil
}

// decodeProcessPayload reads a payload in the child. Its last step,
// restoreGlobals, changes the child's _G.
func decodeProcessPayload(d *Decoder) (processPayload, error) {
	var p processPayload
	vals := make([]lua.LValue, 4)
	for i := range vals {
		v, err := d.Decode()
		if err != nil {
			return p, err
		}
		vals[i] = v
	}
	p.target, p.attrs, p.isRun = vals[0], vals[2], lua.LVAsBool(vals[3])
	p.args, _ = vals[1].(*lua.LTable)
	if err := restoreGlobals(d); err != nil {
		return p, err
	}
	return p, nil
}

// restoreGlobals decodes the parent's globals. _G is a built-in table, so
// decoding it writes the fields the parent's script added or changed into
// this process's own _G: the child's world becomes a copy of the parent's
// as it was at start(), which is fork's semantics, by value. The decoded
// value itself is that same _G and is not needed.
func restoreGlobals(d *Decoder) error {
	_, err := d.Decode()
	return err
}
