package lockout

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
)

var (
	clientA = netip.MustParseAddr("192.0.2.1")
	clientB = netip.MustParseAddr("192.0.2.2")
	clientC = netip.MustParseAddr("2001:db8::3")
)

// nthClient returns a distinct IPv4 client for each n.
func nthClient(n int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)})
}

// policy returns the default policy changed by edit.
func policy(edit func(*Policy)) *Policy {
	p := DefaultPolicy()
	if edit != nil {
		edit(&p)
	}
	return &p
}

func TestIdenticalCredentialsCountOnce(t *testing.T) {
	p := policy(func(p *Policy) { p.Window = time.Minute })
	tests := []struct {
		name        string
		at          time.Duration
		client      netip.Addr
		credential  uint64
		wantCounted bool
		wantCount   int
	}{
		{"first", 0, clientA, 1, true, 1},
		{"repeat", time.Second, clientA, 1, false, 1},
		{"repeat again", 30 * time.Second, clientA, 1, false, 1},
		{"other credentials", 31 * time.Second, clientA, 2, true, 2},
		{"same credentials, other client", 32 * time.Second, clientB, 1, true, 1},
		{"repeat just inside the window", 59 * time.Second, clientA, 1, false, 2},
		{"repeat exactly one window later", 60 * time.Second, clientA, 1, true, 2},
	}
	tr := NewTracker(10)
	for _, tt := range tests {
		f := tr.Failure(p, tt.client, "alice", tt.credential, tr.epoch.Add(tt.at))
		if f.Counted != tt.wantCounted || f.Count != tt.wantCount {
			t.Errorf("%s: Failure() = counted %v, count %d; want %v, %d",
				tt.name, f.Counted, f.Count, tt.wantCounted, tt.wantCount)
		}
	}
}

// TestCredentialMemoryIsBounded shows that a client keeps a fixed
// number of fingerprints: the oldest gives way, and its repeat counts.
func TestCredentialMemoryIsBounded(t *testing.T) {
	p := policy(func(p *Policy) { p.Failures = 0 })
	tr := NewTracker(10)
	for i := range maxCredentials + 1 {
		tr.Failure(p, clientA, "alice", uint64(i), tr.epoch.Add(time.Duration(i)*time.Second))
	}
	f := tr.Failure(p, clientA, "alice", 0, tr.epoch.Add(time.Minute))
	if !f.Counted {
		t.Errorf("repeat of an evicted fingerprint: Counted = false, want true")
	}
	f = tr.Failure(p, clientA, "alice", maxCredentials, tr.epoch.Add(time.Minute))
	if f.Counted {
		t.Errorf("repeat of a kept fingerprint: Counted = true, want false")
	}
	if got := len(tr.clients.get(clientA.As16()).val.credentials); got != maxCredentials {
		t.Errorf("fingerprints kept = %d, want %d", got, maxCredentials)
	}
}

// TestOnlyFailuresCount shows that challenges, checks and successes
// leave no trace: only Failure records anything.
func TestOnlyFailuresCount(t *testing.T) {
	p := policy(nil)
	tr := NewTracker(10)
	now := tr.epoch
	if _, locked := tr.Check(p, clientA, "alice", now); locked {
		t.Errorf("Check() locked a client that never failed")
	}
	if got := tr.Success(p, clientA, "alice", now); got != 0 {
		t.Errorf("Success() = %d, want 0", got)
	}
	if got := tr.Failures(p, clientA, now); got != 0 {
		t.Errorf("Failures() = %d, want 0", got)
	}
	if s := tr.Stats(now); s.Clients != 0 || s.Users != 0 {
		t.Errorf("Stats() = %+v, want no clients and no users", s)
	}

	tr.Failure(p, clientA, "alice", 1, now)
	if s := tr.Stats(now); s.Clients != 1 || s.Users != 1 {
		t.Errorf("after a failure, Stats() = %+v, want 1 client and 1 user", s)
	}
}

