package passwords

import (
	"crypto/des"
	"encoding/binary"
	"testing"
)

// TestDESMatchesStandard checks the DES under DES crypt against the
// standard library's, which it equals when the salt swaps nothing.
func TestDESMatchesStandard(t *testing.T) {
	tests := []struct {
		key, block uint64
	}{
		{0x0123456789abcdef, 0},
		{0x133457799bbcdff1, 0x0123456789abcdef},
		{0xfedcba9876543210, 0xffffffffffffffff},
		{0, 0x8000000000000001},
	}
	for _, tt := range tests {
		var key, want [8]byte
		binary.BigEndian.PutUint64(key[:], tt.key)
		c, err := des.NewCipher(key[:])
		if err != nil {
			t.Fatal(err)
		}
		var block [8]byte
		binary.BigEndian.PutUint64(block[:], tt.block)
		c.Encrypt(want[:], block[:])

		subkeys := desSubkeys(tt.key)
		if got := desEncrypt(tt.block, &subkeys, 0); got != binary.BigEndian.Uint64(want[:]) {
			t.Errorf("DES(%016x, %016x) = %016x, want %x", tt.key, tt.block, got, want)
		}
	}
}

func TestDESCryptStopsAtNUL(t *testing.T) {
	h, err := Parse("aaqPiZY5xR5l.") // "test"
	if err != nil {
		t.Fatal(err)
	}
	if !h.Verify([]byte("test\x00ignored")) {
		t.Error(`Verify("test\x00ignored") = false, want true as crypt(3) reads up to the NUL`)
	}
}
