package integrity

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// kv is one field of an event, in the order zap writes it.
type kv struct {
	k string
	v any
}

// testLog builds an audit log the way the module does: it seals each
// event, writes it as Caddy's JSON encoder would, and evolves the key
// after a checkpoint.
type testLog struct {
	chain *Chain
	lines []string
	now   time.Time
}

var testKey = []byte("0123456789abcdef0123456789abcdef")

func newTestLog(t testing.TB) *testLog {
	t.Helper()
	c, err := NewChain(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return &testLog{chain: c, now: time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)}
}

// add seals and writes one event.
func (l *testLog) add(msg, level string, fields ...kv) {
	l.now = l.now.Add(1234567 * time.Nanosecond)
	fields = append(fields, kv{"time", l.now.Format(time.RFC3339Nano)})
	m := make(map[string]any, len(fields))
	for _, f := range fields {
		m[f.k] = f.v
	}
	seq, mac := l.chain.Seal(msg, level, m)
	fields = append(fields, kv{"seq", seq}, kv{"chain", l.chain.ID()}, kv{"mac", mac})
	ts := float64(l.now.UnixNano()) / 1e9
	l.lines = append(l.lines, zapLine(level, "http.handlers.audited_basic_auth.audit", msg, ts, fields))
	if m["event"] == EventCheckpoint || m["event.action"] == EventCheckpoint {
		l.chain.Evolve()
	}
}

// failure adds a typical failed login.
func (l *testLog) failure(n int) {
	l.add("authentication failed", "warn",
		kv{"event", "authn_login_fail"},
		kv{"outcome", "failure"},
		kv{"reason", "wrong_password"},
		kv{"attempted_user", "al\"ice\\ \u00e9\u4e16 \x01"},
		kv{"user_known", n%2 == 0},
		kv{"client_ip", "192.0.2." + strconv.Itoa(n%250)},
		kv{"user_agent", "curl/8.5 \u2028 ok"},
		kv{"tls", false},
		kv{"status", 401},
		kv{"failures", n},
		kv{"verify_duration", 0.96525323 + float64(n)/7},
	)
}

func (l *testLog) checkpoint() {
	l.add("audit checkpoint", "info", kv{"event", EventCheckpoint})
}

// standardLog has 40 events: a chain start, failures, and checkpoints
// at seq 10, 20 and 30, so that seq 31 on is sealed with epoch 3.
func standardLog(t testing.TB) *testLog {
	l := newTestLog(t)
	l.add("audit chain started", "info", kv{"event", EventChainStart})
	for seq := 2; seq <= 40; seq++ {
		if seq%10 == 0 && seq < 40 {
			l.checkpoint()
		} else {
			l.failure(seq)
		}
	}
	return l
}

// zapLine renders an event as zap's JSON encoder does with Caddy's
// default encoder configuration.
func zapLine(level, logger, msg string, ts float64, fields []kv) string {
	b := []byte(`{"level":`)
	b = appendJSONString(b, level)
	b = append(b, `,"ts":`...)
	b = strconv.AppendFloat(b, ts, 'f', -1, 64)
	b = append(b, `,"logger":`...)
	b = appendJSONString(b, logger)
	b = append(b, `,"msg":`...)
	b = appendJSONString(b, msg)
	for _, f := range fields {
		b = append(b, ',')
		b = appendJSONString(b, f.k)
		b = append(b, ':')
		b = appendJSONValue(b, f.v)
	}
	return string(append(b, '}'))
}

func appendJSONValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return appendJSONString(b, v)
	case bool:
		return strconv.AppendBool(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case uint64:
		return strconv.AppendUint(b, v, 10)
	case float64:
		switch {
		case math.IsNaN(v):
			return append(b, `"NaN"`...)
		case math.IsInf(v, 1):
			return append(b, `"+Inf"`...)
		case math.IsInf(v, -1):
			return append(b, `"-Inf"`...)
		}
		return strconv.AppendFloat(b, v, 'f', -1, 64)
	case float32:
		return strconv.AppendFloat(b, float64(v), 'f', -1, 32)
	case []string:
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		return append(b, ']')
	case nil:
		return append(b, "null"...)
	}
	panic("zapLine: unsupported type")
}

// appendJSONString escapes as zap does: quotes, backslashes and control
// characters, and U+FFFD for each byte of invalid UTF-8.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			if c < 0x20 {
				b = append(b, `\u00`...)
				b = append(b, hex.EncodeToString([]byte{c})...)
			} else {
				b = append(b, c)
			}
		}
		i++
	}
	return append(b, '"')
}

// writeLog writes lines to a file in dir and returns its path.
func writeLog(t testing.TB, dir, name string, lines []string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	data := strings.Join(lines, "\n")
	if len(lines) > 0 {
		data += "\n"
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeGzip writes lines gzip-compressed, as Caddy rolls a log.
func writeGzip(t testing.TB, dir, name string, lines []string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for _, l := range lines {
		zw.Write([]byte(l + "\n"))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// verifyLines writes lines to one file and verifies it.
func verifyLines(t testing.TB, lines []string, head string) (Report, string) {
	t.Helper()
	path := writeLog(t, t.TempDir(), "audit.log", lines)
	r, err := Verify(testKey, []string{path}, head)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return r, path
}
