package basicaudit_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// exampleCaddyfile returns examples/Caddyfile with free ports, and the
// site's URL.
func exampleCaddyfile(t *testing.T) (string, string) {
	t.Helper()
	raw, err := os.ReadFile("examples/Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	site := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	text := strings.ReplaceAll(string(raw), "127.0.0.1:8080", site)
	text = strings.ReplaceAll(text, "localhost:2019", "localhost:{ADMIN}")
	if text == string(raw) {
		t.Fatal("examples/Caddyfile no longer holds the addresses this test replaces")
	}
	return text, "http://" + site + "/"
}

func TestE2EExample(t *testing.T) {
	text, url := exampleCaddyfile(t)
	wd, _ := os.Getwd()
	p := startCaddy(t, wd, text, url)

	resp, _ := get(t, url, nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without credentials: status %d, want 401", resp.StatusCode)
	}
	wantChallenge := `Basic realm="caddy-basicaudit demo", charset="UTF-8"`
	if got := resp.Header.Get("WWW-Authenticate"); got != wantChallenge {
		t.Errorf("challenge = %q, want %q", got, wantChallenge)
	}

	resp, body := get(t, url, basicHeader("alice", "correct-horse-battery-staple"))
	if resp.StatusCode != http.StatusOK || body != "Hello, alice!\n" {
		t.Fatalf("alice with the demo password: %d %q, want 200 greeting", resp.StatusCode, body)
	}
	resp, _ = get(t, url, basicHeader("alice", "wrong"))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("alice with a wrong password: status %d, want 401", resp.StatusCode)
	}
	if resp.Header.Get("WWW-Authenticate") != wantChallenge {
		t.Errorf("failure without the challenge header")
	}
	resp, _ = get(t, url, basicHeader("mallory", "guess"))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown user: status %d, want 401", resp.StatusCode)
	}

	var events []map[string]any
	waitFor(t, 5*time.Second, "four audit events", func() bool {
		events = jsonLines(t, p.stdout.String(), auditLogger)
		return len(events) >= 4
	})
	if len(events) != 4 {
		t.Fatalf("got %d audit events, want 4:\n%s", len(events), p.stdout)
	}
	// The default log leaves the audit events out.
	if n := len(jsonLines(t, p.stderr.String(), auditLogger)); n != 0 {
		t.Errorf("default log holds %d audit events, want 0", n)
	}

	common := []string{"client_ip", "remote_ip", "method", "host", "path", "proto", "user_agent",
		"tls", "status", "request_id", "realm"}
	tests := []struct {
		msg    string
		fields map[string]any
		absent []string
		more   []string
	}{
		{
			msg: "credentials requested",
			fields: map[string]any{"level": "info", "event": "authn_challenge", "outcome": "challenge",
				"status": 401.0, "tls": false, "client_ip": "127.0.0.1", "path": "/", "method": "GET", "realm": "caddy-basicaudit demo"},
			absent: []string{"reason", "attempted_user", "user_id", "cache_hit"},
		},
		{
			msg: "authentication succeeded",
			fields: map[string]any{"level": "info", "event": "authn_login_success", "outcome": "success",
				"user_id": "alice", "status": 200.0, "cache_hit": false},
			absent: []string{"reason", "attempted_user"},
			more:   []string{"verify_duration"},
		},
		{
			msg: "authentication failed",
			fields: map[string]any{"level": "warn", "event": "authn_login_fail", "outcome": "failure",
				"reason": "wrong_password", "attempted_user": "alice", "user_known": true, "status": 401.0, "cache_hit": false},
			absent: []string{"user_id", "attempted_user_hash"},
			more:   []string{"verify_duration"},
		},
		{
			msg: "authentication failed",
			fields: map[string]any{"level": "warn", "event": "authn_login_fail", "outcome": "failure",
				"reason": "unknown_user", "user_known": false},
			absent: []string{"user_id", "attempted_user"},
			more:   []string{"attempted_user_hash", "verify_duration"},
		},
	}
	for i, tt := range tests {
		ev := events[i]
		if ev["msg"] != tt.msg {
			t.Errorf("event %d: msg %v, want %q", i, ev["msg"], tt.msg)
		}
		for k, want := range tt.fields {
			if ev[k] != want {
				t.Errorf("event %d (%s): %s = %#v, want %#v", i, tt.msg, k, ev[k], want)
			}
		}
		for _, k := range append(common, tt.more...) {
			if _, ok := ev[k]; !ok {
				t.Errorf("event %d (%s): field %s missing", i, tt.msg, k)
			}
		}
		for _, k := range tt.absent {
			if _, ok := ev[k]; ok {
				t.Errorf("event %d (%s): field %s present, want absent", i, tt.msg, k)
			}
		}
		if id, _ := ev["request_id"].(string); len(id) != 36 {
			t.Errorf("event %d: request_id %q is not a UUID", i, id)
		}
	}

	// The access log carries the decision and the same request id.
	access := jsonLines(t, p.stderr.String(), "http.log.access")
	if len(access) != 4 {
		t.Fatalf("got %d access log lines, want 4:\n%s", len(access), p.stderr)
	}
	for i, line := range access {
		if line["auth_outcome"] != events[i]["outcome"] || line["uuid"] != events[i]["request_id"] {
			t.Errorf("access line %d: auth_outcome %v uuid %v, want %v %v",
				i, line["auth_outcome"], line["uuid"], events[i]["outcome"], events[i]["request_id"])
		}
	}
	if access[1]["user_id"] != "alice" || access[2]["auth_reason"] != "wrong_password" ||
		access[2]["attempted_user"] != "alice" {
		t.Errorf("access log lacks user_id, auth_reason or attempted_user: %v / %v", access[1], access[2])
	}
	if access[3]["attempted_user_hash"] != events[3]["attempted_user_hash"] ||
		access[3]["attempted_user"] != nil {
		t.Errorf("access log of the unknown user: %v, want only its keyed hash", access[3])
	}
}

