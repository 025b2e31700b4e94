package basicaudit

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/crypto/bcrypt"
)

// Test accounts use bcrypt's minimum cost so the suite stays fast; cost
// does not change any decision the handler makes.
var (
	alicePassword = "correct horse battery"
	aliceHash     = mustBcrypt(alicePassword)
	bobPassword   = "pa:ss:word"
	bobHash       = mustBcrypt(bobPassword)
)

func mustBcrypt(password string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
}

// newHandler provisions a handler and captures its audit and operational
// logs at every level.
func newHandler(t *testing.T, a *AuditedBasicAuth) (*AuditedBasicAuth, *observer.ObservedLogs) {
	t.Helper()
	ctx, cancel := caddyContext()
	t.Cleanup(cancel)
	if err := a.Provision(ctx); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	if err := a.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	t.Cleanup(func() { _ = a.Cleanup() })

	core, logs := observer.New(zapcore.DebugLevel)
	a.logger = zap.New(core).Named("http.handlers.audited_basic_auth")
	a.audit = a.logger.Named("audit")
	a.users.logger = a.logger
	return a, logs
}

// caddyContext is a context for provisioning outside a loaded config.
func caddyContext() (caddy.Context, context.CancelFunc) {
	return caddy.NewContext(caddy.Context{Context: context.Background()})
}

// twoUsers is a handler with test accounts. Their hashes have bcrypt's
// minimum cost, which is weak; weak credential reporting is off so that
// each request writes only its own event (weak_test.go covers it).
func twoUsers() *AuditedBasicAuth {
	return &AuditedBasicAuth{WeakCredentials: "off", Accounts: []Account{
		{Username: "alice", Password: aliceHash},
		{Username: "bob", Password: bobHash},
		{Username: "jörg", Password: mustBcrypt("pässwörd")},
	}}
}

// result is what one request through the handler produced.
type result struct {
	rec       *httptest.ResponseRecorder
	err       error
	status    int // the status Caddy would send
	repl      *caddy.Replacer
	extra     *caddyhttp.ExtraLogFields
	nextCalls int
}

// serve sends r through the handler as Caddy's server would prepare it,
// with a next handler that answers 204.
func serve(t *testing.T, a *AuditedBasicAuth, r *http.Request) result {
	t.Helper()
	return serveWith(t, a, r, func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

func serveWith(t *testing.T, a *AuditedBasicAuth, r *http.Request, next caddyhttp.HandlerFunc) result {
	t.Helper()
	return serveFrom(t, a, r, "192.0.2.10", next)
}

// serveFrom is serveWith for a request whose client IP, as Caddy
// determined it, is clientIP.
func serveFrom(t *testing.T, a *AuditedBasicAuth, r *http.Request, clientIP string, next caddyhttp.HandlerFunc) result {
	t.Helper()
	extra := new(caddyhttp.ExtraLogFields)
	ctx := context.WithValue(r.Context(), caddyhttp.ExtraLogFieldsCtxKey, extra)
	ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{
		caddyhttp.ClientIPVarKey: clientIP,
	})
	r = r.WithContext(ctx)
	repl := caddyhttp.NewTestReplacer(r)

	res := result{rec: httptest.NewRecorder(), repl: repl, extra: extra}
	counted := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		res.nextCalls++
		return next(w, r)
	})
	res.err = a.ServeHTTP(res.rec, r, counted)
	res.status = res.rec.Code
	var herr caddyhttp.HandlerError
	if errors.As(res.err, &herr) {
		res.status = herr.StatusCode
	}
	return res
}

func token(s string) string {
	return base64.StdEncoding.EncodeToString([]byte(s))
}

func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

func request(authorization ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://example.test/private/report?token=q-secret", nil)
	r.RemoteAddr = "192.0.2.10:50000"
	r.Header.Set("User-Agent", "test-agent/1.0")
	for _, v := range authorization {
		r.Header.Add("Authorization", v)
	}
	return r
}

// auditEntries returns the audit events logged so far.
func auditEntries(logs *observer.ObservedLogs) []observer.LoggedEntry {
	return logs.FilterLoggerName("http.handlers.audited_basic_auth.audit").All()
}

