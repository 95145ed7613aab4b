// Package modelscan finds the pickle streams inside a model file and lists what they import:
// a plain pickle (and the several pickles of PyTorch's legacy format, one after another), the
// object arrays of .npy files, the .npy members of .npz archives, and the *.pkl members of
// PyTorch zip checkpoints (archive/data.pkl). Each stream is read by the static scanner of
// package pickle; nothing is executed.
//
// Zip archives are bounded before archive/zip reads them (member count from the end record) and
// while members are decompressed (a budget of decompressed bytes per file), so a zip bomb costs
// at most the budget.
package modelscan

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/pickle"
)

// Limits bound one file's scan. A zero field takes its default.
type Limits struct {
	// MaxEntries is the most members a zip archive may declare (default 65,536).
	MaxEntries int
	// MaxDecompressed is the most bytes decompressed from all members of one archive
	// together (default 4 GiB).
	MaxDecompressed int64
	// MaxStreams is the most pickle streams read one after another from a plain file
	// (PyTorch's legacy format writes five; default 16).
	MaxStreams int
	// Pickle bounds each stream.
	Pickle pickle.Limits
}

var defaults = Limits{MaxEntries: 1 << 16, MaxDecompressed: 4 << 30, MaxStreams: 16}

func (l Limits) withDefaults() Limits {
	if l.MaxEntries <= 0 {
		l.MaxEntries = defaults.MaxEntries
	}
	if l.MaxDecompressed <= 0 {
		l.MaxDecompressed = defaults.MaxDecompressed
	}
	if l.MaxStreams <= 0 {
		l.MaxStreams = defaults.MaxStreams
	}
	return l
}

// maxNPYHeader bounds a .npy text header (numpy itself refuses headers past 10,000 bytes
// unless told otherwise; 1 MiB is generous).
const maxNPYHeader = 1 << 20

// Report is what the scan of one file found.
type Report struct {
	// Streams is the number of pickle streams read.
	Streams int
	// Severity is the worst grade over all streams; SeverityNone when no stream imports
	// anything (or there is no stream).
	Severity pickle.Severity
	// Globals are the distinct imports of all streams, in the order first seen, at most
	// Limits.Pickle.MaxGlobals (pickle's default when zero).
	Globals []pickle.Global
	// GlobalsDropped counts distinct imports beyond that bound.
	GlobalsDropped int
	// Err is the first stream or archive that could not be read to its end (malformed,
	// truncated, past a limit): what lies beyond it was not graded, so a policy must treat
	// the file as ungraded. Prefixed with the member name inside archives.
	Err error
}

// Complete reports whether every stream was read to its STOP.
func (r *Report) Complete() bool { return r.Err == nil }

// merge adds one stream's result.
func (r *Report) merge(res *pickle.Result, max int) {
	r.Severity = maxSev(r.Severity, res.Severity)
	r.GlobalsDropped += res.GlobalsDropped
	for _, g := range res.Globals {
		i := slices.IndexFunc(r.Globals, func(h pickle.Global) bool {
			return h.Module == g.Module && h.Name == g.Name && h.Dynamic == g.Dynamic
		})
		switch {
		case i >= 0:
			r.Globals[i].Called = r.Globals[i].Called || g.Called
		case len(r.Globals) < max:
			r.Globals = append(r.Globals, g)
		default:
			r.GlobalsDropped++
		}
	}
}

func maxSev(a, b pickle.Severity) pickle.Severity {
	if a > b {
		return a
	}
	return b
}

