"""Traffic control with the real binary: pushed signals, the automatic controller, rules,
the admin API's contract for them, their metrics and audit lines, and the attacks on them
(hostile pushes, probe targets that hang)."""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from vwr_harness import VwrProcess, parse_metrics, request, run_vwr, wait_until

CONTROLLED = """
signals:
  - name: origin_latency_ms
    kind: push
    stale_after: 30s
rooms:
  - id: shop
    max_active: 100
    admit_rate: 1000
    burst: 1000
    control:
      algorithm: aimd
      interval: 200ms
      max_active: { min: 5, max: 1000 }
      targets:
        - { signal: origin_latency_ms, max: 200 }
      on_unknown: %s
"""


def push(vwr, name, body, token=True):
    return vwr.admin_request("PUT", "/admin/api/v1/signals/" + name, body=body, token=token)


def signals(vwr):
    code, _, body = vwr.admin_request("GET", "/admin/api/v1/signals")
    assert code == 200, (code, body)
    return {s["name"]: s for s in body["signals"]}


def controller_saw(vwr, value, room="shop", target=200):
    """Pushes `value` for origin_latency_ms and waits until the room's controller has acted on
    it (its worst signal/target ratio shows the value): proof that a control step ran since."""
    code, _, body = push(vwr, "origin_latency_ms", {"value": value, "ttl": "30s"})
    assert code == 204, (code, body)

    def worst():
        code, _, state = vwr.admin_request("GET", "/admin/api/v1/control?room=" + room)
        assert code == 200, (code, state)
        return state["rooms"][0]["worst"]
    wait_until(lambda: abs(worst() - value / target) < 1e-9, timeout=5,
               message="the controller never read %s (worst %s)" % (value, worst()))


def max_active(vwr, room="shop"):
    code, _, body = vwr.policy(room)
    assert code == 200, (code, body)
    return body["max_active"]


class PushedSignals(unittest.TestCase):
    def setUp(self):
        self.vwr = VwrProcess(CONTROLLED % "hold")
        self.addCleanup(self.vwr.close)

    def test_a_pushed_value_is_listed_and_turns_unknown_after_its_ttl(self):
        before = signals(self.vwr)["origin_latency_ms"]
        self.assertEqual(before["state"], "unknown")
        self.assertIsNone(before["value"])
        # A ttl of a few seconds: the read right after the push must find it fresh even on a
        # loaded machine (sanitizer builds), and its expiry is still awaited quickly.
        code, _, _ = push(self.vwr, "origin_latency_ms", {"value": 42.5, "ttl": "3s"})
        self.assertEqual(code, 204)
        seen = signals(self.vwr)["origin_latency_ms"]
        self.assertEqual(seen["state"], "ok")
        self.assertEqual(seen["value"], 42.5)
        self.assertGreaterEqual(seen["age_ms"], 0)
        self.assertLess(seen["age_ms"], 3000)
        self.assertEqual(seen["kind"], "push")
        wait_until(lambda: signals(self.vwr)["origin_latency_ms"]["state"] == "unknown",
                   timeout=10, message="the pushed value never expired")
        code, _, one = self.vwr.admin_request("GET", "/admin/api/v1/signals/origin_latency_ms")
        self.assertEqual(code, 200)
        self.assertEqual(one["state"], "unknown")

    def test_hostile_pushes_are_refused_with_a_clear_error(self):
        cases = [
            ("origin_latency_ms", {"value": "fast"}, 400),
            ("origin_latency_ms", {"ttl": "10s"}, 400),
            ("origin_latency_ms", {"value": 1, "ttl": "forever"}, 400),
            ("origin_latency_ms", {"value": 1, "ttl": "1000d"}, 400),
            ("origin_latency_ms", [1, 2, 3], 400),
            ("no_such_signal", {"value": 1}, 404),
            ("bad%0Aname", {"value": 1}, 404),
            ("origin_latency_ms", {"value": 1, "pad": "x" * 8000}, 413),
        ]
        for name, body, expected in cases:
            code, _, answer = push(self.vwr, name, body)
            self.assertEqual(code, expected, (name, str(body)[:80], answer))
            self.assertIn("error", answer)
        # Numbers JSON cannot carry finitely, and bodies that are not JSON.
        for raw in (b'{"value": 1e999}', b'{"value": NaN}', b"not json", b'{"value": 1',
                    b"\xff\xfe"):
            code, _, _ = request("PUT", self.vwr.admin + "/admin/api/v1/signals/origin_latency_ms",
                                 body=raw, headers={"Authorization": "Bearer " + self.vwr.admin_token,
                                                    "Content-Type": "application/json"})
            self.assertEqual(code, 400, raw)
        # Without the admin token nothing is read or written.
        self.assertEqual(push(self.vwr, "origin_latency_ms", {"value": 1}, token=False)[0], 401)
        self.assertEqual(self.vwr.admin_request("GET", "/admin/api/v1/signals", token="x" * 20)[0],
                         401)
        self.assertEqual(signals(self.vwr)["origin_latency_ms"]["state"], "unknown")
        self.assertTrue(self.vwr.running())


