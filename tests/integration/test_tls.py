"""HTTPS on the public listener (server.tls): a real join and status flow over TLS on one kept-alive
connection, plain HTTP and silent clients on the TLS port, a clean close_notify, a graceful stop
with TLS connections open, and the start-up errors of a certificate and key that do not fit.

The certificates are made at run time with the openssl command line tool (scripts/install-deps
installs it), self-signed for localhost and 127.0.0.1, valid for a day; the client trusts exactly
that certificate and checks the host name, as a browser would.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from vwr_harness import (HTTP_TIMEOUT, VwrProcess, address_of, config_yaml, room_yaml, run_vwr,
                         wait_closed, wait_until, with_test_store)

HEADER_TIMEOUT = 1.0
# How late a deadline may be noticed: the server's timer, a loaded machine.
LATE = 1.5
EARLY = 0.1

INFO = b"GET /api/v1/rooms/web HTTP/1.1\r\nHost: localhost\r\n\r\n"


def make_certificate(directory, name):
    """A self-signed EC certificate and its key for localhost / 127.0.0.1: (cert_path, key_path)."""
    if shutil.which("openssl") is None:
        raise RuntimeError("the openssl command line tool is missing (run scripts/install-deps)")
    cert = os.path.join(directory, name + ".crt")
    key = os.path.join(directory, name + ".key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", key, "-out", cert],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True,
        timeout=30)
    return cert, key


def tls_config(cert, key, limits=""):
    return config_yaml(
        room_yaml("web", max_active=1000, admit_rate=1000, burst=1000),
        room_yaml("one", max_active=1, admit_rate=1000, burst=1000, poll_min="100ms",
                  poll_max="1s"),
        extra="server:\n  tls:\n    cert_file: %s\n    key_file: %s\n%s"
              % (json.dumps(cert), json.dumps(key), limits))


def client_context(cert):
    """What a browser does, with `cert` as the only trusted authority."""
    context = ssl.create_default_context(cafile=cert)
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    return context


def read_until_closed(sock, timeout):
    """Everything `sock` receives until the peer closes it: (data, closed)."""
    deadline = time.monotonic() + timeout
    data = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return data, False
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return data, False
        except (ConnectionResetError, BrokenPipeError):
            return data, True
        if not chunk:
            return data, True
        data += chunk


class TlsListenerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vwr-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.cert, cls.key = make_certificate(cls.tmp, "localhost")
        cls.vwr = VwrProcess(tls_config(cls.cert, cls.key,
                                        "  limits:\n    header_timeout: %gs\n" % HEADER_TIMEOUT))
        cls.addClassCleanup(cls.vwr.close)
        cls.context = client_context(cls.cert)

    def setUp(self):
        self.closables = []

    def tearDown(self):
        # The listener still serves after whatever the test did.
        status, _ = self.exchange(self.https(), "GET", "/api/v1/rooms/web")
        for c in self.closables:
            c.close()
        self.assertEqual(status, 200)

    def https(self, host="127.0.0.1"):
        _, port = address_of(self.vwr.public)
        conn = http.client.HTTPSConnection(host, port, timeout=HTTP_TIMEOUT,
                                           context=self.context)
        self.closables.append(conn)
        return conn

    def exchange(self, conn, method, path, body=None, headers=None):
        hdrs = dict(headers or {})
        if body is not None:
            body = json.dumps(body)
            hdrs["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, json.loads(data) if data.strip() else None

    def tcp(self):
        sock = socket.create_connection(address_of(self.vwr.public), HTTP_TIMEOUT)
        self.closables.append(sock)
        return sock

    # ----- serving over TLS -----

    def test_public_listener_announces_https_and_admin_stays_plain(self):
        self.assertTrue(self.vwr.public.startswith("https://127.0.0.1:"), self.vwr.public)
        self.assertTrue(self.vwr.admin.startswith("http://127.0.0.1:"), self.vwr.admin)
        self.assertTrue(any(k.startswith("vwr_room_max_active") for k in self.vwr.metrics()))

    def test_join_and_status_flow_on_one_kept_alive_connection(self):
        conn = self.https()
        status, first = self.exchange(conn, "POST", "/api/v1/rooms/one/join", body={})
        self.assertEqual(status, 200, first)
        self.assertEqual(first["status"], "admitted")
        sock = conn.sock
        self.assertIsNotNone(sock, "the connection was closed after the first answer")
        self.assertIn(sock.version(), ("TLSv1.2", "TLSv1.3"))

        status, second = self.exchange(conn, "POST", "/api/v1/rooms/one/join", body={})
        self.assertEqual(status, 200, second)
        self.assertEqual(second["status"], "waiting")
        self.assertEqual(second["position"], 1)
        self.assertIs(conn.sock, sock, "the second request opened a new connection")

        status, polled = self.exchange(conn, "GET",
                                       "/api/v1/rooms/one/status?ticket=" + second["ticket"])
        self.assertEqual(status, 200, polled)
        self.assertEqual(polled["status"], "waiting")

        status, _ = self.exchange(conn, "POST", "/api/v1/rooms/one/leave",
                                  headers={"Authorization": "Bearer " + first["token"]})
        self.assertEqual(status, 204)

        def admitted():
            code, value = self.exchange(conn, "GET", "/api/v1/rooms/one/status",
                                        headers={"X-VWR-Ticket": second["ticket"]})
            self.assertEqual(code, 200, value)
            return value if value["status"] == "admitted" else None

        self.assertIn("token", wait_until(admitted, 5, message="the waiting ticket is admitted"))
        self.assertIs(conn.sock, sock, "a later request opened a new connection")

    def test_host_name_is_checked_against_the_certificate(self):
        # The certificate names localhost and 127.0.0.1; both pass the client's check.
        status, _ = self.exchange(self.https("localhost"), "GET", "/api/v1/rooms/web")
        self.assertEqual(status, 200)

    def test_connection_close_ends_with_close_notify(self):
        raw = self.tcp()
        tls = self.context.wrap_socket(raw, server_hostname="127.0.0.1",
                                       suppress_ragged_eofs=False)
        self.closables.append(tls)
        tls.sendall(b"GET /api/v1/rooms/web HTTP/1.1\r\nHost: localhost\r\n"
                    b"Connection: close\r\n\r\n")
        # With ragged EOFs not suppressed, a close without close_notify raises SSLEOFError.
        data, closed = read_until_closed(tls, HTTP_TIMEOUT)
        self.assertTrue(closed)
        self.assertTrue(data.startswith(b"HTTP/1.1 200 OK\r\n"), data[:100])
        self.assertIn(b"\r\nConnection: close\r\n", data)

    # ----- clients that do not speak TLS -----

    def test_plain_http_to_the_tls_port_gets_no_http_answer(self):
        sock = self.tcp()
        sock.sendall(INFO)
        data, closed = read_until_closed(sock, HTTP_TIMEOUT)
        self.assertTrue(closed, "the connection stayed open")
        self.assertFalse(data.startswith(b"HTTP/"), data[:100])
        self.vwr.wait_for_log(r"public: TLS handshake with 127\.0\.0\.1 failed: .*; closing")

    def test_a_client_that_never_handshakes_is_cut_at_header_timeout(self):
        start = time.monotonic()
        sock = self.tcp()
        self.assertTrue(wait_closed(sock, HEADER_TIMEOUT + LATE),
                        "a silent connection outlived header_timeout")
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, HEADER_TIMEOUT - EARLY)
        self.vwr.wait_for_log(r"public: 127\.0\.0\.1 did not complete the TLS handshake "
                              r"within 1000 ms; closing")

    def test_a_handshake_without_a_request_is_cut_at_header_timeout_from_the_accept(self):
        start = time.monotonic()
        tls = self.context.wrap_socket(self.tcp(), server_hostname="127.0.0.1")
        self.closables.append(tls)
        self.assertTrue(wait_closed(tls, HEADER_TIMEOUT + LATE),
                        "a connection without a request outlived header_timeout")
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, HEADER_TIMEOUT - EARLY)

    def test_garbage_in_place_of_a_handshake_is_refused(self):
        sock = self.tcp()
        sock.sendall(b"\x16\x03\x01\x00\x05hello" + os.urandom(64))
        _, closed = read_until_closed(sock, HTTP_TIMEOUT)
        self.assertTrue(closed)


class TlsStopTest(unittest.TestCase):
    def test_stop_closes_idle_and_handshaking_tls_connections_at_once(self):
        tmp = tempfile.mkdtemp(prefix="vwr-tls-")
        self.addCleanup(shutil.rmtree, tmp, True)
        cert, key = make_certificate(tmp, "localhost")
        # Long timeouts: only the drain can close these connections before the stop deadline.
        vwr = VwrProcess(tls_config(cert, key, "  limits:\n    header_timeout: 60s\n"))
        self.addCleanup(vwr.close)
        address = address_of(vwr.public)

        kept = client_context(cert).wrap_socket(socket.create_connection(address, HTTP_TIMEOUT),
                                                server_hostname="127.0.0.1")
        self.addCleanup(kept.close)
        kept.sendall(INFO)
        first = kept.recv(65536)
        self.assertTrue(first.startswith(b"HTTP/1.1 200 OK"), first[:100])
        silent = socket.create_connection(address, HTTP_TIMEOUT)  # never handshakes
        self.addCleanup(silent.close)

        start = time.monotonic()
        self.assertEqual(vwr.stop(signal.SIGTERM), 0, vwr.log)
        self.assertLess(time.monotonic() - start, 4.0, "the stop waited for the deadline")
        self.assertIn("vwr stopped", vwr.log)
        self.assertNotIn("cut at the deadline", vwr.log)
        self.assertTrue(wait_closed(kept, 1.0))
        self.assertTrue(wait_closed(silent, 1.0))


class TlsConnectionLimitTest(unittest.TestCase):
    def test_a_connection_over_the_limit_is_closed_without_a_plain_answer(self):
        tmp = tempfile.mkdtemp(prefix="vwr-tls-")
        self.addCleanup(shutil.rmtree, tmp, True)
        cert, key = make_certificate(tmp, "localhost")
        vwr = VwrProcess(tls_config(cert, key, "  limits:\n    max_connections_per_ip: 1\n"))
        self.addCleanup(vwr.close)
        address = address_of(vwr.public)
        context = client_context(cert)
        first = context.wrap_socket(socket.create_connection(address, HTTP_TIMEOUT),
                                    server_hostname="127.0.0.1")
        self.addCleanup(first.close)
        first.sendall(INFO)
        self.assertTrue(first.recv(65536).startswith(b"HTTP/1.1 200 OK"))

        second = socket.create_connection(address, HTTP_TIMEOUT)
        self.addCleanup(second.close)
        data, closed = read_until_closed(second, HTTP_TIMEOUT)
        self.assertTrue(closed)
        self.assertEqual(data, b"", "a TLS client was sent a plain answer")
        vwr.wait_for_log(r"public: refused a connection from 127\.0\.0\.1")


class TlsStartupErrorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vwr-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.cert, cls.key = make_certificate(cls.tmp, "localhost")
        cls.other_cert, cls.other_key = make_certificate(cls.tmp, "other")

    def write_config(self, text):
        path = os.path.join(self.tmp, "vwr-%s.yaml" % self.id().rsplit(".", 1)[-1])
        with open(path, "w", encoding="utf-8") as f:
            f.write(with_test_store(text, path))  # a start that fails with the store open
        return path

    def serve(self, config_path):
        data_dir = tempfile.mkdtemp(prefix="data-", dir=self.tmp)
        return run_vwr(["serve", "--config", config_path, "--listen", "127.0.0.1:0",
                        "--admin-listen", "127.0.0.1:0", "--data-dir", data_dir], timeout=20)

    def test_a_key_that_does_not_match_the_certificate_stops_the_start(self):
        path = self.write_config(tls_config(self.cert, self.other_key))
        result = self.serve(path)
        self.assertNotEqual(result.returncode, 0, result.stderr)
        self.assertIn("public listener: server.tls: the private key in %s does not belong to "
                      "the certificate in %s" % (self.other_key, self.cert), result.stderr)
        self.assertNotIn("vwr started", result.stderr)
        # config check finds it too.
        check = run_vwr(["config", "check", path])
        self.assertEqual(check.returncode, 1, check.stdout)
        self.assertIn(self.other_key, check.stderr)

    def test_an_unreadable_certificate_stops_the_start_naming_the_file(self):
        missing = os.path.join(self.tmp, "missing.crt")
        result = self.serve(self.write_config(tls_config(missing, self.key)))
        self.assertNotEqual(result.returncode, 0, result.stderr)
        self.assertIn("cannot read the certificate file %s" % missing, result.stderr)

    def test_an_invalid_key_stops_the_start_naming_the_file(self):
        result = self.serve(self.write_config(tls_config(self.cert, self.other_cert)))
        self.assertNotEqual(result.returncode, 0, result.stderr)
        self.assertIn("the private key file %s holds no PEM private key" % self.other_cert,
                      result.stderr)

    def test_a_certificate_without_its_key_is_a_config_error_with_key_and_line(self):
        path = self.write_config("server:\n  workers: 1\n  tls:\n    cert_file: %s\n"
                                 % json.dumps(self.cert))
        check = run_vwr(["config", "check", path])
        self.assertEqual(check.returncode, 1)
        self.assertIn("line 4, column 5: server.tls.key_file: missing", check.stderr)
        result = self.serve(path)
        self.assertEqual(result.returncode, 1)
        self.assertIn("server.tls.key_file: missing", result.stderr)

    def test_config_check_accepts_a_matching_pair(self):
        check = run_vwr(["config", "check", self.write_config(tls_config(self.cert, self.key))])
        self.assertEqual(check.returncode, 0, check.stderr)
        self.assertIn("OK (2 rooms)", check.stdout)


if __name__ == "__main__":
    unittest.main()
