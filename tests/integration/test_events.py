"""A waiting ticket's event stream (GET /api/v1/rooms/{room}/events), against the real binary.

The stream pushes the ticket's position and estimate as they change and its admission at once
(with the token and the session's end), then ends. Driven here by moving the line for real:
people ahead giving back their places, and an operator raising max_active through the admin
policy API. Attacks: a forged ticket, another room's ticket, no ticket (refused, no stream held);
more streams than server.limits.max_event_streams (503, the server keeps serving, a place given
back is taken again); clients that never read (the server's memory stays bounded and others are
served); a stream whose ticket is given back (it says so and ends). Runs on both stores
(integration.test_events and integration.redis.test_events).
"""

import http.client
import json
import os
import socket
import threading
import time
import unittest
import urllib.parse

from vwr_harness import LineChecks, VwrProcess, address_of, config_yaml, room_yaml, wait_until

POLL = dict(poll_min="100ms", poll_max="1s")


def room(name, **extra):
    # The people these tests hold ahead of a stream never poll: abandonment is off, except in
    # the room that checks a listening ticket is not taken for a silent one.
    settings = dict(max_active=1, admit_rate=100, burst=1, session_timeout="60s",
                    claim_grace="60s", abandon_after_polls=0, **POLL)
    settings.update(extra)
    return room_yaml(name, **settings)


CONFIG = config_yaml(room("line"), room("attack"), room("other"), room("back"),
                     room("listen", abandon_after_polls=5), room("silent"))
CAPPED = 5
CAPPED_CONFIG = config_yaml(
    room("cap"), extra="server:\n  limits:\n    max_event_streams: %d\n" % CAPPED)


class Stream:
    """One event stream read on a thread of its own: every event with its arrival time, and
    whether (and when) the stream ended."""

    def __init__(self, vwr, room_id, ticket, via="query"):
        host, port = address_of(vwr.public)
        self.conn = http.client.HTTPConnection(host, port, timeout=30)
        path = "/api/v1/rooms/%s/events" % room_id
        headers = {"Accept": "text/event-stream"}
        if via == "query":
            path += "?ticket=" + urllib.parse.quote(ticket, safe="")
        else:
            headers["X-VWR-Ticket"] = ticket
        self.conn.request("GET", path, headers=headers)
        self.response = self.conn.getresponse()
        self.events = []  # (monotonic time, name, data)
        self.comments = []
        self.retry = None
        self.ended_at = None
        self._cond = threading.Condition()
        self._thread = None
        if self.response.status == 200:
            self._thread = threading.Thread(target=self._read, daemon=True)
            self._thread.start()

    def _read(self):
        name, data = None, None
        try:
            while True:
                line = self.response.readline()
                if not line:
                    break
                line = line.decode("utf-8").rstrip("\n")
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    data = json.loads(line[6:])
                elif line.startswith("retry: "):
                    self.retry = int(line[7:])
                elif line.startswith(":"):
                    self.comments.append(line)
                elif line == "" and name is not None:
                    with self._cond:
                        self.events.append((time.monotonic(), name, data))
                        self._cond.notify_all()
                    name, data = None, None
        except (OSError, http.client.HTTPException):
            pass
        with self._cond:
            self.ended_at = time.monotonic()
            self._cond.notify_all()

    def wait_event(self, predicate, timeout=10.0):
        """The first event (time, name, data) that `predicate` accepts."""
        def find():
            with self._cond:
                for event in self.events:
                    if predicate(event):
                        return event
            return None
        return wait_until(find, timeout, message="an event on the stream")

    def wait_end(self, timeout=10.0):
        return wait_until(lambda: self.ended_at, timeout, message="the stream's end")

    def close(self):
        """Hangs up (the reader sees the end), then closes."""
        if self.conn.sock is not None:
            try:
                self.conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(5)
        self.conn.close()


