package passwords

import (
	"encoding/base64"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/GehirnInc/crypt"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// cheapHashes returns a hash of every format, each quick to verify, and
// its password.
func cheapHashes(t *testing.T) []struct {
	encoded, password string
} {
	t.Helper()
	bc, err := bcrypt.GenerateFromPassword([]byte("bcrypt-pw"), 4)
	if err != nil {
		t.Fatal(err)
	}
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte("argon-pw"), salt, 1, 64, 1, 32)
	argon := "$argon2id$v=19$m=64,t=1,p=1$" + base64.RawStdEncoding.EncodeToString(salt) +
		"$" + base64.RawStdEncoding.EncodeToString(key)
	return []struct{ encoded, password string }{
		{string(bc), "bcrypt-pw"},
		{argon, "argon-pw"},
		{fixtureHash(t, "sha256crypt.htpasswd", "grace"), "sha256-secret"},
		{fixtureHash(t, "sha512crypt.htpasswd", "heidi"), "sha512-secret"},
		{"$6$rounds=1000$abc$IaOefWRlhi1ozf/DLAKwcxeJhs3H5JeZA6GkyMyeLY54JpW3Ecfye4Y9orbyUId8JyFT3qc5GsGx0THk//psY/", "rounds-pw"},
		{fixtureHash(t, "apr1.htpasswd", "dave"), "apr1-secret"},
		{fixtureHash(t, "sha1.htpasswd", "erin"), "sha1-secret"},
		{"{SSHA}NXfUlGN9CyIvUHavi05r6eruy/OKEQD+QgeZPA==", "ssha-secret"},
		{fixtureHash(t, "crypt.htpasswd", "frank"), "cryptpw"},
		{"hunter2", "hunter2"},
	}
}

func TestDecoyMatchesAndRefuses(t *testing.T) {
	for _, tt := range cheapHashes(t) {
		h, err := Parse(tt.encoded)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.encoded, err)
		}
		d := Decoy(h)
		if d.Format() != h.Format() || d.Params() != h.Params() ||
			d.MaxPassword() != h.MaxPassword() || d.Weakness() != h.Weakness() {
			t.Errorf("Decoy of %s = {%s, %q, %d, %q}, want {%s, %q, %d, %q}", h.Params(),
				d.Format(), d.Params(), d.MaxPassword(), d.Weakness(),
				h.Format(), h.Params(), h.MaxPassword(), h.Weakness())
		}
		if d.Verify([]byte(tt.password)) {
			t.Errorf("Decoy of %s: Verify(the original's password) = true, want false", h.Params())
		}
		if d2 := Decoy(d); d2.Params() != h.Params() {
			t.Errorf("Decoy of a %s decoy: Params() = %q, want %q", h.Params(), d2.Params(), h.Params())
		}
	}
}

// TestDecoyComputes checks that each decoy is a well-formed hash, which
// the underlying library verifies in full instead of rejecting early.
func TestDecoyComputes(t *testing.T) {
	for _, tt := range cheapHashes(t) {
		h, err := Parse(tt.encoded)
		if err != nil {
			t.Fatal(err)
		}
		inner := Decoy(h).(decoyHash).Hash
		switch d := inner.(type) {
		case *bcryptHash:
			if err := bcrypt.CompareHashAndPassword(d.encoded, []byte("x")); !errors.Is(err,
				bcrypt.ErrMismatchedHashAndPassword) {
				t.Errorf("bcrypt decoy: CompareHashAndPassword = %v, want a mismatch", err)
			}
		case *shaCryptHash:
			if _, err := d.crypter.Generate([]byte("x"), []byte(d.setting)); err != nil {
				t.Errorf("%s decoy: Generate: %v", d.Params(), err)
			}
			p, err := Parse(d.encoded)
			if err != nil {
				t.Fatalf("%s decoy does not parse: %v", d.Params(), err)
			}
			if got := p.(*shaCryptHash).setting; got != d.setting {
				t.Errorf("%s decoy: setting %q reads back as %q", d.Params(), d.setting, got)
			}
		case *apr1Hash:
			if err := d.crypter.Verify(d.encoded, []byte("x")); !errors.Is(err, crypt.ErrKeyMismatch) {
				t.Errorf("apr1 decoy: Verify = %v, want a mismatch", err)
			}
		}
	}
}

func TestDecoyCostsTheSame(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("timing-pw"), 7)
	if err != nil {
		t.Fatal(err)
	}
	h, err := Parse(string(hash))
	if err != nil {
		t.Fatal(err)
	}
	timeOf := func(h Hash) time.Duration {
		start := time.Now()
		for range 3 {
			h.Verify([]byte("wrong-pw"))
		}
		return time.Since(start)
	}
	real, decoy := timeOf(h), timeOf(Decoy(h))
	// Generous bounds: this guards against a decoy that skips the work,
	// not against noise.
	if decoy < real/4 {
		t.Errorf("decoy verification took %v, real one %v", decoy, real)
	}
}

func TestDefaultDecoy(t *testing.T) {
	tests := []struct {
		name string
		hash Hash
	}{
		{"DefaultDecoy", DefaultDecoy()},
		{"Decoy(nil)", Decoy(nil)},
		{"Decoy of a foreign Hash", Decoy(foreignHash{})},
	}
	for _, tt := range tests {
		if got, want := tt.hash.Params(), "bcrypt$2a$14"; got != want {
			t.Errorf("%s: Params() = %q, want %q", tt.name, got, want)
		}
		if got := tt.hash.MaxPassword(); got != 72 {
			t.Errorf("%s: MaxPassword() = %d, want 72", tt.name, got)
		}
		inner := tt.hash.(decoyHash).Hash.(*bcryptHash)
		if cost, err := bcrypt.Cost(inner.encoded); err != nil || cost != 14 {
			t.Errorf("%s: bcrypt.Cost = %d, %v, want 14", tt.name, cost, err)
		}
	}
}

type foreignHash struct{ Hash }

func TestDecoysDiffer(t *testing.T) {
	a := DefaultDecoy().(decoyHash).Hash.(*bcryptHash)
	b := DefaultDecoy().(decoyHash).Hash.(*bcryptHash)
	if string(a.encoded) == string(b.encoded) {
		t.Error("two decoys share their salt and digest")
	}
}

func TestVerifyConcurrently(t *testing.T) {
	for _, tt := range cheapHashes(t) {
		h, err := Parse(tt.encoded)
		if err != nil {
			t.Fatal(err)
		}
		d := Decoy(h)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				right := i%2 == 0
				password := tt.password
				if !right {
					password += "?"
				}
				if got := h.Verify([]byte(password)); got != right {
					t.Errorf("%s: concurrent Verify(%q) = %v, want %v", h.Params(), password, got, right)
				}
				if d.Verify([]byte(tt.password)) {
					t.Errorf("%s: concurrent decoy Verify = true", h.Params())
				}
			}()
		}
		wg.Wait()
	}
}
