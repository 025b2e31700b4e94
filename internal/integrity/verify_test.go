package integrity

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// fieldOf returns the raw JSON value of a field in a line.
func fieldOf(t testing.TB, line, key string) string {
	t.Helper()
	i := strings.Index(line, `"`+key+`":`)
	if i < 0 {
		t.Fatalf("no field %s in %s", key, line)
	}
	rest := line[i+len(key)+3:]
	end := strings.IndexAny(rest, ",}")
	if rest[0] == '"' {
		end = strings.Index(rest[1:], `"`) + 2
	}
	return rest[:end]
}

// forge seals an event as someone holding key would: it claims seq and
// chains to prevMAC.
func forge(l *testLog, key [32]byte, seq uint64, prevMAC string, fields ...kv) string {
	fields = append(fields, kv{"time", "2026-12-04T15:00:00.5Z"})
	m := make(map[string]any)
	for _, f := range fields {
		m[f.k] = f.v
	}
	canon := appendCanonical(nil, "authentication succeeded", "info", m, &chainFields{seq, l.chain.ID()})
	prev, _ := hex.DecodeString(prevMAC)
	mac := keyedSum(sha256.New(), sha256.New(), &key, prev, canon)
	fields = append(fields, kv{"seq", seq}, kv{"chain", l.chain.ID()}, kv{"mac", hex.EncodeToString(mac[:])})
	return zapLine("info", "http.handlers.audited_basic_auth.audit", "authentication succeeded", 1.5, fields)
}

func TestSealVerifyRoundTrip(t *testing.T) {
	l := standardLog(t)
	// Enough events to span many batches of the reader.
	for i := 0; i < 5000; i++ {
		if i%1000 == 999 {
			l.checkpoint()
		} else {
			l.failure(i)
		}
	}
	// A line longer than a read chunk.
	l.add("authentication failed", "warn", kv{"user_agent", strings.Repeat("x", 3*chunkSize)})
	l.failure(1)

	r, _ := verifyLines(t, l.lines, l.chain.Head().MAC)
	if len(r.Chains) != 1 {
		t.Fatalf("got %d chains, want 1", len(r.Chains))
	}
	c := r.Chains[0]
	want := uint64(len(l.lines))
	if c.Problem != nil || c.Missing != nil {
		t.Fatalf("problem in an intact log: %+v %+v", c.Problem, c.Missing)
	}
	if c.Verified != want || c.First != 1 || c.Last != want {
		t.Errorf("verified %d (seq %d..%d), want %d (seq 1..%d)", c.Verified, c.First, c.Last, want, want)
	}
	if c.Head != l.chain.Head() {
		t.Errorf("head = %+v, want %+v", c.Head, l.chain.Head())
	}
	if got := ExitCode(r); got != 0 {
		t.Errorf("ExitCode = %d, want 0", got)
	}
}

func TestSealNumbersAndChainFields(t *testing.T) {
	c, err := NewChain(testKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ID()) != 16 {
		t.Errorf("chain id %q: want 16 hex digits", c.ID())
	}
	if h := c.Head(); h.Seq != 0 || h.MAC != "" || h.Chain != c.ID() {
		t.Errorf("head before any event = %+v", h)
	}
	var macs []string
	for want := uint64(1); want <= 3; want++ {
		seq, mac := c.Seal("m", "info", map[string]any{"seq": 99, "chain": "forged"})
		if seq != want {
			t.Errorf("seq = %d, want %d", seq, want)
		}
		if len(mac) != 64 || slices.Contains(macs, mac) {
			t.Errorf("mac %q: want 64 hex digits, new each time", mac)
		}
		macs = append(macs, mac)
	}
	if h := c.Head(); h.Seq != 3 || h.MAC != macs[2] {
		t.Errorf("head = %+v, want seq 3 and the last mac", h)
	}
	other, _ := NewChain(testKey)
	if other.ID() == c.ID() {
		t.Error("two chains share an id")
	}
	if _, err := NewChain(nil); err == nil {
		t.Error("NewChain accepted an empty key")
	}
}

