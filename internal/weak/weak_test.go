package weak

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/frequency"
)

// all is every reason in the order Check reports them.
var all = []string{SameAsUsername, DefaultPair, Common, TooShort, LowScore}

func TestCheckFixtureAccounts(t *testing.T) {
	// The accounts and passwords of the project's htpasswd fixtures.
	tests := []struct {
		username, password string
		want               []string
	}{
		// admin/admin is every kind of weak at once: the username
		// itself, the best-known default pair, rank 715 of zxcvbn's
		// password list, 5 characters, and a score of 0 (zxcvbn finds
		// it as the username, 2 guesses).
		{"admin", "admin", all},
		// Rank 595 of the password list as one word, hence 596
		// guesses and a score of 0 as well.
		{"ivan", "password123", []string{Common, LowScore}},
		// Not a common password, but the username and 4 characters.
		{"judy", "judy", []string{SameAsUsername, TooShort, LowScore}},
		{"frank", "cryptpw", []string{TooShort}},

		{"alice", "correct horse battery", nil},
		{"alice", "correct-horse-battery-staple", nil},
		{"oscar", "caddy-default-14", nil},
		{"bob", "pa:ss:word", nil},
		{"jörg", "pässwörd", nil},
		{"carol", "tr0ub4dor&3", nil},
		{"dave", "apr1-secret", nil},
		{"erin", "sha1-secret", nil},
		{"grace", "sha256-secret", nil},
		{"heidi", "sha512-secret", nil},
		{"mallory", "argon-secret", nil},
		{"peggy", "cost-twelve", nil},
	}
	for _, tt := range tests {
		if got := Check(tt.username, tt.password); !slices.Equal(got, tt.want) {
			t.Errorf("Check(%q, %q) = %q, want %q", tt.username, tt.password, got, tt.want)
		}
	}
}

func TestCheckEachReasonAlone(t *testing.T) {
	tests := []struct {
		name               string
		username, password string
		want               string
	}{
		// zxcvbn knows the username, so a password equal to it scores
		// low unless it is long and its case scrambled.
		{"same as a long username in other case", "qmzvtkwprxhbnjdlgfysqmzvtkwprx",
			"QmZvTkWpRxHbNjDlGfYsQmZvTkWpRx", SameAsUsername},
		{"default pair of an old database", "sys", "change_on_install", DefaultPair},
		{"default pair, username in upper case", "SYS", "change_on_install", DefaultPair},
		// Rank 8609 of the list; the scrambled case lifts its score
		// to 3, but spraying tools try case variants too.
		{"common password in scrambled case", "x", "QaZwSxEdCrFvTgB", Common},
		{"short but random", "x", "Xq7#vL2", TooShort},
		{"short in bytes but not in characters", "x", "äöüäöüä", TooShort},
		{"long repeat", "x", "zzzzzzzzzzzzzzzzzz", LowScore},
		{"keyboard walk", "x", "qwertyasdfgh", LowScore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Check(tt.username, tt.password)
			if want := []string{tt.want}; !slices.Equal(got, want) {
				t.Errorf("Check(%q, %q) = %q, want %q", tt.username, tt.password, got, want)
			}
		})
	}
}

func TestCheckRules(t *testing.T) {
	ranked := frequency.FrequencyLists["passwords"]
	tests := []struct {
		name               string
		username, password string
		want               []string
	}{
		{"username compared without case", "admin", "Admin", []string{SameAsUsername, Common, TooShort, LowScore}},
		{"default username in any case", "Admin", "admin", all},
		{"default password compared exactly", "elastic", "ChangeMe", []string{Common, LowScore}},
		{"common password in upper case", "x", "PASSWORD", []string{Common, LowScore}},
		{"common password in l33t", "x", "p@$$w0rd", []string{Common, LowScore}},
		{"common password reversed", "x", "321drowssap", []string{Common, LowScore}},
		{"last common rank", "x", ranked[commonRank-1], []string{Common, TooShort, LowScore}},
		{"first rank past common", "x", ranked[commonRank], []string{TooShort, LowScore}},
		{"eight characters of two bytes", "x", "pässwörd", nil},
		{"Latin-1 password scored as such", "x", "p\xe4ssw\xf6rd-Kr\xe4henfu\xdf", nil},
		{"Latin-1 password too short", "x", "p\xe4ss", []string{TooShort, LowScore}},
		{"Latin-1 username known to zxcvbn", "j\xf6rg-the-sysadmin", "J\xd6RG-THE-SYSADMIN",
			[]string{SameAsUsername, LowScore}},
		{"empty password", "", "", []string{SameAsUsername, TooShort, LowScore}},
		{"4 KiB strong", "x", strings.Repeat("correct horse battery staple ", 142), nil},
		{"4 KiB repeat", "x", strings.Repeat("a", 4096), []string{LowScore}},
		{"4 KiB strong after a weak prefix", "x", strings.Repeat("a", 100) + randomPassword(3996),
			[]string{LowScore}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Check(tt.username, tt.password)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Check(%q, %q) = %q, want %q", tt.username, tt.password, got, tt.want)
			}
		})
	}
}

