#!/usr/bin/env python3
"""End-to-end test of the alert rules with a real otelcol-mlx, Prometheus and Alertmanager.

    e2e.py --otelcol bin/otelcol-mlx --sender BIN [--scrape-out FILE]

Everything listens on free loopback ports picked at run time. The collector runs the
repository's otelcol-config.yaml; scenario traffic with injected incidents goes to it over
OTLP/HTTP; Prometheus (Debian's prometheus) scrapes its prometheus exporter and evaluates
deploy/prometheus/mlx-alerts.yml; Alertmanager (Debian's prometheus-alertmanager) groups the
alerts and delivers them to a webhook receiver in this script. The test checks that the
expected alerts arrive, grouped, with model, type and ATLAS id labels. --scrape-out keeps the
collector's scrape (the metric list the dashboard test checks against).

Beyond the findings: the sender's -live mode first sends the security events of the
instrumentation library driven through a pinned digest mismatch, an allowlist denial and three
out-of-memory inferences (internal/securityevents), firing the integrity and resource alerts;
then live traffic (a model failing one request in three,
a model answering in 20 s, a healthy one) goes through the collector's spanmetrics connector
and fires the error-rate and latency alerts for the first two and nothing for the third; the
mlxmetal receiver replays a captured busy-GPU plist (98% utilization; the memory limit of the
overlay puts its 6 GiB in use at 95%) and then the same capture with the driver's GPU recovery
counter advanced, firing the three GPU alerts. Prometheus evaluates the shipped rules with
only their `for:` durations shortened (a test copy; every other line is checked identical).
"""

import argparse
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

# Alerts the scenario's incidents must fire, with the ATLAS technique each carries.
EXPECTED = {
    "MLXModelSupplyChainChange": "AML.T0010.003",
    "MLXUnsafeModelFormat": "AML.T0011.000",
    "MLXCostHarvesting": "AML.T0034",
    "MLXServiceDisruption": "AML.T0029",
    "MLXModelExtractionFlood": "AML.T0024.002",
    "MLXModelLoadDenied": "AML.T0010.003",
    # From the instrumentation library's own events, sent by the sender's -live mode.
    "MLXModelIntegrityMismatch": "AML.T0010.003",
    "MLXResourceExhausted": "AML.T0029",
}
FINDING_ALERTS = {"MLXModelSupplyChainChange", "MLXUnsafeModelFormat", "MLXCostHarvesting",
                  "MLXServiceDisruption", "MLXModelExtractionFlood"}
# Alerts on live traffic and the replayed GPU: (ATLAS technique, type label, model label or None).
LIVE = {
    "MLXModelErrorRateHigh": ("AML.T0029", "error_rate", "live-flaky"),
    "MLXModelLatencyHigh": ("AML.T0029", "latency", "live-slow"),
    "MLXGPUSaturated": ("AML.T0029", "gpu_utilization", None),
    "MLXGPUMemoryHigh": ("AML.T0029", "gpu_memory", None),
    "MLXGPURecovered": ("AML.T0029", "gpu_recovery", None),
}
HEALTHY_MODEL = "live-healthy"
# The captured GPU: 6442574400 bytes in use; a limit this size puts it at 95% (> 90%).
GPU_MEMORY_LIMIT = 6800000000
TEST_FOR = "10s"


def test_rules(shipped, out):
    """Writes the shipped rules with every `for:` shortened to TEST_FOR; the expressions, labels
    and annotations stay the shipped ones (checked line by line)."""
    lines = open(shipped).read().splitlines(keepends=True)
    new = [re.sub(r"^(\s+for: )\S+$", r"\g<1>" + TEST_FOR, l.rstrip("\n")) + ("\n" if l.endswith("\n") else "") for l in lines]
    changed = [(a, b) for a, b in zip(lines, new) if a != b]
    assert len(new) == len(lines) and changed, "no for: in " + shipped
    for a, b in changed:
        assert re.fullmatch(r"\s+for: \S+\n?", a) and re.fullmatch(r"\s+for: " + TEST_FOR + r"\n?", b), (a, b)
    with open(out, "w") as f:
        f.writelines(new)
    return len(changed)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return r.read()
        except Exception:
            time.sleep(0.3)
    raise SystemExit("e2e: %s did not answer within %ds" % (url, timeout))


def query(port, expr):
    url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (port, urllib.parse.quote(expr))
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)["data"]["result"]