func TestTampering(t *testing.T) {
	// standardLog: seq n is on line n; checkpoints at seq 10, 20 and 30.
	tests := []struct {
		name     string
		tamper   func(l *testLog) []string
		kind     string
		seq      uint64
		line     int
		inDetail string
	}{
		{
			name: "field changed",
			tamper: func(l *testLog) []string {
				l.lines[14] = strings.Replace(l.lines[14], `"status":401`, `"status":200`, 1)
				return l.lines
			},
			kind: KindModified, seq: 15, line: 15, inDetail: "next event still chains",
		},
		{
			name: "msg changed",
			tamper: func(l *testLog) []string {
				l.lines[14] = strings.Replace(l.lines[14], `"msg":"authentication failed"`, `"msg":"authentication succeeded"`, 1)
				return l.lines
			},
			kind: KindModified, seq: 15, line: 15,
		},
		{
			name: "level changed",
			tamper: func(l *testLog) []string {
				l.lines[14] = strings.Replace(l.lines[14], `"level":"warn"`, `"level":"info"`, 1)
				return l.lines
			},
			kind: KindModified, seq: 15, line: 15,
		},
		{
			name: "field removed",
			tamper: func(l *testLog) []string {
				l.lines[14] = strings.Replace(l.lines[14], `"tls":false,`, ``, 1)
				return l.lines
			},
			kind: KindModified, seq: 15, line: 15,
		},
		{
			name: "field added",
			tamper: func(l *testLog) []string {
				l.lines[14] = strings.Replace(l.lines[14], `"tls":false,`, `"tls":false,"note":"ok",`, 1)
				return l.lines
			},
			kind: KindModified, seq: 15, line: 15,
		},
		{
			name: "mac changed",
			tamper: func(l *testLog) []string {
				mac := fieldOf(t, l.lines[14], "mac")
				l.lines[14] = strings.Replace(l.lines[14], mac, `"`+strings.Repeat("0", 64)+`"`, 1)
				return l.lines
			},
			kind: KindModified, seq: 15, line: 15,
		},
		{
			name: "duplicate key to mislead a reader",
			tamper: func(l *testLog) []string {
				l.lines[14] = `{"outcome":"success",` + l.lines[14][1:]
				return l.lines
			},
			kind: KindModified, seq: 15, line: 15, inDetail: "duplicate key",
		},
		{
			name: "duplicate empty key",
			tamper: func(l *testLog) []string {
				l.lines[14] = `{"":1,"":2,` + l.lines[14][1:]
				return l.lines
			},
			kind: KindModified, seq: 15, line: 15, inDetail: `duplicate key ""`,
		},
		{
			name: "line damaged beyond parsing",
			tamper: func(l *testLog) []string {
				l.lines[14] = l.lines[14][:len(l.lines[14])-20]
				return l.lines
			},
			kind: KindModified, seq: 15, line: 15, inDetail: "not a valid audit event",
		},
		{
			name: "checkpoint changed",
			tamper: func(l *testLog) []string {
				l.lines[9] = strings.Replace(l.lines[9], `"level":"info"`, `"level":"debug"`, 1)
				return l.lines
			},
			kind: KindModified, seq: 10, line: 10,
		},
		{
			name: "checkpoint made an ordinary event",
			tamper: func(l *testLog) []string {
				l.lines[9] = strings.Replace(l.lines[9], EventCheckpoint, "authn_challenge", 1)
				return l.lines
			},
			kind: KindModified, seq: 10, line: 10,
		},
		{
			name: "line deleted",
			tamper: func(l *testLog) []string {
				return slices.Delete(l.lines, 14, 15)
			},
			kind: KindDeleted, seq: 15, line: 15, inDetail: "after seq 14",
		},
		{
			name: "lines deleted",
			tamper: func(l *testLog) []string {
				return slices.Delete(l.lines, 14, 17)
			},
			kind: KindDeleted, seq: 15, line: 15, inDetail: "15..17",
		},
		{
			name: "checkpoint deleted",
			tamper: func(l *testLog) []string {
				return slices.Delete(l.lines, 9, 10)
			},
			kind: KindDeleted, seq: 10, line: 10,
		},
		{
			name: "forged line with the next seq inserted",
			tamper: func(l *testLog) []string {
				forged := strings.Replace(l.lines[14], `"seq":15`, `"seq":16`, 1)
				forged = strings.Replace(forged, `"status":401`, `"status":200`, 1)
				return slices.Insert(l.lines, 15, forged)
			},
			kind: KindInserted, seq: 16, line: 16,
		},
		{
			name: "forged line with a far seq inserted",
			tamper: func(l *testLog) []string {
				forged := strings.Replace(l.lines[14], `"seq":15`, `"seq":99`, 1)
				return slices.Insert(l.lines, 15, forged)
			},
			kind: KindInserted, seq: 99, line: 16,
		},
		{
			name: "line copied",
			tamper: func(l *testLog) []string {
				return slices.Insert(l.lines, 17, l.lines[14])
			},
			kind: KindInserted, seq: 15, line: 18, inDetail: "a copy of seq 15",
		},
		{
			name: "line copied at the end",
			tamper: func(l *testLog) []string {
				return append(l.lines, l.lines[14])
			},
			kind: KindInserted, seq: 15, line: 41, inDetail: "a copy of seq 15",
		},
		{
			name: "lines swapped",
			tamper: func(l *testLog) []string {
				l.lines[14], l.lines[15] = l.lines[15], l.lines[14]
				return l.lines
			},
			kind: KindReordered, seq: 15, line: 16, inDetail: "after seq 16",
		},
		{
			name: "lines swapped across a checkpoint",
			tamper: func(l *testLog) []string {
				l.lines[9], l.lines[10] = l.lines[10], l.lines[9]
				return l.lines
			},
			kind: KindReordered, seq: 10, line: 11,
		},
		{
			name: "line moved later",
			tamper: func(l *testLog) []string {
				moved := l.lines[14]
				lines := slices.Delete(l.lines, 14, 15)
				return slices.Insert(lines, 19, moved)
			},
			kind: KindReordered, seq: 15, line: 20,
		},
		{
			name: "line moved earlier",
			tamper: func(l *testLog) []string {
				moved := l.lines[19]
				lines := slices.Delete(l.lines, 19, 20)
				return slices.Insert(lines, 14, moved)
			},
			kind: KindReordered, seq: 15, line: 16, inDetail: "after seq 20",
		},
		{
			name: "forged with the current key in place of an old event",
			tamper: func(l *testLog) []string {
				// The key of epoch 3, as read out of the process now.
				l.lines[14] = forge(l, l.chain.key, 15, unquote(fieldOf(t, l.lines[13], "mac")), kv{"event",
					"authn_login_success"})
				return l.lines
			},
			kind: KindModified, seq: 15, line: 15, inDetail: "key of epoch 3",
		},
		{
			name: "forged with the current key inserted before an old event",
			tamper: func(l *testLog) []string {
				forged := forge(l, l.chain.key, 15, unquote(fieldOf(t, l.lines[13], "mac")), kv{"event",
					"authn_login_success"})
				return slices.Insert(l.lines, 14, forged)
			},
			kind: KindInserted, seq: 15, line: 15, inDetail: "key of epoch 3",
		},
		{
			name: "forged with the configured key but the wrong epoch",
			tamper: func(l *testLog) []string {
				k := epochZero(testKey, l.chain.ID())
				l.lines[34] = forge(l, k, 35, unquote(fieldOf(t, l.lines[33], "mac")), kv{"event", "authn_login_success"})
				return l.lines
			},
			kind: KindModified, seq: 35, line: 35,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := standardLog(t)
			r, path := verifyLines(t, tt.tamper(l), "")
			if len(r.Chains) != 1 {
				t.Fatalf("got %d chains, want 1: %+v", len(r.Chains), r.Chains)
			}
			p := r.Chains[0].Problem
			if p == nil {
				t.Fatalf("no problem found; report %+v", r.Chains[0])
			}
			if p.Kind != tt.kind || p.Seq != tt.seq || p.Line != tt.line || p.File != path || p.Chain != l.chain.ID() {
				t.Errorf("got %s seq %d at %s:%d, want %s seq %d at line %d (%s)",
					p.Kind, p.Seq, p.File, p.Line, tt.kind, tt.seq, tt.line, p.Detail)
			}
			if !strings.Contains(p.Detail, tt.inDetail) {
				t.Errorf("detail %q does not say %q", p.Detail, tt.inDetail)
			}
			if got := ExitCode(r); got != 1 {
				t.Errorf("ExitCode = %d, want 1", got)
			}
		})
	}
}

