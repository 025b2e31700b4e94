package integrity

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// Limits of the verifier's bookkeeping.
const (
	// windowSize is how many events of a chain, from its first anomaly
	// on, are looked at to tell what happened. A line moved further
	// than that is reported as deleted from where it belongs.
	windowSize = 64
	// recentSize is how many verified events per chain are remembered,
	// to name the original of a duplicate and to check the head that
	// the next chain names.
	recentSize = 256
	// laterEpochs is how many epochs past its own an event that does not
	// verify is tried with, to tell a forgery with a stolen later key.
	laterEpochs = 64
	// maxEpochSearch bounds the search for the epoch of a chain whose
	// beginning is missing.
	maxEpochSearch = 1 << 18
)

// pos is the position of a line: the index of its file in reading
// order, and its line number.
type pos struct{ file, line int }

func (p pos) before(q pos) bool {
	return p.file < q.file || (p.file == q.file && p.line < q.line)
}

// event is one sealed line as the chain walk sees it. Its canonical form
// points into a batch, except in a chain's window, which keeps copies.
type event struct {
	pos   pos
	seq   uint64
	mac   [32]byte
	canon []byte
	bad   string
	kind  uint8
	link  *Head
}

// walkState is where a chain stands: the seq it expects next, the MAC
// that event chains to, and the key it is sealed with.
type walkState struct {
	next  uint64
	prev  [32]byte
	key   [32]byte
	epoch int
}

// fits reports whether e is the event the chain expects.
func (s *walkState) fits(e *event) bool {
	return e.bad == "" && e.seq == s.next && s.verifies(&s.key, e)
}

func (s *walkState) verifies(key *[32]byte, e *event) bool {
	sum := keyedSum(sha256.New(), sha256.New(), key, s.prev[:], e.canon)
	return hmac.Equal(sum[:], e.mac[:])
}

// advance moves the chain past e, which fits.
func (s *walkState) advance(e *event) {
	s.prev = e.mac
	s.next = e.seq + 1
	if e.kind == eventCheckpoint {
		s.key = evolve(&s.key)
		s.epoch++
	}
}

// seen is a verified event remembered by its chain.
type seen struct {
	seq uint64
	mac [32]byte
	pos pos
}

// recentEvents are the last events a chain verified, by seq modulo
// their number.
type recentEvents [recentSize]seen

// find returns the remembered event with a seq, if any.
func (r *recentEvents) find(seq uint64) (seen, bool) {
	if r == nil || r[seq%recentSize].seq != seq {
		return seen{}, false
	}
	return r[seq%recentSize], true
}

// chainState is the verification of one chain.
type chainState struct {
	id       string
	state    walkState
	mac      hash.Hash // HMAC under state.key, for the common path
	started  bool
	keyKnown bool

	verified    uint64
	first, last uint64 // verified seqs
	lastSeq     uint64 // last seq verified or, before any, anchored
	lastPos     pos

	problem *Problem
	missing *Problem
	link    *Head
	linkPos pos

	// window holds the events from the first anomaly on, until there
	// are enough to classify it, along with the state before it.
	window     []event
	pending    walkState
	pendingPos pos

	// recent and checkpoints are made at the first verified event: a
	// log may name any number of chains that never verify.
	recent      *recentEvents
	checkpoints map[uint64]seen
}

// verifier holds the state of one Verify call.
type verifier struct {
	key     []byte
	files   []inputFile
	headMAC [32]byte
	headSet bool

	chains    map[string]*chainState
	order     []*chainState
	newest    *chainState
	headFound bool
	skipped   int
	damaged   []pos // lines that look like audit events but name no chain
}

// consume takes the next record in reading order.
func (v *verifier) consume(b *batch, r *record) {
	p := pos{b.file, r.line}
	switch r.kind {
	case kindOther:
		v.skipped++
		return
	case kindDamaged:
		v.skipped++
		v.damaged = append(v.damaged, p)
		return
	}
	c := v.chains[string(r.chain.of(b.arena))]
	if c == nil {
		c = &chainState{id: string(r.chain.of(b.arena))}
		v.chains[c.id] = c
		v.order = append(v.order, c)
	}
	v.newest = c
	e := event{pos: p, seq: r.seq, mac: r.mac, canon: r.canon.of(b.arena), bad: r.bad, kind: r.event,
		link: r.link}
	v.add(c, &e)
}