func onlyEvent(t *testing.T, logs *observer.ObservedLogs) observer.LoggedEntry {
	t.Helper()
	entries := auditEntries(logs)
	if len(entries) != 1 {
		t.Fatalf("got %d audit events, want exactly 1: %+v", len(entries), entries)
	}
	return entries[0]
}

// eventOf is the message, level and event name that SPEC gives each
// outcome of a request.
var eventOf = map[string]struct {
	msg   string
	level zapcore.Level
	event string
}{
	"success":   {"authentication succeeded", zapcore.InfoLevel, "authn_login_success"},
	"failure":   {"authentication failed", zapcore.WarnLevel, "authn_login_fail"},
	"challenge": {"credentials requested", zapcore.InfoLevel, "authn_challenge"},
}

func TestServeHTTPDecisions(t *testing.T) {
	long := strings.Repeat("p", 73)
	tests := []struct {
		name        string
		auth        []string
		wantStatus  int
		wantOutcome string
		wantReason  string
		wantNext    bool
	}{
		{"no credentials", nil, 401, "challenge", "", false},
		{"valid", []string{basic("alice", alicePassword)}, 204, "success", "", true},
		{"colon in password", []string{basic("bob", bobPassword)}, 204, "success", "", true},
		{"wrong password", []string{basic("alice", "nope")}, 401, "failure", "wrong_password", false},
		{"unknown user", []string{basic("mallory", "nope")}, 401, "failure", "unknown_user", false},
		{"bearer", []string{"Bearer abc.def"}, 401, "failure", "unsupported_scheme", false},
		{"garbage token", []string{"Basic !!!"}, 401, "failure", "malformed_credentials", false},
		{"two headers", []string{basic("alice", alicePassword), basic("alice", alicePassword)}, 401,
			"failure", "multiple_credentials", false},
		{"control in username", []string{basic("ali\nce", alicePassword)}, 401, "failure",
			"invalid_username", false},
		{"73-byte password", []string{basic("alice", long)}, 401, "failure", "password_too_long", false},
		{"scheme in lower case", []string{"basic " + token("alice:"+alicePassword)}, 204, "success", "", true},
		{"scheme in upper case", []string{"BASIC " + token("alice:"+alicePassword)}, 204, "success", "", true},
		{"doubled space", []string{"Basic  " + token("alice:"+alicePassword)}, 204, "success", "", true},
		{"tab after scheme", []string{"Basic\t" + token("alice:"+alicePassword)}, 204, "success", "", true},
		{"missing padding", []string{"Basic " + strings.TrimRight(token("alice:"+alicePassword+"x"),
			"=")}, 401, "failure", "wrong_password", false},
		{"UTF-8 credentials", []string{basic("jörg", "pässwörd")}, 204, "success", "", true},
		{"Latin-1 bytes", []string{basic("j\xf6rg", "p\xe4ssw\xf6rd")}, 401, "failure", "unknown_user", false},
		{"empty username", []string{basic("", alicePassword)}, 401, "failure", "unknown_user", false},
		{"empty password", []string{basic("alice", "")}, 401, "failure", "wrong_password", false},
		{"comma-joined", []string{basic("alice", alicePassword) + ", " + basic("bob", bobPassword)}, 401,
			"failure", "multiple_credentials", false},
		{"ESC in username", []string{basic("ali\x1bce", alicePassword)}, 401, "failure", "invalid_username", false},
		{"NUL in username", []string{basic("ali\x00ce", alicePassword)}, 401, "failure", "invalid_username", false},
		{"5 KiB token", []string{"Basic " + strings.Repeat("QUFB", 1280)}, 401, "failure",
			"malformed_credentials", false},
		{"no colon", []string{"Basic " + token("alice")}, 401, "failure", "malformed_credentials", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, logs := newHandler(t, twoUsers())
			res := serve(t, a, request(tt.auth...))

			if res.status != tt.wantStatus {
				t.Errorf("status = %d, want %d (err %v)", res.status, tt.wantStatus, res.err)
			}
			if got := res.nextCalls > 0; got != tt.wantNext {
				t.Errorf("next called = %v, want %v", got, tt.wantNext)
			}
			want := eventOf[tt.wantOutcome]
			e := onlyEvent(t, logs)
			f := e.ContextMap()
			if e.Message != want.msg || e.Level != want.level {
				t.Errorf("event = %s %q, want %s %q", e.Level, e.Message, want.level, want.msg)
			}
			if f["event"] != want.event || f["outcome"] != tt.wantOutcome {
				t.Errorf("event, outcome = %v, %v; want %v, %v", f["event"], f["outcome"], want.event, tt.wantOutcome)
			}
			if got, _ := f["reason"].(string); got != tt.wantReason {
				t.Errorf("reason = %q, want %q", got, tt.wantReason)
			}
			if got := f["status"]; got != tt.wantStatus {
				t.Errorf("status field = %v, want %d", got, tt.wantStatus)
			}
			if got, _ := res.repl.GetString("http.auth.outcome"); got != tt.wantOutcome {
				t.Errorf("{http.auth.outcome} = %q, want %q", got, tt.wantOutcome)
			}
			if got, _ := res.repl.GetString("http.auth.reason"); got != tt.wantReason {
				t.Errorf("{http.auth.reason} = %q, want %q", got, tt.wantReason)
			}

			if tt.wantStatus == 401 {
				var herr caddyhttp.HandlerError
				if !errors.As(res.err, &herr) {
					t.Fatalf("error %v is not a caddyhttp.HandlerError", res.err)
				}
				want := `Basic realm="restricted", charset="UTF-8"`
				if got := res.rec.Header().Get("WWW-Authenticate"); got != want {
					t.Errorf("challenge = %q, want %q", got, want)
				}
			}
			if tt.wantReason == "malformed_credentials" || tt.wantReason == "multiple_credentials" ||
				tt.wantReason == "unsupported_scheme" || tt.wantReason == "invalid_username" ||
				tt.wantReason == "password_too_long" {
				if f["verify_duration"] != 0.0 || f["cache_hit"] != false {
					t.Errorf("a malformed request computed a hash: verify_duration = %v", f["verify_duration"])
				}
			}
			if tt.wantReason == "wrong_password" || tt.wantReason == "unknown_user" {
				if d, _ := f["verify_duration"].(float64); d <= 0 {
					t.Errorf("a %s cost no verification: verify_duration = %v", tt.wantReason, f["verify_duration"])
				}
			}
		})
	}
}