func TestE2EDropInExample(t *testing.T) {
	raw, err := os.ReadFile("examples/dropin.Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	site := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	text := strings.ReplaceAll(string(raw), "127.0.0.1:8081", site)
	text = strings.ReplaceAll(text, "localhost:2019", "localhost:{ADMIN}")
	url := "http://" + site
	startCaddy(t, t.TempDir(), text, url+"/")

	if resp, _ := get(t, url+"/public", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("outside the matcher: status %d, want 200", resp.StatusCode)
	}
	resp, _ := get(t, url+"/secret/x", nil)
	if resp.StatusCode != http.StatusUnauthorized ||
		resp.Header.Get("WWW-Authenticate") != `Basic realm="Secret area", charset="UTF-8"` {
		t.Errorf("inside the matcher: %d %q, want 401 with the realm", resp.StatusCode,
			resp.Header.Get("WWW-Authenticate"))
	}
	resp, body := get(t, url+"/secret/x", basicHeader("Bob", "hiccup"))
	if resp.StatusCode != http.StatusOK || body != "Welcome, Bob" {
		t.Errorf("Bob: %d %q, want 200 welcome", resp.StatusCode, body)
	}
}

func TestE2EHandleErrors(t *testing.T) {
	hash := testHash(t, "s3cret-pass")
	site := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	text := fmt.Sprintf(`{
	admin localhost:{ADMIN}
}
http://%s {
	audited_basic_auth {
		carol %s
	}
	respond "in"
	handle_errors 401 {
		respond "custom {http.error.status_code} {http.auth.outcome} {http.auth.reason}"
	}
}
`, site, hash)
	url := "http://" + site + "/"
	startCaddy(t, t.TempDir(), text, url)

	tests := []struct {
		header http.Header
		body   string
	}{
		{nil, "custom 401 challenge "},
		{basicHeader("carol", "nope"), "custom 401 failure wrong_password"},
		{http.Header{"Authorization": {"Bearer abc"}}, "custom 401 failure unsupported_scheme"},
	}
	for _, tt := range tests {
		resp, body := get(t, url, tt.header)
		if resp.StatusCode != http.StatusUnauthorized || body != tt.body {
			t.Errorf("%v: %d %q, want 401 %q", tt.header, resp.StatusCode, body, tt.body)
		}
		if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `Basic realm="restricted"`) {
			t.Errorf("%v: challenge %q lost under handle_errors", tt.header, resp.Header.Get("WWW-Authenticate"))
		}
	}
	if resp, body := get(t, url, basicHeader("carol", "s3cret-pass")); resp.StatusCode != 200 || body != "in" {
		t.Errorf("carol: %d %q, want 200 in", resp.StatusCode, body)
	}
}

func TestE2EUsersFileEdit(t *testing.T) {
	dir := t.TempDir()
	users := filepath.Join(dir, "users.htpasswd")
	line := func(user, password string) string {
		h := testHash(t, password)
		return user + ":" + h + "\n"
	}
	write := func(content string) {
		// Write beside and rename, as editors and deploy tools do.
		tmp := users + ".tmp"
		if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, users); err != nil {
			t.Fatal(err)
		}
	}
	write(line("dan", "dan-password"))

	site := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	text := fmt.Sprintf(`{
	admin localhost:{ADMIN}
}
http://%s {
	audited_basic_auth {
		users_file users.htpasswd
	}
	respond "in"
}
`, site)
	url := "http://" + site + "/"
	p := startCaddy(t, dir, text, url)

	status := func(user, password string) int {
		resp, _ := get(t, url, basicHeader(user, password))
		return resp.StatusCode
	}
	if got := status("dan", "dan-password"); got != 200 {
		t.Fatalf("dan before the edit: %d, want 200", got)
	}
	if got := status("eve", "eve-password"); got != 401 {
		t.Fatalf("eve before the edit: %d, want 401", got)
	}

	// Eve is added and dan's password changes, without a reload; dan's
	// cached success must not outlive the change.
	write(line("dan", "new-dan-password") + line("eve", "eve-password"))
	waitFor(t, 10*time.Second, "eve to get in", func() bool { return status("eve", "eve-password") == 200 })
	if got := status("dan", "dan-password"); got != 401 {
		t.Errorf("dan's old password after the change: %d, want 401", got)
	}
	if got := status("dan", "new-dan-password"); got != 200 {
		t.Errorf("dan's new password: %d, want 200", got)
	}

	// A broken file keeps the previous users and says why.
	write("eve-without-a-hash\n")
	waitFor(t, 10*time.Second, "the error about the broken file", func() bool {
		return strings.Contains(p.stderr.String(), "keeping the previous accounts")
	})
	if got := status("eve", "eve-password"); got != 200 {
		t.Errorf("eve after the file broke: %d, want 200", got)
	}
	if !strings.Contains(p.stderr.String(), "line 1") {
		t.Errorf("the error does not name the line:\n%s", p.stderr)
	}

	// Removing eve locks her out at once, cached success included.
	write(line("dan", "new-dan-password"))
	waitFor(t, 10*time.Second, "eve to be refused", func() bool { return status("eve", "eve-password") == 401 })
}
