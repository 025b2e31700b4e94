package passwords

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"errors"
)

const (
	sha1Prefix  = "{SHA}"
	sshaPrefix  = "{SSHA}"
	sshaMaxSalt = 64
)

// sha1Hash is {SHA}, htpasswd -s: an unsalted SHA-1 digest, and {SSHA},
// the salted variant LDAP servers write: SHA-1 over the password and a
// salt, followed by that salt.
type sha1Hash struct {
	format Format
	digest []byte
	salt   []byte
}

func parseSHA1(encoded string) (Hash, error) {
	raw, err := base64.StdEncoding.DecodeString(encoded[len(sha1Prefix):])
	if err != nil || len(raw) != sha1.Size {
		return nil, errors.New("malformed sha1 hash")
	}
	return &sha1Hash{format: SHA1, digest: raw}, nil
}

func parseSSHA(encoded string) (Hash, error) {
	raw, err := base64.StdEncoding.DecodeString(encoded[len(sshaPrefix):])
	if err != nil || len(raw) <= sha1.Size || len(raw) > sha1.Size+sshaMaxSalt {
		return nil, errors.New("malformed ssha hash")
	}
	return &sha1Hash{format: SSHA, digest: raw[:sha1.Size], salt: raw[sha1.Size:]}, nil
}

func (h *sha1Hash) Format() Format { return h.format }

func (h *sha1Hash) Verify(password []byte) bool {
	d := sha1.New()
	d.Write(password)
	d.Write(h.salt)
	return subtle.ConstantTimeCompare(d.Sum(nil), h.digest) == 1
}

func (h *sha1Hash) Params() string { return string(h.format) }

func (h *sha1Hash) MaxPassword() int { return 0 }

func (h *sha1Hash) Weakness() string { return legacyWeakness(h.format) }

func (h *sha1Hash) decoy() Hash {
	d := &sha1Hash{format: h.format, digest: randomBytes(sha1.Size)}
	if h.salt != nil {
		d.salt = randomBytes(len(h.salt))
	}
	return d
}
