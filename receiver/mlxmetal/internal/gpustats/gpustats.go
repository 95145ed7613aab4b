// Package gpustats turns IOAccelerator registry entries (as parsed property lists) into
// typed GPU statistics. The same code serves every source: the IOKit source converts the
// CoreFoundation properties it reads into plist values, the ioreg and file sources parse
// `ioreg -a` output.
package gpustats // import "github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/gpustats"

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/plist"
)

// Registry keys read from an IOAccelerator entry. They are what the AGX (Apple silicon)
// and AMD/Intel (Intel Macs) accelerator drivers publish.
const (
	KeyPerformanceStatistics = "PerformanceStatistics"
	KeyModel                 = "model"
	KeyCoreCount             = "gpu-core-count"
	KeyVendorID              = "vendor-id"
	KeyIOClass               = "IOClass"
	KeyObjectClass           = "IOObjectClass"
	KeyRegistryEntryID       = "IORegistryEntryID"

	StatDeviceUtilization   = "Device Utilization %"
	StatRendererUtilization = "Renderer Utilization %"
	StatTilerUtilization    = "Tiler Utilization %"
	StatInUseSystemMemory   = "In use system memory"
	StatInUseDriverMemory   = "In use system memory (driver)"
	StatAllocSystemMemory   = "Alloc system memory"
	StatRecoveryCount       = "recoveryCount"
	// Published by the AMD driver on Intel Macs; Apple silicon has no such key.
	StatTemperature = "Temperature(C)"
	StatTotalPower  = "Total Power(W)"
)

// EntryKeys are the properties the IOKit source fetches per accelerator (it reads these
// instead of the whole property table to keep a scrape well under a millisecond).
var EntryKeys = []string{KeyPerformanceStatistics, KeyModel, KeyCoreCount, KeyVendorID}

// Opt is a value that may be absent. A key missing from the registry stays absent and its
// metric is omitted; it is never reported as zero.
type Opt[T any] struct {
	V  T
	OK bool
}

func some[T any](v T) Opt[T] { return Opt[T]{V: v, OK: true} }

// Accelerator is what one IOAccelerator entry reports.
type Accelerator struct {
	// ID is stable for the boot: derived from the registry entry id where known.
	ID     string
	Class  string
	Model  string
	Vendor string
	Cores  Opt[int64]

	// Utilizations are ratios in [0, 1].
	DeviceUtilization   Opt[float64]
	RendererUtilization Opt[float64]
	TilerUtilization    Opt[float64]

	InUseSystemMemory  Opt[int64]
	InUseDriverMemory  Opt[int64]
	AllocSystemMemory  Opt[int64]
	RecoveryCount      Opt[int64]
	TemperatureCelsius Opt[float64]
	PowerWatts         Opt[float64]

	// Anomalies lists keys whose values were out of range (clamped) or of the wrong type
	// (dropped), for the scraper to log; bounded by the number of known keys.
	Anomalies []string
}

// HasStats reports whether the entry carried any statistic at all.
func (a *Accelerator) HasStats() bool {
	return a.DeviceUtilization.OK || a.RendererUtilization.OK || a.TilerUtilization.OK ||
		a.InUseSystemMemory.OK || a.InUseDriverMemory.OK || a.AllocSystemMemory.OK ||
		a.RecoveryCount.OK || a.TemperatureCelsius.OK || a.PowerWatts.OK
}

// MaxAccelerators bounds how many entries one scrape converts; a Mac has one or two GPUs
// (three with an eGPU on an Intel Mac), so more means the input is not what we expect.
const MaxAccelerators = 16

// ErrNoAccelerator is returned when the input has no IOAccelerator entry.
var ErrNoAccelerator = errors.New("no IOAccelerator entry found")

// FromIoreg converts the parsed output of `ioreg -a -r -d 1 -c IOAccelerator`: an array of
// registry entries (a single dictionary is accepted too).
func FromIoreg(root *plist.Value) ([]Accelerator, error) {
	var entries []plist.Value
	switch root.Kind {
	case plist.Array:
		entries = root.Items
	case plist.Dict:
		entries = []plist.Value{*root}
	default:
		return nil, fmt.Errorf("ioreg output: top-level %s, want array of registry entries", root.Kind)
	}
	if len(entries) == 0 {
		return nil, ErrNoAccelerator
	}
	if len(entries) > MaxAccelerators {
		return nil, fmt.Errorf("ioreg output: %d entries, more than the %d accelerators a Mac can have", len(entries), MaxAccelerators)
	}
	out := make([]Accelerator, 0, len(entries))
	for i := range entries {
		e := &entries[i]
		if e.Kind != plist.Dict {
			return nil, fmt.Errorf("ioreg output: entry %d is a %s, want dict", i, e.Kind)
		}
		out = append(out, FromEntry(e, i))
	}
	return out, nil
}

