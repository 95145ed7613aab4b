package pickle

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

// cpuTime is the process's user+system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// stateDict writes a protocol 2 stream shaped as PyTorch's data.pkl for a state dict of n
// tensors: an OrderedDict of _rebuild_tensor_v2 calls whose storages are persistent ids, with the
// memo traffic torch.save produces, and the items set in batches of 1,000 as CPython's pickler
// does. payload > 0 appends one tensor stored inline as BINBYTES8 of
// that many bytes (the legacy, non-zip layout keeps weights beside the pickle; an inline payload
// is the worst case for a reader that cannot skip).
func stateDict(n, payload int) []byte {
	var b bytes.Buffer
	memo := 0
	put := func() { b.Write(p(opLONGBINPUT, u32(uint32(memo)))); memo++ }
	b.Write(p(opPROTO, 2, "ccollections\nOrderedDict\n"))
	od := memo
	put()
	b.Write(p(opEMPTYTUPLE, opREDUCE))
	put()
	b.WriteByte(opMARK)
	rebuild, storage := -1, -1
	for i := 0; i < n; i++ {
		if i > 0 && i%1000 == 0 {
			b.Write(p(opSETITEMS, opMARK)) // CPython's pickler sets items in batches of 1,000
		}
		name := fmt.Sprintf("model.layers.%d.self_attn.q_proj.weight", i)
		b.Write(p(opBINUNICODE, u32(uint32(len(name))), name))
		put()
		if rebuild < 0 {
			b.Write(p("ctorch._utils\n_rebuild_tensor_v2\n"))
			rebuild = memo
			put()
		} else {
			b.Write(p(opLONGBINGET, u32(uint32(rebuild))))
		}
		b.Write(p(opMARK, opMARK, opBINUNICODE, u32(7), "storage"))
		put()
		if storage < 0 {
			b.Write(p("ctorch\nFloatStorage\n"))
			storage = memo
			put()
		} else {
			b.Write(p(opLONGBINGET, u32(uint32(storage))))
		}
		key := fmt.Sprint(i)
		b.Write(p(opBINUNICODE, u32(uint32(len(key))), key, opBINUNICODE, u32(3), "cpu", opBININT2, 0, 16, opTUPLE, opBINPERSID))
		b.Write(p(opBININT1, 0, opBININT1, 64, opBININT1, 64, opTUPLE2, opBININT1, 64, opBININT1, 1, opTUPLE2, opNEWFALSE))
		b.Write(p(opLONGBINGET, u32(uint32(od)), opEMPTYTUPLE, opREDUCE, opTUPLE, opREDUCE))
		put()
	}
	if payload > 0 {
		b.Write(p(opBINUNICODE, u32(6), "inline", opBINBYTES8, u64(uint64(payload))))
		b.Write(make([]byte, payload))
	}
	b.Write(p(opSETITEMS, opSTOP))
	return b.Bytes()
}

func TestStateDictShape(t *testing.T) {
	r, err := ScanBytes(stateDict(100, 1000), Limits{})
	if err != nil || r.Severity != SeverityLow || len(r.Globals) != 3 {
		t.Fatalf("%v %+v", err, r)
	}
}

// scanBench runs scan as a sub-benchmark reporting MB/s of input scanned, and the same per
// second of process CPU time (cpu-MB/s): on a shared machine wall time includes waiting for a
// core.
func scanBench(b *testing.B, name string, size int, scan func() (*Result, error)) {
	b.Run(name, func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		cpu := cpuTime()
		for b.Loop() {
			r, err := scan()
			if err != nil || r.Length != int64(size) {
				b.Fatalf("%v, length %d", err, r.Length)
			}
		}
		if d := cpuTime() - cpu; d > 0 {
			b.ReportMetric(float64(size)*float64(b.N)/(float64(d)/1e9)/1e6, "cpu-MB/s")
		}
	})
}

// BenchmarkScan reports MB/s of a 16-tensor state dict plus a 256 MiB inline BINBYTES8 payload,
// read as a stream (io.Reader: every byte is read and copied once, as from a zip entry) and
// from a file (io.ReaderAt: the payload is skipped, as for a plain pickle file).
func BenchmarkScan(b *testing.B) {
	big := stateDict(16, 256<<20)
	path := filepath.Join(b.TempDir(), "ckpt.pkl")
	if err := os.WriteFile(path, big, 0o600); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	scanBench(b, "checkpoint/stream", len(big), func() (*Result, error) {
		return Scan(onlyReader{bytes.NewReader(big)}, Limits{})
	})
	scanBench(b, "checkpoint/file", len(big), func() (*Result, error) {
		return ScanAt(f, int64(len(big)), Limits{})
	})
}

// BenchmarkScanDense reports MB/s of a 20,000-tensor state dict with no payload, every byte an
// opcode or a short argument: the parser's own speed, from memory and from a file as a model
// load reads a plain pickle (io.ReaderAt: the window is refilled and short strings are copied
// out of it), with the floor of the latter beside it. It is apart from BenchmarkScan so that
// the 256 MiB checkpoint that one builds and writes is not being flushed to disk meanwhile.
func BenchmarkScanDense(b *testing.B) {
	dense := stateDict(20000, 0)
	path := filepath.Join(b.TempDir(), "dense.pkl")
	if err := os.WriteFile(path, dense, 0o600); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	scanBench(b, "memory", len(dense), func() (*Result, error) { return ScanBytes(dense, Limits{}) })
	scanBench(b, "file", len(dense), func() (*Result, error) { return ScanAt(f, int64(len(dense)), Limits{}) })
	// The same from a file with an empty pool: the first scan of a process, or one after the
	// garbage collector emptied the pool, grows its stack, memo and arena from nothing.
	scanBench(b, "file-cold", len(dense), func() (*Result, error) {
		scanners = sync.Pool{New: func() any { return new(scanner) }}
		return ScanAt(f, int64(len(dense)), Limits{})
	})
	// The floor of file: reading the same file through a window of the scanner's size,
	// parsing nothing (what the page cache and the copy into the window cost).
	win := make([]byte, bufSize)
	scanBench(b, "file-read-floor", len(dense), func() (*Result, error) {
		var off int64
		for off < int64(len(dense)) {
			n, err := f.ReadAt(win, off)
			off += int64(n)
			if err != nil && !(err == io.EOF && off == int64(len(dense))) {
				return nil, err
			}
		}
		return &Result{Length: off}, nil
	})
}

// onlyReader hides bytes.Reader's other methods, so the scan reads as from any stream.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(b []byte) (int, error) { return o.r.Read(b) }