class AutomaticControl(unittest.TestCase):
    def test_a_breach_lowers_the_limit_and_recovery_raises_it_only_when_used(self):
        with VwrProcess(CONTROLLED % "hold") as vwr:
            self.assertEqual(push(vwr, "origin_latency_ms", {"value": 900, "ttl": "30s"})[0], 204)
            # Nobody is inside: lowered from what is in use, to the lower bound.
            wait_until(lambda: max_active(vwr) == 5, timeout=5,
                       message="the controller did not lower max_active on a breach")
            code, _, policy = vwr.policy("shop")
            control = policy["control"]
            self.assertTrue(control["automatic"])
            self.assertEqual(control["last_decision"]["source"], "controller")
            self.assertIn("at", control["last_decision"])
            self.assertTrue(control["last_decision"]["reason"])
            # Healthy, but nobody uses the limit: it is not raised.
            # Three control steps, each proven to have read the healthy value, change nothing.
            for value in (50, 49, 50):
                controller_saw(vwr, value)
            self.assertEqual(max_active(vwr), 5)
            # Five people inside: the limit is used, and healthy signals raise it.
            for i in range(5):
                code, body = vwr.join("shop")
                self.assertEqual(code, 200, body)
                self.assertEqual(body["status"], "admitted", body)
            wait_until(lambda: max_active(vwr) > 5, timeout=5,
                       message="the controller did not raise a used limit")
            # Every change is explained: the decision log, the metric and the audit line.
            code, _, state = vwr.admin_request("GET", "/admin/api/v1/control?room=shop")
            self.assertEqual(code, 200)
            self.assertEqual(state["rooms"][0]["room"], "shop")
            decisions = [d for d in state["decisions"] if d["change"]]
            self.assertGreaterEqual(len(decisions), 2)
            # The first decrease halves (aimd's largest step: the signal is 4.5 × its target);
            # the next ones follow as each has taken effect (nobody was inside).
            lowered = decisions[-1]
            self.assertEqual(lowered["before"]["max_active"], 100)
            self.assertEqual(lowered["after"]["max_active"], 50)
            self.assertEqual(lowered["seen"][0]["name"], "origin_latency_ms")
            self.assertEqual(lowered["seen"][0]["value"], 900)
            code, _, text = request("GET", vwr.admin + "/metrics")
            metrics = parse_metrics(text.decode())
            self.assertGreaterEqual(
                metrics['vwr_threshold_changes_total{room="shop",reason="controller"}'], 2)
            self.assertEqual(metrics['vwr_signal_value{signal="origin_latency_ms"}'], 50)
            self.assertEqual(metrics['vwr_signal_up{signal="origin_latency_ms"}'], 1)
            vwr.wait_for_log(r"control: room=shop source=controller/aimd max_active 100->50 "
                             r"origin_latency_ms=900")

    def test_an_operator_change_wins_and_is_shown(self):
        with VwrProcess(CONTROLLED % "hold") as vwr:
            push(vwr, "origin_latency_ms", {"value": 900, "ttl": "30s"})
            wait_until(lambda: max_active(vwr) == 5, timeout=5)
            code, _, _ = vwr.set_policy("shop", {"max_active": 300})
            self.assertEqual(code, 200)
            wait_until(lambda: "operator" in vwr.policy("shop")[2]["control"]["state"], timeout=5,
                       message="the controller did not show the operator's hold")
            # While an operator holds the room, the controller does not step (nothing shows a
            # step to await): five intervals with a breach, and the operator's value stays.
            time.sleep(1.0)
            self.assertEqual(max_active(vwr), 300)
            self.assertIn("admin@", vwr.policy("shop")[2]["control"]["operator"])

    def test_on_unknown_pause_pauses_the_room_and_restores_it(self):
        with VwrProcess(CONTROLLED % "pause") as vwr:
            wait_until(lambda: vwr.policy("shop")[2]["mode"] == "pause", timeout=5,
                       message="unknown signals did not pause the room")
            push(vwr, "origin_latency_ms", {"value": 100, "ttl": "30s"})
            wait_until(lambda: vwr.policy("shop")[2]["mode"] == "fifo", timeout=5,
                       message="the room was not restored once the signal was known")


