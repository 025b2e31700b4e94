package lockout

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// bytesPerClient fills a tracker with n clients, each with one failure
// on the same username or, with users, on a username of its own. It
// returns the heap the tracker grew by per client, and the tracker's own
// estimate per client.
func bytesPerClient(n int, users bool) (measured, estimated float64) {
	p := DefaultPolicy()
	var before, after runtime.MemStats
	names := make([]string, n)
	for i := range names {
		names[i] = "alice"
		if users {
			names[i] = fmt.Sprint("user", i)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&before)

	tr := NewTracker(n)
	for i, name := range names {
		tr.Failure(&p, nthClient(i), name, uint64(i), tr.epoch)
	}

	runtime.GC()
	runtime.ReadMemStats(&after)
	s := tr.Stats(tr.epoch)
	runtime.KeepAlive(tr)
	runtime.KeepAlive(names)
	measured = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
	return measured, float64(s.Bytes) / float64(n)
}

// TestMemoryPerClient catches a regression of the memory an entry
// costs; the goal is 256 bytes, the bound here leaves room for the
// runtime's own variations.
func TestMemoryPerClient(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 100000 clients")
	}
	measured, estimated := bytesPerClient(DefaultMaxClients, false)
	t.Logf("%.0f bytes per client, %.0f estimated by Stats", measured, estimated)
	if measured > 512 {
		t.Errorf("%.0f bytes per client, want at most 512", measured)
	}
	if estimated < measured/2 || estimated > measured*2 {
		t.Errorf("Stats estimates %.0f bytes per client, measured %.0f", estimated, measured)
	}
}

// BenchmarkBytesPerClient reports the memory of 100000 clients failing
// on one username, and on one username each, which adds as many
// username entries.
func BenchmarkBytesPerClient(b *testing.B) {
	for _, users := range []bool{false, true} {
		b.Run(fmt.Sprint("username each=", users), func(b *testing.B) {
			var measured, estimated float64
			for b.Loop() {
				measured, estimated = bytesPerClient(DefaultMaxClients, users)
			}
			b.ReportMetric(measured, "B/client")
			b.ReportMetric(estimated, "estB/client")
		})
	}
}

func BenchmarkFailure(b *testing.B) {
	p := DefaultPolicy()
	p.Failures = 0 // keep every client counting
	tr := NewTracker(0)
	now := tr.epoch
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tr.Failure(&p, nthClient(i%10000), "alice", uint64(i), now)
		i++
	}
}

func BenchmarkCheck(b *testing.B) {
	p := DefaultPolicy()
	p.PerUser = 1 << 20 // look the username up too, never locking it
	tests := []struct {
		name   string
		locked bool // some client is locked, so Check must look
		client int
	}{
		{"nothing locked", false, 1},
		{"other client locked", true, 1},
		{"client locked", true, 0},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			tr := NewTracker(0)
			for i := range 1000 {
				tr.Failure(&p, nthClient(i+1), "carol", uint64(i), tr.epoch)
			}
			if tt.locked {
				for i := range p.Failures {
					tr.Failure(&p, nthClient(0), "bob", uint64(i), tr.epoch)
				}
			}
			now := tr.epoch.Add(time.Second)
			client := nthClient(tt.client)
			if _, locked := tr.Check(&p, client, "alice", now); locked != (tt.client == 0) {
				b.Fatalf("Check() locked = %v, want %v", locked, tt.client == 0)
			}
			b.ReportAllocs()
			for b.Loop() {
				tr.Check(&p, client, "alice", now)
			}
		})
	}
}
