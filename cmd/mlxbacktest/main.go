// Command mlxbacktest replays telemetry through the mlxanomaly processor and evaluates it.
//
//	mlxbacktest otlp --in FILE --out FILE [--config FILE]
//	mlxbacktest nab --data DIR --out DIR [--config FILE] [--spread R]
//	mlxbacktest nabscore --windows FILE --results DIR
//	mlxbacktest nabcv --data DIR --windows FILE [--grid]
//	mlxbacktest scenarios [--config FILE] [--seed N] [--days N]
//	mlxbacktest robust [--seeds N,M] [--shapes N] [--days N] [--strength stated|weak] [--only TEXT]
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `usage:
  mlxbacktest otlp --in FILE --out FILE [--config FILE]
      replay OTLP JSON (one ExportTraceServiceRequest or ExportLogsServiceRequest per line)
      through the processor and write the same format with the mlxanomaly.* attributes added
  mlxbacktest nab --data DIR --out DIR [--config FILE] [--spread R]
      score every NAB-style CSV series under DIR causally, writing OUT/<category>/<name>.csv
      with the header timestamp,value,anomaly_score (the detector at three timescales R apart)
  mlxbacktest nabscore --windows FILE --results DIR
      score results with the NAB method and print normalized scores per profile
  mlxbacktest nabcv --data DIR --windows FILE [--grid]
      choose the NAB parameters by leave-one-category-out cross-validation and print the
      cross-validated score beside the in-sample one
  mlxbacktest scenarios [--config FILE] [--seed N] [--days N] [-v]
      run the MLX scenario suite and print recall, false alarms per key-day and delay per type
  mlxbacktest robust [--config FILE] [--seeds N,M] [--shapes N] [--days N] [--max-rate R] [--strength stated|weak] [--only TEXT] [-v]
      the robustness suite: random traffic shapes with every incident type; recall, false alarms
      per key-day and per service-day, median delay per shape, then per incident type
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "otlp":
		err = runOTLP(args[1:], stdout, stderr)
	case "nab":
		err = runNAB(args[1:], stdout, stderr)
	case "nabscore":
		err = runNABScore(args[1:], stdout, stderr)
	case "nabcv":
		err = runNABCV(args[1:], stdout, stderr)
	case "scenarios":
		err = runScenarios(args[1:], stdout, stderr)
	case "robust":
		err = runRobust(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "mlxbacktest: unknown command %q\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "mlxbacktest %s: %v\n", args[0], err)
		return 1
	}
	return 0
}