class Rules(unittest.TestCase):
    def test_a_rule_sets_the_limit_and_a_shadow_rule_only_records(self):
        config = """
signals:
  - name: load
    kind: push
rules:
  - name: cap-on-load
    room: shop
    when: load > 10
    then: { max_active: 7 }
    priority: 5
  - name: try-pause
    room: shop
    when: load > 10
    then: { mode: pause }
    shadow: true
rooms:
  - id: shop
    max_active: 100
"""
        with VwrProcess(config) as vwr:
            time.sleep(0.5)
            self.assertEqual(max_active(vwr), 100)
            push(vwr, "load", {"value": 11})
            wait_until(lambda: max_active(vwr) == 7, timeout=5, message="the rule did not fire")
            self.assertEqual(vwr.policy("shop")[2]["mode"], "fifo")
            code, _, state = vwr.admin_request("GET", "/admin/api/v1/control")
            by_name = {d["name"]: d for d in state["decisions"]}
            self.assertEqual(by_name["cap-on-load"]["source"], "rule")
            self.assertFalse(by_name["cap-on-load"]["shadow"])
            self.assertTrue(by_name["try-pause"]["shadow"])
            self.assertEqual(by_name["try-pause"]["change"], {"mode": "pause"})
            code, _, rules = vwr.admin_request("GET", "/admin/api/v1/rules")
            self.assertEqual(code, 200)
            listed = {r["name"]: r for r in rules["rules"]}
            self.assertEqual(listed["cap-on-load"]["last"], "true")
            self.assertIsNotNone(listed["cap-on-load"]["last_fired"])
            code, _, text = request("GET", vwr.admin + "/metrics")
            metrics = parse_metrics(text.decode())
            self.assertEqual(metrics['vwr_threshold_changes_total{room="shop",reason="rule"}'], 1)
            vwr.wait_for_log(r"control: room=shop source=rule/try-pause shadow mode fifo->pause")

    def test_bad_control_configuration_is_refused_with_its_line(self):
        tmp = tempfile.mkdtemp(prefix="vwr-control-")
        self.addCleanup(shutil.rmtree, tmp)
        path = os.path.join(tmp, "bad.yaml")
        with open(path, "w") as f:
            f.write("""signals:
  - name: lat
    kind: push
rules:
  - name: r
    room: shop
    when: lat > 5 and nosuch < 3
    then: { max_active: { scale: 0.5 } }
  - name: s
    room: shop
    when: lat * (2 > 1)
    then: { mode: pause }
rooms:
  - id: shop
    control:
      max_active: { min: 50, max: 10 }
      targets: [{ signal: lat, max: 1 }]
""")
        done = run_vwr(["config", "check", path])
        self.assertEqual(done.returncode, 1)
        out = done.stdout + done.stderr
        self.assertIn("line 7, column 23: rules[0].when: unknown signal 'nosuch'", out)
        self.assertRegex(out, r"line 11, column \d+: rules\[1\]\.when: ")
        self.assertRegex(out, r"line 15, column \d+: rooms\[0\]\.control\.max_active: ")


ALICE = "alice-operator-token-0123456789"  # role operator
VERA = "vera-viewer-token-0123456789abc"  # role viewer
RUNTIME = """
signals:
  - name: load
    kind: push
    stale_after: 60s
  - name: origin_latency_ms
    kind: push
    stale_after: 60s
rules:
  - name: from-file
    room: shop
    when: load > 1000
    then: { mode: pause }
operators:
  - {name: alice, role: operator, token_env: VWR_ALICE_TOKEN}
  - {name: vera, role: viewer, token_env: VWR_VERA_TOKEN}
rooms:
  - id: shop
    max_active: 100
    admit_rate: 1000
    burst: 1000
    control:
      algorithm: aimd
      interval: 200ms
      max_active: { min: 5, max: 1000 }
      targets:
        - { signal: origin_latency_ms, max: 200 }
  - id: other
    max_active: 10
"""
RUNTIME_ENV = {"VWR_ALICE_TOKEN": ALICE, "VWR_VERA_TOKEN": VERA}
CAP = {"name": "cap-on-load", "room": "shop", "when": "load > 10", "for": "0s",
       "then": {"max_active": 7}, "priority": 5, "cooldown": "1m", "shadow": False}


def audit(vwr, **query):
    q = "&".join("%s=%s" % kv for kv in query.items())
    code, _, body = vwr.admin_request("GET", "/admin/api/v1/audit?" + q)
    assert code == 200, (code, body)
    return body["entries"]


