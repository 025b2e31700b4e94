package integrity

import (
	"bufio"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// writeBenchLog writes n sealed events as Caddy would, with a checkpoint
// every 10000, and returns the file's path.
func writeBenchLog(b *testing.B, n int) string {
	path := filepath.Join(b.TempDir(), "audit.log")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	c, err := NewChain(testKey)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		now = now.Add(time.Millisecond + 123*time.Nanosecond)
		msg, level := "authentication failed", "warn"
		fields := []kv{
			{"event", "authn_login_fail"},
			{"outcome", "failure"},
			{"reason", "wrong_password"},
			{"attempted_user", "user" + strconv.Itoa(i%1000)},
			{"user_known", i%3 == 0},
			{"client_ip", "203.0.113." + strconv.Itoa(i%250)},
			{"remote_ip", "203.0.113." + strconv.Itoa(i%250)},
			{"method", "GET"},
			{"host", "example.com"},
			{"path", "/admin/settings"},
			{"proto", "HTTP/2.0"},
			{"user_agent", "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/133.0"},
			{"tls", true},
			{"status", 401},
			{"request_id", "6f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b"},
			{"realm", "restricted"},
			{"cache_hit", false},
			{"verify_duration", float64(i%997) / 1013},
			{"failures", i % 20},
		}
		if i%10000 == 0 {
			msg, level = "audit checkpoint", "info"
			fields = []kv{{"event", EventCheckpoint}}
		}
		fields = append(fields, kv{"time", now.Format(time.RFC3339Nano)})
		m := make(map[string]any, len(fields))
		for _, f := range fields {
			m[f.k] = f.v
		}
		seq, mac := c.Seal(msg, level, m)
		fields = append(fields, kv{"seq", seq}, kv{"chain", c.ID()}, kv{"mac", mac})
		ts := float64(now.UnixNano()) / 1e9
		w.WriteString(zapLine(level, "http.handlers.audited_basic_auth.audit", msg, ts, fields))
		w.WriteByte('\n')
		if i%10000 == 0 {
			c.Evolve()
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkVerify verifies a log of a million events.
func BenchmarkVerify(b *testing.B) {
	const n = 1_000_000
	path := writeBenchLog(b, n)
	info, _ := os.Stat(path)
	b.SetBytes(info.Size())
	for b.Loop() {
		r, err := Verify(testKey, []string{path}, "")
		if err != nil {
			b.Fatal(err)
		}
		if c := r.Chains[0]; c.Problem != nil || c.Verified != n {
			b.Fatalf("problem %+v, verified %d", c.Problem, c.Verified)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkVerifyGzip verifies a rolled, gzip-compressed log, whose
// decompression runs on the reading goroutine.
func BenchmarkVerifyGzip(b *testing.B) {
	const n = 200_000
	plain := writeBenchLog(b, n)
	path := plain + ".gz"
	in, err := os.Open(plain)
	if err != nil {
		b.Fatal(err)
	}
	out, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	zw := gzip.NewWriter(out)
	if _, err := io.Copy(zw, in); err != nil {
		b.Fatal(err)
	}
	zw.Close()
	out.Close()
	in.Close()

	for b.Loop() {
		r, err := Verify(testKey, []string{path}, "")
		if err != nil {
			b.Fatal(err)
		}
		if c := r.Chains[0]; c.Problem != nil || c.Verified != n {
			b.Fatalf("problem %+v, verified %d", c.Problem, c.Verified)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkSeal measures the cost that sealing adds to an audit event.
func BenchmarkSeal(b *testing.B) {
	c, err := NewChain(testKey)
	if err != nil {
		b.Fatal(err)
	}
	fields := map[string]any{
		"event": "authn_login_fail", "outcome": "failure", "reason": "wrong_password",
		"attempted_user": "alice", "client_ip": "203.0.113.7", "status": 401,
		"tls": true, "verify_duration": 0.96525323, "failures": 3,
		"time": "2026-12-04T15:49:34.436123456Z",
	}
	b.ReportAllocs()
	for b.Loop() {
		c.Seal("authentication failed", "warn", fields)
	}
}
