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

    def test_burst_waits_in_order_and_the_html_report_stands_alone(self):
        with VwrProcess(config_yaml(room(max_active=50, admit_rate=40), extra=SERVER)) as vwr:
            code, report, output = run_loadgen([
                "--target", vwr.public, "--room", ROOM, "--arrivals", "burst:300",
                "--duration", "5s", "--hold", "1s", "--connections", "16"])
            self.assertEqual(code, 0, output)
            self.assertEqual(report["arrived"], 300)
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
    line move in order but answers each poll with a position one higher than the last."""

    def __init__(self, behaviour, opaque_tickets=False):
        self.behaviour = behaviour
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
        if self.behaviour == "growing":
            self.polls[n] = self.polls.get(n, 0) + 1
            position += self.polls[n]
        return {"room": ROOM, "status": "waiting", "ticket": self.ticket(n),
                "position": max(position, 1), "queueSize": self.issued - len(self.admitted),
                "etaSeconds": 2, "pollAfterMs": 150}

    def status(self, ticket):
        n = self.number(ticket)
        with self.lock:
            if n in self.admitted:
                return {"room": ROOM, "status": "admitted", "ticket": ticket, "position": 0,
                        "etaSeconds": 0, "pollAfterMs": 0, "token": "t%d" % n,
                        "sessionTimeoutSeconds": 60}
            return self.waiting(n)

    def tick(self):
        while not self.stop.wait(0.25):
            with self.lock:
                waiting = [n for n in range(1, self.issued + 1) if n not in self.admitted]
                if waiting:
                    # lifo: the newest first; growing: in order (only positions lie).
                    self.admitted.add(max(waiting) if self.behaviour == "lifo" else min(waiting))


@unittest.skipIf(on_redis(), "needs no store: runs once, in the embedded suite")
class LoadgenCatchesAnUnfairServer(unittest.TestCase):
    def unfair(self, behaviour, opaque=False):
        room_double = UnfairRoom(behaviour, opaque)
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
        self.assertIn("FAILED", output)

    def test_the_plain_contract_still_exits_zero(self):
        server = self.unfair("lifo")
        code, report, output = run_loadgen(self.args(server.url))
        self.assertEqual(code, 0, output)
        self.assertGreater(report["fifo_violations"], 0, output)
        self.assertFalse(report["failed"])

    def test_opaque_tickets_are_ordered_by_their_calls(self):
        # People arrive spread out (15 a second): whoever's join was answered before another's
        # was sent is ahead of it, so the order holds without reading the tickets.
        server = self.unfair("lifo", opaque=True)
        code, report, output = run_loadgen(self.args(server.url) + ["--fail-on", "fifo"])
        self.assertEqual(code, 1, output)
        self.assertGreater(report["fifo_violations"], 0, output)

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

    def test_a_target_that_refuses_connections_completes_with_connect_errors(self):
        code, report, output = run_loadgen(["--target", "http://127.0.0.1:9", "--room", ROOM,
                                            "--arrivals", "burst:5", "--duration", "1s",
                                            "--drain", "1s"])
        self.assertEqual(code, 0, output)
        self.assertEqual(report["requests"], 0)
        self.assertGreaterEqual(report["errors_by_kind"]["connect"], 5)


if __name__ == "__main__":
    unittest.main()