// quoteASCII writes a JSON string with every non-ASCII character
// escaped, as some log shippers do.
func quoteASCII(s string) string {
	j, _ := json.Marshal(s)
	var b strings.Builder
	for _, r := range string(j) {
		if r < utf8.RuneSelf {
			b.WriteRune(r)
			continue
		}
		for _, u := range utf16.Encode([]rune{r}) {
			fmt.Fprintf(&b, `\u%04x`, u)
		}
	}
	return b.String()
}

func ptr[T any](v T) *T { return &v }

func unquote(s string) string {
	u, err := strconv.Unquote(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestEquivalentRewriteIsNoTampering(t *testing.T) {
	// Reordered keys, spacing and escapes change the bytes, not the
	// event: a log shipper may do that.
	l := standardLog(t)
	_, _, fields := decodeLine(t, l.lines[14])
	var keys []string
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	slices.Reverse(keys)
	var b strings.Builder
	b.WriteString("{ ")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" , ")
		}
		b.WriteString(quoteASCII(k) + " : ")
		switch v := fields[k].(type) {
		case string:
			b.WriteString(quoteASCII(v))
		default:
			if k == "status" {
				b.WriteString("4.01e2")
			} else {
				b.WriteString(fieldOf(t, l.lines[14], k))
			}
		}
	}
	b.WriteString(" }\r")
	l.lines[14] = b.String()

	r, _ := verifyLines(t, l.lines, "")
	if p := r.Chains[0].Problem; p != nil || r.Chains[0].Verified != 40 {
		t.Errorf("rewritten line %s: problem %+v, verified %d", l.lines[14], p, r.Chains[0].Verified)
	}
}