// add walks a chain one event on.
func (v *verifier) add(c *chainState, e *event) {
	switch {
	case c.problem != nil:
		return
	case c.window != nil:
		c.window = append(c.window, e.clone())
		if len(c.window) == windowSize {
			v.classify(c)
		}
		return
	case !c.started:
		c.started = true
		if e.seq > 1 {
			v.anchor(c, e)
			return
		}
		c.state = walkState{next: 1, prev: genesis(c.id), key: epochZero(v.key, c.id)}
		c.keyKnown = true
		c.mac = hmac.New(sha256.New, c.state.key[:])
		c.lastPos = pos{file: -1}
	case !c.keyKnown:
		v.findEpoch(c, e)
		return
	}

	if e.bad == "" && e.seq == c.state.next && c.fits(e) {
		v.accept(c, e)
		return
	}
	c.window = []event{e.clone()}
	c.pending = c.state
	c.pendingPos = c.lastPos
}

// fits checks an event's MAC with the chain's own HMAC, which saves
// setting up the key for each event.
func (c *chainState) fits(e *event) bool {
	c.mac.Reset()
	c.mac.Write(c.state.prev[:])
	c.mac.Write(e.canon)
	var sum [32]byte
	return hmac.Equal(c.mac.Sum(sum[:0]), e.mac[:])
}

// accept moves a chain past an event that verified.
func (v *verifier) accept(c *chainState, e *event) {
	c.verified++
	if c.first == 0 {
		c.first = e.seq
	}
	c.last, c.lastSeq, c.lastPos = e.seq, e.seq, e.pos
	if c.recent == nil {
		c.recent = new(recentEvents)
		c.checkpoints = make(map[uint64]seen)
	}
	c.recent[e.seq%recentSize] = seen{e.seq, e.mac, e.pos}
	if e.kind == eventCheckpoint {
		c.checkpoints[e.seq] = seen{e.seq, e.mac, e.pos}
	}
	if e.kind == eventChainStart && e.seq == 1 && e.link != nil {
		c.link, c.linkPos = e.link, e.pos
	}
	if v.headSet && e.mac == v.headMAC {
		v.headFound = true
	}
	key := c.state.key
	c.state.advance(e)
	if c.state.key != key {
		c.mac = hmac.New(sha256.New, c.state.key[:])
	}
}

// anchor starts the walk of a chain whose beginning is not in the files
// at its first event present. That event cannot be verified, having no
// predecessor, but it gives the MAC the next one chains to.
func (v *verifier) anchor(c *chainState, e *event) {
	c.missing = &Problem{
		Kind: KindDeleted, Chain: c.id, Seq: 1,
		File: v.files[e.pos.file].path, Line: e.pos.line,
		Detail: fmt.Sprintf("the chain's start, seq %s, is not in the files, and the first event present, seq %d, cannot be verified without it (older rolled files missing?)",
			seqRange(1, e.seq-1), e.seq),
	}
	if e.bad != "" {
		c.problem = v.problemAt(KindModified, c, e.seq, e.pos, e.bad)
		return
	}
	c.state = walkState{next: e.seq + 1, prev: e.mac}
	c.lastSeq, c.lastPos = e.seq, e.pos
}

// findEpoch verifies the event after an anchor, finding the epoch key
// it was sealed with: the number of checkpoints before the anchor is
// unknown.
func (v *verifier) findEpoch(c *chainState, e *event) {
	switch {
	case e.bad != "":
		c.problem = v.problemAt(KindModified, c, e.seq, e.pos, e.bad)
		return
	case e.seq < c.state.next:
		c.problem = v.problemAt(KindInserted, c, e.seq, e.pos,
			fmt.Sprintf("seq %d comes after seq %d", e.seq, c.state.next-1))
		return
	case e.seq > c.state.next:
		c.problem = v.problemAt(KindDeleted, c, c.state.next, e.pos,
			fmt.Sprintf("seq %s missing before this line", seqRange(c.state.next, e.seq-1)))
		return
	}
	k := epochZero(v.key, c.id)
	for i := range maxEpochSearch {
		if c.state.verifies(&k, e) {
			c.state.key, c.state.epoch = k, i
			c.keyKnown = true
			c.mac = hmac.New(sha256.New, k[:])
			v.accept(c, e)
			return
		}
		k = evolve(&k)
	}
	c.problem = v.problemAt(KindModified, c, e.seq, e.pos,
		fmt.Sprintf("the event does not verify with any of the first %d epoch keys: it, or seq %d before it, was changed", maxEpochSearch, e.seq-1))
}