def wait_query(port, expr, timeout=60):
    """Waits until the PromQL expression has a result in the Prometheus on port."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            if query(port, expr):
                return
        except Exception:
            pass
        time.sleep(0.5)
    raise SystemExit("e2e: no result for %s within %ds" % (expr, timeout))


class Hook(http.server.BaseHTTPRequestHandler):
    received = []
    lock = threading.Lock()

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(min(n, 1 << 20)))
        with Hook.lock:
            Hook.received.append(body)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *a):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--otelcol", required=True)
    ap.add_argument("--sender", required=True)
    ap.add_argument("--prometheus", default=shutil.which("prometheus") or "prometheus")
    ap.add_argument("--alertmanager", default=shutil.which("prometheus-alertmanager") or shutil.which("alertmanager") or "alertmanager")
    ap.add_argument("--scrape-out")
    ap.add_argument("--timeout", type=int, default=150)
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="mlx-alerts-e2e-")
    p = {k: free_port() for k in ("grpc", "http", "health", "pprof", "zpages", "prom_exp", "telemetry", "prom", "am", "am_cluster", "hook")}
    procs = []

    def start(name, cmd, env=None):
        log = open(os.path.join(work, name + ".log"), "w")
        procs.append((name, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=work)))

    hook = http.server.ThreadingHTTPServer(("127.0.0.1", p["hook"]), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    ok = False
    try:
        env = dict(os.environ,
                   OTELCOL_MLX_OTLP_GRPC_ENDPOINT="127.0.0.1:%d" % p["grpc"],
                   OTELCOL_MLX_OTLP_HTTP_ENDPOINT="127.0.0.1:%d" % p["http"],
                   OTELCOL_MLX_HEALTH_ENDPOINT="127.0.0.1:%d" % p["health"],
                   OTELCOL_MLX_PPROF_ENDPOINT="127.0.0.1:%d" % p["pprof"],
                   OTELCOL_MLX_ZPAGES_ENDPOINT="127.0.0.1:%d" % p["zpages"],
                   OTELCOL_MLX_PROMETHEUS_ENDPOINT="127.0.0.1:%d" % p["prom_exp"],
                   OTELCOL_MLX_TELEMETRY_PORT=str(p["telemetry"]),
                   OTELCOL_MLX_DATA_DIR=os.path.join(work, "otelcol-data"),
                   OTELCOL_MLX_METRICS_FLUSH_INTERVAL="1s",
                   OTELCOL_MLX_METAL_INTERVAL="1s")
        # GPU metrics: the macOS overlay's mlxmetal receiver, on Linux from a captured ioreg plist
        # (a copy: the test advances its recovery counter later; the receiver re-reads it).
        gpu_plist = os.path.join(work, "gpu.plist")
        busy = open(os.path.join(ROOT, "receiver", "mlxmetal", "testdata", "ioreg", "m1_busy.plist")).read()
        assert busy.count("<key>recoveryCount</key>") == 1
        with open(gpu_plist, "w") as f:
            f.write(busy)
        with open(os.path.join(work, "metal-file.yaml"), "w") as f:
            f.write("""receivers:
  mlxmetal:
    source: file
    file:
      path: %s
      memory_limit_bytes: %d
""" % (gpu_plist, GPU_MEMORY_LIMIT))
        start("otelcol", [os.path.abspath(args.otelcol), "--config", os.path.join(ROOT, "otelcol-config.yaml"),
                          "--config", os.path.join(ROOT, "otelcol-config.macos.yaml"),
                          "--config", os.path.join(work, "metal-file.yaml")], env)
        wait_http("http://127.0.0.1:%d/" % p["health"])

        with open(os.path.join(work, "alertmanager.yml"), "w") as f:
            f.write("""route:
  receiver: hook
  group_by: [alertname, atlas_technique]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:%d/
        send_resolved: false
""" % p["hook"])
        start("alertmanager", [args.alertmanager, "--config.file=alertmanager.yml", "--storage.path=am-data",
                               "--web.listen-address=127.0.0.1:%d" % p["am"],
                               "--cluster.listen-address=127.0.0.1:%d" % p["am_cluster"]])
        wait_http("http://127.0.0.1:%d/-/ready" % p["am"])

        with open(os.path.join(work, "prometheus.yml"), "w") as f:
            f.write("""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - %s
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:%d"]
scrape_configs:
  - job_name: otelcol-mlx
    static_configs:
      - targets: ["127.0.0.1:%d"]
