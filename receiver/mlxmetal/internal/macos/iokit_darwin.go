//go:build darwin

package macos

import (
	"fmt"
	"sync"

	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/gpustats"
	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/plist"
)

// keyRefs holds the CFStrings of the property keys read per accelerator, made once.
var (
	keyRefsOnce sync.Once
	keyRefs     []uintptr
)

// forEachService calls fn for each registry entry matching class; fn must not keep the entry.
func forEachService(class string, fn func(entry uint32) bool) error {
	matching := ioServiceMatching(class)
	if matching == 0 {
		return fmt.Errorf("IOServiceMatching(%q) returned NULL", class)
	}
	var iter uint32
	// IOServiceGetMatchingServices consumes one reference of matching, even on failure.
	if kr := ioServiceGetMatchingServices(kIOMainPortDefault, matching, &iter); kr != kIOReturnSuccess {
		return fmt.Errorf("IOServiceGetMatchingServices(%q): kern_return 0x%x", class, uint32(kr))
	}
	defer ioObjectRelease(iter)
	for n := 0; ; n++ {
		entry := ioIteratorNext(iter)
		if entry == 0 {
			return nil
		}
		more := n < gpustats.MaxAccelerators*8 && fn(entry)
		ioObjectRelease(entry)
		if !more {
			// Drain nothing else: releasing the iterator frees the remaining entries.
			return nil
		}
	}
}

// ReadAccelerators returns one dictionary per IOAccelerator registry entry, shaped like an
// `ioreg -a` entry (IOClass, IORegistryEntryID and the properties in gpustats.EntryKeys),
// for gpustats.FromIoreg. Only those properties are fetched, not the whole table.
func ReadAccelerators() (plist.Value, error) {
	if err := Load(); err != nil {
		return plist.Value{}, err
	}
	keyRefsOnce.Do(func() {
		for _, k := range gpustats.EntryKeys {
			keyRefs = append(keyRefs, cfString(k)) // kept for the process lifetime
		}
	})
	out := plist.Value{Kind: plist.Array}
	err := forEachService("IOAccelerator", func(entry uint32) bool {
		e := plist.Value{Kind: plist.Dict}
		var name [128]byte
		if ioObjectGetClass(entry, &name[0]) == kIOReturnSuccess {
			e.Keys = append(e.Keys, gpustats.KeyIOClass)
			e.Vals = append(e.Vals, plist.Value{Kind: plist.String, Str: ioName(&name)})
		}
		var id uint64
		if ioRegistryEntryGetRegistryEntryID(entry, &id) == kIOReturnSuccess {
			e.Keys = append(e.Keys, gpustats.KeyRegistryEntryID)
			e.Vals = append(e.Vals, plist.Value{Kind: plist.Integer, Int: int64(id)})
		}
		for i, key := range gpustats.EntryKeys {
			if keyRefs[i] == 0 {
				continue
			}
			ref := ioRegistryEntryCreateCFProperty(entry, keyRefs[i], 0, 0)
			if ref == 0 {
				continue // missing key: the metric is omitted
			}
			v, ok := toValue(ref, 0)
			cfRelease(ref)
			if ok {
				e.Keys = append(e.Keys, key)
				e.Vals = append(e.Vals, v)
			}
		}
		out.Items = append(out.Items, e)
		return len(out.Items) < gpustats.MaxAccelerators
	})
	return out, err
}

// GPUVoltageStates returns the raw GPU DVFS table: the "voltage-states9" property of the
// power manager ("pmgr") device, which lists (frequency, voltage) pairs of the GPU's
// performance states on Apple silicon.
func GPUVoltageStates() ([]byte, error) {
	if err := Load(); err != nil {
		return nil, err
	}
	var (
		data  []byte
		found bool
	)
	key := cfString("voltage-states9")
	defer cfRelease(key)
	err := forEachService("AppleARMIODevice", func(entry uint32) bool {
		var name [128]byte
		if ioRegistryEntryGetName(entry, &name[0]) != kIOReturnSuccess || ioName(&name) != "pmgr" {
			return true
		}
		found = true
		ref := ioRegistryEntryCreateCFProperty(entry, key, 0, 0)
		if ref != 0 {
			if v, ok := toValue(ref, 0); ok && v.Kind == plist.Data {
				data = v.Bytes
			}
			cfRelease(ref)
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("no pmgr device in the I/O registry (not Apple silicon?)")
	}
	if data == nil {
		return nil, fmt.Errorf("pmgr has no voltage-states9 property")
	}
	return data, nil
}
