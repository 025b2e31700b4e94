package basicaudit_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The integration tests feed a real audit trail to the tools that users
// point at it, fail2ban and CrowdSec, as their Debian packages install
// them (.ci/install-tools). Each test skips when its tool is missing,
// unless BASICAUDIT_REQUIRE_TOOLS=1 turns the skip into a failure.

// Hostile input names these addresses; no tool may take them for the
// client.
const (
	forgedIP = "203.0.113.9"
	agentIP  = "198.51.100.7"
)

// trailCaddyfile writes the audit events of three sites to one file: the
// first logs unknown usernames as keyed hashes, the second in clear, the
// third blocks every plain-HTTP request before any credentials. Lockout
// and detection thresholds are low, so that locks and detections, which
// the tools must tell from refusals, come quickly.
const trailCaddyfile = `{
	admin localhost:{ADMIN}
	log default {
		output stderr
		exclude http.handlers.audited_basic_auth.audit
	}
	log audit {
		output file %[1]s
		format json
		include http.handlers.audited_basic_auth.audit
	}
}
http://%[2]s {
	audited_basic_auth {
		alice %[4]s
		lockout {
			failures 3
			duration 1m
		}
		detect {
			brute_force 3
			spray 3
		}
	}
	respond "hashed"
}
http://%[3]s {
	audited_basic_auth {
		alice %[4]s
		unknown_usernames raw
		lockout {
			failures 3
			duration 1m
		}
	}
	respond "raw"
}
http://%[5]s {
	audited_basic_auth {
		alice %[4]s
		require_tls strict
	}
	respond "never over plain HTTP"
}
`

