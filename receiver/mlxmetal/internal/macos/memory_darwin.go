//go:build darwin

package macos

import (
	"fmt"
	"sync"

	"github.com/ebitengine/purego"
	"golang.org/x/sys/unix"
)

const (
	pathMetal = "/System/Library/Frameworks/Metal.framework/Metal"
	pathObjC  = "/usr/lib/libobjc.A.dylib"
)

var (
	metalOnce  sync.Once
	metalLimit uint64
	metalErr   error
)

// MetalRecommendedMaxWorkingSetSize returns MTLDevice.recommendedMaxWorkingSetSize of the
// system default device: how much memory Metal lets one process keep resident for the
// GPU (about 2/3 to 3/4 of RAM on Apple silicon). It is fixed for the boot, so it is read
// once.
func MetalRecommendedMaxWorkingSetSize() (uint64, error) {
	metalOnce.Do(func() { metalLimit, metalErr = readMetalLimit() })
	return metalLimit, metalErr
}

func readMetalLimit() (uint64, error) {
	var (
		mtlCreateSystemDefaultDevice func() uintptr
		selRegisterName              func(name string) uintptr
		msgSendU64                   func(obj, sel uintptr) uint64
		msgSendVoid                  func(obj, sel uintptr)
	)
	if err := bindAll(pathMetal, []binding{{&mtlCreateSystemDefaultDevice, "MTLCreateSystemDefaultDevice"}}); err != nil {
		return 0, err
	}
	objc, err := purego.Dlopen(pathObjC, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return 0, fmt.Errorf("dlopen %s: %w", pathObjC, err)
	}
	if err := bind(objc, pathObjC, &selRegisterName, "sel_registerName"); err != nil {
		return 0, err
	}
	// objc_msgSend is called with the exact signature of each method it dispatches to.
	if err := bind(objc, pathObjC, &msgSendU64, "objc_msgSend"); err != nil {
		return 0, err
	}
	if err := bind(objc, pathObjC, &msgSendVoid, "objc_msgSend"); err != nil {
		return 0, err
	}
	dev := mtlCreateSystemDefaultDevice() // returns a +1 reference
	if dev == 0 {
		return 0, fmt.Errorf("MTLCreateSystemDefaultDevice returned nil: no Metal device")
	}
	defer msgSendVoid(dev, selRegisterName("release"))
	n := msgSendU64(dev, selRegisterName("recommendedMaxWorkingSetSize"))
	if n == 0 {
		return 0, fmt.Errorf("recommendedMaxWorkingSetSize is 0")
	}
	return n, nil
}

// PhysicalMemory returns hw.memsize, the fallback GPU memory limit on unified memory.
func PhysicalMemory() (uint64, error) {
	n, err := unix.SysctlUint64("hw.memsize")
	if err != nil {
		return 0, fmt.Errorf("sysctl hw.memsize: %w", err)
	}
	return n, nil
}