func (e *event) clone() event {
	c := *e
	c.canon = bytes.Clone(e.canon)
	return c
}

// classify names the first problem of a chain from the events of its
// window. The first of them, w[0], is the anomaly: it did not fit.
func (v *verifier) classify(c *chainState) {
	w := c.window
	c.window = nil
	st := c.pending

	// Is the event the chain expected further on?
	j := -1
	for i := 1; i < len(w); i++ {
		if st.fits(&w[i]) {
			j = i
			break
		}
	}
	if j < 0 {
		c.problem = v.unplaced(c, st, w)
		return
	}

	// The lines before it were either moved there, and then one of them
	// fits once the chain reaches its seq, or they do not belong.
	moved := w[:j]
	after := st
	after.advance(&w[j])
	rest := w[j+1:]
	for {
		for i := range moved {
			if after.fits(&moved[i]) {
				c.problem = v.problemAt(KindReordered, c, st.next, w[j].pos,
					fmt.Sprintf("seq %d comes after seq %d at %s: the lines are out of order",
						st.next, moved[i].seq, v.where(moved[i].pos)))
				return
			}
		}
		if len(rest) == 0 || !after.fits(&rest[0]) {
			break
		}
		after.advance(&rest[0])
		rest = rest[1:]
	}

	e := &w[0]
	var detail string
	switch {
	case e.bad != "":
		detail = e.bad + "; the genuine seq " + fmt.Sprint(st.next) + " follows at " + v.where(w[j].pos)
	case e.seq == st.next:
		detail = fmt.Sprintf("a line claiming seq %d does not verify, and the genuine seq %d follows at %s%s",
			e.seq, st.next, v.where(w[j].pos), laterKeyNote(st, e))
	case e.seq < st.next:
		detail = v.againDetail(c, e, st)
	default:
		detail = fmt.Sprintf("a line claiming seq %d does not belong to the chain here; seq %d follows at %s",
			e.seq, st.next, v.where(w[j].pos))
	}
	c.problem = v.problemAt(KindInserted, c, e.seq, e.pos, detail)
}

// unplaced names the problem of an anomaly when the event the chain
// expected is not among the events that follow it.
func (v *verifier) unplaced(c *chainState, st walkState, w []event) *Problem {
	e := &w[0]
	switch {
	case e.bad != "":
		seq := e.seq
		if seq == 0 {
			seq = st.next
		}
		return v.problemAt(KindModified, c, seq, e.pos, e.bad)

	case e.seq == st.next:
		detail := "the mac does not match the event"
		if len(w) > 1 && w[1].seq == e.seq+1 && chainsTo(st, e, &w[1]) {
			detail = "a field was changed: the mac does not match the event, while the next event still chains to it"
		}
		return v.problemAt(KindModified, c, e.seq, e.pos, detail+laterKeyNote(st, e))

	case e.seq > st.next:
		// A line damaged beyond parsing, where the missing event was,
		// was modified rather than deleted.
		for _, d := range v.damaged {
			if c.pendingPos.before(d) && d.before(e.pos) {
				return v.problemAt(KindModified, c, st.next, d,
					fmt.Sprintf("the line is not a valid audit event, where seq %d was expected", st.next))
			}
		}
		detail := fmt.Sprintf("seq %s missing before this line", seqRange(st.next, e.seq-1))
		if c.pendingPos.file >= 0 {
			detail += fmt.Sprintf(", after seq %d at %s", st.next-1, v.where(c.pendingPos))
		}
		return v.problemAt(KindDeleted, c, st.next, e.pos, detail)
	}

	return v.problemAt(KindInserted, c, e.seq, e.pos, v.againDetail(c, e, st))
}

// againDetail describes an event whose seq the chain has passed.
func (v *verifier) againDetail(c *chainState, e *event, st walkState) string {
	if s, ok := c.recent.find(e.seq); ok {
		if s.mac == e.mac {
			return fmt.Sprintf("a copy of seq %d at %s", e.seq, v.where(s.pos))
		}
		return fmt.Sprintf("seq %d was already verified at %s", e.seq, v.where(s.pos))
	}
	return fmt.Sprintf("seq %d comes again after seq %d", e.seq, st.next-1)
}