// writeAuditTrail runs caddy with its audit sink on a file and drives a
// user, an attacker (127.0.0.2) and a client sending hostile input
// (127.0.0.3). It returns the log's path and events once caddy has
// stopped, after checking that the trail holds every kind of event the
// tools must tell apart.
func writeAuditTrail(t *testing.T) (string, []map[string]any) {
	t.Helper()
	const password = "Integration-Pass-17"
	hash := testHash(t, password)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "audit.log")
	hashed := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	raw := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	tlsOnly := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	p := startCaddy(t, dir, fmt.Sprintf(trailCaddyfile, logPath, hashed, raw, hash, tlsOnly),
		"http://"+hashed+"/")
	for _, site := range []string{raw, tlsOnly} {
		waitFor(t, 10*time.Second, site, func() bool {
			conn, err := net.Dial("tcp", site)
			if err == nil {
				conn.Close()
			}
			return err == nil
		})
	}

	user, attacker, hostile := clientFrom("127.0.0.1"), clientFrom("127.0.0.2"), clientFrom("127.0.0.3")
	hashedURL, rawURL, tlsOnlyURL := "http://"+hashed+"/", "http://"+raw+"/", "http://"+tlsOnly+"/"
	// Basic credentials end the username at the first colon, so the
	// first hostile name is logged as x","client_ip" and the forged
	// address goes to the password; the others carry it whole. The user
	// agent holds a forged member and a bare address, and the
	// X-Forwarded-For from an untrusted peer must change nothing.
	hostileNames := []string{`x","client_ip":"` + forgedIP, forgedIP, "eve\n" + forgedIP}
	hostileHeader := func(i int) http.Header {
		h := basicHeader(hostileNames[i%len(hostileNames)], fmt.Sprintf("pw-%d", i))
		h.Set("User-Agent", `Mozilla/5.0 (compatible; "client_ip":"`+forgedIP+`") `+agentIP)
		h.Set("X-Forwarded-For", forgedIP)
		return h
	}
	steps := []struct {
		client *http.Client
		url    string
		header http.Header
		want   int
	}{
		// The user is busy enough to overflow any scenario that counted
		// challenges, successes or blocks the user did not cause.
		{user, tlsOnlyURL, nil, 403},
		{user, tlsOnlyURL, nil, 403},
		{user, tlsOnlyURL, basicHeader("alice", password), 403},
		{user, tlsOnlyURL, basicHeader("alice", password), 403},
		{user, tlsOnlyURL, basicHeader("alice", password), 403},
		{user, tlsOnlyURL, basicHeader("alice", password), 403},
		{user, hashedURL, nil, 401},
		{user, hashedURL, basicHeader("alice", password), 200},
		{user, hashedURL, basicHeader("alice", "typo"), 401},
		{user, hashedURL, basicHeader("alice", password), 200},
		{user, hashedURL, basicHeader("alice", password), 200},
		{user, rawURL, nil, 401},
		{user, rawURL, basicHeader("alice", password), 200},
		{user, rawURL, basicHeader("alice", password), 200},
		// Three refusals lock the attacker out; the rest are blocked.
		// Unknown names are logged only as keyed hashes on this site.
		{attacker, hashedURL, basicHeader("alice", "guess-1"), 401},
		{attacker, hashedURL, basicHeader("alice", "guess-2"), 401},
		{attacker, hashedURL, basicHeader("bob", "guess-3"), 401},
		{attacker, hashedURL, basicHeader("carol", "guess-4"), 429},
		{attacker, hashedURL, basicHeader("dave", "guess-5"), 429},
		{attacker, hashedURL, basicHeader("erin", "guess-6"), 429},
		{hostile, rawURL, hostileHeader(0), 401},
		{hostile, rawURL, hostileHeader(1), 401},
		{hostile, rawURL, hostileHeader(2), 401},
		{hostile, rawURL, hostileHeader(3), 429},
		{hostile, rawURL, hostileHeader(4), 429},
		{hostile, rawURL, hostileHeader(5), 429},
	}
	for i, s := range steps {
		if got := do(t, s.client, s.url, s.header).StatusCode; got != s.want {
			t.Fatalf("step %d: status %d, want %d", i, got, s.want)
		}
	}
	p.stop()

	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	events := jsonLines(t, string(data), auditLogger)
	seen := make(map[any]bool)
	for _, ev := range events {
		seen[ev["event"]] = true
	}
	for _, event := range []string{
		"authn_challenge", "authn_login_success", "authn_login_successafterfail",
		"authn_login_fail", "authn_login_blocked", "authn_login_lock", "authn_login_fail_max",
	} {
		if !seen[event] {
			t.Fatalf("the audit trail has no %s event:\n%s", event, data)
		}
	}
	for _, want := range []string{
		`"reason":"cleartext_rejected"`, `"attempted_user_hash":"`, `\"client_ip\"`, `"attempted_user":"` + forgedIP + `"`, `\\x0a` + forgedIP, agentIP,
	} {
		if !strings.Contains(string(data), want) {
			t.Fatalf("the audit trail lacks %s:\n%s", want, data)
		}
	}
	return logPath, events
}

// externalTool returns the path of a program the test drives.
func externalTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		toolMissing(t, "%s is not installed (.ci/install-tools installs it)", name)
	}
	return path
}