class RulesAtRunTime(unittest.TestCase):
    """Rules added, changed and removed through the admin API: in force at once, kept across a
    restart (SQLite in data_dir, or Redis), refused with the position of a bad condition, only
    for the admin role, and audited."""

    def test_a_rule_added_acts_is_listed_changed_removed_and_kept_across_a_restart(self):
        data = tempfile.mkdtemp(prefix="vwr-rules-")
        self.addCleanup(shutil.rmtree, data, True)
        with VwrProcess(RUNTIME, env=RUNTIME_ENV, data_dir=data) as vwr:
            code, _, made = vwr.admin_request("POST", "/admin/api/v1/rules", body=CAP)
            self.assertEqual(code, 201, made)
            for key, value in CAP.items():
                self.assertEqual(made[key], value, key)
            self.assertEqual(made["origin"], "api")
            self.assertEqual(made["state"], "idle")
            self.assertIsNone(made["last_fired"])
            # In force at once: it fires when its condition holds.
            self.assertEqual(push(vwr, "load", {"value": 11})[0], 204)
            wait_until(lambda: max_active(vwr) == 7, timeout=5, message="the new rule did not fire")
            listed = {r["name"]: r for r in vwr.admin_request("GET", "/admin/api/v1/rules")[2]["rules"]}
            self.assertEqual(set(listed), {"from-file", "cap-on-load"})
            self.assertEqual(listed["cap-on-load"]["state"], "firing")
            self.assertIsNotNone(listed["cap-on-load"]["last_fired"])
            self.assertEqual(listed["from-file"]["origin"], "config")
            self.assertEqual(listed["from-file"]["state"], "idle")
            # Twice the same name: refused.
            code, _, answer = vwr.admin_request("POST", "/admin/api/v1/rules", body=CAP)
            self.assertEqual(code, 409, answer)
            # Changed: a shadow rule now.
            changed = dict(CAP, then={"max_active": {"scale": 0.5}}, shadow=True)
            code, _, answer = vwr.admin_request("PUT", "/admin/api/v1/rules/cap-on-load",
                                                body=changed)
            self.assertEqual(code, 200, answer)
            self.assertEqual(answer["then"], {"max_active": {"scale": 0.5}})
            self.assertEqual(answer["state"], "shadow")
            # Every change is audited with who made it, before and after.
            entries = [e for e in audit(vwr, room="shop") if e["action"].startswith("rules.")]
            self.assertEqual([e["action"] for e in entries], ["rules.change", "rules.add"])
            self.assertEqual(entries[0]["operator"], "admin")
            self.assertEqual(json.loads(entries[0]["before"])["then"], {"max_active": 7})
            self.assertTrue(json.loads(entries[0]["after"])["shadow"])
            # The rule's firing is in the audit log under its own name.
            fired = [e for e in audit(vwr, room="shop") if e["operator"] == "rule:cap-on-load"]
            self.assertEqual(len(fired), 1, fired)
            self.assertEqual(fired[0]["action"], "policy")
            self.assertEqual(json.loads(fired[0]["before"]), {"max_active": 100})
            after = json.loads(fired[0]["after"])
            self.assertEqual(after["max_active"], 7)
            self.assertEqual(after["seen"], {"load": 11})
            self.assertIn("load > 10", after["reason"])
        # Kept across a restart.
        with VwrProcess(RUNTIME, env=RUNTIME_ENV, data_dir=data) as vwr:
            # (On Redis a node reads what is kept with its first round, just after it starts.)
            wait_until(lambda: vwr.admin_request("GET", "/admin/api/v1/rules/cap-on-load")[0]
                       == 200, timeout=5, message="the rule was not kept")
            code, _, kept = vwr.admin_request("GET", "/admin/api/v1/rules/cap-on-load")
            self.assertEqual(code, 200, kept)
            self.assertTrue(kept["shadow"])
            self.assertEqual(kept["then"], {"max_active": {"scale": 0.5}})
            code, _, _ = vwr.admin_request("DELETE", "/admin/api/v1/rules/cap-on-load")
            self.assertEqual(code, 204)
            self.assertEqual(vwr.admin_request("GET", "/admin/api/v1/rules/cap-on-load")[0], 404)
            self.assertEqual(vwr.admin_request("DELETE", "/admin/api/v1/rules/cap-on-load")[0], 404)
            removed = [e for e in audit(vwr) if e["action"] == "rules.remove"]
            self.assertEqual(len(removed), 1)
        with VwrProcess(RUNTIME, env=RUNTIME_ENV, data_dir=data) as vwr:
            names = [r["name"] for r in vwr.admin_request("GET", "/admin/api/v1/rules")[2]["rules"]]
            self.assertEqual(names, ["from-file"], "a removed rule stays removed")

    def test_bad_rules_are_refused_with_the_position_and_change_nothing(self):
        with VwrProcess(RUNTIME, env=RUNTIME_ENV) as vwr:
            code, _, answer = vwr.admin_request(
                "POST", "/admin/api/v1/rules", body=dict(CAP, when="load > 10 and nosuch < 3"))
            self.assertEqual(code, 400, answer)
            error = answer["error"]
            self.assertEqual(error["code"], "invalid_rule")
            self.assertEqual((error["field"], error["line"], error["column"]), ("when", 1, 15))
            self.assertIn("line 1, column 15", error["message"])
            self.assertIn("unknown signal 'nosuch'", error["message"])
            code, _, answer = vwr.admin_request("POST", "/admin/api/v1/rules",
                                                body=dict(CAP, when="load * 2"))
            self.assertEqual(code, 400, answer)
            self.assertEqual(answer["error"]["field"], "when")
            self.assertIn("column", answer["error"])
            cases = [
                dict(CAP, room="nosuch"),
                dict(CAP, then={}),
                dict(CAP, then={"max_active": -1}),
                dict(CAP, name="bad name\n"),
                dict(CAP, cooldown="forever"),
                dict(CAP, colour="red"),
                [CAP],
            ]
            for body in cases:
                code, _, answer = vwr.admin_request("POST", "/admin/api/v1/rules", body=body)
                self.assertEqual(code, 400, (body, answer))
                self.assertIn("error", answer)
            for raw in (b"not json", b'{"name": "x"', b"\xff\xfe"):
                code, _, _ = request("POST", vwr.admin + "/admin/api/v1/rules", body=raw,
                                     headers={"Authorization": "Bearer " + vwr.admin_token,
                                              "Content-Type": "application/json"})
                self.assertEqual(code, 400, raw)
            # A PUT naming another rule than its path, and the file's rules: refused.
            vwr.admin_request("POST", "/admin/api/v1/rules", body=CAP)
            code, _, _ = vwr.admin_request("PUT", "/admin/api/v1/rules/cap-on-load",
                                           body=dict(CAP, name="other"))
            self.assertEqual(code, 400)
            code, _, answer = vwr.admin_request(
                "PUT", "/admin/api/v1/rules/from-file",
                body=dict(CAP, name="from-file"))
            self.assertEqual(code, 409, answer)
            self.assertIn("configuration file", answer["error"]["message"])
            self.assertEqual(vwr.admin_request("DELETE", "/admin/api/v1/rules/from-file")[0], 409)
            self.assertEqual(vwr.admin_request("PUT", "/admin/api/v1/rules/nosuch",
                                               body=dict(CAP, name="nosuch"))[0], 404)
            names = [r["name"] for r in vwr.admin_request("GET", "/admin/api/v1/rules")[2]["rules"]]
            self.assertEqual(names, ["from-file", "cap-on-load"])
            self.assertTrue(vwr.running())

    def test_rules_are_bounded_in_number(self):
        with VwrProcess(RUNTIME, env=RUNTIME_ENV) as vwr:
            for i in range(1023):  # with the file's one: 1024
                code, _, answer = vwr.admin_request("POST", "/admin/api/v1/rules",
                                                    body=dict(CAP, name="r%d" % i))
                self.assertEqual(code, 201, answer)
            code, _, answer = vwr.admin_request("POST", "/admin/api/v1/rules",
                                                body=dict(CAP, name="one-too-many"))
            self.assertEqual(code, 409, answer)
            self.assertIn("1024 rules", answer["error"]["message"])
            self.assertEqual(len(vwr.admin_request("GET", "/admin/api/v1/rules")[2]["rules"]),
                             1024)

    def test_only_the_admin_role_changes_rules(self):
        with VwrProcess(RUNTIME, env=RUNTIME_ENV) as vwr:
            for token in (ALICE, VERA):
                code, _, answer = vwr.admin_request("POST", "/admin/api/v1/rules", body=CAP,
                                                    token=token)
                self.assertEqual(code, 403, answer)
                self.assertIn("this needs role admin", answer["error"]["message"])
            self.assertEqual(vwr.admin_request("POST", "/admin/api/v1/rules", body=CAP,
                                               token=False)[0], 401)
            self.assertEqual(vwr.admin_request("GET", "/admin/api/v1/rules", token=VERA)[0], 200)
            vwr.admin_request("POST", "/admin/api/v1/rules", body=CAP)
            for method, body in (("PUT", CAP), ("DELETE", None)):
                code, _, _ = vwr.admin_request(method, "/admin/api/v1/rules/cap-on-load",
                                               body=body, token=ALICE)
                self.assertEqual(code, 403, method)
            self.assertEqual(vwr.admin_request("GET", "/admin/api/v1/rules/cap-on-load")[0], 200)


