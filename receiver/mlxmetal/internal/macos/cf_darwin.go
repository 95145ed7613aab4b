//go:build darwin

package macos

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"

	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/plist"
)

const (
	pathCoreFoundation = "/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation"
	pathIOKit          = "/System/Library/Frameworks/IOKit.framework/IOKit"

	kCFNumberSInt64Type    = 4
	kCFNumberFloat64Type   = 6
	kCFStringEncodingUTF8  = 0x08000100
	kIOReturnSuccess       = 0
	kIOMainPortDefault     = 0
	maxCFStringBytes       = 64 << 10
	maxCFDepth             = 16
	maxCFContainerElements = 4096
)

// CoreFoundation and IOKit functions, bound once by load. Signatures follow
// CoreFoundation/CFBase.h, CFDictionary.h, CFNumber.h, CFString.h, CFArray.h, CFData.h and
// IOKit/IOKitLib.h; io_object_t and friends are mach_port_t (uint32), kern_return_t int32.
var (
	cfRelease                        func(cf uintptr)
	cfGetTypeID                      func(cf uintptr) uintptr
	cfDictionaryGetTypeID            func() uintptr
	cfArrayGetTypeID                 func() uintptr
	cfStringGetTypeID                func() uintptr
	cfNumberGetTypeID                func() uintptr
	cfBooleanGetTypeID               func() uintptr
	cfDataGetTypeID                  func() uintptr
	cfDictionaryGetCount             func(d uintptr) int
	cfDictionaryGetKeysAndValues     func(d uintptr, keys, values *uintptr)
	cfDictionaryGetValue             func(d, key uintptr) uintptr
	cfArrayGetCount                  func(a uintptr) int
	cfArrayGetValueAtIndex           func(a uintptr, i int) uintptr
	cfNumberIsFloatType              func(n uintptr) bool
	cfNumberGetValue                 func(n uintptr, typ int, out unsafe.Pointer) bool
	cfBooleanGetValue                func(b uintptr) bool
	cfDataGetLength                  func(d uintptr) int
	cfDataGetBytePtr                 func(d uintptr) *byte
	cfStringGetLength                func(s uintptr) int
	cfStringGetMaximumSizeForEncodng func(length int, enc uint32) int
	cfStringGetCString               func(s uintptr, buf *byte, size int, enc uint32) bool
	cfStringCreateWithCString        func(alloc uintptr, cstr string, enc uint32) uintptr

	ioServiceMatching                 func(name string) uintptr
	ioServiceGetMatchingServices      func(mainPort uint32, matching uintptr, iter *uint32) int32
	ioIteratorNext                    func(iter uint32) uint32
	ioObjectRelease                   func(obj uint32) int32
	ioObjectGetClass                  func(obj uint32, name *byte) int32
	ioRegistryEntryGetName            func(entry uint32, name *byte) int32
	ioRegistryEntryGetRegistryEntryID func(entry uint32, id *uint64) int32
	ioRegistryEntryCreateCFProperty   func(entry uint32, key, alloc uintptr, options uint32) uintptr
	typeDict, typeArray, typeString   uintptr
	typeNumber, typeBoolean, typeData uintptr
	loadOnce                          sync.Once
	loadErr                           error
)

// bind resolves sym in lib into fptr, returning an error instead of purego's panic so a
// macOS release that lacks a symbol gives a clear start error.
func bind(lib uintptr, libName string, fptr any, sym string) error {
	addr, err := purego.Dlsym(lib, sym)
	if err != nil || addr == 0 {
		return fmt.Errorf("symbol %s not found in %s: %v", sym, libName, err)
	}
	purego.RegisterFunc(fptr, addr)
	return nil
}

type binding struct {
	fptr any
	name string
}

