package basicaudit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/basicaudit/caddy-basicaudit/internal/lockout"
)

// LockoutConfig locks out clients that fail too often, so that guessing
// passwords stops costing the server hash computations.
type LockoutConfig struct {
	// Failures of one client within the window that lock it out.
	// Repeats of the identical failed credentials count once; challenges
	// do not count. Default: 20.
	Failures int `json:"failures,omitempty"`

	// The sliding window in which failures are counted. Default: 10m.
	Window caddy.Duration `json:"window,omitempty"`

	// How long a first lock lasts; each further lock of the same client
	// doubles it, up to max_duration. Default: 10m.
	Duration caddy.Duration `json:"duration,omitempty"`

	// The longest lock. Default: 24h.
	MaxDuration caddy.Duration `json:"max_duration,omitempty"`

	// Failures on one username within the window, from any clients, that
	// lock the username for everyone. Off (0) by default, because it lets
	// anyone lock a victim out of their account.
	PerUser int `json:"per_user,omitempty"`

	// Client networks (CIDR, or single addresses) that are never locked
	// out; their failures are still logged and detected. Useful for a
	// monitoring host or an office behind one NAT address.
	TrustedNetworks []string `json:"trusted_networks,omitempty"`

	// How many clients (and as many usernames) are tracked at most; the
	// least recently seen are forgotten first. The state is shared by
	// every handler in the process, and the value of the most recently
	// loaded handler applies. Default: 100000.
	MaxClients int `json:"max_clients,omitempty"`

	// Turns lockout off; failures are still counted for detection and
	// for the `failures` field.
	Off bool `json:"off,omitempty"`
}

// DetectConfig sets when an `authn_login_fail_max` event is raised. Each
// pattern is raised once per key and window; a threshold of -1 turns its
// pattern off.
type DetectConfig struct {
	// Failures of one client within the window. Default: 10.
	BruteForce int `json:"brute_force,omitempty"`

	// Distinct usernames failing from one client within the window.
	// Default: 5.
	Spray int `json:"spray,omitempty"`

	// Distinct clients failing on one username within the window.
	// Default: 10.
	Distributed int `json:"distributed,omitempty"`

	// The window of the three counts. Default: the lockout window.
	Window caddy.Duration `json:"window,omitempty"`
}

// Defaults of the verification limits.
const defaultQueueTimeout = 2 * time.Second

// defence is the process-wide state behind lockout and detection. It is
// kept in a usage pool so that a config reload, which provisions the new
// handlers before cleaning up the old ones, hands it over intact: a lock
// set before a reload holds after it.
type defence struct {
	tracker *lockout.Tracker

	// capacity bounds the hash computations of every handler together,
	// since they share the CPU. A config that sets another bound
	// replaces it; verifications running on the old one finish there.
	capacity atomic.Pointer[capacity]
}

func (*defence) Destruct() error { return nil }

var defences = caddy.NewUsagePool()

// liveTracker is the tracker in use, for the locked_clients gauge.
var liveTracker atomic.Pointer[lockout.Tracker]

const defenceKey = "http.handlers.audited_basic_auth.tracker"

// provisionDefence sets up the lockout policy, the shared tracker and
// the verification limits.
func (a *AuditedBasicAuth) provisionDefence() error {
	p := lockout.DefaultPolicy()
	maxClients := 0
	if lc := a.Lockout; lc != nil {
		if lc.Failures > 0 {
			p.Failures = lc.Failures
		}
		p.Window = durationOr(lc.Window, p.Window)
		p.Duration = durationOr(lc.Duration, p.Duration)
		p.MaxDuration = durationOr(lc.MaxDuration, p.MaxDuration)
		if p.MaxDuration < p.Duration {
			return fmt.Errorf("lockout: max_duration %s is shorter than duration %s",
				p.MaxDuration, p.Duration)
		}
		p.PerUser = lc.PerUser
		for _, s := range lc.TrustedNetworks {
			prefix, err := parseNetwork(s)
			if err != nil {
				return fmt.Errorf("lockout: trusted_networks: %v", err)
			}
			p.Trusted = append(p.Trusted, prefix)
		}
		maxClients = lc.MaxClients
		if lc.Off {
			p.Failures, p.PerUser = 0, 0
		}
	}
	p.DetectWindow = p.Window
	if dc := a.Detect; dc != nil {
		p.BruteForce = threshold(dc.BruteForce, p.BruteForce)
		p.Spray = threshold(dc.Spray, p.Spray)
		p.Distributed = threshold(dc.Distributed, p.Distributed)
		p.DetectWindow = durationOr(dc.Window, p.DetectWindow)
	}
	a.lockPolicy = p

	val, _, err := defences.LoadOrNew(defenceKey, func() (caddy.Destructor, error) {
		return &defence{tracker: lockout.NewTracker(maxClients)}, nil
	})
	if err != nil {
		return err
	}
	a.defence = val.(*defence)
	a.defence.tracker.SetMaxClients(maxClients)
	liveTracker.Store(a.defence.tracker)

	concurrent := runtime.GOMAXPROCS(0)
	a.queueTimeout = defaultQueueTimeout
	if v := a.Verify; v != nil {
		if v.MaxConcurrent > 0 {
			concurrent = v.MaxConcurrent
		}
		a.queueTimeout = durationOr(v.QueueTimeout, a.queueTimeout)
	}
	if c := a.defence.capacity.Load(); c == nil || cap(c.slots) != concurrent {
		a.defence.capacity.Store(newCapacity(concurrent))
	}
	return nil
}

