package basicaudit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"
	"unicode/utf8"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/basicaudit/caddy-basicaudit/internal/lockout"
)

// Outcomes of a request, as logged in `outcome` and `{http.auth.outcome}`.
const (
	outcomeSuccess   = "success"
	outcomeFailure   = "failure"
	outcomeChallenge = "challenge"
	outcomeBlocked   = "blocked"
)

// Reason codes of refusals not named by the credentials parser.
const (
	reasonUnknownUser       = "unknown_user"
	reasonWrongPassword     = "wrong_password"
	reasonPasswordTooLong   = "password_too_long"
	reasonLockedOut         = "locked_out"
	reasonOverloaded        = "overloaded"
	reasonCleartextRejected = "cleartext_rejected"
	reasonWeakCredential    = "weak_credential"
)

// Messages and event names of the per-request audit events. Messages are
// constant so that log tooling can match on them; the data is in fields.
const (
	msgSuccess   = "authentication succeeded"
	msgFailure   = "authentication failed"
	msgChallenge = "credentials requested"
	msgBlocked   = "authentication blocked"

	eventSuccess          = "authn_login_success"
	eventSuccessAfterFail = "authn_login_successafterfail"
	eventFailure          = "authn_login_fail"
	eventChallenge        = "authn_challenge"
	eventBlocked          = "authn_login_blocked"

	msgLock     = "client locked out"
	msgDetected = "attack suspected"
	msgWeak     = "weak credential in use"

	eventLock    = "authn_login_lock"
	eventFailMax = "authn_login_fail_max"
	eventWeak    = "authn_weak_credential"
)

// Limits of client-supplied values in events, in bytes.
const (
	maxUserAgent = 256
	maxUsername  = 128
	maxHost      = 256
	maxRealm     = 256
	maxPath      = 1024
	maxMethod    = 32
	maxProto     = 16
)

// attempt is what one request told the handler and what it decided; an
// audit event is built from it.
type attempt struct {
	request *http.Request
	repl    *caddy.Replacer

	client   netip.Addr
	username string   // as presented; the authenticated user on success
	account  *account // the configured account so named, if any
	status   int

	verified       bool // a hash was computed
	cacheHit       bool
	verifyDuration time.Duration

	failures      int             // recent failures of the client, on refusals
	followUps     lockout.Failure // the locks and detections a failure started
	afterFailures bool            // a success after recent failures of the user

	// shownUser and userHash are the presented username as the
	// unknown_usernames policy allows it to be logged: in clear, as a
	// keyed hash, or neither.
	shown     bool
	shownUser string
	userHash  string
}

// setDecision applies the username policy and publishes the decision in
// placeholders and in the access log.
func (att *attempt) setDecision(outcome, reason string, policy usernamePolicy) {
	refused := outcome != outcomeSuccess
	if refused {
		att.showUser(policy)
	}

	att.repl.Set("http.auth.outcome", outcome)
	att.repl.Set("http.auth.reason", reason)
	if refused && att.shownUser != "" {
		att.repl.Set("http.auth.candidate.id", att.shownUser)
	}

	ctx := att.request.Context()
	extra, ok := ctx.Value(caddyhttp.ExtraLogFieldsCtxKey).(*caddyhttp.ExtraLogFields)
	if !ok {
		return
	}
	extra.Set(zap.String("auth_outcome", outcome))
	if reason != "" {
		extra.Set(zap.String("auth_reason", reason))
	}
	if refused {
		for _, f := range att.userFields() {
			extra.Set(f)
		}
	}
}

// showUser applies the username policy to the presented username, once.
func (att *attempt) showUser(policy usernamePolicy) {
	if att.shown || att.username == "" {
		return
	}
	att.shown = true
	clear, hashed := policy.show(att.username, att.account != nil)
	att.shownUser, att.userHash = sanitize(clear, maxUsername), hashed
}

// logSuccess writes the event of an admitted request.
func (a *AuditedBasicAuth) logSuccess(att *attempt) {
	event := eventSuccess
	if att.afterFailures {
		event = eventSuccessAfterFail
	}
	a.emit(zapcore.InfoLevel, msgSuccess, zap.Inline(&auditEvent{
		attempt: att,
		event:   event,
		outcome: outcomeSuccess,
		realm:   a.loggedRealm,
	}))
}

