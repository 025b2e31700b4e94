package credentials

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

func b64(s string) string    { return base64.StdEncoding.EncodeToString([]byte(s)) }
func rawB64(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) }

// header builds a request header with the given Authorization values;
// nil means no Authorization header at all.
func header(values ...string) http.Header {
	h := http.Header{}
	for _, v := range values {
		h.Add("Authorization", v)
	}
	return h
}

// tests are shared by TestFromHeader and the fuzz seed corpus.
var tests = []struct {
	name     string
	header   http.Header
	want     Result
	wantUser string
	wantPass string
}{
	{"no header", header(), Missing, "", ""},
	{"header key without values", http.Header{"Authorization": {}}, Missing, "", ""},

	{"canonical scheme", header("Basic " + b64("alice:secret")), OK, "alice", "secret"},
	{"lower-case scheme", header("basic " + b64("alice:secret")), OK, "alice", "secret"},
	{"upper-case scheme", header("BASIC " + b64("alice:secret")), OK, "alice", "secret"},
	{"mixed-case scheme", header("bAsIc " + b64("alice:secret")), OK, "alice", "secret"},
	{"colon inside password", header("Basic " + b64("alice:pa:ss:")), OK, "alice", "pa:ss:"},
	{"empty username", header("Basic " + b64(":secret")), OK, "", "secret"},
	{"empty password", header("Basic " + b64("alice:")), OK, "alice", ""},
	{"colon alone", header("Basic " + b64(":")), OK, "", ""},
	{"UTF-8 credentials", header("Basic " + b64("jürgen:pässwörd€")), OK, "jürgen", "pässwörd€"},
	{"Latin-1 bytes", header("Basic " + b64("j\xfcrgen:p\xe4ss")), OK, "j\xfcrgen", "p\xe4ss"},
	{"Windows-1252 euro byte in username", header("Basic " + b64("\x80uro\xfc:pw")), OK, "\x80uro\xfc", "pw"},
	{"control characters in password", header("Basic " + b64("alice:a\x00b\nc")), OK, "alice", "a\x00b\nc"},
	{"padding left out", header("Basic " + rawB64("alice:p")), OK, "alice", "p"},
	{"one of two padding characters", header("Basic " + rawB64("alice:p") + "="), Malformed, "", ""},
	{"one padding character", header("Basic " + b64("alice:pw")), OK, "alice", "pw"},
	{"excess padding", header("Basic " + b64("alice:p") + "="), Malformed, "", ""},
	{"padding on a full token", header("Basic " + b64("alice:pw1") + "=="), Malformed, "", ""},
	{"non-canonical trailing bits", header("Basic YWxpY2U6cB=="), OK, "alice", "p"},
	{"doubled space after scheme", header("Basic  " + b64("alice:secret")), OK, "alice", "secret"},
	{"tab after scheme", header("Basic\t" + b64("alice:secret")), OK, "alice", "secret"},
	{"spaces and tabs after scheme", header("Basic \t \t" + b64("alice:secret")), OK, "alice", "secret"},
	{"trailing whitespace", header("Basic " + b64("alice:secret") + " \t "), OK, "alice", "secret"},
	{"leading whitespace", header(" \tBasic " + b64("alice:secret")), OK, "alice", "secret"},

	{"two Authorization headers", header("Basic "+b64("alice:secret"), "Basic "+b64("bob:secret")),
		Multiple, "", ""},
	{"two headers, one empty", header("Basic "+b64("alice:secret"), ""), Multiple, "", ""},
	{"comma-joined value", header("Basic " + b64("alice:secret") + ", Basic " + b64("bob:secret")),
		Multiple, "", ""},
	{"comma before scheme check", header("Bearer abc, Basic " + b64("bob:secret")), Multiple, "", ""},
	{"trailing comma", header("Basic " + b64("alice:secret") + ","), Multiple, "", ""},

	{"newline in username", header("Basic " + b64("ali\nce:secret")), InvalidUsername, "ali\nce", ""},
	{"ESC in username", header("Basic " + b64("\x1b[31malice:secret")), InvalidUsername, "\x1b[31malice", ""},
	{"NUL in username", header("Basic " + b64("alice\x00:secret")), InvalidUsername, "alice\x00", ""},
	{"DEL in username", header("Basic " + b64("al\x7fice:secret")), InvalidUsername, "al\x7fice", ""},
	{"tab in username", header("Basic " + b64("al\tice:secret")), InvalidUsername, "al\tice", ""},
	{"C1 control in UTF-8 username", header("Basic " + b64("ali\u0085ce:secret")), InvalidUsername,
		"ali\u0085ce", ""},
	{"C1 control at end of UTF-8 username", header("Basic " + b64("alice\u009f:secret")),
		InvalidUsername, "alice\u009f", ""},
	{"C1 bytes in Latin-1 username", header("Basic " + b64("\xe9\xc2\x85:secret")), OK, "\xe9\xc2\x85",
		"secret"},
	{"U+00A0 is not a control character", header("Basic " + b64("ali\u00a0ce:secret")), OK,
		"ali\u00a0ce", "secret"},

	{"5 KiB token", header("Basic " + strings.Repeat("QUFB", 5*1024/4)), Malformed, "", ""},
	{"token of exactly MaxToken", header("Basic " + b64("u:"+strings.Repeat("p", MaxToken/4*3-2))), OK,
		"u", strings.Repeat("p", MaxToken/4*3-2)},
	{"token just over MaxToken", header("Basic " + rawB64("u:"+strings.Repeat("p", MaxToken/4*3-1))),
		Malformed, "", ""},

	{"Bearer token", header("Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc"), UnsupportedScheme, "", ""},
	{"Digest", header(`Digest username="alice"`), UnsupportedScheme, "", ""},
	{"Bearer alone", header("Bearer"), UnsupportedScheme, "", ""},
	{"scheme glued to token", header("Basic" + b64("alice:secret")), UnsupportedScheme, "", ""},
	{"space inside token", header("Basic a b"), Malformed, "", ""},
	{"asterisks", header("Basic ***"), Malformed, "", ""},
	{"padding inside token", header("Basic YWxp=Y2U6cA"), Malformed, "", ""},
	{"line break inside token", header("Basic YWxp\r\nY2U6cA=="), Malformed, "", ""},
	{"newline at end of token", header("Basic " + b64("alice:secret") + "\n"), Malformed, "", ""},
	{"padding alone", header("Basic =="), Malformed, "", ""},
	{"token68 but not base64", header("Basic YWxp-2U6cA"), Malformed, "", ""},
	{"URL-safe base64", header("Basic " + base64.URLEncoding.EncodeToString([]byte("a>?:b>?"))),
		Malformed, "", ""},
	{"truncated base64", header("Basic YWxpY"), Malformed, "", ""},
	{"no colon", header("Basic " + b64("alice")), Malformed, "", ""},
	{"empty decoded token", header("Basic " + b64("")), Malformed, "", ""},
	{"empty header", header(""), Malformed, "", ""},
	{"whitespace-only header", header(" \t "), Malformed, "", ""},
	{"Basic alone", header("Basic"), Malformed, "", ""},
	{"Basic with trailing space", header("Basic  "), Malformed, "", ""},
}

