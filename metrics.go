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
	eventsTotal = counterVec("events_total",
		"Requests decided, by outcome and reason.", "outcome", "reason")

	// successesTotal is the hot path's counter, looked up once.
	successesTotal = eventsTotal.WithLabelValues(outcomeSuccess, "")

	verifyDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "caddy",
		Subsystem: "audited_basic_auth",
		Name:      "verify_duration_seconds",
		Help:      "Time spent computing password hashes, per verification.",
		Buckets:   []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2, 5},
	})

	inFlight = prometheus.NewGauge(prometheus.GaugeOpts(opts("verifications_in_flight",
		"Password hashes being computed now.")))

	inFlightPeak     atomic.Int64
	inFlightPeakFunc = gaugeFunc("verifications_in_flight_peak",
		"Most password hashes computed at once since the process started; "+
			"at most verify max_concurrent.",
		func() float64 { return float64(inFlightPeak.Load()) })

	locksTotal = counterVec("locks_total",
		"Locks started, by kind (client or user).", "kind")

	detectionsTotal = counterVec("detections_total",
		"Attack patterns detected, by pattern.", "pattern")

	lockedClients = gaugeFunc("locked_clients", "Clients locked out now.",
		trackerStat(func(s lockout.Stats) int { return s.LockedClients }))

	trackedClients = gaugeFunc("tracked_clients",
		"Clients whose recent failures are remembered; at most lockout max_clients.",
		trackerStat(func(s lockout.Stats) int { return s.Clients }))

	trackerBytes = gaugeFunc("tracker_bytes", "Estimated memory held by failure tracking.",
		trackerStat(func(s lockout.Stats) int { return s.Bytes }))
)

func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts(opts(name, help)), labels)
}

func gaugeFunc(name, help string, value func() float64) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts(opts(name, help)), value)
}

// opts names a metric of this module.
func opts(name, help string) prometheus.Opts {
	return prometheus.Opts{Namespace: "caddy", Subsystem: "audited_basic_auth", Name: name, Help: help}
}

// trackerStat returns a reader of one figure of the tracker in use.
func trackerStat(figure func(lockout.Stats) int) func() float64 {
	return func() float64 {
		if t := liveTracker.Load(); t != nil {
			return float64(figure(t.Stats(time.Now())))
		}
		return 0
	}
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
