//go:build darwin

package macos

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/ioreport"
)

const pathIOReport = "/usr/lib/libIOReport.dylib"

// libIOReport has no public header; these signatures are those the system tools use and
// that open-source monitors (powermetrics clones) have relied on since macOS 11.
var (
	ioReportOnce                 sync.Once
	ioReportErr                  error
	ioReportCopyChannelsInGroup  func(group, subgroup uintptr, a, b, c uint64) uintptr
	ioReportMergeChannels        func(a, b, unused uintptr)
	ioReportCreateSubscription   func(unused, desired uintptr, subbed *uintptr, channelID uint64, unused2 uintptr) uintptr
	ioReportCreateSamples        func(sub, subbed, unused uintptr) uintptr
	ioReportChannelGetGroup      func(ch uintptr) uintptr
	ioReportChannelGetSubGroup   func(ch uintptr) uintptr
	ioReportChannelGetName       func(ch uintptr) uintptr
	ioReportChannelGetUnitLabel  func(ch uintptr) uintptr
	ioReportChannelGetFormat     func(ch uintptr) uint8 // IOReportFormat is returned in the low byte only
	ioReportSimpleGetIntegerVal  func(ch uintptr, unused int32) int64
	ioReportStateGetCount        func(ch uintptr) int32
	ioReportStateGetNameForIndex func(ch uintptr, i int32) uintptr
	ioReportStateGetResidency    func(ch uintptr, i int32) int64
)

func loadIOReport() error {
	ioReportOnce.Do(func() {
		if err := Load(); err != nil {
			ioReportErr = err
			return
		}
		ioReportErr = bindAll(pathIOReport, []binding{
			{&ioReportCopyChannelsInGroup, "IOReportCopyChannelsInGroup"},
			{&ioReportMergeChannels, "IOReportMergeChannels"},
			{&ioReportCreateSubscription, "IOReportCreateSubscription"},
			{&ioReportCreateSamples, "IOReportCreateSamples"},
			{&ioReportChannelGetGroup, "IOReportChannelGetGroup"},
			{&ioReportChannelGetSubGroup, "IOReportChannelGetSubGroup"},
			{&ioReportChannelGetName, "IOReportChannelGetChannelName"},
			{&ioReportChannelGetUnitLabel, "IOReportChannelGetUnitLabel"},
			{&ioReportChannelGetFormat, "IOReportChannelGetFormat"},
			{&ioReportSimpleGetIntegerVal, "IOReportSimpleGetIntegerValue"},
			{&ioReportStateGetCount, "IOReportStateGetCount"},
			{&ioReportStateGetNameForIndex, "IOReportStateGetNameForIndex"},
			{&ioReportStateGetResidency, "IOReportStateGetResidency"},
		})
	})
	return ioReportErr
}

// Subscription is one IOReport subscription to the GPU energy and performance-state
// channels. It is created once and kept: each Sample reads cumulative values, and the
// receiver diffs consecutive samples, so no scrape ever sleeps.
type Subscription struct {
	mu      sync.Mutex
	sub     uintptr
	subbed  uintptr
	desired uintptr
	chKey   uintptr
}

// Subscribe creates the subscription.
func Subscribe() (*Subscription, error) {
	if err := loadIOReport(); err != nil {
		return nil, err
	}
	gEnergy, gStats, sgStates := cfString(ioreport.GroupEnergy), cfString(ioreport.GroupGPUStats), cfString(ioreport.SubgroupGPUStates)
	defer cfRelease(gEnergy)
	defer cfRelease(gStats)
	defer cfRelease(sgStates)
	energy := ioReportCopyChannelsInGroup(gEnergy, 0, 0, 0, 0)
	states := ioReportCopyChannelsInGroup(gStats, sgStates, 0, 0, 0)
	if energy == 0 && states == 0 {
		return nil, errors.New("IOReport has neither the Energy Model nor the GPU Stats channels on this Mac")
	}
	desired := energy
	if desired == 0 {
		desired = states
	} else if states != 0 {
		ioReportMergeChannels(desired, states, 0)
		cfRelease(states)
	}
	s := &Subscription{desired: desired, chKey: cfString("IOReportChannels")}
	s.sub = ioReportCreateSubscription(0, desired, &s.subbed, 0, 0)
	if s.sub == 0 || s.subbed == 0 {
		cfRelease(desired)
		cfRelease(s.chKey)
		return nil, errors.New("IOReportCreateSubscription failed")
	}
	return s, nil
}

// Sample reads the subscribed channels now. Only the channels the receiver uses are kept
// (the Energy Model group alone has dozens), bounding memory per scrape.
func (s *Subscription) Sample() (ioreport.Sample, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sub == 0 {
		return ioreport.Sample{}, errors.New("IOReport subscription closed")
	}
	samples := ioReportCreateSamples(s.sub, s.subbed, 0)
	now := time.Now()
	if samples == 0 {
		return ioreport.Sample{}, errors.New("IOReportCreateSamples returned NULL")
	}
	defer cfRelease(samples)
	out := ioreport.Sample{Time: now}
	arr := cfDictionaryGetValue(samples, s.chKey)
	if arr == 0 || cfGetTypeID(arr) != typeArray {
		return out, fmt.Errorf("IOReport sample has no channel array")
	}
	n := cfArrayGetCount(arr)
	if n > maxCFContainerElements {
		n = maxCFContainerElements
	}
	for i := 0; i < n; i++ {
		ch := cfArrayGetValueAtIndex(arr, i)
		if ch == 0 {
			continue
		}
		c := ioreport.Channel{
			Group:    goString(ioReportChannelGetGroup(ch)),
			Subgroup: goString(ioReportChannelGetSubGroup(ch)),
			Name:     goString(ioReportChannelGetName(ch)),
			Format:   ioreport.Format(ioReportChannelGetFormat(ch)),
		}
		switch {
		case c.Group == ioreport.GroupEnergy && c.Name == ioreport.ChannelGPUEnergy && c.Format == ioreport.FormatSimple:
			c.Unit = goString(ioReportChannelGetUnitLabel(ch))
			c.Value = ioReportSimpleGetIntegerVal(ch, 0)
		case c.Group == ioreport.GroupGPUStats && c.Subgroup == ioreport.SubgroupGPUStates &&
			c.Name == ioreport.ChannelGPUStates && c.Format == ioreport.FormatState:
			k := ioReportStateGetCount(ch)
			if k < 0 || k > 64 {
				continue
			}
			c.States = make([]ioreport.State, k)
			for j := int32(0); j < k; j++ {
				c.States[j] = ioreport.State{Name: goString(ioReportStateGetNameForIndex(ch, j)), Residency: ioReportStateGetResidency(ch, j)}
			}
		default:
			continue
		}
		out.Channels = append(out.Channels, c)
	}
	return out, nil
}

// Close releases the subscription's CF objects. The library stays open.
func (s *Subscription) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sub == 0 {
		return
	}
	cfRelease(s.sub)
	cfRelease(s.subbed)
	cfRelease(s.desired)
	cfRelease(s.chKey)
	s.sub, s.subbed, s.desired, s.chKey = 0, 0, 0, 0
}
