package integrity

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzParserAgreesWithEncodingJSON checks the verifier's parser against
// encoding/json: it must accept the same objects and build the same
// canonical form as Canonical does from their decoded values.
func FuzzParserAgreesWithEncodingJSON(f *testing.F) {
	f.Add(`{"level":"warn","ts":1.5,"msg":"m","a":"é\u00e9\ud83d\ude00","n":0.96525323,"b":[true,null,{"x":-0}],"seq":7}`)
	f.Add(`{"msg":"\ud800x","k":"a\xffb","n":1e400,"m":-1e-400,"big":12345678901234567890}`)
	f.Add(`{"event.category":["authentication"],"status":401,"tls":false}`)
	f.Add(`{"a":{"b":{"c":[[],{}]}},"s":"abcdefgh\u0000ijklmnop"}`)
	f.Fuzz(func(t *testing.T, line string) {
		var p parser
		err := p.object([]byte(line))
		if errors.Is(err, errDupKey) || errors.Is(err, errDepth) {
			return // encoding/json takes these; the verifier must not
		}

		d := json.NewDecoder(strings.NewReader(line))
		d.UseNumber()
		var m map[string]any
		jerr := d.Decode(&m)
		if jerr == nil && strings.TrimLeft(line[d.InputOffset():], " \t\r\n") != "" {
			jerr = errors.New("trailing data")
		}
		if (err == nil) != (jerr == nil && m != nil) {
			t.Fatalf("%q: parser error %v, encoding/json error %v", line, err, jerr)
		}
		if err != nil {
			return
		}
		if _, dup := p.sortFields(); dup {
			return
		}
		msg, _ := m["msg"].(string)
		level, _ := m["level"].(string)
		if _, ok := m["msg"].(string); !ok && m["msg"] != nil {
			return
		}
		if _, ok := m["level"].(string); !ok && m["level"] != nil {
			return
		}
		got := p.appendCanonical(nil)
		if want := Canonical(msg, level, m); !bytes.Equal(got, want) {
			t.Fatalf("%q:\nparser    %q\nCanonical %q", line, got, want)
		}
	})
}