func bindAll(path string, bs []binding) error {
	lib, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return fmt.Errorf("dlopen %s: %w", path, err)
	}
	var errs []error
	for _, b := range bs {
		if err := bind(lib, path, b.fptr, b.name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Load opens CoreFoundation and IOKit once.
func Load() error {
	loadOnce.Do(func() {
		loadErr = bindAll(pathCoreFoundation, []binding{
			{&cfRelease, "CFRelease"},
			{&cfGetTypeID, "CFGetTypeID"},
			{&cfDictionaryGetTypeID, "CFDictionaryGetTypeID"},
			{&cfArrayGetTypeID, "CFArrayGetTypeID"},
			{&cfStringGetTypeID, "CFStringGetTypeID"},
			{&cfNumberGetTypeID, "CFNumberGetTypeID"},
			{&cfBooleanGetTypeID, "CFBooleanGetTypeID"},
			{&cfDataGetTypeID, "CFDataGetTypeID"},
			{&cfDictionaryGetCount, "CFDictionaryGetCount"},
			{&cfDictionaryGetKeysAndValues, "CFDictionaryGetKeysAndValues"},
			{&cfDictionaryGetValue, "CFDictionaryGetValue"},
			{&cfArrayGetCount, "CFArrayGetCount"},
			{&cfArrayGetValueAtIndex, "CFArrayGetValueAtIndex"},
			{&cfNumberIsFloatType, "CFNumberIsFloatType"},
			{&cfNumberGetValue, "CFNumberGetValue"},
			{&cfBooleanGetValue, "CFBooleanGetValue"},
			{&cfDataGetLength, "CFDataGetLength"},
			{&cfDataGetBytePtr, "CFDataGetBytePtr"},
			{&cfStringGetLength, "CFStringGetLength"},
			{&cfStringGetMaximumSizeForEncodng, "CFStringGetMaximumSizeForEncoding"},
			{&cfStringGetCString, "CFStringGetCString"},
			{&cfStringCreateWithCString, "CFStringCreateWithCString"},
		})
		if loadErr != nil {
			return
		}
		loadErr = bindAll(pathIOKit, []binding{
			{&ioServiceMatching, "IOServiceMatching"},
			{&ioServiceGetMatchingServices, "IOServiceGetMatchingServices"},
			{&ioIteratorNext, "IOIteratorNext"},
			{&ioObjectRelease, "IOObjectRelease"},
			{&ioObjectGetClass, "IOObjectGetClass"},
			{&ioRegistryEntryGetName, "IORegistryEntryGetName"},
			{&ioRegistryEntryGetRegistryEntryID, "IORegistryEntryGetRegistryEntryID"},
			{&ioRegistryEntryCreateCFProperty, "IORegistryEntryCreateCFProperty"},
		})
		if loadErr != nil {
			return
		}
		typeDict, typeArray, typeString = cfDictionaryGetTypeID(), cfArrayGetTypeID(), cfStringGetTypeID()
		typeNumber, typeBoolean, typeData = cfNumberGetTypeID(), cfBooleanGetTypeID(), cfDataGetTypeID()
	})
	return loadErr
}

// cfString makes a CFString the caller must release.
func cfString(s string) uintptr { return cfStringCreateWithCString(0, s, kCFStringEncodingUTF8) }

// goString copies a CFString into Go memory, bounded to maxCFStringBytes.
func goString(s uintptr) string {
	if s == 0 {
		return ""
	}
	n := cfStringGetMaximumSizeForEncodng(cfStringGetLength(s), kCFStringEncodingUTF8) + 1
	if n <= 1 {
		return ""
	}
	if n > maxCFStringBytes {
		n = maxCFStringBytes
	}
	buf := make([]byte, n)
	if !cfStringGetCString(s, &buf[0], n, kCFStringEncodingUTF8) {
		return ""
	}
	for i, c := range buf {
		if c == 0 {
			return string(buf[:i])
		}
	}
	return string(buf)
}

// toValue converts a CoreFoundation property tree to a plist value, so the registry data
// goes through the same extraction code as `ioreg -a` output. Unknown CF types are skipped.
func toValue(ref uintptr, depth int) (plist.Value, bool) {
	if ref == 0 || depth > maxCFDepth {
		return plist.Value{}, false
	}
	switch cfGetTypeID(ref) {
	case typeString:
		return plist.Value{Kind: plist.String, Str: goString(ref)}, true
	case typeNumber:
		if cfNumberIsFloatType(ref) {
			var f float64
			if !cfNumberGetValue(ref, kCFNumberFloat64Type, unsafe.Pointer(&f)) {
				return plist.Value{}, false
			}
			return plist.Value{Kind: plist.Real, Real: f}, true
		}
		var i int64
		// CFNumberGetValue returns false when the value was converted lossily (an
		// unsigned 64-bit value above MaxInt64): keep the bits as unsigned then.
		if !cfNumberGetValue(ref, kCFNumberSInt64Type, unsafe.Pointer(&i)) && i < 0 {
			return plist.Value{Kind: plist.Integer, Uint: uint64(i), Unsigned: true}, true
		}
		return plist.Value{Kind: plist.Integer, Int: i}, true
	case typeBoolean:
		return plist.Value{Kind: plist.Bool, Bool: cfBooleanGetValue(ref)}, true
	case typeData:
		n := cfDataGetLength(ref)
		if n < 0 || n > maxCFStringBytes {
			return plist.Value{}, false
		}
		b := make([]byte, n)
		if n > 0 {
			// The bytes are owned by the CFData; copy them out before it is released.
			if p := cfDataGetBytePtr(ref); p != nil {
				copy(b, unsafe.Slice(p, n))
			}
		}
		return plist.Value{Kind: plist.Data, Bytes: b}, true
	case typeArray:
		n := cfArrayGetCount(ref)
		if n < 0 || n > maxCFContainerElements {
			return plist.Value{}, false
		}
		v := plist.Value{Kind: plist.Array, Items: make([]plist.Value, 0, n)}
		for i := 0; i < n; i++ {
			if item, ok := toValue(cfArrayGetValueAtIndex(ref, i), depth+1); ok {
				v.Items = append(v.Items, item)
			}
		}
		return v, true
	case typeDict:
		n := cfDictionaryGetCount(ref)
		if n < 0 || n > maxCFContainerElements {
			return plist.Value{}, false
		}
		v := plist.Value{Kind: plist.Dict}
		if n == 0 {
			return v, true
		}
		keys := make([]uintptr, n)
		vals := make([]uintptr, n)
		cfDictionaryGetKeysAndValues(ref, &keys[0], &vals[0])
		v.Keys = make([]string, 0, n)
		v.Vals = make([]plist.Value, 0, n)
		for i := 0; i < n; i++ {
			if cfGetTypeID(keys[i]) != typeString {
				continue
			}
			item, ok := toValue(vals[i], depth+1)
			if !ok {
				continue
			}
			v.Keys = append(v.Keys, goString(keys[i]))
			v.Vals = append(v.Vals, item)
		}
		return v, true
	}
	return plist.Value{}, false
}

// ioName converts an io_name_t (char[128]) to a Go string.
func ioName(b *[128]byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b[:])
}