// releaseDefence gives up this handler's use of the shared state.
func (a *AuditedBasicAuth) releaseDefence() {
	if a.defence != nil {
		_, _ = defences.Delete(defenceKey)
		a.defence = nil
	}
}

func durationOr(d caddy.Duration, def time.Duration) time.Duration {
	if d > 0 {
		return time.Duration(d)
	}
	return def
}

// threshold maps a configured detection threshold: 0 keeps the default,
// -1 turns the pattern off.
func threshold(n, def int) int {
	switch {
	case n < 0:
		return 0
	case n == 0:
		return def
	}
	return n
}

// parseNetwork reads a CIDR or a single address.
func parseNetwork(s string) (netip.Prefix, error) {
	if prefix, err := netip.ParsePrefix(s); err == nil {
		return prefix.Masked(), nil
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid network %q", s)
	}
	addr = addr.Unmap()
	return netip.PrefixFrom(addr, addr.BitLen()), nil
}

// clientAddr is Caddy's client IP of the request, with trusted proxies
// honoured, as an address; the socket peer if that is missing.
func clientAddr(r *http.Request) netip.Addr {
	if addr, err := netip.ParseAddr(clientIP(r)); err == nil {
		return addr.Unmap()
	}
	addr, _ := netip.ParseAddr(remoteIP(r))
	return addr.Unmap()
}

var errOverloaded = errors.New("verification capacity exhausted")

// busyClients counts the verifications each client has running or
// queued; it holds only clients with one at least, so its size is bounded
// by the requests in flight.
type busyClients struct {
	mu      sync.Mutex
	clients map[netip.Addr]int
}

// enter records a verification of client and reports whether it is the
// client's only one.
func (b *busyClients) enter(client netip.Addr) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.clients == nil {
		b.clients = make(map[netip.Addr]int)
	}
	b.clients[client]++
	return b.clients[client] == 1
}

func (b *busyClients) leave(client netip.Addr) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.clients[client]--; b.clients[client] <= 0 {
		delete(b.clients, client)
	}
}

// capacity is the bound on hash computations: slots for all, half as
// many suspect slots that a suspect client (one with recent failures, or
// with a verification already running) must also hold, and the clients
// with verifications under way.
type capacity struct {
	slots   chan struct{}
	suspect chan struct{}
	busy    busyClients
}

func newCapacity(n int) *capacity {
	return &capacity{
		slots:   make(chan struct{}, n),
		suspect: make(chan struct{}, max(n/2, 1)),
	}
}

// acquire waits for a verification slot, at most timeout. Each suspect
// slot rests after use as long as it worked, so guessing passwords gets
// at most a quarter of the CPU that verification may use, and never the
// capacity other users need to log in. The returned function gives the
// slots back.
func (c *capacity) acquire(ctx context.Context, suspect bool, timeout time.Duration) (func(), error) {
	var timer *time.Timer
	wait := func(slots chan struct{}) error {
		select {
		case slots <- struct{}{}:
			return nil
		default:
		}
		if timer == nil {
			timer = time.NewTimer(timeout)
		}
		select {
		case slots <- struct{}{}:
			return nil
		case <-timer.C:
		case <-ctx.Done():
		}
		return errOverloaded
	}
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()

	if suspect {
		if err := wait(c.suspect); err != nil {
			return nil, err
		}
	}
	if err := wait(c.slots); err != nil {
		if suspect {
			<-c.suspect
		}
		return nil, err
	}

	inFlight.Inc()
	if n := int64(len(c.slots)); n > inFlightPeak.Load() {
		// A lost race only delays the peak by one verification.
		inFlightPeak.Store(n)
	}
	start := time.Now()
	return func() {
		inFlight.Dec()
		<-c.slots
		if suspect {
			time.AfterFunc(time.Since(start), func() { <-c.suspect })
		}
	}, nil
}

// retryAfter is the value of a Retry-After header for d: whole seconds,
// rounded up, at least 1.
func retryAfter(d time.Duration) string {
	s := int64(math.Ceil(d.Seconds()))
	return strconv.FormatInt(max(s, 1), 10)
}
