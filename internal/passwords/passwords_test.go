package passwords

import (
	"bufio"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// fixtureHash returns the hash of user in a testdata htpasswd file,
// written by the real htpasswd or caddy hash-password.
func fixtureHash(t testing.TB, file, user string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, hash, ok := strings.Cut(sc.Text(), ":"); ok && name == user {
			return hash
		}
	}
	t.Fatalf("no user %q in %s", user, file)
	return ""
}

// fixtures are the accounts of testdata, with the passwords their README
// gives.
var fixtures = []struct {
	file, user, password string
	format               Format
	params               string
}{
	{"bcrypt-cost10.htpasswd", "alice", "correct horse battery", Bcrypt, "bcrypt$2y$10"},
	{"bcrypt-cost10.htpasswd", "bob", "pa:ss:word", Bcrypt, "bcrypt$2y$10"},
	{"bcrypt-cost10.htpasswd", "jörg", "pässwörd", Bcrypt, "bcrypt$2y$10"},
	{"default-bcrypt-cost5.htpasswd", "carol", "tr0ub4dor&3", Bcrypt, "bcrypt$2y$05"},
	{"apr1.htpasswd", "dave", "apr1-secret", APR1, "apr1"},
	{"sha1.htpasswd", "erin", "sha1-secret", SHA1, "sha1"},
	{"crypt.htpasswd", "frank", "cryptpw", DESCrypt, "des-crypt"},
	{"sha256crypt.htpasswd", "grace", "sha256-secret", SHA256Crypt, "sha256-crypt rounds=5000"},
	{"sha512crypt.htpasswd", "heidi", "sha512-secret", SHA512Crypt, "sha512-crypt rounds=5000"},
	{"weak.htpasswd", "admin", "admin", Bcrypt, "bcrypt$2y$10"},
	{"weak.htpasswd", "ivan", "password123", Bcrypt, "bcrypt$2y$10"},
	{"weak.htpasswd", "judy", "judy", Bcrypt, "bcrypt$2y$10"},
	{"caddy-argon2id.htpasswd", "mallory", "argon-secret", Argon2id, "argon2id m=47104,t=1,p=1,len=32"},
	{"caddy-bcrypt.htpasswd", "oscar", "caddy-default-14", Bcrypt, "bcrypt$2a$14"},
	{"caddy-bcrypt.htpasswd", "peggy", "cost-twelve", Bcrypt, "bcrypt$2a$12"},
}

func TestFixturesVerify(t *testing.T) {
	for _, tt := range fixtures {
		t.Run(tt.user, func(t *testing.T) {
			t.Parallel()
			h, err := Parse(fixtureHash(t, tt.file, tt.user))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := h.Format(); got != tt.format {
				t.Errorf("Format() = %q, want %q", got, tt.format)
			}
			if got := h.Params(); got != tt.params {
				t.Errorf("Params() = %q, want %q", got, tt.params)
			}
			if !h.Verify([]byte(tt.password)) {
				t.Errorf("Verify(%q) = false, want true", tt.password)
			}
			// A wrong last character, within DES crypt's 8 bytes.
			wrong := tt.password[:len(tt.password)-1] + "#"
			if h.Verify([]byte(wrong)) {
				t.Errorf("Verify(%q) = true, want false", wrong)
			}
		})
	}
}

