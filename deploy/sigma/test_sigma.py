"""Tests of the otel-mlx Sigma rules (deploy/sigma/rules), run by `make test-sigma`.

    python deploy/sigma/test_sigma.py EVENTS_DIR

EVENTS_DIR holds incidents.jsonl and quiet.jsonl, recorded by deploy/sigma/eventsgen (scenario
traffic through the mlxanomaly processor and the mlxfinding connector; the incident phase also
holds the security events of the instrumentation library driven through a pinned digest
mismatch, a source outside the allowlist, an admitted pickle load and an out-of-memory
inference). Every rule is checked with `sigma check`, its tags against techniques.yaml,
converted to Splunk SPL and Elasticsearch ES|QL, and executed for real: converted with the
SQLite backend and run over the recorded events loaded into SQLite. Every alerting rule must
match the incident phase and none the quiet phase; the two base rules of the correlations
must match exactly the events they select, counted independently of Sigma.
"""

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import unittest
from pathlib import Path

import yaml
from sigma.backends.elasticsearch import ESQLBackend
from sigma.backends.splunk import SplunkBackend
from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma.rule import SigmaRule

HERE = Path(__file__).resolve().parent
RULES = HERE / "rules"
EVENTS = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SIGMA_EVENTS", "build/sigma"))

# Rules that must fire on the recorded incidents: the scenario injects the incident types of
# the first seven; the instrumentation library makes the events of the last four (integrity
# pins, allowlists, admitted pickle, MLX memory limits exist only there).
EXPECTED = {
    "mlx_model_policy_denied_unsafe_format",
    "mlx_finding_model_supply_chain",
    "mlx_finding_unsafe_format",
    "mlx_finding_cost_harvesting",
    "mlx_finding_service_disruption",
    "mlx_inference_flood_by_caller",
    "mlx_inference_failure_burst",
    "mlx_model_unsafe_format_loaded",
    "mlx_model_policy_denied_source",
    "mlx_model_integrity_mismatch",
    "mlx_resource_exhausted",
}
# The service whose events the instrumentation library recorded (deploy/sigma/eventsgen).
INSTRUMENTED_SERVICE = "mlx-sigma-guarded"
# Base rules of the correlations, and the event each selects.
BASE = {
    "mlx_inference_completed_base": "mlx.inference.completed",
    "mlx_inference_failed_base": "mlx.inference.failed",
}


def load_rules():
    # Base rules before the correlations that use them: a correlation is converted from its base
    # rules' conversion state.
    loaded = SigmaCollection.load_ruleset([str(RULES)])
    coll = SigmaCollection(sorted(loaded.rules, key=lambda r: (not Path(r.source.path).stem.endswith("_base"),
                                                               Path(r.source.path).stem)))
    by_file = {}
    for r in coll:
        by_file[Path(r.source.path).stem] = r
    return coll, by_file


def load_events(db, path, fields=()):
    """Loads the events into table logs: one column per field of any event or rule (a field an
    event lacks is NULL, as in a SIEM), timestamp from @timestamp."""
    rows = [json.loads(l) for l in path.read_text().splitlines() if l.strip()]
    cols = sorted({k for r in rows for k in r} | {"timestamp"} | set(fields))
    db.execute("CREATE TABLE logs (" + ", ".join("`%s`" % c for c in cols) + ")")
    def val(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (list, dict)):
            return json.dumps(v)
        return v
    for r in rows:
        r = dict(r)
        r["timestamp"] = r.get("@timestamp")
        db.execute("INSERT INTO logs (" + ", ".join("`%s`" % c for c in r) + ") VALUES (" +
                   ", ".join("?" for _ in r) + ")", [val(v) for v in r.values()])
    return rows


