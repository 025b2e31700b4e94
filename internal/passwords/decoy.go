package passwords

// decoyer is implemented by every Hash of this package: it returns a
// hash of the same format and parameters with random salt and digest,
// made without computing anything.
type decoyer interface {
	decoy() Hash
}

// decoyHash verifies like the hash it wraps, at the same cost, and then
// refuses whatever the result. The random digest already makes a match
// unthinkable; refusing anyway makes it impossible.
type decoyHash struct {
	Hash
}

func (d decoyHash) Verify(password []byte) bool {
	d.Hash.Verify(password)
	return false
}

func (d decoyHash) decoy() Hash {
	return d.Hash.(decoyer).decoy()
}

// Decoy returns a hash with the format and parameters of like that no
// password verifies, and whose Verify costs what like's does. Verifying
// an unknown user's password against it takes as long as a known user's,
// so the time of a refusal does not tell which usernames exist. Making
// it is instant: only its salt and digest are random. A Hash from
// outside this package gets DefaultDecoy.
func Decoy(like Hash) Hash {
	d, ok := like.(decoyer)
	if !ok {
		return DefaultDecoy()
	}
	return decoyHash{d.decoy()}
}

// DefaultDecoy returns a decoy with the parameters that caddy
// hash-password uses by default, bcrypt at cost 14, for when there is no
// account to take them from.
func DefaultDecoy() Hash {
	return decoyHash{newBcryptDecoy("2a", 14)}
}