class ControlAtRunTime(unittest.TestCase):
    """A room's automatic control turned off and on, and its bounds set, through the admin API:
    the contract the console relies on."""

    def test_control_is_turned_off_and_on_with_new_bounds_kept_and_audited(self):
        data = tempfile.mkdtemp(prefix="vwr-control-")
        self.addCleanup(shutil.rmtree, data, True)
        with VwrProcess(RUNTIME, env=RUNTIME_ENV, data_dir=data) as vwr:
            code, _, off = vwr.admin_request("PUT", "/admin/api/v1/control/shop",
                                             body={"enabled": False}, token=ALICE)
            self.assertEqual(code, 200, off)
            self.assertEqual(off["room"], "shop")
            self.assertFalse(off["enabled"])
            self.assertEqual(off["state"], "off")
            self.assertEqual(off["max_active"], {"min": 5, "max": 1000})
            self.assertIsNone(off["admit_rate"])
            self.assertEqual(off["algorithm"], "aimd")
            # The same object as GET /admin/api/v1/control shows for the room.
            code, _, state = vwr.admin_request("GET", "/admin/api/v1/control?room=shop")
            self.assertEqual(state["rooms"], [off])
            # Off: a breach changes nothing.
            push(vwr, "origin_latency_ms", {"value": 900})
            time.sleep(1.0)  # five control intervals in which nothing may happen
            self.assertEqual(max_active(vwr), 100)
            # On, with bounds: lowered on the breach, down to the new minimum at most.
            code, _, on = vwr.admin_request(
                "PUT", "/admin/api/v1/control/shop",
                body={"enabled": True, "max_active": {"min": 60, "max": 500},
                      "admit_rate": {"min": 1, "max": 50}}, token=ALICE)
            self.assertEqual(code, 200, on)
            self.assertTrue(on["enabled"])
            self.assertEqual(on["max_active"], {"min": 60, "max": 500})
            self.assertEqual(on["admit_rate"], {"min": 1, "max": 50})
            wait_until(lambda: max_active(vwr) == 60, timeout=5,
                       message="the controller did not lower to the new minimum")
            self.assertEqual(vwr.policy("shop")[2]["admit_rate"], 50,
                             "admit_rate is brought within its new bounds")
            # The controller's own changes are audited under its name.
            made = [e for e in audit(vwr, room="shop") if e["operator"] == "control:aimd"]
            self.assertGreaterEqual(len(made), 1)
            first = made[-1]
            self.assertEqual(first["action"], "policy")
            self.assertEqual(json.loads(first["before"])["max_active"], 100)
            self.assertEqual(json.loads(first["after"])["seen"]["origin_latency_ms"], 900)
            changes = [e for e in audit(vwr, room="shop") if e["action"] == "control"]
            self.assertEqual([e["operator"] for e in changes], ["alice", "alice"])
            self.assertFalse(json.loads(changes[1]["after"])["enabled"])
            self.assertTrue(json.loads(changes[0]["before"]) == json.loads(changes[1]["after"]))
        with VwrProcess(RUNTIME, env=RUNTIME_ENV, data_dir=data) as vwr:
            wait_until(lambda: vwr.admin_request("GET", "/admin/api/v1/control/shop")[2]
                       ["max_active"]["min"] == 60, timeout=5,
                       message="the control settings were not kept")
            code, _, kept = vwr.admin_request("GET", "/admin/api/v1/control/shop")
            self.assertEqual(code, 200, kept)
            self.assertEqual(kept["max_active"], {"min": 60, "max": 500})
            self.assertTrue(kept["enabled"])

    def test_impossible_bounds_and_other_mistakes_are_refused(self):
        with VwrProcess(RUNTIME, env=RUNTIME_ENV) as vwr:
            cases = [
                ({"max_active": {"min": 50, "max": 10}}, 400),
                ({"max_active": {"min": 0, "max": 10}}, 400),
                ({"max_active": {"min": 1.5, "max": 10}}, 400),
                ({"admit_rate": {"min": -1, "max": 10}}, 400),
                ({"enabled": "yes"}, 400),
                ({"speed": 1}, 400),
                ([1], 400),
            ]
            for body, expected in cases:
                code, _, answer = vwr.admin_request("PUT", "/admin/api/v1/control/shop", body=body)
                self.assertEqual(code, expected, (body, answer))
                self.assertIn("error", answer)
            code, _, answer = vwr.admin_request("PUT", "/admin/api/v1/control/other",
                                                body={"enabled": True})
            self.assertEqual(code, 404, answer)
            self.assertEqual(vwr.admin_request("PUT", "/admin/api/v1/control/nosuch",
                                               body={"enabled": True})[0], 404)
            self.assertEqual(vwr.admin_request("PUT", "/admin/api/v1/control/shop",
                                               body={"enabled": False}, token=VERA)[0], 403)
            self.assertEqual(vwr.admin_request("DELETE", "/admin/api/v1/control/shop")[0], 405)
            code, _, state = vwr.admin_request("GET", "/admin/api/v1/control/shop")
            self.assertEqual(state["max_active"], {"min": 5, "max": 1000})
            self.assertTrue(state["enabled"])


