package mlxconv

import (
	"testing"

	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/semconv/v1.41.0/genaiconv"
	"go.opentelemetry.io/otel/semconv/v1.41.0/hwconv"
)

// Where semconv defines a name only as a value or a method, the literal here must be
// semconv's.
func TestSemconvLiterals(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{MetricGenAIClientOperationDuration, genaiconv.ClientOperationDuration{}.Name()},
		{MetricGenAIClientTokenUsage, genaiconv.ClientTokenUsage{}.Name()},
		{MetricHwGpuUtilization, hwconv.GpuUtilization{}.Name()},
		{MetricHwGpuMemoryUsage, hwconv.GpuMemoryUsage{}.Name()},
		{MetricHwGpuMemoryLimit, hwconv.GpuMemoryLimit{}.Name()},
		{MetricHwEnergy, hwconv.Energy{}.Name()},
		{MetricHwPower, hwconv.Power{}.Name()},
		{MetricHwTemperature, hwconv.Temperature{}.Name()},
		{OperationChat, semconv.GenAIOperationNameChat.Value.AsString()},
		{OperationTextCompletion, semconv.GenAIOperationNameTextCompletion.Value.AsString()},
		{OperationGenerateContent, semconv.GenAIOperationNameGenerateContent.Value.AsString()},
		{OperationEmbeddings, semconv.GenAIOperationNameEmbeddings.Value.AsString()},
		{TokenTypeInput, semconv.GenAITokenTypeInput.Value.AsString()},
		{TokenTypeOutput, semconv.GenAITokenTypeOutput.Value.AsString()},
		{HwTypeGPU, semconv.HwTypeGpu.Value.AsString()},
	} {
		if c.got != c.want {
			t.Errorf("mlxconv has %q where semconv v1.41.0 has %q", c.got, c.want)
		}
	}
}
