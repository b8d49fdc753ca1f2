"""HTTP/1.1 behaviour of the listeners, over raw sockets: keep-alive, HTTP/1.0, pipelining,
malformed requests, header limits, and slow or silent clients.
"""

import http.client
import socket
import unittest

from vwr_harness import (VwrProcess, address_of, config_yaml, read_raw_response, room_yaml,
                         wait_closed, wait_server_read)

CONFIG = config_yaml(
    room_yaml("web", max_active=1000, admit_rate=1000, burst=1000, poll_min="100ms",
              poll_max="1s"),
)

INFO = b"GET /api/v1/rooms/web HTTP/1.1\r\nHost: t\r\n\r\n"
# A request hidden in another's body: answered only if the server misreads where that body ends.
HIDDEN = b"GET /api/v1/rooms/web HTTP/1.1\r\nHost: t\r\n\r\n"


class HttpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vwr = VwrProcess(CONFIG)
        cls.addClassCleanup(cls.vwr.close)

    def setUp(self):
        self.sockets = []

    def tearDown(self):
        for s in self.sockets:
            s.close()
        # The server still serves after whatever the test did.
        code, info = self.vwr.room_info("web")
        self.assertEqual(code, 200, info)

    def connect(self, admin=False):
        s = self.vwr.connect(admin=admin)
        self.sockets.append(s)
        return s

    # ----- connection reuse -----

    def test_keep_alive(self):
        s = self.connect()
        reader = s.makefile("rb")
        for i in range(5):
            s.sendall(INFO)
            resp = read_raw_response(reader)
            self.assertIsNotNone(resp, "connection closed after %d requests" % i)
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.version, "HTTP/1.1")
            self.assertEqual(resp.json()["room"], "web")
            self.assertNotEqual(resp.headers.get("connection", "").lower(), "close")
        # A join with a body on the same connection too.
        s.sendall(b"POST /api/v1/rooms/web/join HTTP/1.1\r\nHost: t\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 17\r\n\r\n"
                  b'{"userId":"ka-1"}')
        resp = read_raw_response(reader)
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.json()["status"], "admitted")

    def test_keep_alive_with_http_client(self):
        host, port = address_of(self.vwr.public)
        conn = http.client.HTTPConnection(host, port, timeout=5)
        try:
            socks = set()
            for _ in range(3):
                conn.request("GET", "/api/v1/rooms/web")
                resp = conn.getresponse()
                resp.read()
                self.assertEqual(resp.status, 200)
                socks.add(id(conn.sock))
            self.assertEqual(len(socks), 1, "the connection was reopened")
        finally:
            conn.close()

    def test_connection_close_is_honoured(self):
        s = self.connect()
        s.sendall(b"GET /api/v1/rooms/web HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        resp = read_raw_response(s.makefile("rb"))
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.headers.get("connection", "").lower(), "close")
        self.assertTrue(wait_closed(s, 3))

    def test_http_1_0(self):
        s = self.connect()
        s.sendall(b"GET /api/v1/rooms/web HTTP/1.0\r\n\r\n")
        reader = s.makefile("rb")
        resp = read_raw_response(reader)
        self.assertIsNotNone(resp)
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.version, "HTTP/1.0")
        self.assertEqual(resp.json()["room"], "web")
        self.assertEqual(reader.read(), b"", "the connection closes after an HTTP/1.0 answer")

    def test_http_1_0_keep_alive(self):
        s = self.connect()
        reader = s.makefile("rb")
        for _ in range(2):
            s.sendall(b"GET /api/v1/rooms/web HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            resp = read_raw_response(reader)
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.headers.get("connection", "").lower(), "keep-alive")

    def test_pipelined_requests(self):
        s = self.connect()
        s.sendall(b"GET /api/v1/rooms/web HTTP/1.1\r\nHost: t\r\n\r\n"
                  b"GET /api/v1/rooms/nope HTTP/1.1\r\nHost: t\r\n\r\n"
                  b"POST /api/v1/rooms/web/join HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
        reader = s.makefile("rb")
        first = read_raw_response(reader)
        second = read_raw_response(reader)
        third = read_raw_response(reader)
        self.assertEqual((first.status, second.status, third.status), (200, 404, 200))
        self.assertEqual(first.json()["room"], "web")
        self.assertEqual(second.json()["error"]["code"], "room_not_found")
        self.assertIn(third.json()["status"], ("admitted", "waiting"))

    def test_head_has_no_body(self):
        # RFC 9110 9.3.2: a HEAD response carries no content. If it did, a keep-alive client would
        # read those bytes as the start of the next response.
        for admin, path in ((False, b"/api/v1/rooms/web"), (True, b"/healthz"),
                            (True, b"/readyz"), (True, b"/metrics")):
            s = self.connect(admin=admin)
            s.sendall(b"HEAD " + path + b" HTTP/1.1\r\nHost: t\r\n\r\n")
            reader = s.makefile("rb")
            head = read_raw_response(reader, head=True)
            self.assertEqual(head.status, 200, path)
            s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: t\r\n\r\n")
            try:
                get = read_raw_response(reader)
            except ValueError as e:
                self.fail("HEAD %s sent a body, which broke the next response: %s" % (path, e))
            self.assertEqual(get.status, 200, path)

    def test_chunked_request_body(self):
        s = self.connect()
        body = b'{"userId":"chunky"}'
        s.sendall(b"POST /api/v1/rooms/web/join HTTP/1.1\r\nHost: t\r\n"
                  b"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n" +
                  b"%x\r\n%s\r\n" % (5, body[:5]) +
                  b"%x\r\n%s\r\n" % (len(body) - 5, body[5:]) + b"0\r\n\r\n")
        resp = read_raw_response(s.makefile("rb"))
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json()["status"], "admitted")

    # ----- bad requests -----

    def test_malformed_request_line(self):
        for raw in (b"THIS IS NOT HTTP\r\n\r\n", b"GET\r\n\r\n",
                    b"GET /api/v1/rooms/web HTTP/9.Z\r\n\r\n", b"\x16\x03\x01\x02\x00\x01\r\n\r\n"):
            s = self.connect()
            s.sendall(raw)
            resp = read_raw_response(s.makefile("rb"))
            self.assertIsNotNone(resp, raw)
            self.assertEqual(resp.status, 400, (raw, resp))
            self.assertEqual(resp.json()["error"]["code"], "bad_request")
            self.assertEqual(resp.headers.get("connection", "").lower(), "close")
            self.assertTrue(wait_closed(s, 3), "connection left open after %r" % raw)

    def test_malformed_header(self):
        s = self.connect()
        s.sendall(b"GET /api/v1/rooms/web HTTP/1.1\r\nHost: t\r\nNo colon here\r\n\r\n")
        resp = read_raw_response(s.makefile("rb"))
        self.assertEqual(resp.status, 400)
        self.assertTrue(wait_closed(s, 3))

    def test_headers_too_large(self):
        s = self.connect()
        s.sendall(b"GET /api/v1/rooms/web HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 9000 +
                  b"\r\n\r\n")
        resp = read_raw_response(s.makefile("rb"))
        self.assertIsNotNone(resp)
        self.assertEqual(resp.status, 431, resp)
        self.assertEqual(resp.json()["error"]["code"], "headers_too_large")
        self.assertTrue(wait_closed(s, 3))

    def test_headers_just_under_the_limit(self):
        s = self.connect()
        s.sendall(b"GET /api/v1/rooms/web HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 7000 +
                  b"\r\n\r\n")
        resp = read_raw_response(s.makefile("rb"))
        self.assertEqual(resp.status, 200)

    def test_many_small_headers_too_large(self):
        headers = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 50) for i in range(200))
        s = self.connect()
        s.sendall(b"GET /api/v1/rooms/web HTTP/1.1\r\nHost: t\r\n" + headers + b"\r\n")
        resp = read_raw_response(s.makefile("rb"))
        self.assertEqual(resp.status, 431)

    def test_admin_listener_has_the_same_limits(self):
        s = self.connect(admin=True)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
        resp = read_raw_response(s.makefile("rb"))
        self.assertEqual(resp.status, 431)
        s = self.connect(admin=True)
        s.sendall(b"BROKEN\r\n\r\n")
        resp = read_raw_response(s.makefile("rb"))
        self.assertEqual(resp.status, 400)

    # ----- request framing: one reading only (RFC 9112 6.1, 6.3) -----

    def assert_not_smuggled(self, framing, body, version=b"HTTP/1.1", admin=False):
        """A join whose framing two parsers could read two ways, with a second request hidden
        where the first one's body might end: answered 400 and closed, the hidden one never."""
        s = self.connect(admin=admin)
        s.sendall(b"POST /api/v1/rooms/web/join " + version + b"\r\nHost: t\r\n"
                  b"Content-Type: application/json\r\n" + framing + b"\r\n" + body)
        reader = s.makefile("rb")
        resp = read_raw_response(reader)
        self.assertIsNotNone(resp, framing)
        self.assertEqual(resp.status, 400, (framing, resp))
        self.assertEqual(resp.json()["error"]["code"], "bad_request")
        self.assertRegex(resp.json()["error"]["message"],
                         r"^malformed HTTP request: .*(Transfer-Encoding|Content-Length)")
        # HTTP/1.1 says it closes; HTTP/1.0 closes unless it says keep-alive.
        self.assertEqual(resp.headers.get("connection", "").lower(),
                         "close" if version == b"HTTP/1.1" else "", framing)
        try:
            hidden = read_raw_response(reader)
        except ConnectionResetError:
            hidden = None
        self.assertIsNone(hidden, "the hidden request was answered after %r" % framing)
        self.assertTrue(wait_closed(s, 3), "connection left open after %r" % framing)

    def test_transfer_encoding_not_ending_in_chunked_is_refused(self):
        # Read as a request without a body, these would have their body taken for the next
        # request: the hidden GET would be answered.
        for coding in (b"xchunked", b"chunked, identity", b"gzip", b"identity", b"chunked;q=1",
                       b""):
            self.assert_not_smuggled(b"Transfer-Encoding: " + coding + b"\r\n", HIDDEN)

    def test_transfer_coding_before_chunked_is_refused(self):
        # Framed well, but the server decodes no gzip: the body is not what it would read.
        self.assert_not_smuggled(b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n" + HIDDEN)

    def test_transfer_encoding_with_content_length_is_refused(self):
        # Transfer-Encoding overrides Content-Length (RFC 9112 6.3); a proxy in front may go by
        # either, so neither is trusted.
        for framing in (b"Transfer-Encoding: gzip\r\nContent-Length: 0\r\n",
                        b"Content-Length: 0\r\nTransfer-Encoding: gzip\r\n",
                        b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"):
            self.assert_not_smuggled(framing, b"0\r\n\r\n" + HIDDEN)

    def test_two_transfer_encoding_fields_are_refused(self):
        for framing in (b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
                        b"Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n",
                        b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                        b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n"):
            self.assert_not_smuggled(framing, b"0\r\n\r\n" + HIDDEN)

    def test_transfer_encoding_in_http_1_0_is_refused(self):
        self.assert_not_smuggled(b"Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n",
                                 b"0\r\n\r\n" + HIDDEN, version=b"HTTP/1.0")

    def test_admin_listener_refuses_ambiguous_framing_too(self):
        self.assert_not_smuggled(b"Transfer-Encoding: xchunked\r\n", HIDDEN, admin=True)

    def test_chunked_in_any_case_and_spacing_is_read(self):
        for coding in (b"chunked", b"Chunked", b"CHUNKED", b"  chunked\t"):
            s = self.connect()
            s.sendall(b"POST /api/v1/rooms/web/join HTTP/1.1\r\nHost: t\r\n"
                      b"Transfer-Encoding:" + coding + b"\r\nContent-Type: application/json\r\n"
                      b"\r\n2\r\n{}\r\n0\r\n\r\n" + INFO)
            reader = s.makefile("rb")
            resp = read_raw_response(reader)
            self.assertEqual(resp.status, 200, (coding, resp))
            self.assertEqual(read_raw_response(reader).status, 200, coding)

    def test_pipelined_chunked_request_with_a_trailer(self):
        # The chunked body, its trailer and the next two requests arrive in one read.
        s = self.connect()
        s.sendall(b"POST /api/v1/rooms/web/join HTTP/1.1\r\nHost: t\r\n"
                  b"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
                  b"9;ext=1\r\n{\"userId\"\r\n8\r\n:\"pipe\"}\r\n0\r\nX-Checksum: 42\r\n\r\n"
                  + INFO + b"GET /api/v1/rooms/nope HTTP/1.1\r\nHost: t\r\n\r\n")
        reader = s.makefile("rb")
        answers = [read_raw_response(reader) for _ in range(3)]
        self.assertEqual([a.status for a in answers], [200, 200, 404], answers)
        self.assertIn(answers[0].json()["status"], ("admitted", "waiting"))

    def test_trailer_fields_are_not_taken_as_header_fields(self):
        # A proxy in front checks and sets header fields; trailer fields may pass it unseen. The
        # admin token in a trailer does not authenticate.
        token = self.vwr.admin_token.encode()
        s = self.connect(admin=True)
        s.sendall(b"GET /admin/api/v1/rooms HTTP/1.1\r\nHost: t\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n"
                  b"0\r\nAuthorization: Bearer " + token + b"\r\n\r\n")
        reader = s.makefile("rb")
        resp = read_raw_response(reader)
        self.assertEqual(resp.status, 401, resp)
        # In the header, the same token does.
        s.sendall(b"GET /admin/api/v1/rooms HTTP/1.1\r\nHost: t\r\n"
                  b"Authorization: Bearer " + token + b"\r\n\r\n")
        self.assertEqual(read_raw_response(reader).status, 200)

    # ----- slow and silent clients -----

    def test_silent_client_does_not_block_others(self):
        silent = [self.connect() for _ in range(8)]  # more than there are workers
        half = self.connect()
        half.sendall(b"GET /api/v1/rooms/web HTTP/1.1\r\nHost: t\r\n")  # never finished
        wait_server_read(half)
        for _ in range(5):
            code, info = self.vwr.room_info("web")
            self.assertEqual(code, 200)
        s = self.connect()
        s.sendall(INFO)
        self.assertEqual(read_raw_response(s.makefile("rb")).status, 200)
        # The silent ones are still open (idle timeout is 10 s), and can still be served.
        silent[0].sendall(INFO)
        self.assertEqual(read_raw_response(silent[0].makefile("rb")).status, 200)
        half.sendall(b"\r\n")
        self.assertEqual(read_raw_response(half.makefile("rb")).status, 200)

    def test_request_sent_byte_by_byte(self):
        s = self.connect()
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for b in INFO:
            s.send(bytes([b]))
        resp = read_raw_response(s.makefile("rb"))
        self.assertEqual(resp.status, 200)

    def test_client_closing_mid_request(self):
        for partial in (b"GET /api/v1/rooms/web HT", b"POST /api/v1/rooms/web/join HTTP/1.1\r\n"
                        b"Host: t\r\nContent-Length: 100\r\n\r\n{\"userId\""):
            s = socket.create_connection(address_of(self.vwr.public), 5)
            s.sendall(partial)
            s.close()
        code, _ = self.vwr.room_info("web")
        self.assertEqual(code, 200)


if __name__ == "__main__":
    unittest.main()