class OpeningDraw(unittest.TestCase):
    """A scheduled opening with shuffle: the pre-queue pauses the room on time, the commitment is
    published before the opening and the seed after, and anyone can check the seed against the
    commitment and recompute the order of the tickets drawn (docs/control.md#the-opening-draw)."""

    def test_the_draw_is_committed_before_the_opening_and_verifiable_after(self):
        import datetime
        import hashlib
        opens = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + \
            datetime.timedelta(seconds=6)
        config = """
schedules:
  - name: sale
    room: shop
    opens_at: %s
    prequeue: 3s
    open: { mode: fifo, max_active: 1, admit_rate: 100 }
    shuffle: true
rooms:
  - id: shop
    max_active: 50
    admit_rate: 100
    burst: 100
    claim_grace: 60s
""" % opens.strftime("%Y-%m-%dT%H:%M:%SZ")
        with VwrProcess(config) as vwr:
            def event():
                code, _, state = vwr.admin_request("GET", "/admin/api/v1/control?room=shop")
                self.assertEqual(code, 200, state)
                return state["schedules"][0]
            before = event()
            self.assertEqual(before["phase"], "scheduled")
            self.assertNotIn("seed", before, "the seed is secret until the draw")
            commitment = before["commitment"]
            self.assertRegex(commitment, "^[0-9a-f]{64}$")
            # The pre-queue starts 2 to 3 s from now, on time.
            wait_until(lambda: vwr.policy("shop")[2]["mode"] == "pause", timeout=5,
                       message="the pre-queue did not pause the room")
            self.assertLess(abs(time.time() - (opens.timestamp() - 3)), 1.0,
                            "the pre-queue began on time")
            self.assertEqual(event()["phase"], "prequeue")
            self.assertEqual(event()["commitment"], commitment)
            tickets = []
            for i in range(10):
                code, body = vwr.join("shop")
                self.assertEqual(code, 200, body)
                self.assertEqual(body["status"], "waiting", "nobody enters before the opening")
                # Before the opening a place is the arrival order (docs/control.md: not a promise).
                self.assertEqual(body["position"], i + 1, body)
                tickets.append(body["ticket"])
            wait_until(lambda: event().get("seed") is not None, timeout=8,
                       message="the seed was not revealed at the opening")
            after = event()
            self.assertEqual(after["phase"], "open")
            self.assertEqual(after["commitment"], commitment)
            self.assertEqual((after["first_ticket"], after["last_ticket"]), (1, 10))
            seed = bytes.fromhex(after["seed"])
            self.assertEqual(len(seed), 32)
            self.assertEqual(hashlib.sha256(seed).hexdigest(), commitment,
                             "the revealed seed is the committed one")
            key = lambda t: (hashlib.sha256(seed + b"shop" + b"\0" + str(t).encode()).digest(), t)
            order = sorted(range(1, 11), key=key)
            self.assertEqual(sorted(order), list(range(1, 11)))
            self.assertNotEqual(order, list(range(1, 11)), "a draw of ten is not the identity "
                                "(1 in 3.6 million)")
            self.assertEqual(vwr.policy("shop")[2]["mode"], "fifo")
            # The opening is a decision of the schedule, in the audit log under its name.
            code, _, log = vwr.admin_request("GET", "/admin/api/v1/audit?room=shop")
            who = [e["operator"] for e in log["entries"]]
            self.assertIn("schedule:sale", who)
            # Admissions follow the drawn order: one at a time (max_active 1), each claimed by
            # polling every ticket in number order, then leaving so the next one is called. From
            # the opening on, a waiting ticket's position is its drawn place and never grows.
            admitted, told = [], {}
            def poll_all():
                offsets = set()  # position - drawn index, of the tickets first polled now
                for number, ticket in enumerate(tickets, start=1):
                    if number in admitted:
                        continue
                    code, body = vwr.status("shop", ticket)
                    self.assertEqual(code, 200, body)
                    if body["status"] == "admitted":
                        admitted.append(number)
                        code, _, _ = vwr.leave("shop", body["token"])
                        self.assertEqual(code, 204)
                        return True
                    self.assertEqual(body["status"], "waiting", body)
                    if number not in told:
                        # The first poll after the opening: the place the draw gave it.
                        offsets.add(body["position"] - order.index(number))
                        self.assertEqual(len(offsets), 1, ("not in the drawn order", number, body))
                    self.assertLessEqual(body["position"], told.get(number, body["position"]),
                                         "a position grew after the opening")
                    told[number] = body["position"]
                return False
            for _ in range(10):
                wait_until(poll_all, timeout=10, message="nobody was called after %s" % admitted)
            self.assertEqual(admitted, order, "admissions follow the order recomputed from the "
                             "revealed seed")


