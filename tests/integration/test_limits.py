"""server.limits on the real binary: slow and idle clients are cut off at their deadlines, the
connection limits refuse and then admit again, and the size limits answer 413 and 431.

Each test starts its own vwr, so that the connections one test leaves behind do not count
against the next. The timeouts are set short and different from one another, so that a test can
tell which deadline closed a connection. Waiting is always for a condition (an answer, a closed
connection, a log line) with a bound; the only timed waits are the slow clients' own pacing.
"""

import os
import re
import select
import shutil
import socket
import stat
import tempfile
import time
import unittest

from vwr_harness import (HTTP_TIMEOUT, VwrProcess, address_of, config_yaml, read_raw_response,
                         room_yaml, vwr_binary, wait_closed, wait_until)

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.5
KEEPALIVE_TIMEOUT = 2.0
MAX_HEADER_BYTES = 2048
MAX_BODY_BYTES = 1024
# How late a deadline may be noticed: the server's timer, the client's pacing, a loaded machine.
LATE = 0.8
EARLY = 0.1

LIMITS = """server:
  limits:
    max_header_bytes: %d
    max_body_bytes: %d
    header_timeout: %gs
    body_timeout: %gs
    keepalive_timeout: %gs
    max_connections: 5
    max_connections_per_ip: 3
    max_requests_per_connection: 3
""" % (MAX_HEADER_BYTES, MAX_BODY_BYTES, HEADER_TIMEOUT, BODY_TIMEOUT, KEEPALIVE_TIMEOUT)

CONFIG = config_yaml(room_yaml("web", max_active=1000, admit_rate=1000, burst=1000),
                     extra=LIMITS)

