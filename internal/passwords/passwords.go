// Package passwords reads the password hash formats that Caddy's
// basic_auth and Apache's htpasswd write, and verifies passwords against
// them. Parsing never computes a hash, so a configuration loads at once
// whatever its cost parameters; only Verify pays for the algorithm.
package passwords

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Format names a password hash format.
type Format string

// The formats Parse recognizes.
const (
	Bcrypt      Format = "bcrypt"
	Argon2id    Format = "argon2id"
	SHA256Crypt Format = "sha256-crypt"
	SHA512Crypt Format = "sha512-crypt"
	APR1        Format = "apr1"
	SHA1        Format = "sha1" // {SHA}
	SSHA        Format = "ssha" // {SSHA}
	DESCrypt    Format = "des-crypt"
	Plaintext   Format = "plaintext"
)

// Legacy reports whether the format is too cheap to compute, or too
// limited, to protect a password whose hash leaks: such hashes are
// accepted only when the configuration says so.
func (f Format) Legacy() bool {
	switch f {
	case APR1, SHA1, SSHA, DESCrypt, Plaintext:
		return true
	}
	return false
}

// RefusedLegacy is the error for a hash of a legacy format that the
// configuration does not accept; it says how to accept it.
func RefusedLegacy(f Format) error {
	return fmt.Errorf("%s hash refused (legacy format; set legacy_hashes allow to accept it)", f)
}

// Hash is a parsed password hash. Implementations are immutable, so a
// Hash is safe for concurrent use, and compare digests in constant time.
type Hash interface {
	// Format is the format the hash was written in.
	Format() Format

	// Verify reports whether password matches the hash.
	Verify(password []byte) bool

	// Params identifies the algorithm and its cost parameters, so that
	// hashes of equal cost share a value.
	Params() string

	// MaxPassword is the longest password, in bytes, that the format
	// tells apart from its prefixes, or 0 when there is no limit. Verify
	// refuses a longer password without hashing it.
	MaxPassword() int

	// Weakness is a short lower-case reason why the hash is weak, or ""
	// when it is not.
	Weakness() string
}

// errUnrecognized deliberately says nothing of the input: a string that
// is not a hash may well be a password typed in the wrong place.
var errUnrecognized = errors.New("unrecognized hash format")

// Parse detects the format of an encoded hash and parses it without
// computing anything. A string in no hash format is a plaintext password,
// unless it starts with "$" or "{", the marks of a hash format, in which
// case it is an error. Errors never contain the input.
func Parse(encoded string) (Hash, error) {
	if encoded == "" {
		return nil, errors.New("password hash is empty")
	}
	switch {
	case strings.HasPrefix(encoded, "$2"):
		return parseBcrypt(encoded)
	case strings.HasPrefix(encoded, "$argon2id$"):
		return parseArgon2id(encoded)
	case strings.HasPrefix(encoded, sha256CryptPrefix):
		return parseSHACrypt(encoded, SHA256Crypt)
	case strings.HasPrefix(encoded, sha512CryptPrefix):
		return parseSHACrypt(encoded, SHA512Crypt)
	case strings.HasPrefix(encoded, apr1Prefix):
		return parseAPR1(encoded)
	case strings.HasPrefix(encoded, sha1Prefix):
		return parseSHA1(encoded)
	case strings.HasPrefix(encoded, sshaPrefix):
		return parseSSHA(encoded)
	case strings.HasPrefix(encoded, "$"), strings.HasPrefix(encoded, "{"):
		return nil, errUnrecognized
	case isDESCrypt(encoded):
		return parseDESCrypt(encoded)
	}
	if h, ok, err := parseWrapped(encoded); ok {
		return h, err
	}
	return newPlaintext(encoded), nil
}

// parseWrapped reads the base64-encoded bcrypt and argon2id hashes that
// Caddy's basic_auth has always accepted, a relic of its JSON config
// holding hashes as bytes. It reports false when encoded is not one.
func parseWrapped(encoded string) (Hash, bool, error) {
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, false, nil
	}
	inner := string(raw)
	switch {
	case strings.HasPrefix(inner, "$2"):
		h, err := parseBcrypt(inner)
		return h, true, wrappedError(err)
	case strings.HasPrefix(inner, "$argon2id$"):
		h, err := parseArgon2id(inner)
		return h, true, wrappedError(err)
	}
	return nil, false, nil
}

func wrappedError(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w (base64-encoded)", err)
}

// Detect names the format of an encoded hash for reports, or returns ""
// when Parse would refuse it.
func Detect(encoded string) Format {
	h, err := Parse(encoded)
	if err != nil {
		return ""
	}
	return h.Format()
}

// legacyWeakness is the Weakness of every legacy format but plaintext.
func legacyWeakness(f Format) string {
	return "legacy format " + string(f)
}
