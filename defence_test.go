package basicaudit

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap/zaptest/observer"
)

func noContent(w http.ResponseWriter, r *http.Request) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// events returns the audit events named event.
func events(logs *observer.ObservedLogs, event string) []map[string]any {
	var out []map[string]any
	for _, e := range auditEntries(logs) {
		if f := e.ContextMap(); f["event"] == event {
			out = append(out, f)
		}
	}
	return out
}

func TestLockoutBlocksWithoutVerifying(t *testing.T) {
	a := twoUsers()
	a.Lockout = &LockoutConfig{Failures: 3}
	a, logs := newHandler(t, a)

	for _, pw := range []string{"guess-1", "guess-2", "guess-3"} {
		if res := serveFrom(t, a, request(basic("alice", pw)), "192.0.2.10", noContent); res.status != 401 {
			t.Fatalf("failure with %s: status %d, want 401", pw, res.status)
		}
	}
	res := serveFrom(t, a, request(basic("alice", alicePassword)), "192.0.2.10", noContent)
	if res.status != http.StatusTooManyRequests || res.nextCalls != 0 {
		t.Fatalf("right password while locked: status %d, next calls %d; want 429 and none", res.status,
			res.nextCalls)
	}
	if got := res.rec.Header().Get("Retry-After"); got != "600" {
		t.Errorf("Retry-After = %q, want 600 (the default 10m lock)", got)
	}
	if res := serveFrom(t, a, request(basic("alice", alicePassword)), "192.0.2.11",
		noContent); res.status != 204 {
		t.Errorf("another client: status %d, want 204", res.status)
	}

	blocked := events(logs, "authn_login_blocked")
	if len(blocked) != 1 {
		t.Fatalf("got %d blocked events, want 1", len(blocked))
	}
	if b := blocked[0]; b["reason"] != "locked_out" || b["status"] != 429 || b["failures"] != 3 ||
		b["attempted_user"] != "alice" {
		t.Errorf("blocked event = %v", b)
	}
	if _, ok := blocked[0]["verify_duration"]; ok {
		t.Errorf("blocked event carries verify_duration: %v", blocked[0])
	}
	// The lock's event follows the failure that started it.
	var order []string
	for _, e := range auditEntries(logs) {
		order = append(order, e.ContextMap()["event"].(string))
	}
	if len(order) < 4 || order[2] != "authn_login_fail" || order[3] != "authn_login_lock" {
		t.Errorf("events in order %v, want the third failure then the lock", order)
	}
	locks := events(logs, "authn_login_lock")
	if len(locks) != 1 || locks[0]["client_ip"] != "192.0.2.10" || locks[0]["duration"] != 600.0 ||
		locks[0]["lock"] != "client" {
		t.Errorf("lock events = %v, want one for 192.0.2.10 of 600s", locks)
	}
}

func TestLockoutCountsDistinctFailuresOnly(t *testing.T) {
	a := twoUsers()
	a.Lockout = &LockoutConfig{Failures: 3}
	a, logs := newHandler(t, a)

	// Challenges are no failures; repeats of one wrong password count
	// once, as a browser resending a stale password would.
	for range 5 {
		serve(t, a, request())
		serve(t, a, request(basic("alice", "stale")))
	}
	if res := serve(t, a, request(basic("alice", alicePassword))); res.status != 204 {
		t.Fatalf("after challenges and repeats: status %d, want 204", res.status)
	}
	fails := events(logs, "authn_login_fail")
	if len(fails) != 5 || fails[4]["failures"] != 1 {
		t.Errorf("failure events = %d, last failures field %v; want 5 and 1", len(fails),
			fails[len(fails)-1]["failures"])
	}
	if got := len(events(logs, "authn_login_successafterfail")); got != 1 {
		t.Errorf("got %d successafterfail events, want 1", got)
	}
}

