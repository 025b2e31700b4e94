package basicaudit

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/basicaudit/caddy-basicaudit/internal/passwords"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("audited_basic_auth", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("audited_basic_auth", httpcaddyfile.Before, "basic_auth")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	a := new(AuditedBasicAuth)
	err := a.UnmarshalCaddyfile(h.Dispenser)
	return a, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	audited_basic_auth [<matcher>] [<hash_algorithm> [<realm>]] {
//		<username> <hash>
//		user <username> <hash>
//		users_file <path>
//		realm <name>
//		unknown_usernames hash|raw|omit
//		log_successes all|verified|off
//		legacy_hashes deny|allow
//		hash_key <secret>
//		require_tls [strict]
//		weak_credentials warn|reject|off
//		lockout {
//			failures <n>
//			window <duration>
//			duration <duration>
//			max_duration <duration>
//			per_user <n>
//			trusted_networks <cidr...>
//			max_clients <n>
//			off
//		}
//		detect {
//			brute_force <n>|off
//			spray <distinct_users>|off
//			distributed <distinct_clients>|off
//			window <duration>
//		}
//		verify {
//			max_concurrent <n>
//			queue_timeout <duration>
//			cache_ttl <duration>
//			cache_size <n>
//		}
//		integrity {
//			key <secret>
//			checkpoint_interval <duration>
//		}
//		schema caddy|ecs
//	}
//
// A `basic_auth` block works unchanged under this directive. A line whose
// first word is a subdirective is read as a user when its one argument is
// a password hash; `user` says so explicitly.
func (a *AuditedBasicAuth) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name

	args := d.RemainingArgs()
	switch len(args) {
	case 0:
	case 2:
		a.Realm = args[1]
		fallthrough
	case 1:
		a.HashAlgorithm = args[0]
		if a.HashAlgorithm != "bcrypt" && a.HashAlgorithm != "argon2id" {
			return d.Errf("unrecognized hash algorithm: %s", shown(a.HashAlgorithm))
		}
	default:
		return argErr(d)
	}

	var accountLines []caddyfile.Token
	seen := make(map[string]bool)
	for d.NextBlock(0) {
		name := d.Val()
		if !subdirectives[name] || accountLine(d) {
			accountLines = append(accountLines, d.Token())
			if err := a.unmarshalAccount(d, name); err != nil {
				return err
			}
			continue
		}
		if name == "user" {
			accountLines = append(accountLines, d.Token())
			if !d.NextArg() {
				return argErr(d)
			}
			if err := a.unmarshalAccount(d, d.Val()); err != nil {
				return err
			}
			continue
		}

		if seen[name] {
			return d.Errf("duplicate subdirective: %s", name)
		}
		seen[name] = true
		if err := a.unmarshalSubdirective(d, name); err != nil {
			return err
		}
	}

	if err := validRealm(a.Realm); err != nil {
		return d.Err(err.Error())
	}
	return a.checkAccounts(accountLines)
}

// subdirectives are the words that open a setting rather than an account.
var subdirectives = map[string]bool{
	"user":              true,
	"users_file":        true,
	"realm":             true,
	"unknown_usernames": true,
	"log_successes":     true,
	"legacy_hashes":     true,
	"hash_key":          true,
	"require_tls":       true,
	"weak_credentials":  true,
	"schema":            true,
	"verify":            true,
	"lockout":           true,
	"detect":            true,
	"integrity":         true,
}

// accountLine reports whether a line that starts with a subdirective's
// word is in fact an account of a user so named: its only argument is a
// password hash of a format that no setting's value could be mistaken for.
func accountLine(d *caddyfile.Dispenser) bool {
	if !d.NextArg() {
		return false
	}
	arg := d.Val()
	more := d.NextArg()
	if more {
		d.Prev()
	}
	d.Prev()
	if more {
		return false
	}
	hash, err := passwords.Parse(arg)
	if err != nil {
		return false
	}
	format := hash.Format()
	return format != passwords.Plaintext && format != passwords.DESCrypt
}

// unmarshalAccount reads the hash of an account line whose username has
// been read.
func (a *AuditedBasicAuth) unmarshalAccount(d *caddyfile.Dispenser, username string) error {
	var hash string
	if !d.Args(&hash) {
		return argErr(d)
	}
	if d.NextArg() {
		return argErr(d)
	}
	if username == "" || hash == "" {
		return d.Err("username and password hash cannot be empty")
	}
	a.Accounts = append(a.Accounts, Account{Username: username, Password: hash})
	return nil
}

