// Package mlxconv is the otel-mlx data contract as code: one constant per name of
// docs/DATA-CONTRACT.md (span names, attribute keys, event names, enumerated values and metric
// names). The instrumentation, the collector components, the evaluation code and the tests
// spell contract names only through these constants, so a name changes in one place.
//
// Every constant is a string. Where semantic conventions (semconv v1.41.0) define a name, the
// constant is semconv's (string(semconv.XxxKey)); where semconv defines it only as a value or a
// method (enum members, metric names), a test of this package holds the literal to semconv.
// A test also reads docs/DATA-CONTRACT.md and fails when a name in its tables has no constant
// here, or a constant here is missing from the document's tables.
//
// The package depends only on the OpenTelemetry semconv package, so anything may import it.
// To add a name, add the constant in a file named for its area (for example signature.go) and
// the row to docs/DATA-CONTRACT.md in the same commit.
package mlxconv // import "github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
