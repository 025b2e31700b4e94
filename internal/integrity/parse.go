package integrity

import (
	"bytes"
	"encoding/hex"
	"slices"
	"strconv"
)

// Kinds of a line.
const (
	kindOther   = iota // not an audit event: another logger, or not JSON
	kindDamaged        // looks like an audit event but names no chain
	kindSealed         // an audit event of a chain
)

// Event kinds that matter to the chain.
const (
	eventOther = iota
	eventCheckpoint
	eventChainStart
)

// span is a range of a buffer that may still grow, and so move.
type span struct{ start, end int }

func (s span) of(b []byte) []byte { return b[s.start:s.end] }

// record is what the verifier needs of one line. Its spans point into
// the arena of its batch.
type record struct {
	kind  uint8
	event uint8
	line  int
	chain span
	canon span
	time  span
	seq   uint64
	mac   [32]byte
	bad   string // why the record cannot verify, if it cannot
	link  *Head  // the previous chain's head, named by a chain start
}

// Names of the top-level fields the parser looks for.
const (
	specMsg = iota
	specLevel
	specChain
	specSeq
	specMAC
	specEvent
	specEventAction
	specPrevChain
	specPrevSeq
	specPrevMAC
	specTime
	specCount
)

// parse reads one line into r, appending the line's canonical form and
// chain id to arena, and returns arena.
func (p *parser) parse(line []byte, r *record, arena []byte) []byte {
	*r = record{line: r.line}
	if err := p.object(line); err != nil {
		if bytes.Contains(line, []byte(`"mac"`)) {
			r.kind = kindDamaged
			r.bad = "the line is not valid JSON"
		}
		return arena
	}
	chain, seq, mac := &p.spec[specChain], &p.spec[specSeq], &p.spec[specMAC]
	if !chain.present && !seq.present && !mac.present {
		return arena
	}
	if !chain.present || chain.tag != tagString || chain.content.end == chain.content.start {
		r.kind = kindDamaged
		r.bad = "the line names no chain"
		return arena
	}
	r.kind = kindSealed
	start := len(arena)
	arena = append(arena, chain.content.of(p.buf)...)
	r.chain = span{start, len(arena)}
	if s := &p.spec[specTime]; s.present && s.tag == tagString {
		start = len(arena)
		arena = append(arena, s.content.of(p.buf)...)
		r.time = span{start, len(arena)}
	}

	switch {
	case !seq.present || seq.tag != tagNumber:
		r.bad = "seq is missing or not a number"
	case !parseSeq(seq.num.of(p.line), &r.seq):
		r.bad = "seq is not a positive integer"
	case !mac.present || mac.tag != tagString || !parseMAC(mac.content.of(p.buf), &r.mac):
		r.bad = "mac is missing or not 64 hex digits"
	}
	if msg, level := &p.spec[specMsg], &p.spec[specLevel]; (msg.present && msg.tag != tagString) ||
		(level.present && level.tag != tagString) {
		r.bad = "msg or level is not a string"
	}

	if dup, ok := p.sortFields(); ok {
		r.bad = "duplicate key " + strconv.Quote(dup)
	}
	r.event = p.eventKind()
	if r.event == eventChainStart {
		r.link = p.link()
	}
	start = len(arena)
	arena = p.appendCanonical(arena)
	r.canon = span{start, len(arena)}
	return arena
}

// sortFields sorts the fields by key and returns a key that occurs more
// than once, if there is one. A duplicate key is a forgery in the making: readers
// of JSON differ on which value counts.
//
// The lines of one logger come with their keys in the same order, so
// the order found for a line serves the next ones with the same keys:
// sorting is otherwise the largest cost of a line.
func (p *parser) sortFields() (string, bool) {
	if len(p.perm) == len(p.fields) && bytes.Equal(p.sig, p.lastSig) {
		return p.lastDup, p.hasDup
	}
	buf := p.buf
	p.perm = p.perm[:0]
	for i := range p.fields {
		p.perm = append(p.perm, i)
	}
	slices.SortFunc(p.perm, func(a, b int) int {
		return bytes.Compare(p.fields[a].key.of(buf), p.fields[b].key.of(buf))
	})
	p.lastDup, p.hasDup = "", false
	for i := 1; i < len(p.perm); i++ {
		k := p.fields[p.perm[i]].key.of(buf)
		if bytes.Equal(p.fields[p.perm[i-1]].key.of(buf), k) {
			p.lastDup, p.hasDup = string(k), true
			break
		}
	}
	p.lastSig = append(p.lastSig[:0], p.sig...)
	return p.lastDup, p.hasDup
}

// appendCanonical appends the canonical form of the parsed line, once
// its fields are sorted.
func (p *parser) appendCanonical(dst []byte) []byte {
	dst = appendTextBytes(dst, tagMsg, p.spec[specMsg].content.of(p.buf))
	dst = appendLevel(dst, p.spec[specLevel].content.of(p.buf))
	for _, i := range p.perm {
		if f := &p.fields[i]; f.covered {
			dst = appendTextBytes(dst, tagKey, f.key.of(p.buf))
			dst = append(dst, f.val.of(p.buf)...)
		}
	}
	return dst
}

// eventKind tells checkpoints and chain starts from other events.
func (p *parser) eventKind() uint8 {
	for _, i := range [...]int{specEvent, specEventAction} {
		f := &p.spec[i]
		if !f.present || f.tag != tagString {
			continue
		}
		switch string(f.content.of(p.buf)) {
		case EventCheckpoint:
			return eventCheckpoint
		case EventChainStart:
			return eventChainStart
		}
	}
	return eventOther
}

// link returns the previous chain's head named by a chain start, or nil
// if it names none or names it in a form no signer writes.
func (p *parser) link() *Head {
	c, s, m := &p.spec[specPrevChain], &p.spec[specPrevSeq], &p.spec[specPrevMAC]
	if !c.present || c.tag != tagString || c.content.start == c.content.end {
		return nil
	}
	h := &Head{Chain: string(c.content.of(p.buf))}
	switch {
	case s.present && s.tag == tagNumber:
		parseSeq(s.num.of(p.line), &h.Seq)
	case s.present && s.tag == tagString:
		// ECS labels are strings.
		parseSeq(s.content.of(p.buf), &h.Seq)
	}
	if m.present && m.tag == tagString {
		h.MAC = string(m.content.of(p.buf))
	}
	return h
}

// parseSeq parses a positive decimal integer without sign, fraction or
// exponent, the only form in which zap writes a seq.
func parseSeq(b []byte, seq *uint64) bool {
	if len(b) == 0 || len(b) > 19 || b[0] == '0' {
		return false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + uint64(c-'0')
	}
	*seq = n
	return true
}

// parseMAC decodes a MAC of 64 hex digits, either case.
func parseMAC(b []byte, mac *[32]byte) bool {
	if len(b) != 64 {
		return false
	}
	_, err := hex.Decode(mac[:], b)
	return err == nil
}
