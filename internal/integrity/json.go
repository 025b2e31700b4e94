package integrity

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The verifier reads lines with its own JSON parser rather than
// encoding/json: it builds the canonical form straight from the line,
// without a map or an interface value per field, which is what makes a
// million-line log verifiable in seconds. It accepts JSON (RFC 8259)
// and decodes strings as encoding/json does, but refuses duplicate keys
// in nested objects and nesting deeper than maxDepth, which no audit
// event has.

// maxDepth bounds the nesting of arrays and objects in a line.
const maxDepth = 32

var (
	errSyntax = errors.New("not a JSON object")
	errDepth  = errors.New("nested too deep")
	errDupKey = errors.New("duplicate key in a nested object")
)

// pfield is one top-level field of a parsed line. Its key, value and
// content spans point into the parser's buffer; num into the line.
type pfield struct {
	key     span
	val     span // encoded value
	content span // decoded text of a string
	num     span // text of a number in the line
	tag     byte
	covered bool
	present bool
}

// parser parses one line at a time; it reuses its buffers.
type parser struct {
	line   []byte
	i      int
	buf    []byte // decoded keys and encoded values
	str    []byte // one string being decoded
	fields []pfield
	spec   [specCount]pfield
	depth  int

	// The keys of the line in their order, and the sorted order of the
	// fields for the last keys sorted.
	sig, lastSig []byte
	perm         []int
	lastDup      string
	hasDup       bool
}

// object parses a line holding one JSON object and records its fields.
func (p *parser) object(line []byte) error {
	p.line, p.i, p.depth = line, 0, 0
	p.buf = p.buf[:0]
	p.fields = p.fields[:0]
	p.spec = [specCount]pfield{}
	p.sig = p.sig[:0]

	p.ws()
	if !p.eat('{') {
		return errSyntax
	}
	p.ws()
	if !p.eat('}') {
		for {
			if err := p.member(); err != nil {
				return err
			}
			p.ws()
			if p.eat('}') {
				break
			}
			if !p.eat(',') {
				return errSyntax
			}
			p.ws()
		}
	}
	p.ws()
	if p.i != len(p.line) {
		return errSyntax
	}
	return nil
}

// ecsAliases are the ECS names of the fields that Seal covers under its
// own names (seq, chain) or that the canonical form leaves out (mac).
// The other fields of an ECS event were sealed under their ECS names and
// are read as they are; the names of a chain start's previous head are
// recognized in both schemas.
var ecsAliases = map[string]string{
	"event.sequence": fieldSeq,
	"labels.chain":   fieldChain,
	"labels.mac":     fieldMAC,
}

// member parses one top-level key and value.
func (p *parser) member() error {
	if !p.peek('"') {
		return errSyntax
	}
	var f pfield
	start := len(p.buf)
	if err := p.appendString(); err != nil {
		return err
	}
	if alias, ok := ecsAliases[string(p.buf[start:])]; ok {
		// Under the ECS schema the chain's own fields carry ECS names;
		// they were sealed under the caddy schema's names.
		p.buf = append(p.buf[:start], alias...)
	}
	f.key = span{start, len(p.buf)}
	p.sig = appendTextBytes(p.sig, tagKey, f.key.of(p.buf))
	p.ws()
	if !p.eat(':') {
		return errSyntax
	}
	p.ws()

	// The keys here and in uncovered must agree.
	spec := -1
	discard := false
	f.covered = true
	switch string(f.key.of(p.buf)) {
	case "msg":
		spec, f.covered = specMsg, false
	case "level":
		spec, f.covered = specLevel, false
	case fieldMAC:
		spec, f.covered = specMAC, false
	case "ts", "logger", "caller", "stacktrace":
		discard, f.covered = true, false
	case fieldChain:
		spec = specChain
	case fieldSeq:
		spec = specSeq
	case "event":
		spec = specEvent
	case "event.action":
		spec = specEventAction
	case FieldPrevChain, "labels." + FieldPrevChain:
		spec = specPrevChain
	case FieldPrevSeq, "labels." + FieldPrevSeq:
		spec = specPrevSeq
	case FieldPrevMAC, "labels." + FieldPrevMAC:
		spec = specPrevMAC
	case "time", "@timestamp":
		spec = specTime
	}

	f.val.start = len(p.buf)
	numStart := p.i
	tag, err := p.value(discard)
	if err != nil {
		return err
	}
	f.val.end = len(p.buf)
	f.tag = tag
	switch tag {
	case tagString:
		// The decoded text follows the tag and its length.
		_, n := binary.Uvarint(p.buf[f.val.start+1:])
		f.content = span{f.val.start + 1 + n, f.val.end}
	case tagNumber:
		f.num = span{numStart, p.i}
	}
	f.present = true
	if spec >= 0 {
		p.spec[spec] = f
	}
	if discard {
		// Drop what was encoded; the field is only kept to find a
		// duplicate key.
		p.buf = p.buf[:f.val.start]
		f.val.end = f.val.start
	}
	p.fields = append(p.fields, f)
	return nil
}