// FromEntry converts one registry entry. index numbers entries without a registry id.
func FromEntry(e *plist.Value, index int) Accelerator {
	a := Accelerator{}
	a.Class = str(e, KeyIOClass)
	if a.Class == "" {
		a.Class = str(e, KeyObjectClass)
	}
	if v, ok := e.Get(KeyRegistryEntryID); ok {
		if v.Kind == plist.Integer {
			if v.Unsigned {
				a.ID = "gpu-0x" + strconv.FormatUint(v.Uint, 16)
			} else {
				a.ID = "gpu-0x" + strconv.FormatUint(uint64(v.Int), 16)
			}
		}
	}
	if a.ID == "" {
		a.ID = "gpu" + strconv.Itoa(index)
	}
	a.Model = text(e, KeyModel)
	a.Vendor = vendor(e, a.Class)
	if v, ok := e.Get(KeyCoreCount); ok {
		if n, ok := v.Int64(); ok && n > 0 && n < 1<<16 {
			a.Cores = some(n)
		} else {
			a.Anomalies = append(a.Anomalies, KeyCoreCount)
		}
	}
	ps, ok := e.Get(KeyPerformanceStatistics)
	if !ok || ps.Kind != plist.Dict {
		return a
	}
	a.DeviceUtilization = a.percent(ps, StatDeviceUtilization)
	a.RendererUtilization = a.percent(ps, StatRendererUtilization)
	a.TilerUtilization = a.percent(ps, StatTilerUtilization)
	a.InUseSystemMemory = a.bytes(ps, StatInUseSystemMemory)
	a.InUseDriverMemory = a.bytes(ps, StatInUseDriverMemory)
	a.AllocSystemMemory = a.bytes(ps, StatAllocSystemMemory)
	a.RecoveryCount = a.bytes(ps, StatRecoveryCount)
	if v, ok := ps.Get(StatTemperature); ok {
		// A GPU die outside -50..200 °C is a bad reading, not a temperature.
		if f, ok := v.Float(); ok && f > -50 && f < 200 {
			a.TemperatureCelsius = some(f)
		} else {
			a.Anomalies = append(a.Anomalies, StatTemperature)
		}
	}
	if v, ok := ps.Get(StatTotalPower); ok {
		if f, ok := v.Float(); ok && f >= 0 && f < 10_000 {
			a.PowerWatts = some(f)
		} else {
			a.Anomalies = append(a.Anomalies, StatTotalPower)
		}
	}
	return a
}

// percent reads a "... %" statistic and returns it as a ratio clamped to [0, 1]. The driver
// has been seen to report values above 100 for a sample after a GPU recovery; clamping
// keeps the ratio meaningful while the anomaly is logged.
func (a *Accelerator) percent(ps *plist.Value, key string) Opt[float64] {
	v, ok := ps.Get(key)
	if !ok {
		return Opt[float64]{}
	}
	f, ok := v.Float()
	if !ok {
		a.Anomalies = append(a.Anomalies, key)
		return Opt[float64]{}
	}
	r := f / 100
	switch {
	case r < 0:
		a.Anomalies = append(a.Anomalies, key)
		r = 0
	case r > 1:
		a.Anomalies = append(a.Anomalies, key)
		r = 1
	}
	return some(r)
}

// bytes reads a non-negative integer statistic (byte counts, counters).
func (a *Accelerator) bytes(ps *plist.Value, key string) Opt[int64] {
	v, ok := ps.Get(key)
	if !ok {
		return Opt[int64]{}
	}
	n, ok := v.Int64()
	if !ok || n < 0 {
		a.Anomalies = append(a.Anomalies, key)
		return Opt[int64]{}
	}
	return some(n)
}

// maxName bounds names taken from the registry or a capture before they become resource
// attributes; real model and class names are under 64 bytes.
const maxName = 128

// bound cuts s to maxName bytes without splitting a UTF-8 sequence.
func bound(s string) string {
	if len(s) <= maxName {
		return s
	}
	cut := maxName
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

func str(e *plist.Value, key string) string {
	if v, ok := e.Get(key); ok && v.Kind == plist.String {
		return bound(v.Str)
	}
	return ""
}

// text reads a property that is a string on Apple silicon ("model" = "Apple M2 Pro") and
// NUL-terminated data on PCI GPUs ("model" = <"AMD Radeon Pro 5500M\0">).
func text(e *plist.Value, key string) string {
	v, ok := e.Get(key)
	if !ok {
		return ""
	}
	switch v.Kind {
	case plist.String:
		return bound(v.Str)
	case plist.Data:
		b := v.Bytes
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
		if len(b) > maxName {
			b = b[:maxName]
		}
		return bound(string(b))
	}
	return ""
}

// PCI vendor ids of GPUs that macOS drives.
var vendors = map[uint32]string{0x106b: "Apple", 0x1002: "AMD", 0x8086: "Intel", 0x10de: "NVIDIA"}

func vendor(e *plist.Value, class string) string {
	if v, ok := e.Get(KeyVendorID); ok {
		var id uint32
		switch v.Kind {
		case plist.Data:
			if len(v.Bytes) >= 4 {
				id = binary.LittleEndian.Uint32(v.Bytes)
			} else if len(v.Bytes) >= 2 {
				id = uint32(binary.LittleEndian.Uint16(v.Bytes))
			}
		case plist.Integer:
			id = uint32(v.Int)
		}
		if name, ok := vendors[id&0xffff]; ok {
			return name
		}
	}
	switch {
	case strings.HasPrefix(class, "AGX"):
		return "Apple"
	case strings.HasPrefix(class, "AMD"):
		return "AMD"
	case strings.HasPrefix(class, "Intel"):
		return "Intel"
	}
	return ""
}
