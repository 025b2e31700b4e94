// Package verification remembers successful password verifications so
// that a logged-in user does not pay for a hash computation on every
// request, and runs identical concurrent verifications once.
package verification

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"hash"
	"sync"
	"time"
)

// Key identifies one submitted username and password. It is an HMAC under
// a per-process random key, so the cache never holds anything from which
// a password could be recovered, even in a memory dump.
type Key [sha256.Size]byte

// Keyer derives cache keys from credentials.
type Keyer struct {
	pool sync.Pool
}

// NewKeyer returns a Keyer with a fresh random key.
func NewKeyer() *Keyer {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		panic("reading random key: " + err.Error())
	}
	k := new(Keyer)
	k.pool.New = func() any { return hmac.New(sha256.New, secret) }
	return k
}

// Key returns the key of the credentials. The NUL separator cannot occur
// in a valid username, so no two credential pairs share a key input.
func (k *Keyer) Key(username, password string) Key {
	mac := k.pool.Get().(hash.Hash)
	mac.Reset()
	mac.Write([]byte(username))
	mac.Write([]byte{0})
	mac.Write([]byte(password))

	var key Key
	mac.Sum(key[:0])
	k.pool.Put(mac)
	return key
}

// Cache holds successful verifications, bounded in size and age. Each
// entry remembers the account it verified against (any comparable value,
// typically a pointer to the account's hash), so a changed hash or a
// removed user invalidates the entry without any explicit purge.
type Cache struct {
	ttl  time.Duration
	size int

	mu      sync.RWMutex
	entries map[Key]entry
}

type entry struct {
	account any
	expires int64 // unix nanoseconds
}

// NewCache returns a cache of at most size entries, each kept for ttl.
// A size or ttl of zero or less disables caching.
func NewCache(size int, ttl time.Duration) *Cache {
	return &Cache{ttl: ttl, size: size, entries: make(map[Key]entry)}
}

// Hit reports whether key was verified against account within the TTL.
func (c *Cache) Hit(key Key, account any, now time.Time) bool {
	if c.size <= 0 || c.ttl <= 0 {
		return false
	}
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	return ok && e.account == account && now.UnixNano() < e.expires
}

// Add records a successful verification of key against account.
func (c *Cache) Add(key Key, account any, now time.Time) {
	if c.size <= 0 || c.ttl <= 0 {
		return
	}
	nowNano := now.UnixNano()

	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.size {
		c.makeRoom(nowNano)
	}
	c.entries[key] = entry{account: account, expires: nowNano + int64(c.ttl)}
}

// makeRoom drops expired entries and, if the cache is still full, about a
// tenth of the rest, so that a full cache is not swept on every insert.
// Dropping a live entry only costs its user one more verification.
func (c *Cache) makeRoom(now int64) {
	for k, e := range c.entries {
		if now >= e.expires {
			delete(c.entries, k)
		}
	}
	excess := len(c.entries) - c.size + max(c.size/10, 1)
	for k := range c.entries {
		if excess <= 0 {
			break
		}
		delete(c.entries, k)
		excess--
	}
}

// Len returns the number of entries, expired ones included.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
