"""Bad input to the public API gets a clear JSON error with the right status, and the server keeps
serving afterwards.
"""

import json
import time
import unittest

from vwr_harness import VwrProcess, config_yaml, read_raw_response, room_yaml, wait_until

# The class keeps one waiting ticket for all its tests and polls it only between them: on a
# loaded machine one test can outlast abandon_after_polls x poll.max, after which the line would
# pass the silent ticket (integration.test_abandon covers that). Abandonment is off here.
POLL = dict(poll_min="100ms", poll_max="1s", abandon_after_polls=0)
CONFIG = config_yaml(
    room_yaml("alpha", max_active=1, admit_rate=50, burst=1, **POLL),
    room_yaml("beta", max_active=1, admit_rate=50, burst=1, **POLL),
)


def forge(text):
    """The same string with one character in the middle changed (to another base64url char)."""
    i = len(text) // 2
    replacement = "B" if text[i] != "B" else "C"
    return text[:i] + replacement + text[i + 1:]


class ApiErrorsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vwr = VwrProcess(CONFIG)
        cls.addClassCleanup(cls.vwr.close)
        # alpha: one admitted user (with a token) and one waiting ticket.
        code, cls.alpha_admitted = cls.vwr.join("alpha")
        assert code == 200 and cls.alpha_admitted["status"] == "admitted", cls.alpha_admitted
        code, cls.alpha_waiting = cls.vwr.join("alpha")
        assert code == 200 and cls.alpha_waiting["status"] == "waiting", cls.alpha_waiting

    def tearDown(self):
        # Whatever the previous request did, the server still answers a valid one.
        code, body = self.vwr.status("alpha", self.alpha_waiting["ticket"])
        self.assertEqual(code, 200, body)
        self.assertEqual(body["status"], "waiting")

    def assert_error(self, status, body, http_status, code):
        self.assertEqual(status, http_status, body)
        self.assertIsInstance(body, dict, body)
        self.assertEqual(set(body), {"error"}, body)
        self.assertEqual(set(body["error"]), {"code", "message"}, body)
        self.assertEqual(body["error"]["code"], code, body)
        self.assertIsInstance(body["error"]["message"], str)
        self.assertTrue(body["error"]["message"], "the message is not empty")

    # ----- tickets -----

    def test_forged_ticket(self):
        ticket = self.alpha_waiting["ticket"]
        forged = forge(ticket)
        self.assertNotEqual(forged, ticket)
        for via in ("query", "header"):
            code, body = self.vwr.status("alpha", forged, via=via)
            self.assert_error(code, body, 401, "invalid_ticket")

    def test_every_single_character_change_is_rejected(self):
        ticket = self.alpha_waiting["ticket"]
        for i in range(len(ticket) - 1):  # the last character may carry unused padding bits
            c = ticket[i]
            forged = ticket[:i] + ("A" if c != "A" else "B") + ticket[i + 1:]
            code, body = self.vwr.status("alpha", forged)
            self.assertEqual(code, 401, "changing character %d was accepted: %r" % (i, body))

    def test_truncated_and_garbage_tickets(self):
        ticket = self.alpha_waiting["ticket"]
        for bad in (ticket[:-4], ticket + "AAAA", "x", "not a ticket at all", "%%%%", "A" * 300):
            code, body = self.vwr.status("alpha", bad)
            self.assert_error(code, body, 401, "invalid_ticket")

    def test_ticket_of_other_room(self):
        code, body = self.vwr.status("beta", self.alpha_waiting["ticket"])
        self.assert_error(code, body, 401, "invalid_ticket")
        code, body = self.vwr.status("beta", self.alpha_admitted["ticket"], via="header")
        self.assert_error(code, body, 401, "invalid_ticket")

    def test_missing_ticket(self):
        code, _, body = self.vwr.json_request("GET", "/api/v1/rooms/alpha/status")
        self.assert_error(code, body, 400, "bad_request")
        code, _, body = self.vwr.json_request("GET", "/api/v1/rooms/alpha/status?ticket=")
        self.assert_error(code, body, 400, "bad_request")
        code, _, body = self.vwr.json_request("GET", "/api/v1/rooms/alpha/status?other=1")
        self.assert_error(code, body, 400, "bad_request")

    # ----- routing -----

    def test_unknown_room(self):
        code, body = self.vwr.join("no-such-room")
        self.assert_error(code, body, 404, "room_not_found")
        code, body = self.vwr.status("no-such-room", self.alpha_waiting["ticket"])
        self.assert_error(code, body, 404, "room_not_found")
        code, body = self.vwr.room_info("no-such-room")
        self.assert_error(code, body, 404, "room_not_found")

    def test_unknown_path(self):
        for path in ("/", "/nope", "/api/v1", "/api/v1/rooms", "/api/v2/rooms/alpha/join",
                     "/api/v1/rooms/alpha/nope", "/api/v1/rooms/alpha/join/extra",
                     "/admin/api/v1/rooms"):
            code, _, body = self.vwr.json_request("GET", path)
            self.assert_error(code, body, 404, "not_found")

    def test_wrong_method(self):
        cases = [("GET", "/api/v1/rooms/alpha/join", "POST"),
                 ("PUT", "/api/v1/rooms/alpha/join", "POST"),
                 ("POST", "/api/v1/rooms/alpha/status", "GET"),
                 ("DELETE", "/api/v1/rooms/alpha", "GET"),
                 ("GET", "/api/v1/rooms/alpha/heartbeat", "POST"),
                 ("GET", "/api/v1/rooms/alpha/leave", "POST")]
        for method, path, allowed in cases:
            code, headers, body = self.vwr.json_request(method, path)
            self.assert_error(code, body, 405, "method_not_allowed")
            self.assertEqual(headers.get("Allow"), allowed, (method, path))

    # ----- join bodies -----

    def test_bad_json_body(self):
        for raw in ('{"userId": ', "not json", "{'userId': 'x'}", '{"userId": "a"} trailing'):
            code, _, body = self.vwr.json_request("POST", "/api/v1/rooms/beta/join", body=raw)
            self.assert_error(code, body, 400, "bad_request")

    def test_body_not_an_object(self):
        for raw in ("[]", '"text"', "42", "null"):
            code, _, body = self.vwr.json_request("POST", "/api/v1/rooms/beta/join", body=raw)
            self.assert_error(code, body, 400, "bad_request")

    def test_user_id_too_long(self):
        code, body = self.vwr.join("beta", user_id="u" * 257)
        self.assert_error(code, body, 400, "bad_request")
        self.assertIn("256", body["error"]["message"])
        # Multi-byte characters count in bytes: 129 two-byte characters are 258 bytes.
        code, body = self.vwr.join("beta", user_id="\u00e9" * 129)
        self.assert_error(code, body, 400, "bad_request")
        # Exactly 256 bytes is fine.
        code, body = self.vwr.join("beta", user_id="u" * 256)
        self.assertEqual(code, 200, body)
        self.assertIn(body["status"], ("admitted", "waiting"))

    def test_user_id_not_a_string(self):
        for value in (42, True, ["a"], {"a": 1}, 1.5):
            code, body = self.vwr.join("beta", body={"userId": value})
            self.assert_error(code, body, 400, "bad_request")
        # null means "no userId".
        code, body = self.vwr.join("beta", body={"userId": None})
        self.assertEqual(code, 200, body)

    def test_page_url_checked(self):
        code, body = self.vwr.join("beta", body={"pageUrl": 5})
        self.assert_error(code, body, 400, "bad_request")
        code, body = self.vwr.join("beta", body={"pageUrl": "https://x/" + "p" * 2100})
        self.assert_error(code, body, 400, "bad_request")

    def test_oversized_body(self):
        # 70 KiB of valid JSON: over the public listener's 64 KiB body limit.
        payload = json.dumps({"userId": "u", "pad": "x" * (70 * 1024)}).encode()
        with self.vwr.connect() as s:
            s.sendall(b"POST /api/v1/rooms/beta/join HTTP/1.1\r\nHost: t\r\n"
                      b"Content-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(payload))
            try:
                s.sendall(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer and close before reading the whole body
            resp = read_raw_response(s.makefile("rb"))
        self.assertIsNotNone(resp, "no answer to an oversized body")
        self.assert_error(resp.status, resp.json(), 413, "payload_too_large")

    # ----- admission tokens -----

    def test_heartbeat_and_leave_without_token(self):
        for action in ("heartbeat", "leave"):
            code, _, body = self.vwr.json_request("POST", "/api/v1/rooms/alpha/" + action)
            self.assert_error(code, body, 401, "invalid_token")
            code, _, body = self.vwr.json_request(
                "POST", "/api/v1/rooms/alpha/" + action, headers={"Authorization": "Basic abc"})
            self.assert_error(code, body, 401, "invalid_token")

    def test_garbage_token(self):
        token = self.alpha_admitted["token"]
        header, payload, sig = token.split(".")
        for bad in ("garbage", "a.b.c", forge(token), header + "." + payload + ".",
                    header + "." + forge(payload) + "." + sig):
            for action in ("heartbeat", "leave"):
                code, _, body = self.vwr.json_request(
                    "POST", "/api/v1/rooms/alpha/" + action,
                    headers={"Authorization": "Bearer " + bad})
                self.assert_error(code, body, 401, "invalid_token")
        # The real token still works: the garbage did not end the session.
        code, _, body = self.vwr.heartbeat("alpha", token)
        self.assertEqual(code, 204, body)

    def test_token_of_other_room(self):
        code, _, body = self.vwr.heartbeat("beta", self.alpha_admitted["token"])
        self.assert_error(code, body, 401, "invalid_token")
        code, _, body = self.vwr.leave("beta", self.alpha_admitted["token"])
        self.assert_error(code, body, 401, "invalid_token")
        # ... and leaving beta with it did not end the alpha session.
        code, _, body = self.vwr.heartbeat("alpha", self.alpha_admitted["token"])
        self.assertEqual(code, 204, body)

    def test_errors_are_logged_rate_limited_without_secrets(self):
        ticket = forge(self.alpha_waiting["ticket"])
        token = forge(self.alpha_admitted["token"])
        marker = "GET /api/v1/rooms/beta/status 401"
        started = time.monotonic()
        for _ in range(60):
            code, _ = self.vwr.status("beta", ticket)
            self.assertEqual(code, 401)
        code, _, _ = self.vwr.heartbeat("beta", token)
        self.assertEqual(code, 401)

        # Lines beyond 20 a second are dropped and counted; the first line written in a later
        # second says how many were dropped.
        def reported():
            self.assertEqual(self.vwr.status("beta", ticket)[0], 401)
            return "similar lines suppressed" in self.vwr.log

        wait_until(reported, timeout=4, interval=0.1, message="suppressed lines reported")
        seconds = time.monotonic() - started
        log = self.vwr.log
        lines = [l for l in log.splitlines() if marker in l]
        self.assertGreaterEqual(len(lines), 1, "error answers are logged")
        self.assertIn("invalid_ticket", lines[-1])
        self.assertLess(len(lines), 60, "the error log is not limited")
        self.assertLessEqual(len(lines), 20 * (int(seconds) + 2), "the error log is not limited")
        # Tickets and tokens are never written to the log.
        for secret in (ticket, token, self.alpha_waiting["ticket"], self.alpha_admitted["token"]):
            self.assertNotIn(secret, log)

    def test_ticket_is_not_a_token(self):
        code, _, body = self.vwr.heartbeat("alpha", self.alpha_admitted["ticket"])
        self.assert_error(code, body, 401, "invalid_token")



class LogInjectionTest(unittest.TestCase):
    def test_what_a_client_sends_cannot_forge_a_log_line(self):
        # The request parser takes bytes over 0x7F in a path: a right-to-left override and a C1
        # control (which some terminals take as an escape sequence) reach the error log, which
        # must show them escaped. (Line breaks and C0 controls never get past the parser.)
        # A server of its own: the shared one's error log may be at its rate limit.
        vwr = VwrProcess(CONFIG)
        self.addCleanup(vwr.close)
        sock = vwr.connect()
        self.addCleanup(sock.close)
        sock.sendall(b"GET /api/v1/rooms/\xe2\x80\xaeevil\xc2\x9b31m/status HTTP/1.1\r\n"
                     b"Host: x\r\n\r\n")
        self.assertEqual(read_raw_response(sock.makefile("rb")).status, 404)
        vwr.wait_for_log(r"evil")
        lines = [l for l in vwr.log_lines if "evil" in l]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("/api/v1/rooms/\\u{202E}evil\\u{009B}31m/status 404", lines[0])
        self.assertNotIn("\u202e", lines[0])
        self.assertNotIn("\u009b", lines[0])


if __name__ == "__main__":
    unittest.main()