INFO = b"GET /api/v1/rooms/web HTTP/1.1\r\nHost: t\r\n\r\n"
CHUNKED_JOIN = (b"POST /api/v1/rooms/web/join HTTP/1.1\r\nHost: t\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
CHUNKED_ADMIN = (b"PUT /admin/api/v1/rooms/web/policy HTTP/1.1\r\nHost: t\r\n"
                 b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
# An attacker's chunk-size line or trailer section that never ends: tens of MiB, sent as fast as
# the server takes them. The server must answer and close long before they are all sent, and
# hold no more than a few MiB meanwhile.
ENDLESS_BYTES = 48 * 2**20
MAX_RSS_GROWTH = 4 * 2**20


class Client:
    """One raw connection to the public (or admin) listener, from `source` (127.0.0.x)."""

    def __init__(self, vwr, source="127.0.0.1", admin=False):
        address = address_of(vwr.admin if admin else vwr.public)
        self.sock = socket.create_connection(address, HTTP_TIMEOUT, source_address=(source, 0))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb")

    def send(self, data):
        self.sock.sendall(data)

    def response(self):
        return read_raw_response(self.reader)

    def get(self, request=INFO):
        self.send(request)
        return self.response()

    def close(self):
        self.reader.close()
        self.sock.close()


def served(vwr, source="127.0.0.1"):
    """A new connection from `source` that was served (kept open), or None if it was refused."""
    try:
        client = Client(vwr, source)
    except OSError:
        return None
    try:
        resp = client.get()
        if resp is not None and resp.status == 200:
            return client
    except (OSError, ValueError):
        pass
    client.close()
    return None


def connection_close(resp):
    return resp.headers.get("connection", "").lower() == "close"


def memory_status(pid, field):
    """A memory figure of process `pid` from /proc/<pid>/status (VmRSS, VmHWM), in KiB."""
    with open("/proc/%d/status" % pid, encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def reset_peak_rss(pid):
    """Starts VmHWM (peak resident memory) afresh from the current VmRSS (Linux 4.0+)."""
    with open("/proc/%d/clear_refs" % pid, "w", encoding="ascii") as f:
        f.write("5")


class LimitsTest(unittest.TestCase):
    def setUp(self):
        self.vwr = VwrProcess(CONFIG)
        self.addCleanup(self.vwr.close)
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()

    def client(self, source="127.0.0.1", admin=False):
        c = Client(self.vwr, source, admin)
        self.clients.append(c)
        return c

    def keep(self, client):
        self.assertIsNotNone(client, "a connection that should have been served was refused")
        self.clients.append(client)
        return client

    def assert_refused(self, client):
        """The server answers 503 at once, without being asked, and closes."""
        resp = client.response()
        self.assertIsNotNone(resp, "refused without an answer")
        self.assertEqual(resp.status, 503, resp)
        self.assertEqual(resp.json()["error"]["code"], "unavailable")
        self.assertEqual(resp.json()["error"]["message"], "too many connections")
        self.assertTrue(connection_close(resp))
        self.assertTrue(wait_closed(client.sock, 3), "a refused connection was left open")

    # ----- slow and idle clients -----

    def test_slow_loris_is_cut_off_at_header_timeout_while_others_are_served(self):
        head = b"GET /api/v1/rooms/web HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 200
        slow = self.client()
        start = time.monotonic()
        closed_at = None
        others_served = 0
        for byte in head:  # one byte every 0.2 s: each well under header_timeout
            try:
                slow.sock.send(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed_at = time.monotonic()
                break
            if wait_closed(slow.sock, 0.2):
                closed_at = time.monotonic()
                break
            # Meanwhile another client (another address: its own per-IP budget) is served.
            other = self.keep(served(self.vwr, "127.0.0.2"))
            others_served += 1
            other.close()
            self.clients.remove(other)
        self.assertIsNotNone(closed_at, "the slow client was never cut off")
        elapsed = closed_at - start
        self.assertGreaterEqual(elapsed, HEADER_TIMEOUT - EARLY)
        self.assertLess(elapsed, HEADER_TIMEOUT + LATE)
        self.assertGreaterEqual(others_served, 3)

    def test_slow_head_on_a_kept_alive_connection_gets_header_timeout_from_its_first_byte(self):
        c = self.client()
        self.assertEqual(c.get().status, 200)
        # Idle for longer than header_timeout but less than keepalive_timeout: still open.
        self.assertFalse(wait_closed(c.sock, HEADER_TIMEOUT + 0.5),
                         "an idle keep-alive connection was closed before keepalive_timeout")
        first_byte = time.monotonic()
        closed_at = None
        for byte in INFO[:-2]:  # never finished
            try:
                c.sock.send(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed_at = time.monotonic()
                break
            if wait_closed(c.sock, 0.2):
                closed_at = time.monotonic()
                break
        self.assertIsNotNone(closed_at, "the slow request head was never cut off")
        elapsed = closed_at - first_byte
        # header_timeout from the first byte: not the keep-alive deadline still running, nor
        # one measured from the previous answer.
        self.assertGreaterEqual(elapsed, HEADER_TIMEOUT - EARLY)
        self.assertLess(elapsed, HEADER_TIMEOUT + LATE)
        self.vwr.wait_for_log(r"public: 127\.0\.0\.1 did not send a request head within 1000 ms")

    def test_silent_new_connection_is_closed_after_header_timeout(self):
        c = self.client()
        start = time.monotonic()
        self.assertTrue(wait_closed(c.sock, KEEPALIVE_TIMEOUT + 3))
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, HEADER_TIMEOUT - EARLY)
        self.assertLess(elapsed, HEADER_TIMEOUT + LATE)

    def test_idle_keep_alive_connection_is_closed_after_keepalive_timeout(self):
        c = self.client()
        self.assertEqual(c.get().status, 200)
        answered = time.monotonic()
        self.assertTrue(wait_closed(c.sock, KEEPALIVE_TIMEOUT + 3))
        elapsed = time.monotonic() - answered
        self.assertGreaterEqual(elapsed, KEEPALIVE_TIMEOUT - EARLY)
        self.assertLess(elapsed, KEEPALIVE_TIMEOUT + LATE)

    def test_slow_body_is_cut_off_at_body_timeout(self):
        c = self.client()
        c.send(b"POST /api/v1/rooms/web/join HTTP/1.1\r\nHost: t\r\n"
               b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"userId\"")
        start = time.monotonic()
        self.assertTrue(wait_closed(c.sock, BODY_TIMEOUT + 3))
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, BODY_TIMEOUT - EARLY)
        self.assertLess(elapsed, BODY_TIMEOUT + LATE)
        self.vwr.wait_for_log(r"public: 127\.0\.0\.1 did not send a request body within 1500 ms")

    # ----- connection limits -----

    def test_fourth_connection_from_one_address_is_refused_until_one_closes(self):
        open_ = [self.keep(served(self.vwr)) for _ in range(3)]
        self.assert_refused(self.client())
        self.vwr.wait_for_log(r"public: refused a connection from 127\.0\.0\.1: 3 connections "
                              r"from this address open \(server\.limits\.max_connections_per_ip\)")
        # Another address is still welcome.
        self.keep(served(self.vwr, "127.0.0.2"))
        # The three still work.
        for c in open_:
            self.assertEqual(c.get().status, 200)

        open_[0].close()
        self.clients.remove(open_[0])
        fourth = self.keep(wait_until(lambda: served(self.vwr), 5,
                                      message="a connection accepted once one of three closed"))
        self.assertEqual(fourth.get().status, 200)
        self.assert_refused(self.client())

    def test_connections_beyond_max_connections_are_refused(self):
        for source in ("127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.2", "127.0.0.2"):
            self.keep(served(self.vwr, source))
        self.assert_refused(self.client("127.0.0.3"))
        self.vwr.wait_for_log(r"public: refused a connection from 127\.0\.0\.3: 5 connections "
                              r"open \(server\.limits\.max_connections\)")
        # The admin listener is not limited: operators can still look.
        admin = self.client(admin=True)
        resp = admin.get(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        self.assertEqual(resp.status, 200)

        self.clients.pop(0).close()
        self.keep(wait_until(lambda: served(self.vwr, "127.0.0.3"), 5,
                             message="a connection accepted once one of five closed"))

    def test_max_requests_per_connection(self):
        c = self.client()
        first, second, third = c.get(), c.get(), c.get()
        self.assertEqual([r.status for r in (first, second, third)], [200, 200, 200])
        self.assertFalse(connection_close(first))
        self.assertFalse(connection_close(second))
        self.assertTrue(connection_close(third), third)
        self.assertTrue(wait_closed(c.sock, 3), "the connection stayed open after the 3rd answer")

    def test_max_requests_per_connection_with_pipelining(self):
        c = self.client()
        c.send(INFO * 4)
        answers = [c.response() for _ in range(3)]
        self.assertEqual([r.status for r in answers], [200, 200, 200])
        self.assertTrue(connection_close(answers[2]))
        try:
            self.assertIsNone(c.response(), "a 4th request was answered")
        except ConnectionResetError:
            pass  # closed with the 4th request unread: as good as a plain close

    # ----- sizes -----

    def test_body_over_max_body_bytes_is_413(self):
        c = self.client()
        c.send(b"POST /api/v1/rooms/web/join HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % (MAX_BODY_BYTES + 1))
        resp = c.response()
        self.assertEqual(resp.status, 413, resp)
        self.assertEqual(resp.json()["error"]["code"], "payload_too_large")
        self.assertIn("%d bytes" % MAX_BODY_BYTES, resp.json()["error"]["message"])
        self.assertTrue(wait_closed(c.sock, 3))

        # A body of exactly max_body_bytes is fine.
        body = b'{"userId":"big"}'
        body += b" " * (MAX_BODY_BYTES - len(body))
        c = self.client()
        resp = c.get(b"POST /api/v1/rooms/web/join HTTP/1.1\r\nHost: t\r\n"
                     b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                     % (len(body), body))
        self.assertEqual(resp.status, 200, resp)

    def test_header_over_max_header_bytes_is_431(self):
        c = self.client()
        resp = c.get(b"GET /api/v1/rooms/web HTTP/1.1\r\nHost: t\r\nX-Big: " +
                     b"a" * MAX_HEADER_BYTES + b"\r\n\r\n")
        self.assertEqual(resp.status, 431, resp)
        self.assertEqual(resp.json()["error"]["code"], "headers_too_large")
        self.assertTrue(wait_closed(c.sock, 3))

        c = self.client()
        resp = c.get(b"GET /api/v1/rooms/web HTTP/1.1\r\nHost: t\r\nX-Big: " +
                     b"a" * (MAX_HEADER_BYTES - 200) + b"\r\n\r\n")
        self.assertEqual(resp.status, 200, resp)

    # ----- chunked bodies: chunk extensions and trailers count against max_header_bytes -----

    def endless(self, head, filler, admin=False):
        """Sends `head`, then `filler` over and over (ENDLESS_BYTES in all, never the end of a
        chunk-size line or trailer section) until the server answers or closes. Returns the
        answer (None when closed without one), the bytes the kernel took, how much the server's
        peak resident memory grew meanwhile (bytes), and whether the connection was closed."""
        pid = self.vwr.proc.pid
        # A first request cut off just past the limit pays what any first request of its kind
        # costs (under AddressSanitizer, several MiB of the runtime's own allocator and shadow
        # memory), so that the growth measured below is what the endless stream adds.
        warm = self.client(admin=admin)
        warm.send(head + filler * (2 * MAX_HEADER_BYTES // len(filler) + 1))
        self.assertEqual(warm.response().status, 431)
        reset_peak_rss(pid)
        rss_before = memory_status(pid, "VmRSS")
        c = self.client(admin=admin)
        # A small send buffer, so that what the kernel takes is close to what the server took.
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        c.send(head)
        piece = filler * (64 * 1024 // len(filler))
        sent = 0
        deadline = time.monotonic() + 30
        c.sock.setblocking(False)
        try:
            while sent < ENDLESS_BYTES and time.monotonic() < deadline:
                readable, writable, _ = select.select([c.sock], [c.sock], [], 1.0)
                if readable:
                    break  # an answer, or the connection closed
                if writable:
                    try:
                        sent += c.sock.send(piece)
                    except BlockingIOError:
                        pass
                    except (BrokenPipeError, ConnectionResetError):
                        break
        finally:
            c.sock.settimeout(HTTP_TIMEOUT)
        try:
            resp = c.response()
        except ConnectionResetError:
            resp = None
        closed = wait_closed(c.sock, 3)
        growth = (memory_status(pid, "VmHWM") - rss_before) * 1024
        return resp, sent, growth, closed

    def assert_cut_off(self, head, filler, admin=False):
        resp, sent, growth, closed = self.endless(head, filler, admin)
        self.assertIsNotNone(resp, "closed without an answer after %d bytes" % sent)
        self.assertEqual(resp.status, 431, resp)
        self.assertEqual(resp.json()["error"]["code"], "headers_too_large")
        self.assertIn("chunk extensions and trailer fields", resp.json()["error"]["message"])
        self.assertIn("%d bytes" % MAX_HEADER_BYTES, resp.json()["error"]["message"])
        self.assertTrue(connection_close(resp), resp)
        self.assertTrue(closed, "the connection stayed open")
        self.assertLess(sent, ENDLESS_BYTES // 4, "the server kept reading")
        self.assertLess(growth, MAX_RSS_GROWTH,
                        "the server's memory grew by %.1f MiB" % (growth / 2**20))
        # The server still serves.
        self.assertEqual(self.client().get().status, 200)

    def test_endless_chunk_extension_is_cut_off(self):
        self.assert_cut_off(CHUNKED_JOIN + b"5;", b"x")
        self.vwr.wait_for_log(r"public: the request's header fields, chunk extensions and "
                              r"trailer fields are larger than %d bytes from 127\.0\.0\.1; "
                              r"closing" % MAX_HEADER_BYTES)

    def test_endless_trailer_is_cut_off(self):
        self.assert_cut_off(CHUNKED_JOIN + b"2\r\n{}\r\n0\r\n", b"X-Pad: yyyyyyyyyyyyyyyy\r\n")

    def test_endless_chunk_extension_on_the_admin_listener_is_cut_off_before_the_token_check(self):
        self.assert_cut_off(CHUNKED_ADMIN + b"5;", b"x", admin=True)

    def test_endless_trailer_on_the_admin_listener_is_cut_off_before_the_token_check(self):
        self.assert_cut_off(CHUNKED_ADMIN + b"0\r\nX-Pad: ", b"y", admin=True)

    def test_trailer_counts_against_max_header_bytes(self):
        # Head and trailer each under the limit, together over it; sent at once, so that the
        # whole trailer is in one read.
        trailer = b"X-Pad: " + b"t" * (MAX_HEADER_BYTES - len(CHUNKED_JOIN) + 50) + b"\r\n"
        c = self.client()
        resp = c.get(CHUNKED_JOIN + b"2\r\n{}\r\n0\r\n" + trailer + b"\r\n")
        self.assertEqual(resp.status, 431, resp)
        self.assertIn("chunk extensions and trailer fields", resp.json()["error"]["message"])
        self.assertTrue(wait_closed(c.sock, 3))
        # A small trailer is fine, and the connection stays open.
        c = self.client()
        resp = c.get(CHUNKED_JOIN + b"2\r\n{}\r\n0\r\nX-Checksum: 1234\r\n\r\n")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(c.get().status, 200)

    def test_chunk_extensions_of_all_chunks_count_against_max_header_bytes(self):
        # Each chunk line is short; together their extensions are over the limit.
        chunk = b"1;name=" + b"e" * 200 + b"\r\n \r\n"
        body = b"2\r\n{}\r\n" + chunk * (MAX_HEADER_BYTES // 200 + 1) + b"0\r\n\r\n"
        c = self.client()
        resp = c.get(CHUNKED_JOIN + body)
        self.assertEqual(resp.status, 431, resp)
        self.assertTrue(wait_closed(c.sock, 3))
        # A few extensions are fine.
        c = self.client()
        resp = c.get(CHUNKED_JOIN + b"2;a=b\r\n{}\r\n" + chunk * 2 + b"0;last\r\n\r\n")
        self.assertEqual(resp.status, 200, resp)



# A vwr allowed only this many file descriptors (soft and hard), so that accept() runs out.
FD_LIMIT = 40


@unittest.skipUnless(os.path.isdir("/proc/self/fd"), "needs /proc")
class AcceptFailureTest(unittest.TestCase):
    """When accept() fails (here: out of file descriptors), the listener waits before trying
    again instead of spinning, and serves again once descriptors are free."""

    def setUp(self):
        # The harness starts VWR_BINARY; point it at a wrapper that lowers the limit and execs
        # the real binary (same process, so signals and /proc still reach vwr).
        self.tmp = tempfile.mkdtemp(prefix="vwr-limits-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        wrapper = os.path.join(self.tmp, "vwr-fd-limited")
        with open(wrapper, "w", encoding="utf-8") as f:
            f.write("#!/bin/sh\nulimit -n %d || exit 97\nexec '%s' \"$@\"\n"
                    % (FD_LIMIT, vwr_binary()))
        os.chmod(wrapper, stat.S_IRWXU)
        saved = os.environ.get("VWR_BINARY")
        os.environ["VWR_BINARY"] = wrapper
        try:
            self.vwr = VwrProcess(
                config_yaml(room_yaml("web"),
                            extra="server:\n  limits:\n    max_connections: 1000\n"
                                  "store:\n  snapshot_interval: 1h\n"),
                extra_args=("--workers", "1"), out_of_descriptors=True)
        finally:
            if saved is None:
                del os.environ["VWR_BINARY"]
            else:
                os.environ["VWR_BINARY"] = saved
        self.addCleanup(self.vwr.close)
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.vwr.proc.pid, encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def accept_failures_logged(self):
        return [l for l in self.vwr.log_lines if "public: accept failed" in l]

    def test_accept_failure_waits_instead_of_spinning(self):
        self.vwr.wait_for_log(r"open-file limit \(ulimit -n\) is %d" % FD_LIMIT)
        # Open connections until one is not served because accept() failed.
        stuck = None
        for _ in range(FD_LIMIT):
            c = Client(self.vwr)
            self.clients.append(c)
            c.send(INFO)
            got = wait_until(
                lambda: (select_readable(c.sock) and "answer") or
                        (self.accept_failures_logged() and "accept failed"),
                5, message="an answer or an accept failure")
            if got == "answer":
                self.assertEqual(c.response().status, 200)
                continue
            stuck = c
            break
        self.assertIsNotNone(stuck, "accept() never failed with %d descriptors" % FD_LIMIT)
        self.assertRegex(self.accept_failures_logged()[0],
                         r"accept failed: Too many open files; retrying in 50 ms")

        # While out of descriptors, the accepts go on failing, about one per 50 ms. The log has
        # at most one line a second, each counting the failures held back before it: over the
        # next two lines (a second or two) that is a few dozen; spinning would make it hundreds
        # of thousands, and burn a core.
        cpu_before = self.cpu_seconds()
        wall_before = time.monotonic()
        lines = wait_until(lambda: self.accept_failures_logged()[1:3] if
                           len(self.accept_failures_logged()) >= 3 else None,
                           5, message="two more accept-failure lines")
        cpu = self.cpu_seconds() - cpu_before
        wall = time.monotonic() - wall_before
        failures = 0
        for line in lines:
            m = re.search(r"\((\d+) similar lines suppressed\)", line)
            failures += 1 + (int(m.group(1)) if m else 0)
        self.assertGreaterEqual(failures, 3, lines)  # it does keep trying
        self.assertLessEqual(failures, 2 * 25, lines)
        self.assertLess(cpu, 0.5 * wall + 0.05, "vwr used %.2fs of CPU in %.2fs" % (cpu, wall))

        # A descriptor comes free: the waiting connection is accepted and its request answered.
        self.clients.pop(0).close()
        resp = stuck.response()
        self.assertIsNotNone(resp)
        self.assertEqual(resp.status, 200)


def select_readable(sock):
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


if __name__ == "__main__":
    unittest.main()