func TestLockoutOffAndTrustedNetworks(t *testing.T) {
	tests := []struct {
		name    string
		lockout *LockoutConfig
		client  string
		want    int
	}{
		{"default locks at 20", nil, "192.0.2.10", 429},
		{"off", &LockoutConfig{Off: true}, "192.0.2.10", 204},
		{"trusted network", &LockoutConfig{TrustedNetworks: []string{"192.0.2.0/24"}}, "192.0.2.10", 204},
		{"untrusted beside a trusted network",
			&LockoutConfig{TrustedNetworks: []string{"198.51.100.0/24"}}, "192.0.2.10", 429},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := twoUsers()
			a.Lockout = tt.lockout
			a, _ = newHandler(t, a)
			for i := range 20 {
				serveFrom(t, a, request(basic("bob", "guess-"+string(rune('a'+i)))), tt.client, noContent)
			}
			if res := serveFrom(t, a, request(basic("bob", bobPassword)), tt.client,
				noContent); res.status != tt.want {
				t.Errorf("after 20 failures: status %d, want %d", res.status, tt.want)
			}
		})
	}
}

func TestDetectionOncePerWindow(t *testing.T) {
	a := twoUsers()
	a.Lockout = &LockoutConfig{Off: true}
	a.Detect = &DetectConfig{BruteForce: 3, Spray: 2, Distributed: 2}
	a, logs := newHandler(t, a)

	for i := range 6 {
		serveFrom(t, a, request(basic("alice", "guess-"+string(rune('a'+i)))), "192.0.2.10", noContent)
	}
	serveFrom(t, a, request(basic("mallory", "x")), "192.0.2.10", noContent)
	serveFrom(t, a, request(basic("alice", "other")), "192.0.2.20", noContent)

	got := map[string]int{}
	for _, e := range events(logs, "authn_login_fail_max") {
		got[e["pattern"].(string)]++
		if e["pattern"] == "distributed" && e["attempted_user"] != "alice" {
			t.Errorf("distributed detection names %v, want alice", e["attempted_user"])
		}
	}
	want := map[string]int{"brute_force": 1, "spray": 1, "distributed": 1}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s detections = %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
}

func TestOverloaded(t *testing.T) {
	a := twoUsers()
	a.Verify = &VerifyConfig{MaxConcurrent: 1, QueueTimeout: caddy.Duration(50 * time.Millisecond)}
	a, logs := newHandler(t, a)

	// Log alice in, then take the only verification slot.
	if res := serve(t, a, request(basic("alice", alicePassword))); res.status != 204 {
		t.Fatalf("login: status %d", res.status)
	}
	slots := a.defence.capacity.Load().slots
	slots <- struct{}{}
	defer func() { <-slots }()

	res := serve(t, a, request(basic("bob", bobPassword)))
	if res.status != http.StatusServiceUnavailable || res.rec.Header().Get("Retry-After") != "1" {
		t.Errorf("verification without capacity: %d Retry-After %q, want 503 and 1", res.status,
			res.rec.Header().Get("Retry-After"))
	}
	if ev := events(logs, "authn_login_blocked"); len(ev) != 1 || ev[0]["reason"] != "overloaded" ||
		ev[0]["status"] != 503 {
		t.Errorf("blocked events = %v, want one overloaded 503", ev)
	}

	// A cached success never waits for a slot.
	start := time.Now()
	if res := serve(t, a, request(basic("alice", alicePassword))); res.status != 204 {
		t.Errorf("cached login without capacity: status %d, want 204", res.status)
	}
	if time.Since(start) >= 50*time.Millisecond {
		t.Errorf("cached login waited for the queue timeout")
	}
}

func TestLockSurvivesReprovisioning(t *testing.T) {
	first := twoUsers()
	first.Lockout = &LockoutConfig{Failures: 2}
	first, _ = newHandler(t, first)
	serve(t, first, request(basic("alice", "guess-1")))
	serve(t, first, request(basic("alice", "guess-2")))

	// A reload provisions the new handler before cleaning up the old.
	second := twoUsers()
	second.Lockout = &LockoutConfig{Failures: 2}
	second, _ = newHandler(t, second)
	_ = first.Cleanup()
	if res := serve(t, second, request(basic("alice", alicePassword))); res.status != 429 {
		t.Errorf("after reprovisioning: status %d, want 429", res.status)
	}
}

