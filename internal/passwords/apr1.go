package passwords

import (
	"errors"
	"strings"

	"github.com/GehirnInc/crypt"
	"github.com/GehirnInc/crypt/apr1_crypt"
)

const (
	apr1Prefix    = "$apr1$"
	apr1MaxSalt   = 8
	apr1DigestLen = 22
)

var errMalformedAPR1 = errors.New("malformed apr1 hash")

// apr1Hash is Apache's variant of MD5-crypt, the default of htpasswd.
type apr1Hash struct {
	encoded string
	crypter crypt.Crypter
}

// parseAPR1 reads $apr1$salt$digest.
func parseAPR1(encoded string) (Hash, error) {
	salt, digest, ok := strings.Cut(encoded[len(apr1Prefix):], "$")
	if !ok || salt == "" || len(salt) > apr1MaxSalt || !isCrypt64(salt) ||
		len(digest) != apr1DigestLen || !isCrypt64(digest) {
		return nil, errMalformedAPR1
	}
	return newAPR1(encoded), nil
}

func newAPR1(encoded string) *apr1Hash {
	return &apr1Hash{encoded: encoded, crypter: apr1_crypt.New()}
}

func (h *apr1Hash) Format() Format { return APR1 }

// Verify recomputes the hash with the stored salt; the crypter compares
// the results in constant time and keeps no state.
func (h *apr1Hash) Verify(password []byte) bool {
	return h.crypter.Verify(h.encoded, password) == nil
}

func (h *apr1Hash) Params() string { return string(APR1) }

func (h *apr1Hash) MaxPassword() int { return 0 }

func (h *apr1Hash) Weakness() string { return legacyWeakness(APR1) }

func (h *apr1Hash) decoy() Hash {
	return newAPR1(apr1Prefix + randomCrypt64(apr1MaxSalt) + "$" + randomCrypt64(apr1DigestLen))
}
