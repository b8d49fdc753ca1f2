"""vwr loadgen against real servers: its report must agree with the server's own statistics.

The load generator's figures are only worth something if they are exact. Each test runs a short
crowd against real `vwr serve` processes (one node on the store under test; three nodes sharing
one Redis) and compares the report with what the servers counted: requests by endpoint
(/metrics vwr_http_requests_total, summed over the nodes) and admissions
(vwr_room_admissions_total), equal, not approximately. A small test double that breaks the
waiting room's promises (serves the line out of order, lets positions grow) shows that the
fairness measures catch it and that `--fail-on` fails the run.
"""

import base64
import json
import os
import pty
import re
import shutil
import struct
import subprocess
import tempfile
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from redis_harness import RedisServer, redis_available
from vwr_harness import (VwrProcess, clean_env, config_yaml, json_request, on_redis, room_yaml,
                         vwr_binary, wait_until)

ROOM = "sale"
LOADGEN_ENDPOINTS = ("join", "status", "heartbeat", "leave", "room", "tracer_input",
                     "tracer_output", "tracer_check_bot")
_REQUESTS_RE = re.compile(r'^vwr_http_requests_total\{endpoint="([^"]+)",code="(\d+)"\}$')

# Everybody comes from 127.0.0.1: no per-address caps or join limits, as for a real load test
# from one machine (the operator would list the load generator's address instead).
SERVER = "server:\n  limits: { max_requests_per_connection: 0, max_connections_per_ip: 0 }\n"


def room(**policy):
    values = dict(max_active=15, admit_rate=20, burst=5, session_timeout="30s",
                  claim_grace="5s", poll_min="200ms", poll_max="1s")
    values.update(policy)
    text = room_yaml(ROOM, **values)
    return text + "    protection: { joins_per_ip: 0 }\n"


def run_loadgen(args, timeout=90):
    """Runs `vwr loadgen ARGS` with a JSON report; returns (exit code, report or None, output)."""
    directory = tempfile.mkdtemp(prefix="vwr-loadgen-")
    try:
        report = os.path.join(directory, "report.json")
        html = os.path.join(directory, "report.html")
        done = subprocess.run([vwr_binary(), "loadgen", "--json", report, "--html", html,
                               "--seed", "7"] + list(args),
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=timeout,
                              env=clean_env())
        value = None
        if os.path.exists(report):
            with open(report, encoding="utf-8") as f:
                value = json.load(f)
            with open(html, encoding="utf-8") as f:
                value["_html"] = f.read()
        return done.returncode, value, done.stdout + done.stderr
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def server_requests(nodes):
    """vwr_http_requests_total by endpoint, summed over the nodes."""
    totals = {}
    for node in nodes:
        for key, value in node.metrics().items():
            m = _REQUESTS_RE.match(key)
            if m:
                totals[m.group(1)] = totals.get(m.group(1), 0) + int(value)
    return totals


def server_admissions(node):
    return int(node.metrics().get('vwr_room_admissions_total{room="%s"}' % ROOM, 0))