func TestLockAtNthFailure(t *testing.T) {
	p := policy(func(p *Policy) { p.Failures = 3 })
	tr := NewTracker(10)
	for i := 1; i <= 3; i++ {
		now := tr.epoch.Add(time.Duration(i) * time.Second)
		if _, locked := tr.Check(p, clientA, "alice", now); locked {
			t.Fatalf("before failure %d: Check() locked, want unlocked", i)
		}
		f := tr.Failure(p, clientA, "alice", uint64(i), now)
		if i < 3 {
			if len(f.Locks) != 0 {
				t.Errorf("failure %d: Locks = %+v, want none", i, f.Locks)
			}
			continue
		}
		want := Lock{
			Kind:     KindClient,
			Client:   clientA,
			Duration: DefaultDuration,
			Until:    now.Add(DefaultDuration),
			Repeat:   1,
		}
		if len(f.Locks) != 1 || f.Locks[0] != want {
			t.Errorf("failure %d: Locks = %+v, want [%+v]", i, f.Locks, want)
		}
	}
	if _, locked := tr.Check(p, clientB, "alice", tr.epoch.Add(4*time.Second)); locked {
		t.Errorf("Check() locked another client")
	}
}

func TestCheckDuringAndAfterLock(t *testing.T) {
	p := policy(func(p *Policy) {
		p.Failures = 3
		p.Window = time.Hour // the failures would still count without the lock
	})
	tr := NewTracker(10)
	start := tr.epoch.Add(time.Second)
	for i := range 3 {
		tr.Failure(p, clientA, "alice", uint64(i), start)
	}
	end := start.Add(DefaultDuration)

	tests := []struct {
		name       string
		at         time.Time
		wantLocked bool
		wantRetry  time.Duration
	}{
		{"at the start", start, true, DefaultDuration},
		{"one minute in", start.Add(time.Minute), true, DefaultDuration - time.Minute},
		{"just before the end", end.Add(-1), true, 1},
		{"at the end", end, false, 0},
		{"after the end", end.Add(time.Minute), false, 0},
	}
	for _, tt := range tests {
		retry, locked := tr.Check(p, clientA, "alice", tt.at)
		if locked != tt.wantLocked || retry != tt.wantRetry {
			t.Errorf("%s: Check() = %v, %v; want %v, %v",
				tt.name, retry, locked, tt.wantRetry, tt.wantLocked)
		}
	}

	if got := tr.Failures(p, clientA, start.Add(time.Minute)); got != 3 {
		t.Errorf("Failures() during the lock = %d, want 3", got)
	}
	if got := tr.Failures(p, clientA, end); got != 0 {
		t.Errorf("Failures() after the lock = %d, want 0", got)
	}
	// The first credentials tried before the lock count again.
	f := tr.Failure(p, clientA, "alice", 0, end.Add(time.Second))
	if !f.Counted || f.Count != 1 || len(f.Locks) != 0 {
		t.Errorf("first failure after the lock = %+v, want counted, count 1, no lock", f)
	}
}

// lockAgain makes client fail until it is locked, starting at now, and
// returns the lock.
func lockAgain(t *testing.T, tr *Tracker, p *Policy, client netip.Addr, now time.Time) Lock {
	t.Helper()
	for i := range p.Failures {
		f := tr.Failure(p, client, "alice", uint64(now.UnixNano())+uint64(i), now)
		if len(f.Locks) == 1 {
			return f.Locks[0]
		}
	}
	t.Fatalf("no lock after %d failures", p.Failures)
	return Lock{}
}

func TestLockEscalation(t *testing.T) {
	p := policy(func(p *Policy) {
		p.Failures = 2
		p.Duration = time.Minute
		p.MaxDuration = 5 * time.Minute
	})
	tr := NewTracker(10)
	now := tr.epoch
	want := []time.Duration{1, 2, 4, 5, 5}
	for i, minutes := range want {
		l := lockAgain(t, tr, p, clientA, now)
		if l.Duration != minutes*time.Minute || l.Repeat != i+1 {
			t.Errorf("lock %d: duration %v, repeat %d; want %v, %d",
				i+1, l.Duration, l.Repeat, minutes*time.Minute, i+1)
		}
		now = l.Until
	}
}

