package basicaudit_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestE2ENoSecretsLogged drives every path with every logger at DEBUG and
// checks that no line of any log holds a password, a token or an
// Authorization value that was sent.
func TestE2ENoSecretsLogged(t *testing.T) {
	const password = "s3cret-Pass-831"
	hash := testHash(t, password)
	site := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	text := fmt.Sprintf(`{
	admin localhost:{ADMIN}
	debug
}
http://%s {
	log
	audited_basic_auth {
		carol %s
	}
	respond "in"
}
`, site, hash)
	base := "http://" + site
	p := startCaddy(t, t.TempDir(), text, base+"/")

	token := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	long := strings.Repeat("L0ngSecret", 8) // 80 bytes, over bcrypt's 72
	secrets := []string{
		password,
		"wrong-Pa55word-xyz",
		"Hunter2-typed-as-user", // a password typed into the username field
		"pw-of-ctrl-user-77",
		"pw-of-multi-55",
		"tok-SECRET-bearer-abc",
		long,
	}
	requests := []struct {
		path   string
		header http.Header
		want   int
	}{
		{"/", nil, 401},
		{"/?api_key=QS-SECRET-123", basicHeader("carol", password), 200},
		{"/", basicHeader("carol", password), 200},
		{"/?api_key=QS-SECRET-123", basicHeader("carol", "wrong-Pa55word-xyz"), 401},
		{"/", basicHeader("Hunter2-typed-as-user", "x"), 401},
		{"/", basicHeader("carol", long), 401},
		{"/", basicHeader("ctrl\nuser", "pw-of-ctrl-user-77"), 401},
		{"/", http.Header{"Authorization": {"Basic " + token("carol:pw-of-multi-55"), "Basic " +
			token("carol:"+password)}}, 401},
		{"/", http.Header{"Authorization": {"Basic " + token("carol:pw-of-multi-55") + ", Basic " +
			token("carol:"+password)}}, 401},
		{"/", http.Header{"Authorization": {"Bearer tok-SECRET-bearer-abc"}}, 401},
		{"/", http.Header{"Authorization": {"Basic " + token("carol-no-colon-"+password)}}, 401},
		{"/", http.Header{"Authorization": {"Basic " + strings.Repeat(token("carol:"+password), 200)}}, 401},
		{"/", http.Header{"Authorization": {"Basic !!" + password}}, 401},
	}
	for _, r := range requests {
		resp, _ := get(t, base+r.path, r.header)
		if resp.StatusCode != r.want {
			t.Errorf("%s %v: status %d, want %d", r.path, r.header, resp.StatusCode, r.want)
		}
		for _, vs := range r.header {
			for _, v := range vs {
				secrets = append(secrets, v)
				if _, tok, ok := strings.Cut(v, " "); ok && len(tok) > 8 {
					secrets = append(secrets, tok)
				}
			}
		}
	}
	waitFor(t, 5*time.Second, "all audit events", func() bool {
		return strings.Count(p.stderr.String(), `"logger":"`+auditLogger+`"`) >= len(requests)
	})
	p.stop()

	logs := p.stdout.String() + p.stderr.String()
	if !strings.Contains(logs, `"level":"debug"`) {
		t.Fatal("no DEBUG line was logged; the test would prove nothing")
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("a log holds the secret %q", s)
		}
	}
	for _, s := range []string{"Authorization\":[\"Basic", "Bearer"} {
		if strings.Contains(logs, s) {
			t.Errorf("a log holds %q", s)
		}
	}
	// The query string is the business of Caddy's access and error logs
	// (their uri field); this module's own lines never hold it.
	for _, line := range jsonLines(t, logs, "") {
		if name, _ := line["logger"].(string); !strings.HasPrefix(name, "http.handlers.audited_basic_auth") {
			continue
		}
		if raw, _ := json.Marshal(line); strings.Contains(string(raw), "QS-SECRET-123") {
			t.Errorf("a line of %v holds the query string: %s", line["logger"], raw)
		}
	}
}

// TestE2EConsoleOneLinePerRequest checks that hostile usernames cannot
// break or forge lines under the console encoder.
func TestE2EConsoleOneLinePerRequest(t *testing.T) {
	hash := testHash(t, "pw")
	site := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	text := fmt.Sprintf(`{
	admin localhost:{ADMIN}
	log default {
		output stderr
		exclude http.handlers.audited_basic_auth.audit
	}
	log audit {
		output stdout
		format console
		include http.handlers.audited_basic_auth.audit
	}
}
http://%s {
	audited_basic_auth {
		unknown_usernames raw
		carol %s
	}
	respond "in"
}
`, site, hash)
	url := "http://" + site + "/"
	p := startCaddy(t, t.TempDir(), text, url)

	hostile := []string{
		"line\nbreak",
		"cr\rreturn",
		"esc\x1b[31mred",
		"nul\x00byte",
		"sep\u2028line",
		"bidi\u202egnp.exe",
		"c1\u0085next",
		"latin1-\xe9t\xe9",
		`x","client_ip":"203.0.113.9`,
		"tab\there",
		strings.Repeat("long", 100),
	}
	for _, u := range hostile {
		get(t, url, basicHeader(u, "pw"))
	}
	get(t, url, nil)
	get(t, url, basicHeader("carol", "pw"))
	want := len(hostile) + 2

	// Detections and the weak credential report are events of their
	// own, not per request; the rest must be one line per request.
	perRequest := func(lines []string) int {
		n := 0
		for _, line := range lines {
			if !strings.Contains(line, "attack suspected") && !strings.Contains(line, "weak credential in use") {
				n++
			}
		}
		return n
	}
	var lines []string
	waitFor(t, 5*time.Second, "the audit lines", func() bool {
		lines = strings.Split(strings.TrimRight(p.stdout.String(), "\n"), "\n")
		return perRequest(lines) >= want
	})
	p.stop()
	lines = strings.Split(strings.TrimRight(p.stdout.String(), "\n"), "\n")
	if got := perRequest(lines); got != want {
		t.Fatalf("got %d lines for %d requests:\n%s", got, want, p.stdout)
	}
	for i, line := range lines {
		if !strings.Contains(line, auditLogger) {
			t.Errorf("line %d is not an audit line: %q", i, line)
		}
		// Caddy colours the level; what follows the logger's name is
		// the message and the fields, where nothing may be raw.
		_, rest, _ := strings.Cut(line, auditLogger)
		for _, c := range rest {
			if c < 0x20 && c != '\t' || c == 0x7f || c >= 0x80 && c <= 0x9f || c == 0x2028 || c == 0x2029 ||
				c >= 0x202a && c <= 0x202e {
				t.Errorf("line %d holds control character %U: %q", i, c, line)
			}
		}
		if strings.Contains(line, `"client_ip":"203.0.113.9"`) {
			// The forged field must stay escaped inside attempted_user.
			t.Errorf("line %d: forged client_ip reads as a field: %q", i, line)
		}
	}
}
