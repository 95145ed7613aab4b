package mlxfinding // import "github.com/otel-mlx/otel-mlx/connector/mlxfinding"

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
)

// NewFactory returns the factory of the mlxfinding connector.
func NewFactory() connector.Factory {
	return connector.NewFactory(Type, func() component.Config { return createDefaultConfig() },
		connector.WithTracesToLogs(createTracesToLogs, TracesToLogsStability),
		connector.WithLogsToLogs(createLogsToLogs, LogsToLogsStability))
}

func newFinder(cfg component.Config, next consumer.Logs) (*finder, error) {
	c, ok := cfg.(*Config)
	if !ok {
		return nil, errors.New("mlxfinding: configuration is not *mlxfinding.Config")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &finder{cfg: c, next: next}, nil
}

func createTracesToLogs(_ context.Context, _ connector.Settings, cfg component.Config, next consumer.Logs) (connector.Traces, error) {
	return newFinder(cfg, next)
}

func createLogsToLogs(_ context.Context, _ connector.Settings, cfg component.Config, next consumer.Logs) (connector.Logs, error) {
	return newFinder(cfg, next)
}
