// Package integrity makes an audit log tamper-evident and checks it.
//
// Each audit event is sealed into a chain: it carries its sequence number
// (seq, from 1), the chain's random id (chain) and a MAC (mac), the hex
// HMAC-SHA256 over the previous event's MAC and the event's canonical
// form (see Canonical). Changing, removing, adding or moving an event
// breaks the MAC of that event or of the next one.
//
// The MAC key is not the configured key itself but an epoch key. Epoch 0
// of a chain is HMAC-SHA256(configured key, "caddy-basicaudit chain " +
// id), so the chains of one key are independent. At each checkpoint the
// epoch key is replaced by HMAC-SHA256(epoch key, "evolve") and the old
// one is wiped, so whoever reads the current epoch key out of a running
// process cannot recompute, and thus cannot forge, any event sealed
// before the last checkpoint. The configured key derives every epoch key
// of every chain: it belongs to the verifier and must be kept from
// anyone the log must be protected against.
//
// Verify checks log files as Caddy writes them, plain or gzip-compressed,
// and names the first problem of each chain.
//
// What the chain cannot tell: whoever holds the current epoch key can
// rewrite or add events sealed since the last checkpoint; events cut
// from the end of a chain leave no trace in the chain itself, only in
// the head the next chain names or the one given to Verify; and the
// verifier reads the JSON encoder with Caddy's default keys (msg, level,
// ts, logger, caller, stacktrace), so a log written with other keys, or
// through a filter that changes fields, does not verify.
package integrity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
)

// Labels of the key derivations, fixed forever: changing one makes every
// existing log unverifiable.
const (
	labelChain   = "caddy-basicaudit chain "
	labelGenesis = "caddy-basicaudit genesis "
	labelEvolve  = "evolve"
)

// Event names that the chain acts on, in the event field of the caddy
// schema or the event.action field of the ECS schema.
const (
	EventCheckpoint = "audit_checkpoint"
	EventChainStart = "audit_chain_start"
)

// Fields of an audit_chain_start event that name the head of the chain
// before it.
const (
	FieldPrevChain = "prev_chain"
	FieldPrevSeq   = "prev_seq"
	FieldPrevMAC   = "prev_mac"
)

// Head is the position of a chain: its id, and the seq and MAC of its
// last event. MAC is empty before the first event.
type Head struct {
	Chain string
	Seq   uint64
	MAC   string
}

// Chain seals audit events. It is not safe for concurrent use: the
// caller seals and writes each event under one lock, so that the order
// of the lines is the order of the chain.
type Chain struct {
	id   string
	key  [sha256.Size]byte // the current epoch key
	seq  uint64
	prev [sha256.Size]byte // MAC of event seq

	inner, outer hash.Hash
	buf          []byte // canonical form, reused
}

// NewChain starts a new chain with a random id under the configured key.
func NewChain(key []byte) (*Chain, error) {
	if len(key) == 0 {
		return nil, errors.New("creating chain: the key is empty")
	}
	var raw [8]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("creating chain: reading random id: %w", err)
	}
	c := &Chain{
		id:    hex.EncodeToString(raw[:]),
		inner: sha256.New(),
		outer: sha256.New(),
	}
	c.key = epochZero(key, c.id)
	c.prev = genesis(c.id)
	return c, nil
}

// epochZero derives the first epoch key of a chain.
func epochZero(key []byte, id string) [sha256.Size]byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(labelChain + id))
	var k [sha256.Size]byte
	m.Sum(k[:0])
	return k
}

// genesis is what the first event of a chain chains to in place of a
// previous MAC. It names the chain, so the first events of two chains
// never chain to the same value.
func genesis(id string) [sha256.Size]byte {
	return sha256.Sum256([]byte(labelGenesis + id))
}

// evolve returns the epoch key that follows k.
func evolve(k *[sha256.Size]byte) [sha256.Size]byte {
	return keyedSum(sha256.New(), sha256.New(), k, []byte(labelEvolve), nil)
}

// ID returns the chain's id.
func (c *Chain) ID() string { return c.id }

// Seal adds an event to the chain and returns the values of the seq and
// mac fields to write with it, along with chain, the chain's ID. The
// MAC covers msg, level, the fields (see Canonical) and seq and chain,
// which Seal adds itself: the fields need not, and should not, hold
// them. The fields should hold the event's own time, as a string field
// time: ts is the encoder's rendering and is not covered. Seal does not
// keep or change the map.
func (c *Chain) Seal(msg, level string, fields map[string]any) (seq uint64, mac string) {
	c.seq++
	c.buf = appendCanonical(c.buf[:0], msg, level, fields, &chainFields{seq: c.seq, chain: c.id})
	c.prev = c.sum(c.prev[:], c.buf)
	return c.seq, hex.EncodeToString(c.prev[:])
}

// sum returns the MAC of an event under the current epoch key.
func (c *Chain) sum(prev, canonical []byte) [sha256.Size]byte {
	return keyedSum(c.inner, c.outer, &c.key, prev, canonical)
}

// keyedSum returns HMAC-SHA256 under key over a and b, using two SHA-256
// hashes it resets before returning. It is HMAC written out (RFC 2104)
// rather than crypto/hmac, so that no copy of the key's pads outlives
// the call: crypto/hmac keeps them for as long as the hash lives, beyond
// the reach of Evolve.
func keyedSum(inner, outer hash.Hash, key *[sha256.Size]byte, a, b []byte) [sha256.Size]byte {
	var pad [sha256.BlockSize]byte
	for i := range pad {
		pad[i] = 0x36
	}
	for i, k := range key {
		pad[i] ^= k
	}
	inner.Reset()
	inner.Write(pad[:])
	inner.Write(a)
	inner.Write(b)
	var in [sha256.Size]byte
	inner.Sum(in[:0])

	for i := range pad {
		pad[i] = 0x5c
	}
	for i, k := range key {
		pad[i] ^= k
	}
	outer.Reset()
	outer.Write(pad[:])
	outer.Write(in[:])
	var out [sha256.Size]byte
	outer.Sum(out[:0])

	// The states after the pad blocks are as good as the key.
	clear(pad[:])
	inner.Reset()
	outer.Reset()
	return out
}

// Evolve moves the chain to its next epoch key and wipes the current
// one. The caller calls it right after writing an audit_checkpoint
// event, which is the last event sealed with the current key: the
// verifier evolves its key after each such event. Go may have left
// copies of the key elsewhere in memory, so the wiping is best effort.
func (c *Chain) Evolve() {
	next := evolve(&c.key)
	c.key = next
	clear(next[:])
}

// Head returns the chain's head: its id and the seq and MAC of the last
// event sealed.
func (c *Chain) Head() Head {
	h := Head{Chain: c.id, Seq: c.seq}
	if c.seq > 0 {
		h.MAC = hex.EncodeToString(c.prev[:])
	}
	return h
}
