// Package artifact describes a model on disk: its files, their formats and their SHA-256
// digests, with a cache keyed by file identity so an unchanged model is never hashed twice.
package artifact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/sniff"
)

// Limits on what one model reference may expand to, so a hostile or mistaken path (a home
// directory, a mount of millions of files) fails fast instead of hashing for hours.
const (
	MaxFiles = 10_000
	MaxDepth = 16
)

// File is one file of a model.
type File struct {
	Rel    string // slash-separated path relative to the model root; the base name for a single file
	Size   int64
	Sniff  sniff.Result
	Digest string // hex SHA-256; empty until hashed

	abs string
	key fileKey
}

// Manifest is a model on disk.
type Manifest struct {
	Root  string // absolute, cleaned path the reference resolved to
	Dir   bool
	Files []File // sorted by Rel
	Size  int64
}

// Format is the model's format as the data contract reports it: that of its weight files.
// Any pickle (or object array) in the model wins, because a loader that globs a directory can
// pick it up; so does a file named like weights whose content is no format the sniffer knows
// (the model is then unknown, not the format of its neighbours). A directory of only auxiliary
// files (configs, tokenizers) is unknown.
func (m *Manifest) Format() sniff.Format {
	var f sniff.Format = sniff.Unknown
	unclassified := false
	for _, file := range m.Files {
		switch {
		case file.Sniff.Format == sniff.Pickle:
			return sniff.Pickle
		case file.Sniff.Format == sniff.Unknown:
			unclassified = unclassified || (m.Dir && weightName(file.Rel))
		case f == sniff.Unknown:
			f = file.Sniff.Format
		}
	}
	if unclassified {
		return sniff.Unknown
	}
	return f
}

// weightExts are the extensions of files that model loaders open as weights (transformers,
// torch.load, numpy, joblib, mlx_lm's glob, GGML tools, ONNX, Keras).
var weightExts = map[string]bool{
	".safetensors": true, ".gguf": true, ".ggml": true, ".npy": true, ".npz": true,
	".bin": true, ".pt": true, ".pth": true, ".ckpt": true, ".pkl": true, ".pickle": true,
	".joblib": true, ".msgpack": true, ".h5": true, ".hdf5": true, ".keras": true,
	".onnx": true, ".tflite": true, ".pb": true, ".mlmodel": true,
}

func weightName(rel string) bool {
	return weightExts[strings.ToLower(path.Ext(rel))]
}

// Unsafe reports whether any file can run code when loaded.
func (m *Manifest) Unsafe() bool {
	for _, file := range m.Files {
		if file.Sniff.Unsafe {
			return true
		}
	}
	return false
}

// Detail says why the model is unsafe or unknown: the first unsafe file and what the sniffer
// found in it (a pickle's protocol, a polyglot, an object array), or the first weight-named
// file of no known format. Empty otherwise.
func (m *Manifest) Detail() string {
	for _, file := range m.Files {
		if file.Sniff.Unsafe {
			if file.Sniff.Detail == "" {
				return file.Rel
			}
			return file.Rel + ": " + file.Sniff.Detail
		}
	}
	for _, file := range m.Files {
		if m.Dir && file.Sniff.Format == sniff.Unknown && weightName(file.Rel) {
			return file.Rel + ": named like weights, content of no known format"
		}
	}
	return ""
}

// Polyglot returns the first file that is valid in a weight format and a pickle at once.
func (m *Manifest) Polyglot() (File, bool) {
	for _, f := range m.Files {
		if f.Sniff.Polyglot {
			return f, true
		}
	}
	return File{}, false
}

// FormatErr returns the first structural fault found in the model's files, or nil.
func (m *Manifest) FormatErr() error {
	for _, file := range m.Files {
		if file.Sniff.Err != nil {
			return fmt.Errorf("%s: %w", file.Rel, file.Sniff.Err)
		}
	}
	return nil
}

// Hashed reports whether every file digest is known (from the cache or from Hash).
func (m *Manifest) Hashed() bool {
	for _, f := range m.Files {
		if f.Digest == "" {
			return false
		}
	}
	return true
}

