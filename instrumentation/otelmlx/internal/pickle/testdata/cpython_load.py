"""Loads pickle streams with CPython's unpickler, never importing or running what they name.

find_class records (module, name) and returns Stub, a class that accepts any construction,
call, state, item or attribute assignment. Input: a JSON list of {name, hex, ext}; output: a JSON
object name -> {ok, error, globals}. Used by TestAgainstCPython as the reference for which
streams load and what they import.
"""
import copyreg
import io
import json
import pickle
import sys


class Stub:
    def __new__(cls, *a, **k):
        return object.__new__(cls)

    def __init__(self, *a, **k):
        pass

    def __call__(self, *a, **k):
        return Stub()

    def __setstate__(self, state):
        pass

    def append(self, v):
        pass

    def extend(self, v):
        pass

    def __setitem__(self, k, v):
        pass


class Recorder(pickle.Unpickler):
    def __init__(self, f, seen):
        super().__init__(f, fix_imports=False)
        self.seen = seen

    def find_class(self, module, name):
        self.seen.append(module + "." + name)
        return Stub

    def persistent_load(self, pid):
        return Stub()


def main():
    cases = json.load(open(sys.argv[1]))
    out = {}
    for c in cases:
        data = bytes.fromhex(c["hex"])
        seen = []
        if c.get("ext"):
            # EXT codes resolve through the registry: register the code the case uses.
            copyreg._extension_registry.clear()
            copyreg._inverted_registry.clear()
            copyreg._extension_cache.clear()
            copyreg.add_extension("copyreg._extension_registry", "code 7", 7)
        try:
            Recorder(io.BytesIO(data), seen).load()
            # Protocol 5 NEXT_BUFFER needs buffers; handled by the second attempt below.
            out[c["name"]] = {"ok": True, "error": "", "globals": sorted(set(seen))}
        except pickle.UnpicklingError as e:
            if "out-of-band" in str(e):
                seen = []
                try:
                    u = Recorder(io.BytesIO(data), seen)
                    pickle.Unpickler.__init__(u, io.BytesIO(data), fix_imports=False, buffers=[b"x"] * 4)
                    u.load()
                    out[c["name"]] = {"ok": True, "error": "", "globals": sorted(set(seen))}
                    continue
                except Exception as e2:  # noqa: BLE001
                    e = e2
            out[c["name"]] = {"ok": False, "error": repr(e), "globals": sorted(set(seen))}
        except Exception as e:  # noqa: BLE001 - any failure means CPython does not load it
            out[c["name"]] = {"ok": False, "error": repr(e), "globals": sorted(set(seen))}
    json.dump(out, sys.stdout)


main()
