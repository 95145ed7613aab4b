// Command mlxreview reads what the otel-mlx distribution recorded (its file exporter's OTLP JSON
// lines, rotated and gzip'ed or not) and writes a review: a terminal summary and one
// self-contained HTML report with incidents by type and their MITRE ATLAS ids on a time line,
// latency and errors per model with anomaly markers, the model inventory and top callers.
//
//	mlxreview [--html OUT.html] FILE_OR_FOLDER...
//
// The input is streamed: memory holds aggregates with fixed bounds, never the records.
// Malformed lines are counted and reported; they never stop the review.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mlxreview", flag.ContinueOnError)
	fs.SetOutput(stderr)
	htmlOut := fs.String("html", "", "write the HTML report to this file")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "lines decoded in parallel by this many workers")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mlxreview [--html OUT.html] FILE_OR_FOLDER...")
		fmt.Fprintln(stderr, "  reads OTLP JSON lines (the collector file exporter's output; gzip accepted)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	if *workers < 1 || *workers > 256 {
		fmt.Fprintf(stderr, "mlxreview: --workers %d: use 1 to 256\n", *workers)
		return 2
	}
	files, err := expand(fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "mlxreview: %v\n", err)
		return 1
	}
	var total int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			total += fi.Size()
		}
	}
	var progress atomic.Int64
	stop := startProgress(stderr, &progress, total)
	a := review(files, *workers, &progress)
	stop()
	v := buildView(a, len(files))
	if err := writeSummary(stdout, v); err != nil {
		fmt.Fprintf(stderr, "mlxreview: %v\n", err)
		return 1
	}
	if *htmlOut != "" {
		if err := writeHTMLFile(*htmlOut, v); err != nil {
			fmt.Fprintf(stderr, "mlxreview: %v\n", err)
			return 1
		}
		abs, _ := filepath.Abs(*htmlOut)
		fmt.Fprintf(stdout, "\nHTML report: %s\n", abs)
	}
	return 0
}

// writeHTMLFile writes the report next to its destination and renames it into place, so a
// reader never sees half a report.
func writeHTMLFile(path string, v *view) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".mlxreview-*.html")
	if err != nil {
		return fmt.Errorf("--html %s: %w", path, err)
	}
	bw := bufio.NewWriter(tmp)
	err = writeHTML(bw, v)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("--html %s: %w", path, err)
	}
	return nil
}

// startProgress draws a progress bar on stderr when stderr is a terminal, and nothing
// otherwise (pipes, files, CI logs).
func startProgress(w io.Writer, done *atomic.Int64, total int64) (stop func()) {
	f, ok := w.(*os.File)
	if !ok || total <= 0 {
		return func() {}
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return func() {}
	}
	quit := make(chan struct{})
	finished := make(chan struct{})
	draw := func() {
		frac := min(float64(done.Load())/float64(total), 1)
		const width = 40
		n := int(frac * width)
		bar := make([]byte, width)
		for i := range bar {
			if i < n {
				bar[i] = '#'
			} else {
				bar[i] = '.'
			}
		}
		fmt.Fprintf(f, "\r[%s] %5.1f%% of %d MiB", bar, 100*frac, total>>20)
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(150 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				draw()
			case <-quit:
				draw()
				fmt.Fprintln(f)
				return
			}
		}
	}()
	return func() { close(quit); <-finished }
}