func TestFromHeader(t *testing.T) {
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, result := FromHeader(tt.header)
			if result != tt.want {
				t.Errorf("result = %v, want %v", result, tt.want)
			}
			if got.Username != tt.wantUser {
				t.Errorf("username = %q, want %q", got.Username, tt.wantUser)
			}
			if got.Password != tt.wantPass {
				t.Errorf("password = %q, want %q", got.Password, tt.wantPass)
			}
		})
	}
}

func TestReason(t *testing.T) {
	tests := []struct {
		result Result
		want   string
	}{
		{OK, ""},
		{Missing, ""},
		{UnsupportedScheme, "unsupported_scheme"},
		{Malformed, "malformed_credentials"},
		{Multiple, "multiple_credentials"},
		{InvalidUsername, "invalid_username"},
	}
	for _, tt := range tests {
		if got := tt.result.Reason(); got != tt.want {
			t.Errorf("%v.Reason() = %q, want %q", tt.result, got, tt.want)
		}
	}
}

// TestFromHeaderAllocations guards the per-request cost: one string for
// accepted credentials, nothing at all for a refused header.
func TestFromHeaderAllocations(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		want   float64
	}{
		{"accepted", header("Basic " + b64("alice:secret")), 1},
		{"missing", header(), 0},
		{"unsupported scheme", header("Bearer abc"), 0},
		{"oversized token", header("Basic " + strings.Repeat("QUFB", 2*MaxToken)), 0},
		{"no colon", header("Basic " + b64("alice")), 0},
	}
	for _, tt := range tests {
		got := testing.AllocsPerRun(100, func() { FromHeader(tt.header) })
		if got > tt.want {
			t.Errorf("%s: %v allocations per call, want at most %v", tt.name, got, tt.want)
		}
	}
}

