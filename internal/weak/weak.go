// Package weak judges a password that has just been verified at login:
// equal to the username, a well-known default pair, a common password,
// too short, or too easy to guess by zxcvbn's estimate. It sees the
// password only after a successful verification, so a finding names an
// account that works with that password today.
package weak

import (
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
	"github.com/trustelem/zxcvbn/frequency"
)

// The reasons Check reports, as logged in the reasons field of
// authn_weak_credential events.
const (
	// SameAsUsername means the password equals the username, ignoring
	// case.
	SameAsUsername = "same_as_username"
	// DefaultPair means the username and password are a well-known
	// default of a device or a piece of software.
	DefaultPair = "default_pair"
	// Common means the password is among the most common passwords.
	Common = "common_password"
	// TooShort means the password has fewer than 8 characters.
	TooShort = "too_short"
	// LowScore means zxcvbn scores the password below 2.
	LowScore = "low_score"
)

// minLength is the shortest acceptable password, in characters (runes),
// after NIST SP 800-63B's minimum for passwords a user chooses.
const minLength = 8

// minScore is the lowest acceptable zxcvbn score. Scores 0 and 1 mean
// fewer than about a million guesses, which an online attacker throttled
// only by the server's own speed can reach.
const minScore = 2

// commonRank is how far down zxcvbn's list of leaked passwords, which is
// ordered by frequency, a password still counts as common. The list holds
// 30,000 entries; its top 10,000 cover the passwords that credential
// stuffing and spraying tools try first, and below that the entries are
// rare enough that the zxcvbn score is the better judge.
const commonRank = 10000

// maxScoredBytes is how much of a password, in bytes, zxcvbn examines.
// Its matchers look up every substring, once per l33t reading, and
// the cost grows faster than the square of the length: 100 bytes take
// 6 to 12 ms as plain text, 150 ms as random printable characters and
// 300 ms when dense in l33t characters (4@8(3691!|7...), where 400
// random bytes take 20 s and 1 KiB minutes. No one types a longer
// password, and a prefix that long is strong or weak by itself; a weak
// prefix before a strong tail is the price of the bound.
const maxScoredBytes = 100

// Check returns the reasons password is weak for username, in the order
// of the constants above, or nil when it has none. It is safe for
// concurrent use. A typical password costs 0.1 to 0.4 ms, a long random
// one up to 300 ms (see maxScoredBytes), comparable to verifying a
// bcrypt hash, so callers judge a password once per user and hash, not
// on every request. The first call also builds the set of common
// passwords (0.5 ms, 0.4 MB).
func Check(username, password string) []string {
	var reasons []string
	if strings.EqualFold(password, username) {
		reasons = append(reasons, SameAsUsername)
	}
	if isDefaultPair(username, password) {
		reasons = append(reasons, DefaultPair)
	}

	scored, whole := scorable(password)
	var userInputs []string
	if username != "" {
		name, _ := scorable(username)
		userInputs = []string{name}
	}
	result := zxcvbn.PasswordStrength(scored, userInputs)

	if isCommon(password, result, whole) {
		reasons = append(reasons, Common)
	}
	if utf8.RuneCountInString(password) < minLength {
		reasons = append(reasons, TooShort)
	}
	if result.Score < minScore {
		reasons = append(reasons, LowScore)
	}

	return reasons
}

// scorable returns the part of s that zxcvbn examines and whether that
// is all of s. zxcvbn gives up on invalid UTF-8 with a score of 0, which
// would call every password a browser sent in Latin-1 weak, so such a
// string is read as Latin-1 instead (RFC 7617's historical default). The
// result is cut to maxScoredBytes on a character boundary.
func scorable(s string) (string, bool) {
	whole := true
	if !utf8.ValidString(s) {
		if len(s) > maxScoredBytes {
			s, whole = s[:maxScoredBytes], false
		}
		s = latin1(s)
	}
	if len(s) <= maxScoredBytes {
		return s, whole
	}

	end := maxScoredBytes
	for !utf8.RuneStart(s[end]) {
		end--
	}

	return s[:end], false
}

// latin1 returns s with every byte read as the Latin-1 character of the
// same number.
func latin1(s string) string {
	var b strings.Builder
	b.Grow(2 * len(s))
	for i := 0; i < len(s); i++ {
		b.WriteRune(rune(s[i]))
	}
	return b.String()
}

// isCommon reports whether password is common: its lower-case form is
// in the top commonRank of zxcvbn's password list, or zxcvbn explained
// all of it as one entry of that list spelled with l33t substitutions
// or reversed (p@ssw0rd, drowssap). The list is checked directly as well
// because zxcvbn prefers the user-input dictionary, so "admin" for user
// admin shows up there and not as the common password it also is.
func isCommon(password string, result zxcvbn.Result, whole bool) bool {
	list := commonPasswords()
	if len(password) <= list.longest {
		if _, ok := list.words[strings.ToLower(password)]; ok {
			return true
		}
	}

	if !whole || len(result.Sequence) != 1 {
		return false
	}
	m := result.Sequence[0]

	return m.Pattern == "dictionary" && m.DictionaryName == "passwords" &&
		m.Rank <= commonRank
}

// passwordList is the set of common passwords and the length of the
// longest, which spares lower-casing a password that cannot be in it.
type passwordList struct {
	words   map[string]struct{}
	longest int
}

// commonPasswords builds the set once, on first use, so that a server
// without weak-credential checks does not pay for it.
var commonPasswords = sync.OnceValue(func() passwordList {
	ranked := frequency.FrequencyLists["passwords"]
	ranked = ranked[:min(len(ranked), commonRank)]

	list := passwordList{words: make(map[string]struct{}, len(ranked))}
	for _, w := range ranked {
		w = strings.ToLower(w)
		list.words[w] = struct{}{}
		list.longest = max(list.longest, len(w))
	}

	return list
})
