"""Writes the fixtures in ioreg/ and ioreport/ (run from this directory: python3 gen_fixtures.py).

The plists have the shape of `ioreg -a -r -d 1 -c IOAccelerator` output on M1 (AGXAcceleratorG13G),
M2 (G14G), M3 (G15G) and an Intel MacBook Pro with an Intel UHD 630 and an AMD Radeon Pro 5500M:
the same property names, types and magnitudes, written by plistlib as ioreg writes XML plists.
The IOReport JSON files hold cumulative channel values as the receiver reads them through
libIOReport, with the expected interval results noted in the comments below.
"""
import plistlib, struct, json, copy, zlib
hash = lambda t: zlib.crc32(repr(t).encode())
def legend(gen):
    # The driver publishes its IOReport channel legend in the registry; it is most of the
    # size of a real capture, so the fixtures carry one of realistic shape.
    groups = [("GPU Stats", "GPU Performance States", ["GPUPH", "GPU_PS"]),
              ("GPU Stats", "Temperature", ["Average Sum", "Average Sampled", "Max Sum"]),
              ("GPU Stats", "Scheduler", ["Submitted", "Completed", "Preempted", "Context Switches", "Stalls"]),
              ("GPU Stats", "GPU Utilization", ["Device", "Renderer", "Tiler", "Compute"]),
              ("Energy Model", None, ["GPU Energy", "GPU SRAM Energy"]),
              ("AGXCommandQueue", "Queue Stats", ["Q%d" % i for i in range(24)])]
    out = []
    for g, sg, names in groups:
        d = {"IOReportGroupName": g, "IOReportChannelInfo": {"IOReportChannelUnit": 0x0100000000000000 + gen},
             "IOReportChannels": [[0x5100000000000000 + hash((g, n)) % 0xffffffff, 4295229440 + i, n] for i, n in enumerate(names)]}
        if sg:
            d["IOReportSubGroupName"] = sg
        out.append(d)
    return out

def agx(cls, bundle, model, cores, regid, ps, gens):
    gen, frags, gps = gens
    return {
        "AGXParameterBufferMaxSize": 503316480,
        "AGXParameterBufferMaxSizeEverMemless": 50331648,
        "AGXParameterBufferMaxSizeNeverMemless": 251658240,
        "AGXTraceCodeVersion": "3.29.1",
        "CFBundleIdentifier": bundle,
        "CFBundleIdentifierKernel": bundle,
        "GPUConfigurationVariable": {"gpu_gen": gen, "num_cores": cores, "num_frags": frags, "num_gps": gps, "num_mgpus": 1, "core_mask_list": [(1 << cores) - 1], "usc_gen": 2},
        "IOClass": cls,
        "IOGLBundleName": "AppleMetalOpenGLRenderer",
        "IOGLESBundleName": "AppleMetalGLRenderer",
        "IOMatchCategory": "IOAcceleratorES",
        "IOMatchedAtBoot": True,
        "IONameMatch": "gpu," + {13:"t8103",14:"t8112",15:"t8122"}[gen],
        "IONameMatched": "gpu," + {13:"t8103",14:"t8112",15:"t8122"}[gen],
        "IOObjectClass": cls,
        "IOObjectRetainCount": 36,
        "IOPersonalityPublisher": bundle,
        "IOProbeScore": 0,
        "IOProviderClass": "AppleARMIODevice",
        "IORegistryEntryID": regid,
        "IORegistryEntryName": cls,
        "IOReportLegendPublic": True,
        "IOReportLegend": legend(gen),
        "IOServiceBusyState": 0,
        "IOServiceBusyTime": 31208,
        "IOServiceState": 30,
        "IOSourceVersion": "0.0.0.0.0",
        "MetalPluginClassName": "AGXG%dGDevice" % gen,
        "MetalPluginName": "AGXMetalG%dG_B0" % gen,
        "MetalStatisticsName": "AGXMetalStatisticsExternalG%dG" % gen,
        "PerformanceStatistics": ps,
        "SchedulerState": {"Stamps": b"\x00" * 32, "Priority Band Totals": [0, 1, 0, 0, 0]},
        "gpu-core-count": cores,
        "model": model,
    }

