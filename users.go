package basicaudit

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/basicaudit/caddy-basicaudit/internal/htpasswd"
	"github.com/basicaudit/caddy-basicaudit/internal/passwords"
)

// usersFilePoll is how often the users file is checked for changes; a
// change is in effect within this interval plus the time to parse it.
const usersFilePoll = 2 * time.Second

// account is one configured user. Accounts are compared by pointer: a
// reload keeps the pointer of an account whose hash did not change, so
// only changed or removed accounts lose their cached verifications.
type account struct {
	username string
	hash     passwords.Hash
	encoded  string // the hash as configured, to tell a change on reload
}

// accountSet is an immutable snapshot of the configured accounts.
type accountSet struct {
	byName map[string]*account

	// decoy is verified instead of a hash when the username is unknown,
	// with the parameters most accounts share, so that an unknown user
	// costs what a known one does.
	decoy passwords.Hash
}

// parseAccount validates a configured username and parses its hash.
// named, when set, is the algorithm the config names; a hash of another
// format contradicts it.
func parseAccount(username, encoded string, named passwords.Format, allowLegacy bool) (passwords.Hash, error) {
	if err := htpasswd.ValidateUsername(username); err != nil {
		return nil, err
	}
	if encoded == "" {
		return nil, fmt.Errorf("user %q: password hash is required", username)
	}
	hash, err := passwords.Parse(encoded)
	if err != nil {
		return nil, fmt.Errorf("user %q: %v", username, err)
	}
	format := hash.Format()
	if format.Legacy() && !allowLegacy {
		return nil, fmt.Errorf("user %q: %v", username, passwords.RefusedLegacy(format))
	}
	if named != "" && format != named {
		return nil, fmt.Errorf("user %q: hash is %s, but the algorithm named is %s", username, format, named)
	}
	return hash, nil
}

// newAccountSet builds a snapshot, reusing the account of prev for every
// username whose hash is unchanged.
func newAccountSet(accounts []*account, prev *accountSet) (*accountSet, error) {
	set := &accountSet{byName: make(map[string]*account, len(accounts))}
	params := make(map[string]int)
	var common passwords.Hash
	for _, acct := range accounts {
		if _, dup := set.byName[acct.username]; dup {
			return nil, fmt.Errorf("user %q is defined more than once", acct.username)
		}
		if prev != nil {
			if old, ok := prev.byName[acct.username]; ok && old.encoded == acct.encoded {
				acct = old
			}
		}
		set.byName[acct.username] = acct

		p := acct.hash.Params()
		params[p]++
		if common == nil || params[p] > params[common.Params()] {
			common = acct.hash
		}
	}
	if common == nil {
		set.decoy = passwords.DefaultDecoy()
	} else {
		set.decoy = passwords.Decoy(common)
	}
	return set, nil
}

// userStore holds the accounts of one handler: those of the config and
// those of the users file, which it watches for changes.
type userStore struct {
	inline      []*account
	path        string
	allowLegacy bool
	quietWeak   bool // weak_credentials off: no warnings about weak hashes
	logger      *zap.Logger

	accounts atomic.Pointer[accountSet]

	// What the users file was when last read, to skip unchanged files
	// and to log a broken file once rather than at every poll.
	stat    os.FileInfo
	digest  [sha256.Size]byte
	lastErr string

	done     chan struct{}
	stopOnce sync.Once
	stopped  sync.WaitGroup
}

func newUserStore(inline []*account, path string, allowLegacy bool, logger *zap.Logger) *userStore {
	return &userStore{
		inline:      inline,
		path:        path,
		allowLegacy: allowLegacy,
		logger:      logger,
		done:        make(chan struct{}),
	}
}

// current returns the accounts in effect.
func (s *userStore) current() *accountSet {
	return s.accounts.Load()
}

// load reads the accounts for the first time; any error is a
// configuration error.
func (s *userStore) load() error {
	if s.path == "" {
		set, err := newAccountSet(s.inline, nil)
		if err != nil {
			return err
		}
		s.accounts.Store(set)
		s.warnWeak(set, nil)
		return nil
	}
	_, err := s.reload()
	return err
}

