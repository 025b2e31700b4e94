package basicaudit

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// Hashes from real tools: htpasswd -B -C 10 and caddy hash-password with
// --algorithm argon2id.
const (
	fixtureBcrypt   = "$2y$10$/z4FFxkDULAFjUzfBrPM1.K1y2R7EE7AGoyX6NaKRtFLE/1V4D5p2"
	fixtureArgon2id = "$argon2id$v=19$m=47104,t=1,p=1$M03RD87MKBOKcwPxbp+Ovg$2l18Xpwle2CFQJ8cWV1ZM2viiEtBz3EA5P7WBBsY4Xc"
	fixtureAPR1     = "$apr1$b4hzYeF7$zzpIdRyF7MjVlkIy/m5yt0"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	wrapped := base64.StdEncoding.EncodeToString([]byte(fixtureBcrypt))
	tests := []struct {
		name    string
		input   string
		check   func(*testing.T, *AuditedBasicAuth)
		wantErr string // substring; the file and line are checked too
	}{
		{
			name:  "basic_auth block renamed",
			input: "audited_basic_auth {\n\talice " + fixtureBcrypt + "\n}",
			check: func(t *testing.T, a *AuditedBasicAuth) {
				if len(a.Accounts) != 1 || a.Accounts[0].Username != "alice" {
					t.Errorf("accounts = %+v", a.Accounts)
				}
			},
		},
		{
			name:  "algorithm and realm arguments",
			input: "audited_basic_auth bcrypt \"Staff only\" {\n\talice " + fixtureBcrypt + "\n}",
			check: func(t *testing.T, a *AuditedBasicAuth) {
				if a.HashAlgorithm != "bcrypt" || a.Realm != "Staff only" {
					t.Errorf("algorithm, realm = %q, %q", a.HashAlgorithm, a.Realm)
				}
			},
		},
		{
			name:  "argon2id",
			input: "audited_basic_auth argon2id {\n\tmallory " + fixtureArgon2id + "\n}",
		},
		{
			name:  "base64-wrapped legacy Caddy hash",
			input: "audited_basic_auth {\n\talice " + wrapped + "\n}",
		},
		{
			name: "every setting",
			input: `audited_basic_auth {
	user realm ` + fixtureBcrypt + `
	users_file /etc/caddy/users
	realm Intranet
	unknown_usernames raw
	log_successes verified
	legacy_hashes allow
	hash_key {env.AUDIT_KEY}
	verify {
		cache_ttl 1m
		cache_size 50
	}
}`,
			check: func(t *testing.T, a *AuditedBasicAuth) {
				if a.Accounts[0].Username != "realm" || a.UsersFile != "/etc/caddy/users" ||
					a.Realm != "Intranet" || a.UnknownUsernames != "raw" ||
					a.LogSuccesses != "verified" || a.LegacyHashes != "allow" ||
					a.HashKey != "{env.AUDIT_KEY}" {
					t.Errorf("settings not all read: %+v", a)
				}
				if a.Verify.CacheTTL != caddy.Duration(time.Minute) || a.Verify.CacheSize != 50 {
					t.Errorf("verify = %+v", a.Verify)
				}
			},
		},
		{
			name:  "a user named like a setting, without user",
			input: "audited_basic_auth {\n\trealm " + fixtureBcrypt + "\n}",
			check: func(t *testing.T, a *AuditedBasicAuth) {
				if len(a.Accounts) != 1 || a.Accounts[0].Username != "realm" || a.Realm != "" {
					t.Errorf("accounts = %+v, realm = %q", a.Accounts, a.Realm)
				}
			},
		},
		{
			name:  "legacy hash allowed",
			input: "audited_basic_auth {\n\tdave " + fixtureAPR1 + "\n\tlegacy_hashes allow\n}",
		},
		{
			name:  "placeholder hash checked at provisioning",
			input: "audited_basic_auth {\n\talice {env.ALICE_HASH}\n}",
		},
		{
			name: "defence blocks",
			input: "audited_basic_auth {\n\talice " + fixtureBcrypt + "\n" +
				"\tlockout {\n\t\tfailures 5\n\t\twindow 1m\n\t\tduration 30s\n\t\tmax_duration 1h\n\t\tper_user 50\n" +
				"\t\ttrusted_networks 10.0.0.0/8 192.0.2.7 ::1\n\t\tmax_clients 500\n\t}\n" +
				"\tdetect {\n\t\tbrute_force 4\n\t\tspray off\n\t\tdistributed 20\n\t\twindow 5m\n\t}\n" +
				"\tverify {\n\t\tmax_concurrent 3\n\t\tqueue_timeout 500ms\n\t}\n}",
			check: func(t *testing.T, a *AuditedBasicAuth) {
				lc, dc, vc := a.Lockout, a.Detect, a.Verify
				if lc == nil || lc.Failures != 5 || time.Duration(lc.Window) != time.Minute ||
					time.Duration(lc.Duration) != 30*time.Second || time.Duration(lc.MaxDuration) != time.Hour ||
					lc.PerUser != 50 || len(lc.TrustedNetworks) != 3 || lc.MaxClients != 500 || lc.Off {
					t.Errorf("lockout = %+v", lc)
				}
				if dc == nil || dc.BruteForce != 4 || dc.Spray != -1 || dc.Distributed != 20 ||
					time.Duration(dc.Window) != 5*time.Minute {
					t.Errorf("detect = %+v", dc)
				}
				if vc == nil || vc.MaxConcurrent != 3 || time.Duration(vc.QueueTimeout) != 500*time.Millisecond {
					t.Errorf("verify = %+v", vc)
				}
			},
		},
		{
			name:  "lockout off",
			input: "audited_basic_auth {\n\talice " + fixtureBcrypt + "\n\tlockout {\n\t\toff\n\t}\n}",
			check: func(t *testing.T, a *AuditedBasicAuth) {
				if a.Lockout == nil || !a.Lockout.Off {
					t.Errorf("lockout = %+v, want off", a.Lockout)
				}
			},
		},
		{
			name:    "lockout with argument",
			input:   "audited_basic_auth {\n\tlockout off\n}",
			wantErr: "wrong argument count",
		},
		{
			name:    "lockout unknown setting",
			input:   "audited_basic_auth {\n\tlockout {\n\t\tattempts 5\n\t}\n}",
			wantErr: "unrecognized subdirective: lockout attempts",
		},
		{
			name:    "lockout zero failures",
			input:   "audited_basic_auth {\n\tlockout {\n\t\tfailures 0\n\t}\n}",
			wantErr: "failures: want a whole number of at least 1",
		},
		{
			name:    "lockout bad network",
			input:   "audited_basic_auth {\n\tlockout {\n\t\ttrusted_networks 10.0.0.0/33\n\t}\n}",
			wantErr: "invalid network",
		},
		{
			name:    "lockout duplicate",
			input:   "audited_basic_auth {\n\tlockout {\n\t\tfailures 5\n\t\tfailures 6\n\t}\n}",
			wantErr: "duplicate subdirective: lockout failures",
		},
		{
			name:    "detect bad threshold",
			input:   "audited_basic_auth {\n\tdetect {\n\t\tspray none\n\t}\n}",
			wantErr: "spray: want a whole number",
		},
		{
			name:    "verify zero concurrency",
			input:   "audited_basic_auth {\n\tverify {\n\t\tmax_concurrent 0\n\t}\n}",
			wantErr: "max_concurrent",
		},
		{
			name:    "negative duration",
			input:   "audited_basic_auth {\n\tlockout {\n\t\twindow -1m\n\t}\n}",
			wantErr: "window: want a positive duration",
		},
		{
			name:    "hash as an extra directive argument",
			input:   "audited_basic_auth bcrypt realm " + fixtureBcrypt + " {\n}",
			wantErr: "wrong argument count or unexpected line ending after a password hash",
		},
		{
			name:    "columns swapped",
			input:   "audited_basic_auth {\n\t" + fixtureBcrypt + " alice\n}",
			wantErr: "unrecognized subdirective: a password hash",
		},
		{
			name:    "hash as the algorithm",
			input:   "audited_basic_auth " + fixtureBcrypt + " {\n}",
			wantErr: "unrecognized hash algorithm: a password hash",
		},
		{
			name:    "extra token after a hash",
			input:   "audited_basic_auth {\n\talice " + fixtureBcrypt + " " + fixtureBcrypt + "\n}",
			wantErr: "after a password hash",
		},
		{
			name:    "unknown algorithm",
			input:   "audited_basic_auth scrypt {\n}",
			wantErr: "unrecognized hash algorithm: scrypt",
		},
		{
			name:    "too many arguments",
			input:   "audited_basic_auth bcrypt r extra {\n}",
			wantErr: "wrong argument count",
		},
		{
			name:    "misspelt setting",
			input:   "audited_basic_auth {\n\talice " + fixtureBcrypt + "\n\trelam Intranet\n}",
			wantErr: "unrecognized subdirective: relam",
		},
		{
			name:    "duplicate setting",
			input:   "audited_basic_auth {\n\trealm a\n\trealm b\n}",
			wantErr: "duplicate subdirective: realm",
		},
		{
			name:    "realm twice",
			input:   "audited_basic_auth bcrypt a {\n\trealm b\n}",
			wantErr: "realm is already given",
		},
		{
			name:    "missing value",
			input:   "audited_basic_auth {\n\tusers_file\n}",
			wantErr: "wrong argument count",
		},
		{
			name:    "extra value",
			input:   "audited_basic_auth {\n\tlog_successes all off\n}",
			wantErr: "wrong argument count",
		},
		{
			name:    "bad policy",
			input:   "audited_basic_auth {\n\tunknown_usernames show\n}",
			wantErr: "unknown_usernames",
		},
		{
			name:    "bad duration",
			input:   "audited_basic_auth {\n\tverify {\n\t\tcache_ttl soon\n\t}\n}",
			wantErr: "cache_ttl",
		},
		{
			name:    "unknown verify setting",
			input:   "audited_basic_auth {\n\tverify {\n\t\tcache_color red\n\t}\n}",
			wantErr: "unrecognized subdirective: verify cache_color",
		},
		{
			name:    "account without hash",
			input:   "audited_basic_auth {\n\talice\n}",
			wantErr: "wrong argument count",
		},
		{
			name:    "duplicate user",
			input:   "audited_basic_auth {\n\talice " + fixtureBcrypt + "\n\talice " + fixtureBcrypt + "\n}",
			wantErr: "defined more than once",
		},
		{
			name:    "algorithm contradicted",
			input:   "audited_basic_auth argon2id {\n\talice " + fixtureBcrypt + "\n}",
			wantErr: "hash is bcrypt",
		},
		{name: "legacy hash refused", input: "audited_basic_auth {\n\tdave " + fixtureAPR1 + "\n}", wantErr: `user "dave": apr1 hash refused`},
		{name: "malformed bcrypt", input: "audited_basic_auth {\n\talice $2y$10$short\n}", wantErr: `user "alice"`},
		{
			name:    "control character in realm",
			input:   "audited_basic_auth bcrypt \"a\tb\" {\n}",
			wantErr: "control character",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := caddyfile.NewTestDispenser(tt.input)
			a := new(AuditedBasicAuth)
			err := a.UnmarshalCaddyfile(d)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if tt.check != nil {
					tt.check(t, a)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "Testfile:") {
				t.Errorf("error %q, want it to contain %q and name the file and line", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "$2y$10$/z4") || strings.Contains(err.Error(), "$apr1$b4") {
				t.Errorf("error %q echoes a hash", err)
			}
		})
	}
}
