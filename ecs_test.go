package basicaudit

import (
	"bufio"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

// ecsTypes reads the ECS field list of testdata.
func ecsTypes(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("testdata/ecs_fields.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	types := make(map[string]string)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, typ, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		types[name] = typ
	}
	return types
}

// checkECSValue reports whether v, as the map encoder holds it, fits the
// ECS type.
func checkECSValue(typ string, v any) bool {
	switch typ {
	case "keyword", "wildcard":
		switch v := v.(type) {
		case string:
			return true
		case []any:
			for _, it := range v {
				if _, ok := it.(string); !ok {
					return false
				}
			}
			return true
		}
	case "long":
		switch v.(type) {
		case int64, int:
			return true
		}
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "ip":
		s, _ := v.(string)
		_, err := netip.ParseAddr(s)
		return err == nil
	case "date":
		s, _ := v.(string)
		_, err := time.Parse(time.RFC3339Nano, s)
		return err == nil
	}
	return false
}

// TestECSFieldsExistInECS drives every kind of event under `schema ecs`
// and checks each field name against ECS's reference, with its type.
func TestECSFieldsExistInECS(t *testing.T) {
	types := ecsTypes(t)
	a := twoUsers()
	a.Schema = "ecs"
	a.WeakCredentials = "warn"
	a.Lockout = &LockoutConfig{Failures: 3}
	a.Detect = &DetectConfig{BruteForce: 2, Spray: 2, Distributed: 2}
	a.Accounts = append(a.Accounts, Account{Username: "admin", Password: mustBcrypt("admin")})
	a, logs := newHandler(t, a)

	serve(t, a, request())
	serve(t, a, request(basic("alice", alicePassword)))
	serve(t, a, request(basic("admin", "admin")))
	serve(t, a, request(basic("mallory", "x")))
	serveFrom(t, a, request(basic("alice", "nope")), "192.0.2.99", noContent)
	serve(t, a, request(basic("alice", "nope-2")))
	serve(t, a, request(basic("alice", "nope-3")))
	serve(t, a, request(basic("alice", alicePassword)))

	seen := map[string]bool{}
	for _, e := range logs.FilterLoggerName("http.handlers.audited_basic_auth.audit").All() {
		fields := e.ContextMap()
		seen[fields["event.action"].(string)] = true
		if cat, _ := fields["event.category"].([]any); len(cat) != 1 || cat[0] != "authentication" {
			t.Errorf("%s: event.category = %v, want [authentication]", e.Message, fields["event.category"])
		}
		for name, v := range fields {
			typ, ok := types[name]
			if !ok && strings.HasPrefix(name, "labels.") {
				typ, ok = "keyword", true
			}
			if !ok {
				t.Errorf("%s: field %s is not in ECS", e.Message, name)
				continue
			}
			if !checkECSValue(typ, v) {
				t.Errorf("%s: field %s = %#v is not of ECS type %s", e.Message, name, v, typ)
			}
		}
	}
	for _, event := range []string{"authn_challenge", "authn_login_success", "authn_login_fail",
		"authn_login_blocked",
		"authn_login_lock", "authn_login_fail_max", "authn_weak_credential"} {
		if !seen[event] {
			t.Errorf("no %s event was driven; the test covers less than it claims", event)
		}
	}
}

// TestECSCarriesTheSameData checks a failure event's values under ECS.
func TestECSCarriesTheSameData(t *testing.T) {
	a := twoUsers()
	a.Schema = "ecs"
	a, logs := newHandler(t, a)
	serve(t, a, request(basic("alice", "wrong")))
	f := onlyEvent(t, logs).ContextMap()
	want := map[string]any{
		"event.action":              "authn_login_fail",
		"event.outcome":             "failure",
		"event.reason":              "wrong_password",
		"user.name":                 "alice",
		"source.ip":                 "192.0.2.10",
		"client.ip":                 "192.0.2.10",
		"http.request.method":       "GET",
		"url.path":                  "/private/report",
		"http.version":              "1.1",
		"http.response.status_code": int64(401),
		"tls.established":           false,
		"labels.outcome":            "failure",
	}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s = %#v, want %#v", k, f[k], v)
		}
	}
	if d, _ := f["event.duration"].(int64); d <= 0 {
		t.Errorf("event.duration = %v, want nanoseconds > 0", f["event.duration"])
	}
	for k := range f {
		if !strings.Contains(k, ".") {
			t.Errorf("field %s has a caddy-schema name", k)
		}
	}
}