func TestScorable(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		want      string
		wantWhole bool
	}{
		{"short ASCII", "secret", "secret", true},
		{"exactly the limit", strings.Repeat("a", 100), strings.Repeat("a", 100), true},
		{"one byte over", strings.Repeat("a", 101), strings.Repeat("a", 100), false},
		{"two-byte characters", strings.Repeat("é", 60), strings.Repeat("é", 50), false},
		{"no three-byte character cut", strings.Repeat("€", 40), strings.Repeat("€", 33), false},
		{"Latin-1 read as such", "p\xe4ss", "päss", true},
		{"long Latin-1", strings.Repeat("\xe9", 120), strings.Repeat("é", 50), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, whole := scorable(tt.in)
			if got != tt.want || whole != tt.wantWhole {
				t.Errorf("scorable(%q) = %q, %v, want %q, %v", tt.in, got, whole, tt.want, tt.wantWhole)
			}
		})
	}
}

func TestDefaultPairsReachable(t *testing.T) {
	if n := len(defaultPairs); n < 30 {
		t.Errorf("got %d default pairs, want at least 30", n)
	}
	for p := range defaultPairs {
		if p.username != strings.ToLower(p.username) {
			t.Errorf("username %q is not lower case, so no login can match it", p.username)
		}
		if got := Check(strings.ToUpper(p.username), p.password); !slices.Contains(got, DefaultPair) {
			t.Errorf("Check(%q, %q) = %q, want it to contain %q", strings.ToUpper(p.username), p.password,
				got, DefaultPair)
		}
	}
}

func TestCheckConcurrent(t *testing.T) {
	// The module checks logins from many requests at once; run with
	// -race to catch shared state in zxcvbn or here.
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for i := range 8 {
		wg.Go(func() {
			user, pass := "ivan", "password123"
			want := []string{Common, LowScore}
			if i%2 == 1 {
				user, pass, want = "judy", "judy", []string{SameAsUsername, TooShort, LowScore}
			}
			for range 20 {
				if got := Check(user, pass); !slices.Equal(got, want) {
					errs <- fmt.Sprintf("Check(%q, %q) = %q, want %q", user, pass, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func FuzzCheck(f *testing.F) {
	f.Add("admin", "admin")
	f.Add("jörg", "pässwörd")
	f.Add("j\xfcrgen", "p\xe4ss\x00\xff")
	f.Add("x", "aabaabaabaab1991-12-25qwerty!|7$")
	f.Add("x", strings.Repeat("€1", 60))
	f.Fuzz(func(t *testing.T, username, password string) {
		got := Check(username, password)
		if got != nil && len(got) == 0 {
			t.Fatalf("Check(%q, %q) = empty non-nil slice, want nil", username, password)
		}
		// Reasons come once each, in the order of all.
		i := 0
		for _, r := range got {
			for i < len(all) && all[i] != r {
				i++
			}
			if i == len(all) {
				t.Fatalf("Check(%q, %q) = %q, out of order or unknown", username, password, got)
			}
			i++
		}
		if want := strings.EqualFold(username, password); slices.Contains(got, SameAsUsername) != want {
			t.Errorf("Check(%q, %q) = %q, want %s: %v", username, password, got, SameAsUsername, want)
		}
		if want := utf8.RuneCountInString(password) < 8; slices.Contains(got, TooShort) != want {
			t.Errorf("Check(%q, %q) = %q, want %s: %v", username, password, got, TooShort, want)
		}
	})
}

// randomPassword returns n printable ASCII characters from a fixed
// seed, so that benchmarks and tests see the same input every run.
func randomPassword(n int) string {
	rng := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('!' + rng.IntN('~'-'!'+1))
	}
	return string(b)
}

func BenchmarkCheck(b *testing.B) {
	benchmarks := []struct {
		name, username, password string
	}{
		{"strong passphrase", "alice", "correct horse battery"},
		{"common", "ivan", "password123"},
		{"random 16", "alice", randomPassword(16)},
		{"random 4KiB", "alice", randomPassword(4096)},
		{"repeat 4KiB", "alice", strings.Repeat("a", 4096)},
		{"l33t and digits 4KiB", "alice", strings.Repeat("4@8(3691!|70$5+%2", 241)},
		{"dates 4KiB", "alice", strings.Repeat("19911225", 512)},
		{"Latin-1 4KiB", "alice", strings.Repeat("\xe4\xf6\xfc\xdf", 1024)},
	}
	Check("warm", "up the list of common passwords")
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Check(bm.username, bm.password)
			}
		})
	}
}