// value parses a JSON value, appends its encoding to the buffer and
// returns its tag. With discard set it only checks a number's syntax.
func (p *parser) value(discard bool) (byte, error) {
	if p.i >= len(p.line) {
		return 0, errSyntax
	}
	switch c := p.line[p.i]; {
	case c == '"':
		p.buf = append(p.buf, tagString)
		return tagString, p.appendStringValue()
	case c == '-' || ('0' <= c && c <= '9'):
		text, err := p.number()
		if err != nil {
			return 0, err
		}
		if !discard {
			p.buf = appendJSONNumber(p.buf, text)
		}
		return tagNumber, nil
	case c == 't':
		return tagTrue, p.literal("true", tagTrue)
	case c == 'f':
		return tagFalse, p.literal("false", tagFalse)
	case c == 'n':
		return tagNull, p.literal("null", tagNull)
	case c == '[':
		return tagArray, p.array()
	case c == '{':
		return tagObject, p.nested()
	}
	return 0, errSyntax
}

func (p *parser) literal(word string, tag byte) error {
	if !bytes.HasPrefix(p.line[p.i:], []byte(word)) {
		return errSyntax
	}
	p.i += len(word)
	p.buf = append(p.buf, tag)
	return nil
}

// array parses an array; its encoding is the count of its elements
// followed by their encodings.
func (p *parser) array() error {
	if p.depth++; p.depth > maxDepth {
		return errDepth
	}
	p.i++ // [
	start := len(p.buf)
	n := 0
	p.ws()
	if !p.eat(']') {
		for {
			if _, err := p.value(false); err != nil {
				return err
			}
			n++
			p.ws()
			if p.eat(']') {
				break
			}
			if !p.eat(',') {
				return errSyntax
			}
			p.ws()
		}
	}
	var hdr [1 + binary.MaxVarintLen64]byte
	hdr[0] = tagArray
	h := binary.AppendUvarint(hdr[:1], uint64(n))
	p.buf = slices.Insert(p.buf, start, h...)
	p.depth--
	return nil
}

// nested parses an object inside a line. Nested objects are rare in
// audit events, so this path allocates freely.
func (p *parser) nested() error {
	if p.depth++; p.depth > maxDepth {
		return errDepth
	}
	p.i++ // {
	type member struct{ key, val []byte }
	var members []member
	start := len(p.buf)
	p.ws()
	if !p.eat('}') {
		for {
			if !p.peek('"') {
				return errSyntax
			}
			ks := len(p.buf)
			if err := p.appendString(); err != nil {
				return err
			}
			key := slices.Clone(p.buf[ks:])
			p.ws()
			if !p.eat(':') {
				return errSyntax
			}
			p.ws()
			vs := len(p.buf)
			if _, err := p.value(false); err != nil {
				return err
			}
			members = append(members, member{key, slices.Clone(p.buf[vs:])})
			p.ws()
			if p.eat('}') {
				break
			}
			if !p.eat(',') {
				return errSyntax
			}
			p.ws()
		}
	}
	slices.SortFunc(members, func(a, b member) int { return bytes.Compare(a.key, b.key) })
	p.buf = append(p.buf[:start], tagObject)
	p.buf = binary.AppendUvarint(p.buf, uint64(len(members)))
	for i, m := range members {
		if i > 0 && bytes.Equal(members[i-1].key, m.key) {
			return errDupKey
		}
		p.buf = appendTextBytes(p.buf, tagKey, m.key)
		p.buf = append(p.buf, m.val...)
	}
	p.depth--
	return nil
}

// number scans a JSON number and returns its text.
func (p *parser) number() ([]byte, error) {
	s := p.i
	p.eat('-')
	switch {
	case p.eat('0'):
	case p.digits() > 0:
	default:
		return nil, errSyntax
	}
	if p.eat('.') && p.digits() == 0 {
		return nil, errSyntax
	}
	if p.eat('e') || p.eat('E') {
		if !p.eat('+') {
			p.eat('-')
		}
		if p.digits() == 0 {
			return nil, errSyntax
		}
	}
	return p.line[s:p.i], nil
}

func (p *parser) digits() int {
	s := p.i
	for p.i < len(p.line) && '0' <= p.line[p.i] && p.line[p.i] <= '9' {
		p.i++
	}
	return p.i - s
}

// appendJSONNumber appends the encoding of a JSON number given as text.
func appendJSONNumber(dst, text []byte) []byte {
	// The shortest 'g' form of an integer below a million is its JSON
	// text (for -0 too), so most numbers need no conversion at all.
	// Larger integers up to 15 digits are exact as float64 and spare
	// ParseFloat a string conversion.
	digits := text
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) > 0 && len(digits) <= 15 {
		var n int64
		ok := true
		for _, c := range digits {
			if c < '0' || c > '9' {
				ok = false
				break
			}
			n = n*10 + int64(c-'0')
		}
		switch {
		case ok && len(digits) <= 6:
			return appendTextBytes(dst, tagNumber, text)
		case ok && len(digits) == len(text):
			return appendNumber(dst, float64(n))
		case ok:
			return appendNumber(dst, -float64(n))
		}
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil && !isRangeError(err) {
		return appendTextBytes(dst, tagOther, text)
	}
	return appendNumber(dst, f)
}

