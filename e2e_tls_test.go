package basicaudit_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestE2ERequireTLS: over plain HTTP a browser-like client gets 403 and
// no challenge; over Caddy's internal TLS it authenticates; loopback
// peers are exempt unless strict.
func TestE2ERequireTLS(t *testing.T) {
	hash := testHash(t, "tls-pass-1")
	strictPort, exemptPort, tlsPort := freePort(t), freePort(t), freePort(t)
	text := fmt.Sprintf(`{
	admin localhost:{ADMIN}
	default_bind 127.0.0.1
	skip_install_trust
	auto_https disable_redirects
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
http://localhost:%d {
	audited_basic_auth {
		require_tls strict
		erin %s
	}
	respond "in"
}
http://localhost:%d {
	audited_basic_auth {
		require_tls
		erin %s
	}
	respond "in"
}
https://localhost:%d {
	tls internal
	audited_basic_auth {
		require_tls strict
		erin %s
	}
	respond "in over tls"
}
`, strictPort, hash, exemptPort, hash, tlsPort, hash)
	p := startCaddy(t, t.TempDir(), text, fmt.Sprintf("http://127.0.0.1:%d/", tlsPort))

	browser := http.Header{"User-Agent": {"Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}}
	resp, _ := get(t, fmt.Sprintf("http://localhost:%d/", strictPort), browser)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("plain HTTP under strict: %d, challenge %q; want 403 and none", resp.StatusCode,
			resp.Header.Get("WWW-Authenticate"))
	}
	resp, _ = get(t, fmt.Sprintf("http://localhost:%d/", exemptPort), browser)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("plain HTTP from loopback without strict: %d, want 401 (exempt)", resp.StatusCode)
	}

	client := &http.Client{Transport: &http.Transport{
		// Caddy's internal CA is not trusted here; the test checks the
		// handler, not the certificate.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"},
	}}
	url := fmt.Sprintf("https://localhost:%d/", tlsPort)
	var body string
	waitFor(t, 20*time.Second, "the internal certificate", func() bool {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.SetBasicAuth("erin", "tls-pass-1")
		r, err := client.Do(req)
		if err != nil {
			return false
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		return r.StatusCode == 200
	})
	if body != "in over tls" {
		t.Errorf("over TLS: body %q", body)
	}

	waitFor(t, 5*time.Second, "the events", func() bool {
		return strings.Contains(p.stdout.String(), "authentication succeeded")
	})
	var sawTLS, sawRefusal bool
	for _, ev := range jsonLines(t, p.stdout.String(), auditLogger) {
		if ev["outcome"] == "success" && ev["tls"] == true {
			sawTLS = true
		}
		if ev["reason"] == "cleartext_rejected" && ev["status"] == 403.0 && ev["tls"] == false {
			sawRefusal = true
		}
	}
	if !sawTLS || !sawRefusal {
		t.Errorf("events lack a TLS success (%v) or a cleartext refusal (%v):\n%s", sawTLS, sawRefusal, p.stdout)
	}
}
