package lockout

// record is the state that a client and a username share: their
// failures and their locks.
type record struct {
	failures window
	lockEnd  int64 // nanoseconds since the tracker's epoch; kept once past
	repeat   uint8 // locks in the current streak
	stale    bool  // the failures that started the lock await clearing
	onLocked bool  // on the table's locked list
}

// locked reports whether the key is locked at now.
func (r *record) locked(now int64) bool {
	return r.lockEnd > now
}

// settle clears the failures that started a lock once the lock is over,
// so that a client leaves its lock with a fresh count. It reports
// whether it did. The clearing waits for the lock's end, rather than
// happening when the lock starts, so that events about a locked client
// still say how many failures it had.
func (r *record) settle(now int64) bool {
	if !r.stale || r.locked(now) {
		return false
	}
	r.failures.clear()
	r.stale = false
	return true
}

// lock starts a lock at now and returns its length and its rank in the
// current streak (1 for the first). The streak decays: a key that stayed
// unlocked for maxDuration since its last lock starts again at duration.
func (r *record) lock(l *limits, now int64) (length int64, repeat int) {
	if r.repeat > 0 && now-r.lockEnd >= l.maxDuration {
		r.repeat = 0
	}
	length = l.duration
	for i := uint8(0); i < r.repeat && length < l.maxDuration; i++ {
		length = min(length*2, l.maxDuration)
	}
	if r.repeat < 255 {
		r.repeat++
	}
	r.lockEnd = now + length
	r.stale = true
	return length, int(r.repeat)
}

// state is what a table keeps per key besides its record.
type state interface {
	bytes() int // memory held outside the entry
}

// entry is one tracked key, linked into one of its table's lists.
type entry[K comparable, V state] struct {
	prev, next *entry[K, V]
	key        K
	record
	val V
}

// list is a doubly linked list of entries, most recently seen first.
type list[K comparable, V state] struct {
	front, back *entry[K, V]
}

func (l *list[K, V]) pushFront(e *entry[K, V]) {
	e.prev, e.next = nil, l.front
	if l.front != nil {
		l.front.prev = e
	} else {
		l.back = e
	}
	l.front = e
}

func (l *list[K, V]) pushBack(e *entry[K, V]) {
	e.prev, e.next = l.back, nil
	if l.back != nil {
		l.back.next = e
	} else {
		l.front = e
	}
	l.back = e
}

func (l *list[K, V]) remove(e *entry[K, V]) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		l.front = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		l.back = e.prev
	}
	e.prev, e.next = nil, nil
}

// table is a bounded map of entries that evicts the least recently seen
// first, in constant time. Locked entries live on a list of their own
// and are evicted only when no unlocked entry is left, so that a flood
// of new clients cannot free a locked one. A lock that has ended stays
// on the locked list until its key is seen again or it reaches the back
// of that list, so it may outlast an unlocked entry for a while.
type table[K comparable, V state] struct {
	max    int
	index  map[K]*entry[K, V]
	open   list[K, V] // unlocked entries, most recently seen first
	locked list[K, V] // locked entries, most recently locked first
	extra  int        // bytes held by the entries' sets
}

func newTable[K comparable, V state](max int) table[K, V] {
	return table[K, V]{max: max, index: make(map[K]*entry[K, V])}
}

func (t *table[K, V]) get(k K) *entry[K, V] {
	return t.index[k]
}

// seen returns the entry of k, created if need be, as the most recently
// seen. A locked entry stays on the locked list until its lock is over.
func (t *table[K, V]) seen(k K, now int64) *entry[K, V] {
	e := t.index[k]
	if e == nil {
		for len(t.index) >= t.max {
			t.evict(now)
		}
		e = &entry[K, V]{key: k}
		t.index[k] = e
		t.open.pushFront(e)
		return e
	}
	if e.onLocked {
		if e.locked(now) {
			return e
		}
		t.locked.remove(e)
		e.onLocked = false
	} else {
		t.open.remove(e)
	}
	t.open.pushFront(e)
	return e
}

// lockStarted moves e to the front of the locked list.
func (t *table[K, V]) lockStarted(e *entry[K, V]) {
	if e.onLocked {
		t.locked.remove(e)
	} else {
		t.open.remove(e)
	}
	e.onLocked = true
	t.locked.pushFront(e)
}

// evict drops the least recently seen unlocked entry, or the earliest
// locked one when every entry is locked. Locks that have ended at the
// back of the locked list return to the back of the unlocked one first:
// their key has been quiet for the whole lock.
func (t *table[K, V]) evict(now int64) {
	for e := t.locked.back; e != nil && !e.locked(now); e = t.locked.back {
		t.locked.remove(e)
		e.onLocked = false
		t.open.pushBack(e)
	}
	e := t.open.back
	if e != nil {
		t.open.remove(e)
	} else if e = t.locked.back; e != nil {
		t.locked.remove(e)
	} else {
		return
	}
	delete(t.index, e.key)
	t.extra -= e.val.bytes()
}

// resize sets the bound and evicts down to it.
func (t *table[K, V]) resize(max int, now int64) {
	t.max = max
	for len(t.index) > t.max {
		t.evict(now)
	}
}

// lockedAt returns the number of entries locked at now.
func (t *table[K, V]) lockedAt(now int64) int {
	n := 0
	for e := t.locked.front; e != nil; e = e.next {
		if e.locked(now) {
			n++
		}
	}
	return n
}
