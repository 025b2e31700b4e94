// Package basicaudit provides a Caddy HTTP handler that does HTTP Basic
// authentication and leaves one structured audit event per request in
// Caddy's logging pipeline: who tried, from where, with what result and
// why, never the secret.
package basicaudit

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"

	"github.com/basicaudit/caddy-basicaudit/internal/credentials"
	"github.com/basicaudit/caddy-basicaudit/internal/lockout"
	"github.com/basicaudit/caddy-basicaudit/internal/passwords"
	"github.com/basicaudit/caddy-basicaudit/internal/verification"
)

func init() {
	caddy.RegisterModule(AuditedBasicAuth{})
}

// AuditedBasicAuth authenticates requests with HTTP Basic credentials
// (RFC 7617) against configured password hashes and writes an audit event
// for every request it decides on the logger
// `http.handlers.audited_basic_auth.audit`.
//
// On success the placeholder `{http.auth.user.id}` holds the username, as
// with `basic_auth`; `{http.auth.outcome}` and `{http.auth.reason}` hold
// the decision on every request, and `{http.auth.candidate.id}` the
// presented username of a refused request where the `unknown_usernames`
// policy allows it to be shown. Refusals are returned as handler errors,
// so `handle_errors` can shape the response.
type AuditedBasicAuth struct {
	// The hash algorithm named in the Caddyfile for compatibility with
	// `basic_auth`: `bcrypt` or `argon2id`. The format of every hash is
	// detected from the hash itself; an inline hash of another format than
	// the one named here is a configuration error. Optional.
	HashAlgorithm string `json:"hash_algorithm,omitempty"`

	// The accounts to authenticate, with their password hashes as written
	// by `caddy hash-password` or `htpasswd -B`. Usernames must be unique
	// across these accounts and the users file.
	Accounts []Account `json:"accounts,omitempty"`

	// The path of an Apache htpasswd file holding further accounts. Changes
	// to the file are picked up within 5 seconds without a config reload; a
	// file that no longer parses keeps the previous accounts and logs an
	// error naming the line.
	UsersFile string `json:"users_file,omitempty"`

	// The name of the realm shown in the challenge. Default: `restricted`.
	Realm string `json:"realm,omitempty"`

	// How usernames that are not configured appear in audit events and in
	// the access log. `hash` logs only a keyed hash of them, because users
	// sometimes type their password into the username field; `raw` logs
	// them in clear; `omit` logs neither. Configured usernames are always
	// logged in clear, except under `omit`. Default: `hash`.
	UnknownUsernames string `json:"unknown_usernames,omitempty"`

	// Which successful authentications are logged: `all`, `verified` (only
	// those that computed a hash, not cached ones) or `off`. Failures,
	// challenges and blocks are always logged. Default: `all`.
	LogSuccesses string `json:"log_successes,omitempty"`

	// Whether legacy hash formats (apr1, {SHA}, {SSHA}, DES crypt and
	// plaintext) are accepted: `deny` or `allow`. They are refused by
	// default because each can be brute-forced far faster than bcrypt or
	// argon2id. Default: `deny`.
	LegacyHashes string `json:"legacy_hashes,omitempty"`

	// The secret that keys the hash of unknown usernames, so that the same
	// username hashes alike across restarts and instances. Accepts
	// placeholders such as `{env.NAME}` and `{file./path}`. Default: a
	// random key per process.
	HashKey string `json:"hash_key,omitempty"`

	// Refuses requests that did not arrive over TLS with 403, before any
	// challenge, so that no browser is asked to send a password in clear.
	// `on` exempts loopback peers (a local proxy or a health check);
	// `strict` does not. A request from one of the server's trusted
	// proxies counts as TLS when it carries `X-Forwarded-Proto: https`.
	// Default: off.
	RequireTLS string `json:"require_tls,omitempty"`

	// What to do when a password that was just verified is weak: equal
	// to the username, a known default pair, a common password, shorter
	// than 8 characters or of a zxcvbn score below 2; or when its hash is
	// weak. `warn` logs an `authn_weak_credential` event once per user and
	// hash; `reject` also refuses the login with 403; `off` checks
	// nothing, not even the hashes at load. Only logins that compute a hash are checked, so cached
	// requests cost nothing. Default: `warn`.
	WeakCredentials string `json:"weak_credentials,omitempty"`

	// The field names of the audit events: `caddy` (snake_case, Caddy's
	// own names where Caddy has one) or `ecs` (Elastic Common Schema,
	// with `event.category: ["authentication"]`). Default: `caddy`.
	Schema string `json:"schema,omitempty"`

	// Limits of password verification.
	Verify *VerifyConfig `json:"verify,omitempty"`

	// Tamper-evident sealing of the audit events. Off by default.
	Integrity *IntegrityConfig `json:"integrity,omitempty"`

	// Locking out clients that fail too often. On by default.
	Lockout *LockoutConfig `json:"lockout,omitempty"`

	// Thresholds of attack detection.
	Detect *DetectConfig `json:"detect,omitempty"`

	logger    *zap.Logger
	audit     *zap.Logger
	users     *userStore
	keyer     *verification.Keyer
	cache     *verification.Cache
	flight    *singleflight.Group
	hashKey   []byte
	challenge string

	// loggedRealm is the realm as events carry it, sanitized once.
	loggedRealm string
	policy      usernamePolicy
	successes   successPolicy

	schema       string
	chain        *auditChain
	chainKey     string
	lockPolicy   lockout.Policy
	defence      *defence
	queueTimeout time.Duration
}