// logRefusal writes the event of a challenge or a failure.
func (a *AuditedBasicAuth) logRefusal(att *attempt, outcome, reason string) {
	level, msg, event := zapcore.WarnLevel, msgFailure, eventFailure
	switch outcome {
	case outcomeChallenge:
		level, msg, event = zapcore.InfoLevel, msgChallenge, eventChallenge
	case outcomeBlocked:
		msg, event = msgBlocked, eventBlocked
	}

	a.emit(level, msg, zap.Inline(&auditEvent{
		attempt: att,
		event:   event,
		outcome: outcome,
		reason:  reason,
		realm:   a.loggedRealm,
	}))
}

// logLock writes the event of a lock that a failure started.
func (a *AuditedBasicAuth) logLock(att *attempt, l lockout.Lock) {
	fields := []zap.Field{
		zap.String("event", eventLock),
		zap.String("lock", l.Kind),
	}
	if l.Kind == lockout.KindClient {
		fields = append(fields, zap.String("client_ip", l.Client.String()))
	} else {
		fields = append(fields, att.userFields()...)
	}
	fields = append(fields,
		zap.Float64("duration", l.Duration.Seconds()),
		zap.String("until", l.Until.UTC().Format(time.RFC3339)),
		zap.Int("repeat", l.Repeat),
		zap.Int("failures", att.failures),
		zap.String("realm", a.loggedRealm),
	)
	a.emit(zapcore.WarnLevel, msgLock, fields...)
}

// logDetection writes the event of a detection threshold crossed.
func (a *AuditedBasicAuth) logDetection(att *attempt, d lockout.Detection) {
	fields := []zap.Field{
		zap.String("event", eventFailMax),
		zap.String("pattern", d.Pattern),
		zap.Int("count", d.Count),
	}
	if d.Pattern == lockout.PatternDistributed {
		fields = append(fields, att.userFields()...)
	} else {
		fields = append(fields, zap.String("client_ip", d.Client.String()))
	}
	fields = append(fields, zap.String("realm", a.loggedRealm))
	a.emit(zapcore.WarnLevel, msgDetected, fields...)
}

// emit writes one audit event, sealed into the integrity chain when one
// is configured.
func (a *AuditedBasicAuth) emit(level zapcore.Level, msg string, fields ...zap.Field) {
	if a.chain != nil {
		a.chain.write(a.audit, a.schema, level, msg, fields)
		return
	}
	if ce := a.audit.Check(level, msg); ce != nil {
		ce.Write(schemaFields(a.schema, fields)...)
	}
}

// schemaFields renders fields in the schema.
func schemaFields(schema string, fields []zap.Field) []zap.Field {
	if schema == schemaECS {
		return []zap.Field{zap.Inline(ecsFields(fields))}
	}
	return fields
}

// logWeak writes the event of a weak credential in use.
func (a *AuditedBasicAuth) logWeak(att *attempt, acct *account, reasons []string) {
	a.emit(zapcore.WarnLevel, msgWeak,
		zap.String("event", eventWeak),
		zap.String("user_id", sanitize(acct.username, maxUsername)),
		zap.String("format", string(acct.hash.Format())),
		zap.Strings("reasons", reasons),
		zap.String("client_ip", clientIP(att.request)),
		zap.String("realm", a.loggedRealm),
	)
}

// userFields are the fields naming the presented username as the policy
// allows.
func (att *attempt) userFields() []zap.Field {
	var fields []zap.Field
	if att.shownUser != "" {
		fields = append(fields, zap.String("attempted_user", att.shownUser))
	}
	if att.userHash != "" {
		fields = append(fields, zap.String("attempted_user_hash", att.userHash))
	}
	return fields
}

// auditEvent renders an attempt as the fields of one audit event.
type auditEvent struct {
	*attempt
	event   string
	outcome string
	reason  string
	realm   string
}