func TestLockEscalationDecays(t *testing.T) {
	p := policy(func(p *Policy) {
		p.Failures = 2
		p.Duration = time.Minute
		p.MaxDuration = 5 * time.Minute
	})
	tests := []struct {
		name  string
		quiet time.Duration // after the first lock ends
		want  time.Duration
	}{
		{"right after", 0, 2 * time.Minute},
		{"quiet just under max_duration", 5*time.Minute - time.Second, 2 * time.Minute},
		{"quiet for max_duration", 5 * time.Minute, time.Minute},
		{"quiet for a day", 24 * time.Hour, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTracker(10)
			first := lockAgain(t, tr, p, clientA, tr.epoch)
			second := lockAgain(t, tr, p, clientA, first.Until.Add(tt.quiet))
			if second.Duration != tt.want {
				t.Errorf("second lock: %v, want %v", second.Duration, tt.want)
			}
		})
	}
}

// TestMaxDurationBelowDuration shows that a cap below the first lock's
// length leaves locks at Duration, and the streak decays only after
// Duration.
func TestMaxDurationBelowDuration(t *testing.T) {
	p := policy(func(p *Policy) {
		p.Failures = 2
		p.Duration = 10 * time.Minute
		p.MaxDuration = time.Minute
	})
	tr := NewTracker(10)
	first := lockAgain(t, tr, p, clientA, tr.epoch)
	second := lockAgain(t, tr, p, clientA, first.Until.Add(2*time.Minute))
	if second.Duration != 10*time.Minute || second.Repeat != 2 {
		t.Errorf("second lock: %v, repeat %d; want %v, 2", second.Duration, second.Repeat, 10*time.Minute)
	}
}

func TestTrustedNetworksAreNeverLocked(t *testing.T) {
	tests := []struct {
		name    string
		network string
		client  string
	}{
		{"IPv4 network, IPv4 client", "10.0.0.0/8", "10.1.2.3"},
		{"IPv4 network, mapped client", "10.0.0.0/8", "::ffff:10.1.2.3"},
		{"mapped network, IPv4 client", "::ffff:10.0.0.0/104", "10.1.2.3"},
		{"IPv6 network", "2001:db8::/32", "2001:db8::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policy(func(p *Policy) {
				p.Failures = 3
				p.PerUser = 3
				p.BruteForce = 3
				p.Trusted = []netip.Prefix{netip.MustParsePrefix(tt.network)}
			})
			client := netip.MustParseAddr(tt.client)
			tr := NewTracker(10)
			var detections int
			var f Failure
			for i := range 5 {
				f = tr.Failure(p, client, "alice", uint64(i), tr.epoch)
				if len(f.Locks) != 0 && f.Locks[0].Kind == KindClient {
					t.Errorf("failure %d locked the trusted client", i+1)
				}
				detections += len(f.Detections)
			}
			if f.Count != 5 {
				t.Errorf("Count = %d, want 5", f.Count)
			}
			if detections != 1 {
				t.Errorf("detections = %d, want 1 (brute_force)", detections)
			}
			// alice is now locked for everyone else, not for the client.
			if _, locked := tr.Check(p, client, "alice", tr.epoch); locked {
				t.Errorf("Check() locked the trusted client")
			}
			if _, locked := tr.Check(p, clientA, "alice", tr.epoch); !locked {
				t.Errorf("Check() from another client did not honour the username lock")
			}
		})
	}
}