// Account is a username with its password hash.
type Account struct {
	// The username. Required.
	Username string `json:"username"`

	// The password hash, in Modular Crypt or PHC format, or base64-wrapped
	// as older Caddy versions wrote it. Required.
	Password string `json:"password"`
}

// VerifyConfig bounds the cost of password verification.
type VerifyConfig struct {
	// How long a successful verification is remembered, so that a
	// logged-in user's further requests cost no hash computation. Entries
	// are keyed by an HMAC of the credentials under a per-process random
	// key; no password is kept. Default: 5m.
	CacheTTL caddy.Duration `json:"cache_ttl,omitempty"`

	// How many successful verifications are remembered at most.
	// Default: 10000.
	CacheSize int `json:"cache_size,omitempty"`

	// How many password hashes are computed at once, at most, by all
	// handlers of the process together; the value of the most recently
	// loaded handler applies. Hashing is CPU-bound, so more than the CPU
	// count only makes every verification slower. Default: GOMAXPROCS.
	MaxConcurrent int `json:"max_concurrent,omitempty"`

	// How long a request waits for a verification slot before it is
	// refused with 503 and Retry-After. Cached successes never wait.
	// Default: 2s.
	QueueTimeout caddy.Duration `json:"queue_timeout,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (AuditedBasicAuth) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.audited_basic_auth",
		New: func() caddy.Module { return new(AuditedBasicAuth) },
	}
}

const (
	defaultRealm     = "restricted"
	defaultCacheTTL  = 5 * time.Minute
	defaultCacheSize = 10000
)

// Provision sets up the handler: loads the accounts and the users file,
// and prepares the challenge and the keys.
func (a *AuditedBasicAuth) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger()
	a.audit = a.logger.Named("audit")

	if a.Realm == "" {
		a.Realm = defaultRealm
	}
	if err := validRealm(a.Realm); err != nil {
		return err
	}
	a.challenge = challengeHeader(a.Realm)
	a.loggedRealm = sanitize(a.Realm, maxRealm)

	var err error
	if a.policy, err = parseUsernamePolicy(a.UnknownUsernames); err != nil {
		return err
	}
	if a.successes, err = parseSuccessPolicy(a.LogSuccesses); err != nil {
		return err
	}
	allowLegacy, err := parseLegacyPolicy(a.LegacyHashes)
	if err != nil {
		return err
	}
	if a.schema, err = parseSchema(a.Schema); err != nil {
		return err
	}

	repl := caddy.NewReplacer()
	hashKey := repl.ReplaceKnown(a.HashKey, "")
	if a.HashKey != "" && hashKey == "" {
		// An unset variable would otherwise pass unnoticed, and hashes
		// would differ between instances.
		a.logger.Warn("hash_key is empty once its placeholders are replaced; " +
			"using a random key per process")
	}
	a.hashKey, err = secretKey(hashKey)
	if err != nil {
		return fmt.Errorf("hash_key: %v", err)
	}
	a.policy.key = a.hashKey

	inline, err := a.inlineAccounts(repl, allowLegacy)
	if err != nil {
		return err
	}
	a.users = newUserStore(inline, a.UsersFile, allowLegacy, a.logger)
	a.users.quietWeak = a.WeakCredentials == "off"
	if err := a.users.load(); err != nil {
		return err
	}
	a.users.watch(usersFilePoll)

	ttl, size := defaultCacheTTL, defaultCacheSize
	if v := a.Verify; v != nil {
		ttl = durationOr(v.CacheTTL, ttl)
		if v.CacheSize > 0 {
			size = v.CacheSize
		}
	}
	a.keyer = verification.NewKeyer()
	a.flight = new(singleflight.Group)
	a.cache = verification.NewCache(size, ttl)

	if err := a.provisionDefence(); err != nil {
		return err
	}
	if err := a.provisionIntegrity(ctx, repl); err != nil {
		return err
	}
	return registerMetrics(ctx)
}

// inlineAccounts parses the accounts of the config, checking each hash
// against the algorithm named for compatibility.
func (a *AuditedBasicAuth) inlineAccounts(repl *caddy.Replacer, allowLegacy bool) ([]*account, error) {
	var named passwords.Format
	switch a.HashAlgorithm {
	case "":
	case "bcrypt":
		named = passwords.Bcrypt
	case "argon2id":
		named = passwords.Argon2id
	default:
		return nil, fmt.Errorf("unrecognized hash algorithm: %s", a.HashAlgorithm)
	}

	accounts := make([]*account, 0, len(a.Accounts))
	for i, acct := range a.Accounts {
		username := repl.ReplaceKnown(acct.Username, "")
		encoded := repl.ReplaceKnown(acct.Password, "")
		hash, err := parseAccount(username, encoded, named, allowLegacy)
		if err != nil {
			return nil, fmt.Errorf("account %d: %v", i, err)
		}
		accounts = append(accounts, &account{username: username, hash: hash, encoded: encoded})
	}
	return accounts, nil
}

// Validate checks the config for values that Provision does not read.
func (a *AuditedBasicAuth) Validate() error {
	if a.Verify != nil {
		if a.Verify.CacheTTL < 0 {
			return errors.New("verify: cache_ttl must not be negative")
		}
		if a.Verify.CacheSize < 0 {
			return errors.New("verify: cache_size must not be negative")
		}
		if a.Verify.MaxConcurrent < 0 || a.Verify.QueueTimeout < 0 {
			return errors.New("verify: max_concurrent and queue_timeout must not be negative")
		}
	}
	if lc := a.Lockout; lc != nil && (lc.Failures < 0 || lc.PerUser < 0 || lc.MaxClients < 0 ||
		lc.Window < 0 || lc.Duration < 0 || lc.MaxDuration < 0) {
		return errors.New("lockout: values must not be negative")
	}
	if err := validWeakCredentials(a.WeakCredentials); err != nil {
		return err
	}
	switch a.RequireTLS {
	case "", "on", "strict":
	default:
		return fmt.Errorf("require_tls: unrecognized value %q (want on or strict)", a.RequireTLS)
	}
	if len(a.Accounts) == 0 && a.UsersFile == "" {
		return errors.New("no accounts: configure at least one user or a users_file")
	}
	return nil
}

// Cleanup stops watching the users file and releases the shared
// tracking state.
func (a *AuditedBasicAuth) Cleanup() error {
	if a.users != nil {
		a.users.stop()
	}
	a.releaseDefence()
	a.releaseIntegrity()
	return nil
}

// ServeHTTP authenticates the request and, on success, passes it on.
func (a *AuditedBasicAuth) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	att := attempt{request: r, repl: repl}

	if a.RequireTLS != "" && !requestTLS(r) && (a.RequireTLS == "strict" || !loopbackPeer(r)) {
		att.client = clientAddr(r)
		att.failures = a.defence.tracker.Failures(&a.lockPolicy, att.client, time.Now())
		return a.block(&att, http.StatusForbidden, reasonCleartextRejected)
	}

	creds, result := credentials.FromHeader(r.Header)
	if result == credentials.Missing {
		// A challenge costs nothing and is no failure, so it is answered
		// even for a locked client.
		return a.refuse(w, &att, outcomeChallenge, "")
	}
	att.username = creds.Username
	accounts := a.users.current()
	acct := accounts.byName[creds.Username]
	att.account = acct

	att.client = clientAddr(r)
	now := time.Now()
	tracker := a.defence.tracker
	if _, locked := tracker.Check(&a.lockPolicy, att.client, creds.Username, now); locked {
		return a.blockLocked(w, &att, now)
	}

	if result != credentials.OK {
		// The fingerprint of malformed credentials is the header itself,
		// so resending the same bytes counts once.
		fp := a.keyer.Key("\x00"+result.Reason(), r.Header.Get("Authorization"))
		a.recordFailure(&att, fp, now)
		return a.refuse(w, &att, outcomeFailure, result.Reason())
	}

	key := a.keyer.Key(creds.Username, creds.Password)
	ok, reason := a.verify(r.Context(), &att, accounts.decoy, creds.Password, key)
	switch {
	case reason == reasonLockedOut:
		return a.blockLocked(w, &att, now)
	case reason == reasonOverloaded:
		att.failures = tracker.Failures(&a.lockPolicy, att.client, now)
		w.Header().Set("Retry-After", retryAfter(a.queueTimeout))
		return a.block(&att, http.StatusServiceUnavailable, reasonOverloaded)
	case !ok:
		a.recordFailure(&att, key, now)
		return a.refuse(w, &att, outcomeFailure, reason)
	}

	if att.verified && a.WeakCredentials != "off" {
		if reasons := weakReasons(acct, creds.Username, creds.Password); len(reasons) > 0 {
			if firstWeakUse(acct) {
				a.logWeak(&att, acct, reasons)
			}
			if a.WeakCredentials == "reject" {
				a.deny(&att, http.StatusForbidden, outcomeFailure, reasonWeakCredential)
				return caddyhttp.Error(http.StatusForbidden, refusalError(reasonWeakCredential))
			}
		}
	}
	if !att.cacheHit {
		a.cache.Add(key, acct, now)
	}

	// Cached successes count too: the same password from another
	// client after failures on the account is what this event is for.
	if tracker.Success(&a.lockPolicy, att.client, creds.Username, now) > 0 {
		att.afterFailures = true
	}
	return a.admit(w, r, &att, next)
}

// recordFailure counts a failed login, whose event will name the locks
// and detections it started.
func (a *AuditedBasicAuth) recordFailure(att *attempt, key verification.Key, now time.Time) {
	att.showUser(a.policy)
	fp := binary.LittleEndian.Uint64(key[:8])
	f := a.defence.tracker.Failure(&a.lockPolicy, att.client, att.username, fp, now)
	att.failures = f.Count
	att.followUps = f
}

// logFollowUps writes the locks and detections that a failure started,
// after the failure's own event.
func (a *AuditedBasicAuth) logFollowUps(att *attempt) {
	for _, l := range att.followUps.Locks {
		locksTotal.WithLabelValues(l.Kind).Inc()
		a.logLock(att, l)
	}
	for _, d := range att.followUps.Detections {
		detectionsTotal.WithLabelValues(d.Pattern).Inc()
		a.logDetection(att, d)
	}
}

// verify checks the password against the account, or against the decoy
// hash when the user is unknown, so that both cost the same. It returns
// the failure reason when the password is refused.
func (a *AuditedBasicAuth) verify(ctx context.Context, att *attempt, decoy passwords.Hash, password string, key verification.Key) (bool, string) {
	acct, hash := att.account, decoy
	if acct != nil {
		hash = acct.hash
	}

	// A password the format cannot tell apart is refused before any
	// hashing; the decoy has the accounts' format, so an unknown user is
	// refused just as fast.
	if limit := hash.MaxPassword(); limit > 0 && len(password) > limit {
		if acct == nil {
			return false, reasonUnknownUser
		}
		return false, reasonPasswordTooLong
	}

	start := time.Now()
	if acct != nil && a.cache.Hit(key, acct, start) {
		att.cacheHit = true
		return true, ""
	}

	// Recent failures make the client a suspect, whose verifications
	// may use only part of the capacity; so does a verification of the
	// same client already running, as a person's browser does not try
	// passwords in parallel.
	capacity := a.defence.capacity.Load()
	suspect := a.defence.tracker.Failures(&a.lockPolicy, att.client, start) > 0
	if !capacity.busy.enter(att.client) {
		suspect = true
	}
	defer capacity.busy.leave(att.client)

	// Identical concurrent verifications from one client run once; the
	// one that runs waits for a slot on behalf of all of them. The client
	// is part of the key because a lock ends the flight for its client
	// only.
	client := att.client.As16()
	v, err, _ := a.flight.Do(string(key[:])+string(client[:]), func() (any, error) {
		release, err := capacity.acquire(ctx, suspect, a.queueTimeout)
		if err != nil {
			return false, err
		}
		defer release()
		// A lock may have started while this request queued; it must
		// not cost a hash then either.
		tracker := a.defence.tracker
		if _, locked := tracker.Check(&a.lockPolicy, att.client, att.username, time.Now()); locked {
			return false, errLockedWhileQueued
		}
		t0 := time.Now()
		ok := hash.Verify([]byte(password))
		verifyDuration.Observe(time.Since(t0).Seconds())
		return ok, nil
	})
	att.verifyDuration = time.Since(start)
	switch {
	case errors.Is(err, errLockedWhileQueued):
		return false, reasonLockedOut
	case err != nil:
		return false, reasonOverloaded
	}
	att.verified = true

	switch {
	case acct == nil:
		return false, reasonUnknownUser
	case !v.(bool):
		return false, reasonWrongPassword
	}
	return true, ""
}

// admit records the authenticated user and serves the request, logging
// the success after the response so the event carries its final status.
func (a *AuditedBasicAuth) admit(w http.ResponseWriter, r *http.Request, att *attempt, next caddyhttp.Handler) error {
	att.repl.Set("http.auth.user.id", att.username)
	att.setDecision(outcomeSuccess, "", a.policy)
	successesTotal.Inc()

	if !a.successes.logs(att) {
		return next.ServeHTTP(w, r)
	}

	sw := &statusWriter{ResponseWriterWrapper: caddyhttp.ResponseWriterWrapper{ResponseWriter: w}}
	err := next.ServeHTTP(sw, r)
	att.status = sw.status
	if err != nil {
		att.status = http.StatusInternalServerError
		var herr caddyhttp.HandlerError
		if errors.As(err, &herr) && herr.StatusCode != 0 {
			att.status = herr.StatusCode
		}
	} else if att.status == 0 {
		att.status = http.StatusOK
	}
	a.logSuccess(att)

	return err
}

// deny records and logs the decision on a request that is not let
// through, then the locks and detections its failure started.
func (a *AuditedBasicAuth) deny(att *attempt, status int, outcome, reason string) {
	att.status = status
	att.setDecision(outcome, reason, a.policy)
	eventsTotal.WithLabelValues(outcome, reason).Inc()
	a.logRefusal(att, outcome, reason)
	a.logFollowUps(att)
}

// refuse answers a challenge or a failure: 401 with the challenge header.
func (a *AuditedBasicAuth) refuse(w http.ResponseWriter, att *attempt, outcome, reason string) error {
	a.deny(att, http.StatusUnauthorized, outcome, reason)
	w.Header().Set("WWW-Authenticate", a.challenge)
	if outcome == outcomeChallenge {
		return caddyhttp.Error(http.StatusUnauthorized, errCredentialsRequested)
	}
	return caddyhttp.Error(http.StatusUnauthorized, refusalError(reason))
}

// block answers a request refused before any verification: a locked
// client (429) or exhausted verification capacity (503). The caller sets
// Retry-After.
func (a *AuditedBasicAuth) block(att *attempt, status int, reason string) error {
	a.deny(att, status, outcomeBlocked, reason)
	return caddyhttp.Error(status, refusalError(reason))
}

// blockLocked answers a locked-out client: 429 with the time left.
func (a *AuditedBasicAuth) blockLocked(w http.ResponseWriter, att *attempt, now time.Time) error {
	tracker := a.defence.tracker
	wait, _ := tracker.Check(&a.lockPolicy, att.client, att.username, time.Now())
	att.failures = tracker.Failures(&a.lockPolicy, att.client, now)
	w.Header().Set("Retry-After", retryAfter(wait))
	return a.block(att, http.StatusTooManyRequests, reasonLockedOut)
}

var (
	errCredentialsRequested = errors.New("credentials requested")
	errLockedWhileQueued    = errors.New("locked while queued")
)

// refusalError names the reason of a refusal; it is what Caddy logs at
// DEBUG and what `{http.error.message}` shows, so it holds nothing the
// client sent.
func refusalError(reason string) error {
	return fmt.Errorf("not authenticated: %s", reason)
}

// requestTLS reports whether the request arrived over TLS, at Caddy or,
// as a trusted proxy says, at the proxy.
func requestTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	trusted, _ := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey).(bool)
	return trusted && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// loopbackPeer reports whether the socket peer is on this host.
func loopbackPeer(r *http.Request) bool {
	addr, err := netip.ParseAddr(remoteIP(r))
	return err == nil && addr.Unmap().IsLoopback()
}

// challengeHeader builds the WWW-Authenticate value for realm, escaping
// it as a quoted-string (RFC 9110).
func challengeHeader(realm string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `Basic realm="` + r.Replace(realm) + `", charset="UTF-8"`
}

// statusWriter remembers the final status of a response. It embeds
// Caddy's wrapper so that flushing, hijacking and pushing still reach the
// underlying writer through http.ResponseController.
type statusWriter struct {
	caddyhttp.ResponseWriterWrapper
	status int
}

// WriteHeader records the status; informational (1xx) responses are
// followed by the final one, which overwrites them.
func (sw *statusWriter) WriteHeader(status int) {
	if sw.status == 0 || sw.status < 200 {
		sw.status = status
	}
	sw.ResponseWriterWrapper.WriteHeader(status)
}

// Write records an implicit 200.
func (sw *statusWriter) Write(b []byte) (int, error) {
	if sw.status == 0 || sw.status < 200 {
		sw.status = http.StatusOK
	}
	return sw.ResponseWriterWrapper.Write(b)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*AuditedBasicAuth)(nil)
	_ caddy.Validator             = (*AuditedBasicAuth)(nil)
	_ caddy.CleanerUpper          = (*AuditedBasicAuth)(nil)
	_ caddyhttp.MiddlewareHandler = (*AuditedBasicAuth)(nil)
)