class SigmaRules(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        _, cls.rules = load_rules()
        cls.techniques = yaml.safe_load((HERE / "techniques.yaml").read_text())

    def test_sigma_check(self):
        # namespace_tag is excluded because Sigma's namespace list has no ATLAS namespace;
        # attacktag and d3_fendtag download MITRE data at run time. test_tags checks all tags.
        out = subprocess.run([str(Path(sys.executable).parent / "sigma"), "check", "--fail-on-issues",
                              "-x", "attacktag", "-x", "d3_fendtag", "-x", "namespace_tag", str(RULES)],
                             capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("No validation issues found", out.stdout)

    def test_every_rule_is_known(self):
        self.assertEqual(set(self.rules), EXPECTED | set(BASE))

    def test_tags(self):
        atlas, attack = self.techniques["atlas"], self.techniques["attack"]
        tactics = {t["tactic"] for t in attack.values()}
        for name, r in self.rules.items():
            with self.subTest(rule=name):
                tags = [str(t) for t in r.tags]
                atlas_tags = [t for t in tags if t.startswith("atlas.")]
                self.assertTrue(atlas_tags, "every rule names its MITRE ATLAS technique")
                for t in atlas_tags:
                    self.assertRegex(t, r"^atlas\.aml\.t\d{4}(\.\d{3})?$")
                    self.assertIn(t[len("atlas."):].upper(), atlas, t)
                for t in tags:
                    if not t.startswith("attack."):
                        continue
                    rest = t[len("attack."):]
                    if re.fullmatch(r"t\d{4}(\.\d{3})?", rest):
                        self.assertIn(rest.upper(), attack, t)
                    else:
                        self.assertIn(rest, tactics, t)
                technique_ids = [t for t in tags if re.fullmatch(r"attack\.t\d{4}(\.\d{3})?", t)]
                for t in technique_ids:
                    tactic = attack[t[len("attack."):].upper()]["tactic"]
                    self.assertIn("attack." + tactic, tags, "%s needs its tactic tag attack.%s" % (t, tactic))
                if isinstance(r, SigmaRule):
                    self.assertEqual(r.logsource.product, "mlx")
                    self.assertIn(r.logsource.service, ("security", "findings"))

    def test_convert_splunk_and_esql(self):
        for backend, name in ((SplunkBackend(), "splunk"), (ESQLBackend(), "esql")):
            coll, _ = load_rules()  # conversion state is kept in the rules: a fresh set per backend
            queries = backend.convert(coll)
            # One query per alerting rule: a correlation's base rules are folded into it.
            self.assertEqual(len(queries), len(self.rules) - 2, name)
            text = "\n".join(queries)
            for r in self.rules.values():
                for ev in re.findall(r"mlx\.[a-z.]+", json.dumps(r.to_dict().get("detection", {}))):
                    if ev.count(".") >= 2 and ev.startswith(("mlx.model.", "mlx.inference.", "mlx.anomaly.", "mlx.resource.")):
                        self.assertIn(ev, text, "%s: %s" % (name, r.title))
            if name == "splunk":
                self.assertIn("| stats count as event_count by _time enduser.pseudo.id service.name", text)
            else:
                self.assertIn("stats event_count=count()", text)

    def run_rules(self, phase, select=None, only=None):
        backend = sqliteBackend()
        queries = {}
        # Base rules first: a correlation is compiled from their conversion state.
        for name, r in sorted(self.rules.items(), key=lambda kv: not isinstance(kv[1], SigmaRule)):
            q = backend.convert_rule(r) if isinstance(r, SigmaRule) else backend.convert_correlation_rule(r)
            if not q:  # a base rule, executed through its correlation
                self.assertTrue(name.endswith("_base"), name)
                continue
            self.assertEqual(len(q), 1, name)
            queries[name] = q[0]
            if select and isinstance(r, SigmaRule):
                self.assertTrue(q[0].startswith("SELECT * "), q[0])
                queries[name] = "SELECT " + select + q[0][len("SELECT *"):]
        if only:
            queries = {n: q for n, q in queries.items() if n in only}
        # Fields the rules read (the backend's own names such as rowid and g0 excluded).
        fields = {f for q in queries.values() for f in re.findall(r"`([^`]+)`", q)
                  if f != "rowid" and not re.fullmatch(r"[a-z]\d+", f)}
        db = sqlite3.connect(":memory:")
        rows = load_events(db, EVENTS / (phase + ".jsonl"), fields)
        hits = {}
        for name, q in queries.items():
            t0 = time.monotonic()
            hits[name] = db.execute(q).fetchall()
            took = time.monotonic() - t0
            if took > 5:
                print("%s: %s took %.1f s in SQLite" % (phase, name, took))
        return hits, rows

    def test_execute_incidents(self):
        hits, rows = self.run_rules("incidents")
        fired = {n for n, h in hits.items() if h}
        self.assertEqual(fired, EXPECTED, "rules that fire on the recorded incidents")
        # A finding rule's ATLAS tag is the technique its matched findings carry.
        for name in ("mlx_finding_model_supply_chain", "mlx_finding_unsafe_format",
                     "mlx_finding_cost_harvesting", "mlx_finding_service_disruption"):
            tag = [str(t) for t in self.rules[name].tags if str(t).startswith("atlas.")][0]
            db = sqlite3.connect(":memory:")
            load_events(db, EVENTS / "incidents.jsonl")
            q = sqliteBackend().convert_rule(self.rules[name])[0].replace("SELECT *", "SELECT DISTINCT `mlxanomaly.atlas.technique`", 1)
            techs = {t for (t,) in db.execute(q)}
            self.assertEqual(techs, {tag[len("atlas."):].upper()}, name)
        print("incidents: %d events; fired: %s" % (len(rows), ", ".join(
            "%s=%d" % (n, len(h)) for n, h in sorted(hits.items()) if h)))

    def test_execute_instrumented_events(self):
        # The four rules whose events only the instrumentation makes match exactly those events:
        # rule by rule, the matched rows are the instrumented service's events of that kind.
        want = {
            "mlx_model_integrity_mismatch": ("mlx.model.integrity.mismatch", None, None),
            "mlx_model_policy_denied_source": ("mlx.model.policy.denied", "source.allowlist", None),
            "mlx_model_unsafe_format_loaded": ("mlx.model.load.succeeded", None, "pickle"),
            "mlx_resource_exhausted": ("mlx.resource.exhausted", None, None),
        }
        hits, rows = self.run_rules("incidents", select="`event.name`, `service.name`, `mlx.policy.rule`, `mlx.model.format`",
                                    only=set(want))
        for name, (event, rule, fmt) in want.items():
            with self.subTest(rule=name):
                got = hits[name]
                self.assertEqual(len(got), 1, "%s: %s" % (name, got))
                ev, svc, prule, pformat = got[0]
                self.assertEqual((ev, svc), (event, INSTRUMENTED_SERVICE))
                if rule:
                    self.assertEqual(prule, rule)
                if fmt:
                    self.assertEqual(pformat, fmt)
                n = sum(1 for r in rows if r.get("event.name") == event and r.get("service.name") == INSTRUMENTED_SERVICE
                        and (rule is None or r.get("mlx.policy.rule") == rule))
                self.assertEqual(n, 1, "%s: one such event recorded" % name)

    def test_execute_base_rules(self):
        # A base rule is not an alert: it is executed alone here and matches exactly the events
        # of its kind in either phase, counted from the recorded JSON.
        for phase in ("incidents", "quiet"):
            db = sqlite3.connect(":memory:")
            rows = load_events(db, EVENTS / (phase + ".jsonl"))
            for name, event in BASE.items():
                with self.subTest(rule=name, phase=phase):
                    rule = SigmaRule.from_yaml((RULES / (name + ".yml")).read_text())
                    q = sqliteBackend().convert_rule(rule)
                    self.assertEqual(len(q), 1, name)
                    n = sum(1 for r in rows if r.get("event.name") == event)
                    if phase == "incidents":
                        self.assertGreater(n, 0, "%s: the incidents hold %s events" % (name, event))
                    self.assertEqual(len(db.execute(q[0]).fetchall()), n, name)

    def test_execute_quiet(self):
        hits, rows = self.run_rules("quiet")
        self.assertGreater(len(rows), 1000)
        fired = {n: len(h) for n, h in hits.items() if h}
        self.assertEqual(fired, {}, "no rule fires on quiet traffic")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
