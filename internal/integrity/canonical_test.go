package integrity

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// decodeLine decodes a log line as a generic verifier would, and splits
// off msg and level.
func decodeLine(t *testing.T, line string) (string, string, map[string]any) {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(line))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decoding %s: %v", line, err)
	}
	msg, _ := m["msg"].(string)
	level, _ := m["level"].(string)
	return msg, level, m
}

// parserCanonical returns the canonical form that the verifier's own
// parser builds from a line.
func parserCanonical(line string) []byte {
	var p parser
	if err := p.object([]byte(line)); err != nil {
		return []byte("error: " + err.Error())
	}
	p.sortFields()
	return p.appendCanonical(nil)
}

func TestCanonicalAgreesWithDecodedLine(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"string", "alice"},
		{"empty string", ""},
		{"escapes", "a\"b\\c\n\r\t\x00\x1f/</script>"},
		{"unicode", "é世界 \u2028\u2029 😀"},
		{"invalid UTF-8", "a\xffb\xc3(\xed\xa0\x80"},
		{"true", true},
		{"false", false},
		{"int", 401},
		{"negative int", -7},
		{"zero", 0},
		{"six digits", 999999},
		{"seven digits", 1234567},
		{"negative seven digits", -1234567},
		{"int64", int64(1) << 52},
		{"int64 max exact", int64(1)<<53 - 1},
		{"uint64", uint64(1796399365)},
		{"float", 0.96525323},
		{"small float", 1e-7},
		{"tiny float", 5e-324},
		{"large float", 1e21},
		{"integral float", 2.0},
		{"negative zero", math.Copysign(0, -1)},
		{"float32", float32(0.1)},
		{"NaN", math.NaN()},
		{"+Inf", math.Inf(1)},
		{"-Inf", math.Inf(-1)},
		{"strings", []string{"authentication", "iam"}},
		{"empty strings", []string{}},
		{"nil", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields := map[string]any{"event.category": tt.v, "status": 401, "seq": uint64(3)}
			want := Canonical("authentication failed", "WARN", fields)

			line := zapLine("warn", "x", "authentication failed", 1.5,
				[]kv{{"status", 401}, {"event.category", tt.v}, {"seq", uint64(3)}})
			msg, level, decoded := decodeLine(t, line)
			if got := Canonical(msg, level, decoded); !bytes.Equal(got, want) {
				t.Errorf("decoded %s:\ngot  %q\nwant %q", line, got, want)
			}
			if got := parserCanonical(line); !bytes.Equal(got, want) {
				t.Errorf("parsed %s:\ngot  %q\nwant %q", line, got, want)
			}
		})
	}
}

func TestCanonicalNumbersAgree(t *testing.T) {
	want := Canonical("m", "info", map[string]any{"n": 1})
	for _, v := range []any{int64(1), uint64(1), 1.0, float32(1), json.Number("1"), json.Number("1.0"),
		json.Number("1e0"), []any{}} {
		got := Canonical("m", "info", map[string]any{"n": v})
		if _, isArray := v.([]any); isArray {
			if bytes.Equal(got, want) {
				t.Errorf("an array encodes as the number 1")
			}
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%T %v: got %q, want %q", v, v, got, want)
		}
	}
	strs := Canonical("m", "info", map[string]any{"a": []string{"x", "y"}})
	anys := Canonical("m", "info", map[string]any{"a": []any{"x", "y"}})
	if !bytes.Equal(strs, anys) {
		t.Errorf("[]string and []any differ: %q, %q", strs, anys)
	}
}

func TestCanonicalDistinguishes(t *testing.T) {
	base := func() map[string]any { return map[string]any{"a": "b", "n": 1} }
	tests := []struct {
		name       string
		msg, level string
		fields     map[string]any
	}{
		{"other msg", "n", "info", base()},
		{"other level", "m", "warn", base()},
		{"string for number", "m", "info", map[string]any{"a": "b", "n": "1"}},
		{"string for bool", "m", "info", map[string]any{"a": "true", "n": 1}},
		{"bool for string", "m", "info", map[string]any{"a": true, "n": 1}},
		{"key and value shifted", "m", "info", map[string]any{"ab": "", "n": 1}},
		{"array for string", "m", "info", map[string]any{"a": []string{"b"}, "n": 1}},
		{"null for string", "m", "info", map[string]any{"a": nil, "n": 1}},
		{"extra field", "m", "info", map[string]any{"a": "b", "n": 1, "x": ""}},
		{"missing field", "m", "info", map[string]any{"a": "b"}},
		{"msg moved into a field", "", "info", map[string]any{"a": "b", "n": 1, "m": ""}},
		{"unsupported type", "m", "info", map[string]any{"a": struct{}{}, "n": 1}},
	}
	want := Canonical("m", "info", base())
	for _, tt := range tests {
		if got := Canonical(tt.msg, tt.level, tt.fields); bytes.Equal(got, want) {
			t.Errorf("%s: same canonical form %q", tt.name, got)
		}
	}

	// Arrays split differently must differ too.
	a := Canonical("m", "info", map[string]any{"a": []string{"x", "y"}})
	b := Canonical("m", "info", map[string]any{"a": []string{"xy"}})
	if bytes.Equal(a, b) {
		t.Error(`["x","y"] and ["xy"] share a canonical form`)
	}
}

