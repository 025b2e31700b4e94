package integrity

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Tags of the canonical form. Every item starts with one, and every
// variable-length item continues with its length as a uvarint, so no two
// different events share an encoding whatever bytes their values hold.
const (
	tagMsg    = 'm'
	tagLevel  = 'l'
	tagKey    = 'k'
	tagString = 's'
	tagNumber = 'n'
	tagTrue   = 't'
	tagFalse  = 'f'
	tagNull   = 'z'
	tagArray  = 'a'
	tagObject = 'o'
	tagOther  = 'x'
)

// Names of the fields that carry the chain.
const (
	fieldSeq   = "seq"
	fieldChain = "chain"
	fieldMAC   = "mac"
)

// uncovered reports whether a top-level key is left out of the canonical
// form: the MAC itself, and the keys of the log encoder, whose rendering
// depends on its configuration rather than on the event. msg and level
// are covered, but in their own items ahead of the fields.
func uncovered(key string) bool {
	switch key {
	case fieldMAC, "ts", "logger", "caller", "stacktrace", "msg", "level":
		return true
	}
	return false
}

// Canonical returns the canonical form of an event: the form its MAC
// covers. Signer and verifier build the same bytes from the same event,
// the signer from typed Go values and the verifier from a decoded JSON
// line, so the form depends on a value's meaning, never on its Go type
// or its JSON spelling.
//
// The level is lower-cased (ASCII letters only). The fields are sorted
// by key; "mac" and the encoder's keys (ts, logger, caller, stacktrace,
// msg, level) are left out. Values may be strings, bools, integers of
// any size, float32, float64, json.Number, nil, []string, []any and
// map[string]any of those. Every number becomes a float64 written with
// strconv's shortest 'g' form, so 1, int64(1), 1.0 and json.Number("1")
// agree, and so does a float rendered by zap and decoded again. Integers
// beyond 2^53 lose precision on the way and are not supported. NaN and
// infinities are encoded as the strings zap writes for them. Invalid
// UTF-8 is replaced byte by byte with U+FFFD, as zap does when writing
// it. A value of any other type is encoded by its type name alone,
// which no decoded line reproduces, so its event never verifies.
func Canonical(msg, level string, fields map[string]any) []byte {
	return appendCanonical(nil, msg, level, fields, nil)
}

// chainFields are the chain's own fields that Seal adds to an event.
type chainFields struct {
	seq   uint64
	chain string
}

// appendCanonical appends the canonical form of an event to dst. With
// extra set, its seq and chain take the place of any such fields in the
// map.
func appendCanonical(dst []byte, msg, level string, fields map[string]any, extra *chainFields) []byte {
	dst = appendText(dst, tagMsg, msg)
	dst = appendLevel(dst, level)

	// Keys are sorted as the verifier sorts them: in the form a JSON
	// line holds, after zap replaced invalid UTF-8.
	keys := make([]sortKey, 0, len(fields)+2)
	for k := range fields {
		sk := sortKey{key: validUTF8(k), name: k}
		if uncovered(sk.key) || (extra != nil && (sk.key == fieldSeq || sk.key == fieldChain)) {
			continue
		}
		keys = append(keys, sk)
	}
	if extra != nil {
		keys = append(keys, sortKey{key: fieldSeq}, sortKey{key: fieldChain})
	}
	slices.SortFunc(keys, func(a, b sortKey) int { return strings.Compare(a.key, b.key) })

	for _, k := range keys {
		dst = appendText(dst, tagKey, k.key)
		switch {
		case extra != nil && k.key == fieldSeq:
			dst = appendNumber(dst, float64(extra.seq))
		case extra != nil && k.key == fieldChain:
			dst = appendText(dst, tagString, extra.chain)
		default:
			dst = appendValue(dst, fields[k.name])
		}
	}
	return dst
}

// sortKey is a map key as written to a log line, with the key that
// holds its value in the map.
type sortKey struct {
	key, name string
}