def ps(dev, ren, til, inuse, alloc, rec=0, driver=0):
    return {"Alloc system memory": alloc, "Allocated PB Size": 102760448, "Device Utilization %": dev,
            "In use system memory": inuse, "In use system memory (driver)": driver, "lastRecoveryTime": 0 if rec == 0 else 1731888000123,
            "recoveryCount": rec, "Renderer Utilization %": ren, "SplitSceneCount": 0, "TiledSceneBytes": 393216, "Tiler Utilization %": til}

GiB = 1 << 30
w = lambda name, obj: open("ioreg/" + name, "wb").write(plistlib.dumps(obj, sort_keys=True))
m1 = lambda p: agx("AGXAcceleratorG13G", "com.apple.AGXG13G", "Apple M1", 8, 4294968960, p, (13, 8, 4))
w("m1_idle.plist", [m1(ps(0, 0, 0, 33554432, 436207616))])
w("m1_busy.plist", [m1(ps(98, 97, 41, 6 * GiB + 123456, 7 * GiB, driver=16777216))])
w("m2_busy.plist", [agx("AGXAcceleratorG14G", "com.apple.AGXG14G", "Apple M2", 10, 4294969102, ps(100, 99, 12, 11 * GiB + 73400320, 12 * GiB), (14, 10, 5))])
w("m3_recovered.plist", [agx("AGXAcceleratorG15G", "com.apple.AGXG15G", "Apple M3", 10, 4294970511, ps(64, 63, 5, 3 * GiB, 4 * GiB, rec=2), (15, 10, 5))])

# Intel MacBook Pro 16" 2019: integrated Intel UHD 630 and discrete AMD Radeon Pro 5500M.
intel = {"IOClass": "IntelAccelerator", "IOObjectClass": "IntelAccelerator", "IORegistryEntryID": 4294968412, "IORegistryEntryName": "IntelAccelerator",
         "IOProviderClass": "IOPCIDevice", "CFBundleIdentifier": "com.apple.driver.AppleIntelKBLGraphics", "MetalPluginName": "AppleIntelKBLGraphicsMTLDriver",
         "model": b"Intel UHD Graphics 630\x00", "vendor-id": struct.pack("<I", 0x8086),
         "PerformanceStatistics": {"Device Utilization %": 7, "GPU Activity(%)": 7, "In use system memory": 268435456, "Alloc system memory": 1610612736, "recoveryCount": 0, "Renderer Utilization %": 6, "Tiler Utilization %": 6}}
amd = {"IOClass": "AMDRadeonX6000_AMDNavi14GraphicsAccelerator", "IOObjectClass": "AMDRadeonX6000_AMDNavi14GraphicsAccelerator", "IORegistryEntryID": 4294969011,
       "IORegistryEntryName": "AMDRadeonX6000_AMDNavi14GraphicsAccelerator", "IOProviderClass": "IOPCIDevice", "CFBundleIdentifier": "com.apple.kext.AMDRadeonX6000",
       "model": b"AMD Radeon Pro 5500M\x00", "vendor-id": struct.pack("<I", 0x1002),
       "PerformanceStatistics": {"Device Utilization %": 31, "GPU Activity(%)": 31, "Temperature(C)": 61, "Fan Speed(RPM)": 1912, "Fan Speed(%)": 36, "Core Clock(MHz)": 1300,
                                 "Memory Clock(MHz)": 1500, "Total Power(W)": 18, "In use system memory": 536870912, "Alloc system memory": 805306368, "vramUsedBytes": 2147483648, "vramFreeBytes": 6442450944,
                                 "recoveryCount": 0}}
w("intel_amd_two_gpus.plist", [intel, amd])

miss = m1(ps(5, 4, 3, 1, 1))
for k in ["Device Utilization %", "In use system memory", "Alloc system memory", "recoveryCount"]:
    del miss["PerformanceStatistics"][k]
del miss["gpu-core-count"]
w("m1_missing_keys.plist", [miss])
nops = m1(ps(0, 0, 0, 0, 0)); del nops["PerformanceStatistics"]
w("m1_no_statistics.plist", [nops])

