package lockout

import (
	"net/netip"
	"time"
)

// Defaults of a Policy, as the Caddyfile documents them.
const (
	DefaultFailures    = 20
	DefaultWindow      = 10 * time.Minute
	DefaultDuration    = 10 * time.Minute
	DefaultMaxDuration = 24 * time.Hour
	DefaultBruteForce  = 10
	DefaultSpray       = 5
	DefaultDistributed = 10
	DefaultMaxClients  = 100000
)

// MaxDistinct is the largest Spray or Distributed threshold the tracker
// counts up to; larger values are treated as MaxDistinct. It bounds the
// memory one client or username can hold, whatever the configuration.
const MaxDistinct = 256

// maxSpan caps every duration of a Policy, so that adding a lock to the
// current time can never overflow.
const maxSpan = 100 * 365 * 24 * time.Hour

// Policy holds the thresholds of one handler. The tracker is shared by
// every handler of the process and outlives config reloads, so it keeps
// no thresholds of its own: each call brings the caller's Policy.
//
// A count of zero (or less) turns its feature off. A duration of zero
// (or less) means its default, because no zero duration makes sense.
type Policy struct {
	// Failures of one client within Window that lock the client. Zero
	// turns lockout off. Default: 20.
	Failures int

	// Window is the sliding window in which failures are counted.
	// Default: 10m.
	Window time.Duration

	// Duration is the length of a client's first lock; each repeat lock
	// doubles it, up to MaxDuration. Default: 10m.
	Duration time.Duration

	// MaxDuration caps a lock's length. A key that stays unlocked for
	// MaxDuration after its last lock ended starts again at Duration.
	// Default: 24h.
	MaxDuration time.Duration

	// PerUser failures on one username within Window, from any clients,
	// lock that username for every client. Zero (the default) turns it
	// off, because it lets anyone lock a victim out of their account.
	PerUser int

	// Trusted networks are never locked, neither as clients nor when
	// they present a locked username. Their failures are still counted
	// and detected.
	Trusted []netip.Prefix

	// BruteForce failures of one client within Window raise a
	// brute_force detection. Default: 10.
	BruteForce int

	// Spray distinct usernames failing from one client within
	// DetectWindow raise a spray detection. Default: 5.
	Spray int

	// Distributed distinct clients failing on one username within
	// DetectWindow raise a distributed detection. Default: 10.
	Distributed int

	// DetectWindow is the window of the spray and distributed counts,
	// and each detection is raised at most once per key and
	// DetectWindow. Default: Window.
	DetectWindow time.Duration
}

// DefaultPolicy returns a Policy with every default filled in.
func DefaultPolicy() Policy {
	return Policy{
		Failures:     DefaultFailures,
		Window:       DefaultWindow,
		Duration:     DefaultDuration,
		MaxDuration:  DefaultMaxDuration,
		BruteForce:   DefaultBruteForce,
		Spray:        DefaultSpray,
		Distributed:  DefaultDistributed,
		DetectWindow: DefaultWindow,
	}
}

// limits is a Policy resolved for one call: defaults applied, values
// clamped, durations in nanoseconds.
type limits struct {
	failures, perUser              int
	bruteForce, spray, distributed int
	window, duration, maxDuration  int64
	detectWindow                   int64
	windowSeconds, detectSeconds   uint32
}

// resolve returns the limits of p; a nil Policy is the default one.
func (p *Policy) resolve() limits {
	if p == nil {
		d := DefaultPolicy()
		p = &d
	}
	l := limits{
		failures:    max(p.Failures, 0),
		perUser:     max(p.PerUser, 0),
		bruteForce:  max(p.BruteForce, 0),
		spray:       min(max(p.Spray, 0), MaxDistinct),
		distributed: min(max(p.Distributed, 0), MaxDistinct),
		window:      span(p.Window, DefaultWindow),
		duration:    span(p.Duration, DefaultDuration),
		maxDuration: span(p.MaxDuration, DefaultMaxDuration),
	}
	l.detectWindow = span(p.DetectWindow, time.Duration(l.window))
	l.maxDuration = max(l.maxDuration, l.duration)
	l.windowSeconds = wholeSeconds(l.window)
	l.detectSeconds = wholeSeconds(l.detectWindow)
	return l
}

// span returns d in nanoseconds, or def when d is not positive.
func span(d, def time.Duration) int64 {
	if d <= 0 {
		d = def
	}
	return int64(min(d, maxSpan))
}

// wholeSeconds rounds ns up to whole seconds, at least one.
func wholeSeconds(ns int64) uint32 {
	return uint32(max((ns+int64(time.Second)-1)/int64(time.Second), 1))
}

// trusts reports whether client lies in one of the trusted networks.
// client is unmapped; a network written as IPv4-mapped IPv6 still
// matches it.
func (p *Policy) trusts(client netip.Addr) bool {
	if p == nil || len(p.Trusted) == 0 {
		return false
	}
	mapped := client
	if client.Is4() {
		mapped = netip.AddrFrom16(client.As16())
	}
	for _, network := range p.Trusted {
		if network.Contains(client) || network.Contains(mapped) {
			return true
		}
	}
	return false
}
