// Package mlxserver holds the integration tests of otelmlxhttp against a real mlx_lm.server,
// driven by the official openai-go client. It is its own module so that the instrumentation
// module's go.mod lists only what the library needs: openai-go and the server are test
// dependencies of these tests alone. `make test-mlx` runs them; plain `go test` skips.
package mlxserver