// Digest is the model digest: a single file's own SHA-256, or for a directory the SHA-256 over
// the sorted lines "<relative path>\x00<hex file digest>\n". Empty until every file is hashed.
func (m *Manifest) Digest() string {
	if !m.Hashed() {
		return ""
	}
	if !m.Dir && len(m.Files) == 1 {
		return m.Files[0].Digest
	}
	h := sha256.New()
	for _, f := range m.Files {
		io.WriteString(h, f.Rel)
		h.Write([]byte{0})
		io.WriteString(h, f.Digest)
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Inspector scans and hashes models, remembering results by file identity.
type Inspector struct {
	cache       *cache
	pickleScans atomic.Int64
}

// NewInspector returns an Inspector whose cache holds at most capacity files.
func NewInspector(capacity int) *Inspector {
	return &Inspector{cache: newCache(capacity)}
}

// Scan resolves path, lists the model's regular files (skipping dot-files and dot-directories
// below the root), and identifies each file's format. Files whose identity is cached get their
// format and digest from the cache without being opened.
func (in *Inspector) Scan(path string) (*Manifest, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	root, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, err
	}
	return in.ScanResolved(root)
}

// ScanResolved is Scan for a path that is already absolute with its links resolved, as
// modelsource.Classify returns local paths: resolving costs a system call per path element.
func (in *Inspector) ScanResolved(root string) (*Manifest, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Root: root, Dir: fi.IsDir()}
	if !m.Dir {
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s is not a regular file or directory", root)
		}
		f := File{Rel: filepath.Base(root), Size: fi.Size(), abs: root, key: keyOf(root, fi)}
		if err := in.identify(&f); err != nil {
			return nil, err
		}
		m.Files, m.Size = []File{f}, f.Size
		return m, nil
	}
	err = walkFiles(root, func(rel, abs string, k fileKey) error {
		if len(m.Files) >= MaxFiles {
			return fmt.Errorf("model directory %s holds more than %d files; point the reference at the model itself", root, MaxFiles)
		}
		m.Files = append(m.Files, File{Rel: rel, Size: k.size, abs: abs, key: k})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(m.Files) == 0 {
		return nil, fmt.Errorf("model directory %s holds no files", root)
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Rel < m.Files[j].Rel })
	for i := range m.Files {
		if err := in.identify(&m.Files[i]); err != nil {
			return nil, err
		}
		m.Size += m.Files[i].Size
	}
	return m, nil
}

func (in *Inspector) identify(f *File) error {
	if e, ok := in.cache.get(f.key); ok {
		f.Sniff, f.Digest = e.sniff, e.digest
		return nil
	}
	fh, err := os.Open(f.abs)
	if err != nil {
		return err
	}
	defer fh.Close()
	res, err := sniff.Reader(fh, f.Size)
	if err != nil {
		return fmt.Errorf("reading %s: %w", f.Rel, err)
	}
	f.Sniff = res
	in.cache.put(f.key, entry{sniff: res})
	return nil
}

// Hash computes the digests that Scan did not find in the cache, several files at a time, and
// stores them. It returns the model digest.
func (in *Inspector) Hash(ctx context.Context, m *Manifest) (string, error) {
	var todo []int
	for i := range m.Files {
		if m.Files[i].Digest == "" {
			todo = append(todo, i)
		}
	}
	if len(todo) > 0 {
		workers := min(runtime.GOMAXPROCS(0), len(todo))
		next := make(chan int)
		errs := make([]error, len(m.Files))
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for i := range next {
					f := &m.Files[i]
					d, err := HashFile(ctx, f.abs)
					if err != nil {
						errs[i] = fmt.Errorf("hashing %s: %w", f.Rel, err)
						continue
					}
					f.Digest = d
					in.cache.update(f.key, func(e *entry) { e.sniff, e.digest = f.Sniff, d })
				}
			})
		}
	feed:
		for _, i := range todo {
			select {
			case next <- i:
			case <-ctx.Done():
				break feed
			}
		}
		close(next)
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return "", err
		}
		if err := ctx.Err(); err != nil {
			return "", err
		}
	}
	return m.Digest(), nil
}

// chunk is the read size for hashing: large enough that syscalls vanish in the hash cost, small
// enough to stay in L2 while SHA-256 runs over it.
const chunk = 1 << 20

var bufPool = sync.Pool{New: func() any { b := make([]byte, chunk); return &b }}

// HashFile streams one file through SHA-256, stopping early if ctx is cancelled. A goroutine
// reads the next chunks while the calling one hashes those already read, so reading from storage
// overlaps the hash instead of alternating with it.
func HashFile(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	adviseSequential(f)
	type block struct {
		bp  *[]byte
		n   int
		err error
	}
	full := make(chan block, pipeDepth)
	free := make(chan *[]byte, pipeDepth)
	for range pipeDepth {
		free <- bufPool.Get().(*[]byte)
	}
	done := make(chan struct{})
	go func() {
		defer close(full)
		for {
			var bp *[]byte
			select {
			case bp = <-free:
			case <-done:
				return
			}
			n, err := io.ReadFull(f, *bp)
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = io.EOF
			}
			full <- block{bp, n, err}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		close(done)
		for blk := range full { // wait for the reader before f is closed
			free <- blk.bp
		}
		for range pipeDepth {
			bufPool.Put(<-free)
		}
	}()
	h := sha256.New()
	for blk := range full {
		if err := ctx.Err(); err != nil {
			free <- blk.bp
			return "", err
		}
		h.Write((*blk.bp)[:blk.n])
		free <- blk.bp
		if errors.Is(blk.err, io.EOF) {
			break
		}
		if blk.err != nil {
			return "", blk.err
		}
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])), nil
}

// pipeDepth is how many chunks HashFile's reader may hold ahead of the hash.
const pipeDepth = 4
