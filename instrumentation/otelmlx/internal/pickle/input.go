package pickle

import (
	"bytes"
	"errors"
	"io"
)

// bufSize is the read window: opcode arguments up to this size are returned as slices of it;
// longer ones (payloads) are skipped. Text lines may grow it up to Limits.MaxLine.
const bufSize = 64 << 10

// input is a forward-only view of the stream with three sources: a byte slice (the whole input
// is the window), an io.ReaderAt of known size (skips are offset arithmetic), or an io.Reader
// (skips read through the window). Reader mode reads ahead up to the window, so the reader's
// position after Scan is not the end of the stream: Result.Length is.
type input struct {
	buf  []byte // window; buf[r:w] is unread
	r, w int
	pos  int64 // stream offset of buf[r]
	max  int64 // read limit (Limits.MaxInput)

	rd   io.Reader   // reader mode
	ra   io.ReaderAt // reader-at mode
	size int64       // reader-at mode: bytes available
	next int64       // reader-at mode: offset of buf[w]
	err  error       // sticky source error (io.EOF at the end)
}

func (in *input) initBytes(b []byte, max int64) {
	in.buf, in.w, in.max, in.err = b, len(b), max, io.EOF
}

func (in *input) initReader(r io.Reader, max int64) {
	in.buf, in.rd, in.max = window(in.buf), r, max
}

func (in *input) initReaderAt(r io.ReaderAt, size int64, max int64) {
	in.buf, in.ra, in.size, in.max = window(in.buf), r, size, max
}

// window reuses a pooled read window or makes one.
func window(b []byte) []byte {
	if len(b) == bufSize {
		return b
	}
	return make([]byte, bufSize)
}

var errInputLimit = errors.New("input limit")

// fill makes at least n bytes available in buf[r:w] (n <= len(buf)), or returns the error that
// stops it: io.EOF / io.ErrUnexpectedEOF at the end, errInputLimit at MaxInput, or the source's.
func (in *input) fill(n int) error {
	if in.w-in.r >= n {
		return nil
	}
	if in.pos+int64(n) > in.max {
		return errInputLimit
	}
	if in.err != nil {
		return in.err
	}
	if in.r > 0 {
		copy(in.buf, in.buf[in.r:in.w])
		in.w -= in.r
		in.r = 0
	}
	if n > len(in.buf) {
		nb := make([]byte, max(n, 2*len(in.buf)))
		copy(nb, in.buf[:in.w])
		in.buf = nb
	}
	for in.w < n {
		var k int
		var err error
		if in.ra != nil {
			want := len(in.buf) - in.w
			if rem := in.size - in.next; int64(want) > rem {
				want = int(rem)
			}
			if want == 0 {
				err = io.EOF
			} else {
				k, err = in.ra.ReadAt(in.buf[in.w:in.w+want], in.next)
				in.next += int64(k)
				if err == io.EOF && k == want {
					err = nil
				}
			}
		} else {
			k, err = in.rd.Read(in.buf[in.w:])
		}
		in.w += k
		if err != nil {
			in.err = err
			if in.w >= n {
				return nil
			}
			return err
		}
		if k == 0 && in.ra == nil {
			// A reader returning 0, nil repeatedly would loop forever.
			continue
		}
	}
	return nil
}

// byte1 reads one byte.
func (in *input) byte1() (byte, error) {
	if in.r == in.w {
		if err := in.fill(1); err != nil {
			return 0, err
		}
	}
	c := in.buf[in.r]
	in.r++
	in.pos++
	return c, nil
}

// take returns the next n bytes (n <= bufSize) as a slice valid until the next read.
func (in *input) take(n int) ([]byte, error) {
	if in.w-in.r < n {
		if err := in.fill(n); err != nil {
			return nil, err
		}
	}
	b := in.buf[in.r : in.r+n]
	in.r += n
	in.pos += int64(n)
	return b, nil
}

// skip consumes n bytes without holding them.
func (in *input) skip(n int64) error {
	if avail := int64(in.w - in.r); n <= avail {
		in.r += int(n)
		in.pos += n
		return nil
	}
	if in.pos+n > in.max {
		return errInputLimit
	}
	n -= int64(in.w - in.r)
	in.pos += int64(in.w - in.r)
	in.r, in.w = 0, 0
	switch {
	case in.ra != nil:
		if in.next+n > in.size {
			in.pos += in.size - in.next
			in.next = in.size
			return io.ErrUnexpectedEOF
		}
		in.next += n
		in.pos += n
		return nil
	case in.rd != nil:
		for n > 0 {
			if in.err != nil {
				return io.ErrUnexpectedEOF
			}
			k, err := in.rd.Read(in.buf[:min(int64(len(in.buf)), n)])
			n -= int64(k)
			in.pos += int64(k)
			if err != nil {
				in.err = err
				if n > 0 {
					if err == io.EOF {
						return io.ErrUnexpectedEOF
					}
					return err
				}
			}
		}
		return nil
	default:
		return io.ErrUnexpectedEOF
	}
}

// line reads up to and including '\n' and returns the line without it; valid until the next read.
func (in *input) line(maxLine int) ([]byte, error) {
	scanned := 0
	for {
		if i := bytes.IndexByte(in.buf[in.r+scanned:in.w], '\n'); i >= 0 {
			end := in.r + scanned + i
			if end-in.r > maxLine {
				return nil, errLineLimit
			}
			l := in.buf[in.r:end]
			in.pos += int64(end + 1 - in.r)
			in.r = end + 1
			return l, nil
		}
		scanned = in.w - in.r
		if scanned >= maxLine {
			return nil, errLineLimit
		}
		if err := in.fill(min(scanned+bufSize, maxLine+1)); err != nil {
			if in.w-in.r > scanned {
				continue // some bytes came in before the error: look at them first
			}
			return nil, err
		}
	}
}

var errLineLimit = errors.New("line limit")
