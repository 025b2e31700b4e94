package basicaudit

import (
	"crypto/sha256"
	"fmt"
	"sync"

	"github.com/basicaudit/caddy-basicaudit/internal/weak"
)

// validWeakCredentials checks a weak_credentials value.
func validWeakCredentials(v string) error {
	switch v {
	case "", "warn", "reject", "off":
		return nil
	}
	return fmt.Errorf("weak_credentials: unrecognized value %q (want warn, reject or off)", v)
}

// reasonWeakHash joins the password's reasons when the hash itself is
// weak (a low cost or a legacy format).
const reasonWeakHash = "weak_hash"

// weakReasons judges a password that was just verified for acct.
func weakReasons(acct *account, username, password string) []string {
	reasons := weak.Check(username, password)
	if acct.hash.Weakness() != "" {
		reasons = append(reasons, reasonWeakHash)
	}
	return reasons
}

// weakSeen remembers which user and hash pairs were reported, so that a
// weak credential is reported once per process, across config reloads,
// and again when its hash changes. It holds digests, never a hash.
var weakSeen = struct {
	sync.Mutex
	pairs map[[sha256.Size]byte]struct{}
}{pairs: make(map[[sha256.Size]byte]struct{})}

// firstWeakUse reports whether acct's weak credential is reported now for
// the first time.
func firstWeakUse(acct *account) bool {
	digest := sha256.Sum256([]byte(acct.username + "\x00" + acct.encoded))
	weakSeen.Lock()
	defer weakSeen.Unlock()
	if _, ok := weakSeen.pairs[digest]; ok {
		return false
	}
	weakSeen.pairs[digest] = struct{}{}
	return true
}