func TestEvolveProtectsEarlierEpochs(t *testing.T) {
	l := newTestLog(t)
	l.failure(1)
	l.checkpoint()
	before := l.chain.key
	l.failure(3)
	if l.chain.key != before {
		t.Fatal("the key changed without a checkpoint")
	}
	l.chain.Evolve()
	if l.chain.key == before {
		t.Fatal("Evolve left the key as it was")
	}
	if l.chain.key != evolve(&before) {
		t.Error("Evolve does not follow the documented derivation")
	}

	// Forging seq 2, the checkpoint, with the current key is caught;
	// with its own epoch key it would not be.
	prev := unquote(fieldOf(t, l.lines[0], "mac"))
	for _, tt := range []struct {
		name   string
		key    [32]byte
		wantOK bool
	}{
		{"current key", l.chain.key, false},
		{"key of the epoch after", evolve(ptr(epochZero(testKey, l.chain.ID()))), false},
		{"its own epoch key", epochZero(testKey, l.chain.ID()), true},
	} {
		lines := slices.Clone(l.lines[:1])
		lines = append(lines, forge(l, tt.key, 2, prev))
		r, _ := verifyLines(t, lines, "")
		if ok := r.Chains[0].Problem == nil; ok != tt.wantOK {
			t.Errorf("%s: verified = %v, want %v (%+v)", tt.name, ok, tt.wantOK, r.Chains[0].Problem)
		}
	}
}

func TestChainsAreIndependent(t *testing.T) {
	a, b := newTestLog(t), newTestLog(t)
	a.failure(1)
	b.failure(1)
	// b's line carrying a's chain id does not verify in a's chain.
	line := strings.Replace(b.lines[0], b.chain.ID(), a.chain.ID(), 1)
	r, _ := verifyLines(t, []string{line}, "")
	if p := r.Chains[0].Problem; p == nil || p.Kind != KindModified {
		t.Errorf("a line of another chain with its id replaced: problem %+v, want modified", p)
	}
}

