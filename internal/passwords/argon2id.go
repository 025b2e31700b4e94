package passwords

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Bounds on argon2id parameters. Parsing a hash costs nothing, but each
// verification allocates its memory parameter, so a hash from a hostile
// or mistyped file must not be able to ask for more than a server has.
const (
	argon2MaxMemory  = 4 << 20 // KiB, that is 4 GiB
	argon2MaxTime    = 64
	argon2MaxThreads = 255 // x/crypto takes the degree of parallelism as a byte
	argon2MinSalt    = 8
	argon2MaxSalt    = 64
	argon2MinKey     = 16
	argon2MaxKey     = 128
)

var errMalformedArgon2id = errors.New("malformed argon2id hash")

// argon2owasp is OWASP's minimum memory, in KiB, for each number of
// passes; five passes and more need the last entry's memory.
var argon2owasp = [...]uint32{1: 47104, 2: 19456, 3: 12288, 4: 9216, 5: 7168}

type argon2idHash struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

// parseArgon2id reads the PHC string that Caddy writes:
// $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<key>, salt and key
// in unpadded standard base64.
func parseArgon2id(encoded string) (Hash, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return nil, errMalformedArgon2id
	}
	version, ok := strings.CutPrefix(parts[2], "v=")
	if !ok {
		return nil, errMalformedArgon2id
	}
	if version != strconv.Itoa(argon2.Version) {
		return nil, errors.New("unsupported argon2id version")
	}

	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return nil, errMalformedArgon2id
	}
	var values [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		digits, ok := strings.CutPrefix(params[i], name)
		if !ok {
			return nil, errMalformedArgon2id
		}
		v, err := strconv.ParseUint(digits, 10, 32)
		if err != nil {
			return nil, errMalformedArgon2id
		}
		values[i] = v
	}
	memory, time, threads := values[0], values[1], values[2]
	switch {
	case threads < 1 || threads > argon2MaxThreads:
		return nil, fmt.Errorf("malformed argon2id hash: parallelism %d is outside 1 to %d",
			threads, argon2MaxThreads)
	case time < 1 || time > argon2MaxTime:
		return nil, fmt.Errorf("malformed argon2id hash: time %d is outside 1 to %d",
			time, argon2MaxTime)
	case memory < 8*threads:
		return nil, fmt.Errorf("malformed argon2id hash: memory %d KiB is below 8 KiB per lane",
			memory)
	case memory > argon2MaxMemory:
		return nil, fmt.Errorf("argon2id memory %d KiB is above the supported maximum of %d KiB",
			memory, argon2MaxMemory)
	}

	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < argon2MinSalt || len(salt) > argon2MaxSalt {
		return nil, fmt.Errorf("malformed argon2id hash: salt must be %d to %d bytes of unpadded base64",
			argon2MinSalt, argon2MaxSalt)
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < argon2MinKey || len(key) > argon2MaxKey {
		return nil, fmt.Errorf("malformed argon2id hash: key must be %d to %d bytes of unpadded base64",
			argon2MinKey, argon2MaxKey)
	}

	return &argon2idHash{
		memory:  uint32(memory),
		time:    uint32(time),
		threads: uint8(threads),
		salt:    salt,
		key:     key,
	}, nil
}

func (h *argon2idHash) Format() Format { return Argon2id }

func (h *argon2idHash) Verify(password []byte) bool {
	key := argon2.IDKey(password, h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1
}

func (h *argon2idHash) Params() string {
	return fmt.Sprintf("argon2id m=%d,t=%d,p=%d,len=%d", h.memory, h.time, h.threads, len(h.key))
}

func (h *argon2idHash) MaxPassword() int { return 0 }

func (h *argon2idHash) Weakness() string {
	passes := min(h.time, uint32(len(argon2owasp)-1))
	if h.memory < argon2owasp[passes] {
		return "argon2id parameters below OWASP minimum"
	}
	return ""
}

// decoy returns a hash of the same parameters with a random salt and
// key; the key's length is a parameter of the computation.
func (h *argon2idHash) decoy() Hash {
	d := *h
	d.salt = randomBytes(len(h.salt))
	d.key = randomBytes(len(h.key))
	return &d
}
