package basicaudit

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/basicaudit/caddy-basicaudit/internal/lockout"
)

// The collectors live as long as the process, so that counts survive
// config reloads; each config's registry gets them anew. No label holds a
// username, an address or anything else a client chooses.
var (
	eventsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "audited_basic_auth",
		Name:      "events_total",
		Help:      "Requests decided, by outcome and reason.",
	}, []string{"outcome", "reason"})

	// successesTotal is the hot path's counter, looked up once.
	successesTotal = eventsTotal.WithLabelValues(outcomeSuccess, "")

	verifyDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "caddy",
		Subsystem: "audited_basic_auth",
		Name:      "verify_duration_seconds",
		Help:      "Time spent computing password hashes, per verification.",
		Buckets:   []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2, 5},
	})

	inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "caddy",
		Subsystem: "audited_basic_auth",
		Name:      "verifications_in_flight",
		Help:      "Password hashes being computed now.",
	})

	inFlightPeak     atomic.Int64
	inFlightPeakFunc = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "caddy",
		Subsystem: "audited_basic_auth",
		Name:      "verifications_in_flight_peak",
		Help:      "Most password hashes computed at once by one handler since the process started; at most verify max_concurrent.",
	}, func() float64 { return float64(inFlightPeak.Load()) })

	locksTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "audited_basic_auth",
		Name:      "locks_total",
		Help:      "Locks started, by kind (client or user).",
	}, []string{"kind"})

	detectionsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "audited_basic_auth",
		Name:      "detections_total",
		Help:      "Attack patterns detected, by pattern.",
	}, []string{"pattern"})

	lockedClients = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "caddy",
		Subsystem: "audited_basic_auth",
		Name:      "locked_clients",
		Help:      "Clients locked out now.",
	}, func() float64 { return trackerStat(func(s lockout.Stats) int { return s.LockedClients }) })

	trackedClients = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "caddy",
		Subsystem: "audited_basic_auth",
		Name:      "tracked_clients",
		Help:      "Clients whose recent failures are remembered; at most lockout max_clients.",
	}, func() float64 { return trackerStat(func(s lockout.Stats) int { return s.Clients }) })

	trackerBytes = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "caddy",
		Subsystem: "audited_basic_auth",
		Name:      "tracker_bytes",
		Help:      "Estimated memory held by failure tracking.",
	}, func() float64 { return trackerStat(func(s lockout.Stats) int { return s.Bytes }) })
)

// trackerStat reads one figure of the tracker in use.
func trackerStat(figure func(lockout.Stats) int) float64 {
	if t := liveTracker.Load(); t != nil {
		return float64(figure(t.Stats(time.Now())))
	}
	return 0
}

// registerMetrics adds the collectors to the registry of the config
// being loaded; several handlers in one config share them.
func registerMetrics(ctx caddy.Context) error {
	registry := ctx.GetMetricsRegistry()
	if registry == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{
		eventsTotal, verifyDuration, inFlight, inFlightPeakFunc,
		locksTotal, detectionsTotal, lockedClients, trackedClients, trackerBytes,
	} {
		if err := registry.Register(c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if !errors.As(err, &already) {
				return err
			}
		}
	}
	return nil
}