func TestRolledFilesInAnyOrder(t *testing.T) {
	l := standardLog(t)
	dir := t.TempDir()
	oldest := writeGzip(t, dir, "audit-2026-12-04T15-00-00.000.log.gz", l.lines[:13])
	older := writeGzip(t, dir, "audit-2026-12-04T16-00-00.000.log", l.lines[13:27])
	current := writeLog(t, dir, "audit.log", l.lines[27:])

	r, err := Verify(testKey, []string{current, oldest, older, oldest}, l.chain.Head().MAC)
	if err != nil {
		t.Fatal(err)
	}
	if c := r.Chains[0]; c.Problem != nil || c.Verified != 40 {
		t.Errorf("problem %+v, verified %d, want none and 40", c.Problem, c.Verified)
	}

	// A change inside a compressed file is found there.
	lines := slices.Clone(l.lines[13:27])
	lines[2] = strings.Replace(lines[2], `"status":401`, `"status":403`, 1)
	writeGzip(t, dir, "audit-2026-12-04T16-00-00.000.log", lines)
	r, err = Verify(testKey, []string{current, older, oldest}, "")
	if err != nil {
		t.Fatal(err)
	}
	p := r.Chains[0].Problem
	if p == nil || p.Kind != KindModified || p.File != older || p.Line != 3 || p.Seq != 16 {
		t.Errorf("got %+v, want modified seq 16 at %s:3", p, older)
	}
}

func TestOtherLinesSkipped(t *testing.T) {
	l := standardLog(t)
	var lines []string
	others := []string{
		`{"level":"info","ts":1.5,"logger":"http.log.access","msg":"handled request","status":200}`,
		`not json at all`,
		`{"level":"info","logger":"tls","msg":"event","data":{"seq":"x"}}`,
		``,
		`   `,
	}
	for i, line := range l.lines {
		lines = append(lines, line, others[i%len(others)])
	}
	r, _ := verifyLines(t, lines, "")
	if c := r.Chains[0]; c.Problem != nil || c.Verified != 40 {
		t.Errorf("problem %+v, verified %d, want none and 40", c.Problem, c.Verified)
	}
	if want := 40 / len(others) * 3; r.Skipped != want {
		t.Errorf("skipped %d lines, want %d", r.Skipped, want)
	}
}

func TestECSEvents(t *testing.T) {
	l := newTestLog(t)
	for i := 1; i <= 12; i++ {
		action := "authn_login_fail"
		if i%5 == 0 {
			action = EventCheckpoint
		}
		l.add("authentication failed", "warn",
			kv{"event.action", action},
			kv{"event.category", []string{"authentication"}},
			kv{"event.outcome", "failure"},
			kv{"http.response.status_code", 401},
			kv{"source.ip", "192.0.2.1"},
		)
	}
	r, _ := verifyLines(t, l.lines, "")
	if c := r.Chains[0]; c.Problem != nil || c.Verified != 12 {
		t.Errorf("problem %+v, verified %d, want none and 12", c.Problem, c.Verified)
	}
	l.lines[7] = strings.Replace(l.lines[7], `["authentication"]`, `["authentication","iam"]`, 1)
	r, _ = verifyLines(t, l.lines, "")
	if p := r.Chains[0].Problem; p == nil || p.Kind != KindModified || p.Seq != 8 {
		t.Errorf("got %+v, want modified seq 8", p)
	}
}

// chainAfter starts the chain that follows l after a restart, naming
// head as l's last head.
func chainAfter(t *testing.T, head Head) *testLog {
	n := newTestLog(t)
	n.add("audit chain started", "info",
		kv{"event", EventChainStart},
		kv{FieldPrevChain, head.Chain},
		kv{FieldPrevSeq, head.Seq},
		kv{FieldPrevMAC, head.MAC},
	)
	n.failure(1)
	return n
}