class LoadgenReportMatchesTheServer(unittest.TestCase):
    """One node on the store under test (embedded, or Redis in the redis run)."""

    def check_against(self, nodes, report, admissions_node):
        served = server_requests(nodes)
        for endpoint in LOADGEN_ENDPOINTS:
            self.assertEqual(report["by_endpoint"][endpoint], served.get(endpoint, 0),
                             "requests to %s: report %r, servers %r"
                             % (endpoint, report["by_endpoint"], served))
        self.assertEqual(report["requests"], sum(served.get(e, 0) for e in LOADGEN_ENDPOINTS))
        # The counters of a Redis room are the cluster's, read back at each node's tick.
        wait_until(lambda: server_admissions(admissions_node) == report["admitted"], 5,
                   message="admissions: report %d, server %d"
                   % (report["admitted"], server_admissions(admissions_node)))

    def test_native_crowd_requests_and_admissions_equal_the_servers_counts(self):
        with VwrProcess(config_yaml(room(), extra=SERVER)) as vwr:
            code, report, output = run_loadgen([
                "--target", vwr.public, "--room", ROOM, "--arrivals", "poisson:25",
                "--duration", "6s", "--hold", "uniform:500ms:2s", "--heartbeat", "400ms",
                "--abandon", "0.1:2s", "--reload", "0.2", "--session-end", "mix:0.6"])
            self.assertEqual(code, 0, output)
            self.assertGreater(report["admitted"], 30, output)
            self.assertGreater(report["by_endpoint"]["heartbeat"], 0, output)
            self.assertGreater(report["by_endpoint"]["leave"], 0, output)
            self.assertGreater(report["reloads"], 0, output)
            self.assertGreater(report["abandoned"], 0, output)
            self.assertGreater(report["answers"].get("waiting", 0), 0, output)
            self.check_against([vwr], report, vwr)
            # A correct server: no error, the line in order, positions never up, the limit held.
            self.assertEqual(report["errors"], 0, output)
            self.assertEqual(report["reloads_lost_place"], 0, output)
            self.assertEqual(report["fifo_violations"], 0, output)
            self.assertEqual(report["position_increases"], 0, output)
            self.assertGreater(report["polls_checked"], 50, output)
            self.assertEqual(report["max_active"], 15)
            self.assertLessEqual(report["peak_active"], 15)
            self.assertGreater(report["peak_active"], 0)
            self.assertIsNotNone(report["eta_median_rel_error"])
            for endpoint in ("join", "status"):
                self.assertGreater(report["latency_ms"][endpoint]["p99"], 0)
                self.assertGreaterEqual(report["latency_ms"][endpoint]["p99"],
                                        report["latency_ms"][endpoint]["p50"])

    def test_tracer_and_native_mix(self):
        with VwrProcess(config_yaml(room(max_active=10), extra=SERVER)) as vwr:
            code, report, output = run_loadgen([
                "--target", vwr.public, "--room", ROOM, "--arrivals", "ramp:5:30:3s",
                "--duration", "5s", "--hold", "1s", "--protocol", "mix:0.5",
                "--tracer-poll", "300ms", "--session-end", "mix:0.5"])
            self.assertEqual(code, 0, output)
            self.assertGreater(report["tracer_people"], 10, output)
            self.assertGreater(report["native_people"], 10, output)
            for endpoint in ("tracer_input", "tracer_check_bot", "tracer_output", "join", "status"):
                self.assertGreater(report["by_endpoint"][endpoint], 0, "%s: %s" % (endpoint, output))
            self.assertGreater(report["answers"].get("tracer_T", 0), 0, output)
            self.check_against([vwr], report, vwr)
            self.assertEqual(report["errors"], 0, output)
            self.assertEqual(report["fifo_violations"], 0, output)
            self.assertEqual(report["position_increases"], 0, output)
            self.assertLessEqual(report["peak_active"], 10)

    def test_repeated_tracer_identities_are_one_place_each(self):
        # Ten loginIds shared by ~100 legacy pages: a page that comes while an earlier page of
        # its loginId is still open is that user reloading, and the server answers it with the
        # identity's one place or session. The report must count that place once: its
        # admissions, sessions held and fairness figures equal what the server did.
        with VwrProcess(config_yaml(room(max_active=5, admit_rate=5), extra=SERVER)) as vwr:
            code, report, output = run_loadgen([
                "--target", vwr.public, "--room", ROOM, "--arrivals", "poisson:20",
                "--duration", "5s", "--hold", "1s", "--protocol", "tracer",
                "--tracer-poll", "300ms", "--user-ids", "pool:10",
                "--session-end", "mix:0.5", "--abandon", "0.2:1s"])
            self.assertEqual(code, 0, output)
            self.assertGreater(report["reloads"], 10, output)
            self.assertGreater(report["admitted"], 5, output)
            self.check_against([vwr], report, vwr)
            self.assertEqual(report["errors"], 0, output)
            self.assertEqual(report["fifo_violations"], 0, output)
            self.assertEqual(report["position_increases"], 0, output)
            self.assertLessEqual(report["peak_active"], 5, output)

    def test_the_incident_preset_replays_its_hour_compressed(self):
        # The worst hour at 1/100, ten times faster: its flash crowd rises over the first 3 s.
        with VwrProcess(config_yaml(room(max_active=20, admit_rate=30), extra=SERVER)) as vwr:
            code, report, output = run_loadgen([
                "--target", vwr.public, "--room", ROOM, "--scenario", "incident-2025-01",
                "--scale", "0.01", "--speed", "10", "--duration", "6s", "--tracer-poll", "500ms"])
            self.assertEqual(code, 0, output)
            self.assertEqual(report["scenario"], "incident-2025-01")
            # The preset's behaviour: sessions of minutes, a third of the pages on TRACER.
            self.assertEqual(report["hold"], "exp:5m")
            self.assertEqual(report["protocol"], "mix:0.3")
            # 6 s of the compressed hour: the rise (3 s, half the peak on average) and 3 s near
            # the peak of 890 a second x 0.01 x 10.
            self.assertGreater(report["arrived"], 300, output)
            self.assertLess(report["arrived"], 500, output)
            self.assertGreater(report["tracer_people"], 50, output)
            self.assertGreater(report["peak_waiting"], 100, output)
            self.check_against([vwr], report, vwr)
            self.assertEqual(report["errors"], 0, output)
            self.assertEqual(report["fifo_violations"], 0, output)
            self.assertEqual(report["position_increases"], 0, output)
            # What the command line says wins over the preset, also when it is a default value.
            code, report, output = run_loadgen([
                "--target", vwr.public, "--room", ROOM, "--scenario", "incident-2025-01",
                "--scale", "0.001", "--duration", "1s", "--hold", "5s", "--protocol", "native",
                "--session-end", "leave"])
            self.assertEqual(code, 0, output)
            self.assertEqual(report["hold"], "5s")
            self.assertEqual(report["protocol"], "native")
            self.assertEqual(report["tracer_people"], 0)

    def test_burst_waits_in_order_and_the_html_report_stands_alone(self):
        with VwrProcess(config_yaml(room(max_active=50, admit_rate=40), extra=SERVER)) as vwr:
            code, report, output = run_loadgen([
                "--target", vwr.public, "--room", ROOM, "--arrivals", "burst:300",
                "--duration", "5s", "--hold", "1s", "--connections", "16",
                "--fail-on", "fairness,active"])
            self.assertEqual(code, 0, output)
            self.assertEqual(report["arrived"], 300)
            self.assertEqual(report["checks"], ["fifo", "positions", "active"])
            self.assertIn('<div class="verdict ok" id="verdict">PASSED: fifo, positions, active',
                          report["_html"])
            self.assertEqual(report["by_endpoint"]["join"], 300)
            self.assertEqual(report["peak_waiting"] + report["admitted_at_join"], 300, output)
            self.check_against([vwr], report, vwr)
            self.assertEqual(report["fifo_violations"], 0, output)
            self.assertEqual(report["position_increases"], 0, output)
            self.assertLessEqual(report["pool"]["connections_opened"], 16)
            page = report["_html"]
            self.assertIn('"fifo_violations":0', page)
            # Nothing is fetched: no external script, style sheet or image.
            self.assertNotRegex(page, r'<script[^>]+src=|<link[^>]+href=|<img')
            self.assertIn("uPlot", page, "the charts' library is inlined")


