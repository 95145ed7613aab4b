//go:build !darwin

package mlxmetal

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
)

// On a platform without Metal the start error names the platform and the modes that work.
func TestStartWithoutMetal(t *testing.T) {
	s, _ := newTestScraper(t, createDefaultConfig().(*Config))
	err := s.start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), `source "iokit" needs macOS with a Metal GPU`)
	assert.Contains(t, err.Error(), runtime.GOOS+"/"+runtime.GOARCH)
	assert.Contains(t, err.Error(), `use source "file"`)
	assert.Contains(t, err.Error(), `source "ioreg"`)

	cfg := ioregConfig(t, "m1_busy.plist")
	cfg.IOReport.Enabled = true
	s, _ = newTestScraper(t, cfg)
	err = s.start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ioreport.enabled")
	assert.Contains(t, err.Error(), runtime.GOOS)
}