// appendLevel appends a level, lower-cased in ASCII so that every
// level encoder of zap gives the same form.
func appendLevel[S string | []byte](dst []byte, level S) []byte {
	dst = append(dst, tagLevel)
	dst = binary.AppendUvarint(dst, uint64(len(level)))
	for i := 0; i < len(level); i++ {
		c := level[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// appendValue appends one typed value.
func appendValue(dst []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return appendText(dst, tagString, v)
	case bool:
		return appendBool(dst, v)
	case int:
		return appendNumber(dst, float64(v))
	case int8:
		return appendNumber(dst, float64(v))
	case int16:
		return appendNumber(dst, float64(v))
	case int32:
		return appendNumber(dst, float64(v))
	case int64:
		return appendNumber(dst, float64(v))
	case uint:
		return appendNumber(dst, float64(v))
	case uint8:
		return appendNumber(dst, float64(v))
	case uint16:
		return appendNumber(dst, float64(v))
	case uint32:
		return appendNumber(dst, float64(v))
	case uint64:
		return appendNumber(dst, float64(v))
	case float64:
		return appendFloat(dst, v)
	case float32:
		return appendFloat32(dst, v)
	case json.Number:
		return appendNumberText(dst, string(v))
	case nil:
		return append(dst, tagNull)
	case []string:
		dst = append(dst, tagArray)
		dst = binary.AppendUvarint(dst, uint64(len(v)))
		for _, s := range v {
			dst = appendText(dst, tagString, s)
		}
		return dst
	case []any:
		dst = append(dst, tagArray)
		dst = binary.AppendUvarint(dst, uint64(len(v)))
		for _, e := range v {
			dst = appendValue(dst, e)
		}
		return dst
	case map[string]any:
		keys := make([]sortKey, 0, len(v))
		for k := range v {
			keys = append(keys, sortKey{key: validUTF8(k), name: k})
		}
		slices.SortFunc(keys, func(a, b sortKey) int { return strings.Compare(a.key, b.key) })
		dst = append(dst, tagObject)
		dst = binary.AppendUvarint(dst, uint64(len(keys)))
		for _, k := range keys {
			dst = appendText(dst, tagKey, k.key)
			dst = appendValue(dst, v[k.name])
		}
		return dst
	}
	return appendText(dst, tagOther, fmt.Sprintf("%T", v))
}

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, tagTrue)
	}
	return append(dst, tagFalse)
}

// appendFloat appends a float64 the way zap renders it: NaN and the
// infinities as strings, anything else as a number.
func appendFloat(dst []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return appendText(dst, tagString, "NaN")
	case math.IsInf(v, 1):
		return appendText(dst, tagString, "+Inf")
	case math.IsInf(v, -1):
		return appendText(dst, tagString, "-Inf")
	}
	return appendNumber(dst, v)
}

// appendFloat32 appends a float32 as the float64 that its JSON rendering
// decodes to: zap writes a float32's shortest 32-bit form, which is not
// the shortest form of the same value widened to 64 bits.
func appendFloat32(dst []byte, v float32) []byte {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return appendFloat(dst, f)
	}
	var tmp [32]byte
	f, _ = strconv.ParseFloat(string(strconv.AppendFloat(tmp[:0], f, 'f', -1, 32)), 64)
	return appendNumber(dst, f)
}

// appendNumberText appends a number given in decimal text. Text that is
// no number at all keeps its own spelling, tagged apart from numbers.
func appendNumberText(dst []byte, s string) []byte {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeError(err) {
		return appendText(dst, tagOther, s)
	}
	return appendNumber(dst, f)
}

func isRangeError(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// appendNumber appends a number in its canonical spelling.
func appendNumber(dst []byte, f float64) []byte {
	var tmp [32]byte
	s := strconv.AppendFloat(tmp[:0], f, 'g', -1, 64)
	dst = append(dst, tagNumber)
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// appendText appends a tagged, length-prefixed string, with invalid
// UTF-8 replaced as zap replaces it when writing JSON.
func appendText(dst []byte, tag byte, s string) []byte {
	s = validUTF8(s)
	dst = append(dst, tag)
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// validUTF8 replaces each byte of s that is not part of valid UTF-8 with
// U+FFFD, as zap's JSON encoder does. Unlike strings.ToValidUTF8 it
// replaces every such byte, not each run of them.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	valid := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			valid = utf8.AppendRune(valid, utf8.RuneError)
		} else {
			valid = append(valid, s[i:i+size]...)
		}
		i += size
	}
	return string(valid)
}