func TestChainStartLinks(t *testing.T) {
	tests := []struct {
		name string
		// build returns the lines and the chain expected to break, with
		// its problem.
		build func(a *testLog) ([]string, string)
		kind  string
		seq   uint64
	}{
		{
			name: "intact",
			build: func(a *testLog) ([]string, string) {
				b := chainAfter(t, a.chain.Head())
				return append(a.lines, b.lines...), ""
			},
		},
		{
			name: "head at the last checkpoint, events after it",
			build: func(a *testLog) ([]string, string) {
				h := Head{Chain: a.chain.ID(), Seq: 30, MAC: unquote(fieldOf(t, a.lines[29], "mac"))}
				b := chainAfter(t, h)
				return append(a.lines, b.lines...), ""
			},
		},
		{
			name: "previous chain not in the files",
			build: func(a *testLog) ([]string, string) {
				return chainAfter(t, a.chain.Head()).lines, ""
			},
		},
		{
			name: "tail of the previous chain cut",
			build: func(a *testLog) ([]string, string) {
				b := chainAfter(t, a.chain.Head())
				return append(a.lines[:37], b.lines...), a.chain.ID()
			},
			kind: KindTruncated, seq: 38,
		},
		{
			name: "tail of the previous chain replaced with the stolen key",
			build: func(a *testLog) ([]string, string) {
				head := a.chain.Head()
				// Events 39 and 40 rewritten by someone holding the key of
				// epoch 3, which sealed them.
				lines := slices.Clone(a.lines[:38])
				prev := unquote(fieldOf(t, lines[37], "mac"))
				f39 := forge(a, a.chain.key, 39, prev, kv{"event", "authn_login_success"})
				f40 := forge(a, a.chain.key, 40, unquote(fieldOf(t, f39, "mac")), kv{"event", "authn_login_success"})
				b := chainAfter(t, head)
				return append(append(lines, f39, f40), b.lines...), a.chain.ID()
			},
			kind: KindModified, seq: 40,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := standardLog(t)
			lines, broken := tt.build(a)
			r, _ := verifyLines(t, lines, "")
			for _, c := range r.Chains {
				switch {
				case c.Chain == broken:
					if p := c.Problem; p == nil || p.Kind != tt.kind || p.Seq != tt.seq {
						t.Errorf("chain %s: got %+v, want %s seq %d", c.Chain, p, tt.kind, tt.seq)
					}
				case c.Problem != nil:
					t.Errorf("chain %s: unexpected problem %+v", c.Chain, c.Problem)
				}
				if c.Chain != a.chain.ID() && (c.PrevHead == nil || c.PrevHead.Chain != a.chain.ID()) {
					t.Errorf("chain %s: PrevHead = %+v, want chain %s", c.Chain, c.PrevHead, a.chain.ID())
				}
			}
		})
	}
}

func TestHead(t *testing.T) {
	l := standardLog(t)
	mac := func(seq int) string { return unquote(fieldOf(t, l.lines[seq-1], "mac")) }
	tests := []struct {
		name      string
		lines     []string
		head      string
		truncated bool
		seq       uint64
	}{
		{"head is the last event", l.lines, l.chain.Head().MAC, false, 0},
		{"head in upper case", l.lines, strings.ToUpper(l.chain.Head().MAC), false, 0},
		{"head is an earlier event", l.lines, mac(30), false, 0},
		{"tail cut", l.lines[:37], l.chain.Head().MAC, true, 38},
		{"unknown head", l.lines, strings.Repeat("ab", 32), true, 41},
	}
	for _, tt := range tests {
		r, _ := verifyLines(t, tt.lines, tt.head)
		p := r.Chains[0].Problem
		switch {
		case !tt.truncated && p != nil:
			t.Errorf("%s: unexpected problem %+v", tt.name, p)
		case tt.truncated && (p == nil || p.Kind != KindTruncated || p.Seq != tt.seq):
			t.Errorf("%s: got %+v, want truncated seq %d", tt.name, p, tt.seq)
		}
	}
}

