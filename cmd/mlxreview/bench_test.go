//go:build unix

package main

import (
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// benchInput is a file of about one million records of flagged scenario traffic (8 days of two
// services), made once and reused from the temp directory.
func benchInput(b *testing.B) (string, int64) {
	b.Helper()
	path := filepath.Join(os.TempDir(), "mlxreview-bench-8d-v1.json")
	if _, err := os.Stat(path); err != nil {
		sc := smallScenario(11)
		sc.Days, sc.Rate, sc.PerType = 8, 1.5, 20
		tmp := path + ".tmp"
		start := time.Now()
		writeScenario(b, tmp, sc, false)
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
		b.Logf("generated %s in %s", path, time.Since(start).Round(time.Second))
	}
	a := review([]string{path}, 1, nil)
	return path, a.records()
}

// BenchmarkReview1M reviews about a million records with the default workers (GOMAXPROCS),
// beside a floor and a reference measured in the same run: reading the lines alone
// (floor-read), and decoding every line into pdata with the collector's unmarshalers and no
// aggregation (ref-pdata-decode, what the review cost before the selective reader, at least).
func BenchmarkReview1M(b *testing.B) {
	path, records := benchInput(b)
	// Wall time depends on what else the shared machine runs; CPU time (user+system, all
	// threads) divided by the cores is what the review costs on an idle machine of that size.
	var cpu0 float64
	per1M := func(b *testing.B) {
		n := float64(b.N) * float64(records) / 1e6
		b.ReportMetric(b.Elapsed().Seconds()/n, "s/1M-records")
		b.ReportMetric((cpuSeconds()-cpu0)/n, "cpu-s/1M-records")
		b.ReportMetric(float64(records), "records")
	}
	reset := func(b *testing.B) { b.ResetTimer(); cpu0 = cpuSeconds() }
	b.Run("review", func(b *testing.B) {
		reset(b)
		for i := 0; i < b.N; i++ {
			a := review([]string{path}, runtime.GOMAXPROCS(0), nil)
			if a.records() != records || a.malformed != 0 {
				b.Fatalf("reviewed %d records, %d malformed; want %d, 0", a.records(), a.malformed, records)
			}
		}
		per1M(b)
	})
	b.Run("floor-read", func(b *testing.B) {
		reset(b)
		for i := 0; i < b.N; i++ {
			readFile(path, func(bt batch) {
				if bt.err != nil {
					b.Fatal(bt.err)
				}
				putBuf(bt.buf)
			}, nil)
		}
		per1M(b)
	})
	b.Run("ref-pdata-decode", func(b *testing.B) {
		reset(b)
		for i := 0; i < b.N; i++ {
			decodeOnly(b, path)
		}
		per1M(b)
	})
}

// decodeOnly unmarshals every line into pdata with the same workers as review, keeping
// nothing: what the review would cost at least with pdata's decoder.
func decodeOnly(b *testing.B, path string) {
	ch := make(chan batch, 4)
	done := make(chan struct{})
	workers := runtime.GOMAXPROCS(0)
	for w := 0; w < workers; w++ {
		go func() {
			var d decoder
			for bt := range ch {
				for _, l := range bt.lines {
					if len(l) == 0 {
						continue
					}
					if l[2] == 'r' && l[10] == 'S' {
						if _, err := d.tu.UnmarshalTraces(l); err != nil {
							b.Error(err)
						}
					} else if _, err := d.lu.UnmarshalLogs(l); err != nil {
						b.Error(err)
					}
				}
				putBuf(bt.buf)
			}
			done <- struct{}{}
		}()
	}
	readFile(path, func(bt batch) {
		if bt.err != nil {
			b.Fatal(bt.err)
		}
		ch <- bt
	}, nil)
	close(ch)
	for w := 0; w < workers; w++ {
		<-done
	}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// BenchmarkScanLines: the selective reader alone, one worker, over the first lines (about
// 64 MiB) of the 1M-record input; MB/cpu-s is the scanner's speed whatever else the machine
// runs.
func BenchmarkScanLines(b *testing.B) {
	path, _ := benchInput(b)
	var lines [][]byte
	size := 0
	readFile(path, func(bt batch) {
		if size < 64<<20 {
			for _, l := range bt.lines {
				lines = append(lines, append([]byte(nil), l...))
				size += len(l)
			}
		}
		putBuf(bt.buf)
	}, nil)
	b.SetBytes(int64(size))
	b.ResetTimer()
	cpu0 := cpuSeconds()
	defer func() {
		b.ReportMetric(float64(size)*float64(b.N)/1e6/(cpuSeconds()-cpu0), "MB/cpu-s")
	}()
	for i := 0; i < b.N; i++ {
		d := decoder{fast: true}
		a := newAgg()
		for _, l := range lines {
			if !d.scan(l, l[2] == 'r' && l[10] == 'S', a) {
				b.Fatal("line handed back to pdata")
			}
		}
	}
}
