package otelmlxhttp

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx"
)

type bodyMode int

const (
	modeJSON   bodyMode = iota // one JSON document
	modeSSE                    // server-sent events: "data: {...}" lines
	modeNDJSON                 // one JSON document per line (Ollama)
)

// errTruncated is what the reader of a stream that ended without its terminator gets.
var errTruncated = io.ErrUnexpectedEOF

// streamError is recorded on the span of a stream that did not complete.
type streamError struct {
	kind string
	msg  string
}

func (e *streamError) Error() string     { return e.msg }
func (e *streamError) ErrorType() string { return e.kind }

// serverError is an error object the server sent inside a successful response.
type serverError struct{}

func (serverError) Error() string     { return "the server sent an error object in the response body" }
func (serverError) ErrorType() string { return mlxconv.ErrorTypeServerError }

// observedBody passes a response body through unchanged and parses it as the caller reads:
// a JSON document is copied (up to a bound) and parsed at the end; a stream is split into
// lines (each bounded) and every event parsed as it passes. It ends the inference at EOF, on a
// read error, or on Close.
type observedBody struct {
	rc      io.ReadCloser
	inf     *otelmlx.Inference
	mode    bodyMode
	stream  bool
	strict  bool
	san     func(string) string
	maxDoc  int
	maxLine int

	mu       sync.Mutex
	acc      accumulator
	doc      []byte // modeJSON: the document so far
	docOver  bool
	line     []byte // streaming: the incomplete line so far
	lineOver bool   // the current line exceeded maxLine and is being skipped
	ended    bool
	final    error // what Read returns after the end (io.ErrUnexpectedEOF for a truncated stream)
}

func (b *observedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ended {
		if err == io.EOF && b.final != nil {
			err = b.final
		}
		return n, err
	}
	if n > 0 {
		b.observe(p[:n])
	}
	switch {
	case err == io.EOF:
		err = b.endAtEOF()
	case err != nil:
		b.end(err)
	}
	return n, err
}

func (b *observedBody) Close() error {
	b.mu.Lock()
	if !b.ended {
		switch {
		case b.mode == modeJSON:
			b.parseDoc()
			b.end(nil)
		case b.acc.finished:
			b.end(nil)
		default:
			b.end(&streamError{kind: "stream_closed_early", msg: "the client closed the stream before it ended"})
		}
	}
	b.mu.Unlock()
	return b.rc.Close()
}

func (b *observedBody) observe(p []byte) {
	if b.mode == modeJSON {
		if !b.docOver {
			if len(b.doc)+len(p) > b.maxDoc {
				b.docOver, b.doc = true, nil
			} else {
				b.doc = append(b.doc, p...)
			}
		}
		return
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			b.appendLine(p)
			return
		}
		if len(b.line) == 0 && !b.lineOver {
			b.handleLine(p[:i]) // the whole line is in this chunk: no copy
		} else {
			b.appendLine(p[:i])
			if !b.lineOver {
				b.handleLine(b.line)
			}
			b.line, b.lineOver = b.line[:0], false
		}
		p = p[i+1:]
	}
}

func (b *observedBody) appendLine(p []byte) {
	if b.lineOver {
		return
	}
	if len(b.line)+len(p) > b.maxLine {
		b.lineOver, b.line = true, b.line[:0]
		return
	}
	b.line = append(b.line, p...)
}

func (b *observedBody) handleLine(line []byte) {
	line = bytes.TrimRight(line, "\r")
	if b.mode == modeSSE {
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			return // comments (": keepalive"), event:, id:, retry:, blank separators
		}
		data = bytes.TrimSpace(data)
		if string(data) == "[DONE]" {
			b.acc.finished = true
			return
		}
		line = data
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	var d responseDoc
	if json.Unmarshal(line, &d) != nil {
		return
	}
	before := b.acc.sawTokens
	b.acc.add(&d, b.san)
	if !before && b.acc.sawTokens {
		b.inf.FirstToken()
	}
}

func (b *observedBody) parseDoc() {
	if b.docOver || len(b.doc) == 0 {
		return
	}
	var d responseDoc
	if json.Unmarshal(b.doc, &d) == nil {
		b.acc.add(&d, b.san)
	}
	b.doc = nil
}

// endAtEOF ends the inference at the end of the body and returns the error the reader gets.
func (b *observedBody) endAtEOF() error {
	if b.mode == modeJSON {
		b.parseDoc()
		b.end(nil)
		return io.EOF
	}
	if len(b.line) > 0 && !b.lineOver {
		b.handleLine(b.line) // a last line without a newline
		b.line = b.line[:0]
	}
	if b.acc.finished {
		b.end(nil)
		return io.EOF
	}
	b.end(&streamError{kind: mlxconv.ErrorTypeStreamTruncated, msg: "the stream ended before its terminator: the server closed the connection mid-answer"})
	if b.strict {
		b.final = errTruncated
		return errTruncated
	}
	return io.EOF
}

func (b *observedBody) end(err error) {
	if b.ended {
		return
	}
	b.ended = true
	if err == nil && b.acc.failure != "" {
		err = serverError{}
	}
	b.inf.SetResponse(b.acc.result(b.stream))
	b.inf.End(err)
	b.doc, b.line = nil, nil
}