// hasControlRef is a plain reading of the username rule, independent of
// the byte-level shortcut in hasControl.
func hasControlRef(name string) bool {
	if strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return true
	}
	if !utf8.ValidString(name) {
		return false
	}
	return strings.ContainsFunc(name, func(r rune) bool { return r >= 0x80 && r <= 0x9f })
}

func FuzzFromHeader(f *testing.F) {
	for _, tt := range tests {
		if v := tt.header.Values("Authorization"); len(v) == 1 {
			f.Add(v[0], []byte(tt.wantUser+":"+tt.wantPass))
		}
	}
	f.Fuzz(func(t *testing.T, value string, decoded []byte) {
		h := header(value)
		got, result := FromHeader(h)
		if result != OK && got.Password != "" {
			t.Fatalf("result %v returned a password", result)
		}
		if result == OK {
			if hasControlRef(got.Username) {
				t.Fatalf("accepted username %q with control characters", got.Username)
			}
			fields := strings.Fields(value)
			if len(fields) != 2 {
				t.Fatalf("accepted %q, which is not a scheme and a token", value)
			}
			raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(fields[1], "="))
			if err != nil {
				t.Fatalf("accepted a token that does not decode: %v", err)
			}
			if s := got.Username + ":" + got.Password; s != string(raw) {
				t.Fatalf("username and password %q, want the decoded token %q", s, raw)
			}
			again, result := FromHeader(header("Basic " + b64(got.Username+":"+got.Password)))
			if result != OK || again != got {
				t.Fatalf("re-encoded credentials gave %q, %v; want %q, OK", again, result, got)
			}
		}

		// Whatever Caddy's basic_auth accepts must still be accepted, so
		// that renaming the directive breaks no client. The standard
		// decoder skips CR and LF, which no HTTP header value can hold.
		r := &http.Request{Header: h}
		if user, pass, ok := r.BasicAuth(); ok {
			token := value[len("Basic "):]
			switch {
			case result == OK:
				if got.Username != user || got.Password != pass {
					t.Fatalf("got %q:%q, net/http reads %q:%q", got.Username, got.Password, user, pass)
				}
			case result == InvalidUsername && hasControlRef(user):
			case result == Malformed && (len(token) > MaxToken || strings.ContainsAny(token, "\r\n")):
			default:
				t.Fatalf("refused %q as %v, which net/http accepts", value, result)
			}
		}

		// Any decoded credentials with a colon, once encoded, must come
		// back byte for byte or be refused for their username alone.
		token := base64.StdEncoding.EncodeToString(decoded)
		if len(token) > MaxToken {
			return
		}
		got, result = FromHeader(header("Basic " + token))
		user, pass, hasColon := strings.Cut(string(decoded), ":")
		switch {
		case !hasColon:
			if result != Malformed {
				t.Fatalf("credentials without a colon gave %v, want Malformed", result)
			}
		case hasControlRef(user):
			if result != InvalidUsername || got.Username != user || got.Password != "" {
				t.Fatalf("got %q, %v; want username %q, no password, InvalidUsername", got, result, user)
			}
		default:
			if result != OK || got.Username != user || got.Password != pass {
				t.Fatalf("got %q, %v; want %q:%q, OK", got, result, user, pass)
			}
		}
	})
}

func BenchmarkFromHeader(b *testing.B) {
	benchmarks := []struct {
		name   string
		header http.Header
	}{
		{"accepted", header("Basic " + b64("alice:correct horse battery staple"))},
		{"missing", header()},
		{"oversized", header("Basic " + strings.Repeat("QUFB", 5*1024/4))},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				FromHeader(bm.header)
			}
		})
	}
}
