package passwords

import (
	"crypto/sha256"
	"crypto/subtle"
)

// plaintextHash is a password stored as is. It keeps only a digest of
// it, so that the comparison takes the same time whatever the lengths,
// and so that the password itself does not linger in memory.
type plaintextHash struct {
	digest [sha256.Size]byte
}

func newPlaintext(password string) *plaintextHash {
	return &plaintextHash{digest: sha256.Sum256([]byte(password))}
}

func (h *plaintextHash) Format() Format { return Plaintext }

func (h *plaintextHash) Verify(password []byte) bool {
	digest := sha256.Sum256(password)
	return subtle.ConstantTimeCompare(digest[:], h.digest[:]) == 1
}

func (h *plaintextHash) Params() string { return string(Plaintext) }

func (h *plaintextHash) MaxPassword() int { return 0 }

func (h *plaintextHash) Weakness() string { return string(Plaintext) }

func (h *plaintextHash) decoy() Hash {
	d := new(plaintextHash)
	copy(d.digest[:], randomBytes(sha256.Size))
	return d
}
