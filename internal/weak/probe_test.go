package weak

import (
	"fmt"
	"testing"

	"github.com/trustelem/zxcvbn"
)

func TestProbe(t *testing.T) {
	for _, c := range [][2]string{{"admin", "admin"}, {"ivan", "password123"}, {"judy", "judy"}, {"alice", "correct horse battery"}, {"alice", "correct-horse-battery-staple"}, {"oscar", "caddy-default-14"}, {"x", "p@ssw0rd"}, {"x", "drowssap"}, {"x", "PassWord"}, {"x", "monkey"}, {"x", "admin"}, {"x", "iloveyou"}, {"x", "qwertyuiop"}, {"x", "sunshine1"}, {"bob", "pa:ss:word"}, {"x", "tr0ub4dor&3"}, {"x", "changeme"}, {"x", "zxcvbnm1"}, {"x", "Tr0ub4dour&3"}, {"peggy", "cost-twelve"}, {"mallory", "argon-secret"}} {
		r := zxcvbn.PasswordStrength(c[1], []string{c[0]})
		fmt.Printf("%-30q score=%d guesses=%.0f\n", c[1], r.Score, r.Guesses)
		for _, m := range r.Sequence {
			fmt.Printf("    %s i=%d j=%d tok=%q dict=%s rank=%d l33t=%v rev=%v\n", m.Pattern, m.I, m.J, m.Token, m.DictionaryName, m.Rank, m.L33t, m.Reversed)
		}
	}
}