// toolMissing skips the test, or fails it under BASICAUDIT_REQUIRE_TOOLS=1
// so that CI cannot pass without running it.
func toolMissing(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("BASICAUDIT_REQUIRE_TOOLS") == "1" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// runTool runs a program to completion and returns its combined output.
func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestFail2banFilter runs fail2ban-regex with examples/fail2ban on a real
// audit trail: exactly the failures and the blocks of locked-out clients
// match, each with the client_ip of its own event, never an address from
// hostile input; and the jail loads with the filter.
func TestFail2banFilter(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: runs caddy and fail2ban")
	}
	regexTool := externalTool(t, "fail2ban-regex")
	clientTool := externalTool(t, "fail2ban-client")
	logPath, events := writeAuditTrail(t)
	filter, err := filepath.Abs("examples/fail2ban/filter.d/caddy-basicaudit.conf")
	if err != nil {
		t.Fatal(err)
	}

	type hit struct {
		ip   string
		time float64
	}
	var want []hit
	for _, ev := range events {
		if ev["event"] == "authn_login_fail" || ev["reason"] == "locked_out" {
			ip, _ := ev["client_ip"].(string)
			ts, _ := ev["ts"].(float64)
			want = append(want, hit{ip, ts})
		}
	}
	var got []hit
	out := runTool(t, regexTool, "-o", "<ip> <time>", logPath, filter)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		ip, ts, ok := strings.Cut(line, " ")
		when, err := strconv.ParseFloat(ts, 64)
		if !ok || err != nil {
			t.Fatalf("fail2ban-regex printed %q, want <ip> <time>:\n%s", line, out)
		}
		got = append(got, hit{ip, when})
	}

	if len(got) != len(want) {
		t.Fatalf("fail2ban-regex matched %d lines, want the %d failures and lockout blocks:\n%s",
			len(got), len(want), out)
	}
	for i := range want {
		// fail2ban keeps at most six decimals of the time, and none
		// when the event has fewer than three.
		if got[i].ip != want[i].ip || got[i].time < want[i].time-1 || got[i].time > want[i].time+1 {
			t.Errorf("match %d: got %s at %f, want %s at %f", i, got[i].ip, got[i].time, want[i].ip, want[i].time)
		}
		if got[i].ip == forgedIP || got[i].ip == agentIP {
			t.Errorf("match %d: took %s from hostile input", i, got[i].ip)
		}
	}

	// The jail, in a copy of the system's configuration where it is the
	// only one, reads the test's log with the example filter.
	conf := filepath.Join(t.TempDir(), "fail2ban")
	if _, err := os.Stat("/etc/fail2ban/jail.conf"); err != nil {
		toolMissing(t, "fail2ban's configuration is not in /etc/fail2ban: %v", err)
	}
	runTool(t, "cp", "-r", "/etc/fail2ban", conf)
	if err := os.RemoveAll(filepath.Join(conf, "jail.d")); err != nil {
		t.Fatal(err)
	}
	copyExample(t, "examples/fail2ban/filter.d/caddy-basicaudit.conf", filepath.Join(conf, "filter.d"))
	copyExample(t, "examples/fail2ban/jail.d/caddy-basicaudit.conf", filepath.Join(conf, "jail.d"))
	local := fmt.Sprintf("[caddy-basicaudit]\nlogpath = %s\n", logPath)
	if err := os.WriteFile(filepath.Join(conf, "jail.d", "zz-test.local"), []byte(local), 0o644); err != nil {
		t.Fatal(err)
	}
	dump := runTool(t, clientTool, "-c", conf, "-d")
	for _, want := range []string{
		"['start', 'caddy-basicaudit']",
		fmt.Sprintf("['set', 'caddy-basicaudit', 'addlogpath', '%s', 'head']", logPath),
		`'caddy-basicaudit', 'addfailregex', '^,"logger":`,
	} {
		if !strings.Contains(dump, want) {
			t.Errorf("fail2ban-client -d lacks %s:\n%s", want, dump)
		}
	}
}

// copyExample copies one example file into dir.
func copyExample(t *testing.T, src, dir string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(src)), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// crowdsecHubDirs are where packages put the hub items that CrowdSec's
// own parsers come from: Debian's offline hub, then upstream's.
var crowdsecHubDirs = []string{"/usr/share/crowdsec/hub", "/etc/crowdsec/hub", "/var/lib/crowdsec/hub"}

// crowdsecConfig is a self-contained configuration: its own database,
// a local API on a free loopback port, no Central API and no hub index
// to download.
const crowdsecConfig = `common:
  daemonize: false
  log_media: stdout
  log_level: info
config_paths:
  config_dir: %[1]s/
  data_dir: %[1]s/data/
  simulation_path: %[1]s/simulation.yaml
  hub_dir: %[1]s/hub/
  index_path: %[1]s/hub/.index.json
crowdsec_service:
  parser_routines: 1
db_config:
  type: sqlite
  db_path: %[1]s/data/crowdsec.db
  use_wal: false
api:
  client:
    credentials_path: %[1]s/local_api_credentials.yaml
  server:
    listen_uri: 127.0.0.1:%[2]d
    profiles_path: %[1]s/profiles.yaml
prometheus:
  enabled: false
`

