package lockout

// stamp is a 32-bit hash and the second (since the tracker's epoch) it
// was last recorded at.
type stamp struct {
	hash, at uint32
}

// stampSet is a small set of recently seen hashes: credential
// fingerprints, usernames or clients. Its time precision is one second:
// a hash is recent while fewer whole seconds than the window's, rounded
// up, separate the second it was recorded in from the current one.
type stampSet []stamp

// prune drops the hashes recorded horizon seconds or more before now,
// keeping the order of the rest.
func (s *stampSet) prune(now, horizon uint32) {
	kept := (*s)[:0]
	for _, st := range *s {
		// A later stamp comes from a concurrent caller's clock.
		if st.at >= now || now-st.at < horizon {
			kept = append(kept, st)
		}
	}
	*s = kept
}

// has reports whether h is in the set.
func (s stampSet) has(h uint32) bool {
	for _, st := range s {
		if st.hash == h {
			return true
		}
	}
	return false
}

// put records h at now. A hash already present is refreshed; a new one
// is added while the set holds fewer than limit, and replaces the
// oldest once it is full, so the set never grows past limit.
func (s *stampSet) put(h, now uint32, limit int) {
	oldest := -1
	for i, st := range *s {
		if st.hash == h {
			(*s)[i].at = now
			return
		}
		if oldest < 0 || st.at < (*s)[oldest].at {
			oldest = i
		}
	}
	if len(*s) < limit {
		*s = append(*s, stamp{hash: h, at: now})
		return
	}
	if oldest >= 0 {
		(*s)[oldest] = stamp{hash: h, at: now}
	}
}

// bytes returns the memory the set holds outside its header.
func (s stampSet) bytes() int {
	return cap(s) * 8
}
