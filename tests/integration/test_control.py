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
        code, _, _ = push(self.vwr, "origin_latency_ms", {"value": 42.5, "ttl": "1s"})
        self.assertEqual(code, 204)
        seen = signals(self.vwr)["origin_latency_ms"]
        self.assertEqual(seen["state"], "ok")
        self.assertEqual(seen["value"], 42.5)
        self.assertGreaterEqual(seen["age_ms"], 0)
        self.assertLess(seen["age_ms"], 1000)
        self.assertEqual(seen["kind"], "push")
        wait_until(lambda: signals(self.vwr)["origin_latency_ms"]["state"] == "unknown",
                   timeout=5, message="the pushed value never expired")
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
            push(vwr, "origin_latency_ms", {"value": 50, "ttl": "30s"})
            time.sleep(1.0)  # five control intervals in which nothing may happen
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
            time.sleep(1.0)  # five intervals with a breach: the operator's value stays
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
