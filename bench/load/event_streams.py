#!/usr/bin/env python3
"""How many tickets' event streams (GET /api/v1/rooms/{room}/events) one node holds, and what
each costs: memory, CPU while they sit open, and how fast a move of the line reaches them all.

    python3 bench/load/event_streams.py --streams 10000 [--binary build/vwr] [--workers 2]

Starts `vwr serve` (embedded store, loopback, a fresh data directory) with one room that keeps
everyone waiting, takes --streams tickets, reads the node's resident memory (VmRSS), opens one
stream per ticket (each its own connection, read with one selector), and reads it again once
every stream has had its first event. Then it measures, with the streams open:
  - the node's CPU over 10 s while nothing changes (the streams' pulls, 4 a second each);
  - how long the first place given back takes to reach every stream as a position event;
  - the latency of status polls answered meanwhile.
Prints one JSON object. Python standard library only; needs `ulimit -n` above the stream count
(raised to the hard limit here).
"""

import argparse
import http.client
import json
import os
import re
import resource
import selectors
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

LISTENER = re.compile(r"public listener on http://([\d.]+):(\d+)")
ADMIN = re.compile(r"admin listener on http://([\d.]+):(\d+)")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(binary, streams, workers, directory):
    config = os.path.join(directory, "vwr.yaml")
    with open(config, "w") as f:
        f.write("""server:
  limits:
    max_connections: %d
    max_connections_per_ip: 0
    max_event_streams: %d
rooms:
  - id: bench
    max_active: 1
    admit_rate: 0.001
    burst: 1
    claim_grace: 10m
    session_timeout: 1h
    poll:
      min: 5s
      max: 30s
    protection:
      mode: "off"
      joins_mode: "off"
""" % (streams + 1000, streams))
    args = [binary, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
            "--data-dir", os.path.join(directory, "data"), "--config", config]
    if workers:
        args += ["--workers", str(workers)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    public = admin = None
    deadline = time.monotonic() + 20
    while (public is None or admin is None) and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        if (m := LISTENER.search(line)):
            public = (m.group(1), int(m.group(2)))
        if (m := ADMIN.search(line)):
            admin = (m.group(1), int(m.group(2)))
    if public is None or admin is None:
        proc.kill()
        raise SystemExit("vwr did not start")
    # Keep reading its log, so that it never blocks on a full pipe.
    import threading
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
    return proc, public, admin


def streams_open(admin):
    conn = http.client.HTTPConnection(*admin, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    m = re.search(r'^vwr_http_streams\{listener="public"\} (\d+)', text, re.M)
    return int(m.group(1)) if m else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=10000)
    parser.add_argument("--binary", default=os.path.join(os.path.dirname(__file__), "..", "..",
                                                         "build", "vwr"))
    parser.add_argument("--workers", type=int, default=0, help="vwr --workers (0: one per core)")
    opts = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < opts.streams + 100:
        raise SystemExit("ulimit -n is %d: too few for %d streams" % (hard, opts.streams))

    directory = tempfile.mkdtemp(prefix="vwr-streams-")
    proc, public, admin = start(opts.binary, opts.streams, opts.workers, directory)
    try:
        # Tickets, over one kept-alive connection (the first joiner is admitted: the slot).
        conn = http.client.HTTPConnection(*public, timeout=10)
        tickets = []
        began = time.monotonic()
        while len(tickets) < opts.streams:
            conn.request("POST", "/api/v1/rooms/bench/join", body="{}",
                         headers={"Content-Type": "application/json"})
            answer = json.loads(conn.getresponse().read())
            if answer["status"] == "waiting":
                tickets.append(answer["ticket"])
        joined_s = time.monotonic() - began
        time.sleep(1.0)  # the joins' answers and buffers settle
        rss_before = rss_kib(proc.pid)

        # One stream per ticket, each its own connection.
        sel = selectors.DefaultSelector()
        socks = []
        seen = {}  # socket -> bytes received
        began = time.monotonic()
        for ticket in tickets:
            s = socket.create_connection(public)
            s.sendall(("GET /api/v1/rooms/bench/events?ticket=%s HTTP/1.1\r\nHost: bench\r\n\r\n"
                       % urllib.parse.quote(ticket, safe="")).encode())
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            socks.append(s)
            seen[s] = b""

        def pump(until, want):
            """Reads what came until `want()` holds or `until` passes."""
            while time.monotonic() < until and not want():
                for key, _ in sel.select(timeout=0.2):
                    try:
                        data = key.fileobj.recv(65536)
                    except BlockingIOError:
                        continue
                    if data:
                        seen[key.fileobj] += data
                        if len(seen[key.fileobj]) > 8192:  # keep the tail only
                            seen[key.fileobj] = seen[key.fileobj][-4096:]

        pump(time.monotonic() + 120,
             lambda: all(b"event: position" in v for v in seen.values()))
        opened_s = time.monotonic() - began
        got_first = sum(1 for v in seen.values() if b"event: position" in v)
        refused = sum(1 for v in seen.values() if b" 503 " in v[:20])
        time.sleep(1.0)
        open_now = streams_open(admin)
        rss_after = rss_kib(proc.pid)

        # CPU while nothing changes: the pulls alone.
        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        pump(t0 + 10, lambda: False)
        idle_cpu = (cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - t0)

        # A place given back: how long until every stream has its new position.
        for s in socks:
            seen[s] = b""
        leave = http.client.HTTPConnection(*public, timeout=10)
        began = time.monotonic()
        leave.request("POST", "/api/v1/rooms/bench/leave", headers={"X-VWR-Ticket": tickets[0]})
        leave.getresponse().read()
        pump(began + 60, lambda: all(b"event: " in v for s, v in seen.items() if s is not socks[0]))
        fanout_s = time.monotonic() - began

        # Polls answered with the streams open.
        latencies = []
        for ticket in tickets[1:201]:
            t = time.monotonic()
            conn.request("GET", "/api/v1/rooms/bench/status",
                         headers={"X-VWR-Ticket": ticket})
            conn.getresponse().read()
            latencies.append((time.monotonic() - t) * 1000)
        latencies.sort()

        print(json.dumps({
            "streams_asked": opts.streams,
            "streams_open": open_now,
            "first_event_received": got_first,
            "refused_503": refused,
            "join_seconds": round(joined_s, 1),
            "open_seconds": round(opened_s, 1),
            "rss_before_kib": rss_before,
            "rss_after_kib": rss_after,
            "kib_per_stream": round((rss_after - rss_before) / max(1, open_now), 2),
            "idle_cpu_cores": round(idle_cpu, 3),
            "fanout_seconds": round(fanout_s, 2),
            "poll_p50_ms": round(latencies[len(latencies) // 2], 2),
            "poll_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
        }, indent=2))
        for s in socks:
            s.close()
    finally:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    sys.exit(main())
