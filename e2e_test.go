package basicaudit_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// The end-to-end tests run a real caddy process built from ./cmd/caddy on
// loopback ports, as users run it. `go test -short` skips them.

var (
	caddyOnce sync.Once
	caddyBin  string
	caddyErr  error
)

// caddyBinary builds ./cmd/caddy once per test run.
func caddyBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: builds and runs caddy")
	}
	caddyOnce.Do(func() {
		dir, err := os.MkdirTemp("", "basicaudit-e2e-")
		if err != nil {
			caddyErr = err
			return
		}
		caddyBin = filepath.Join(dir, "caddy")
		cmd := exec.Command("go", "build", "-o", caddyBin, "./cmd/caddy")
		if out, err := cmd.CombinedOutput(); err != nil {
			caddyErr = fmt.Errorf("building caddy: %v\n%s", err, out)
		}
	})
	if caddyErr != nil {
		t.Fatal(caddyErr)
	}
	return caddyBin
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// caddyProcess is a running caddy with its output captured.
type caddyProcess struct {
	t       *testing.T
	cmd     *exec.Cmd
	stdout  *lockedBuffer
	stderr  *lockedBuffer
	admin   int
	exited  chan struct{}
	waitErr error
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startCaddy runs caddy on the Caddyfile text in dir (the working
// directory, for relative paths) and waits until the host and port of
// url (no path) accept connections. The text's
// {ADMIN} is replaced by a free admin port.
func startCaddy(t *testing.T, dir, caddyfile, url string) *caddyProcess {
	t.Helper()
	bin := caddyBinary(t)
	admin := freePort(t)
	caddyfile = strings.ReplaceAll(caddyfile, "{ADMIN}", fmt.Sprint(admin))
	config := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(config, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}

	p := &caddyProcess{
		t:      t,
		stdout: new(lockedBuffer),
		stderr: new(lockedBuffer),
		admin:  admin,
		exited: make(chan struct{}),
	}
	p.cmd = exec.Command(bin, "run", "--config", config, "--adapter", "caddyfile")
	p.cmd.Dir = dir
	p.cmd.Stdout = p.stdout
	p.cmd.Stderr = p.stderr
	p.cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_DATA_HOME="+t.TempDir(),
		"XDG_CONFIG_HOME="+t.TempDir())
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.stop)

	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-p.exited:
			t.Fatalf("caddy exited: %v\nstderr:\n%s", p.waitErr, p.stderr)
		default:
		}
		// Dial rather than request, so that no audit event is written
		// before the test's own requests.
		conn, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(url,
			"http://"), "https://"), "/"))
		if err == nil {
			conn.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy did not answer on %s: %v\nstderr:\n%s", url, err, p.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop ends caddy gracefully, so that it flushes its logs.
func (p *caddyProcess) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// jsonLines returns the JSON objects among the lines of s whose logger is
// name ("" for all).
func jsonLines(t *testing.T, s, name string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, line)
		}
		if name == "" || m["logger"] == name {
			out = append(out, m)
		}
	}
	return out
}

// waitFor polls until cond holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// get sends a request with the given headers and reads its body.
func get(t *testing.T, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	return getWith(t, http.DefaultClient, url, header)
}

// getWith is get through the client c.
func getWith(t *testing.T, c *http.Client, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// testHash is a bcrypt hash of password at the minimum cost, so that
// the tests stay fast; cost changes no decision of the handler.
func testHash(t *testing.T, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func basicHeader(user, password string) http.Header {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(user, password)
	return http.Header{"Authorization": {req.Header.Get("Authorization")}}
}

const auditLogger = "http.handlers.audited_basic_auth.audit"
