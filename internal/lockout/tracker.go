// Package lockout tracks failed logins in memory: it counts failures per
// client and per username in sliding windows, locks clients (and, if
// asked, usernames) that fail too often, and spots the patterns of a
// brute-force, a password spray and a distributed attack.
//
// One Tracker serves every handler of a process and survives config
// reloads; each call brings the thresholds of the handler making it.
// Memory is bounded: at most maxClients clients and as many usernames,
// the least recently seen evicted first. Usernames are kept only as
// keyed 64-bit hashes, so the tracker never holds what users typed.
package lockout

import (
	"hash/maphash"
	"math"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Kinds of a Lock.
const (
	KindClient = "client"
	KindUser   = "user"
)

// Patterns of a Detection.
const (
	PatternBruteForce  = "brute_force"
	PatternSpray       = "spray"
	PatternDistributed = "distributed"
)

// maxCredentials is the number of recent credential fingerprints kept
// per client to recognize a repeat of the same failed credentials.
const maxCredentials = 8

// Tracker holds the failure state of every client and username. It is
// safe for concurrent use. One mutex guards it: each call holds it for
// a few map operations, far less than the hash verification that every
// failure costs, and Check takes no lock at all while nothing is locked.
type Tracker struct {
	epoch time.Time // times are kept as offsets from it
	seed  maphash.Seed

	// lockHorizon is the end of the latest lock ever started, in
	// nanoseconds since epoch: before it Check must look, after it
	// nothing can be locked.
	lockHorizon atomic.Int64

	mu sync.Mutex
	// clients are keyed by the 16-byte form of their address, in which
	// an IPv4 address and its IPv4-mapped IPv6 form are the same.
	clients table[[16]byte, clientState]
	users   table[uint64, userState]
}

// clientState is what a client entry holds besides its record.
type clientState struct {
	credentials stampSet // fingerprints of recently failed credentials
	usernames   stampSet // hashes of usernames recently failing
	bruteAt     uint32   // second+1 brute_force was last raised; 0: never
	sprayAt     uint32   // second+1 spray was last raised; 0: never
}

func (s clientState) bytes() int {
	return s.credentials.bytes() + s.usernames.bytes()
}

// userState is what a username entry holds besides its record.
type userState struct {
	clients       stampSet // hashes of clients recently failing
	distributedAt uint32   // second+1 distributed was last raised; 0: never
}

func (s userState) bytes() int {
	return s.clients.bytes()
}

// Failure is what the tracker made of one failed login.
type Failure struct {
	// Count is the client's failures within the window, this one
	// included.
	Count int

	// Counted is false when the same credentials already failed from
	// this client within the window; such a repeat changes nothing.
	Counted bool

	// Locks are the locks this failure started: the client's, the
	// username's, or both.
	Locks []Lock

	// Detections are the attack patterns this failure revealed.
	Detections []Detection
}

// Lock describes a lock that has just started.
type Lock struct {
	Kind     string     // KindClient or KindUser
	Client   netip.Addr // the locked client, for KindClient
	Username string     // the locked username, for KindUser
	Duration time.Duration
	Until    time.Time
	Repeat   int // rank in the key's current streak of locks, 1 for the first
}

// Detection is an attack pattern whose threshold a failure crossed. Each
// is raised at most once per key and detection window.
type Detection struct {
	Pattern  string     // PatternBruteForce, PatternSpray or PatternDistributed
	Count    int        // failures, usernames or clients counted
	Client   netip.Addr // the client, for brute_force and spray
	Username string     // the username, for distributed
}

// Stats describes the tracker's state.
type Stats struct {
	Clients       int
	Users         int
	LockedClients int
	LockedUsers   int
	Bytes         int // an estimate of the memory held
}

// NewTracker returns a tracker of at most maxClients clients and as many
// usernames; zero or less means DefaultMaxClients.
func NewTracker(maxClients int) *Tracker {
	n := bound(maxClients)
	return &Tracker{
		epoch:   time.Now(),
		seed:    maphash.MakeSeed(),
		clients: newTable[[16]byte, clientState](n),
		users:   newTable[uint64, userState](n),
	}
}

// SetMaxClients changes the bound, as a config reload may, evicting the
// least recently seen entries if the tracker holds more.
func (t *Tracker) SetMaxClients(n int) {
	n = bound(n)
	now := t.elapsed(time.Now())

	t.mu.Lock()
	defer t.mu.Unlock()
	t.clients.resize(n, now)
	t.users.resize(n, now)
}

func bound(n int) int {
	if n <= 0 {
		return DefaultMaxClients
	}
	return n
}

// Check reports whether client is locked out, and for how long still. A
// username locked under PerUser locks out whoever presents it. The
// caller must then refuse the request without verifying anything. Check
// records nothing.
func (t *Tracker) Check(p *Policy, client netip.Addr, username string, now time.Time) (retryAfter time.Duration, locked bool) {
	at := t.elapsed(now)
	if at >= t.lockHorizon.Load() {
		return 0, false
	}
	client = client.Unmap()
	if p.trusts(client) {
		return 0, false
	}
	l := p.resolve()
	perUser := l.perUser > 0 && username != ""
	var user uint64
	if perUser {
		user = maphash.String(t.seed, username)
	}

	var end int64
	t.mu.Lock()
	if c := t.clients.get(client.As16()); c != nil && l.failures > 0 {
		end = c.lockEnd
	}
	if perUser {
		if u := t.users.get(user); u != nil {
			end = max(end, u.lockEnd)
		}
	}
	t.mu.Unlock()

	if end <= at {
		return 0, false
	}
	return time.Duration(end - at), true
}

// attempt is one failed login as the tracker sees it.
type attempt struct {
	limits
	client   netip.Addr // unmapped
	key      [16]byte
	username string
	user     uint64 // keyed hash of username
	now      time.Time
	at       int64  // nanoseconds since epoch
	second   uint32 // whole seconds since epoch
	lockable bool
}

// Failure records a failed login of username from client; credential is
// a keyed fingerprint of the username and password, so that a client
// repeating the same wrong credentials counts once. An empty username
// is counted against the client only.
func (t *Tracker) Failure(p *Policy, client netip.Addr, username string, credential uint64, now time.Time) Failure {
	client = client.Unmap()
	a := attempt{
		limits:   p.resolve(),
		client:   client,
		key:      client.As16(),
		username: username,
		now:      now,
		at:       t.elapsed(now),
		lockable: !p.trusts(client),
	}
	a.second = seconds(a.at)
	if username != "" {
		a.user = maphash.String(t.seed, username)
	}
	fingerprint := uint32(credential) ^ uint32(credential>>32)

	var f Failure
	t.mu.Lock()
	defer t.mu.Unlock()

	c := t.clients.seen(a.key, a.at)
	before := c.val.bytes()
	t.failClient(&f, c, &a, fingerprint)
	t.clients.extra += c.val.bytes() - before
	if !f.Counted || username == "" {
		return f
	}

	u := t.users.seen(a.user, a.at)
	before = u.val.bytes()
	t.failUser(&f, u, &a)
	t.users.extra += u.val.bytes() - before

	return f
}

func (t *Tracker) failClient(f *Failure, c *entry[[16]byte, clientState], a *attempt, fingerprint uint32) {
	if c.settle(a.at) {
		c.val.credentials = c.val.credentials[:0]
	}
	c.failures.advance(a.at, a.window)
	c.val.credentials.prune(a.second, a.windowSeconds)
	if c.val.credentials.has(fingerprint) {
		f.Count = c.failures.sum()
		return
	}
	c.val.credentials.put(fingerprint, a.second, maxCredentials)
	c.failures.add()
	f.Counted = true
	f.Count = c.failures.sum()

	if a.bruteForce > 0 && f.Count >= a.bruteForce && due(&c.val.bruteAt, a) {
		f.Detections = append(f.Detections, Detection{
			Pattern: PatternBruteForce,
			Count:   f.Count,
			Client:  a.client,
		})
	}
	if a.spray > 0 && a.username != "" {
		c.val.usernames.prune(a.second, a.detectSeconds)
		c.val.usernames.put(uint32(a.user), a.second, a.spray)
		n := len(c.val.usernames)
		if n >= a.spray && due(&c.val.sprayAt, a) {
			f.Detections = append(f.Detections, Detection{
				Pattern: PatternSpray,
				Count:   n,
				Client:  a.client,
			})
		}
	}
	if a.lockable && a.failures > 0 && f.Count >= a.failures && !c.locked(a.at) {
		length, repeat := c.lock(&a.limits, a.at)
		t.clients.lockStarted(c)
		t.lockStarted(c.lockEnd)
		f.Locks = append(f.Locks, Lock{
			Kind:     KindClient,
			Client:   a.client,
			Duration: time.Duration(length),
			Until:    a.now.Add(time.Duration(length)),
			Repeat:   repeat,
		})
	}
}

func (t *Tracker) failUser(f *Failure, u *entry[uint64, userState], a *attempt) {
	u.settle(a.at)
	u.failures.advance(a.at, a.window)
	u.failures.add()
	n := u.failures.sum()

	if a.distributed > 0 {
		u.val.clients.prune(a.second, a.detectSeconds)
		u.val.clients.put(t.clientHash(a.key), a.second, a.distributed)
		clients := len(u.val.clients)
		if clients >= a.distributed && due(&u.val.distributedAt, a) {
			f.Detections = append(f.Detections, Detection{
				Pattern:  PatternDistributed,
				Count:    clients,
				Username: a.username,
			})
		}
	}
	if a.perUser > 0 && n >= a.perUser && !u.locked(a.at) {
		length, repeat := u.lock(&a.limits, a.at)
		t.users.lockStarted(u)
		t.lockStarted(u.lockEnd)
		f.Locks = append(f.Locks, Lock{
			Kind:     KindUser,
			Username: a.username,
			Duration: time.Duration(length),
			Until:    a.now.Add(time.Duration(length)),
			Repeat:   repeat,
		})
	}
}

// due reports whether a detection last raised at *raised may be raised
// again, and if so marks it raised now.
func due(raised *uint32, a *attempt) bool {
	now := a.second + 1
	// A mark later than now comes from a concurrent caller's clock.
	if *raised != 0 && (*raised > now || now-*raised < a.detectSeconds) {
		return false
	}
	*raised = now
	return true
}

// lockStarted raises the lock horizon to end; t.mu is held.
func (t *Tracker) lockStarted(end int64) {
	if end > t.lockHorizon.Load() {
		t.lockHorizon.Store(end)
	}
}

// Success records a successful login of username and returns the
// failures of that username, from any client, within the window, so
// that the caller can tell a success after failures. It then clears
// that count, so the next success is an ordinary one; a PerUser lock
// thus needs its failures without a success of that user in between.
// The client's own count and its streak of locks are left alone: a
// success must not buy an attacker a fresh start.
func (t *Tracker) Success(p *Policy, client netip.Addr, username string, now time.Time) (recentUserFailures int) {
	if username == "" {
		return 0
	}
	l := p.resolve()
	at := t.elapsed(now)
	user := maphash.String(t.seed, username)

	t.mu.Lock()
	defer t.mu.Unlock()
	u := t.users.get(user)
	if u == nil {
		return 0
	}
	u.settle(at)
	u.failures.advance(at, l.window)
	n := u.failures.sum()
	u.failures.clear()
	return n
}

// Failures returns the client's failures within the window, for the
// events about a client that is refused before any verification.
func (t *Tracker) Failures(p *Policy, client netip.Addr, now time.Time) int {
	l := p.resolve()
	at := t.elapsed(now)
	key := client.As16()

	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.clients.get(key)
	if c == nil {
		return 0
	}
	if c.settle(at) {
		c.val.credentials = c.val.credentials[:0]
	}
	c.failures.advance(at, l.window)
	return c.failures.sum()
}

// Per-entry memory, for the estimate in Stats: the entry itself and its
// share of the map, whose slots hold a key and a pointer and run about
// two thirds full.
const (
	clientBytes = int(unsafe.Sizeof(entry[[16]byte, clientState]{})) + (16+8+1)*3/2
	userBytes   = int(unsafe.Sizeof(entry[uint64, userState]{})) + (8+8+1)*3/2
)

// Stats returns the tracker's state at now.
func (t *Tracker) Stats(now time.Time) Stats {
	at := t.elapsed(now)

	t.mu.Lock()
	defer t.mu.Unlock()
	s := Stats{
		Clients:       len(t.clients.index),
		Users:         len(t.users.index),
		LockedClients: t.clients.lockedAt(at),
		LockedUsers:   t.users.lockedAt(at),
	}
	s.Bytes = s.Clients*clientBytes + s.Users*userBytes +
		t.clients.extra + t.users.extra
	return s
}

// elapsed returns now as nanoseconds since the tracker's epoch; earlier
// times count as the epoch.
func (t *Tracker) elapsed(now time.Time) int64 {
	return int64(max(now.Sub(t.epoch), 0))
}

// seconds converts nanoseconds since the epoch to whole seconds.
func seconds(ns int64) uint32 {
	return uint32(min(ns/int64(time.Second), math.MaxUint32-1))
}

// clientHash returns a keyed 32-bit hash of a client's address.
func (t *Tracker) clientHash(key [16]byte) uint32 {
	return uint32(maphash.Bytes(t.seed, key[:]))
}
