package basicaudit

import (
	"errors"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
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
	}, func() float64 {
		if t := liveTracker.Load(); t != nil {
			return float64(t.Stats(time.Now()).LockedClients)
		}
		return 0
	})
)

// registerMetrics adds the collectors to the registry of the config
// being loaded; several handlers in one config share them.
func registerMetrics(ctx caddy.Context) error {
	registry := ctx.GetMetricsRegistry()
	if registry == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{eventsTotal, verifyDuration, inFlight, locksTotal, detectionsTotal, lockedClients} {
		if err := registry.Register(c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if !errors.As(err, &already) {
				return err
			}
		}
	}
	return nil
}
