// Package jaeger pins Jaeger as a Go tool in a module of its own: VictoriaLogs' dependencies
// raise go.opentelemetry.io/collector/pdata past what Jaeger v1.76.0 builds with, so the two
// cannot share a module. `go install` of Jaeger is refused (replace directives in its go.mod).
package jaeger
