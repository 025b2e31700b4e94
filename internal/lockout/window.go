package lockout

import "math"

// buckets is the number of slices a sliding window is cut into.
const buckets = 16

// window counts events in a sliding window cut into buckets equal
// slices, so that it costs 48 bytes whatever the count. Precision: an
// event stops counting when the slice it fell in leaves the window,
// which is never later than one Window after the event and never
// earlier than Window minus one slice (Window/16).
//
// The width of a slice follows the window of the calling Policy. Two
// handlers with different windows share a client's counts: when the
// width changes, each slice's count moves to the new slice holding the
// old slice's start, so no event ever counts for longer than the
// window of the call that reads it.
type window struct {
	width  int64 // nanoseconds per slice; zero while empty
	head   int64 // number of the newest slice: time / width
	counts [buckets]uint16
}

// advance moves the window to now for a window of span nanoseconds,
// dropping the slices that fell out of it. A time earlier than the
// newest slice, as concurrent callers can produce, counts as the newest
// slice.
func (w *window) advance(now, span int64) {
	width := max(span/buckets, 1)
	if w.width == 0 {
		w.width, w.head = width, now/width
		return
	}
	if width != w.width {
		w.rescale(width)
	}
	cur := now / width
	if cur <= w.head {
		return
	}
	if cur-w.head >= buckets {
		w.counts = [buckets]uint16{}
	} else {
		for b := w.head + 1; b <= cur; b++ {
			w.counts[b%buckets] = 0
		}
	}
	w.head = cur
}

// rescale moves the counts to slices of a new width.
func (w *window) rescale(width int64) {
	old := *w
	*w = window{width: width, head: old.head * old.width / width}
	for i := int64(0); i < buckets; i++ {
		b := old.head - i
		if b < 0 {
			break
		}
		c := old.counts[b%buckets]
		nb := b * old.width / width
		if c == 0 || nb <= w.head-buckets {
			continue
		}
		w.counts[nb%buckets] = addSaturating(w.counts[nb%buckets], c)
	}
}

// add counts one event in the newest slice; advance must come first.
func (w *window) add() {
	i := w.head % buckets
	w.counts[i] = addSaturating(w.counts[i], 1)
}

// sum returns the events in the window; advance must come first.
func (w *window) sum() int {
	n := 0
	for _, c := range w.counts {
		n += int(c)
	}
	return n
}

// clear forgets every event.
func (w *window) clear() {
	*w = window{}
}

func addSaturating(a, b uint16) uint16 {
	if a > math.MaxUint16-b {
		return math.MaxUint16
	}
	return a + b
}
