package lockout

import (
	"net/netip"
	"testing"
	"time"
)

// TestWindowEdges pins the precision documented on window: a failure
// stops counting no later than one Window after it, and no earlier than
// Window minus one slice. The window is 16s, so a slice is 1s, and the
// tracker's epoch is a slice boundary.
func TestWindowEdges(t *testing.T) {
	p := DefaultPolicy()
	p.Window = 16 * time.Second
	client := netip.MustParseAddr("192.0.2.1")
	ms := time.Millisecond

	tests := []struct {
		name           string
		failure, check time.Duration
		want           int
	}{
		{"same instant", 0, 0, 1},
		{"just inside, slice-aligned", 0, 16*time.Second - 1, 1},
		{"just outside, slice-aligned", 0, 16 * time.Second, 0},
		{"well outside", 0, time.Hour, 0},
		{"mid-slice, one slice short of the window", 500 * ms, 15500 * ms, 1},
		{"mid-slice, exactly one window later", 500 * ms, 16500 * ms, 0},
		{"mid-slice, expires with its slice", 500 * ms, 16 * time.Second, 0},
		{"check earlier than the failure", 5 * time.Second, 4 * time.Second, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTracker(10)
			tr.Failure(&p, client, "alice", 1, tr.epoch.Add(tt.failure))
			if got := tr.Failures(&p, client, tr.epoch.Add(tt.check)); got != tt.want {
				t.Errorf("Failures() = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestWindowNeverCountsPastWindow sweeps failure and check times across
// slice boundaries for the two guarantees of the window.
func TestWindowNeverCountsPastWindow(t *testing.T) {
	const span = 160 * time.Millisecond // slices of 10ms
	for f := time.Duration(0); f < 30*time.Millisecond; f += 3 * time.Millisecond {
		for age := time.Duration(0); age < 2*span; age += time.Millisecond {
			var w window
			w.advance(int64(f), int64(span))
			w.add()
			w.advance(int64(f+age), int64(span))
			got := w.sum()
			switch {
			case age >= span && got != 0:
				t.Fatalf("failure at %v read at age %v: sum() = %d, want 0", f, age, got)
			case age <= span-span/buckets && got != 1:
				t.Fatalf("failure at %v read at age %v: sum() = %d, want 1", f, age, got)
			}
		}
	}
}

func TestWindowRescale(t *testing.T) {
	sec := int64(time.Second)
	tests := []struct {
		name       string
		from, to   time.Duration
		readAt     int64
		wantBefore int
		want       int
	}{
		{"wider window keeps every count", 16 * time.Second, 32 * time.Second, 15 * sec, 15, 15},
		{"narrower window keeps the recent ones", 16 * time.Second, 4 * time.Second, 15 * sec, 15, 4},
		{"same width changes nothing", 16 * time.Second, 16 * time.Second, 15 * sec, 15, 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w window
			// One event in each of the seconds 1 to 15.
			for s := int64(1); s <= 15; s++ {
				w.advance(s*sec, int64(tt.from))
				w.add()
			}
			if got := w.sum(); got != tt.wantBefore {
				t.Fatalf("sum() before = %d, want %d", got, tt.wantBefore)
			}
			w.advance(tt.readAt, int64(tt.to))
			if got := w.sum(); got != tt.want {
				t.Errorf("sum() after = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestWindowSaturates(t *testing.T) {
	var w window
	w.advance(0, int64(time.Minute))
	for range 70000 {
		w.add()
	}
	if got, want := w.sum(), 65535; got != want {
		t.Errorf("sum() = %d, want %d", got, want)
	}
}