func TestPerUserLock(t *testing.T) {
	tests := []struct {
		name     string
		perUser  int
		wantLock int // failure that locks alice; 0: none
	}{
		{"off by default", 0, 0},
		{"on", 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policy(func(p *Policy) { p.PerUser = tt.perUser })
			tr := NewTracker(100)
			gotLock := 0
			for i := 1; i <= 30; i++ {
				f := tr.Failure(p, nthClient(i), "alice", uint64(i), tr.epoch)
				for _, l := range f.Locks {
					if l.Kind != KindUser || l.Username != "alice" || l.Duration != DefaultDuration {
						t.Errorf("failure %d: lock %+v, want alice for %v", i, l, DefaultDuration)
					}
					if gotLock == 0 {
						gotLock = i
					}
				}
			}
			if gotLock != tt.wantLock {
				t.Errorf("alice locked at failure %d, want %d", gotLock, tt.wantLock)
			}

			stranger := nthClient(1000)
			_, locked := tr.Check(p, stranger, "alice", tr.epoch.Add(time.Minute))
			if locked != (tt.wantLock != 0) {
				t.Errorf("Check(alice) = %v, want %v", locked, tt.wantLock != 0)
			}
			if _, locked := tr.Check(p, stranger, "bob", tr.epoch.Add(time.Minute)); locked {
				t.Errorf("Check(bob) locked")
			}
			if _, locked := tr.Check(policy(nil), stranger, "alice", tr.epoch.Add(time.Minute)); locked {
				t.Errorf("Check(alice) locked under a policy without per_user")
			}
		})
	}
}

func TestDetections(t *testing.T) {
	type step struct {
		at     time.Duration
		client int
		user   string
		want   string // pattern raised, or ""
	}
	tests := []struct {
		name  string
		edit  func(*Policy)
		steps []step
	}{
		{
			name: "brute_force once per window, again after",
			edit: func(p *Policy) { p.BruteForce = 3 },
			steps: []step{
				{0, 1, "alice", ""},
				{time.Second, 1, "alice", ""},
				{2 * time.Second, 1, "alice", PatternBruteForce},
				{30 * time.Second, 1, "alice", ""},
				{61 * time.Second, 1, "alice", ""},
				{62 * time.Second, 1, "alice", PatternBruteForce},
			},
		},
		{
			name: "spray once per window, again after",
			edit: func(p *Policy) { p.Spray = 3 },
			steps: []step{
				{0, 1, "u1", ""},
				{time.Second, 1, "u1", ""},
				{2 * time.Second, 1, "u2", ""},
				{3 * time.Second, 2, "u4", ""},
				{4 * time.Second, 1, "u3", PatternSpray},
				{5 * time.Second, 1, "u4", ""},
				{70 * time.Second, 1, "u5", ""},
				{71 * time.Second, 1, "u6", ""},
				{72 * time.Second, 1, "u7", PatternSpray},
			},
		},
		{
			name: "a username failing again stays recent",
			edit: func(p *Policy) { p.Spray = 3 },
			steps: []step{
				{0, 1, "u1", ""},
				{50 * time.Second, 1, "u2", ""},
				{55 * time.Second, 1, "u1", ""},
				{70 * time.Second, 1, "u3", PatternSpray},
			},
		},
		{
			name: "distributed once per window, again after",
			edit: func(p *Policy) { p.Distributed = 3 },
			steps: []step{
				{0, 1, "alice", ""},
				{time.Second, 2, "alice", ""},
				{2 * time.Second, 2, "alice", ""},
				{3 * time.Second, 3, "bob", ""},
				{4 * time.Second, 3, "alice", PatternDistributed},
				{5 * time.Second, 4, "alice", ""},
				{70 * time.Second, 5, "alice", ""},
				{71 * time.Second, 6, "alice", ""},
				{72 * time.Second, 7, "alice", PatternDistributed},
			},
		},
		{
			name: "zero disables",
			edit: func(p *Policy) { p.BruteForce, p.Spray, p.Distributed = 0, 0, 0 },
			steps: []step{
				{0, 1, "u1", ""},
				{0, 1, "u2", ""},
				{0, 2, "u2", ""},
				{0, 3, "u2", ""},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Lockout off and every detection out of reach but the
			// one under test.
			p := policy(func(p *Policy) {
				p.Failures = 0
				p.BruteForce, p.Spray, p.Distributed = 1000, 1000, 1000
				p.DetectWindow = time.Minute
				tt.edit(p)
			})
			tr := NewTracker(100)
			for i, s := range tt.steps {
				f := tr.Failure(p, nthClient(s.client), s.user, uint64(i), tr.epoch.Add(s.at))
				got := ""
				if len(f.Detections) > 1 {
					t.Errorf("step %d: %d detections, want at most 1", i, len(f.Detections))
				}
				if len(f.Detections) == 1 {
					got = f.Detections[0].Pattern
				}
				if got != s.want {
					t.Errorf("step %d: detection %q, want %q", i, got, s.want)
				}
			}
		})
	}
}

