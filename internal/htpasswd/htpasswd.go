// Package htpasswd reads Apache htpasswd files: one "user:hash" account
// per line, with "#" comment lines and blank lines. It tolerates what
// editors add (a UTF-8 byte order mark, CRLF line ends, trailing
// whitespace) and refuses everything else with the line number.
package htpasswd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/basicaudit/caddy-basicaudit/internal/passwords"
)

// MaxLine is the longest line accepted, in bytes. The longest hash a
// file can hold in practice is a few hundred bytes; the bound keeps a
// file without line ends from being read as one line of any size.
const MaxLine = 64 << 10

// Entry is one account of a file.
type Entry struct {
	Username string
	Hash     passwords.Hash
	Line     int    // 1-based line number
	Encoded  string // the hash as written in the file
}

// Parse reads the accounts of an htpasswd file. Legacy hash formats are
// refused unless allowLegacy is set. Errors name the line and, when it
// is known, the user, but never contain a hash: a line that is not a
// hash may be a password.
func Parse(r io.Reader, allowLegacy bool) ([]Entry, error) {
	sc := bufio.NewScanner(r)
	// One byte more than a line may have, plus room for its CR, so that
	// a line of exactly MaxLine bytes fits and a longer one does not.
	sc.Buffer(make([]byte, 0, 4096), MaxLine+2)

	var entries []Entry
	firstLine := make(map[string]int)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		line = strings.TrimRight(line, " \t\r\v\f")
		if len(line) > MaxLine {
			return nil, fmt.Errorf("line %d: longer than %d bytes", n, MaxLine)
		}
		if line == "" || line[0] == '#' {
			continue
		}

		username, encoded, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("line %d: missing colon between username and hash", n)
		}
		if err := ValidateUsername(username); err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		if first, dup := firstLine[username]; dup {
			return nil, fmt.Errorf("line %d: user %q is defined more than once (first on line %d)", n, username, first)
		}
		if encoded == "" {
			return nil, fmt.Errorf("line %d: user %q: password hash is empty", n, username)
		}
		hash, err := passwords.Parse(encoded)
		if err != nil {
			return nil, fmt.Errorf("line %d: user %q: %v", n, username, err)
		}
		if format := hash.Format(); format.Legacy() && !allowLegacy {
			return nil, fmt.Errorf("line %d: user %q: %s hash refused (legacy format; set legacy_hashes allow to accept it)", n, username, format)
		}

		firstLine[username] = n
		entries = append(entries, Entry{Username: username, Hash: hash, Line: n, Encoded: encoded})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d: longer than %d bytes", n+1, MaxLine)
		}
		return nil, fmt.Errorf("reading line %d: %v", n+1, err)
	}

	return entries, nil
}

// ValidateUsername reports why a username cannot be an account's: it is
// empty, holds the colon that ends a username in Basic credentials, or
// holds bytes that would corrupt a log line or a terminal (control
// characters, invalid UTF-8).
func ValidateUsername(username string) error {
	if username == "" {
		return errors.New("username cannot be empty")
	}
	if strings.Contains(username, ":") {
		return fmt.Errorf("user %q: username cannot contain a colon", username)
	}
	if !utf8.ValidString(username) {
		return fmt.Errorf("user %q: username is not valid UTF-8", username)
	}
	if strings.IndexFunc(username, unicode.IsControl) >= 0 {
		return fmt.Errorf("user %q: username cannot contain control characters", username)
	}
	return nil
}
