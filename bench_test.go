package basicaudit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/caddyauth"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// benchHandler provisions a handler configured by a, or twoUsers when nil,
// whose logs are encoded as JSON, as Caddy's would be, and thrown away.
func benchHandler(b *testing.B, a *AuditedBasicAuth) *AuditedBasicAuth {
	b.Helper()
	if a == nil {
		a = twoUsers()
	}
	ctx, cancel := caddyContext()
	b.Cleanup(cancel)
	if err := a.Provision(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Cleanup() })
	encoder := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	a.logger = zap.New(zapcore.NewCore(encoder, zapcore.AddSync(io.Discard), zapcore.InfoLevel))
	a.audit = a.logger.Named("audit")
	if a.chain != nil {
		a.chain.audit.Store(a.audit)
	}
	return a
}

// benchRequest prepares a request as Caddy's server does.
func benchRequest(authorization string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://example.test/private", nil)
	r.RemoteAddr = "192.0.2.10:50000"
	r.Header.Set("User-Agent", "bench/1.0")
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	ctx := context.WithValue(r.Context(), caddyhttp.ExtraLogFieldsCtxKey, new(caddyhttp.ExtraLogFields))
	ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{caddyhttp.ClientIPVarKey: "192.0.2.10"})
	r = r.WithContext(ctx)
	caddyhttp.NewTestReplacer(r)
	return r
}

var okNext = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
})

func benchServe(b *testing.B, a *AuditedBasicAuth, authorization string) {
	b.ReportAllocs()
	w := httptest.NewRecorder()
	for b.Loop() {
		_ = a.ServeHTTP(w, benchRequest(authorization), okNext)
	}
}

// BenchmarkSuccessCached is a logged-in user's repeated request: the
// path whose cost matters most.
func BenchmarkSuccessCached(b *testing.B) {
	for _, policy := range []string{"all", "off"} {
		b.Run("log_successes="+policy, func(b *testing.B) {
			a := twoUsers()
			a.LogSuccesses = policy
			a = benchHandler(b, a)
			auth := basic("alice", alicePassword)
			_ = a.ServeHTTP(httptest.NewRecorder(), benchRequest(auth), okNext)
			benchServe(b, a, auth)
		})
	}
}

// BenchmarkSuccessCachedIntegrity is the same with every event sealed
// into an integrity chain.
func BenchmarkSuccessCachedIntegrity(b *testing.B) {
	a := twoUsers()
	a.Integrity = &IntegrityConfig{Key: "bench-integrity-key"}
	a = benchHandler(b, a)
	auth := basic("alice", alicePassword)
	_ = a.ServeHTTP(httptest.NewRecorder(), benchRequest(auth), okNext)
	benchServe(b, a, auth)
}

// BenchmarkRequestSetup is the cost of benchRequest alone, to subtract
// from the others.
func BenchmarkRequestSetup(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		benchRequest(basic("alice", alicePassword))
	}
}

// BenchmarkChallenge is a request without credentials.
func BenchmarkChallenge(b *testing.B) {
	benchServe(b, benchHandler(b, nil), "")
}

// BenchmarkFailureMalformed is a refused request that costs no hash.
func BenchmarkFailureMalformed(b *testing.B) {
	a := benchHandler(b, nil)
	a.lockPolicy.Failures = 0 // measure the refusal, not the lock
	benchServe(b, a, "Basic !!!")
}

// BenchmarkFailureWrongPassword is a wrong password for a bcrypt account
// (minimum cost, so that the handler's own cost shows).
func BenchmarkFailureWrongPassword(b *testing.B) {
	a := benchHandler(b, nil)
	a.lockPolicy.Failures = 0
	benchServe(b, a, basic("alice", "wrong"))
}

// BenchmarkBasicAuthCached is Caddy's own basic_auth on the same request
// and account, with its hash cache on as the Caddyfile sets it: the
// baseline of BenchmarkSuccessCached.
func BenchmarkBasicAuthCached(b *testing.B) {
	raw, _ := json.Marshal(map[string]any{
		"hash": map[string]any{"algorithm": "bcrypt"},
		"accounts": []map[string]string{{"username": "alice",
			"password": base64.StdEncoding.EncodeToString([]byte(aliceHash))}},
		"hash_cache": map[string]any{},
	})
	h := &caddyauth.Authentication{ProvidersRaw: caddy.ModuleMap{"http_basic": raw}}
	ctx, cancel := caddyContext()
	b.Cleanup(cancel)
	if err := h.Provision(ctx); err != nil {
		b.Fatal(err)
	}
	auth := basic("alice", alicePassword)
	w := httptest.NewRecorder()
	if err := h.ServeHTTP(w, benchRequest(auth), okNext); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = h.ServeHTTP(w, benchRequest(auth), okNext)
	}
}