func TestDetectionNamesItsKey(t *testing.T) {
	p := policy(func(p *Policy) {
		p.Failures = 0
		p.BruteForce, p.Spray, p.Distributed = 3, 3, 3
	})
	tr := NewTracker(100)
	mapped := netip.AddrFrom16(clientA.As16())
	tr.Failure(p, mapped, "u1", 1, tr.epoch)
	tr.Failure(p, clientB, "u3", 2, tr.epoch)
	tr.Failure(p, clientC, "u3", 3, tr.epoch)
	tr.Failure(p, mapped, "u2", 4, tr.epoch)
	f := tr.Failure(p, mapped, "u3", 5, tr.epoch)

	want := []Detection{
		{Pattern: PatternBruteForce, Count: 3, Client: clientA},
		{Pattern: PatternSpray, Count: 3, Client: clientA},
		{Pattern: PatternDistributed, Count: 3, Username: "u3"},
	}
	if fmt.Sprint(f.Detections) != fmt.Sprint(want) {
		t.Errorf("Detections = %+v, want %+v", f.Detections, want)
	}
}

func TestSuccess(t *testing.T) {
	p := policy(func(p *Policy) { p.Failures = 3 })
	tr := NewTracker(10)
	now := tr.epoch
	tr.Failure(p, clientA, "alice", 1, now)
	tr.Failure(p, clientA, "alice", 2, now)
	tr.Failure(p, clientB, "alice", 3, now)
	tr.Failure(p, clientB, "bob", 4, now)

	tests := []struct {
		name string
		user string
		want int
	}{
		{"failures of alice from every client", "alice", 3},
		{"cleared by the success", "alice", 0},
		{"another user", "bob", 1},
		{"unknown user", "carol", 0},
		{"empty username", "", 0},
	}
	for _, tt := range tests {
		if got := tr.Success(p, clientA, tt.user, now); got != tt.want {
			t.Errorf("%s: Success() = %d, want %d", tt.name, got, tt.want)
		}
	}

	// The success left clientA's own count alone: one more locks it.
	f := tr.Failure(p, clientA, "alice", 5, now)
	if len(f.Locks) != 1 {
		t.Errorf("third failure of clientA after a success: Locks = %+v, want one", f.Locks)
	}
}

func TestSuccessKeepsTheLockStreak(t *testing.T) {
	p := policy(func(p *Policy) {
		p.Failures = 2
		p.Duration = time.Minute
	})
	tr := NewTracker(10)
	first := lockAgain(t, tr, p, clientA, tr.epoch)
	tr.Success(p, clientA, "alice", first.Until)
	second := lockAgain(t, tr, p, clientA, first.Until.Add(time.Second))
	if second.Duration != 2*time.Minute || second.Repeat != 2 {
		t.Errorf("lock after a success: %v, repeat %d; want %v, 2",
			second.Duration, second.Repeat, 2*time.Minute)
	}
}

