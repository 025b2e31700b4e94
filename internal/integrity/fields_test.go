package integrity

import (
	"bytes"
	"math"
	"testing"
)

// TestSealFieldsMatchesSeal: the list form and the map form of the same
// event have the same canonical form, so either may seal it.
func TestSealFieldsMatchesSeal(t *testing.T) {
	tests := []struct {
		name   string
		fields []Field
	}{
		{"empty", nil},
		{"keys around chain and seq", []Field{
			{Key: "status", Kind: KindNumber, Num: 401},
			{Key: "a", Kind: KindString, Str: "x"},
			{Key: "realm", Kind: KindString, Str: "r"},
			{Key: "client_ip", Kind: KindString, Str: "192.0.2.1"},
			{Key: "tls", Kind: KindBool, Num: 0},
			{Key: "cache_hit", Kind: KindBool, Num: 1},
			{Key: "verify_duration", Kind: KindFloat, Num: 0.96525323},
			{Key: "zz", Kind: KindFloat, Num: math.Inf(1)},
		}},
		{"only before chain", []Field{{Key: "a", Kind: KindString, Str: "1"}}},
		{"between chain and seq", []Field{{Key: "path", Kind: KindString, Str: "/"}}},
		{"uncovered keys and given seq", []Field{
			{Key: "ts", Kind: KindFloat, Num: 1.5},
			{Key: "mac", Kind: KindString, Str: "m"},
			{Key: "seq", Kind: KindNumber, Num: 99},
			{Key: "event", Kind: KindString, Str: "authn_login_fail"},
		}},
		{"arrays, ECS names and invalid UTF-8", []Field{
			{Key: "event.category", Kind: KindAny, Any: []any{"authentication"}},
			{Key: "@timestamp", Kind: KindString, Str: "2026-12-04T16:00:00Z"},
			{Key: "user.name", Kind: KindString, Str: "j\xf6rg"},
		}},
		{"a key twice, last wins", []Field{
			{Key: "user", Kind: KindString, Str: "first"},
			{Key: "user", Kind: KindString, Str: "last"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]any{}
			for _, f := range tt.fields {
				switch f.Kind {
				case KindString:
					m[f.Key] = f.Str
				case KindBool:
					m[f.Key] = f.Num != 0
				case KindNumber:
					m[f.Key] = int64(f.Num)
				case KindFloat:
					m[f.Key] = f.Num
				default:
					m[f.Key] = f.Any
				}
			}
			want := appendCanonical(nil, "authentication failed", "warn", m, &chainFields{seq: 7,
				chain: "0123456789abcdef"})
			got := appendCanonicalFields(nil, "authentication failed", "warn", append([]Field(nil),
				tt.fields...), 7, "0123456789abcdef")
			if !bytes.Equal(got, want) {
				t.Errorf("canonical forms differ:\n got %q\nwant %q", got, want)
			}
		})
	}
}
