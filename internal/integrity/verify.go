package integrity

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"
)

// Kinds of a Problem.
const (
	KindModified  = "modified"
	KindInserted  = "inserted"
	KindDeleted   = "deleted"
	KindReordered = "reordered"
	KindTruncated = "truncated"
)

// Problem is the first thing wrong with a chain.
type Problem struct {
	Kind   string // one of the Kind constants
	Chain  string
	Seq    uint64 // the event concerned, or the first one missing
	File   string // where it is, or where it was expected
	Line   int
	Detail string // what was found, in a sentence for the analyst
}

// ChainReport is what Verify found about one chain.
type ChainReport struct {
	Chain string

	// Verified is the number of events whose MAC verified, from seq
	// First to seq Last. Verification stops at the first problem.
	Verified    uint64
	First, Last uint64

	// Head is the chain's last verified event.
	Head Head

	// Problem is the first problem of the chain, if any.
	Problem *Problem

	// Missing, when set, says that the chain's first events are not in
	// the files (kind deleted): the files start in the middle of the
	// chain, as they do once old rolled files have been removed. The
	// first event present cannot be verified without the one before
	// it; the events after it are verified from there.
	Missing *Problem

	// PrevHead is the head of the chain before this one, as named by
	// this chain's audit_chain_start event.
	PrevHead *Head
}

// Report is what Verify found in a set of files.
type Report struct {
	Chains []ChainReport

	// Skipped counts the lines that are not audit events: lines of
	// other loggers, lines that are not JSON, and lines that look like
	// audit events but name no chain, which count against the chain
	// whose event is missing where they are.
	Skipped int
}

// Tuning of the reader.
const (
	chunkSize = 256 << 10 // bytes read at once into one batch
	maxLine   = 64 << 20  // longest line accepted
)

// Verify checks the integrity chains in the given log files, plain or
// gzip-compressed (as Caddy rolls them) in any order, with the key the
// events were sealed with. The files are read in the order of the time
// field of their first audit events, and the events grouped by chain.
//
// With head set, the MAC of an event known to have been written (the
// head stored at the last checkpoint, say), some verified event must
// carry it: the log may have grown since, but not shrunk. If none does,
// the newest chain, that of the last audit event read, is reported
// truncated.
//
// Verify returns an error only for input it cannot use: an unreadable
// file, a broken gzip stream, a line over 64 MiB, a malformed head, or
// no audit event at all. Whatever it finds wrong in the events is in
// the report.
func Verify(key []byte, files []string, head string) (Report, error) {
	if len(key) == 0 {
		return Report{}, errors.New("verifying: the key is empty")
	}
	v := &verifier{key: key, chains: make(map[string]*chainState)}
	if head != "" {
		if !parseMAC([]byte(head), &v.headMAC) {
			return Report{}, errors.New("parsing head: want 64 hex digits")
		}
		v.headSet = true
	}
	var err error
	if v.files, err = orderFiles(files); err != nil {
		return Report{}, err
	}
	if err := v.run(); err != nil {
		return Report{}, err
	}
	if len(v.order) == 0 {
		return Report{}, errors.New("verifying: no audit event in the files")
	}
	v.finish()
	return v.report(), nil
}

// inputFile is a file to verify, with the time of its first audit event.
type inputFile struct {
	path    string
	first   time.Time
	hasTime bool
}

// orderFiles puts the files in the order they were written: by the time
// of their first audit event, which a rolled file keeps whatever its
// name. Files without one keep their relative order, after the others.
// A file given twice is read once.
func orderFiles(paths []string) ([]inputFile, error) {
	var files []inputFile
	var infos []os.FileInfo
	for _, path := range paths {
		info, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("reading log: %w", err)
		}
		if slices.ContainsFunc(infos, func(o os.FileInfo) bool { return os.SameFile(o, info) }) {
			continue
		}
		infos = append(infos, info)
		f := inputFile{path: path}
		if f.first, f.hasTime, err = firstTime(path); err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	slices.SortStableFunc(files, func(a, b inputFile) int {
		switch {
		case a.hasTime && b.hasTime:
			return a.first.Compare(b.first)
		case a.hasTime:
			return -1
		case b.hasTime:
			return 1
		}
		return 0
	})
	return files, nil
}