// MarshalLogObject writes the fields in the order of the SPEC's table, so
// that a line reads from what happened to where it came from.
func (e *auditEvent) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	r := e.request
	enc.AddString("event", e.event)
	enc.AddString("outcome", e.outcome)
	if e.reason != "" {
		enc.AddString("reason", e.reason)
	}

	switch e.outcome {
	case outcomeSuccess:
		enc.AddString("user_id", sanitize(e.username, maxUsername))
	case outcomeFailure, outcomeBlocked:
		if e.shownUser != "" {
			enc.AddString("attempted_user", e.shownUser)
		}
		if e.userHash != "" {
			enc.AddString("attempted_user_hash", e.userHash)
		}
		if e.outcome == outcomeFailure {
			enc.AddBool("user_known", e.account != nil)
		}
		enc.AddInt("failures", e.failures)
	}

	enc.AddString("client_ip", clientIP(r))
	enc.AddString("remote_ip", remoteIP(r))
	enc.AddString("method", sanitize(r.Method, maxMethod))
	enc.AddString("host", sanitize(r.Host, maxHost))
	enc.AddString("path", sanitize(r.URL.Path, maxPath))
	enc.AddString("proto", sanitize(r.Proto, maxProto))
	enc.AddString("user_agent", sanitize(r.UserAgent(), maxUserAgent))
	enc.AddBool("tls", requestTLS(r))
	enc.AddInt("status", e.status)
	requestID, _ := e.repl.GetString("http.request.uuid")
	enc.AddString("request_id", requestID)
	enc.AddString("realm", e.realm)

	if e.outcome == outcomeSuccess || e.outcome == outcomeFailure {
		enc.AddBool("cache_hit", e.cacheHit)
		// Seconds as a float, like Caddy's access log durations, whatever
		// duration format the encoder is configured with.
		enc.AddFloat64("verify_duration", e.verifyDuration.Seconds())
	}
	return nil
}

// clientIP is Caddy's client IP of the request, trusted proxies honoured.
func clientIP(r *http.Request) string {
	ip, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
	return ip
}

// remoteIP is the address of the socket peer, without the port.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// usernamePolicy says how presented usernames are logged.
type usernamePolicy struct {
	mode string // hash, raw or omit
	key  []byte
}

func parseUsernamePolicy(mode string) (usernamePolicy, error) {
	switch mode {
	case "":
		mode = "hash"
	case "hash", "raw", "omit":
	default:
		return usernamePolicy{}, fmt.Errorf(
			"unknown_usernames: unrecognized value %q (want hash, raw or omit)", mode)
	}
	return usernamePolicy{mode: mode}, nil
}

// show returns the username in clear and its keyed hash, each empty where
// the policy withholds it. Configured usernames are shown in clear, since
// they are already known to whoever reads the config.
func (p usernamePolicy) show(username string, known bool) (clear, hashed string) {
	switch {
	case p.mode == "omit":
		return "", ""
	case p.mode == "raw" || known:
		return username, ""
	}
	mac := hmac.New(sha256.New, p.key)
	mac.Write([]byte(username))
	return "", hex.EncodeToString(mac.Sum(nil)[:16])
}

// successPolicy says which successes are logged.
type successPolicy string

func parseSuccessPolicy(v string) (successPolicy, error) {
	switch v {
	case "":
		return "all", nil
	case "all", "verified", "off":
		return successPolicy(v), nil
	}
	return "", fmt.Errorf("log_successes: unrecognized value %q (want all, verified or off)", v)
}

func (p successPolicy) logs(att *attempt) bool {
	switch p {
	case "off":
		return false
	case "verified":
		return att.verified
	}
	return true
}

func parseLegacyPolicy(v string) (allow bool, err error) {
	switch v {
	case "", "deny":
		return false, nil
	case "allow":
		return true, nil
	}
	return false, fmt.Errorf("legacy_hashes: unrecognized value %q (want deny or allow)", v)
}

// sanitize makes a client-supplied value safe to log on one line: control
// characters, DEL, invalid UTF-8 and the invisible characters that can
// reorder or break a line on a terminal (line and paragraph separators,
// bidirectional overrides) are escaped as \xNN per byte, and the result is
// cut at limit bytes with a "…" mark.
func sanitize(s string, limit int) string {
	if plainASCII(s) && len(s) <= limit {
		return s
	}

	const hexDigits = "0123456789abcdef"
	buf := make([]byte, 0, min(len(s), limit)+8)
	cut := 0 // where to cut so that the mark still fits within limit
	for i := 0; i < len(s); {
		if len(buf) <= limit-len(cutMark) {
			cut = len(buf)
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		piece := s[i : i+size]
		if (r == utf8.RuneError && size == 1) || unsafeRune(r) {
			for j := 0; j < len(piece); j++ {
				c := piece[j]
				buf = append(buf, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			}
		} else {
			buf = append(buf, piece...)
		}
		if len(buf) > limit {
			return string(buf[:cut]) + cutMark
		}
		i += size
	}
	return string(buf)
}

// cutMark ends a value cut at its limit.
const cutMark = "…"

func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// unsafeRune reports runes that must not reach a log line as they are.
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // bidi controls
		return true
	case r == 0x200e, r == 0x200f, r == 0x061c: // directional marks
		return true
	}
	return false
}