func TestEventFields(t *testing.T) {
	a, logs := newHandler(t, twoUsers())
	serve(t, a, request(basic("alice", "wrong")))
	f := onlyEvent(t, logs).ContextMap()

	want := map[string]any{
		"attempted_user": "alice",
		"user_known":     true,
		"client_ip":      "192.0.2.10",
		"remote_ip":      "192.0.2.10",
		"method":         "GET",
		"host":           "example.test",
		"path":           "/private/report",
		"proto":          "HTTP/1.1",
		"user_agent":     "test-agent/1.0",
		"tls":            false,
		"realm":          "restricted",
		"cache_hit":      false,
	}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s = %#v, want %#v", k, f[k], v)
		}
	}
	if id, _ := f["request_id"].(string); len(id) != 36 {
		t.Errorf("request_id = %q, want a UUID", id)
	}
	if d, _ := f["verify_duration"].(float64); d <= 0 {
		t.Errorf("verify_duration = %v, want > 0 for a computed hash", f["verify_duration"])
	}
}

func TestSuccessCacheAndStatus(t *testing.T) {
	a, logs := newHandler(t, twoUsers())
	first := serve(t, a, request(basic("alice", alicePassword)))
	second := serve(t, a, request(basic("alice", alicePassword)))
	if first.status != 204 || second.status != 204 {
		t.Fatalf("statuses = %d, %d; want 204, 204", first.status, second.status)
	}
	entries := auditEntries(logs)
	if len(entries) != 2 {
		t.Fatalf("got %d events, want 2", len(entries))
	}
	if hit := entries[0].ContextMap()["cache_hit"]; hit != false {
		t.Errorf("first cache_hit = %v, want false", hit)
	}
	if hit := entries[1].ContextMap()["cache_hit"]; hit != true {
		t.Errorf("second cache_hit = %v, want true", hit)
	}
	if got := entries[1].ContextMap()["user_id"]; got != "alice" {
		t.Errorf("user_id = %v, want alice", got)
	}
	if got := entries[1].ContextMap()["status"]; got != 204 {
		t.Errorf("status = %v, want the next handler's 204", got)
	}
	if got, _ := second.repl.GetString("http.auth.user.id"); got != "alice" {
		t.Errorf("{http.auth.user.id} = %q, want alice", got)
	}
}