func TestMappedAddressIsTheSameClient(t *testing.T) {
	p := policy(func(p *Policy) { p.Failures = 2 })
	mapped := netip.MustParseAddr("::ffff:192.0.2.1")
	tr := NewTracker(10)
	tr.Failure(p, clientA, "alice", 1, tr.epoch)
	f := tr.Failure(p, mapped, "alice", 2, tr.epoch)
	if f.Count != 2 || len(f.Locks) != 1 {
		t.Fatalf("Failure() from the mapped form = count %d, %d locks; want 2, 1", f.Count, len(f.Locks))
	}
	if f.Locks[0].Client != clientA {
		t.Errorf("Lock.Client = %v, want %v", f.Locks[0].Client, clientA)
	}
	for _, c := range []netip.Addr{clientA, mapped} {
		if _, locked := tr.Check(p, c, "", tr.epoch); !locked {
			t.Errorf("Check(%v) = unlocked, want locked", c)
		}
	}
	if got := tr.Failures(p, mapped, tr.epoch); got != 2 {
		t.Errorf("Failures(%v) = %d, want 2", mapped, got)
	}
}

// TestLockoutOff shows that Failures 0 neither locks nor honours a lock
// started under an earlier configuration.
func TestLockoutOff(t *testing.T) {
	on := policy(func(p *Policy) { p.Failures = 2 })
	off := policy(func(p *Policy) { p.Failures = 0 })
	tr := NewTracker(10)
	for i := range 5 {
		if f := tr.Failure(off, clientA, "alice", uint64(i), tr.epoch); len(f.Locks) != 0 {
			t.Fatalf("failure %d with lockout off: Locks = %+v", i+1, f.Locks)
		}
	}
	lockAgain(t, tr, on, clientB, tr.epoch)
	if _, locked := tr.Check(off, clientB, "", tr.epoch); locked {
		t.Errorf("Check() with lockout off = locked, want unlocked")
	}
}

func TestEvictsLeastRecentlySeen(t *testing.T) {
	p := policy(nil)
	tr := NewTracker(3)
	for i, c := range []int{1, 2, 3, 1, 4} {
		tr.Failure(p, nthClient(c), "alice", uint64(i), tr.epoch.Add(time.Duration(i)*time.Second))
	}
	now := tr.epoch.Add(5 * time.Second)
	want := map[int]int{1: 2, 2: 0, 3: 1, 4: 1}
	for c, n := range want {
		if got := tr.Failures(p, nthClient(c), now); got != n {
			t.Errorf("Failures(client %d) = %d, want %d", c, got, n)
		}
	}
	if got := tr.Stats(now).Clients; got != 3 {
		t.Errorf("Stats().Clients = %d, want 3", got)
	}
}

func TestUsernamesAreBounded(t *testing.T) {
	p := policy(nil)
	tr := NewTracker(3)
	for i := range 10 {
		tr.Failure(p, clientA, fmt.Sprint("user", i), uint64(i), tr.epoch)
	}
	if got := tr.Stats(tr.epoch).Users; got != 3 {
		t.Errorf("Stats().Users = %d, want 3", got)
	}
	if got := tr.Success(p, clientA, "user9", tr.epoch); got != 1 {
		t.Errorf("Success(latest user) = %d, want 1", got)
	}
	if got := tr.Success(p, clientA, "user0", tr.epoch); got != 0 {
		t.Errorf("Success(evicted user) = %d, want 0", got)
	}
}