func TestMissingBeginning(t *testing.T) {
	l := standardLog(t)
	// Old rolled files removed: the files start at seq 25, in epoch 2.
	r, _ := verifyLines(t, l.lines[24:], "")
	c := r.Chains[0]
	if m := c.Missing; m == nil || m.Kind != KindDeleted || m.Seq != 1 || !strings.Contains(m.Detail, "1..24") {
		t.Errorf("Missing = %+v, want deleted seq 1..24", m)
	}
	if c.Problem != nil || c.Verified != 15 || c.First != 26 || c.Last != 40 {
		t.Errorf("problem %+v, verified %d (seq %d..%d), want none and 15 (26..40)", c.Problem,
			c.Verified, c.First, c.Last)
	}
	if got := ExitCode(r); got != 1 {
		t.Errorf("ExitCode = %d, want 1", got)
	}

	// The events after the first one present are still checked.
	lines := slices.Clone(l.lines[24:])
	lines[6] = strings.Replace(lines[6], `"status":401`, `"status":200`, 1)
	r, _ = verifyLines(t, lines, "")
	if p := r.Chains[0].Problem; p == nil || p.Kind != KindModified || p.Seq != 31 {
		t.Errorf("got %+v, want modified seq 31", p)
	}
}

func TestUnusableInput(t *testing.T) {
	dir := t.TempDir()
	l := standardLog(t)
	good := writeLog(t, dir, "audit.log", l.lines)
	badGzip := filepath.Join(dir, "bad.log.gz")
	os.WriteFile(badGzip, []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0, 'x', 'y', 'z'}, 0o600)
	corrupt := writeGzip(t, dir, "corrupt.log.gz", l.lines)
	data, _ := os.ReadFile(corrupt)
	data[len(data)-5] ^= 0xff // the length in the trailer
	os.WriteFile(corrupt, data, 0o600)
	others := writeLog(t, dir, "access.log", []string{`{"msg":"handled request"}`, "plain text"})
	empty := writeLog(t, dir, "empty.log", nil)

	tests := []struct {
		name  string
		key   []byte
		files []string
		head  string
	}{
		{"missing file", testKey, []string{filepath.Join(dir, "nope.log")}, ""},
		{"broken gzip header", testKey, []string{good, badGzip}, ""},
		{"corrupt gzip stream", testKey, []string{corrupt}, ""},
		{"no audit events", testKey, []string{others, empty}, ""},
		{"no files", testKey, nil, ""},
		{"malformed head", testKey, []string{good}, "abc"},
		{"empty key", nil, []string{good}, ""},
	}
	for _, tt := range tests {
		if _, err := Verify(tt.key, tt.files, tt.head); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
	if _, err := Verify(testKey, []string{good}, ""); err != nil {
		t.Errorf("the good file alone: %v", err)
	}
}

func TestWrongKeyFindsNothingIntact(t *testing.T) {
	l := standardLog(t)
	path := writeLog(t, t.TempDir(), "audit.log", l.lines)
	r, err := Verify([]byte("another key"), []string{path}, "")
	if err != nil {
		t.Fatal(err)
	}
	if p := r.Chains[0].Problem; p == nil || p.Seq != 1 || r.Chains[0].Verified != 0 {
		t.Errorf("wrong key: got %+v, want a problem at seq 1", p)
	}
}

func TestWriteReport(t *testing.T) {
	l := standardLog(t)
	b := chainAfter(t, l.chain.Head())
	b.lines[1] = strings.Replace(b.lines[1], `"status":401`, `"status":200`, 1)
	lines := append(slices.Clone(l.lines), `not json`)
	r, path := verifyLines(t, append(lines, b.lines...), "")

	var out bytes.Buffer
	WriteReport(&out, r)
	want := "chain " + l.chain.ID() + ": 40 events verified (seq 1..40), head " + l.chain.Head().MAC + "\n" +
		"chain " + b.chain.ID() + ": follows chain " + l.chain.ID() + " at seq 40\n" +
		"chain " + b.chain.ID() + ": modified at " + path + ":43 (seq 2): "
	if got := out.String(); !strings.HasPrefix(got, want) || !strings.HasSuffix(got,
		"\nlines skipped, not audit events: 1\n") {
		t.Errorf("report:\n%s\nwant it to start with:\n%s", got, want)
	}
	if got := ExitCode(r); got != 1 {
		t.Errorf("ExitCode = %d, want 1", got)
	}
}
