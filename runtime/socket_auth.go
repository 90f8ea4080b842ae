// Python's authentication of a socket connection: an HMAC challenge on a
// shared key, delivered by one side and answered by the other, then the
// other way round.

package runtime

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"fmt"
	"hash"
)

// The challenge, as multiprocessing.connection (3.11) words it. The side
// that delivers sends "#CHALLENGE#" and 20 random bytes; the other sends
// back the HMAC-MD5 of those bytes under the key; the first answers
// "#WELCOME#" when it is right and "#FAILURE#" when not. Then the roles
// swap. Accept delivers first, DialSocket answers first.
//
// A 20-byte challenge is what Python up to 3.11 sends, and what 3.12 and
// later answer with a bare HMAC-MD5, so every Python can talk to procsh.
// Answering, procsh also takes 3.12's form, "{sha256}" and more random
// bytes, whose answer is "{sha256}" and the HMAC of the whole message
// under that digest; delivering, it accepts either answer. HMAC-MD5 is
// still sound as a MAC, but the key should be long and random all the
// same: the challenge proves the peer knows it, and nothing more (the
// connection is not encrypted).
const (
	challengePrefix = "#CHALLENGE#"
	welcome         = "#WELCOME#"
	failure         = "#FAILURE#"
	challengeLen    = 20  // Python 3.11's MESSAGE_LENGTH, the legacy length
	md5Len          = 16  // a bare HMAC-MD5 answer
	handshakeLimit  = 256 // the longest handshake message read, as Python
)

// AuthenticationError is a challenge that failed, on either side.
type AuthenticationError struct{ Msg string }

func (e *AuthenticationError) Error() string { return e.Msg }

// digests are the MACs a challenge may name, Python 3.12's list.
var digests = map[string]func() hash.Hash{
	"md5":      md5.New,
	"sha256":   sha256.New,
	"sha384":   sha512.New384,
	"sha3_256": func() hash.Hash { return sha3.New256() },
	"sha3_384": func() hash.Hash { return sha3.New384() },
}

// digestOf splits a challenge or an answer into the digest it names and
// the rest: a bare message of a legacy length names none (md5, no
// prefix).
func digestOf(msg []byte) (name string, payload []byte, err error) {
	if len(msg) == challengeLen || len(msg) == md5Len {
		return "", msg, nil
	}
	if len(msg) > 0 && msg[0] == '{' {
		if end := bytes.IndexByte(msg, '}'); end > 0 {
			if _, ok := digests[string(msg[1:end])]; ok {
				return string(msg[1:end]), msg[end+1:], nil
			}
		}
	}
	return "", nil, &AuthenticationError{fmt.Sprintf("unsupported message length, missing digest prefix, or unsupported digest: got %d bytes starting %q", len(msg), prefixOf(msg))}
}

func prefixOf(b []byte) []byte {
	return b[:min(len(b), 12)]
}

func mac(name string, key, msg []byte) []byte {
	h := hmac.New(digests[name], key)
	h.Write(msg)
	return h.Sum(nil)
}

// deliverChallenge challenges the peer to prove it knows key.
func (c *SocketConn) deliverChallenge(ctx context.Context, dl deadline, key []byte) error {
	msg := make([]byte, challengeLen)
	rand.Read(msg)
	if err := c.Send(ctx, []byte(challengePrefix), msg); err != nil {
		return err
	}
	answer, err := c.recv(ctx, &dl, handshakeLimit)
	if err != nil {
		return err
	}
	name, got, err := digestOf(answer)
	if err == nil {
		if name == "" {
			name = "md5"
		}
		if !hmac.Equal(got, mac(name, key, msg)) {
			err = &AuthenticationError{"digest received was wrong"}
		}
	}
	if err != nil {
		c.Send(ctx, []byte(failure))
		return err
	}
	return c.Send(ctx, []byte(welcome))
}

// answerChallenge proves to the peer that this side knows key.
func (c *SocketConn) answerChallenge(ctx context.Context, dl deadline, key []byte) error {
	msg, err := c.recv(ctx, &dl, handshakeLimit)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(msg, []byte(challengePrefix)) {
		return &AuthenticationError{fmt.Sprintf("protocol error: got %q from the peer, want a challenge (%s...)", prefixOf(msg), challengePrefix)}
	}
	msg = msg[len(challengePrefix):]
	if len(msg) < challengeLen {
		return &AuthenticationError{fmt.Sprintf("challenge too short: got %d bytes, want %d at least", len(msg), challengeLen)}
	}
	name, _, err := digestOf(msg)
	if err != nil {
		return err
	}
	var answer []byte
	if name == "" {
		answer = mac("md5", key, msg)
	} else {
		// The MAC covers the whole message, its {digest} prefix too.
		answer = append([]byte("{"+name+"}"), mac(name, key, msg)...)
	}
	if err := c.Send(ctx, answer); err != nil {
		return err
	}
	verdict, err := c.recv(ctx, &dl, handshakeLimit)
	if err != nil {
		return err
	}
	if string(verdict) != welcome {
		return &AuthenticationError{"digest sent was rejected"}
	}
	return nil
}
