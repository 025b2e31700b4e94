package integrity

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// TestVerifyZapOutput seals events and writes them with zap's own JSON
// encoder, as Caddy does, with caller and stack trace on: the package
// must agree with the real encoder, not only with the test's imitation.
func TestVerifyZapOutput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg := zap.NewProductionEncoderConfig()
	core := zapcore.NewCore(zapcore.NewJSONEncoder(cfg), zapcore.AddSync(f), zapcore.DebugLevel)
	logger := zap.New(core, zap.AddCaller(), zap.AddStacktrace(zapcore.WarnLevel)).
		Named("http.handlers.audited_basic_auth").Named("audit")

	chain, err := NewChain(testKey)
	if err != nil {
		t.Fatal(err)
	}
	events := [][]kv{
		{{"event", EventChainStart}, {FieldPrevChain, "0123456789abcdef"}, {FieldPrevSeq, uint64(7)},
			{FieldPrevMAC, "00"}},
		{{"event", "authn_login_fail"}, {"attempted_user", "bad\xff\xfeutf8 \x00\x1b[31m \"q\" \\"},
			{"status", 401},
			{"verify_duration", 0.96525323}, {"tiny", 1e-7}, {"ratio", float32(0.1)}, {"big", uint64(1) << 53},
			{"neg", -12}, {"tls", false}, {"nan", math.NaN()}, {"inf", math.Inf(-1)}},
		{{"event", EventCheckpoint}},
		{{"event.action", "authn_login_success"}, {"event.category", []string{"authentication", "é"}},
			{"empty", []string{}}},
		{{"event", "authn_login_fail"}, {"status", 401}, {"time", "2026-12-04T15:49:34.436123456Z"}},
	}
	for _, ev := range events {
		m := make(map[string]any)
		var fields []zap.Field
		for _, f := range ev {
			m[f.k] = f.v
			fields = append(fields, zap.Any(f.k, f.v))
		}
		seq, mac := chain.Seal("authentication failed", "warn", m)
		fields = append(fields, zap.Uint64("seq", seq), zap.String("chain", chain.ID()), zap.String("mac", mac))
		logger.Warn("authentication failed", fields...)
		if m["event"] == EventCheckpoint {
			chain.Evolve()
		}
	}
	logger.Sync()

	r, err := Verify(testKey, []string{path}, chain.Head().MAC)
	if err != nil {
		t.Fatal(err)
	}
	if c := r.Chains[0]; c.Problem != nil || c.Verified != uint64(len(events)) {
		data, _ := os.ReadFile(path)
		t.Errorf("zap's output: problem %+v, verified %d, want none and %d\n%s", c.Problem, c.Verified,
			len(events), data)
	}
}