// appendStringValue appends the length and decoded text of a JSON
// string; the tag is already in place.
func (p *parser) appendStringValue() error {
	// Most strings have no escape and are valid UTF-8: copy them as
	// they are.
	if raw, ok := p.plainString(); ok {
		p.buf = binary.AppendUvarint(p.buf, uint64(len(raw)))
		p.buf = append(p.buf, raw...)
		return nil
	}
	p.str = p.str[:0]
	var err error
	if p.str, err = p.decodeString(p.str); err != nil {
		return err
	}
	p.buf = binary.AppendUvarint(p.buf, uint64(len(p.str)))
	p.buf = append(p.buf, p.str...)
	return nil
}

// appendString appends the decoded text of a JSON string, without tag
// or length: a key.
func (p *parser) appendString() error {
	if raw, ok := p.plainString(); ok {
		p.buf = append(p.buf, raw...)
		return nil
	}
	var err error
	p.buf, err = p.decodeString(p.buf)
	return err
}

// plainString returns the string at the parser's position and moves
// past it, if it needs no decoding: no escape, valid UTF-8.
func (p *parser) plainString() ([]byte, bool) {
	s := p.i + 1
	q := bytes.IndexByte(p.line[s:], '"')
	if q < 0 {
		return nil, false
	}
	raw := p.line[s : s+q]
	if bytes.IndexByte(raw, '\\') >= 0 {
		return nil, false
	}
	if !printableASCII(raw) {
		for _, c := range raw {
			if c < 0x20 {
				return nil, false
			}
		}
		if !utf8.Valid(raw) {
			return nil, false
		}
	}
	p.i = s + q + 1
	return raw, true
}

// printableASCII reports whether b holds no byte below 0x20 or above
// 0x7f, looking at eight bytes at a time: strings are most of a line.
func printableASCII(b []byte) bool {
	const below, high = 0x2020202020202020, 0x8080808080808080
	for len(b) >= 8 {
		// A byte below 0x20 borrows in the subtraction and sets its
		// high bit; without one, no byte borrows at all.
		w := binary.LittleEndian.Uint64(b)
		if (w|(w-below))&high != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c < 0x20 || c >= 0x80 {
			return false
		}
	}
	return true
}

// decodeString decodes the JSON string at the parser's position onto
// dst. Like encoding/json, it replaces invalid UTF-8 and lone surrogates
// with U+FFFD, one per byte or escape.
func (p *parser) decodeString(dst []byte) ([]byte, error) {
	p.i++ // "
	for p.i < len(p.line) {
		c := p.line[p.i]
		switch {
		case c == '"':
			p.i++
			return dst, nil
		case c < 0x20:
			return dst, errSyntax
		case c == '\\':
			var err error
			if dst, err = p.escape(dst); err != nil {
				return dst, err
			}
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			p.i++
		default:
			r, size := utf8.DecodeRune(p.line[p.i:])
			if r == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, p.line[p.i:p.i+size]...)
			}
			p.i += size
		}
	}
	return dst, errSyntax
}

// escape decodes one escape sequence.
func (p *parser) escape(dst []byte) ([]byte, error) {
	if p.i+1 >= len(p.line) {
		return dst, errSyntax
	}
	c := p.line[p.i+1]
	p.i += 2
	switch c {
	case '"', '\\', '/':
		return append(dst, c), nil
	case 'b':
		return append(dst, '\b'), nil
	case 'f':
		return append(dst, '\f'), nil
	case 'n':
		return append(dst, '\n'), nil
	case 'r':
		return append(dst, '\r'), nil
	case 't':
		return append(dst, '\t'), nil
	case 'u':
		r, ok := p.hex4()
		if !ok {
			return dst, errSyntax
		}
		if utf16.IsSurrogate(r) {
			// A high surrogate followed by an escaped low one is one
			// character; anything else is a lone surrogate.
			save := p.i
			if p.i+1 < len(p.line) && p.line[p.i] == '\\' && p.line[p.i+1] == 'u' {
				p.i += 2
				if r2, ok := p.hex4(); ok {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						return utf8.AppendRune(dst, dec), nil
					}
				}
			}
			p.i = save
			r = utf8.RuneError
		}
		return utf8.AppendRune(dst, r), nil
	}
	return dst, errSyntax
}

func (p *parser) hex4() (rune, bool) {
	if p.i+4 > len(p.line) {
		return 0, false
	}
	var r rune
	for _, c := range p.line[p.i : p.i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	p.i += 4
	return r, true
}

func (p *parser) ws() {
	for p.i < len(p.line) {
		switch p.line[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) eat(c byte) bool {
	if p.i < len(p.line) && p.line[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *parser) peek(c byte) bool {
	return p.i < len(p.line) && p.line[p.i] == c
}

// appendTextBytes is appendText for text already valid UTF-8.
func appendTextBytes(dst []byte, tag byte, b []byte) []byte {
	dst = append(dst, tag)
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}