func TestLockedClientsAreEvictedLast(t *testing.T) {
	p := policy(func(p *Policy) { p.Failures = 2 })
	present := func(tr *Tracker, c netip.Addr) bool { return tr.clients.get(c.As16()) != nil }

	tr := NewTracker(2)
	locked := lockAgain(t, tr, p, nthClient(1), tr.epoch)
	for c := 2; c <= 5; c++ {
		tr.Failure(p, nthClient(c), "alice", uint64(c), tr.epoch.Add(time.Duration(c)*time.Second))
	}
	_, stillLocked := tr.Check(p, nthClient(1), "", tr.epoch.Add(time.Minute))
	if !stillLocked || !present(tr, nthClient(1)) {
		t.Errorf("the locked client was evicted while unlocked ones remained")
	}
	if !present(tr, nthClient(5)) || present(tr, nthClient(4)) {
		t.Errorf("the unlocked clients were not evicted least recently seen first")
	}

	// Once its lock is over the quiet client goes first.
	tr.Failure(p, nthClient(6), "alice", 6, locked.Until)
	if present(tr, nthClient(1)) || !present(tr, nthClient(5)) {
		t.Errorf("after its lock, the quiet client was kept over a recent one")
	}

	// When every entry is locked, the earliest lock goes.
	p.Failures = 1
	tr = NewTracker(2)
	for c := 1; c <= 3; c++ {
		tr.Failure(p, nthClient(c), "alice", uint64(c), tr.epoch.Add(time.Duration(c)*time.Second))
	}
	if present(tr, nthClient(1)) || !present(tr, nthClient(2)) || !present(tr, nthClient(3)) {
		t.Errorf("with every client locked, the earliest lock was not the one evicted")
	}
	if got := tr.Stats(tr.epoch.Add(5 * time.Second)).LockedClients; got != 2 {
		t.Errorf("Stats().LockedClients = %d, want 2", got)
	}
}

func TestSetMaxClients(t *testing.T) {
	p := policy(nil)
	tr := NewTracker(10)
	for c := 1; c <= 5; c++ {
		at := tr.epoch.Add(time.Duration(c) * time.Second)
		tr.Failure(p, nthClient(c), fmt.Sprint("user", c), uint64(c), at)
	}
	tr.SetMaxClients(2)
	now := tr.epoch.Add(time.Minute)
	s := tr.Stats(now)
	if s.Clients != 2 || s.Users != 2 {
		t.Errorf("after shrinking to 2, Stats() = %+v, want 2 clients and 2 users", s)
	}
	for c := 1; c <= 5; c++ {
		want := 0
		if c >= 4 {
			want = 1
		}
		if got := tr.Failures(p, nthClient(c), now); got != want {
			t.Errorf("Failures(client %d) = %d, want %d", c, got, want)
		}
	}

	tr.SetMaxClients(0)
	if got := tr.clients.max; got != DefaultMaxClients {
		t.Errorf("SetMaxClients(0): bound %d, want %d", got, DefaultMaxClients)
	}
}

func TestStatsBytesGrowWithSets(t *testing.T) {
	p := policy(nil)
	tr := NewTracker(10)
	tr.Failure(p, clientA, "alice", 1, tr.epoch)
	one := tr.Stats(tr.epoch).Bytes
	for i := range 5 {
		tr.Failure(p, clientA, fmt.Sprint("user", i), uint64(i+2), tr.epoch)
	}
	if more := tr.Stats(tr.epoch).Bytes; more <= one {
		t.Errorf("Stats().Bytes = %d after more usernames, want more than %d", more, one)
	}
	tr.SetMaxClients(1)
	tr.SetMaxClients(10)
	if got := tr.Stats(tr.epoch); got.Clients != 1 || got.Bytes <= 0 {
		t.Errorf("Stats() = %+v, want one client and a positive size", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	p := policy(func(p *Policy) {
		p.Failures = 5
		p.PerUser = 20
		p.Duration = time.Millisecond
	})
	tr := NewTracker(64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				client := nthClient((g*7 + i) % 100)
				user := fmt.Sprint("user", i%13)
				now := time.Now()
				if _, locked := tr.Check(p, client, user, now); locked {
					tr.Failures(p, client, now)
					continue
				}
				if i%5 == 0 {
					tr.Success(p, client, user, now)
					continue
				}
				tr.Failure(p, client, user, uint64(i), now)
				if i%500 == 0 {
					tr.Stats(now)
					tr.SetMaxClients(64)
				}
			}
		})
	}
	wg.Wait()
	if s := tr.Stats(time.Now()); s.Clients > 64 || s.Users > 64 {
		t.Errorf("Stats() = %+v, want at most 64 clients and users", s)
	}
}