@unittest.skipUnless(redis_available(), "redis-server is not installed (scripts/install-deps)")
@unittest.skipUnless(on_redis(), "runs in the redis suite (it starts its own Redis)")
class LoadgenAgainstThreeNodes(unittest.TestCase):
    """Three nodes sharing one Redis, loaded in turn: the report equals the sum of the nodes'
    requests and the cluster's admissions."""

    def test_three_nodes_on_one_redis(self):
        tmp = tempfile.mkdtemp(prefix="vwr-loadgen-scale-")
        self.addCleanup(shutil.rmtree, tmp, True)
        redis = RedisServer()
        self.addCleanup(redis.close)
        text = config_yaml(room(max_active=20, admit_rate=25),
                           extra=SERVER + ("store:\n  kind: redis\n  redis:\n    url: %s\n"
                                           "    lease: 1s\nsecrets:\n  ticket_key_file: %s\n"
                                           "tokens:\n  key_dir: %s\n"
                                           % (redis.url, os.path.join(tmp, "ticket.key"),
                                              os.path.join(tmp, "keys"))))
        nodes = []
        for _ in range(3):
            node = VwrProcess(text)
            self.addCleanup(node.close)
            nodes.append(node)
        for node in nodes:
            wait_until(lambda node=node: json_request("GET", node.admin + "/readyz")[0] == 200,
                       10, message="node ready")
        args = ["--room", ROOM, "--arrivals", "poisson:30", "--duration", "6s",
                "--hold", "uniform:500ms:1500ms", "--heartbeat", "500ms",
                "--protocol", "mix:0.3", "--tracer-poll", "300ms", "--fifo-slack", "300ms"]
        for node in nodes:
            args += ["--target", node.public]
        code, report, output = run_loadgen(args)
        self.assertEqual(code, 0, output)
        self.assertGreater(report["admitted"], 30, output)
        served = server_requests(nodes)
        for endpoint in LOADGEN_ENDPOINTS:
            self.assertEqual(report["by_endpoint"][endpoint], served.get(endpoint, 0),
                             "%s: report %r, nodes %r" % (endpoint, report["by_endpoint"], served))
        self.assertEqual(report["requests"], sum(served.get(e, 0) for e in LOADGEN_ENDPOINTS))
        # People were spread over the three nodes in turn: each served its share.
        for node in nodes:
            self.assertGreater(server_requests([node]).get("join", 0), 10, output)
        # Every node reports the cluster's admissions (read back at its tick).
        for node in nodes:
            wait_until(lambda node=node: server_admissions(node) == report["admitted"], 5,
                       message="admissions: report %d, node %d"
                       % (report["admitted"], server_admissions(node)))
        self.assertEqual(report["errors"], 0, output)
        self.assertEqual(report["position_increases"], 0, output)
        self.assertEqual(report["fifo_violations"], 0, output)
        self.assertLessEqual(report["peak_active"], 20)


