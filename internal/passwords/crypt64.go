package passwords

import (
	"crypto/rand"
	"strings"
)

// crypt64 is the alphabet of the Unix crypt family, in the order that
// DES crypt gives its characters as values. bcrypt uses the same
// characters in another order, which only matters when decoding.
const crypt64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// isCrypt64 reports whether s consists of crypt64 characters only.
func isCrypt64(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(crypt64, s[i]) < 0 {
			return false
		}
	}
	return true
}

// randomCrypt64 returns n random crypt64 characters. Every byte value
// maps to exactly four characters' worth of the alphabet, so the result
// is uniform.
func randomCrypt64(n int) string {
	b := randomBytes(n)
	for i := range b {
		b[i] = crypt64[b[i]&63]
	}
	return string(b)
}

// randomBytes returns n bytes from the system's secure random source,
// which does not fail on the platforms Go supports.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
