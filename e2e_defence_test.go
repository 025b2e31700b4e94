package basicaudit_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// clientFrom returns an HTTP client whose connections come from the
// given loopback address, to play distinct clients and a proxy.
func clientFrom(ip string) *http.Client {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
		DisableKeepAlives: true,
	}}
}

// do sends one request through c and returns its response.
func do(t *testing.T, c *http.Client, url string, header http.Header) *http.Response {
	t.Helper()
	resp, _ := getWith(t, c, url, header)
	return resp
}

func withHeader(h http.Header, k, v string) http.Header {
	h = h.Clone()
	h.Set(k, v)
	return h
}

const defenceCaddyfile = `{
	admin localhost:{ADMIN}
	servers {
		trusted_proxies static 127.0.0.2/32
	}
	log default {
		output stderr
		exclude http.handlers.audited_basic_auth.audit
	}
	log audit {
		output stdout
		format json
		include http.handlers.audited_basic_auth.audit
	}
}
http://%s {
	audited_basic_auth {
		dana %s
		lockout {
			failures 3
			duration 4s
		}
	}
	respond "%s"
}
`

// TestE2ELockout locks a client out through a real caddy: the lock
// counts down, refuses even the right password, spares other clients,
// survives a config reload, and follows Caddy's client IP, so that a
// spoofed X-Forwarded-For counts only from a trusted proxy.
func TestE2ELockout(t *testing.T) {
	const password = "dana-pass-9"
	hash := testHash(t, password)
	site := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	url := "http://" + site + "/"
	p := startCaddy(t, t.TempDir(), fmt.Sprintf(defenceCaddyfile, site, hash, "first"), url)

	attacker, other, proxy := clientFrom("127.0.0.1"), clientFrom("127.0.0.3"), clientFrom("127.0.0.2")
	good := basicHeader("dana", password)

	for i := 1; i <= 3; i++ {
		if resp := do(t, attacker, url, basicHeader("dana", fmt.Sprintf("guess-%d", i))); resp.StatusCode != 401 {
			t.Fatalf("failure %d: status %d, want 401", i, resp.StatusCode)
		}
	}
	// A repeat of the same wrong password would not have counted; the
	// three distinct ones lock the client.
	resp := do(t, attacker, url, good)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("right password while locked: status %d, want 429", resp.StatusCode)
	}
	first, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || first < 1 || first > 4 {
		t.Fatalf("Retry-After %q, want 1..4 seconds", resp.Header.Get("Retry-After"))
	}
	if resp := do(t, other, url, good); resp.StatusCode != 200 {
		t.Errorf("another client: status %d, want 200", resp.StatusCode)
	}

	// Reload with a changed config; the lock holds.
	reload := fmt.Sprintf(defenceCaddyfile, site, hash, "second")
	reload = strings.ReplaceAll(reload, "{ADMIN}", fmt.Sprint(p.admin))
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://localhost:%d/load", p.admin),
		strings.NewReader(reload))
	req.Header.Set("Content-Type", "text/caddyfile")
	lr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(lr.Body)
	lr.Body.Close()
	if lr.StatusCode != 200 {
		t.Fatalf("reload: %d %s", lr.StatusCode, body)
	}
	if resp, body := getWith(t, other, url, good); resp.StatusCode != 200 || body != "second" {
		t.Fatalf("after reload: %d %q, want 200 from the new config", resp.StatusCode, body)
	}
	if resp := do(t, attacker, url, good); resp.StatusCode != 429 {
		t.Errorf("after reload: locked client got %d, want 429", resp.StatusCode)
	}

	// From an untrusted peer, X-Forwarded-For changes nothing.
	if resp := do(t, attacker, url, withHeader(good, "X-Forwarded-For", "10.9.9.9")); resp.StatusCode != 429 {
		t.Errorf("spoofed X-Forwarded-For from an untrusted peer: %d, want 429", resp.StatusCode)
	}
	// From the trusted proxy, it names the client: 10.1.1.1 is not
	// locked, and locking 10.2.2.2 does not lock the proxy's other
	// clients.
	if resp := do(t, proxy, url, withHeader(good, "X-Forwarded-For", "10.1.1.1")); resp.StatusCode != 200 {
		t.Errorf("client behind the trusted proxy: %d, want 200", resp.StatusCode)
	}
	for i := 1; i <= 4; i++ {
		do(t, proxy, url, withHeader(basicHeader("dana", fmt.Sprintf("proxied-%d", i)), "X-Forwarded-For",
			"10.2.2.2"))
	}
	if resp := do(t, proxy, url, withHeader(good, "X-Forwarded-For", "10.2.2.2")); resp.StatusCode != 429 {
		t.Errorf("locked client behind the proxy: %d, want 429", resp.StatusCode)
	}
	if resp := do(t, proxy, url, withHeader(good, "X-Forwarded-For", "10.1.1.1")); resp.StatusCode != 200 {
		t.Errorf("other client behind the proxy: %d, want 200", resp.StatusCode)
	}

	// The Retry-After counts down, and the lock ends.
	time.Sleep(1100 * time.Millisecond)
	resp = do(t, attacker, url, good)
	later, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	if resp.StatusCode == 429 && later >= first {
		t.Errorf("Retry-After went from %d to %d, want it to count down", first, later)
	}
	waitFor(t, 8*time.Second, "the lock to end", func() bool {
		return do(t, attacker, url, good).StatusCode == 200
	})

	// The audit trail tells the story.
	waitFor(t, 5*time.Second, "the audit events", func() bool {
		return strings.Contains(p.stdout.String(), "authn_login_successafterfail")
	})
	events := jsonLines(t, p.stdout.String(), auditLogger)
	count := map[string]int{}
	for _, ev := range events {
		count[ev["event"].(string)]++
		switch ev["event"] {
		case "authn_login_lock":
			if ev["client_ip"] != "127.0.0.1" && ev["client_ip"] != "10.2.2.2" {
				t.Errorf("lock of an unexpected client: %v", ev)
			}
		case "authn_login_blocked":
			if ev["reason"] != "locked_out" || ev["status"] != 429.0 {
				t.Errorf("blocked event: %v", ev)
			}
			if ev["client_ip"] == "10.9.9.9" {
				t.Errorf("a spoofed X-Forwarded-For became the client IP: %v", ev)
			}
		case "authn_login_success":
			if ev["client_ip"] == "10.1.1.1" && ev["remote_ip"] != "127.0.0.2" {
				t.Errorf("proxied success without the proxy as remote_ip: %v", ev)
			}
		}
	}
	if count["authn_login_lock"] != 2 {
		t.Errorf("got %d lock events, want 2 (one per locked client): %v", count["authn_login_lock"], count)
	}
	// dana's failures are followed by a success twice: the other
	// client's after the attacker's guesses, and 10.1.1.1's after
	// 10.2.2.2's. Each success clears the count.
	if count["authn_login_successafterfail"] != 2 {
		t.Errorf("got %d successafterfail events, want 2: %v", count["authn_login_successafterfail"], count)
	}

	// The metrics count it, with no address or username in any label.
	_, metrics := get(t, fmt.Sprintf("http://localhost:%d/metrics", p.admin), nil)
	for _, want := range []string{
		`caddy_audited_basic_auth_events_total{outcome="blocked",reason="locked_out"}`,
		`caddy_audited_basic_auth_locks_total{kind="client"} 2`,
		`caddy_audited_basic_auth_verify_duration_seconds_count`,
		`caddy_audited_basic_auth_locked_clients`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, leak := range []string{"127.0.0", "10.2.2.2", "dana"} {
		for _, line := range strings.Split(metrics, "\n") {
			if strings.HasPrefix(line, "caddy_audited_basic_auth") && strings.Contains(line, leak) {
				t.Errorf("metric line holds %q: %s", leak, line)
			}
		}
	}
}
