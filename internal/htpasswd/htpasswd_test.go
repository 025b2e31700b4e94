package htpasswd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/basicaudit/caddy-basicaudit/internal/passwords"
)

// Hashes from testdata, written by the real htpasswd.
const (
	aliceHash = "$2y$10$/z4FFxkDULAFjUzfBrPM1.K1y2R7EE7AGoyX6NaKRtFLE/1V4D5p2"    // correct horse battery
	daveHash  = "$apr1$b4hzYeF7$zzpIdRyF7MjVlkIy/m5yt0"                           // apr1-secret
	erinHash  = "{SHA}F/WZ9PxtuIpP2yyadrWdU4eK0og="                               // sha1-secret
	graceHash = "$5$FnK2KjE/zf3foz0f$NK.15IjEccIPO4uj0/wzaTncM./YhaU/c4fz5jGdTXA" // sha256-secret
)

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file      string
		users     []string
		format    passwords.Format
		legacy    bool
		verifyPw  string // the first user's password, checked when cheap
		verifyBad string
	}{
		{"bcrypt-cost10.htpasswd", []string{"alice", "bob", "jörg"}, passwords.Bcrypt, false, "", ""},
		{"default-bcrypt-cost5.htpasswd", []string{"carol"}, passwords.Bcrypt, false, "tr0ub4dor&3", "tr0ub4dor&4"},
		{"weak.htpasswd", []string{"admin", "ivan", "judy"}, passwords.Bcrypt, false, "", ""},
		{"caddy-argon2id.htpasswd", []string{"mallory"}, passwords.Argon2id, false, "", ""},
		{"caddy-bcrypt.htpasswd", []string{"oscar", "peggy"}, passwords.Bcrypt, false, "", ""},
		{"sha256crypt.htpasswd", []string{"grace"}, passwords.SHA256Crypt, false, "sha256-secret", "sha256-secreT"},
		{"sha512crypt.htpasswd", []string{"heidi"}, passwords.SHA512Crypt, false, "sha512-secret", "sha512-secreT"},
		{"apr1.htpasswd", []string{"dave"}, passwords.APR1, true, "apr1-secret", "apr1-secreT"},
		{"sha1.htpasswd", []string{"erin"}, passwords.SHA1, true, "sha1-secret", "sha1-secreT"},
		{"crypt.htpasswd", []string{"frank"}, passwords.DESCrypt, true, "cryptpw", "cryptpW"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			content := readFixture(t, tt.file)
			entries, err := Parse(strings.NewReader(content), true)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(entries) != len(tt.users) {
				t.Fatalf("got %d entries, want %d", len(entries), len(tt.users))
			}
			for i, e := range entries {
				if e.Username != tt.users[i] || e.Line != i+1 || e.Hash.Format() != tt.format {
					t.Errorf("entry %d = %q line %d %s, want %q line %d %s",
						i, e.Username, e.Line, e.Hash.Format(), tt.users[i], i+1, tt.format)
				}
				if !strings.Contains(content, e.Username+":"+e.Encoded+"\n") {
					t.Errorf("entry %d: Encoded is not the hash as written", i)
				}
			}
			if tt.verifyPw != "" {
				if !entries[0].Hash.Verify([]byte(tt.verifyPw)) {
					t.Errorf("Verify(%q) = false, want true", tt.verifyPw)
				}
				if entries[0].Hash.Verify([]byte(tt.verifyBad)) {
					t.Errorf("Verify(%q) = true, want false", tt.verifyBad)
				}
			}

			_, err = Parse(strings.NewReader(content), false)
			if tt.legacy {
				want := `line 1: user "` + tt.users[0] + `": ` + string(tt.format) +
					` hash refused (legacy format; set legacy_hashes allow to accept it)`
				if err == nil || err.Error() != want {
					t.Errorf("Parse without legacy: error = %v, want %q", err, want)
				}
			} else if err != nil {
				t.Errorf("Parse without legacy: %v", err)
			}
		})
	}
}