func TestCanonicalIgnoresEncoderFields(t *testing.T) {
	want := Canonical("m", "info", map[string]any{"a": "b"})
	for _, k := range []string{"mac", "ts", "logger", "caller", "stacktrace", "msg", "level"} {
		got := Canonical("m", "INFO", map[string]any{"a": "b", k: "anything"})
		if !bytes.Equal(got, want) {
			t.Errorf("field %q changes the canonical form", k)
		}
	}
}

func TestParserCanonicalOfEquivalentLines(t *testing.T) {
	want := parserCanonical(`{"level":"info","msg":"m","a":"é","n":10,"o":{"y":1,"x":[true,null]}}`)
	tests := []string{
		` { "o" : { "x" : [ true , null ] , "y" : 1.0 } , "n" : 1e1 , "a" : "\u00e9" , "msg" : "m" , "level" : "INFO" } ` + "\r",
		`{"level":"info","msg":"\u006d","a":"\u00E9","n":10,"o":{"x":[true,null],"y":1}}`,
	}
	for _, line := range tests {
		if got := parserCanonical(line); !bytes.Equal(got, want) {
			t.Errorf("%s:\ngot  %q\nwant %q", line, got, want)
		}
	}
}

func TestParserStrings(t *testing.T) {
	tests := []struct {
		json string
		want string
	}{
		{`"plain"`, "plain"},
		{`"a\"b\\c\/d\b\f\n\r\t"`, "a\"b\\c/d\b\f\n\r\t"},
		{`"\u00e9\u4e16"`, "é世"},
		{`"\ud83d\ude00"`, "😀"},
		{`"😀"`, "😀"},
		{`"\ud83d"`, "\ufffd"},
		{`"\ud83dx"`, "\ufffdx"},
		{`"\ude00\ud83d"`, "\ufffd\ufffd"},
		{`"\ud83d\u0041"`, "\ufffdA"},
		{"\"a\xffb\"", "a\ufffdb"},
		{"\"abcdefgh\xffijklmnop\"", "abcdefgh\ufffdijklmnop"},
		{"\"abcdefgh\u00e9ijklmnop\"", "abcdefghéijklmnop"},
		{"\"\xed\xa0\x80\"", "\ufffd\ufffd\ufffd"},
	}
	for _, tt := range tests {
		got := parserCanonical(`{"msg":"m","k":` + tt.json + `}`)
		want := Canonical("m", "", map[string]any{"k": tt.want})
		if !bytes.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", tt.json, got, want)
		}
		// encoding/json must read the string the same way.
		var s string
		if err := json.Unmarshal([]byte(tt.json), &s); err != nil || s != tt.want {
			t.Errorf("%s: encoding/json reads %q (%v), want %q", tt.json, s, err, tt.want)
		}
	}
}

func TestParserRejectsInvalidJSON(t *testing.T) {
	tests := []struct {
		line string
		json bool // valid JSON, but not what an audit line may be
	}{
		{``, false},
		{`not json`, false},
		{`[1,2]`, true},
		{`"string"`, true},
		{`{"a":1`, false},
		{`{"a":1}}`, false},
		{`{"a":1} x`, false},
		{`{"a":01}`, false},
		{`{"a":1.}`, false},
		{`{"a":.5}`, false},
		{`{"a":1e}`, false},
		{`{"a":+1}`, false},
		{`{"a":tru}`, false},
		{`{"a":"b}`, false},
		{"{\"a\":\"b\x01\"}", false},
		{"{\"a\":\"abcdefgh\x1fijklmnop\"}", false},
		{"{\"abcdefgh\x7fij\x1f\":1}", false},
		{`{"a":"\x"}`, false},
		{`{"a":"\u12"}`, false},
		{`{a:1}`, false},
		{`{"a" 1}`, false},
		{`{"a":1,}`, false},
		{`{"a":[1,]}`, false},
		{`{"a":{"b":1,"b":2}}`, true},
		{`{"a":` + strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1) + `}`, true},
	}
	for _, tt := range tests {
		var p parser
		if err := p.object([]byte(tt.line)); err == nil {
			t.Errorf("%q: parsed without error", tt.line)
		}
		var v any
		if err := json.Unmarshal([]byte(tt.line), &v); (err == nil) != tt.json {
			t.Errorf("%q: encoding/json says %v: the test case is wrong", tt.line, err)
		}
	}
}

func TestKeyedSumIsHMAC(t *testing.T) {
	key := sha256.Sum256([]byte("k"))
	a, b := []byte("previous mac"), []byte(strings.Repeat("canonical ", 50))
	got := keyedSum(sha256.New(), sha256.New(), &key, a, b)
	m := hmac.New(sha256.New, key[:])
	m.Write(a)
	m.Write(b)
	if want := m.Sum(nil); !bytes.Equal(got[:], want) {
		t.Errorf("keyedSum = %x, want HMAC-SHA256 %x", got, want)
	}
}

func TestPrintableASCII(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"", true},
		{"short", true},
		{" ~ printable ascii, and longer than a word ~ ", true},
		{"exactly8", true},
		{"exactly\x1f", false},
		{"\x00bcdefgh", false},
		{"abcdefg\x7f is DEL, allowed", true},
		{"abcdefgh\x80", false},
		{"abcdefghijklmno\u00e9", false},
		{"abcdefghijklmno\n", false},
		{"\x20\x20\x20\x20\x20\x20\x20\x1f", false},
	}
	for _, tt := range tests {
		if got := printableASCII([]byte(tt.s)); got != tt.want {
			t.Errorf("printableASCII(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}
