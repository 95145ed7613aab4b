module github.com/otel-mlx/otel-mlx/test/e2e

go 1.26.0
