package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// maxLine bounds one export request line. The file exporter writes one request per line; a
// longer line is counted as malformed and skipped, never buffered whole.
const maxLine = 64 << 20

// batchBytes is how many bytes of lines go to a worker at once.
const batchBytes = 2 << 20

// expand turns the arguments into the list of files to read: a folder contributes every
// regular file below it (sorted, so rotated files are read in name order), hidden entries
// skipped.
func expand(args []string) ([]string, error) {
	var files []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", a, err)
		}
		if !fi.IsDir() {
			files = append(files, a)
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p != a && len(d.Name()) > 0 && d.Name()[0] == '.' {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("input folder %q: %w", a, err)
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	if len(files) == 0 {
		return nil, errors.New("no input files: give OTLP JSON files or folders holding them")
	}
	return files, nil
}

// batch is a run of whole lines of one file, numbered from firstLine, in one buffer (buf)
// that returns to the pool once read. A batch with err reports a problem with the file
// after its lines; seq orders the batches for the merge.
type batch struct {
	seq       int
	file      string
	firstLine int64
	lines     [][]byte
	buf       *[]byte
	err       error
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, batchBytes); return &b }}

// putBuf returns a batch's buffer to the pool once its lines were read.
func putBuf(b *[]byte) {
	if b != nil {
		*b = (*b)[:0]
		bufPool.Put(b)
	}
}

// countingReader counts the bytes read from the file (compressed bytes for gzip), for the
// progress bar.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// reader selects the decoder: the selective scanner (scan.go), with pdata for what it hands
// back, or pdata alone (the reference the tests and the benchmark compare with).
type reader int

const (
	readSelective reader = iota
	readPdata
)

// review reads every file with workers decoding batches of lines in parallel and returns
// the merged aggregate. Each batch gets its own aggregate, merged in input order, so the
// report does not depend on the number of workers or their timing. Problems with a file
// (unreadable, truncated gzip) or a line (not OTLP JSON) are counted as malformed and
// reported; they never stop the review.
func review(files []string, workers int, progress *atomic.Int64) *agg {
	return reviewWith(files, workers, progress, readSelective)
}

func reviewWith(files []string, workers int, progress *atomic.Int64, rd reader) *agg {
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	// At most inFlight batches are read and not yet merged: that bounds the memory of the
	// pipeline (buffers and per-batch aggregates) whatever the input size.
	inFlight := 4 * workers
	tokens := make(chan struct{}, inFlight)
	ch := make(chan batch, workers)
	type result struct {
		seq int
		a   *agg
	}
	results := make(chan result, inFlight)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dec := decoder{fast: rd == readSelective}
			for b := range ch {
				a := newAgg()
				for i, line := range b.lines {
					a.lines++
					if err := dec.decode(line, a); err != nil {
						a.malformedf("%s:%d: %v", b.file, b.firstLine+int64(i), err)
					}
				}
				if b.err != nil {
					a.malformedf("%s: %v", b.file, b.err)
				}
				putBuf(b.buf)
				results <- result{b.seq, a}
			}
		}()
	}
	go func() {
		seq := 0
		send := func(b batch) {
			tokens <- struct{}{}
			b.seq = seq
			seq++
			ch <- b
		}
		for _, f := range files {
			readFile(f, send, progress)
		}
		close(ch)
		wg.Wait()
		close(results)
	}()
	main := newAgg()
	pending := map[int]*agg{}
	next := 0
	for r := range results {
		pending[r.seq] = r.a
		for a, ok := pending[next]; ok; a, ok = pending[next] {
			delete(pending, next)
			main.merge(a)
			next++
			<-tokens
		}
	}
	return main
}

func (a *agg) malformedf(format string, args ...any) {
	a.malformed++
	if len(a.malformedMsgs) < maxErrorsShown {
		a.malformedMsgs = append(a.malformedMsgs, clean(fmt.Sprintf(format, args...)))
	}
}

// readFile splits a file into batches of lines, copied into pooled buffers of about
// batchBytes. A problem with the file ends its last batch with the error.
func readFile(name string, send func(batch), progress *atomic.Int64) {
	f, err := os.Open(name)
	if err != nil {
		send(batch{file: name, err: err})
		return
	}
	defer f.Close()
	var src io.Reader = f
	if progress != nil {
		src = countingReader{r: f, n: progress}
	}
	br := bufio.NewReaderSize(src, 1<<20)
	// gzip is recognized by its magic bytes, not the file name: rotated files keep their
	// names in some setups and gain .gz in others.
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			send(batch{file: name, err: fmt.Errorf("gzip: %w", err)})
			return
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<20)
	}
	var lineNo int64
	newBatch := func() batch {
		return batch{file: name, firstLine: lineNo + 1, buf: bufPool.Get().(*[]byte)}
	}
	b := newBatch()
	for {
		// A line that does not fit in what is left of the buffer starts the next batch;
		// one longer than a whole buffer gets a buffer of its own (up to maxLine).
		if len(b.lines) > 0 && cap(*b.buf)-len(*b.buf) < 64<<10 {
			send(b)
			b = newBatch()
		}
		var line []byte
		line, *b.buf, err = appendLine(br, *b.buf)
		lineNo++
		switch {
		case errors.Is(err, errLineTooLong):
			b.lines = append(b.lines, nil) // the decoder reports it with its line number
		case err == nil || errors.Is(err, io.EOF):
			b.lines = append(b.lines, line)
		default:
			b.err = fmt.Errorf("after line %d: %w", lineNo-1, err)
			send(b)
			return
		}
		if errors.Is(err, io.EOF) {
			send(b)
			return
		}
		if len(*b.buf) >= batchBytes {
			send(b)
			b = newBatch()
		}
	}
}

