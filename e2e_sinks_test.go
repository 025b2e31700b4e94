package basicaudit_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestE2ENetSink routes the audit logger to a `net` sink and receives the
// events on the test's own TCP listener.
func TestE2ENetSink(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lines := make(chan string, 64)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				sc := bufio.NewScanner(conn)
				for sc.Scan() {
					lines <- sc.Text()
				}
			}()
		}
	}()

	hash := testHash(t, "net-pass")
	site := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	text := fmt.Sprintf(`{
	admin localhost:{ADMIN}
	log default {
		output stderr
		exclude http.handlers.audited_basic_auth.audit
	}
	log audit {
		output net %s {
			dial_timeout 5s
		}
		format json
		include http.handlers.audited_basic_auth.audit
	}
}
http://%s {
	audited_basic_auth {
		nina %s
	}
	respond "in"
}
`, ln.Addr(), site, hash)
	url := "http://" + site + "/"
	startCaddy(t, t.TempDir(), text, url)
	get(t, url, nil)
	get(t, url, basicHeader("nina", "net-pass"))

	var events []string
	timeout := time.After(10 * time.Second)
	for len(events) < 2 {
		select {
		case line := <-lines:
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("not JSON: %q", line)
			}
			// The test hash is weak on purpose; its one-off event is
			// not a per-request event.
			if m["logger"] == auditLogger && m["event"] != "authn_weak_credential" {
				events = append(events, m["event"].(string))
			}
		case <-timeout:
			t.Fatalf("received %d events over TCP, want 2", len(events))
		}
	}
	if events[0] != "authn_challenge" || events[1] != "authn_login_success" {
		t.Errorf("events = %v, want a challenge and a success", events)
	}
}

// TestE2EFilterExampleMasksClientIP runs the filter example and checks
// that the addresses are masked while the rest of the event stays.
func TestE2EFilterExampleMasksClientIP(t *testing.T) {
	raw, err := os.ReadFile("examples/audit-filter.Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	site := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	text := strings.ReplaceAll(string(raw), "127.0.0.1:8080", site)
	text = strings.Replace(text, "{\n", "{\n\tadmin localhost:{ADMIN}\n", 1)
	wd, _ := os.Getwd()
	p := startCaddy(t, wd, text, "http://"+site+"/")
	get(t, "http://"+site+"/", basicHeader("alice", "wrong"))

	var ev map[string]any
	waitFor(t, 5*time.Second, "the event", func() bool {
		evs := jsonLines(t, p.stdout.String(), auditLogger)
		if len(evs) > 0 {
			ev = evs[0]
		}
		return ev != nil
	})
	if ev["client_ip"] != "127.0.0.0" || ev["remote_ip"] != "127.0.0.0" {
		t.Errorf("client_ip %v, remote_ip %v; want both masked to 127.0.0.0", ev["client_ip"], ev["remote_ip"])
	}
	if ev["reason"] != "wrong_password" || ev["attempted_user"] != "alice" {
		t.Errorf("the filter lost data: %v", ev)
	}
}