// checkAccounts validates the accounts once the whole block is read, when
// the algorithm and the legacy policy are known, so that an error names
// the line of the account. Values holding placeholders are checked at
// provisioning, once they are known.
func (a *AuditedBasicAuth) checkAccounts(lines []caddyfile.Token) error {
	allowLegacy, err := parseLegacyPolicy(a.LegacyHashes)
	if err != nil {
		return err
	}
	named := passwords.Format(a.HashAlgorithm)
	seen := make(map[string]int)
	for i, acct := range a.Accounts {
		tok := lines[i]
		if strings.Contains(acct.Username, "{") || strings.Contains(acct.Password, "{") {
			continue
		}
		if hash, err := passwords.Parse(acct.Password); err == nil && !allowLegacy &&
			hash.Format() == passwords.Plaintext {
			// Most likely a misspelt setting rather than a user with a
			// plaintext password.
			return fmt.Errorf("unrecognized subdirective: %s (read as a user, "+
				"its hash is not a password hash), at %s:%d",
				shown(acct.Username), tok.File, tok.Line)
		}
		if _, err := parseAccount(acct.Username, acct.Password, named, allowLegacy); err != nil {
			return fmt.Errorf("%v, at %s:%d", err, tok.File, tok.Line)
		}
		if line, dup := seen[acct.Username]; dup {
			return fmt.Errorf("user %q is defined more than once (first at line %d), at %s:%d",
				acct.Username, line, tok.File, tok.Line)
		}
		seen[acct.Username] = tok.Line
	}
	return nil
}

func (a *AuditedBasicAuth) unmarshalSubdirective(d *caddyfile.Dispenser, name string) error {
	switch name {
	case "verify":
		return a.unmarshalVerify(d)
	case "lockout":
		return a.unmarshalLockout(d)
	case "detect":
		return a.unmarshalDetect(d)
	case "integrity":
		return a.unmarshalIntegrity(d)
	}

	if name == "require_tls" {
		a.RequireTLS = "on"
		if d.NextArg() {
			if d.Val() != "strict" {
				return d.Errf("require_tls: unrecognized value %q (want strict or nothing)", d.Val())
			}
			a.RequireTLS = "strict"
		}
		if d.NextArg() {
			return argErr(d)
		}
		return nil
	}

	var value string
	if !d.Args(&value) {
		return argErr(d)
	}
	if d.NextArg() {
		return argErr(d)
	}
	var err error
	switch name {
	case "users_file":
		a.UsersFile = value
	case "realm":
		if a.Realm != "" {
			return d.Err("realm is already given as an argument of the directive")
		}
		a.Realm = value
	case "unknown_usernames":
		a.UnknownUsernames = value
		_, err = parseUsernamePolicy(value)
	case "log_successes":
		a.LogSuccesses = value
		_, err = parseSuccessPolicy(value)
	case "legacy_hashes":
		a.LegacyHashes = value
		_, err = parseLegacyPolicy(value)
	case "hash_key":
		a.HashKey = value
	case "schema":
		a.Schema = value
		_, err = parseSchema(value)
	case "weak_credentials":
		a.WeakCredentials = value
		err = validWeakCredentials(value)
	}
	if err != nil {
		return d.Err(err.Error())
	}
	return nil
}

func (a *AuditedBasicAuth) unmarshalVerify(d *caddyfile.Dispenser) error {
	if a.Verify == nil {
		a.Verify = new(VerifyConfig)
	}
	v := a.Verify
	return unmarshalBlock(d, "verify", func(name string) error {
		switch name {
		case "cache_ttl":
			return durationArg(d, &v.CacheTTL)
		case "cache_size":
			return countArg(d, &v.CacheSize, 1)
		case "max_concurrent":
			return countArg(d, &v.MaxConcurrent, 1)
		case "queue_timeout":
			return durationArg(d, &v.QueueTimeout)
		}
		return d.Errf("unrecognized subdirective: verify %s", name)
	})
}

func (a *AuditedBasicAuth) unmarshalLockout(d *caddyfile.Dispenser) error {
	if a.Lockout == nil {
		a.Lockout = new(LockoutConfig)
	}
	lc := a.Lockout
	return unmarshalBlock(d, "lockout", func(name string) error {
		switch name {
		case "failures":
			return countArg(d, &lc.Failures, 1)
		case "window":
			return durationArg(d, &lc.Window)
		case "duration":
			return durationArg(d, &lc.Duration)
		case "max_duration":
			return durationArg(d, &lc.MaxDuration)
		case "per_user":
			return countArg(d, &lc.PerUser, 0)
		case "max_clients":
			return countArg(d, &lc.MaxClients, 1)
		case "trusted_networks":
			networks := d.RemainingArgs()
			if len(networks) == 0 {
				return argErr(d)
			}
			for _, n := range networks {
				if _, err := parseNetwork(n); err != nil {
					return d.Errf("lockout trusted_networks: %v", err)
				}
			}
			lc.TrustedNetworks = networks
			return nil
		case "off":
			if d.NextArg() {
				return argErr(d)
			}
			lc.Off = true
			return nil
		}
		return d.Errf("unrecognized subdirective: lockout %s", name)
	})
}