# ----- a server that breaks the promises -----

def vwr_style_ticket(number):
    """A ticket laid out as VWR's (version, incarnation, number, frontier, MAC): its number is
    readable by the load generator as a real ticket's is."""
    def varint(n):
        out = bytearray()
        while True:
            b = n & 0x7F
            n >>= 7
            if n:
                out.append(b | 0x80)
            else:
                out.append(b)
                return bytes(out)
    raw = b"\x01" + struct.pack(">Q", 0xC0FFEE) + varint(number) + varint(0) + b"\x00" * 16
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class UnfairRoom:
    """A waiting room that lies: `lifo` lets the newest waiter in first; `growing` lets the
    line move in order but answers each poll with a position one higher than the last; `fifo`
    keeps its promises. One waiter is let in every 0.25 s. Its estimate (`eta`) is `fixed` (2 s
    whatever the place), `honest` (the place times 0.25 s: when the person will really get in)
    or `zero` (always "any moment now")."""

    TICK_S = 0.25

    def __init__(self, behaviour, opaque_tickets=False, eta="fixed"):
        self.behaviour = behaviour
        self.eta = eta
        self.opaque = opaque_tickets
        self.lock = threading.Lock()
        self.issued = 0
        self.admitted = set()
        self.polls = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self, code, value=None):
                body = b"" if value is None else json.dumps(value).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path == "/api/v1/rooms/" + ROOM:
                    return self.answer(200, {"room": ROOM, "mode": "fifo", "maxActive": 3,
                                             "admitRate": 5, "queueSize": 0, "active": 0})
                if self.path == "/api/v1/rooms/%s/status" % ROOM:
                    return self.answer(200, outer.status(self.headers.get("X-VWR-Ticket", "")))
                self.answer(404)

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path == "/api/v1/rooms/%s/join" % ROOM:
                    return self.answer(200, outer.join())
                if self.path == "/api/v1/rooms/%s/leave" % ROOM:
                    return self.answer(204)
                self.answer(404)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.stop = threading.Event()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        threading.Thread(target=self.tick, daemon=True).start()

    def close(self):
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()

    def ticket(self, n):
        return "opaque-%d-%s" % (n, "x" * 20) if self.opaque else vwr_style_ticket(n)

    def number(self, ticket):
        if ticket.startswith("opaque-"):
            return int(ticket.split("-")[1])
        raw = base64.urlsafe_b64decode(ticket + "=" * (-len(ticket) % 4))
        return raw[9]  # one-byte varint: the tests stay below 128

    def join(self):
        with self.lock:
            self.issued += 1
            return self.waiting(self.issued)

    def waiting(self, n):
        position = n - len(self.admitted)
        eta = {"fixed": 2, "honest": round(position * self.TICK_S), "zero": 0}[self.eta]
        if self.behaviour == "growing":
            self.polls[n] = self.polls.get(n, 0) + 1
            position += self.polls[n]
        return {"room": ROOM, "status": "waiting", "ticket": self.ticket(n),
                "position": max(position, 1), "queueSize": self.issued - len(self.admitted),
                "etaSeconds": eta, "pollAfterMs": 150}

    def status(self, ticket):
        n = self.number(ticket)
        with self.lock:
            if n in self.admitted:
                return {"room": ROOM, "status": "admitted", "ticket": ticket, "position": 0,
                        "etaSeconds": 0, "pollAfterMs": 0, "token": "t%d" % n,
                        "sessionTimeoutSeconds": 60}
            return self.waiting(n)

    def tick(self):
        while not self.stop.wait(self.TICK_S):
            with self.lock:
                waiting = [n for n in range(1, self.issued + 1) if n not in self.admitted]
                if waiting:
                    # lifo: the newest first; growing and fifo: in order.
                    self.admitted.add(max(waiting) if self.behaviour == "lifo" else min(waiting))


