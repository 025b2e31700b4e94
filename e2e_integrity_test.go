package basicaudit_test

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/basicaudit/caddy-basicaudit/internal/integrity"
)

const integrityKey = "e2e-integrity-key-Zm9vYmFy"

// integrityCaddyfile serves one site whose audit events are sealed and
// written to dir/audit.log, with Caddy's storage in dir/storage so that a
// restart finds the previous chain's head.
func integrityCaddyfile(dir, site, hash, body string) string {
	return fmt.Sprintf(`{
	admin localhost:{ADMIN}
	storage file_system %[1]s/storage
	log default {
		output stderr
		exclude http.handlers.audited_basic_auth.audit
	}
	log audit {
		output file %[1]s/audit.log
		format json
		include http.handlers.audited_basic_auth.audit
	}
}
http://%[2]s {
	audited_basic_auth {
		ivy %[3]s
		integrity {
			key {file.%[1]s/key}
			checkpoint_interval 1s
		}
	}
	respond "%[4]s"
}
`, dir, site, hash, body)
}

// runVerify runs `caddy basicaudit verify` and returns its exit status
// and output.
func runVerify(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(caddyBinary(t), append([]string{"basicaudit", "verify"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		return exit.ExitCode(), out.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String()
}

// TestE2EIntegrity writes a sealed audit log with a real caddy across a
// reload and a restart, verifies it, then tampers with copies of it in
// every way the verifier must catch.
func TestE2EIntegrity(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte(integrityKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hash := testHash(t, "ivy-pass")
	site := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	url := "http://" + site + "/"
	traffic := func(n int) {
		for i := range n {
			get(t, url, nil)
			get(t, url, basicHeader("ivy", "ivy-pass"))
			get(t, url, basicHeader("ivy", fmt.Sprintf("wrong-%d", i)))
			time.Sleep(300 * time.Millisecond)
		}
	}

	p := startCaddy(t, dir, integrityCaddyfile(dir, site, hash, "first"), url)
	traffic(8) // spans checkpoints, so the key evolves

	// A reload continues the chain.
	reload := strings.ReplaceAll(integrityCaddyfile(dir, site, hash, "second"), "{ADMIN}", fmt.Sprint(p.admin))
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://localhost:%d/load", p.admin),
		strings.NewReader(reload))
	req.Header.Set("Content-Type", "text/caddyfile")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("reload: status %d", resp.StatusCode)
	}
	if _, body := get(t, url, basicHeader("ivy", "ivy-pass")); body != "second" {
		t.Fatalf("reload not in effect: %q", body)
	}
	traffic(3)
	p.stop()

	// A restart starts a new chain linked to the old one.
	p = startCaddy(t, dir, integrityCaddyfile(dir, site, hash, "third"), url)
	traffic(2)
	p.stop()

	logPath := filepath.Join(dir, "audit.log")
	lines := readLines(t, logPath)
	chains := map[string][]map[string]any{}
	var order []string
	for _, line := range lines {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		id, _ := ev["chain"].(string)
		if _, ok := chains[id]; !ok {
			order = append(order, id)
		}
		chains[id] = append(chains[id], ev)
	}
	if len(order) != 2 {
		t.Fatalf("got %d chains, want 2 (one across the reload, one after the restart)", len(order))
	}
	first, second := chains[order[0]], chains[order[1]]
	checkpoints := 0
	for i, ev := range first {
		if ev["seq"] != float64(i+1) {
			t.Fatalf("first chain: event %d has seq %v", i, ev["seq"])
		}
		if ev["event"] == "audit_checkpoint" {
			checkpoints++
		}
	}
	if checkpoints < 2 {
		t.Errorf("first chain has %d checkpoints, want at least 2", checkpoints)
	}
	start := second[0]
	last := first[len(first)-1]
	if start["event"] != "audit_chain_start" || start["prev_chain"] != order[0] ||
		start["prev_seq"] != last["seq"] || start["prev_mac"] != last["mac"] {
		t.Errorf("second chain's start %v does not name the first chain's head seq %v mac %v", start,
			last["seq"], last["mac"])
	}

	if status, out := runVerify(t, "--key", keyFile, logPath); status != 0 {
		t.Fatalf("verify of the untouched log: exit %d\n%s", status, out)
	}
	if status, out := runVerify(t, "--key", keyFile, "--head", second[len(second)-1]["mac"].(string),
		logPath); status != 0 {
		t.Fatalf("verify with the right head: exit %d\n%s", status, out)
	}
	// Without its first lines (rolled files deleted), a chain verifies
	// only with --partial.
	headless := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(headless, []byte(strings.Join(lines[5:], "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if status, out := runVerify(t, "--key", keyFile, headless); status != 1 {
		t.Errorf("verify of a chain without its beginning: exit %d, want 1\n%s", status, out)
	}
	if status, out := runVerify(t, "--key", keyFile, "--partial", headless); status != 0 {
		t.Errorf("verify --partial of a chain without its beginning: exit %d, want 0\n%s", status, out)
	}
	// Only the second chain: intact, but the first is named as absent.
	secondOnly := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(secondOnly, []byte(strings.Join(lines[len(first):], "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if status, out := runVerify(t, "--key", keyFile, secondOnly); status != 0 || !strings.Contains(out,
		"chain "+order[0]+": not in the files") {
		t.Errorf("verify of the second chain alone: exit %d, want 0 naming the absent first chain\n%s", status, out)
	}

	wrongKey := filepath.Join(t.TempDir(), "wrong.key")
	if err := os.WriteFile(wrongKey, []byte("not-the-key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if status, out := runVerify(t, "--key", wrongKey, logPath); status != 1 || !strings.Contains(out,
		"check that the key") {
		t.Errorf("verify with a wrong key: exit %d, want 1 with a hint about the key\n%s", status, out)
	}
	if status, _ := runVerify(t, "--key", filepath.Join(dir, "missing"), logPath); status != 2 {
		t.Errorf("verify with an unreadable key: exit %d, want 2", status)
	}

	// Tampered copies. Line numbers are 1-based indices into lines; the
	// first chain's events are lines[0:len(first)].
	mid := len(first) / 2
	currentKeyForgery := forgeWithCurrentKey(t, first, mid, checkpoints)
	tests := []struct {
		name   string
		edit   func([]string) []string
		args   []string
		wantIn string // a word the report must hold
		seq    int    // the seq the report must name, when known
	}{
		{"changed field", func(l []string) []string {
			l[mid] = strings.Replace(l[mid], `"status":401`, `"status":200`, 1)
			l[mid] = strings.Replace(l[mid], `"status":204`, `"status":200`, 1)
			l[mid] = strings.Replace(l[mid], `"path":"/"`, `"path":"/x"`, 1)
			return l
		}, nil, "modified", mid + 1},
		{"deleted line", func(l []string) []string { return append(l[:mid:mid], l[mid+1:]...) }, nil, "deleted", 0},
		{"inserted forged line", func(l []string) []string {
			forged := strings.Replace(l[mid], `"path":"/"`, `"path":"/admin"`, 1)
			return append(l[:mid:mid], append([]string{forged}, l[mid:]...)...)
		}, nil, "", 0},
		{"swapped lines", func(l []string) []string { l[mid], l[mid+1] = l[mid+1], l[mid]; return l }, nil, "", 0},
		{"cut tail of the first chain", func(l []string) []string {
			return append(l[:len(first)-3:len(first)-3], l[len(first):]...)
		}, nil, "truncated", 0},
		{"cut tail of the newest chain", func(l []string) []string { return l[:len(l)-2] },
			[]string{"--head", second[len(second)-1]["mac"].(string)}, "truncated", 0},
		{"forged with the current key at an earlier position", func(l []string) []string {
			l[mid] = currentKeyForgery
			return l
		}, nil, "modified", mid + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edited := tt.edit(append([]string(nil), lines...))
			path := filepath.Join(t.TempDir(), "audit.log")
			if err := os.WriteFile(path, []byte(strings.Join(edited, "\n")+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"--key", keyFile}, tt.args...)
			status, out := runVerify(t, append(args, path)...)
			if status != 1 {
				t.Fatalf("exit %d, want 1\n%s", status, out)
			}
			if tt.wantIn != "" && !strings.Contains(out, tt.wantIn) {
				t.Errorf("report lacks %q:\n%s", tt.wantIn, out)
			}
			if tt.seq != 0 && !strings.Contains(out, fmt.Sprintf("(seq %d)", tt.seq)) {
				t.Errorf("report does not name seq %d:\n%s", tt.seq, out)
			}
			// The report names the chain of the damage.
			if tt.name != "cut tail of the newest chain" && !strings.Contains(out, order[0]) {
				t.Errorf("report does not name chain %s:\n%s", order[0], out)
			}
		})
	}
}

// forgeWithCurrentKey rewrites event i of chain (changing its path) with
// a correct-looking mac computed under the chain's latest epoch key,
// which an intruder could read from the running process: the verifier
// must still refuse it, since event i was sealed under an earlier key.
func forgeWithCurrentKey(t *testing.T, chain []map[string]any, i, checkpoints int) string {
	t.Helper()
	ev := map[string]any{}
	for k, v := range chain[i] {
		ev[k] = v
	}
	ev["path"] = "/forged"
	id := ev["chain"].(string)

	m := hmac.New(sha256.New, []byte(integrityKey))
	m.Write([]byte("caddy-basicaudit chain " + id))
	key := m.Sum(nil)
	for range checkpoints {
		m := hmac.New(sha256.New, key)
		m.Write([]byte("evolve"))
		key = m.Sum(nil)
	}

	fields := map[string]any{}
	for k, v := range ev {
		switch k {
		case "level", "ts", "logger", "msg", "mac":
		default:
			fields[k] = v
		}
	}
	prev, err := hex.DecodeString(chain[i-1]["mac"].(string))
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(prev)
	mac.Write(integrity.Canonical(ev["msg"].(string), ev["level"].(string), fields))
	ev["mac"] = hex.EncodeToString(mac.Sum(nil))
	line, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return string(line)
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// TestE2EIntegrityECS: a sealed log under `schema ecs` verifies, links a
// restarted chain to the previous one, and shows tampering.
func TestE2EIntegrityECS(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte(integrityKey), 0o600); err != nil {
		t.Fatal(err)
	}
	hash := testHash(t, "ivy-pass")
	site := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	url := "http://" + site + "/"
	config := strings.Replace(integrityCaddyfile(dir, site, hash, "in"), "\t\tivy ",
		"\t\tschema ecs\n\t\tivy ", 1)
	for run := range 2 {
		p := startCaddy(t, dir, config, url)
		for i := range 6 {
			get(t, url, nil)
			get(t, url, basicHeader("ivy", "ivy-pass"))
			get(t, url, basicHeader("ivy", fmt.Sprintf("wrong-%d-%d", run, i)))
			time.Sleep(250 * time.Millisecond)
		}
		p.stop()
	}
	logPath := filepath.Join(dir, "audit.log")
	lines := readLines(t, logPath)
	if !strings.Contains(lines[0], `"event.sequence":1`) || !strings.Contains(lines[0], `"labels.chain":"`) {
		t.Fatalf("first line lacks the ECS names of the chain fields: %s", lines[0])
	}
	status, out := runVerify(t, "--key", keyFile, logPath)
	if status != 0 || !strings.Contains(out, "follows chain") {
		t.Fatalf("verify: exit %d, want 0 with two linked chains\n%s", status, out)
	}

	mid := len(lines) / 3
	for !strings.Contains(lines[mid], `"url.path":"/"`) {
		mid++
	}
	lines[mid] = strings.Replace(lines[mid], `"url.path":"/"`, `"url.path":"/admin"`, 1)
	tampered := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(tampered, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if status, out := runVerify(t, "--key", keyFile, tampered); status != 1 || !strings.Contains(out,
		"modified") {
		t.Errorf("tampered ECS log: exit %d, want 1 naming a modification\n%s", status, out)
	}
}
