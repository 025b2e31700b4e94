package passwords

import (
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/crypto/bcrypt"
)

const (
	// bcryptMaxPassword is where bcrypt stops reading a password: two
	// passwords sharing their first 72 bytes have the same hash, so a
	// longer one is refused rather than silently cut.
	bcryptMaxPassword = 72

	// bcryptWeakCost is the lowest cost not reported as weak, OWASP's
	// minimum for bcrypt.
	bcryptWeakCost = 10

	// bcryptMaxCost bounds the work one verification may take. Each step
	// doubles it: cost 20 is a minute or two of CPU per attempt, already
	// far past any cost a login could use, and cost 31, which the format
	// allows, is days.
	bcryptMaxCost = 20

	// bcryptLen is the length of every bcrypt hash: "$2a$", two digits
	// of cost, "$", 22 characters of salt and 31 of digest.
	bcryptLen = 60
)

var errMalformedBcrypt = errors.New("malformed bcrypt hash")

type bcryptHash struct {
	encoded []byte
	variant string // "2a", "2b" or "2y", which x/crypto treats alike
	cost    int
}

func parseBcrypt(encoded string) (Hash, error) {
	if len(encoded) != bcryptLen || encoded[0] != '$' || encoded[3] != '$' || encoded[6] != '$' {
		return nil, errMalformedBcrypt
	}
	variant := encoded[1:3]
	switch variant {
	case "2a", "2b", "2y":
	default:
		return nil, errMalformedBcrypt
	}
	digits := encoded[4:6]
	if digits[0] < '0' || digits[0] > '9' || digits[1] < '0' || digits[1] > '9' {
		return nil, errMalformedBcrypt
	}
	cost, _ := strconv.Atoi(digits)
	if cost < bcrypt.MinCost {
		return nil, fmt.Errorf("malformed bcrypt hash: cost %d is below %d", cost, bcrypt.MinCost)
	}
	if cost > bcryptMaxCost {
		return nil, fmt.Errorf("bcrypt cost %d is above the supported maximum of %d", cost, bcryptMaxCost)
	}
	if !isCrypt64(encoded[7:]) {
		return nil, errMalformedBcrypt
	}

	return &bcryptHash{encoded: []byte(encoded), variant: variant, cost: cost}, nil
}

func (h *bcryptHash) Format() Format { return Bcrypt }

func (h *bcryptHash) Verify(password []byte) bool {
	if len(password) > bcryptMaxPassword {
		return false
	}
	return bcrypt.CompareHashAndPassword(h.encoded, password) == nil
}

func (h *bcryptHash) Params() string {
	return fmt.Sprintf("bcrypt$%s$%02d", h.variant, h.cost)
}

func (h *bcryptHash) MaxPassword() int { return bcryptMaxPassword }

func (h *bcryptHash) Weakness() string {
	if h.cost < bcryptWeakCost {
		return fmt.Sprintf("bcrypt cost %d is below %d", h.cost, bcryptWeakCost)
	}
	return ""
}

// decoy returns a hash of the same variant and cost with a random salt
// and digest. x/crypto decodes the salt leniently, so any 22 characters
// of the alphabet make a salt it runs the full computation with.
func (h *bcryptHash) decoy() Hash {
	return newBcryptDecoy(h.variant, h.cost)
}

func newBcryptDecoy(variant string, cost int) *bcryptHash {
	encoded := fmt.Sprintf("$%s$%02d$%s", variant, cost, randomCrypt64(bcryptLen-7))
	return &bcryptHash{encoded: []byte(encoded), variant: variant, cost: cost}
}