@unittest.skipIf(on_redis(), "needs no store: runs once, in the embedded suite")
class LoadgenCatchesAnUnfairServer(unittest.TestCase):
    def unfair(self, behaviour, opaque=False, eta="fixed"):
        room_double = UnfairRoom(behaviour, opaque, eta)
        self.addCleanup(room_double.close)
        return room_double

    def args(self, url, arrivals="poisson:15"):
        return ["--target", url, "--room", ROOM, "--arrivals", arrivals, "--duration", "4s",
                "--hold", "300ms", "--connections", "8", "--drain", "3s"]

    def test_out_of_order_admissions_are_fifo_violations_and_fail_the_run(self):
        server = self.unfair("lifo")
        code, report, output = run_loadgen(self.args(server.url) + ["--fail-on", "fifo,positions"])
        self.assertEqual(code, 1, output)
        self.assertGreater(report["fifo_violations"], 0, output)
        self.assertTrue(report["failed"])
        self.assertIn("fifo", " ".join(report["failed_checks"]))
        self.assertEqual(report["checks"], ["fifo", "positions"])
        self.assertIn("FAILED", output)
        # The page says so first thing, without needing its script.
        self.assertRegex(report["_html"],
                         r'<div class="verdict bad" id="verdict">FAILED: fifo: \d+ FIFO violations')

    def test_the_plain_contract_still_exits_zero(self):
        server = self.unfair("lifo")
        code, report, output = run_loadgen(self.args(server.url))
        self.assertEqual(code, 0, output)
        self.assertGreater(report["fifo_violations"], 0, output)
        self.assertFalse(report["failed"])
        self.assertEqual(report["checks"], [])
        self.assertNotIn('id="verdict"', report["_html"])

    def test_opaque_tickets_are_ordered_by_their_calls(self):
        # People arrive spread out (15 a second): whoever's join was answered before another's
        # was sent is ahead of it, so the order holds without reading the tickets.
        server = self.unfair("lifo", opaque=True)
        code, report, output = run_loadgen(self.args(server.url) + ["--fail-on", "fifo"])
        self.assertEqual(code, 1, output)
        self.assertGreater(report["fifo_violations"], 0, output)

    def test_eta_honesty_tells_an_honest_estimate_from_a_useless_one(self):
        # The same fair line, twice: estimates that say when people really get in score a
        # small error (about 20 %: whole seconds, and the admission is seen at the next poll);
        # "any moment now" to people who wait seconds scores near 100 % (less for the few who
        # get in within a second, scored against 1 s).
        errors = {}
        for eta in ("honest", "zero"):
            server = self.unfair("fifo", eta=eta)
            code, report, output = run_loadgen(self.args(server.url, "poisson:12"))
            self.assertEqual(code, 0, output)
            self.assertEqual(report["fifo_violations"], 0, output)
            self.assertGreater(report["eta_scored_polls"], 50, output)
            errors[eta] = report["eta_median_rel_error"]
        self.assertLess(errors["honest"], 0.35, errors)
        self.assertGreater(errors["zero"], 0.6, errors)
        self.assertGreater(errors["zero"], 2 * errors["honest"], errors)

    def test_positions_that_grow_fail_the_run(self):
        server = self.unfair("growing")
        code, report, output = run_loadgen(self.args(server.url) + ["--fail-on", "positions"])
        self.assertEqual(code, 1, output)
        self.assertGreater(report["position_increases"], 0, output)
        self.assertEqual(report["fifo_violations"], 0, output)  # the order itself was kept
        self.assertIn("positions", " ".join(report["failed_checks"]))