// File scans the size bytes of r as a model file of whatever kind its content says: zip
// (npz or PyTorch), npy, or a pickle. Content of another kind gives an empty report. The error
// is r's own I/O error; faults in the content are in Report.Err.
func File(r io.ReaderAt, size int64, lim Limits) (*Report, error) {
	lim = lim.withDefaults()
	maxGlobals := lim.Pickle.MaxGlobals
	if maxGlobals <= 0 {
		maxGlobals = pickle.DefaultLimits.MaxGlobals
	}
	s := &fileScan{lim: lim, maxGlobals: maxGlobals, rep: &Report{}}
	var head [8]byte
	n, err := r.ReadAt(head[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	h := head[:n]
	switch {
	case bytes.HasPrefix(h, []byte("PK\x03\x04")), bytes.HasPrefix(h, []byte("PK\x05\x06")):
		err = s.zip(r, size)
	case bytes.HasPrefix(h, []byte("\x93NUMPY")):
		err = s.npy(io.NewSectionReader(r, 0, size), "")
	default:
		err = s.pickles(r, size)
	}
	return s.rep, err
}

type fileScan struct {
	lim        Limits
	maxGlobals int
	rep        *Report
}

func (s *fileScan) fault(member string, err error) {
	if s.rep.Err != nil {
		return
	}
	if member != "" {
		err = fmt.Errorf("member %q: %w", clip(member), err)
	}
	s.rep.Err = err
}

// pickles reads the streams of a plain file one after another. The first must be a pickle for
// the file to be one; after it, scanning stops at the first byte that does not start a stream
// (PyTorch's legacy format puts raw storage bytes after its pickles), but whatever a failed
// later stream imported before failing is still counted.
func (s *fileScan) pickles(r io.ReaderAt, size int64) error {
	var off int64
	for i := 0; i < s.lim.MaxStreams && off < size; i++ {
		res, err := pickle.ScanAt(io.NewSectionReader(r, off, size-off), size-off, s.lim.Pickle)
		var perr *pickle.Error
		if err != nil && !errors.As(err, &perr) {
			return err
		}
		if i == 0 && perr != nil && res.Ops <= 1 {
			return nil // not a pickle at all
		}
		s.rep.merge(res, s.maxGlobals)
		if err != nil {
			if i == 0 {
				s.fault("", err)
			}
			return nil
		}
		s.rep.Streams++
		off += res.Length
	}
	return nil
}

// npy scans the object array payload of a .npy stream (numpy unpickles it when the dtype holds
// objects); other arrays are data only.
func (s *fileScan) npy(r io.Reader, member string) error {
	br := &countingReader{r: r}
	hdr, err := readNPYHeader(br)
	if err != nil {
		var fe *formatError
		if errors.As(err, &fe) {
			s.fault(member, err)
			return nil
		}
		return err
	}
	if !objectDescr(hdr) {
		return nil
	}
	res, err := pickle.Scan(br, s.lim.Pickle)
	var perr *pickle.Error
	if err != nil && !errors.As(err, &perr) {
		return err
	}
	s.rep.merge(res, s.maxGlobals)
	if err != nil {
		s.fault(member, fmt.Errorf("object array: %w", err))
		return nil
	}
	s.rep.Streams++
	return nil
}

type formatError struct{ msg string }

func (e *formatError) Error() string { return e.msg }

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// readNPYHeader reads the magic, version and text header of a .npy stream.
func readNPYHeader(r io.Reader) ([]byte, error) {
	var fixed [12]byte
	if _, err := io.ReadFull(r, fixed[:8]); err != nil {
		return nil, &formatError{"npy header truncated"}
	}
	if !bytes.HasPrefix(fixed[:], []byte("\x93NUMPY")) {
		return nil, &formatError{"npy magic missing"}
	}
	var n uint32
	switch fixed[6] {
	case 1:
		if _, err := io.ReadFull(r, fixed[8:10]); err != nil {
			return nil, &formatError{"npy header truncated"}
		}
		n = uint32(binary.LittleEndian.Uint16(fixed[8:10]))
	case 2, 3:
		if _, err := io.ReadFull(r, fixed[8:12]); err != nil {
			return nil, &formatError{"npy header truncated"}
		}
		n = binary.LittleEndian.Uint32(fixed[8:12])
	default:
		return nil, &formatError{fmt.Sprintf("npy version %d not supported", fixed[6])}
	}
	if n > maxNPYHeader {
		return nil, &formatError{fmt.Sprintf("npy header of %d bytes exceeds the %d byte limit", n, maxNPYHeader)}
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, &formatError{"npy header truncated"}
	}
	return hdr, nil
}

// objectDescr reports whether a .npy header's dtype can hold Python objects: an 'O' type code
// (any byte order or size: 'O', '|O', 'O8', '<O'), or the name 'object', anywhere in the header.
// It errs towards scanning: a false positive only means a data payload is scanned as a pickle
// and found not to be one.
func objectDescr(hdr []byte) bool {
	if bytes.Contains(hdr, []byte("object")) {
		return true
	}
	for i, c := range hdr {
		if c != 'O' || i == 0 {
			continue
		}
		prev := hdr[i-1]
		if strings.IndexByte(`'"|<>=`, prev) >= 0 {
			return true
		}
	}
	return false
}

// zip scans the .npy and .pkl members of an archive (npz, PyTorch zip checkpoints). Members are
// read as archive/zip gives them; the decompressed bytes of all scanned members together are
// bounded by MaxDecompressed.
func (s *fileScan) zip(r io.ReaderAt, size int64) error {
	n, err := zipEntries(r, size)
	if err != nil {
		s.fault("", err)
		return nil
	}
	if n > int64(s.lim.MaxEntries) {
		s.fault("", fmt.Errorf("zip archive declares %d members, more than the limit of %d", n, s.lim.MaxEntries))
		return nil
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		s.fault("", fmt.Errorf("not a readable zip archive: %w", err))
		return nil
	}
	budget := s.lim.MaxDecompressed
	for _, f := range zr.File {
		name := f.Name
		ext := path.Ext(name)
		if ext != ".pkl" && ext != ".npy" && ext != ".pickle" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			s.fault(name, err)
			continue
		}
		lr := &io.LimitedReader{R: rc, N: budget}
		sub := &fileScan{lim: s.lim, maxGlobals: s.maxGlobals, rep: &Report{}}
		if ext == ".npy" {
			err = sub.npy(lr, "")
		} else {
			lim := s.lim.Pickle
			if lim.MaxInput <= 0 || lim.MaxInput > budget {
				lim.MaxInput = budget
			}
			var res *pickle.Result
			res, err = pickle.Scan(lr, lim)
			var perr *pickle.Error
			if err == nil || errors.As(err, &perr) {
				sub.rep.merge(res, s.maxGlobals)
				sub.rep.Err = err
				if err == nil {
					sub.rep.Streams++
				}
				err = nil
			}
		}
		rc.Close()
		budget = lr.N
		s.rep.merge(&pickle.Result{Severity: sub.rep.Severity, Globals: sub.rep.Globals, GlobalsDropped: sub.rep.GlobalsDropped}, s.maxGlobals)
		s.rep.Streams += sub.rep.Streams
		switch {
		case budget <= 0:
			// The member was cut by the budget: its own error (truncated) would mislead.
			s.fault(name, fmt.Errorf("decompressed members exceed the limit of %d bytes", s.lim.MaxDecompressed))
			return nil
		case err != nil:
			s.fault(name, err)
		case sub.rep.Err != nil:
			s.fault(name, sub.rep.Err)
		}
	}
	return nil
}

// zipEntries reads the member count from the end of central directory record (or its zip64
// form) before archive/zip allocates one record per member.
func zipEntries(r io.ReaderAt, size int64) (int64, error) {
	const eocdLen, maxComment = 22, 65535
	n := min(size, eocdLen+maxComment)
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, size-n); err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	i := bytes.LastIndex(buf, []byte("PK\x05\x06"))
	if i < 0 || len(buf)-i < eocdLen {
		return 0, errors.New("zip end of central directory record not found")
	}
	count := int64(binary.LittleEndian.Uint16(buf[i+10:]))
	if count != 0xffff {
		return count, nil
	}
	// Zip64: the locator sits just before the end record and points at the zip64 end record.
	loc := i - 20
	if loc < 0 || !bytes.Equal(buf[loc:loc+4], []byte("PK\x06\x07")) {
		return count, nil
	}
	off := int64(binary.LittleEndian.Uint64(buf[loc+8:]))
	var rec [56]byte
	if off < 0 || off > size-56 {
		return 0, errors.New("zip64 end record outside the file")
	}
	if _, err := r.ReadAt(rec[:], off); err != nil {
		return 0, err
	}
	if !bytes.Equal(rec[:4], []byte("PK\x06\x06")) {
		return 0, errors.New("zip64 end record signature missing")
	}
	c := binary.LittleEndian.Uint64(rec[32:])
	if c > 1<<40 {
		return 1 << 40, nil
	}
	return int64(c), nil
}

func clip(s string) string {
	if len(s) > 128 {
		return s[:128] + "…"
	}
	return s
}