// TestParseVerifiesUTF8 checks the accounts whose username or password
// is not plain ASCII, with the colon kept in the password.
func TestParseVerifiesUTF8(t *testing.T) {
	entries, err := Parse(strings.NewReader(readFixture(t, "bcrypt-cost10.htpasswd")), false)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		entry           int
		username, right string
	}{
		{1, "bob", "pa:ss:word"},
		{2, "jörg", "pässwörd"},
	}
	for _, tt := range tests {
		e := entries[tt.entry]
		if e.Username != tt.username {
			t.Fatalf("entry %d is %q, want %q", tt.entry, e.Username, tt.username)
		}
		if !e.Hash.Verify([]byte(tt.right)) {
			t.Errorf("%s: Verify(%q) = false, want true", tt.username, tt.right)
		}
		if wrong := tt.right[:len(tt.right)-1]; e.Hash.Verify([]byte(wrong)) {
			t.Errorf("%s: Verify(%q) = true, want false", tt.username, wrong)
		}
	}
}

func TestParseLayout(t *testing.T) {
	content := "\uFEFF# users of the staging site\r\n" +
		"\r\n" +
		"alice:" + aliceHash + "  \t\r\n" +
		"   \r\n" +
		"#bob:" + aliceHash + "\r\n" +
		"grace:" + graceHash + "\n" +
		"jörg:" + aliceHash // no final line end
	entries, err := Parse(strings.NewReader(content), false)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := []struct {
		username, encoded string
		line              int
	}{
		{"alice", aliceHash, 3},
		{"grace", graceHash, 6},
		{"jörg", aliceHash, 7},
	}
	if len(entries) != len(want) {
		t.Fatalf("got %d entries, want %d", len(entries), len(want))
	}
	for i, w := range want {
		e := entries[i]
		if e.Username != w.username || e.Encoded != w.encoded || e.Line != w.line {
			t.Errorf("entry %d = {%q, %q, %d}, want {%q, %q, %d}",
				i, e.Username, e.Encoded, e.Line, w.username, w.encoded, w.line)
		}
	}
}