const crowdsecProfiles = `name: default_ip_remediation
filters:
  - Alert.Remediation == true && Alert.GetScope() == "Ip"
decisions:
  - type: ban
    duration: 4h
on_success: break
`

// TestCrowdSecScenarios replays a real audit trail through CrowdSec with
// the parser and scenarios of examples/crowdsec, next to the hub's own raw
// and date stages as the package ships them: the attacker raises both
// alerts, the client sending hostile input the brute-force one under its
// own address, and nobody else raises any.
func TestCrowdSecScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: runs caddy and crowdsec")
	}
	crowdsec := externalTool(t, "crowdsec")
	cscli := externalTool(t, "cscli")
	var rawStage, dateStage string
	for _, hub := range crowdsecHubDirs {
		raw := filepath.Join(hub, "parsers/s00-raw/crowdsecurity/syslog-logs.yaml")
		date := filepath.Join(hub, "parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml")
		if _, err := os.Stat(raw); err == nil {
			if _, err := os.Stat(date); err == nil {
				rawStage, dateStage = raw, date
				break
			}
		}
	}
	if rawStage == "" {
		toolMissing(t, "crowdsec's hub parsers syslog-logs and dateparse-enrich are in none of %v", crowdsecHubDirs)
	}
	const patterns = "/etc/crowdsec/patterns"
	if _, err := os.Stat(patterns); err != nil {
		toolMissing(t, "crowdsec's grok patterns are missing: %v", err)
	}
	logPath, _ := writeAuditTrail(t)

	dir := t.TempDir()
	files := map[string]string{
		"config.yaml":     fmt.Sprintf(crowdsecConfig, dir, freePort(t)),
		"profiles.yaml":   crowdsecProfiles,
		"simulation.yaml": "simulation: off\n",
		// An index with no items: ours are local items, like any file
		// an administrator drops into the configuration.
		"hub/.index.json": `{"collections":{},"parsers":{},"postoverflows":{},"scenarios":{}}`,
	}
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"data", "dump"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(patterns, filepath.Join(dir, "patterns")); err != nil {
		t.Fatal(err)
	}
	copyExample(t, rawStage, filepath.Join(dir, "parsers/s00-raw"))
	copyExample(t, dateStage, filepath.Join(dir, "parsers/s02-enrich"))
	copyExample(t, "examples/crowdsec/parsers/s01-parse/caddy-basicaudit-logs.yaml", filepath.Join(dir,
		"parsers/s01-parse"))
	scenarios, err := filepath.Glob("examples/crowdsec/scenarios/*.yaml")
	if err != nil || len(scenarios) != 2 {
		t.Fatalf("example scenarios %v (%v), want 2", scenarios, err)
	}
	for _, s := range scenarios {
		copyExample(t, s, filepath.Join(dir, "scenarios"))
	}

	config := filepath.Join(dir, "config.yaml")
	runTool(t, cscli, "-c", config, "machines", "add", "basicaudit-test", "--auto", "--force")
	// -dump-data makes crowdsec exit once the file is read, with the
	// overflows logged and dumped rather than sent to the local API.
	out := runTool(t, crowdsec, "-c", config, "-dsn", "file://"+logPath,
		"-type", "caddy-basicaudit", "-dump-data", filepath.Join(dir, "dump"))

	got := make(map[string][]string)
	for _, m := range regexp.MustCompile(`Ip (\S+) performed '([^']+)'`).FindAllStringSubmatch(out, -1) {
		got[m[1]] = append(got[m[1]], m[2])
	}
	want := map[string][]string{
		"127.0.0.2": {"basicaudit/caddy-basicaudit-bf", "basicaudit/caddy-basicaudit-user-enum"},
		"127.0.0.3": {"basicaudit/caddy-basicaudit-bf"},
	}
	for ip := range got {
		slices.Sort(got[ip])
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("alerts by client: got %v, want %v\n%s", got, want, out)
	}
}
