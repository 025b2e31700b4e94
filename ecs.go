package basicaudit

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Schemas of the audit events.
const (
	schemaCaddy = "caddy"
	schemaECS   = "ecs"
)

func parseSchema(v string) (string, error) {
	switch v {
	case "", schemaCaddy:
		return schemaCaddy, nil
	case schemaECS:
		return schemaECS, nil
	}
	return "", fmt.Errorf("schema: unrecognized value %q (want caddy or ecs)", v)
}

// ecsFields renders fields under Elastic Common Schema names. The events
// are built once, in the caddy schema; this object renames them on the
// way to the encoder, so both schemas carry the same data in the same
// order.
type ecsFields []zap.Field

func (fs ecsFields) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	e := ecsEncoder{ObjectEncoder: enc}
	for _, f := range fs {
		f.AddTo(e)
	}
	return nil
}

// authenticationCategory is the value of event.category.
var authenticationCategory = zapcore.ArrayMarshalerFunc(func(a zapcore.ArrayEncoder) error {
	a.AppendString("authentication")
	return nil
})

// ecsEncoder renames the caddy schema's fields to ECS as they are added.
// Fields that ECS has no name for go under `labels`, as strings, which is
// what ECS asks of custom keyword data.
type ecsEncoder struct {
	zapcore.ObjectEncoder
}

// ecsNames maps the caddy schema's string fields to ECS.
var ecsNames = map[string]string{
	"event":               "event.action",
	"reason":              "event.reason",
	"user_id":             "user.name",
	"attempted_user":      "user.name",
	"attempted_user_hash": "user.hash",
	"client_ip":           "source.ip",
	"remote_ip":           "client.ip",
	"method":              "http.request.method",
	"path":                "url.path",
	"user_agent":          "user_agent.original",
	"request_id":          "http.request.id",
	"time":                "@timestamp",
	"until":               "event.end",
}

func (e ecsEncoder) AddString(key, val string) {
	switch key {
	case "event":
		e.ObjectEncoder.AddString("event.kind", "event")
		_ = e.ObjectEncoder.AddArray("event.category", authenticationCategory)
		e.ObjectEncoder.AddString("event.action", val)
		return
	case "outcome":
		// ECS knows success, failure and unknown; the finer outcome
		// stays in a label.
		outcome := "failure"
		switch val {
		case outcomeSuccess:
			outcome = "success"
		case outcomeChallenge:
			outcome = "unknown"
		}
		e.ObjectEncoder.AddString("event.outcome", outcome)
		e.ObjectEncoder.AddString("labels.outcome", val)
		return
	case "proto":
		e.ObjectEncoder.AddString("http.version", strings.TrimPrefix(val, "HTTP/"))
		return
	case "host":
		// ECS keeps the port apart from the domain.
		host, port, err := net.SplitHostPort(val)
		if err != nil {
			e.ObjectEncoder.AddString("url.domain", val)
			return
		}
		e.ObjectEncoder.AddString("url.domain", host)
		if n, err := strconv.ParseUint(port, 10, 16); err == nil {
			e.ObjectEncoder.AddInt64("url.port", int64(n))
		}
		return
	}
	if name, ok := ecsNames[key]; ok {
		e.ObjectEncoder.AddString(name, val)
		return
	}
	e.ObjectEncoder.AddString("labels."+key, val)
}

func (e ecsEncoder) AddBool(key string, val bool) {
	if key == "tls" {
		e.ObjectEncoder.AddBool("tls.established", val)
		return
	}
	e.ObjectEncoder.AddString("labels."+key, strconv.FormatBool(val))
}

func (e ecsEncoder) AddInt(key string, val int) { e.AddInt64(key, int64(val)) }

func (e ecsEncoder) AddInt64(key string, val int64) {
	switch key {
	case "status":
		e.ObjectEncoder.AddInt64("http.response.status_code", val)
	case "seq":
		e.ObjectEncoder.AddInt64("event.sequence", val)
	default:
		e.ObjectEncoder.AddString("labels."+key, strconv.FormatInt(val, 10))
	}
}

func (e ecsEncoder) AddUint64(key string, val uint64) {
	if val <= 1<<62 {
		e.AddInt64(key, int64(val))
		return
	}
	e.ObjectEncoder.AddString("labels."+key, strconv.FormatUint(val, 10))
}

func (e ecsEncoder) AddFloat64(key string, val float64) {
	switch key {
	case "verify_duration":
		// ECS durations are nanoseconds.
		e.ObjectEncoder.AddInt64("event.duration", int64(val*float64(time.Second)))
	default:
		e.ObjectEncoder.AddString("labels."+key, strconv.FormatFloat(val, 'f', -1, 64))
	}
}

// AddArray joins string arrays (the reasons of a weak credential) into
// one label, since ECS labels are keywords.
func (e ecsEncoder) AddArray(key string, arr zapcore.ArrayMarshaler) error {
	m := zapcore.NewMapObjectEncoder()
	if err := m.AddArray(key, arr); err != nil {
		return err
	}
	items, _ := m.Fields[key].([]any)
	parts := make([]string, 0, len(items))
	for _, it := range items {
		parts = append(parts, fmt.Sprint(it))
	}
	e.ObjectEncoder.AddString("labels."+key, strings.Join(parts, ","))
	return nil
}

// OpenNamespace is not used by the events; it is renamed like the rest.
func (e ecsEncoder) OpenNamespace(key string) { e.ObjectEncoder.OpenNamespace("labels." + key) }

// AddObject inlines an object's fields, so that the per-request event
// (zap.Inline) is renamed field by field.
func (e ecsEncoder) AddObject(key string, obj zapcore.ObjectMarshaler) error {
	return obj.MarshalLogObject(e)
}