// chainsTo reports whether next chains to the MAC that e carries, with
// the key of e's epoch or, e being a checkpoint, the one after it.
func chainsTo(st walkState, e, next *event) bool {
	s := walkState{next: next.seq, prev: e.mac, key: st.key}
	if s.fits(next) {
		return true
	}
	s.key = evolve(&s.key)
	return s.fits(next)
}

// laterKeyNote tells, when an event verifies with the key of a later
// epoch than its own, that it was forged by someone holding that key.
func laterKeyNote(st walkState, e *event) string {
	k := st.key
	for i := 1; i <= laterEpochs; i++ {
		k = evolve(&k)
		if st.verifies(&k, e) {
			return fmt.Sprintf("; its mac was made with the key of epoch %d, not with that of its own epoch %d: it was forged with a key taken after the fact",
				st.epoch+i, st.epoch)
		}
	}
	return ""
}

// finish classifies pending anomalies and checks where the chains end.
func (v *verifier) finish() {
	for _, c := range v.order {
		if c.window != nil {
			v.classify(c)
		}
	}

	// A chain start names the head of the chain before it: that chain
	// must reach it, with the same MAC.
	for _, c := range v.order {
		if c.link == nil {
			continue
		}
		prev := v.chains[c.link.Chain]
		if prev == nil || prev.problem != nil || prev == c {
			continue
		}
		if prev.lastSeq < c.link.Seq {
			prev.problem = v.problemAt(KindTruncated, prev, prev.lastSeq+1, prev.lastPos,
				fmt.Sprintf("the chain ends at seq %d, but chain %s, started at %s, names seq %d as its head",
					prev.lastSeq, c.id, v.where(c.linkPos), c.link.Seq))
			continue
		}
		mac, at, ok := prev.macOf(c.link.Seq)
		if ok && !strings.EqualFold(hex.EncodeToString(mac[:]), c.link.MAC) {
			prev.problem = v.problemAt(KindModified, prev, c.link.Seq, at,
				fmt.Sprintf("chain %s, started at %s, names another mac for seq %d as its head",
					c.id, v.where(c.linkPos), c.link.Seq))
		}
	}

	if v.headSet && !v.headFound {
		if c := v.newest; c.problem == nil {
			c.problem = v.problemAt(KindTruncated, c, c.lastSeq+1, c.lastPos,
				fmt.Sprintf("no verified event has the expected head mac; the chain ends at seq %d", c.lastSeq))
		}
	}
}

// macOf returns the MAC and position of a verified event, if the chain
// still remembers it: a checkpoint, or one of the last events.
func (c *chainState) macOf(seq uint64) ([32]byte, pos, bool) {
	if s, ok := c.recent.find(seq); ok {
		return s.mac, s.pos, true
	}
	if s, ok := c.checkpoints[seq]; ok {
		return s.mac, s.pos, true
	}
	return [32]byte{}, pos{}, false
}

func (v *verifier) problemAt(kind string, c *chainState, seq uint64, p pos, detail string) *Problem {
	pr := &Problem{Kind: kind, Chain: c.id, Seq: seq, Line: p.line, Detail: detail}
	if p.file >= 0 {
		pr.File = v.files[p.file].path
	}
	return pr
}

// where names a position as file:line.
func (v *verifier) where(p pos) string {
	if p.file < 0 {
		return "the start"
	}
	return fmt.Sprintf("%s:%d", v.files[p.file].path, p.line)
}

func seqRange(a, b uint64) string {
	if a == b {
		return fmt.Sprint(a)
	}
	return fmt.Sprintf("%d..%d", a, b)
}

// report assembles the Report.
func (v *verifier) report() Report {
	r := Report{Skipped: v.skipped}
	for _, c := range v.order {
		cr := ChainReport{
			Chain: c.id, Verified: c.verified, First: c.first, Last: c.last,
			Problem: c.problem, Missing: c.missing, PrevHead: c.link,
		}
		if c.verified > 0 {
			cr.Head = Head{Chain: c.id, Seq: c.last, MAC: hex.EncodeToString(c.state.prev[:])}
		}
		r.Chains = append(r.Chains, cr)
	}
	return r
}
