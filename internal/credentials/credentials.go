// Package credentials reads HTTP Basic credentials (RFC 7617) from request
// headers. It runs on every request, so it allocates at most once and
// rejects oversized or malformed input before decoding it.
package credentials

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxToken is the longest token, in bytes after the scheme, that is
// decoded. Real credentials are far shorter; the limit keeps a hostile
// client from making the server decode megabytes per request.
const MaxToken = 4096

// maxDecoded is the most bytes a token of MaxToken characters decodes to.
const maxDecoded = MaxToken / 4 * 3

// Result says whether a request carried usable credentials and, if not,
// why not.
type Result int

// The results of FromHeader.
const (
	// OK means the credentials were read and may be verified.
	OK Result = iota
	// Missing means the request has no Authorization header.
	Missing
	// UnsupportedScheme means the Authorization header names a scheme
	// other than Basic.
	UnsupportedScheme
	// Malformed means the header is empty, the token is missing, too long,
	// not token68, not base64, or decodes to something without a colon.
	Malformed
	// Multiple means the request carries more than one set of
	// credentials, in separate headers or joined by a comma.
	Multiple
	// InvalidUsername means the username contains control characters.
	InvalidUsername
)

// Reason returns the reason code of the result for events and
// placeholders. It is empty for OK and Missing, which are not failures.
func (r Result) Reason() string {
	switch r {
	case UnsupportedScheme:
		return "unsupported_scheme"
	case Malformed:
		return "malformed_credentials"
	case Multiple:
		return "multiple_credentials"
	case InvalidUsername:
		return "invalid_username"
	}
	return ""
}

// String returns the name of the result, for tests and debugging.
func (r Result) String() string {
	switch r {
	case OK:
		return "OK"
	case Missing:
		return "Missing"
	case UnsupportedScheme:
		return "UnsupportedScheme"
	case Malformed:
		return "Malformed"
	case Multiple:
		return "Multiple"
	case InvalidUsername:
		return "InvalidUsername"
	}
	return "Result(" + strconv.Itoa(int(r)) + ")"
}

// Credentials are a username and password as the client sent them: bytes,
// not re-encoded, so UTF-8 and legacy 8-bit encodings both pass through
// unchanged and compare as bytes.
type Credentials struct {
	Username string
	Password string
}

// FromHeader reads Basic credentials from the Authorization header.
//
// On any result but OK the Password is empty, so no caller can log or
// keep it by mistake. On InvalidUsername the Username is returned for the
// audit trail; it holds control characters and must be sanitized before
// it is logged.
func FromHeader(h http.Header) (Credentials, Result) {
	values := h.Values("Authorization")
	switch {
	case len(values) == 0:
		return Credentials{}, Missing
	case len(values) > 1:
		return Credentials{}, Multiple
	}

	// A comma cannot occur in a token68, so it can only join several
	// credentials into one field value, the way proxies merge headers.
	value := values[0]
	if strings.IndexByte(value, ',') >= 0 {
		return Credentials{}, Multiple
	}

	value = trimSpace(value)
	if value == "" {
		return Credentials{}, Malformed
	}
	scheme, token := value, ""
	if i := strings.IndexAny(value, " \t"); i >= 0 {
		scheme, token = value[:i], trimSpace(value[i:])
	}
	if !strings.EqualFold(scheme, "Basic") {
		return Credentials{}, UnsupportedScheme
	}
	if token == "" || len(token) > MaxToken || !isToken68(token) {
		return Credentials{}, Malformed
	}

	// Padding is optional because some clients leave it out; whatever
	// padding there is must still be valid base64 padding.
	data := strings.TrimRight(token, "=")
	if pad := len(token) - len(data); pad > 0 && (pad > 2 || len(token)%4 != 0) {
		return Credentials{}, Malformed
	}

	// Decoding into a stack buffer leaves a single allocation, for the
	// string that holds both username and password.
	var buf [maxDecoded]byte
	n, err := base64.RawStdEncoding.Decode(buf[:], []byte(data))
	if err != nil {
		return Credentials{}, Malformed
	}
	decoded := buf[:n]

	// The username cannot contain a colon, the password can (RFC 7617).
	colon := bytes.IndexByte(decoded, ':')
	if colon < 0 {
		return Credentials{}, Malformed
	}
	if hasControl(decoded[:colon]) {
		// Only the username is copied, so the password never reaches
		// the heap for a request that is refused anyway.
		return Credentials{Username: string(decoded[:colon])}, InvalidUsername
	}

	s := string(decoded)
	return Credentials{Username: s[:colon], Password: s[colon+1:]}, OK
}

// trimSpace removes the spaces and tabs that HTTP allows around a field
// value and between the scheme and the token.
func trimSpace(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// isToken68 reports whether s has the token68 syntax of RFC 9110: one or
// more of ALPHA, DIGIT, "-", ".", "_", "~", "+" and "/", then any "=".
func isToken68(s string) bool {
	i := 0
	for i < len(s) && isToken68Char(s[i]) {
		i++
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

func isToken68Char(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
}

// hasControl reports whether a username holds a C0 control character,
// DEL, or, when it is valid UTF-8, a C1 control character. A name that is
// not valid UTF-8 is taken to be in a legacy 8-bit encoding, where bytes
// 0x80 to 0x9F are often printable (the euro sign in Windows-1252), so
// they are not refused there.
func hasControl(name []byte) bool {
	c1 := false
	for i, b := range name {
		if b < 0x20 || b == 0x7f {
			return true
		}
		// In valid UTF-8, 0xC2 followed by 0x80 to 0x9F is exactly the
		// encoding of U+0080 to U+009F.
		if b == 0xc2 && i+1 < len(name) && name[i+1] >= 0x80 && name[i+1] <= 0x9f {
			c1 = true
		}
	}
	return c1 && utf8.Valid(name)
}