def vwr_rss_kib(vwr):
    with open("/proc/%d/status" % vwr.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


class EventsTest(LineChecks, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vwr = VwrProcess(CONFIG)
        cls.addClassCleanup(cls.vwr.close)

    def give_back(self, room_id, ticket):
        code, _, body = self.vwr.json_request("POST", "/api/v1/rooms/%s/leave" % room_id,
                                              headers={"X-VWR-Ticket": ticket})
        self.assertEqual(code, 204, body)

    def open(self, room_id, ticket, via="query"):
        stream = Stream(self.vwr, room_id, ticket, via)
        self.addCleanup(stream.close)
        return stream

    def streams_open(self):
        return self.vwr.metrics().get('vwr_http_streams{listener="public"}', 0)

    def test_positions_fall_and_the_admission_arrives_at_once(self):
        holder, line = self.fill("line", 4)
        last = line[-1]
        stream = self.open("line", last["ticket"])
        self.assertEqual(stream.response.status, 200)
        self.assertTrue(stream.response.getheader("Content-Type").startswith("text/event-stream"))
        self.assertEqual(stream.response.getheader("X-Accel-Buffering"), "no")
        self.assertEqual(stream.response.getheader("Cache-Control"), "no-store")
        stream.wait_event(lambda e: e[1] == "position" and e[2]["position"] == 4)
        self.assertEqual(stream.retry, 3000)

        # The people ahead give their places back, one after another.
        for i, ahead in enumerate(line[:3]):
            self.give_back("line", ahead["ticket"])
            stream.wait_event(lambda e, p=3 - i: e[1] == "position" and e[2]["position"] == p)
        # An operator lets more people in: the stream claims the ticket and says so at once.
        code, _, body = self.vwr.set_policy("line", {"max_active": 5})
        self.assertEqual(code, 200, body)
        changed = time.monotonic()
        at, _, admitted = stream.wait_event(lambda e: e[1] == "admitted")
        self.assertLess(at - changed, 1.0, "the admission reaches the stream within a second")
        stream.wait_end()

        names = [e[1] for e in stream.events]
        self.assertEqual(names[-1], "admitted")
        self.assertEqual(set(names[:-1]), {"position"})
        positions = [e[2]["position"] for e in stream.events if e[1] == "position"]
        self.assertEqual(positions, sorted(positions, reverse=True), "positions never grow")
        self.assertEqual(positions[0], 4)
        self.assertEqual(positions[-1], 1)
        for _, _, data in stream.events[:-1]:
            self.assertEqual(data["ticket"], last["ticket"])
            self.assertIn("etaSeconds", data)
            self.assertIn("etaRange", data)
        self.assertEqual(admitted["status"], "admitted")
        self.assertEqual(admitted["ticket"], last["ticket"])
        self.assertIn("sessionEndsAt", admitted)
        # The token is a real session's: verify accepts it, a heartbeat keeps it.
        code, _, _ = self.vwr.request("GET", "/api/v1/verify?room=line",
                                      headers={"Authorization": "Bearer " + admitted["token"]})
        self.assertEqual(code, 204)
        code, _, _ = self.vwr.heartbeat("line", admitted["token"])
        self.assertEqual(code, 204)
        # The status poll the page makes for its cookie finds the same session.
        code, again = self.vwr.status("line", last["ticket"])
        self.assertEqual((code, again["status"]), (200, "admitted"))
        wait_until(lambda: self.streams_open() == 0, message="the stream's place given back")

    def test_forged_foreign_or_missing_tickets_open_no_stream(self):
        _, line = self.fill("attack", 1)
        ticket = line[0]["ticket"]
        _, of_other = self.fill("other", 1)
        forged = ticket[:-3] + ("AAA" if not ticket.endswith("AAA") else "BBB")
        cases = [
            ("/api/v1/rooms/attack/events", {"X-VWR-Ticket": of_other[0]["ticket"]}, 401,
             "invalid_ticket"),
            ("/api/v1/rooms/attack/events", {"X-VWR-Ticket": forged}, 401, "invalid_ticket"),
            ("/api/v1/rooms/attack/events?ticket=" + urllib.parse.quote(forged, safe=""), {},
             401, "invalid_ticket"),
            ("/api/v1/rooms/attack/events", {}, 400, "bad_request"),
            ("/api/v1/rooms/nope/events", {"X-VWR-Ticket": ticket}, 404, "room_not_found"),
            ("/api/v1/rooms/attack/events", {"X-VWR-Ticket": "x" * 4000}, 401, "invalid_ticket"),
        ]
        for path, headers, code, error in cases:
            got, hdrs, body = self.vwr.json_request("GET", path, headers=headers)
            self.assertEqual((got, body["error"]["code"]), (code, error), path)
            self.assertTrue(hdrs.get("Content-Type").startswith("application/json"))
        self.assertEqual(self.streams_open(), 0, "no stream is held for a refused request")
        # HEAD says what a GET would be, without holding a stream.
        code, hdrs, body = self.vwr.request("HEAD", "/api/v1/rooms/attack/events",
                                            headers={"X-VWR-Ticket": ticket})
        self.assertEqual(code, 200)
        self.assertTrue(hdrs.get("Content-Type").startswith("text/event-stream"))
        self.assertEqual(body, b"")

    def test_a_ticket_given_back_ends_its_stream(self):
        _, line = self.fill("back", 2)
        stream = self.open("back", line[1]["ticket"], via="header")
        stream.wait_event(lambda e: e[1] == "position")
        self.give_back("back", line[1]["ticket"])
        _, _, data = stream.wait_event(lambda e: e[1] == "expired")
        self.assertEqual(data["status"], "expired")
        stream.wait_end()
        # The one ahead is not disturbed.
        code, value = self.vwr.status("back", line[0]["ticket"])
        self.assertEqual((code, value["status"], value["position"]), (200, "waiting", 1))

    def test_listening_counts_as_polling(self):
        # A ticket that only listens (never polls the status) for many of its pollAfterMs stays
        # in line: it counts in queueSize, and its turn comes to it.
        holder, line = self.fill("listen", 1)
        stream = self.open("listen", line[0]["ticket"])
        _, _, first = stream.wait_event(lambda e: e[1] == "position")
        quiet_for = max(3.0, 12 * first["pollAfterMs"] / 1000.0)
        deadline = time.monotonic() + quiet_for
        while time.monotonic() < deadline:  # what an abandonment sweep would see, all along
            code, info = self.vwr.room_info("listen")
            self.assertEqual((code, info["queueSize"]), (200, 1), info)
            time.sleep(0.25)
        code, _, _ = self.vwr.leave("listen", holder["token"])
        self.assertEqual(code, 204)
        stream.wait_event(lambda e: e[1] == "admitted", timeout=5)

    def test_clients_that_never_read_cost_bounded_memory_and_others_are_served(self):
        holder, line = self.fill("silent", 41)
        before = vwr_rss_kib(self.vwr)
        socks = []
        for entry in line[:40]:
            sock = socket.create_connection(address_of(self.vwr.public), timeout=5)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.sendall(("GET /api/v1/rooms/silent/events?ticket=%s HTTP/1.1\r\nHost: x\r\n\r\n"
                          % urllib.parse.quote(entry["ticket"], safe="")).encode())
            socks.append(sock)
            self.addCleanup(sock.close)
        wait_until(lambda: self.streams_open() == 40, message="40 streams open")
        # The line moves under them for a while: every one of them is sent events it never reads.
        for entry in line[:20]:
            self.give_back("silent", entry["ticket"])
        reader = self.open("silent", line[40]["ticket"])
        reader.wait_event(lambda e: e[1] == "position" and e[2]["position"] == 21)
        code, _, _ = self.vwr.leave("silent", holder["token"])
        self.assertEqual(code, 204)
        for entry in line[20:40]:
            self.give_back("silent", entry["ticket"])
        reader.wait_event(lambda e: e[1] == "admitted", timeout=5)
        # Polls are answered meanwhile.
        code, _ = self.vwr.room_info("silent")
        self.assertEqual(code, 200)
        grown = vwr_rss_kib(self.vwr) - before
        self.assertLess(grown, 20 * 1024, "40 unread streams cost %d KiB" % grown)
        # Streams whose tickets were given back have ended, read or not.
        wait_until(lambda: self.streams_open() == 0, message="every stream ended")


class StreamCapTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vwr = VwrProcess(CAPPED_CONFIG)
        cls.addClassCleanup(cls.vwr.close)

    def test_more_streams_than_the_cap_get_503_and_the_server_keeps_serving(self):
        code, holder = self.vwr.join("cap")
        self.assertEqual(holder["status"], "admitted")
        tickets = [self.vwr.join("cap")[1]["ticket"] for _ in range(CAPPED + 3)]
        streams = []
        for ticket in tickets[:CAPPED]:
            stream = Stream(self.vwr, "cap", ticket)
            self.addCleanup(stream.close)
            self.assertEqual(stream.response.status, 200)
            streams.append(stream)
        for ticket in tickets[CAPPED:]:
            code, hdrs, body = self.vwr.json_request(
                "GET", "/api/v1/rooms/cap/events?ticket=" + urllib.parse.quote(ticket, safe=""))
            self.assertEqual(code, 503, body)
            self.assertEqual(body["error"]["code"], "unavailable")
            self.assertIn("max_event_streams", body["error"]["message"])
            self.assertEqual(hdrs.get("Retry-After"), "30")
            # The refused ticket polls instead, and its place is intact.
            code, value = self.vwr.status("cap", ticket)
            self.assertEqual((code, value["status"]), (200, "waiting"))
        metrics = self.vwr.metrics()
        self.assertEqual(metrics['vwr_http_streams{listener="public"}'], CAPPED)
        self.assertGreaterEqual(metrics['vwr_http_streams_refused_total{listener="public"}'], 3)
        # A stream that ends gives its place back: the next one opens.
        streams[0].close()
        wait_until(lambda: self.vwr.metrics()['vwr_http_streams{listener="public"}'] < CAPPED,
                   message="the closed stream's place given back")
        again = Stream(self.vwr, "cap", tickets[CAPPED])
        self.addCleanup(again.close)
        self.assertEqual(again.response.status, 200)
        again.wait_event(lambda e: e[1] == "position")
        self.assertTrue(self.vwr.running())


if __name__ == "__main__":
    unittest.main()