// firstTime returns the time field of the first audit event of a file.
func firstTime(path string) (time.Time, bool, error) {
	r, closeLog, err := openLog(path)
	if err != nil {
		return time.Time{}, false, err
	}
	defer closeLog()

	br := bufio.NewReaderSize(r, chunkSize)
	var p parser
	var rec record
	var arena []byte
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// Too long for a Caddy event: skip the rest of it.
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			continue
		}
		if len(line) > 0 {
			arena = p.parse(bytes.TrimRight(line, "\r\n"), &rec, arena[:0])
			if rec.kind == kindSealed {
				t, perr := time.Parse(time.RFC3339Nano, string(rec.time.of(arena)))
				return t, perr == nil, nil
			}
		}
		if err == io.EOF {
			return time.Time{}, false, nil
		}
		if err != nil {
			return time.Time{}, false, fmt.Errorf("reading %s: %w", path, err)
		}
	}
}

// openLog opens a log file, decompressing it if it is gzip, which is
// told by its first bytes rather than by its name.
func openLog(path string) (io.Reader, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading log: %w", err)
	}
	br := bufio.NewReaderSize(f, chunkSize)
	magic, _ := br.Peek(2)
	if !bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		return br, func() { f.Close() }, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return zr, func() { zr.Close(); f.Close() }, nil
}

// batch is a run of lines of one file, parsed by one worker.
type batch struct {
	file  int
	data  []byte
	lines []lineRef
	recs  []record
	arena []byte
	err   error
	done  chan struct{}
}

// lineRef locates a line in its batch's data.
type lineRef struct{ start, end, n int }

// run reads the files in order and verifies their events. One goroutine
// reads, workers parse batches of lines in parallel, and this goroutine
// chains the records in the order of the lines.
func (v *verifier) run() error {
	workers := max(runtime.GOMAXPROCS(0), 1)
	n := 2*workers + 2
	free := make(chan *batch, n)
	work := make(chan *batch, n)
	ordered := make(chan *batch, n)
	for range n {
		free <- &batch{done: make(chan struct{}, 1)}
	}

	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var p parser
			for b := range work {
				b.recs = b.recs[:0]
				b.arena = b.arena[:0]
				for _, l := range b.lines {
					b.recs = append(b.recs, record{line: l.n})
					b.arena = p.parse(b.data[l.start:l.end], &b.recs[len(b.recs)-1], b.arena)
				}
				b.done <- struct{}{}
			}
		})
	}
	go v.read(work, ordered, free)

	var err error
	for b := range ordered {
		<-b.done
		if b.err != nil {
			err = b.err
		} else if err == nil {
			for i := range b.recs {
				v.consume(b, &b.recs[i])
			}
		}
		free <- b
	}
	wg.Wait()
	return err
}

// read splits the files into batches of whole lines, sends each to the
// workers and, in order, to the chaining loop.
func (v *verifier) read(work, ordered chan<- *batch, free chan *batch) {
	defer close(ordered)
	defer close(work)
	for i, f := range v.files {
		if err := v.readFile(i, f.path, work, ordered, free); err != nil {
			b := <-free
			b.err = err
			b.lines = b.lines[:0]
			b.done <- struct{}{}
			ordered <- b
			return
		}
	}
}

func (v *verifier) readFile(fi int, path string, work, ordered chan<- *batch, free chan *batch) error {
	r, closeLog, err := openLog(path)
	if err != nil {
		return err
	}
	defer closeLog()

	var carry []byte
	n := 0
	for {
		b := <-free
		b.file, b.err = fi, nil
		b.lines = b.lines[:0]
		// A line longer than a chunk doubles the next read, so that
		// reading it costs time in proportion to its length.
		if need := len(carry) + max(chunkSize, len(carry)); cap(b.data) < need {
			b.data = make([]byte, 0, need)
		}
		b.data = append(b.data[:0], carry...)
		got, err := io.ReadFull(r, b.data[len(b.data):cap(b.data)])
		b.data = b.data[:len(b.data)+got]
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			free <- b
			return fmt.Errorf("reading %s: %w", path, err)
		}

		// Whole lines go to the batch; the start of the next line, if
		// the chunk ends inside one, waits for the next chunk.
		end := len(b.data)
		if !eof {
			end = bytes.LastIndexByte(b.data, '\n') + 1
		}
		carry = append(carry[:0], b.data[end:]...)
		if len(carry) > maxLine {
			free <- b
			return fmt.Errorf("reading %s: line %d is longer than %d bytes", path, n+1, maxLine)
		}
		for s := 0; s < end; {
			e := bytes.IndexByte(b.data[s:end], '\n')
			next := s + e + 1
			if e < 0 {
				e, next = end-s, end
			}
			n++
			line := bytes.TrimRight(b.data[s:s+e], "\r")
			if len(bytes.TrimSpace(line)) > 0 {
				b.lines = append(b.lines, lineRef{s, s + len(line), n})
			}
			s = next
		}

		if len(b.lines) > 0 {
			ordered <- b
			work <- b
		} else {
			free <- b
		}
		if eof {
			return nil
		}
	}
}