// TestMoreVectors checks hashes made by the C library's crypt, through
// Perl, and a {SSHA} made by hand: spelled-out rounds, non-default
// rounds, an empty password, bytes above 127.
func TestMoreVectors(t *testing.T) {
	tests := []struct {
		encoded, password, params string
	}{
		{"$5$rounds=1000$saltsaltsalt$MhYFDRpK1S9KR0o1meau6wzzuTvS9xDLSXtmfj9ENJ2", "rounds-pw",
			"sha256-crypt rounds=1000"},
		{"$6$rounds=1000$abc$IaOefWRlhi1ozf/DLAKwcxeJhs3H5JeZA6GkyMyeLY54JpW3Ecfye4Y9orbyUId8JyFT3qc5GsGx0THk//psY/", "rounds-pw", "sha512-crypt rounds=1000"},
		{"$6$rounds=5000$abc$K4v3HcZ8yAmpRfxML6S46NCcqy9r4/KdbQpFvqSWsBf4dgySOEOo1DHJTrmn2BsJK2aNmPN8Tfb826D2o9.z51", "x", "sha512-crypt rounds=5000"},
		{"abJnggxhB/yWI", "password1234", "des-crypt"},
		{"zz6dpSdr.LHZw", "", "des-crypt"},
		{"./1j2x96W1lQA", "\xe4\xf6\xfc\xdf\xff!", "des-crypt"},
		{"9/HLJ1DX.MAVI", "Zz9/.aA", "des-crypt"},
		{"aaqPiZY5xR5l.", "test", "des-crypt"},
		{"{SSHA}NXfUlGN9CyIvUHavi05r6eruy/OKEQD+QgeZPA==", "ssha-secret", "ssha"},
	}
	for _, tt := range tests {
		h, err := Parse(tt.encoded)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.encoded, err)
			continue
		}
		if got := h.Params(); got != tt.params {
			t.Errorf("Parse(%q).Params() = %q, want %q", tt.encoded, got, tt.params)
		}
		if !h.Verify([]byte(tt.password)) {
			t.Errorf("Parse(%q).Verify(%q) = false, want true", tt.encoded, tt.password)
		}
		if wrong := tt.password + "?"; len(tt.password) < 8 && h.Verify([]byte(wrong)) {
			t.Errorf("Parse(%q).Verify(%q) = true, want false", tt.encoded, wrong)
		}
	}
}

func TestDESCryptReadsEightBytes(t *testing.T) {
	h, err := Parse("abJnggxhB/yWI") // "password1234"
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		password string
		want     bool
	}{
		{"password", true},
		{"password-anything", true},
		{"passwor", false},
		{"passworD1234", false},
	}
	for _, tt := range tests {
		if got := h.Verify([]byte(tt.password)); got != tt.want {
			t.Errorf("Verify(%q) = %v, want %v", tt.password, got, tt.want)
		}
	}
	if got := h.MaxPassword(); got != 0 {
		t.Errorf("MaxPassword() = %d, want 0", got)
	}
}

func TestBcryptVariants(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("variant-pw"), 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, variant := range []string{"2a", "2b", "2y"} {
		encoded := "$" + variant + string(hash[3:])
		h, err := Parse(encoded)
		if err != nil {
			t.Errorf("Parse($%s$...): %v", variant, err)
			continue
		}
		if !h.Verify([]byte("variant-pw")) {
			t.Errorf("$%s$ hash: Verify(right password) = false, want true", variant)
		}
		if h.Verify([]byte("variant-pX")) {
			t.Errorf("$%s$ hash: Verify(wrong password) = true, want false", variant)
		}
		if got, want := h.Params(), "bcrypt$"+variant+"$04"; got != want {
			t.Errorf("$%s$ hash: Params() = %q, want %q", variant, got, want)
		}
	}
}

func TestBcryptMaxPassword(t *testing.T) {
	long := strings.Repeat("p", bcryptMaxPassword)
	hash, err := bcrypt.GenerateFromPassword([]byte(long), 4)
	if err != nil {
		t.Fatal(err)
	}
	h, err := Parse(string(hash))
	if err != nil {
		t.Fatal(err)
	}
	if got := h.MaxPassword(); got != 72 {
		t.Errorf("MaxPassword() = %d, want 72", got)
	}
	if !h.Verify([]byte(long)) {
		t.Error("Verify(72 bytes) = false, want true")
	}
	// bcrypt itself would accept this one: it reads only 72 bytes.
	if h.Verify([]byte(long + "q")) {
		t.Error("Verify(73 bytes sharing the 72) = true, want false")
	}
}

