"""Scans every file of a directory with picklescan and prints, per file name, the imports it
found with picklescan's safety level. Used by TestAgainstPicklescan."""
import json
import logging
import os
import sys

from picklescan.scanner import scan_file_path

logging.disable(logging.CRITICAL)
out = {}
for name in sorted(os.listdir(sys.argv[1])):
    r = scan_file_path(os.path.join(sys.argv[1], name))
    out[name] = {
        "globals": sorted({(g.module, g.name, g.safety.value) for g in r.globals}),
        "scan_err": r.scan_err,
    }
json.dump(out, sys.stdout)
