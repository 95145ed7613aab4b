// Package backends pins the real backends the end-to-end tests start on loopback (Jaeger,
// VictoriaLogs, contrib's telemetrygen) as Go tools of this module, so that `go build` of each
// tool builds the version recorded in go.mod. `go install pkg@version` is refused for Jaeger
// (replace directives in its go.mod); a tool dependency of a module of our own builds it.
package backends
