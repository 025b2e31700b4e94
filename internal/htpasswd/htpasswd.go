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
	// Room for the longest line and its CRLF, so that a line of exactly
	// MaxLine bytes fits and a longer one does not.
	br := bufio.NewReaderSize(r, MaxLine+2)

	var entries []Entry
	firstLine := make(map[string]int)
	for n := 1; ; n++ {
		raw, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("line %d: longer than %d bytes", n, MaxLine)
		}
		if err != nil && err != io.EOF {
			// What was read of the line may end anywhere: parsing it
			// could take a prefix of a hash for the whole.
			return nil, fmt.Errorf("reading line %d: %v", n, err)
		}

		entry, ok, lineErr := parseLine(n, raw, allowLegacy)
		if lineErr != nil {
			return nil, lineErr
		}
		if ok {
			if first, dup := firstLine[entry.Username]; dup {
				return nil, fmt.Errorf("line %d: user %q is defined more than once (first on line %d)",
					n, entry.Username, first)
			}
			firstLine[entry.Username] = n
			entries = append(entries, entry)
		}
		if err == io.EOF {
			break
		}
	}

	return entries, nil
}

// parseLine reads line n, as read with its line end. It reports false
// for a blank or comment line.
func parseLine(n int, raw []byte, allowLegacy bool) (Entry, bool, error) {
	line := strings.TrimSuffix(strings.TrimSuffix(string(raw), "\n"), "\r")
	if len(line) > MaxLine {
		return Entry{}, false, fmt.Errorf("line %d: longer than %d bytes", n, MaxLine)
	}
	if n == 1 {
		line = strings.TrimPrefix(line, "\uFEFF")
	}
	line = strings.TrimRight(line, " \t\r\v\f")
	if line == "" || line[0] == '#' {
		return Entry{}, false, nil
	}

	username, encoded, ok := strings.Cut(line, ":")
	if !ok {
		return Entry{}, false, fmt.Errorf("line %d: missing colon between username and hash", n)
	}
	if err := ValidateUsername(username); err != nil {
		return Entry{}, false, fmt.Errorf("line %d: %v", n, err)
	}
	if encoded == "" {
		return Entry{}, false, fmt.Errorf("line %d: user %q: password hash is empty", n, username)
	}
	hash, err := passwords.Parse(encoded)
	if err != nil {
		return Entry{}, false, fmt.Errorf("line %d: user %q: %v", n, username, err)
	}
	if format := hash.Format(); format.Legacy() && !allowLegacy {
		return Entry{}, false, fmt.Errorf("line %d: user %q: %v", n, username, passwords.RefusedLegacy(format))
	}

	return Entry{Username: username, Hash: hash, Line: n, Encoded: encoded}, true, nil
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