oor = agx("AGXAcceleratorG14G", "com.apple.AGXG14G", "Apple M2", 10, 4294969102, ps(140, -5, 100, 1, 2), (14, 10, 5))
oor["PerformanceStatistics"]["In use system memory"] = -4096
oor["PerformanceStatistics"]["recoveryCount"] = "three"
oor["PerformanceStatistics"]["Tiler Utilization %"] = 100.0
oor["gpu-core-count"] = 0
w("m2_out_of_range.plist", [oor])

good = open("ioreg/m1_busy.plist", "rb").read()
open("ioreg/malformed_truncated.plist", "wb").write(good[: len(good) // 2])
open("ioreg/malformed_bad_integer.plist", "wb").write(good.replace(b"<integer>98</integer>", b"<integer>98%</integer>"))
open("ioreg/malformed_mismatched.plist", "wb").write(good.replace(b"</dict>\n</array>", b"</array>\n</dict>", 1))
open("ioreg/malformed_empty.plist", "wb").write(b"")
open("ioreg/malformed_not_xml.plist", "wb").write(b"+-o AGXAcceleratorG13G  <class AGXAcceleratorG13G, id 0x100000680, registered, matched, active, busy 0 (0 ms), retain 36>\n")

# IOReport replays. Times 1 s apart; counters cumulative.
def states(names, res):
    return [{"name": n, "residency": r} for n, r in zip(names, res)]
t0 = "2026-11-20T10:00:0%dZ"
m1names = ["OFF", "P1", "P2", "P3", "P4", "P5", "P6"]
# Residency ticks (24 MHz timebase), cumulative since boot.
base = [9_000_000_000, 10_000_000, 20_000_000, 30_000_000, 40_000_000, 50_000_000, 60_000_000]
def m1s(i, e_mj, adds):
    return {"time": t0 % i, "channels": [
        {"group": "Energy Model", "name": "GPU Energy", "unit": "mJ", "format": 1, "value": e_mj},
        {"group": "Energy Model", "name": "CPU Energy", "unit": "mJ", "format": 1, "value": 99999},
        {"group": "GPU Stats", "subgroup": "GPU Performance States", "name": "GPUPH", "format": 2, "states": states(m1names, [b + a for b, a in zip(base, adds)])}]}
# sample0 baseline; 0->1: 6000 mJ in 1 s (6 W); residency 24e6 ticks: 6e6 OFF, 18e6 P6 -> active 0.75, freq 1278 MHz
# 1->2: 1500 mJ; 24e6 ticks: 12e6 OFF, 6e6 P1, 6e6 P6 -> active .5, freq (396+1278)/2=837 MHz
m1 = {"dvfs": [0, 396000000, 528000000, 720000000, 924000000, 1128000000, 1278000000],
      "samples": [m1s(0, 1_000_000, [0] * 7), m1s(1, 1_006_000, [6_000_000, 0, 0, 0, 0, 0, 18_000_000]),
                  m1s(2, 1_007_500, [18_000_000, 6_000_000, 0, 0, 0, 0, 24_000_000])]}
json.dump(m1, open("ioreport/m1.json", "w"), indent=1)
m4names = ["OFF", "IDLE", "P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8"]
b4 = [0] * 10
def m4s(i, e_nj, res):
    return {"time": t0 % i, "channels": [
        {"group": "Energy Model", "name": "GPU Energy", "unit": "nJ", "format": 1, "value": e_nj},
        {"group": "GPU Stats", "subgroup": "GPU Performance States", "name": "GPUPH", "format": 2, "states": states(m4names, res)}]}
# 0->1: 12.5 J over 1 s; 24e6 ticks: 4e6 OFF, 4e6 IDLE, 8e6 P4(924 MHz), 8e6 P8(1470 MHz): active 2/3, freq 1197 MHz
m4 = {"dvfs": [338000, 618000, 796000, 924000, 1056000, 1182000, 1312000, 1470000],
      "samples": [m4s(0, 5_000_000_000_000, [0] * 10), m4s(1, 5_000_000_000_000 + 12_500_000_000, [4_000_000, 4_000_000, 0, 0, 0, 8_000_000, 0, 0, 0, 8_000_000])]}
json.dump(m4, open("ioreport/m4_khz.json", "w"), indent=1)