func TestLogSuccesses(t *testing.T) {
	tests := []struct {
		policy string
		want   int // events for a verified success then a cached one
	}{
		{"all", 2},
		{"verified", 1},
		{"off", 0},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			cfg := twoUsers()
			cfg.LogSuccesses = tt.policy
			a, logs := newHandler(t, cfg)
			serve(t, a, request(basic("alice", alicePassword)))
			serve(t, a, request(basic("alice", alicePassword)))
			if got := len(auditEntries(logs)); got != tt.want {
				t.Errorf("got %d success events, want %d", got, tt.want)
			}
			serve(t, a, request(basic("alice", "wrong")))
			if got := len(auditEntries(logs)); got != tt.want+1 {
				t.Errorf("a failure under log_successes %s was not logged", tt.policy)
			}
		})
	}
}

func TestUnknownUsernamePolicy(t *testing.T) {
	tests := []struct {
		policy            string
		user              string
		wantClear         string
		wantHash, wantAny bool
	}{
		{"", "alice", "alice", false, true},
		{"", "hunter2-oops", "", true, true},
		{"raw", "hunter2-oops", "hunter2-oops", false, true},
		{"omit", "alice", "", false, false},
		{"omit", "hunter2-oops", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.policy+"/"+tt.user, func(t *testing.T) {
			cfg := twoUsers()
			cfg.UnknownUsernames = tt.policy
			a, logs := newHandler(t, cfg)
			res := serve(t, a, request(basic(tt.user, "wrong")))
			f := onlyEvent(t, logs).ContextMap()

			got, _ := f["attempted_user"].(string)
			if got != tt.wantClear {
				t.Errorf("attempted_user = %q, want %q", got, tt.wantClear)
			}
			hash, _ := f["attempted_user_hash"].(string)
			if (hash != "") != tt.wantHash {
				t.Errorf("attempted_user_hash = %q, want present: %v", hash, tt.wantHash)
			}
			if strings.Contains(hash, tt.user) {
				t.Errorf("hash %q holds the username", hash)
			}
			candidate, _ := res.repl.GetString("http.auth.candidate.id")
			if candidate != tt.wantClear {
				t.Errorf("{http.auth.candidate.id} = %q, want %q", candidate, tt.wantClear)
			}
		})
	}
}

func TestUsernameHashIsKeyed(t *testing.T) {
	hashOf := func(key string) string {
		cfg := twoUsers()
		cfg.HashKey = key
		a, logs := newHandler(t, cfg)
		serve(t, a, request(basic("someone", "x")))
		return onlyEvent(t, logs).ContextMap()["attempted_user_hash"].(string)
	}
	if a, b := hashOf("k1"), hashOf("k1"); a != b {
		t.Errorf("same key gave different hashes %q and %q", a, b)
	}
	if a, b := hashOf("k1"), hashOf("k2"); a == b {
		t.Errorf("different keys gave the same hash %q", a)
	}
}

func TestNextHandlerError(t *testing.T) {
	a, logs := newHandler(t, twoUsers())
	res := serveWith(t, a, request(basic("alice", alicePassword)),
		func(w http.ResponseWriter, r *http.Request) error {
			return caddyhttp.Error(http.StatusBadGateway, errors.New("upstream down"))
		})
	if res.err == nil {
		t.Fatal("the next handler's error was not returned")
	}
	if got := onlyEvent(t, logs).ContextMap()["status"]; got != 502 {
		t.Errorf("status = %v, want 502 from the next handler's error", got)
	}
}

func TestUsersFileReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users.htpasswd")
	write := func(content string) {
		t.Helper()
		// Write to a new file and rename, as editors do; this also gives
		// the file a new identity so the change is seen at once.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write("alice:" + aliceHash + "\n")

	a, logs := newHandler(t, &AuditedBasicAuth{UsersFile: path})
	if res := serve(t, a, request(basic("alice", alicePassword))); res.status != 204 {
		t.Fatalf("alice before reload: status %d", res.status)
	}

	// A broken file keeps the previous accounts and logs the line.
	write("alice:" + aliceHash + "\nbroken line without colon\n")
	a.users.poll()
	if res := serve(t, a, request(basic("alice", alicePassword))); res.status != 204 {
		t.Errorf("alice after a broken file: status %d, want 204", res.status)
	}
	errs := logs.FilterMessageSnippet("reloading users file").All()
	if len(errs) != 1 || !strings.Contains(errs[0].ContextMap()["error"].(string), "line 2") {
		t.Errorf("want one error naming line 2, got %+v", errs)
	}

	// Replacing alice's hash and adding bob take effect at once, the
	// cached verification of the old password included.
	write("alice:" + mustBcrypt("new password") + "\nbob:" + bobHash + "\n")
	a.users.poll()
	if res := serve(t, a, request(basic("alice", alicePassword))); res.status != 401 {
		t.Errorf("alice's old password after a hash change: status %d, want 401", res.status)
	}
	if res := serve(t, a, request(basic("alice", "new password"))); res.status != 204 {
		t.Errorf("alice's new password: status %d, want 204", res.status)
	}
	if res := serve(t, a, request(basic("bob", bobPassword))); res.status != 204 {
		t.Errorf("bob after being added: status %d, want 204", res.status)
	}

	// Removing a user takes effect at once.
	write("bob:" + bobHash + "\n")
	a.users.poll()
	if res := serve(t, a, request(basic("alice", "new password"))); res.status != 401 {
		t.Errorf("alice after removal: status %d, want 401", res.status)
	}
}

func TestUsersFileWatchPicksUpChanges(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users.htpasswd")
	if err := os.WriteFile(path, []byte("alice:"+aliceHash+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, _ := newHandler(t, &AuditedBasicAuth{UsersFile: path})
	if err := os.WriteFile(path, []byte("bob:"+bobHash+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for serve(t, a, request(basic("bob", bobPassword))).status != 204 {
		if time.Now().After(deadline) {
			t.Fatal("the change of the users file was never picked up")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestChallengeHeaderEscaping(t *testing.T) {
	tests := []struct{ realm, want string }{
		{"restricted", `Basic realm="restricted", charset="UTF-8"`},
		{`say "hi"`, `Basic realm="say \"hi\"", charset="UTF-8"`},
		{`back\slash`, `Basic realm="back\\slash", charset="UTF-8"`},
		{"Zürich", `Basic realm="Zürich", charset="UTF-8"`},
	}
	for _, tt := range tests {
		if got := challengeHeader(tt.realm); got != tt.want {
			t.Errorf("challengeHeader(%q) = %s, want %s", tt.realm, got, tt.want)
		}
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"plain", 10, "plain"},
		{"a\nb", 10, `a\x0ab`},
		{"esc\x1b[31m", 20, `esc\x1b[31m`},
		{"nul\x00", 10, `nul\x00`},
		{"del\x7f", 10, `del\x7f`},
		{"c1\u0085", 20, `c1\xc2\x85`},
		{"latin1 \xe9", 20, `latin1 \xe9`},
		{"jörg", 10, "jörg"},
		{"ab\u202ecd", 20, `ab\xe2\x80\xaecd`},
		// Cut values end with the mark, within the limit.
		{"abcdefghij", 8, "abcde…"},
		{"abcdefghij", 10, "abcdefghij"},
		{"ab\ncd", 7, "ab…"},
		{"jörgjörg", 8, "jörg…"},
		{strings.Repeat("u", 300), 256, strings.Repeat("u", 253) + "…"},
	}
	for _, tt := range tests {
		got := sanitize(tt.in, tt.limit)
		if got != tt.want {
			t.Errorf("sanitize(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
		}
		if len(got) > tt.limit {
			t.Errorf("sanitize(%q, %d) is %d bytes, over the limit", tt.in, tt.limit, len(got))
		}
	}
}