func (a *AuditedBasicAuth) unmarshalDetect(d *caddyfile.Dispenser) error {
	if a.Detect == nil {
		a.Detect = new(DetectConfig)
	}
	dc := a.Detect
	return unmarshalBlock(d, "detect", func(name string) error {
		switch name {
		case "brute_force":
			return thresholdArg(d, &dc.BruteForce)
		case "spray":
			return thresholdArg(d, &dc.Spray)
		case "distributed":
			return thresholdArg(d, &dc.Distributed)
		case "window":
			return durationArg(d, &dc.Window)
		}
		return d.Errf("unrecognized subdirective: detect %s", name)
	})
}

func (a *AuditedBasicAuth) unmarshalIntegrity(d *caddyfile.Dispenser) error {
	if a.Integrity == nil {
		a.Integrity = new(IntegrityConfig)
	}
	ic := a.Integrity
	err := unmarshalBlock(d, "integrity", func(name string) error {
		switch name {
		case "key":
			value, err := oneArg(d)
			ic.Key = value
			return err
		case "checkpoint_interval":
			return durationArg(d, &ic.CheckpointInterval)
		}
		return d.Errf("unrecognized subdirective: integrity %s", name)
	})
	if err == nil && ic.Key == "" {
		return d.Err("integrity: key is required")
	}
	return err
}

// unmarshalBlock reads the block of the subdirective block, calling
// setting for each line after refusing duplicates. The block takes no
// arguments of its own.
func unmarshalBlock(d *caddyfile.Dispenser, block string, setting func(name string) error) error {
	if d.NextArg() {
		return argErr(d)
	}
	seen := make(map[string]bool)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		name := d.Val()
		if seen[name] {
			return d.Errf("duplicate subdirective: %s %s", block, name)
		}
		seen[name] = true
		if err := setting(name); err != nil {
			return err
		}
	}
	return nil
}

// argErr is Caddy's wrong-argument-count error without the token, which
// could be a password hash in the wrong place.
func argErr(d *caddyfile.Dispenser) error {
	return d.Errf("wrong argument count or unexpected line ending after %s", shown(d.Val()))
}

// shown is a token as an error may show it: a password hash is never
// repeated, wherever it stands.
func shown(token string) string {
	if hash, err := passwords.Parse(token); err == nil && hash.Format() != passwords.Plaintext {
		return "a password hash"
	}
	if strings.HasPrefix(token, "$") || strings.HasPrefix(token, "{SHA") {
		return "a password hash"
	}
	return token
}

// oneArg reads the single argument of the current line.
func oneArg(d *caddyfile.Dispenser) (string, error) {
	var value string
	if !d.Args(&value) || d.NextArg() {
		return "", argErr(d)
	}
	return value, nil
}

func durationArg(d *caddyfile.Dispenser, dst *caddy.Duration) error {
	name := d.Val()
	value, err := oneArg(d)
	if err != nil {
		return err
	}
	dur, err := caddy.ParseDuration(value)
	if err != nil || dur <= 0 {
		return d.Errf("%s: want a positive duration such as 10m, got %q", name, value)
	}
	*dst = caddy.Duration(dur)
	return nil
}

func countArg(d *caddyfile.Dispenser, dst *int, least int) error {
	name := d.Val()
	value, err := oneArg(d)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(value)
	if err != nil || n < least {
		return d.Errf("%s: want a whole number of at least %d, got %q", name, least, value)
	}
	*dst = n
	return nil
}

// thresholdArg reads a detection threshold: a positive count, or off.
func thresholdArg(d *caddyfile.Dispenser, dst *int) error {
	name := d.Val()
	value, err := oneArg(d)
	if err != nil {
		return err
	}
	if value == "off" {
		*dst = -1
		return nil
	}
	n, err := strconv.Atoi(value)
	if err != nil || n < 1 {
		return d.Errf("%s: want a whole number of at least 1 or off, got %q", name, value)
	}
	*dst = n
	return nil
}

// validRealm refuses realms that cannot be sent in a header or that would
// make the challenge misleading.
func validRealm(realm string) error {
	for _, r := range realm {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			return fmt.Errorf("realm holds a control character")
		}
	}
	return nil
}

// Interface guard
var _ caddyfile.Unmarshaler = (*AuditedBasicAuth)(nil)
