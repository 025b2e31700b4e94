package integrity

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The verifier reads lines with its own JSON parser rather than
// encoding/json: it builds the canonical form straight from the line,
// without a map or an interface value per field, which is what makes a
// million-line log verifiable in seconds. It accepts exactly JSON (RFC
// 8259) and decodes strings as encoding/json does.

// maxDepth bounds the nesting of arrays and objects in a line.
const maxDepth = 32

var (
	errSyntax = errors.New("not a JSON object")
	errDepth  = errors.New("nested too deep")
	errDupKey = errors.New("duplicate key in a nested object")
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
}

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
	if msg, level := &p.spec[specMsg], &p.spec[specLevel]; (msg.present && msg.tag != tagString) || (level.present && level.tag != tagString) {
		r.bad = "msg or level is not a string"
	}

	if dup := p.sortFields(); dup != "" {
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
// than once, if any. A duplicate key is a forgery in the making: readers
// of JSON differ on which value counts.
func (p *parser) sortFields() string {
	buf := p.buf
	slices.SortFunc(p.fields, func(a, b pfield) int {
		return bytes.Compare(a.key.of(buf), b.key.of(buf))
	})
	for i := 1; i < len(p.fields); i++ {
		if bytes.Equal(p.fields[i-1].key.of(buf), p.fields[i].key.of(buf)) {
			return string(p.fields[i].key.of(buf))
		}
	}
	return ""
}

// appendCanonical appends the canonical form of the parsed line, whose
// fields are sorted.
func (p *parser) appendCanonical(dst []byte) []byte {
	dst = appendTextBytes(dst, tagMsg, p.spec[specMsg].content.of(p.buf))
	dst = appendLevel(dst, p.spec[specLevel].content.of(p.buf))
	for _, f := range p.fields {
		if f.covered {
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
	if s.present && s.tag == tagNumber {
		parseSeq(s.num.of(p.line), &h.Seq)
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

// object parses a line holding one JSON object and records its fields.
func (p *parser) object(line []byte) error {
	p.line, p.i, p.depth = line, 0, 0
	p.buf = p.buf[:0]
	p.fields = p.fields[:0]
	p.spec = [specCount]pfield{}

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
	f.key = span{start, len(p.buf)}
	p.ws()
	if !p.eat(':') {
		return errSyntax
	}
	p.ws()

	spec := -1
	discard := false
	switch string(f.key.of(p.buf)) {
	case "msg":
		spec = specMsg
	case "level":
		spec = specLevel
	case fieldChain:
		spec = specChain
	case fieldSeq:
		spec = specSeq
	case fieldMAC:
		spec = specMAC
	case "event":
		spec = specEvent
	case "event.action":
		spec = specEventAction
	case FieldPrevChain:
		spec = specPrevChain
	case FieldPrevSeq:
		spec = specPrevSeq
	case FieldPrevMAC:
		spec = specPrevMAC
	case "time":
		spec = specTime
	case "ts", "logger", "caller", "stacktrace":
		discard = true
	}
	f.covered = !uncovered(string(f.key.of(p.buf)))

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
	// Integers of up to 15 digits are exact as float64; skipping
	// ParseFloat for them saves a string conversion per number.
	if len(text) > 0 && len(text) <= 15 && text[0] != '-' {
		var n int64
		ok := true
		for _, c := range text {
			if c < '0' || c > '9' {
				ok = false
				break
			}
			n = n*10 + int64(c-'0')
		}
		if ok {
			return appendNumber(dst, float64(n))
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
	s := p.i + 1
	for j := s; j < len(p.line); j++ {
		c := p.line[j]
		if c == '"' {
			raw := p.line[s:j]
			if !utf8.Valid(raw) {
				break
			}
			p.buf = binary.AppendUvarint(p.buf, uint64(len(raw)))
			p.buf = append(p.buf, raw...)
			p.i = j + 1
			return nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
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
	var err error
	p.buf, err = p.decodeString(p.buf)
	return err
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