""" % (os.path.join(work, "mlx-alerts.test.yml"), p["am"], p["prom_exp"]))
        n_for = test_rules(os.path.join(HERE, "mlx-alerts.yml"), os.path.join(work, "mlx-alerts.test.yml"))
        print("e2e: the shipped rules with %d for: durations shortened to %s" % (n_for, TEST_FOR))
        start("prometheus", [args.prometheus, "--config.file=prometheus.yml", "--storage.tsdb.path=prom-data",
                             "--web.listen-address=127.0.0.1:%d" % p["prom"]])
        wait_http("http://127.0.0.1:%d/-/ready" % p["prom"])

        out = subprocess.run([args.sender, "-endpoint", "http://127.0.0.1:%d" % p["http"]],
                             capture_output=True, text=True, timeout=300)
        print(out.stdout.strip() or out.stderr.strip())
        if out.returncode != 0:
            raise SystemExit("e2e: sender failed: " + out.stderr)

        # Live traffic for the error-rate and latency alerts, until the alerts have arrived.
        live_log = open(os.path.join(work, "live.log"), "w")
        live = subprocess.Popen([args.sender, "-endpoint", "http://127.0.0.1:%d" % p["http"], "-live", "%ds" % args.timeout],
                                stdout=live_log, stderr=subprocess.STDOUT)
        procs.append(("live", live))
        # Once Prometheus holds the GPU's recovery counter at 0, the driver resets the GPU once.
        wait_query(p["prom"], 'mlxmetal_gpu_recovery_count_total == 0')
        tmp = gpu_plist + ".new"
        with open(tmp, "w") as f:
            f.write(re.sub(r"(<key>recoveryCount</key>\s*<integer>)0(</integer>)", r"\g<1>1\g<2>", busy))
        os.replace(tmp, gpu_plist)

        deadline = time.time() + args.timeout
        seen, every = {}, {}

        def matches(name, a):
            want = LIVE.get(name)
            return not want or not want[2] or a["labels"].get("model") == want[2]
        while time.time() < deadline:
            with Hook.lock:
                for payload in Hook.received:
                    for a in payload.get("alerts", []):
                        name = a["labels"]["alertname"]
                        every.setdefault(name, []).append(a)
                        if matches(name, a):
                            seen.setdefault(name, (payload, a))
            if set(EXPECTED) | set(LIVE) <= set(seen):
                break
            time.sleep(1)
        if args.scrape_out:
            for _ in range(30):
                data = wait_http("http://127.0.0.1:%d/metrics" % p["prom_exp"])
                if b"hw_gpu_utilization" in data:
                    break
                time.sleep(1)
            with open(args.scrape_out, "wb") as f:
                f.write(data)
        missing = sorted((set(EXPECTED) | set(LIVE)) - set(seen))
        if missing:
            raise SystemExit("e2e: alerts not delivered within %ds: %s (got %s)" % (args.timeout, missing, sorted(seen)))
        for name, technique in EXPECTED.items():
            payload, a = seen[name]
            labels = a["labels"]
            assert payload["groupLabels"] == {"alertname": name, "atlas_technique": technique}, payload["groupLabels"]
            assert labels["atlas_technique"] == technique, labels
            assert labels.get("type"), labels
            if name in FINDING_ALERTS:
                assert labels.get("model") and labels["model"] != "unknown", labels
            assert payload["receiver"] == "hook" and payload["status"] == "firing", payload
        for name, (technique, typ, model) in LIVE.items():
            payload, a = seen[name]
            labels = a["labels"]
            assert payload["groupLabels"] == {"alertname": name, "atlas_technique": technique}, payload["groupLabels"]
            assert labels["atlas_technique"] == technique and labels["type"] == typ, labels
            assert labels["severity"] == "warning", labels
            if model:
                assert labels["model"] == model, labels
            else:
                assert labels.get("hw_id"), labels
            assert payload["receiver"] == "hook" and payload["status"] == "firing", payload
        # The healthy model was evaluated (its request rate is there) and is named by no alert,
        # neither delivered nor pending in Prometheus.
        wait_query(p["prom"], 'mlx:inference_calls:rate5m{gen_ai_request_model="%s"} > 0' % HEALTHY_MODEL)
        assert not query(p["prom"], 'ALERTS{model="%s"}' % HEALTHY_MODEL), "an alert names " + HEALTHY_MODEL
        for name, alerts in every.items():
            for a in alerts:
                assert a["labels"].get("model") != HEALTHY_MODEL, a["labels"]
        groups = sum(1 for pl in Hook.received)
        alerts = sum(len(pl.get("alerts", [])) for pl in Hook.received)
        print("e2e: %d alerts in %d webhook deliveries; every expected alert arrived grouped by alertname "
              "and atlas_technique, with model, type and ATLAS labels" % (alerts, groups))
        for name in sorted(seen):
            l = seen[name][1]["labels"]
            print("  %-28s atlas=%-14s type=%-22s %s" % (name, l.get("atlas_technique"), l.get("type"),
                                                         "hw_id=" + l["hw_id"] if "hw_id" in l else "model=" + l.get("model", "-")))
        ok = True
    finally:
        for name, pr in reversed(procs):
            pr.terminate()
            try:
                pr.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pr.kill()
        hook.shutdown()
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("e2e: logs kept in " + work)
            for name, _ in procs:
                print("---- %s (last lines)" % name)
                print("".join(open(os.path.join(work, name + ".log")).readlines()[-15:]))


if __name__ == "__main__":
    main()