func TestCaddyBase64Wrapped(t *testing.T) {
	oscar := fixtureHash(t, "caddy-bcrypt.htpasswd", "oscar")
	mallory := fixtureHash(t, "caddy-argon2id.htpasswd", "mallory")
	tests := []struct {
		name, inner, password string
		format                Format
	}{
		{"bcrypt", oscar, "caddy-default-14", Bcrypt},
		{"argon2id", mallory, "argon-secret", Argon2id},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := Parse(base64.StdEncoding.EncodeToString([]byte(tt.inner)))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := h.Format(); got != tt.format {
				t.Errorf("Format() = %q, want %q", got, tt.format)
			}
			if !h.Verify([]byte(tt.password)) {
				t.Errorf("Verify(%q) = false, want true", tt.password)
			}
		})
	}
}

func TestParseDetects(t *testing.T) {
	tests := []struct {
		encoded string
		want    Format
	}{
		{"hunter2", Plaintext},
		{"correct horse battery staple", Plaintext},
		{"aaqPiZY5xR5l.", DESCrypt},
		// 13 crypt characters whose last one has bits DES crypt never sets.
		{"abcdefghijklm", Plaintext},
		{"{SHA}F/WZ9PxtuIpP2yyadrWdU4eK0og=", SHA1},
		// Valid base64 that decodes to no hash.
		{"aGVsbG8gd29ybGQ=", Plaintext},
		{"$1$abcdefgh$abcdefghijklmnopqrstuv", ""},
		{"{MD5}whatever", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Detect(tt.encoded); got != tt.want {
			t.Errorf("Detect(%q) = %q, want %q", tt.encoded, got, tt.want)
		}
	}
}

func TestPlaintext(t *testing.T) {
	h, err := Parse("hunter2")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		password string
		want     bool
	}{
		{"hunter2", true},
		{"hunter3", false},
		{"hunter", false},
		{"hunter22", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := h.Verify([]byte(tt.password)); got != tt.want {
			t.Errorf("Verify(%q) = %v, want %v", tt.password, got, tt.want)
		}
	}
}

// parseErrorCases returns a malformed hash of each kind, and the start
// of the error Parse returns for it.
func parseErrorCases() []struct{ name, encoded, wantErr string } {
	digest53 := strings.Repeat("A", 53)
	salt := base64.RawStdEncoding.EncodeToString([]byte("0123456789abcdef"))
	key := base64.RawStdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	argon := func(version, params, salt, key string) string {
		return "$argon2id$" + version + "$" + params + "$" + salt + "$" + key
	}
	d43, d86 := strings.Repeat("b", 43), strings.Repeat("c", 86)
	return []struct{ name, encoded, wantErr string }{
		{"empty", "", "password hash is empty"},
		{"bcrypt too short", "$2y$10$short", "malformed bcrypt hash"},
		{"bcrypt too long", "$2y$10$" + digest53 + "A", "malformed bcrypt hash"},
		{"bcrypt unknown variant", "$2x$10$" + digest53, "malformed bcrypt hash"},
		{"bcrypt cost not a number", "$2y$1a$" + digest53, "malformed bcrypt hash"},
		{"bcrypt cost too low", "$2y$03$" + digest53, "malformed bcrypt hash: cost 3 is below 4"},
		{"bcrypt cost too high", "$2y$31$" + digest53, "bcrypt cost 31 is above the supported maximum of 20"},
		{"bcrypt bad character", "$2y$10$" + digest53[:52] + "!", "malformed bcrypt hash"},
		{"argon2id version 16", argon("v=16", "m=47104,t=1,p=1", salt, key), "unsupported argon2id version"},
		{"argon2id no version", "$argon2id$m=47104,t=1,p=1$" + salt + "$" + key, "malformed argon2id hash"},
		{"argon2id memory 8 GiB", argon("v=19", "m=8388608,t=1,p=1", salt, key),
			"argon2id memory 8388608 KiB is above the supported maximum of 4194304 KiB"},
		{"argon2id memory overflow", argon("v=19", "m=99999999999,t=1,p=1", salt, key), "malformed argon2id hash"},
		{"argon2id memory below lanes", argon("v=19", "m=15,t=1,p=2", salt, key),
			"malformed argon2id hash: memory 15 KiB is below 8 KiB per lane"},
		{"argon2id time 0", argon("v=19", "m=47104,t=0,p=1", salt, key), "malformed argon2id hash: time 0"},
		{"argon2id time 1000", argon("v=19", "m=47104,t=1000,p=1", salt, key),
			"malformed argon2id hash: time 1000"},
		{"argon2id parallelism 0", argon("v=19", "m=47104,t=1,p=0", salt, key),
			"malformed argon2id hash: parallelism 0"},
		{"argon2id parallelism 256", argon("v=19", "m=47104,t=1,p=256", salt, key),
			"malformed argon2id hash: parallelism 256"},
		{"argon2id parameters reordered", argon("v=19", "t=1,m=47104,p=1", salt, key), "malformed argon2id hash"},
		{"argon2id extra parameter", argon("v=19", "m=47104,t=1,p=1,keyid=x", salt, key),
			"malformed argon2id hash"},
		{"argon2id salt not base64", argon("v=19", "m=47104,t=1,p=1", "!!!!!!!!!!!!", key),
			"malformed argon2id hash: salt"},
		{"argon2id salt short", argon("v=19", "m=47104,t=1,p=1", "c2FsdA", key), "malformed argon2id hash: salt"},
		{"argon2id key short", argon("v=19", "m=47104,t=1,p=1", salt, "a2V5a2V5"), "malformed argon2id hash: key"},
		{"argon2id missing key", "$argon2id$v=19$m=47104,t=1,p=1$" + salt, "malformed argon2id hash"},
		{"sha256-crypt short digest", "$5$saltsalt$" + d43[1:], "malformed sha256-crypt hash"},
		{"sha512-crypt long salt", "$6$saltsaltsaltsalts$" + d86, "malformed sha512-crypt hash"},
		{"sha512-crypt rounds too low", "$6$rounds=999$salt$" + d86, "malformed sha512-crypt hash"},
		{"sha512-crypt rounds zero-padded", "$6$rounds=05000$salt$" + d86, "malformed sha512-crypt hash"},
		{"sha512-crypt rounds too high", "$6$rounds=999999999$salt$" + d86,
			"sha512-crypt rounds 999999999 is above the supported maximum"},
		{"sha512-crypt extra field", "$6$salt$" + d86 + "$x", "malformed sha512-crypt hash"},
		{"apr1 no digest", "$apr1$saltsalt", "malformed apr1 hash"},
		{"apr1 long salt", "$apr1$saltsaltX$" + d43[:22], "malformed apr1 hash"},
		{"sha1 not base64", "{SHA}not base64 at all", "malformed sha1 hash"},
		{"sha1 wrong length", "{SHA}c2hvcnQgZGlnZXN0", "malformed sha1 hash"},
		{"ssha without salt", "{SSHA}F/WZ9PxtuIpP2yyadrWdU4eK0og=", "malformed ssha hash"},
		{"md5-crypt", "$1$saltsalt$abcdefghijklmnopqrstuv", "unrecognized hash format"},
		{"argon2i", "$argon2i$v=19$m=4096,t=3,p=1$" + salt + "$" + key, "unrecognized hash format"},
		{"dollar password", "$ecretPassw0rd!", "unrecognized hash format"},
		{"brace password", "{curly}Passw0rd!", "unrecognized hash format"},
		{"base64 of a broken bcrypt",
			base64.StdEncoding.EncodeToString([]byte("$2a$14$tooShortToBeAHash")), "malformed bcrypt hash (base64-encoded)"},
		{"base64 of a broken argon2id",
			base64.StdEncoding.EncodeToString([]byte("$argon2id$v=19$m=1,t=1,p=1$$")), "malformed argon2id hash"},
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range parseErrorCases() {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Parse(tt.encoded)
			if err == nil {
				t.Fatalf("Parse = %s hash, want error %q", h.Format(), tt.wantErr)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tt.wantErr) {
				t.Errorf("error = %q, want prefix %q", msg, tt.wantErr)
			}
			assertNoEcho(t, msg, tt.encoded)
		})
	}
}