// reload reads the users file if it changed and swaps in the new
// accounts. It reports whether anything changed; on error the previous
// accounts stay in effect.
func (s *userStore) reload() (bool, error) {
	info, err := os.Stat(s.path)
	if err != nil {
		return false, fmt.Errorf("users file: %v", err)
	}
	if s.stat != nil && os.SameFile(s.stat, info) &&
		info.ModTime().Equal(s.stat.ModTime()) && info.Size() == s.stat.Size() {
		return false, nil
	}
	if info.Size() > maxUsersFile {
		return false, fmt.Errorf("users file %s: larger than %d bytes", s.path, maxUsersFile)
	}

	content, err := os.ReadFile(s.path)
	if err != nil {
		return false, fmt.Errorf("users file: %v", err)
	}
	digest := sha256.Sum256(content)
	if s.stat != nil && digest == s.digest {
		s.stat = info
		return false, nil
	}

	entries, err := htpasswd.Parse(bytes.NewReader(content), s.allowLegacy)
	if err != nil {
		return false, fmt.Errorf("users file %s: %v", s.path, err)
	}
	accounts := make([]*account, 0, len(s.inline)+len(entries))
	accounts = append(accounts, s.inline...)
	for _, e := range entries {
		accounts = append(accounts, &account{username: e.Username, hash: e.Hash, encoded: e.Encoded})
	}
	prev := s.accounts.Load()
	set, err := newAccountSet(accounts, prev)
	if err != nil {
		return false, fmt.Errorf("users file %s: %v", s.path, err)
	}

	s.accounts.Store(set)
	s.warnWeak(set, prev)
	if len(set.byName) == 0 {
		s.logger.Warn("no accounts: the users file holds none and none is "+
			"configured inline; every login fails", zap.String("users_file", s.path))
	}
	s.stat, s.digest = info, digest
	return true, nil
}

// warnWeak logs one warning for each account of set with a weak hash
// that prev did not hold already. The hash itself is never logged.
func (s *userStore) warnWeak(set, prev *accountSet) {
	if s.quietWeak {
		return
	}
	for name, acct := range set.byName {
		if prev != nil && prev.byName[name] == acct {
			continue
		}
		weakness := acct.hash.Weakness()
		if weakness == "" {
			continue
		}
		s.logger.Warn("weak password hash",
			zap.String("user", sanitize(name, maxUsername)),
			zap.String("format", string(acct.hash.Format())),
			zap.String("weakness", weakness),
			zap.String("advice", hashAdvice(acct.hash.Format())))
	}
}

// hashAdvice says how to replace a weak hash.
func hashAdvice(format passwords.Format) string {
	switch format {
	case passwords.Bcrypt:
		return "rehash with a cost of 10 or more: caddy hash-password makes cost 14"
	case passwords.Argon2id:
		return "rehash with OWASP's minimum parameters or more: caddy hash-password --algorithm argon2id"
	}
	return "replace this legacy hash: caddy hash-password, or htpasswd -B -C 12"
}

// maxUsersFile bounds the users file, which is read whole at every change.
const maxUsersFile = 16 << 20

// watch polls the users file until stop is called.
func (s *userStore) watch(interval time.Duration) {
	if s.path == "" {
		return
	}
	runEvery(interval, s.done, &s.stopped, s.poll)
}

// runEvery calls f every interval, in a goroutine that wg tracks, until
// done is closed.
func runEvery(interval time.Duration, done <-chan struct{}, wg *sync.WaitGroup, f func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				f()
			}
		}
	}()
}

// poll reloads the users file and logs what happened: each change once,
// and a broken file once until it changes again.
func (s *userStore) poll() {
	changed, err := s.reload()
	if err != nil {
		if msg := err.Error(); msg != s.lastErr {
			s.lastErr = msg
			s.logger.Error("reloading users file; keeping the previous accounts",
				zap.String("users_file", s.path), zap.Error(err))
		}
		return
	}
	s.lastErr = ""
	if changed {
		s.logger.Info("users file reloaded",
			zap.String("users_file", s.path),
			zap.Int("accounts", len(s.current().byName)))
	}
}

// stop ends the watch and waits for it.
func (s *userStore) stop() {
	s.stopOnce.Do(func() { close(s.done) })
	s.stopped.Wait()
}

// secretKey returns the key for a configured secret, or a random one when
// none is configured.
func secretKey(secret string) ([]byte, error) {
	if secret != "" {
		return []byte(secret), nil
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, errors.New("reading random key")
	}
	return key, nil
}