// readLine returns one line without its newline, as a fresh non-nil slice; see appendLine.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, _, err := appendLine(br, nil)
	return line, err
}

var errLineTooLong = fmt.Errorf("line longer than %d bytes", maxLine)

// appendLine appends one line without its newline to buf and returns it (a non-nil slice of
// the result) and the buffer. io.EOF comes with the last line when it has no newline. A line
// over maxLine is consumed and reported as errLineTooLong, leaving buf as it was.
func appendLine(br *bufio.Reader, buf []byte) ([]byte, []byte, error) {
	start := len(buf)
	for {
		frag, err := br.ReadSlice('\n')
		if len(buf)-start+len(frag) > maxLine {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, buf[:start], err
			}
			return nil, buf[:start], errLineTooLong
		}
		buf = append(buf, frag...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		line := bytes.TrimRight(buf[start:], "\r\n")
		buf = buf[:start+len(line)]
		if line = buf[start:len(buf):len(buf)]; line == nil {
			line = []byte{} // nil marks a line that was too long
		}
		return line, buf, err
	}
}

// decoder turns one line into the aggregate: with the selective scanner when fast, and with
// the collector's own JSON unmarshalers for what the scanner hands back (and always when not
// fast).
type decoder struct {
	fast bool
	sc   scanner
	in   interner
	tu   ptrace.JSONUnmarshaler
	lu   plog.JSONUnmarshaler
	mu   pmetric.JSONUnmarshaler
}

var (
	keySpans   = []byte(`"resourceSpans"`)
	keyLogs    = []byte(`"resourceLogs"`)
	keyMetrics = []byte(`"resourceMetrics"`)
)

func (d *decoder) decode(line []byte, a *agg) error {
	if line == nil {
		return errLineTooLong
	}
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		a.lines-- // blank lines are not records
		return nil
	}
	if line[0] != '{' {
		return errors.New("not a JSON object: want one OTLP JSON export request per line")
	}
	// The request's kind is its first key; the file exporter writes it first.
	head := line[1:min(len(line), 64)]
	head = bytes.TrimLeft(head, " \t\r\n")
	switch {
	case bytes.HasPrefix(head, keySpans):
		if d.fast && d.scan(line, true, a) {
			return nil
		}
		return d.viaPdata(line, keySpans, a)
	case bytes.HasPrefix(head, keyLogs):
		if d.fast && d.scan(line, false, a) {
			return nil
		}
		return d.viaPdata(line, keyLogs, a)
	case bytes.HasPrefix(head, keyMetrics):
		return d.viaPdata(line, keyMetrics, a)
	default:
		return d.decodeSlow(line, a)
	}
}

// maxNesting bounds the nesting of objects and arrays in a line given to pdata, whose
// recursive decoder would otherwise follow a hostile line of millions of nested values
// until the goroutine's stack limit ends the process. OTLP needs about ten levels plus the
// nesting of attribute values.
const maxNesting = 256

// viaPdata decodes a request of the kind key names with pdata's unmarshaler.
func (d *decoder) viaPdata(line, key []byte, a *agg) error {
	if err := checkNesting(line); err != nil {
		return err
	}
	switch {
	case bytes.Equal(key, keySpans):
		td, err := d.tu.UnmarshalTraces(line)
		if err != nil {
			return fmt.Errorf("traces request: %w", err)
		}
		a.addTraces(td)
	case bytes.Equal(key, keyLogs):
		ld, err := d.lu.UnmarshalLogs(line)
		if err != nil {
			return fmt.Errorf("logs request: %w", err)
		}
		a.addLogs(ld)
	default:
		md, err := d.mu.UnmarshalMetrics(line)
		if err != nil {
			return fmt.Errorf("metrics request: %w", err)
		}
		a.addMetrics(md)
	}
	return nil
}

// checkNesting reports a line whose objects and arrays nest deeper than maxNesting (brackets
// inside strings do not count).
func checkNesting(line []byte) error {
	depth := 0
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '"':
			for i++; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			if depth++; depth > maxNesting {
				return fmt.Errorf("objects and arrays nested deeper than %d: not an OTLP export request", maxNesting)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

func (d *decoder) scan(line []byte, traces bool, a *agg) bool {
	d.sc.in = &d.in
	return d.sc.scanLine(line, traces, a)
}

// decodeSlow handles a request whose first key is not the resource list (hand-written or
// reordered JSON) by looking for the keys anywhere at the top level.
func (d *decoder) decodeSlow(line []byte, a *agg) error {
	hasS, hasL, hasM := bytes.Contains(line, keySpans), bytes.Contains(line, keyLogs), bytes.Contains(line, keyMetrics)
	n := 0
	for _, b := range []bool{hasS, hasL, hasM} {
		if b {
			n++
		}
	}
	if n != 1 {
		return errors.New("not an OTLP traces, logs or metrics export request (want exactly one of resourceSpans, resourceLogs, resourceMetrics)")
	}
	switch {
	case hasS:
		return d.viaPdata(line, keySpans, a)
	case hasL:
		return d.viaPdata(line, keyLogs, a)
	}
	return d.viaPdata(line, keyMetrics, a)
}
