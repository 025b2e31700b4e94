package passwords

import (
	"crypto/subtle"
	"fmt"
	"strconv"
	"strings"

	"github.com/GehirnInc/crypt"
	"github.com/GehirnInc/crypt/sha256_crypt"
	"github.com/GehirnInc/crypt/sha512_crypt"
)

const (
	sha256CryptPrefix = "$5$"
	sha512CryptPrefix = "$6$"

	shaCryptDefaultRounds = 5000
	shaCryptMinRounds     = 1000
	shaCryptMaxSalt       = 16

	// shaCryptMaxRounds bounds the work of one verification: the format
	// allows nearly a billion rounds, minutes of CPU per attempt. Common
	// tools stay below a million; ten million take seconds.
	shaCryptMaxRounds = 10_000_000
)

// shaCryptHash is Drepper's SHA-crypt, as htpasswd -2 and -5 and the
// C library's crypt write it.
type shaCryptHash struct {
	format  Format
	rounds  int
	setting string // the encoded hash up to the salt
	encoded string
	crypter crypt.Crypter

	// What a decoy must copy besides the rounds: the salt's length,
	// which the cost depends on, and whether the rounds are spelled
	// out, which the comparison depends on.
	saltLen        int
	explicitRounds bool
}

// parseSHACrypt reads $5$[rounds=N$]salt$digest or its $6$ twin.
func parseSHACrypt(encoded string, format Format) (Hash, error) {
	malformed := fmt.Errorf("malformed %s hash", format)
	prefix, digestLen := shaCryptLayout(format)
	fields := strings.Split(strings.TrimPrefix(encoded, prefix), "$")
	rounds, explicit := shaCryptDefaultRounds, false
	if digits, ok := strings.CutPrefix(fields[0], "rounds="); ok {
		// The C library rewrites rounds it clamps or reformats, so a
		// hash spelling them otherwise could never match: refuse it.
		n, err := strconv.Atoi(digits)
		if err != nil || strconv.Itoa(n) != digits || n < shaCryptMinRounds {
			return nil, malformed
		}
		if n > shaCryptMaxRounds {
			return nil, fmt.Errorf("%s rounds %d is above the supported maximum of %d",
				format, n, shaCryptMaxRounds)
		}
		rounds, explicit = n, true
		fields = fields[1:]
	}
	if len(fields) != 2 {
		return nil, malformed
	}
	salt, digest := fields[0], fields[1]
	if len(salt) > shaCryptMaxSalt || !isCrypt64(salt) ||
		len(digest) != digestLen || !isCrypt64(digest) {
		return nil, malformed
	}

	return newSHACrypt(format, rounds, explicit, salt, digest), nil
}

func newSHACrypt(format Format, rounds int, explicitRounds bool, salt, digest string) *shaCryptHash {
	h := &shaCryptHash{
		format:         format,
		rounds:         rounds,
		saltLen:        len(salt),
		explicitRounds: explicitRounds,
	}
	h.crypter = sha256_crypt.New()
	if format == SHA512Crypt {
		h.crypter = sha512_crypt.New()
	}

	prefix, _ := shaCryptLayout(format)
	var b strings.Builder
	b.WriteString(prefix)
	if explicitRounds {
		b.WriteString("rounds=" + strconv.Itoa(rounds) + "$")
	}
	b.WriteString(salt)
	h.setting = b.String()
	h.encoded = h.setting + "$" + digest
	return h
}

// shaCryptLayout returns the prefix of a format and the length of its
// digest.
func shaCryptLayout(format Format) (prefix string, digestLen int) {
	if format == SHA512Crypt {
		return sha512CryptPrefix, 86
	}
	return sha256CryptPrefix, 43
}

func (h *shaCryptHash) Format() Format { return h.format }

// Verify recomputes the hash from the setting and compares the results.
// The crypter's own Verify cannot be used: given a hash that spells out
// its rounds, it reads the digest as part of the salt, and refuses the
// right password. The crypter keeps no state, so sharing it is safe.
func (h *shaCryptHash) Verify(password []byte) bool {
	computed, err := h.crypter.Generate(password, []byte(h.setting))
	return err == nil && subtle.ConstantTimeCompare([]byte(computed), []byte(h.encoded)) == 1
}

func (h *shaCryptHash) Params() string {
	return fmt.Sprintf("%s rounds=%d", h.format, h.rounds)
}

func (h *shaCryptHash) MaxPassword() int { return 0 }

func (h *shaCryptHash) Weakness() string { return "" }

func (h *shaCryptHash) decoy() Hash {
	_, digestLen := shaCryptLayout(h.format)
	return newSHACrypt(h.format, h.rounds, h.explicitRounds,
		randomCrypt64(h.saltLen), randomCrypt64(digestLen))
}
