# Summarises `go test -bench -count N` output of the supply-chain benchmarks (make bench-supply):
# each figure is the median of the N runs, with the lowest and highest beside it, since this
# machine's speed drifts by up to a third from minute to minute.

# med returns the median of the values recorded for key k and sets lo[k] and hi[k].
function med(k,    n, i, j, t, a) {
	n = c[k]
	if (n == 0) return 0
	for (i = 1; i <= n; i++) a[i] = v[k, i]
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	lo[k] = a[1]; hi[k] = a[n]
	return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}

# mbs prints one throughput line: median MB/s, the spread, and the median per CPU second.
function mbs(name, what,    k, m) {
	k = "Benchmark" name SUBSEP "MB/s"
	m = med(k)
	printf "%s: %.0f MB/s (median of %d runs, %.0f-%.0f; %.0f per CPU second)", what, m, c[k], lo[k], hi[k], med("Benchmark" name SUBSEP "cpu-MB/s")
}

/^Benchmark/ {
	name = $1
	sub(/-[0-9]+$/, "", name)
	for (i = 3; i < NF; i++)
		if ($(i+1) !~ /^[0-9.]+$/) { k = name SUBSEP $(i+1); c[k]++; v[k, c[k]] = $i }
}

END {
	mbs("Scan/checkpoint/stream", "ratio: pickle scan, 256 MiB PyTorch-like checkpoint read as a stream"); print "; issue: >= 500"
	mbs("Scan/checkpoint/file", "       the same checkpoint as a file (payload skipped)"); print ""
	mbs("ScanDense/memory", "ratio: pickle scan, dense opcodes (20,000-tensor state dict, no payload: the parser itself), from memory"); print "; issue: >= 500"
	mbs("ScanDense/file", "ratio: pickle scan, the same dense stream from a file (io.ReaderAt, as a model load reads it)"); print "; issue: >= 500"
	mbs("ScanDense/file-cold", "       the same from a file with the scanner pool empty (first scan of a process: stack, memo and arena grown from nothing)"); print ""
	printf "       floor of that: reading the file through the scanner's window, parsing nothing: %.0f MB/s (median)\n", med("BenchmarkScanDense/file-read-floor" SUBSEP "MB/s")
	printf "       hostile shapes (BenchmarkScanHostile, each the worst case of one path), median MB/s:"
	n = split("globals stack-global non-ascii protocol0-ints far-memo", hs, " ")
	for (i = 1; i <= n; i++) printf " %s %.0f%s", hs[i], med("BenchmarkScanHostile/" hs[i] SUBSEP "MB/s"), i < n ? "," : "\n"
	printf "ratio: signature verification beyond hashing (8 files, digests supplied): %.2f ms (median; %.2f ms CPU; issue: <= 5 ms); hashing the same 32 MiB %.1f ms\n", \
		med("BenchmarkVerify/files-digests-supplied" SUBSEP "ns/op") / 1e6, med("BenchmarkVerify/files-digests-supplied" SUBSEP "cpu-ms/op"), med("BenchmarkVerify/hash-alone" SUBSEP "ns/op") / 1e6
}
