#!/usr/bin/env python3
"""make demo-otelcol: otelcol-mlx and the example MLX service, a quiet phase, then incidents.

usage: otelcol_demo.py --otelcol BIN --service BIN --models DIR --out DIR --config-dir DIR --python PY

Starts the collector (otelcol-config.yaml, the embedded file destination under OUT/data) and the
example service on real MLX exporting OTLP to it, drives a quiet phase of ordinary traffic from a
few callers, then one incident of each kind mlxanomaly detects, and prints every detection as it
reaches the security destination: type, model, pseudonymous caller, ATLAS technique, time to
detect (from the start of the incident until the flagged item is on disk). Detectors run on event
time, so the incidents are real traffic: the timestamps are the service's own. Data stays in OUT.
Standard library only.
"""
import argparse
import glob
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

ROW = [0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.7, -0.8, 0.9, 1.0, -1.1, 1.2, 0.0, 0.5, -0.5, 0.25]


def free_addr():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    addr = "127.0.0.1:%d" % s.getsockname()[1]
    s.close()
    return addr


def http(method, url, body=None, headers=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        return 0, str(e).encode()


def wait_http(url, proc, log, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            sys.exit("demo: %s exited:\n%s" % (proc.args[0], open(log).read()[-4000:]))
        if http("GET", url, timeout=2)[0] == 200:
            return
        time.sleep(0.2)
    sys.exit("demo: %s did not come up" % url)


class Detections:
    """Reads the security destination (OTLP JSON lines) as it grows."""

    def __init__(self, path):
        self.path, self.offset, self.items = path, 0, []

    def poll(self):
        if not os.path.exists(self.path):
            return []
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            chunk = f.read()
        end = chunk.rfind(b"\n") + 1
        self.offset += end
        new = []
        for line in chunk[:end].splitlines():
            try:
                req = json.loads(line)
            except ValueError:
                continue
            for kind, rkey, skey, ikey in (("span", "resourceSpans", "scopeSpans", "spans"), ("log", "resourceLogs", "scopeLogs", "logRecords")):
                for r in req.get(rkey, []):
                    for s in r.get(skey, []):
                        for it in s.get(ikey, []):
                            attrs = {}
                            for a in it.get("attributes", []):
                                v = a.get("value", {})
                                attrs[a["key"]] = next(iter(v.values()), None) if v else None
                            new.append({"kind": kind, "name": it.get("name") or it.get("eventName", ""), "attrs": attrs, "seen": time.time()})
        self.items += new
        return new


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--otelcol", required=True)
    ap.add_argument("--service", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--config-dir", required=True)
    ap.add_argument("--python", required=True)
    ap.add_argument("--quiet-seconds", type=float, default=float(os.environ.get("DEMO_QUIET_SECONDS", "45")))
    args = ap.parse_args()
    t_start = time.time()

    out = os.path.abspath(args.out)
    data, models = os.path.join(out, "data"), os.path.join(out, "models")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(data)
    os.makedirs(os.path.join(models, "unsafe"))
    src = os.path.join(args.models, "classifier")
    for ext in ("safetensors", "gguf", "npz"):
        shutil.copy(os.path.join(src, "classifier." + ext), os.path.join(models, "classifier." + ext))
    shutil.copy(os.path.join(src, "classifier.safetensors"), os.path.join(models, "prod.safetensors"))
    shutil.copy(os.path.join(args.models, "unsafe", "disguised.safetensors"), os.path.join(models, "unsafe", "disguised.safetensors"))
    shutil.copytree(os.path.join(args.models, "tiny-lm"), os.path.join(models, "tiny-lm"))

    procs = []

    def stop_all():
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()

    col_http, col_health, col_prom = free_addr(), free_addr(), free_addr()
    env = dict(os.environ, OTELCOL_MLX_DATA_DIR=data, OTELCOL_MLX_OTLP_GRPC_ENDPOINT=free_addr(),
               OTELCOL_MLX_OTLP_HTTP_ENDPOINT=col_http, OTELCOL_MLX_HEALTH_ENDPOINT=col_health,
               OTELCOL_MLX_PROMETHEUS_ENDPOINT=col_prom, OTELCOL_MLX_PPROF_ENDPOINT=free_addr(),
               OTELCOL_MLX_ZPAGES_ENDPOINT=free_addr(), OTELCOL_MLX_TELEMETRY_PORT=free_addr().split(":")[1],
               OTELCOL_MLX_METRICS_FLUSH_INTERVAL="2s")
    col_log = os.path.join(out, "otelcol.log")
    procs.append(subprocess.Popen([args.otelcol, "--config", os.path.join(args.config_dir, "otelcol-config.yaml")],
                                  env=env, stdout=open(col_log, "w"), stderr=subprocess.STDOUT))
    try:
        wait_http("http://%s/" % col_health, procs[-1], col_log)
        print("[%5.1fs] otelcol-mlx up: OTLP/HTTP %s, Prometheus http://%s/metrics, data %s" % (time.time() - t_start, col_http, col_prom, data))

        svc_addr = free_addr()
        url = "http://" + svc_addr
        token = "demo-admin-%d" % random.randrange(10**9)
        senv = dict(os.environ, MLXSERVICE_ADMIN_TOKEN=token, OTEL_SERVICE_NAME="mlxservice-demo",
                    OTEL_EXPORTER_OTLP_ENDPOINT="http://" + col_http, OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
                    OTEL_BSP_SCHEDULE_DELAY="500", OTEL_BLRP_SCHEDULE_DELAY="500", OTEL_METRIC_EXPORT_INTERVAL="5000")
        svc_log = os.path.join(out, "mlxservice.log")
        procs.append(subprocess.Popen([args.service, "-addr", svc_addr, "-model", os.path.join(models, "classifier.safetensors"),
                                       "-models-dir", models], env=senv, stdout=open(svc_log, "w"), stderr=subprocess.STDOUT))
        wait_http(url + "/healthz", procs[-1], svc_log)
        print("[%5.1fs] mlxservice on real MLX: %s" % (time.time() - t_start, http("GET", url + "/healthz")[1][:120].decode(errors="replace")))
        admin = {"Authorization": "Bearer " + token}

        def predict(user, rows=1, bad=False):
            inputs = [[1.0, 2.0, 3.0]] if bad else [ROW] * rows
            return http("POST", url + "/v1/predict", {"inputs": inputs}, {"X-User": user})[0]

        def generate(user, max_tokens):
            return http("POST", url + "/v1/generate", {"model": "tiny-lm", "tokens": [378, 295, 333, 14, 362, 367, 365], "max_tokens": max_tokens}, {"X-User": user})[0]

        def load(name, source):
            return http("POST", url + "/admin/models", {"name": name, "source": source}, admin)[0]

        # Ordinary traffic from a few callers, in the background for the whole run.
        stop = threading.Event()
        # Twenty callers at about 3 requests a second in all: some 9 a minute each, well under
        # client_flood's floor of 20 per interval, so an ordinary caller is never a flood.
        callers = ["user-%02d" % i for i in range(20)]
        counts = {"quiet": 0}
        lm_ready = threading.Event()

        def quiet():
            while not stop.is_set():
                predict(random.choice(callers), rows=random.randint(1, 4))
                counts["quiet"] += 1
                if counts["quiet"] % 3 == 0 and lm_ready.is_set():
                    generate(random.choice(callers), 8)
                stop.wait(random.uniform(0.25, 0.4))

        bg = threading.Thread(target=quiet, daemon=True)
        bg.start()
        print("[%5.1fs] quiet phase: %d callers, predictions and short generations, %.0f s (baselines: warm-up 30 per key)" % (time.time() - t_start, len(callers), args.quiet_seconds))
        q_end = time.time() + args.quiet_seconds
        while time.time() < q_end:
            time.sleep(min(5, q_end - time.time()))
            print("[%5.1fs]   %d ordinary requests so far" % (time.time() - t_start, counts["quiet"]), flush=True)

        det = Detections(os.path.join(data, "security", "security.jsonl"))
        det.poll()
        before = {(i["attrs"].get("mlxanomaly.type"), i["attrs"].get("mlxanomaly.key")) for i in det.items if i["attrs"].get("mlxanomaly.flag") is True}
        if before:
            print("[%5.1fs] flags during the quiet phase (false alarms): %s" % (time.time() - t_start, sorted(before)))

        def perturbed_copy():
            code = ("import mlx.core as mx, sys; w = mx.load(sys.argv[1]); "
                    "mx.save_safetensors(sys.argv[2], {k: v * 1.001 for k, v in w.items()}, metadata={'format': 'mlx'})")
            subprocess.run([args.python, "-c", code, os.path.join(models, "classifier.safetensors"), os.path.join(models, "prod.safetensors")], check=True)

        def flood():
            ths = [threading.Thread(target=lambda: [predict("mallory") for _ in range(40)]) for _ in range(4)]
            [t.start() for t in ths]
            [t.join() for t in ths]

        incidents = [
            # The service's first load (at start) taught its source; this one is new. The language
            # model loaded right after is another new source inside the same incident (one flag).
            ("model from an unexpected source", {"new_model_source"}, True,
             lambda: (load("classifier-gguf", "file://" + os.path.join(models, "classifier.gguf")),
                      load("tiny-lm", os.path.join(models, "tiny-lm")), lm_ready.set())),
            ("swapped model: new digest under the same name", {"model_digest_changed"}, True,
             lambda: (load("prod", os.path.join(models, "prod.safetensors")), perturbed_copy(), load("prod", os.path.join(models, "prod.safetensors")))),
            ("pickle file disguised as safetensors", {"disallowed_format"}, True,
             lambda: load("evil", os.path.join(models, "unsafe", "disguised.safetensors"))),
            ("reload storm", {"reload_storm"}, True,
             lambda: [load("classifier-gguf", "file://" + os.path.join(models, "classifier.gguf")) for _ in range(5)]),
            ("one caller flooding", {"client_flood"}, True, flood),
            ("error burst", {"error_burst"}, True, lambda: [predict("user-03", bad=True) for _ in range(40)]),
            ("memory spike", {"memory_spike"}, False, lambda: [predict("user-04", rows=256) for _ in range(3)]),
            ("latency degradation", {"latency_spike", "latency_shift", "token_spike"}, False,
             lambda: [generate("user-05", 96) for _ in range(6)]),
        ]
        results = []
        wait_s = float(os.environ.get("DEMO_DETECT_WAIT_SECONDS", "15"))
        for name, want, strong, action in incidents:
            t0 = time.time()
            n0 = len(det.items)
            print("[%5.1fs] incident: %s" % (t0 - t_start, name), flush=True)
            action()
            found = None
            while time.time() < t0 + wait_s and found is None:
                det.poll()
                for it in det.items[n0:]:
                    a = it["attrs"]
                    if a.get("mlxanomaly.flag") is True and a.get("mlxanomaly.type") in want:
                        found = it
                        break
                time.sleep(0.25)
            for it in det.items[n0:]:
                a = it["attrs"]
                if a.get("mlxanomaly.flag") is True:
                    print("           detected %-22s model=%-16s caller=%-32s %s  %s %s" % (
                        a.get("mlxanomaly.type"), a.get("gen_ai.request.model", "-"), a.get("enduser.pseudo.id", "-"),
                        a.get("mlxanomaly.atlas.technique"), it["kind"], it["name"]))
            ttd = (found["seen"] - t0) if found else None
            results.append((name, want, strong, found, ttd))
            if found is None:
                print("           not detected within %.0f s (%s)" % (wait_s, "/".join(sorted(want))))
            else:
                print("           time to detect (incident start to flagged item on disk): %.1f s" % ttd)
        stop.set()
        bg.join(5)
        time.sleep(3)  # last exports and the spanmetrics flush
        det.poll()

        print("\n== detections (security destination %s)" % det.path)
        print("%-46s %-22s %-16s %-34s %-14s %s" % ("incident", "type", "model", "caller (pseudonymous)", "ATLAS", "time to detect"))
        missing = []
        for name, want, strong, found, ttd in results:
            if found:
                a = found["attrs"]
                print("%-46s %-22s %-16s %-34s %-14s %.1f s" % (name, a.get("mlxanomaly.type"), a.get("gen_ai.request.model", "-"),
                                                              a.get("enduser.pseudo.id", "-"), a.get("mlxanomaly.atlas.technique"), ttd))
            else:
                print("%-46s %-22s" % (name, "not detected"))
                if strong:
                    missing.append(name)
        flagged = [i for i in det.items if i["attrs"].get("mlxanomaly.flag") is True]
        events = [i for i in det.items if i["kind"] == "log" and i["name"].startswith("mlx.")]
        status, body = http("GET", "http://%s/metrics" % col_prom)
        prom = [l for l in body.decode(errors="replace").splitlines() if l.startswith(("mlxanomaly_flagged", "mlx_security_events"))]
        print("\n== where the data went")
        print("  all telemetry (OTLP JSON lines, rotated):   %s" % os.path.join(data, "observability"))
        print("  security: %d flagged items, %d mlx.* events: %s" % (len(flagged), len(events), os.path.join(data, "security")))
        print("  Prometheus http://%s/metrics (while running), %d series of anomaly and event counts, e.g." % (col_prom, len(prom)))
        for l in prom[:6]:
            print("    " + l)
        print("  exporter queues (file_storage): %s" % os.path.join(data, "queue"))
        print("  logs: %s, %s" % (col_log, svc_log))
        print("\ndemo: %d ordinary requests, %d incidents, %.0f s in all" % (counts["quiet"], len(incidents), time.time() - t_start))
        if missing:
            print("demo: FAILED: no detection of %s" % ", ".join(missing))
            return 1
        return 0
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
