package artifact

import (
	"errors"
	"os"

	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/modelscan"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/pickle"
)

// PickleScan returns what the pickle content of file i of m imports (modelscan's report).
// The verdict is kept with the file's format and digest, under the same identity (device,
// inode, size, modification and change times), so an unchanged file is scanned once however
// often it is loaded, and a changed one, having a new identity, is scanned again. The report
// returned is shared with the cache: callers must not modify it.
func (in *Inspector) PickleScan(m *Manifest, i int) (*modelscan.Report, error) {
	f := &m.Files[i]
	if e, ok := in.cache.get(f.key); ok && e.scan != nil {
		return e.scan, nil
	}
	fh, err := os.Open(f.abs)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	in.pickleScans.Add(1)
	rep, err := modelscan.File(fh, f.Size, modelscan.Limits{})
	if err != nil {
		return nil, err // a read error: nothing is remembered, the next load scans again
	}
	if verdictOfContent(rep.Err) {
		in.cache.update(f.key, func(e *entry) {
			if e.sniff.Format == "" {
				e.sniff = f.Sniff
			}
			e.scan = rep
		})
	}
	return rep, nil
}

// verdictOfContent reports whether a scan's fault (nil when it read every stream to its end)
// is a property of the bytes, which the same identity will always give again: a malformed or
// truncated stream, or a limit reached. Anything else (an I/O error inside a stream, an
// archive the zip reader refused) is not remembered: it may pass, and a damaged archive is
// rare enough to read again.
func verdictOfContent(err error) bool {
	if err == nil {
		return true
	}
	var pe *pickle.Error
	if errors.As(err, &pe) {
		return errors.Is(err, pickle.ErrMalformed) || errors.Is(err, pickle.ErrTruncated) || errors.Is(err, pickle.ErrLimit)
	}
	return false
}

// PickleScans is the number of files read by PickleScan (not answered from the cache).
func (in *Inspector) PickleScans() int64 { return in.pickleScans.Load() }