class HangingProbe(unittest.TestCase):
    """A probe target that accepts and never answers: the signal goes to error and the waiting
    room's polls go on at the same pace."""

    def polls_per_second(self, vwr, seconds=1.5):
        code, body = vwr.join("shop")
        self.assertEqual(code, 200, body)
        ticket = body["ticket"]
        sock = vwr.connect()
        count, worst = 0, 0.0
        end = time.monotonic() + seconds
        path = "/api/v1/rooms/shop/status?ticket=" + ticket
        while time.monotonic() < end:
            start = time.monotonic()
            code, _ = vwr.status("shop", ticket)
            worst = max(worst, time.monotonic() - start)
            self.assertEqual(code, 200)
            count += 1
        sock.close()
        return count / seconds, worst

    def test_polls_are_not_slowed_by_a_probe_that_hangs(self):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        self.addCleanup(listener.close)
        held = []
        def accept():
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                held.append(conn)  # never answered
        threading.Thread(target=accept, daemon=True).start()
        port = listener.getsockname()[1]
        room = """
rooms:
  - id: shop
    max_active: 1
    admit_rate: 0.01
    burst: 1
"""
        hanging = """
signals:
  - name: origin_latency_ms
    kind: http
    url: http://127.0.0.1:%d/health
    interval: 200ms
    timeout: 150ms
  - name: origin_scrape
    kind: prometheus
    url: http://127.0.0.1:%d/metrics
    metric: up
    interval: 200ms
    timeout: 150ms
""" % (port, port)
        with VwrProcess(room) as vwr:
            vwr.join("shop")  # the one place inside: the next joins wait and poll
            baseline, _ = self.polls_per_second(vwr)
        with VwrProcess(hanging + room) as vwr:
            vwr.join("shop")
            wait_until(lambda: signals(vwr)["origin_latency_ms"]["state"] == "error", timeout=5,
                       message="a target that never answers did not make the signal an error")
            rate, worst = self.polls_per_second(vwr)
            seen = signals(vwr)
            self.assertIn("no answer within 150 ms", seen["origin_latency_ms"]["error"])
            self.assertEqual(seen["origin_scrape"]["state"], "error")
            self.assertGreater(seen["origin_latency_ms"]["probe"]["failures"], 2)
        # Two shared cores: allow noise, never a stall.
        self.assertGreater(rate, 0.5 * baseline, (rate, baseline))
        self.assertLess(worst, 0.1, worst)


class PromtoolChecksTheMetrics(unittest.TestCase):
    @unittest.skipUnless(shutil.which("promtool"), "promtool is not installed")
    def test_the_control_metrics_are_valid_prometheus_text(self):
        with VwrProcess(CONTROLLED % "hold") as vwr:
            push(vwr, "origin_latency_ms", {"value": 900, "ttl": "30s"})
            wait_until(lambda: max_active(vwr) == 5, timeout=5)
            code, _, text = request("GET", vwr.admin + "/metrics")
            self.assertIn(b"vwr_threshold_changes_total", text)
            done = subprocess.run(["promtool", "check", "metrics"], input=text,
                                  capture_output=True, timeout=30)
            # promtool also lints (naming advice); only errors of format fail the check.
            problems = [l for l in (done.stdout + done.stderr).decode().splitlines()
                        if "error" in l.lower()]
            self.assertEqual(problems, [], (done.stdout + done.stderr).decode())


if __name__ == "__main__":
    unittest.main()
