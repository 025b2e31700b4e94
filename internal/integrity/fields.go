package integrity

import (
	"encoding/hex"
	"slices"
	"strings"
)

// Kinds of a Field's value.
const (
	KindString uint8 = iota // Str
	KindBool                // Num: 1 for true, 0 for false
	KindNumber              // Num, an integer converted to float64
	KindFloat               // Num, a float64 as zap renders it
	KindAny                 // Any, any value Canonical accepts
)

// Field is one field of an event for SealFields. Strings, booleans and
// numbers are held unboxed, so that sealing an event allocates nothing
// for them; Any holds the rest.
type Field struct {
	Key  string
	Kind uint8
	Str  string
	Num  float64
	Any  any
}

// SealFields is Seal for an event given as a list of fields rather than
// a map; both give the same seq and mac for the same event. A key given
// twice counts with its last value, as in a map. SealFields sorts fields
// in place.
func (c *Chain) SealFields(msg, level string, fields []Field) (seq uint64, mac string) {
	c.seq++
	c.buf = appendCanonicalFields(c.buf[:0], msg, level, fields, c.seq, c.id)
	c.prev = c.sum(c.prev[:], c.buf)
	return c.seq, hex.EncodeToString(c.prev[:])
}

// appendCanonicalFields is appendCanonical for a list of fields.
func appendCanonicalFields(dst []byte, msg, level string, fields []Field, seq uint64, chain string) []byte {
	dst = appendText(dst, tagMsg, msg)
	dst = appendLevel(dst, level)

	for i := range fields {
		fields[i].Key = validUTF8(fields[i].Key)
	}
	slices.SortStableFunc(fields, func(a, b Field) int { return strings.Compare(a.Key, b.Key) })

	// seq and chain sort among the fields like any other key; "chain"
	// sorts before "seq".
	chainDone, seqDone := false, false
	appendChain := func(before string, last bool) {
		if !chainDone && (last || fieldChain < before) {
			dst = appendText(dst, tagKey, fieldChain)
			dst = appendText(dst, tagString, chain)
			chainDone = true
		}
		if !seqDone && (last || fieldSeq < before) {
			dst = appendText(dst, tagKey, fieldSeq)
			dst = appendNumber(dst, float64(seq))
			seqDone = true
		}
	}
	for i, f := range fields {
		if uncovered(f.Key) || f.Key == fieldSeq || f.Key == fieldChain {
			continue
		}
		if i+1 < len(fields) && fields[i+1].Key == f.Key {
			continue // the last value of a key counts
		}
		appendChain(f.Key, false)
		dst = appendText(dst, tagKey, f.Key)
		switch f.Kind {
		case KindString:
			dst = appendText(dst, tagString, f.Str)
		case KindBool:
			dst = appendBool(dst, f.Num != 0)
		case KindNumber:
			dst = appendNumber(dst, f.Num)
		case KindFloat:
			dst = appendFloat(dst, f.Num)
		default:
			dst = appendValue(dst, f.Any)
		}
	}
	appendChain("", true)
	return dst
}