// assertNoEcho fails when msg contains input or any 10 bytes of it but
// a number: a cost parameter may be named, nothing else.
func assertNoEcho(t testing.TB, msg, input string) {
	t.Helper()
	const window = 10
	if input != "" && strings.Contains(msg, input) {
		t.Errorf("error %q contains its input", msg)
		return
	}
	for i := 0; i+window <= len(input); i++ {
		part := input[i : i+window]
		if strings.Trim(part, "0123456789") != "" && strings.Contains(msg, part) {
			t.Errorf("error %q contains %q from its input", msg, part)
			return
		}
	}
}

func TestWeakness(t *testing.T) {
	salt := base64.RawStdEncoding.EncodeToString([]byte("0123456789abcdef"))
	key := base64.RawStdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	argon := func(m, t string) string {
		return "$argon2id$v=19$m=" + m + ",t=" + t + ",p=1$" + salt + "$" + key
	}
	const owasp = "argon2id parameters below OWASP minimum"
	tests := []struct {
		name, encoded, want string
	}{
		{"bcrypt cost 5", fixtureHash(t, "default-bcrypt-cost5.htpasswd", "carol"), "bcrypt cost 5 is below 10"},
		{"bcrypt cost 9", "$2a$09$" + strings.Repeat("x", 53), "bcrypt cost 9 is below 10"},
		{"bcrypt cost 10", fixtureHash(t, "bcrypt-cost10.htpasswd", "alice"), ""},
		{"argon2id caddy default", fixtureHash(t, "caddy-argon2id.htpasswd", "mallory"), ""},
		{"argon2id t=1 short of memory", argon("47103", "1"), owasp},
		{"argon2id t=2", argon("19456", "2"), ""},
		{"argon2id t=2 short of memory", argon("19455", "2"), owasp},
		{"argon2id t=3", argon("12288", "3"), ""},
		{"argon2id t=3 short of memory", argon("12287", "3"), owasp},
		{"argon2id t=4", argon("9216", "4"), ""},
		{"argon2id t=4 short of memory", argon("9215", "4"), owasp},
		{"argon2id t=5", argon("7168", "5"), ""},
		{"argon2id t=5 short of memory", argon("7167", "5"), owasp},
		{"argon2id t=10", argon("7168", "10"), ""},
		{"argon2id t=10 short of memory", argon("4096", "10"), owasp},
		{"sha512-crypt", fixtureHash(t, "sha512crypt.htpasswd", "heidi"), ""},
		{"apr1", fixtureHash(t, "apr1.htpasswd", "dave"), "legacy format apr1"},
		{"sha1", fixtureHash(t, "sha1.htpasswd", "erin"), "legacy format sha1"},
		{"ssha", "{SSHA}NXfUlGN9CyIvUHavi05r6eruy/OKEQD+QgeZPA==", "legacy format ssha"},
		{"des-crypt", fixtureHash(t, "crypt.htpasswd", "frank"), "legacy format des-crypt"},
		{"plaintext", "hunter2", "plaintext"},
	}
	for _, tt := range tests {
		h, err := Parse(tt.encoded)
		if err != nil {
			t.Errorf("%s: Parse: %v", tt.name, err)
			continue
		}
		if got := h.Weakness(); got != tt.want {
			t.Errorf("%s: Weakness() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestFormatLegacy(t *testing.T) {
	tests := []struct {
		format Format
		want   bool
	}{
		{Bcrypt, false},
		{Argon2id, false},
		{SHA256Crypt, false},
		{SHA512Crypt, false},
		{APR1, true},
		{SHA1, true},
		{SSHA, true},
		{DESCrypt, true},
		{Plaintext, true},
	}
	for _, tt := range tests {
		if got := tt.format.Legacy(); got != tt.want {
			t.Errorf("%s.Legacy() = %v, want %v", tt.format, got, tt.want)
		}
	}
}
