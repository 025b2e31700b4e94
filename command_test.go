package basicaudit

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestCheckUsersOverEveryFixture asserts the report over the real files
// written by Apache's htpasswd and by caddy hash-password.
func TestCheckUsersOverEveryFixture(t *testing.T) {
	files, err := filepath.Glob("testdata/htpasswd/*.htpasswd")
	if err != nil || len(files) != 10 {
		t.Fatalf("found %d fixtures (%v), want 10", len(files), err)
	}
	var out bytes.Buffer
	if status := runCheckUsers(&out, files); status != 1 {
		t.Errorf("exit status %d, want 1 (weak and legacy accounts)", status)
	}
	want := map[string][3]string{ // user: format, strength, accepted
		"dave":    {"apr1", "weak: legacy format apr1", "only with legacy_hashes allow"},
		"alice":   {"bcrypt", "ok", "yes"},
		"bob":     {"bcrypt", "ok", "yes"},
		"jörg":    {"bcrypt", "ok", "yes"},
		"mallory": {"argon2id", "ok", "yes"},
		"oscar":   {"bcrypt", "ok", "yes"},
		"peggy":   {"bcrypt", "ok", "yes"},
		"frank":   {"des-crypt", "weak: legacy format des-crypt", "only with legacy_hashes allow"},
		"carol":   {"bcrypt", "weak: bcrypt cost 5 is below 10", "yes"},
		"erin":    {"sha1", "weak: legacy format sha1", "only with legacy_hashes allow"},
		"grace":   {"sha256-crypt", "ok", "yes"},
		"heidi":   {"sha512-crypt", "ok", "yes"},
		"admin":   {"bcrypt", "ok", "yes"},
		"ivan":    {"bcrypt", "ok", "yes"},
		"judy":    {"bcrypt", "ok", "yes"},
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(want)+1 {
		t.Fatalf("got %d lines, want a header and %d accounts:\n%s", len(lines), len(want), out.String())
	}
	for _, line := range lines[1:] {
		cols := strings.Split(strings.Join(strings.Fields(line), " "), " ")
		user := cols[2]
		w, ok := want[user]
		if !ok {
			t.Errorf("unexpected account %s", user)
			continue
		}
		rest := strings.Join(cols[3:], " ")
		if !strings.HasPrefix(rest, w[0]+" "+w[1]+" "+w[2]) {
			t.Errorf("%s: %q, want %q", user, rest, w[0]+" "+w[1]+" "+w[2])
		}
	}
	// The report prints no hash.
	if strings.Contains(out.String(), "$2y$") || strings.Contains(out.String(), "$apr1$") ||
		strings.Contains(out.String(), "{SHA}") {
		t.Errorf("the report holds a hash:\n%s", out.String())
	}
}

func TestCheckUsersStatus(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	strong, _ := os.ReadFile("testdata/htpasswd/caddy-bcrypt.htpasswd")
	tests := []struct {
		name    string
		content string
		want    int
		wantOut string
	}{
		{"all strong", string(strong), 0, "oscar"},
		{"malformed hash", "x:$2y$10$short\n", 1, "malformed bcrypt hash"},
		{"duplicate", string(strong) + string(strong), 1, "defined more than once (first on line 1)"},
		{"unknown format", "x:$9$abc\n", 1, "unrecognized hash format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if got := runCheckUsers(&out, []string{write(tt.name, tt.content)}); got != tt.want {
				t.Errorf("status %d, want %d\n%s", got, tt.want, out.String())
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("output lacks %q:\n%s", tt.wantOut, out.String())
			}
		})
	}
	var out bytes.Buffer
	if got := runCheckUsers(&out, []string{filepath.Join(dir, "missing")}); got != 2 {
		t.Errorf("missing file: status %d, want 2", got)
	}
}

// TestFixturesThroughTheHandler loads the fixture files as users files:
// legacy formats are refused by default with the user, line and format,
// accepted with legacy_hashes allow; weak hashes warn at load; weak
// passwords raise their events at login.
func TestFixturesThroughTheHandler(t *testing.T) {
	legacy := map[string]string{"apr1": "dave", "crypt": "frank", "sha1": "erin"}
	for file, user := range legacy {
		a := &AuditedBasicAuth{UsersFile: "testdata/htpasswd/" + file + ".htpasswd"}
		err := provisionOnly(t, a)
		if err == nil || !strings.Contains(err.Error(), `line 1: user "`+user+`"`) || !strings.Contains(err.Error(), "legacy_hashes allow") {
			t.Errorf("%s refused with %v, want the user, line and advice", file, err)
		}
	}
	passwords := map[string][2]string{"apr1": {"dave", "apr1-secret"}, "crypt": {"frank", "cryptpw"},
		"sha1": {"erin", "sha1-secret"}}
	for file, cred := range passwords {
		a, _ := newHandler(t, &AuditedBasicAuth{UsersFile: "testdata/htpasswd/" + file + ".htpasswd",
			LegacyHashes: "allow", WeakCredentials: "off"})
		if res := serve(t, a, request(basic(cred[0], cred[1]))); res.status != 204 {
			t.Errorf("%s with legacy_hashes allow: status %d, want 204", file, res.status)
		}
	}

	// A cost-5 hash warns once at load, naming user and format only.
	core, logs := observer.New(zapcore.DebugLevel)
	store := newUserStore(nil, "testdata/htpasswd/default-bcrypt-cost5.htpasswd", false, zap.New(core))
	if err := store.load(); err != nil {
		t.Fatal(err)
	}
	warns := logs.FilterMessage("weak password hash").All()
	if len(warns) != 1 {
		t.Fatalf("got %d warnings, want 1", len(warns))
	}
	f := warns[0].ContextMap()
	if f["user"] != "carol" || f["format"] != "bcrypt" ||
		f["weakness"] != "bcrypt cost 5 is below 10" || f["advice"] == "" {
		t.Errorf("warning = %v", f)
	}
	for _, v := range f {
		if s, _ := v.(string); strings.Contains(s, "$2y$") {
			t.Errorf("the warning holds the hash: %v", f)
		}
	}

	// weak.htpasswd: every account's password is weak.
	weakSeen.Lock()
	clear(weakSeen.pairs)
	weakSeen.Unlock()
	a, obs := newHandler(t, &AuditedBasicAuth{UsersFile: "testdata/htpasswd/weak.htpasswd"})
	wantReasons := map[string]string{
		"admin": "same_as_username,default_pair,common_password,too_short,low_score",
		"ivan":  "common_password,low_score",
		"judy":  "same_as_username,too_short,low_score",
	}
	creds := map[string]string{"admin": "admin", "ivan": "password123", "judy": "judy"}
	for user, pw := range creds {
		if res := serve(t, a, request(basic(user, pw))); res.status != 204 {
			t.Errorf("%s: status %d, want 204 under warn", user, res.status)
		}
	}
	got := map[string]string{}
	for _, ev := range events(obs, "authn_weak_credential") {
		var reasons []string
		for _, r := range ev["reasons"].([]any) {
			reasons = append(reasons, r.(string))
		}
		got[ev["user_id"].(string)] = strings.Join(reasons, ",")
	}
	for user, want := range wantReasons {
		if got[user] != want {
			t.Errorf("%s: reasons %q, want %q", user, got[user], want)
		}
	}
}

// provisionOnly provisions a without failing the test on error.
func provisionOnly(t *testing.T, a *AuditedBasicAuth) error {
	t.Helper()
	ctx, cancel := caddyContext()
	t.Cleanup(cancel)
	err := a.Provision(ctx)
	t.Cleanup(func() { _ = a.Cleanup() })
	return err
}
