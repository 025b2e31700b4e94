package passwords

import (
	"crypto/subtle"
	"strings"
)

// DES crypt is the traditional Unix crypt(3), which htpasswd -d writes:
// two characters of salt, then eleven encoding a DES block. No
// maintained Go library implements it, and crypto/des cannot, because
// the salt changes DES itself: each of its 12 bits swaps two outputs of
// the expansion. So this file holds a small, plain DES.
//
// Its key is the first 8 bytes of the password, 7 bits of each; the
// block of 64 zero bits is encrypted 25 times with it, and the result
// written 6 bits per character.

const (
	desCryptLen     = 13
	desCryptSaltLen = 2
	desCryptMaxKey  = 8
	desCryptRounds  = 25
)

type desCryptHash struct {
	salt   uint32 // 12 bits, first character in the low 6
	digest string // the 11 characters after the salt
}

// isDESCrypt reports whether s has the shape of a DES crypt hash: 13
// characters of the alphabet. The last character encodes the final 4
// bits of the block followed by 2 zero bits, so a string where those
// bits are set cannot be a hash, and is more likely a password.
func isDESCrypt(s string) bool {
	if len(s) != desCryptLen || !isCrypt64(s) {
		return false
	}
	return strings.IndexByte(crypt64, s[desCryptLen-1])&3 == 0
}

func parseDESCrypt(encoded string) (Hash, error) {
	salt := uint32(strings.IndexByte(crypt64, encoded[0])) |
		uint32(strings.IndexByte(crypt64, encoded[1]))<<6
	return &desCryptHash{salt: salt, digest: encoded[desCryptSaltLen:]}, nil
}

func (h *desCryptHash) Format() Format { return DESCrypt }

func (h *desCryptHash) Verify(password []byte) bool {
	digest := desCrypt(password, h.salt)
	return subtle.ConstantTimeCompare(digest[:], []byte(h.digest)) == 1
}

func (h *desCryptHash) Params() string { return string(DESCrypt) }

// MaxPassword is 0 even though only 8 bytes count: htpasswd and the C
// library accept a longer password and ignore the rest, and refusing it
// would lock out users who type their full password.
func (h *desCryptHash) MaxPassword() int { return 0 }

func (h *desCryptHash) Weakness() string { return legacyWeakness(DESCrypt) }

func (h *desCryptHash) decoy() Hash {
	b := randomBytes(2)
	return &desCryptHash{
		salt:   (uint32(b[0]) | uint32(b[1])<<8) & (1<<12 - 1),
		digest: randomCrypt64(desCryptLen - desCryptSaltLen),
	}
}

// desCrypt returns the 11 characters that crypt(3) writes after the salt.
func desCrypt(password []byte, salt uint32) [desCryptLen - desCryptSaltLen]byte {
	// Like the C original, the key ends at a NUL byte and takes 7 bits
	// of each byte, placed above the parity bit DES ignores.
	var key uint64
	for i := 0; i < desCryptMaxKey && i < len(password) && password[i] != 0; i++ {
		key |= uint64(password[i]<<1) << (56 - 8*i)
	}
	subkeys := desSubkeys(key)

	// Salt bit i swaps expansion outputs i and i+24, counted from the
	// most significant of the 48; as a mask on the upper 24 bits, bit i
	// sits at 23-i.
	var swap uint64
	for i := 0; i < 12; i++ {
		if salt>>i&1 != 0 {
			swap |= 1 << (23 - i)
		}
	}

	var block uint64
	for range desCryptRounds {
		block = desEncrypt(block, &subkeys, swap)
	}

	// 64 bits and 2 zero bits, 6 at a time from the most significant.
	var out [desCryptLen - desCryptSaltLen]byte
	for i := range out {
		shift := 58 - 6*i
		var v uint64
		if shift >= 0 {
			v = block >> shift
		} else {
			v = block << -shift
		}
		out[i] = crypt64[v&63]
	}
	return out
}

// desSubkeys derives the 16 round keys, 48 bits each.
func desSubkeys(key uint64) [16]uint64 {
	cd := permute(key, desPC1[:], 64)
	c, d := cd>>28, cd&(1<<28-1)
	var subkeys [16]uint64
	for i, s := range desShifts {
		c = (c<<s | c>>(28-s)) & (1<<28 - 1)
		d = (d<<s | d>>(28-s)) & (1<<28 - 1)
		subkeys[i] = permute(c<<28|d, desPC2[:], 56)
	}
	return subkeys
}

// desEncrypt encrypts one block; swap holds the salt's expansion swaps.
// With swap zero it is the DES of FIPS 46-3.
func desEncrypt(block uint64, subkeys *[16]uint64, swap uint64) uint64 {
	block = permute(block, desIP[:], 64)
	l, r := block>>32, block&(1<<32-1)
	for _, k := range subkeys {
		l, r = r, l^desFeistel(r, k, swap)
	}
	return permute(r<<32|l, desFP[:], 64)
}

// desFeistel is DES's round function of a 32-bit half and a round key.
func desFeistel(r, subkey, swap uint64) uint64 {
	e := permute(r, desE[:], 32)
	t := (e>>24 ^ e) & swap
	e ^= t<<24 | t
	e ^= subkey

	var s uint64
	for i := range desS {
		six := e >> (42 - 6*i) & 63
		row := six>>4&2 | six&1
		col := six >> 1 & 15
		s = s<<4 | uint64(desS[i][row*16+col])
	}
	return permute(s, desP[:], 32)
}

// permute returns the bits of in, a value of width bits, in the order
// table gives: positions count from 1, the most significant bit.
func permute(in uint64, table []uint8, width int) uint64 {
	var out uint64
	for _, pos := range table {
		out = out<<1 | in>>(width-int(pos))&1
	}
	return out
}