@unittest.skipIf(on_redis(), "needs no store: runs once, in the embedded suite")
class LoadgenCommandLine(unittest.TestCase):
    def test_bad_options_are_refused_with_a_reason(self):
        for args, reason in (
                (["--arrivals", "flood:9"], "use burst:N"),
                (["--arrivals", "burst:5", "--hold", "forever"], "cannot read"),
                (["--arrivals", "burst:5", "--protocol", "soap"], "--protocol"),
                (["--arrivals", "burst:5", "--fail-on", "vibes"], "--fail-on"),
                (["--scenario", "nope"], "--scenario nope"),
                (["--arrivals", "replay:/nonexistent.csv"], "cannot read the file")):
            done = subprocess.run([vwr_binary(), "loadgen", "--target", "http://127.0.0.1:9",
                                   "--room", ROOM] + args, capture_output=True, text=True,
                                  timeout=20, env=clean_env())
            self.assertEqual(done.returncode, 2, (args, done.stderr))
            self.assertIn(reason, done.stderr, args)

    def test_a_replay_file_sets_the_arrivals_and_the_length_of_the_run(self):
        # An export of a day's arrivals per second (header, time column, count column), doubled.
        directory = tempfile.mkdtemp(prefix="vwr-loadgen-replay-")
        self.addCleanup(shutil.rmtree, directory, True)
        csv = os.path.join(directory, "monday.csv")
        with open(csv, "w", encoding="utf-8") as f:
            f.write("second,arrivals\n# the doors open\n0,5\n1,12\n2,0\n3,3\n")
        with VwrProcess(config_yaml(room(max_active=5, admit_rate=5), extra=SERVER)) as vwr:
            code, report, output = run_loadgen([
                "--target", vwr.public, "--room", ROOM, "--arrivals", "replay:" + csv,
                "--scale", "2", "--hold", "500ms"])
            self.assertEqual(code, 0, output)
            self.assertEqual(report["arrived"], 40, output)
            self.assertEqual(report["by_endpoint"]["join"], 40, output)
            self.assertEqual(report["duration_s"], 4, output)  # as long as the file's rows
            self.assertEqual(report["series"]["arrivals"][:4], [10, 24, 0, 6], output)
            self.assertEqual(report["errors"], 0, output)

    def test_a_terminal_shows_a_live_progress_line(self):
        # On a terminal the line is rewritten in place every second: elapsed time, request
        # rate, people waiting, admitted and errors, as the run goes.
        with VwrProcess(config_yaml(room(max_active=5, admit_rate=5), extra=SERVER)) as vwr:
            controller, terminal = pty.openpty()
            child = subprocess.Popen(
                [vwr_binary(), "loadgen", "--target", vwr.public, "--room", ROOM,
                 "--arrivals", "poisson:20", "--duration", "3500ms", "--hold", "1s"],
                stdin=subprocess.DEVNULL, stdout=terminal, stderr=subprocess.STDOUT,
                env=clean_env())
            os.close(terminal)
            seen = b""
            try:
                while True:
                    try:
                        chunk = os.read(controller, 4096)
                    except OSError:  # the child closed the terminal
                        break
                    if not chunk:
                        break
                    seen += chunk
            finally:
                os.close(controller)
                self.assertEqual(child.wait(timeout=30), 0, seen)
        text = seen.decode("utf-8", "replace")
        progress = re.findall(r"\r\s*(\d+)s\s+(\d+) req/s  arrived (\d+)  waiting (\d+)  "
                              r"admitted (\d+)  active (\d+)  errors (\d+)\x1b\[K", text)
        self.assertGreaterEqual(len(progress), 3, text)
        elapsed = [int(p[0]) for p in progress]
        self.assertEqual(elapsed, sorted(elapsed), text)
        self.assertGreater(int(progress[-1][1]), 0, text)  # requests per second
        self.assertGreater(int(progress[-1][3]), 0, text)  # waiting: 20/s against 5/s admitted
        self.assertGreater(int(progress[-1][4]), 0, text)  # admitted
        self.assertEqual(progress[-1][6], "0", text)
        self.assertIn("vwr loadgen: room sale", text)  # then the summary

    def test_a_target_that_refuses_connections_completes_with_connect_errors(self):
        code, report, output = run_loadgen(["--target", "http://127.0.0.1:9", "--room", ROOM,
                                            "--arrivals", "burst:5", "--duration", "1s",
                                            "--drain", "1s"])
        self.assertEqual(code, 0, output)
        self.assertEqual(report["requests"], 0)
        self.assertGreaterEqual(report["errors_by_kind"]["connect"], 5)


if __name__ == "__main__":
    unittest.main()