func TestRequireTLS(t *testing.T) {
	tests := []struct {
		name       string
		mode       string
		remote     string
		tls        bool
		trusted    bool
		forwarded  string
		wantStatus int
		wantTLS    bool
	}{
		{"plaintext refused", "on", "192.0.2.10:5000", false, false, "", 403, false},
		{"TLS served", "on", "192.0.2.10:5000", true, false, "", 204, true},
		{"loopback exempt", "on", "127.0.0.1:5000", false, false, "", 204, false},
		{"IPv6 loopback exempt", "on", "[::1]:5000", false, false, "", 204, false},
		{"strict refuses loopback", "strict", "127.0.0.1:5000", false, false, "", 403, false},
		{"trusted proxy says https", "strict", "192.0.2.1:5000", false, true, "https", 204, true},
		{"trusted proxy says http", "on", "192.0.2.1:5000", false, true, "http", 403, false},
		{"untrusted peer says https", "on", "192.0.2.10:5000", false, false, "https", 403, false},
		{"off", "", "192.0.2.10:5000", false, false, "", 204, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := twoUsers()
			a.RequireTLS = tt.mode
			a, logs := newHandler(t, a)

			r := request(basic("alice", alicePassword))
			r.RemoteAddr = tt.remote
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tt.forwarded != "" {
				r.Header.Set("X-Forwarded-Proto", tt.forwarded)
			}
			extra := new(caddyhttp.ExtraLogFields)
			ctx := context.WithValue(r.Context(), caddyhttp.ExtraLogFieldsCtxKey, extra)
			ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{
				caddyhttp.ClientIPVarKey:     "192.0.2.10",
				caddyhttp.TrustedProxyVarKey: tt.trusted,
			})
			r = r.WithContext(ctx)
			caddyhttp.NewTestReplacer(r)
			rec := httptest.NewRecorder()
			err := a.ServeHTTP(rec, r, caddyhttp.HandlerFunc(noContent))

			status := rec.Code
			var herr caddyhttp.HandlerError
			if errors.As(err, &herr) {
				status = herr.StatusCode
			}
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d", status, tt.wantStatus)
			}
			f := onlyEvent(t, logs).ContextMap()
			if f["tls"] != tt.wantTLS {
				t.Errorf("tls field = %v, want %v", f["tls"], tt.wantTLS)
			}
			if tt.wantStatus == 403 {
				if got := rec.Header().Get("WWW-Authenticate"); got != "" {
					t.Errorf("a refused plaintext request got a challenge: %q", got)
				}
				if f["outcome"] != "blocked" || f["reason"] != "cleartext_rejected" ||
					f["event"] != "authn_login_blocked" {
					t.Errorf("event = %v", f)
				}
			}
		})
	}
}

// TestSuccessAfterFailWhenCached: a success served from the cache still
// reports the failures that other clients made on the account since.
func TestSuccessAfterFailWhenCached(t *testing.T) {
	a, logs := newHandler(t, twoUsers())
	serveFrom(t, a, request(basic("alice", alicePassword)), "192.0.2.10", noContent)
	serveFrom(t, a, request(basic("alice", "guess")), "198.51.100.7", noContent)
	res := serveFrom(t, a, request(basic("alice", alicePassword)), "192.0.2.10", noContent)
	if res.status != 204 {
		t.Fatalf("status %d", res.status)
	}
	after := events(logs, "authn_login_successafterfail")
	if len(after) != 1 || after[0]["cache_hit"] != true {
		t.Errorf("successafterfail events = %v, want one, from the cache", after)
	}
}

// TestCleartextRefusalCountsFailures: a blocked event's failures field
// holds the client's recent failures whatever blocked it (SPEC: Audit
// events), the refusal of a plaintext request included.
func TestCleartextRefusalCountsFailures(t *testing.T) {
	a := twoUsers()
	a.RequireTLS = "on"
	a, logs := newHandler(t, a)
	for _, pw := range []string{"guess-1", "guess-2"} {
		r := request(basic("alice", pw))
		r.TLS = &tls.ConnectionState{}
		serve(t, a, r)
	}
	if res := serve(t, a, request(basic("alice", alicePassword))); res.status != 403 {
		t.Fatalf("plaintext request: status %d, want 403", res.status)
	}
	blocked := events(logs, "authn_login_blocked")
	if len(blocked) != 1 || blocked[0]["failures"] != 2 {
		t.Errorf("blocked events = %v, want one with failures 2", blocked)
	}
}