func TestParseEmpty(t *testing.T) {
	for _, content := range []string{"", "\uFEFF", "# nobody yet\n\n"} {
		entries, err := Parse(strings.NewReader(content), false)
		if err != nil || len(entries) != 0 {
			t.Errorf("Parse(%q) = %d entries, %v; want none", content, len(entries), err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, content, wantErr string
		allowLegacy            bool
	}{
		{
			name:    "missing colon",
			content: "# header\nalice:" + aliceHash + "\nbob" + aliceHash + "\n",
			wantErr: "line 3: missing colon between username and hash",
		},
		{
			name:    "empty username",
			content: "\n:" + aliceHash + "\n",
			wantErr: "line 2: username cannot be empty",
		},
		{
			name:    "control character in username",
			content: "al\x1bice:" + aliceHash + "\n",
			wantErr: `line 1: user "al\x1bice": username cannot contain control characters`,
		},
		{
			name:    "C1 control character in username",
			content: "al\u0085ice:" + aliceHash + "\n",
			wantErr: `line 1: user "al\u0085ice": username cannot contain control characters`,
		},
		{
			name:    "invalid UTF-8 in username",
			content: "al\xffice:" + aliceHash + "\n",
			wantErr: `line 1: user "al\xffice": username is not valid UTF-8`,
		},
		{
			name:    "duplicate",
			content: "alice:" + aliceHash + "\n# again\nalice:" + graceHash + "\n",
			wantErr: `line 3: user "alice" is defined more than once (first on line 1)`,
		},
		{
			name:    "duplicate after a BOM and CRLF",
			content: "\uFEFFalice:" + aliceHash + "\r\nalice:" + aliceHash + "\r\n",
			wantErr: `line 2: user "alice" is defined more than once (first on line 1)`,
		},
		{
			name:    "empty hash",
			content: "alice:   \n",
			wantErr: `line 1: user "alice": password hash is empty`,
		},
		{
			name:    "malformed bcrypt",
			content: "alice:$2y$10$truncatedHashValue\n",
			wantErr: `line 1: user "alice": malformed bcrypt hash`,
		},
		{
			name:    "unrecognized format",
			content: "alice:$1$saltsalt$DigestOfMd5CryptXXXXX\n",
			wantErr: `line 1: user "alice": unrecognized hash format`,
		},
		{
			name:    "plaintext refused",
			content: "alice:s3cret-in-clear\n",
			wantErr: `line 1: user "alice": plaintext hash refused (legacy format; set legacy_hashes allow to accept it)`,
		},
		{
			name:    "apr1 refused",
			content: "alice:" + aliceHash + "\ndave:" + daveHash + "\n",
			wantErr: `line 2: user "dave": apr1 hash refused (legacy format; set legacy_hashes allow to accept it)`,
		},
		{
			name:    "sha1 refused",
			content: "erin:" + erinHash + "\n",
			wantErr: `line 1: user "erin": sha1 hash refused (legacy format; set legacy_hashes allow to accept it)`,
		},
		{
			name:        "malformed hash with legacy allowed",
			content:     "alice:{SHA}c2hvcnQ=\n",
			wantErr:     `line 1: user "alice": malformed sha1 hash`,
			allowLegacy: true,
		},
		{
			name:    "line too long",
			content: "alice:" + aliceHash + "\n" + strings.Repeat("x", MaxLine+1) + "\n",
			wantErr: "line 2: longer than 65536 bytes",
		},
		{
			name:    "line too long with no line end",
			content: "# comment\n#" + strings.Repeat("x", 2*MaxLine),
			wantErr: "line 2: longer than 65536 bytes",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, err := Parse(strings.NewReader(tt.content), tt.allowLegacy)
			if err == nil {
				t.Fatalf("Parse = %d entries, want error %q", len(entries), tt.wantErr)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("error = %q, want %q", err, tt.wantErr)
			}
			// No hash, nor anything after a colon, may reach the error.
			for _, line := range strings.Split(tt.content, "\n") {
				if _, secret, ok := strings.Cut(line, ":"); ok && len(strings.TrimSpace(secret)) >= 8 &&
					strings.Contains(err.Error(), strings.TrimSpace(secret)) {
					t.Errorf("error %q contains a hash", err)
				}
			}
		})
	}
}

func TestParseLongestLine(t *testing.T) {
	// A plaintext password filling the line up to the limit exactly.
	line := "alice:" + strings.Repeat("p", MaxLine-len("alice:"))
	for _, end := range []string{"", "\n", "\r\n"} {
		entries, err := Parse(strings.NewReader(line+end), true)
		if err != nil || len(entries) != 1 {
			t.Errorf("line of %d bytes ending %q: %d entries, %v; want 1", MaxLine, end, len(entries), err)
		}
	}
}

// TestParseReadError checks that a read error is reported, and that the
// part of a line read before it is not parsed as if it were whole.
func TestParseReadError(t *testing.T) {
	tests := []struct {
		name, content, wantErr string
	}{
		{"within a comment", "alice:" + aliceHash + "\n" + strings.Repeat("#", 8192), "reading line 2: timeout"},
		{"within a hash", "alice:" + aliceHash[:20], "reading line 1: timeout"},
	}
	for _, tt := range tests {
		// The first read returns the whole content, the second fails.
		r := iotest.TimeoutReader(strings.NewReader(tt.content))
		entries, err := Parse(r, true)
		if err == nil || err.Error() != tt.wantErr {
			t.Errorf("%s: Parse = %d entries, %v; want error %q", tt.name, len(entries), err, tt.wantErr)
		}
	}
}

func TestValidateUsername(t *testing.T) {
	tests := []struct {
		username, wantErr string
	}{
		{"alice", ""},
		{"jörg", ""},
		{"first last", ""},
		{"user@example.com", ""},
		{"", "username cannot be empty"},
		{"a:b", `user "a:b": username cannot contain a colon`},
		{"a\x00b", `user "a\x00b": username cannot contain control characters`},
		{"a\tb", `user "a\tb": username cannot contain control characters`},
		{"a\nb", `user "a\nb": username cannot contain control characters`},
		{"a\x7fb", `user "a\x7fb": username cannot contain control characters`},
		{"a\u009bb", `user "a\u009bb": username cannot contain control characters`},
		{"a\xc3", `user "a\xc3": username is not valid UTF-8`},
	}
	for _, tt := range tests {
		err := ValidateUsername(tt.username)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.wantErr {
			t.Errorf("ValidateUsername(%q) = %q, want %q", tt.username, got, tt.wantErr)
		}
	}
}
