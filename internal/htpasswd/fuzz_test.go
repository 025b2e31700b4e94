package htpasswd

import (
	"bytes"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"alice:" + aliceHash + "\n",
		"\uFEFF# comment\r\n\r\nalice:" + aliceHash + " \r\ndave:" + daveHash + "\r\n",
		"alice:" + aliceHash + "\nalice:" + graceHash + "\n",
		"bob\n",
		":x\n",
		"al\x00ice:pw\n",
		"erin:" + erinHash,
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, content []byte, allowLegacy bool) {
		entries, err := Parse(bytes.NewReader(content), allowLegacy)
		if err != nil {
			return
		}
		seen := make(map[string]bool)
		last := 0
		for _, e := range entries {
			if e.Line <= last {
				t.Errorf("entry %q on line %d follows line %d", e.Username, e.Line, last)
			}
			last = e.Line
			if seen[e.Username] {
				t.Errorf("user %q returned twice", e.Username)
			}
			seen[e.Username] = true
			if err := ValidateUsername(e.Username); err != nil {
				t.Errorf("returned an invalid username: %v", err)
			}
			if e.Hash.Format().Legacy() && !allowLegacy {
				t.Errorf("user %q: returned a %s hash with legacy refused", e.Username, e.Hash.Format())
			}
		}
	})
}
