//go:build cluster

// Bodies too large for one NATS message, and pool records: objects of
// the blob store, which JetStream keeps in chunks of its own.
//
// A message whose body is larger than the server's maximum payload
// (less room for headers) is sent empty, with a header naming an object
// that holds the body; the receiver reads the object. Who made an
// object removes it once it is no longer needed (a task's, when the
// task has settled; a result's, once read); the store's age limit
// removes what a dead process left.

package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// blobTimeout bounds one read or write of the blob store.
const blobTimeout = time.Minute

// newMessage makes the message carrying body on subject: the body
// itself, or, when it is too large, a reference to the object name
// holding it. It reports whether an object was made.
func (c *Conn) newMessage(subject string, body []byte, name string) (*nats.Msg, bool, error) {
	m := nats.NewMsg(subject)
	if len(body) <= c.maxBody() {
		m.Data = body
		return m, false, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), blobTimeout)
	defer cancel()
	if _, err := c.blobs.PutBytes(ctx, name, body); err != nil {
		return nil, false, fmt.Errorf("cluster: storing a message of %d bytes: %w", len(body), err)
	}
	m.Header.Set(blobHeader, name)
	return m, true, nil
}

// body is what a message carries: its data, or the object it names. It
// also gives that object's name ("" for none).
func (c *Conn) body(h nats.Header, data []byte) ([]byte, string, error) {
	name := h.Get(blobHeader)
	if name == "" {
		return data, "", nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), blobTimeout)
	defer cancel()
	b, err := c.blobs.GetBytes(ctx, name)
	if err != nil {
		return nil, name, fmt.Errorf("cluster: reading the large message %s: %w", name, err)
	}
	return b, name, nil
}

// dropBlob removes an object; one already gone is no error.
func (c *Conn) dropBlob(name string) {
	if name == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.blobs.Delete(ctx, name)
}

// putRecord stores a pool's record under the pool's id.
func (c *Conn) putRecord(id string, record []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), blobTimeout)
	defer cancel()
	if _, err := c.blobs.PutBytes(ctx, id, record); err != nil {
		return fmt.Errorf("cluster: storing the pool's record: %w", err)
	}
	return nil
}
