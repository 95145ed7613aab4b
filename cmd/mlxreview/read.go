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
const batchBytes = 1 << 20

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

type batch struct {
	file      string
	firstLine int64
	lines     [][]byte
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

// review reads every file with workers decoding lines in parallel and returns the merged
// aggregate. Problems with a file (unreadable, truncated gzip) or a line (not OTLP JSON) are
// counted as malformed and reported; they never stop the review.
func review(files []string, workers int, progress *atomic.Int64) *agg {
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	ch := make(chan batch, workers*2)
	aggs := make([]*agg, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		aggs[w] = newAgg()
		wg.Add(1)
		go func(a *agg) {
			defer wg.Done()
			dec := decoder{}
			for b := range ch {
				for i, line := range b.lines {
					a.lines++
					if err := dec.decode(line, a); err != nil {
						a.malformedf("%s:%d: %v", b.file, b.firstLine+int64(i), err)
					}
				}
			}
		}(aggs[w])
	}
	main := newAgg()
	for _, f := range files {
		if err := readFile(f, ch, progress); err != nil {
			main.malformedf("%s: %v", f, err)
		}
	}
	close(ch)
	wg.Wait()
	for _, a := range aggs {
		main.merge(a)
	}
	return main
}

func (a *agg) malformedf(format string, args ...any) {
	a.malformed++
	if len(a.malformedMsgs) < maxErrorsShown {
		a.malformedMsgs = append(a.malformedMsgs, clean(fmt.Sprintf(format, args...)))
	}
}

func readFile(name string, ch chan<- batch, progress *atomic.Int64) error {
	f, err := os.Open(name)
	if err != nil {
		return err
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
			return fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<20)
	}
	b := batch{file: name, firstLine: 1}
	size := 0
	var lineNo int64
	flush := func() {
		if len(b.lines) > 0 {
			ch <- b
		}
		b = batch{file: name, firstLine: lineNo + 1}
		size = 0
	}
	for {
		line, err := readLine(br)
		lineNo++
		switch {
		case errors.Is(err, errLineTooLong):
			b.lines = append(b.lines, nil) // the decoder reports it with its line number
		case err == nil || errors.Is(err, io.EOF):
			b.lines = append(b.lines, line)
			size += len(line)
		default:
			flush()
			return fmt.Errorf("after line %d: %w", lineNo-1, err)
		}
		if errors.Is(err, io.EOF) {
			flush()
			return nil
		}
		if size >= batchBytes {
			flush()
		}
	}
}

var errLineTooLong = fmt.Errorf("line longer than %d bytes", maxLine)

// readLine returns one line without its newline, as a fresh non-nil slice. io.EOF comes with
// the last line when it has no newline. A line over maxLine is consumed and reported as
// errLineTooLong.
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(buf)+len(frag) > maxLine {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			return nil, errLineTooLong
		}
		buf = append(buf, frag...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		buf = bytes.TrimRight(buf, "\r\n")
		if buf == nil {
			buf = []byte{} // nil marks a line that was too long
		}
		return buf, err
	}
}

// decoder turns one line into pdata with the collector's own JSON unmarshalers.
type decoder struct {
	tu ptrace.JSONUnmarshaler
	lu plog.JSONUnmarshaler
	mu pmetric.JSONUnmarshaler
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
		td, err := d.tu.UnmarshalTraces(line)
		if err != nil {
			return fmt.Errorf("traces request: %w", err)
		}
		a.addTraces(td)
	case bytes.HasPrefix(head, keyLogs):
		ld, err := d.lu.UnmarshalLogs(line)
		if err != nil {
			return fmt.Errorf("logs request: %w", err)
		}
		a.addLogs(ld)
	case bytes.HasPrefix(head, keyMetrics):
		md, err := d.mu.UnmarshalMetrics(line)
		if err != nil {
			return fmt.Errorf("metrics request: %w", err)
		}
		a.addMetrics(md)
	default:
		return d.decodeSlow(line, a)
	}
	return nil
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
		td, err := d.tu.UnmarshalTraces(line)
		if err != nil {
			return fmt.Errorf("traces request: %w", err)
		}
		a.addTraces(td)
	case hasL:
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
