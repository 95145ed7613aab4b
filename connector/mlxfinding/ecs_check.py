#!/usr/bin/env python3
"""Runs the README's `transform/ecs` statements in a real otelcol-mlx and checks the ECS shape.

    ecs_check.py --otelcol bin/otelcol-mlx

The statements are read from README.md (the yaml block that defines transform/ecs), so the
documentation is what is tested. One finding log record goes in over OTLP/HTTP on a free
loopback port; the file exporter's output must carry the ECS fields.
"""

import argparse
import json
import os
import re
import socket
import subprocess
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--otelcol", required=True)
    args = ap.parse_args()
    readme = open(os.path.join(HERE, "README.md")).read()
    m = re.search(r"```yaml\n(processors:\n  transform/ecs:\n.*?)```", readme, re.S)
    assert m, "README.md has no transform/ecs yaml block"
    work = tempfile.mkdtemp(prefix="mlxfinding-ecs-")
    http_port, health = free_port(), free_port()
    out = os.path.join(work, "out.jsonl")
    cfg = m.group(1) + """
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%d
exporters:
  file:
    path: %s
    flush_interval: 100ms
extensions:
  health_check:
    endpoint: 127.0.0.1:%d
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      processors: [transform/ecs]
      exporters: [file]
""" % (http_port, out, health)
    with open(os.path.join(work, "config.yaml"), "w") as f:
        f.write(cfg)
    log = open(os.path.join(work, "otelcol.log"), "w")
    proc = subprocess.Popen([os.path.abspath(args.otelcol), "--config", os.path.join(work, "config.yaml")], stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/" % health, timeout=1)
                break
            except Exception:
                if proc.poll() is not None:
                    raise SystemExit("otelcol exited: " + open(log.name).read()[-2000:])
                time.sleep(0.3)
        def s(k, v): return {"key": k, "value": {"stringValue": v}}
        finding = {"resourceLogs": [{"resource": {"attributes": [s("service.name", "svc")]}, "scopeLogs": [{"logRecords": [{
            "timeUnixNano": "1772445600000000000", "eventName": "mlx.anomaly.detected", "severityNumber": 13, "severityText": "WARN",
            "traceId": "0102030405060708090a0b0c0d0e0f10", "spanId": "0102030405060708",
            "body": {"stringValue": "mlxanomaly detected client_flood on svc/caller"},
            "attributes": [s("mlxanomaly.type", "client_flood"), s("mlxanomaly.key", "svc/caller"), s("mlxanomaly.atlas.technique", "AML.T0024.002"),
                           s("enduser.pseudo.id", "5f0c7f1e2d3c4b5a69788796a5b4c3d2"), s("client.address", "10.0.0.7"),
                           s("mlx.model.sha256", "ab12"), s("mlx.model.source", "hf://org/m"), s("gen_ai.request.model", "m"),
                           {"key": "mlxanomaly.score", "value": {"doubleValue": 0.9}}]}]}]}]}
        req = urllib.request.Request("http://127.0.0.1:%d/v1/logs" % http_port, data=json.dumps(finding).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        urllib.request.urlopen(req, timeout=10)
        rec = None
        for _ in range(50):
            if os.path.exists(out) and os.path.getsize(out) > 0:
                line = open(out).readline()
                rec = json.loads(line)["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
                break
            time.sleep(0.2)
        assert rec, "no output from the file exporter"
        attrs = {}
        for a in rec["attributes"]:
            v = a["value"]
            if "arrayValue" in v:
                attrs[a["key"]] = [list(x.values())[0] for x in v["arrayValue"].get("values", [])]
            else:
                attrs[a["key"]] = list(v.values())[0]
        want = {
            "event.kind": "alert", "event.category": ["intrusion_detection"], "event.type": ["indicator"],
            "event.action": "mlx.anomaly.detected", "event.module": "mlx", "event.dataset": "mlx.findings",
            "event.severity": "13", "log.level": "WARN", "message": "mlxanomaly detected client_flood on svc/caller",
            "rule.name": "client_flood", "rule.ruleset": "mlxanomaly", "threat.framework": "MITRE ATLAS",
            "threat.technique.id": ["AML.T0024.002"],
            "threat.technique.reference": ["https://atlas.mitre.org/techniques/AML.T0024.002"],
            "user.id": "5f0c7f1e2d3c4b5a69788796a5b4c3d2", "source.ip": "10.0.0.7",
            "trace.id": "0102030405060708090a0b0c0d0e0f10", "span.id": "0102030405060708",
            "file.hash.sha256": "ab12", "url.original": "hf://org/m",
        }
        bad = {k: (attrs.get(k), v) for k, v in want.items() if attrs.get(k) != v}
        assert not bad, "ECS fields differ (got, want): %s" % bad
        assert abs(float(attrs["event.risk_score"]) - 90) < 1e-9, attrs.get("event.risk_score")
        for k in ("enduser.pseudo.id", "client.address", "mlx.model.sha256", "mlx.model.source"):
            assert k not in attrs, "%s should be moved to its ECS field" % k
        print("ecs_check: the README's transform/ecs statements give the ECS shape (%d fields checked)" % (len(want) + 5))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


if __name__ == "__main__":
    main()
