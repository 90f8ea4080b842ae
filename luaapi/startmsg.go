// The start message a parent writes to its child's start pipe.

package luaapi

import (
	"encoding/binary"
	"errors"
)

// Kinds of child.
const (
	startProcess    byte = 'P' // a Process: run its target, exit
	startPoolWorker byte = 'W' // a pool worker: serve tasks until told to stop
)

// StartMessage is everything a child starts with besides its descriptors.
type StartMessage struct {
	Kind    byte
	Self    Identity // Pid is left 0: the child knows its own
	Parent  Identity
	Payload []byte // codec values; their order depends on Kind
}

func appendIdentity(b []byte, id Identity) []byte {
	b = appendString(b, id.Name)
	b = binary.AppendUvarint(b, uint64(id.Pid))
	b = binary.AppendUvarint(b, uint64(len(id.Ident)))
	for _, n := range id.Ident {
		b = binary.AppendUvarint(b, uint64(n))
	}
	if id.Daemon {
		return append(b, 1)
	}
	return append(b, 0)
}

func (m StartMessage) encode() []byte {
	b := []byte{'p', 's', 1, m.Kind}
	b = appendIdentity(b, m.Self)
	b = appendIdentity(b, m.Parent)
	return append(b, m.Payload...)
}

var errNotStart = errors.New("not a procsh start message")

// DecodeStartMessage reads a start message.
func DecodeStartMessage(b []byte) (StartMessage, error) {
	var m StartMessage
	if len(b) < 4 || b[0] != 'p' || b[1] != 's' || b[2] != 1 {
		return m, errNotStart
	}
	m.Kind = b[3]
	d := &Decoder{buf: b, pos: 4}
	var err error
	if m.Self, err = d.identity(); err != nil {
		return m, err
	}
	if m.Parent, err = d.identity(); err != nil {
		return m, err
	}
	m.Payload = b[d.pos:]
	return m, nil
}

func (d *Decoder) identity() (Identity, error) {
	var id Identity
	var err error
	if id.Name, err = d.str(); err != nil {
		return id, err
	}
	pid, err := d.uvarint()
	if err != nil {
		return id, err
	}
	id.Pid = int(pid)
	n, err := d.count(1)
	if err != nil {
		return id, err
	}
	for i := 0; i < n; i++ {
		x, err := d.uvarint()
		if err != nil {
			return id, err
		}
		id.Ident = append(id.Ident, int(x))
	}
	daemon, err := d.byte()
	id.Daemon = daemon == 1
	return id, err
}
