package sniff

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/pickle"
)

// npyHeader parses the fixed part of a .npy header from h (which starts with the magic) and
// reports whether its dtype holds Python objects, which numpy can only load through pickle.
func npyHeader(h []byte, size int64) (unsafe bool, detail string, err error) {
	if len(h) < 10 {
		return false, "", fmt.Errorf("header truncated at %d bytes", len(h))
	}
	major, minor := h[6], h[7]
	var hlen, start uint64
	switch major {
	case 1:
		hlen, start = uint64(binary.LittleEndian.Uint16(h[8:10])), 10
	case 2, 3:
		if len(h) < 12 {
			return false, "", fmt.Errorf("v%d header truncated at %d bytes", major, len(h))
		}
		hlen, start = uint64(binary.LittleEndian.Uint32(h[8:12])), 12
	default:
		return false, "", fmt.Errorf("unsupported version %d.%d", major, minor)
	}
	if hlen > MaxNPYHeader {
		return false, "", fmt.Errorf("header length %d exceeds the %d byte limit", hlen, MaxNPYHeader)
	}
	if size >= 0 && start+hlen > uint64(size) {
		return false, "", fmt.Errorf("header length %d is larger than the file (%d bytes)", hlen, size)
	}
	if uint64(len(h)) < start+hlen {
		return false, "", fmt.Errorf("header truncated: %d of %d bytes", len(h)-int(start), hlen)
	}
	dict := h[start : start+hlen]
	v, err := pyParse(string(dict))
	if err != nil {
		return false, "", err
	}
	descr, err := npyDescr(v)
	if err != nil {
		return false, "", err
	}
	return objectDescr(descr), fmt.Sprintf("v%d.%d", major, minor), nil
}

func npy(r io.ReaderAt, size int64) (Result, error) {
	h, err := readPrefix(r, size, 12+MaxNPYHeader)
	if err != nil {
		return Result{}, err
	}
	unsafe, detail, ferr := npyHeader(h, size)
	if ferr != nil {
		return fault(NPY, "%v", ferr), nil
	}
	return Result{Format: NPY, Unsafe: unsafe, Detail: detail}, nil
}

// readPrefix reads up to limit bytes from the start of r, never more than the file holds.
func readPrefix(r io.ReaderAt, size int64, limit int64) ([]byte, error) {
	n := min(size, limit)
	if n < 0 {
		n = 0
	}
	buf := make([]byte, n)
	m, err := r.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:m], nil
}

// npz accepts a zip archive whose members are all .npy arrays. A zip that holds a pickle (the
// PyTorch archive layout, "archive/data.pkl") is reported as pickle: loading it runs code.
func npz(r io.ReaderAt, size int64) (Result, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return fault(NPZ, "not a readable zip archive: %v", err), nil
	}
	if len(zr.File) > MaxZipEntries {
		return fault(NPZ, "%d members exceed the limit of %d", len(zr.File), MaxZipEntries), nil
	}
	unsafe := false
	arrays := 0
	other := "" // the first member that is not an array
	for _, f := range zr.File {
		name := f.Name
		if strings.HasSuffix(name, "/") {
			continue
		}
		head, err := memberHead(f, memberHeadLen)
		if err != nil {
			return fault(NPZ, "member %q: %v", clip(name), err), nil
		}
		switch {
		case isPickle(head) || path.Ext(name) == ".pkl" || memberIsPickle(head):
			return Result{Format: Pickle, Unsafe: true, Detail: fmt.Sprintf("pickle member %q in zip archive", clip(name))}, nil
		case bytes.HasPrefix(head, []byte("\x93NUMPY")):
			u, _, herr := npyHeader(head, int64(f.UncompressedSize64))
			if herr != nil {
				return fault(NPZ, "member %q: %v", clip(name), herr), nil
			}
			unsafe = unsafe || u
			arrays++
		default:
			// Keep looking: a pickle in a later member (PyTorch's archive/data.pkl beside its
			// storages) makes the whole archive pickle, whatever order the members come in.
			if other == "" {
				other = name
			}
		}
	}
	if other != "" {
		return Result{Format: Unknown, Detail: fmt.Sprintf("zip member %q is not a .npy array", clip(other))}, nil
	}
	return Result{Format: NPZ, Unsafe: unsafe, Detail: fmt.Sprintf("%d arrays", arrays)}, nil
}

// memberHeadLen is how much of a zip member is decompressed to identify it.
const memberHeadLen = 12 + 4096

// memberIsPickle reads a member's head as a pickle stream, whatever its first byte.
func memberIsPickle(head []byte) bool {
	res, err := pickle.ScanBytes(head, pickleLimits)
	v, _ := pickleVerdict(res, err, len(head) >= memberHeadLen)
	return v != ""
}

// memberHead decompresses at most limit bytes of a zip member, so a compression bomb costs
// nothing beyond that.
func memberHead(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit))
	if err != nil && !errors.Is(err, zip.ErrChecksum) {
		return nil, err
	}
	return b, nil
}
