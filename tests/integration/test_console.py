"""The operator console's access control, driven over HTTP against the real binary: sign-in and
sign-out with a session cookie, named operators and their roles, the audit log, and the attacks
on them (sign-in brute force, session fixation, CSRF, role escalation, audit tampering, spreadsheet
formulas in the CSV export). The pages themselves are driven by tests/browser/console.test.mjs.
"""

import csv
import io
import json
import os
import unittest

from vwr_harness import VwrProcess, config_yaml, request, room_yaml, wait_until

ALICE = "alice-operator-token-0123456789"  # role operator
VERA = "vera-viewer-token-0123456789abc"  # role viewer
CONFIG = config_yaml(
    room_yaml("shop", max_active=5, admit_rate=50, burst=5, poll_min="100ms", poll_max="1s"),
    room_yaml("crowd", max_active=2, admit_rate=50, burst=5, poll_min="100ms", poll_max="1s"),
    extra=("operators:\n"
           "  - {name: alice, role: operator, token_env: VWR_ALICE_TOKEN}\n"
           "  - {name: vera, role: viewer, token_env: VWR_VERA_TOKEN}\n"
           "console:\n  signin_attempts: 3\n  signin_window: 1h\n"),
)
ENV = {"VWR_ALICE_TOKEN": ALICE, "VWR_VERA_TOKEN": VERA}


def cookie_of(headers):
    """(name, value, attributes) of the Set-Cookie header."""
    raw = headers.get("Set-Cookie") or headers.get("set-cookie")
    first, *attrs = [p.strip() for p in raw.split(";")]
    name, _, value = first.partition("=")
    return name, value, [a.lower() for a in attrs]


class Console:
    """A browser-like client of one listener: the cookie and CSRF token of a session."""

    def __init__(self, vwr):
        self.vwr = vwr
        self.cookie = None
        self.csrf = None

    def call(self, method, path, body=None, headers=None, csrf=True):
        hdrs = {"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin",
                "Origin": self.vwr.admin}
        if self.cookie:
            hdrs["Cookie"] = self.cookie
        if csrf and self.csrf:
            hdrs["X-CSRF-Token"] = self.csrf
        hdrs.update(headers or {})
        data = json.dumps(body).encode() if body is not None else None
        code, head, raw = request(method, self.vwr.admin + path, body=data, headers=hdrs)
        try:
            answer = json.loads(raw) if raw else None
        except ValueError:
            answer = raw
        return code, head, answer

    def sign_in(self, token, headers=None):
        code, head, answer = self.call("POST", "/admin/api/v1/session", {"token": token},
                                       headers=headers)
        if code == 200:
            name, value, _ = cookie_of(head)
            self.cookie = "%s=%s" % (name, value)
            self.csrf = answer["csrf_token"]
        return code, head, answer


class ConsoleAccessTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vwr = VwrProcess(CONFIG, env=ENV)
        cls.addClassCleanup(cls.vwr.close)

    def audit(self, **query):
        q = "&".join("%s=%s" % kv for kv in query.items())
        code, _, body = self.vwr.admin_request("GET", "/admin/api/v1/audit?" + q)
        self.assertEqual(code, 200, body)
        return body["entries"]

    # ----- the page -----

    def test_the_console_is_served_on_the_admin_listener_only(self):
        code, head, body = request("GET", self.vwr.admin + "/console/")
        self.assertEqual(code, 200)
        self.assertIn(b"<html", body)
        csp = head["Content-Security-Policy"]
        self.assertIn("script-src 'self'", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertEqual(head["X-Frame-Options"], "DENY")
        for path in ("/console/", "/console/console.js", "/admin/api/v1/session"):
            code, _, _ = request("GET", self.vwr.public + path)
            self.assertEqual(code, 404, path)

    # ----- sign-in -----

    def test_sign_in_gives_a_strict_http_only_cookie_and_sign_out_ends_it(self):
        c = Console(self.vwr)
        code, head, answer = c.sign_in(ALICE)
        self.assertEqual(code, 200, answer)
        self.assertEqual((answer["operator"], answer["role"]), ("alice", "operator"))
        name, value, attrs = cookie_of(head)
        self.assertEqual(name, "vwr_console")
        self.assertGreaterEqual(len(value), 40)
        self.assertIn("httponly", attrs)
        self.assertIn("samesite=strict", attrs)
        self.assertTrue(any(a.startswith("max-age=") for a in attrs), attrs)
        code, _, who = c.call("GET", "/admin/api/v1/session")
        self.assertEqual((code, who["operator"], who["via"]), (200, "alice", "session"))
        code, _, _ = c.call("DELETE", "/admin/api/v1/session")
        self.assertEqual(code, 204)
        code, _, answer = c.call("GET", "/admin/api/v1/rooms")
        self.assertEqual(code, 401, answer)

    def test_sign_in_brute_force_is_throttled_per_address_even_for_the_right_token(self):
        # A fresh server: the other tests' failures do not count here.
        with VwrProcess(CONFIG, env=ENV) as vwr:
            c = Console(vwr)
            for i in range(3):
                code, _, answer = c.sign_in("wrong-token-%02d-xxxxxxxxxxxx" % i)
                self.assertEqual(code, 401, answer)
            code, head, answer = c.sign_in("wrong-token-03-xxxxxxxxxxxx")
            self.assertEqual(code, 429, answer)
            self.assertEqual(answer["error"]["code"], "too_many_attempts")
            self.assertGreater(int(head["Retry-After"]), 0)
            code, _, _ = c.sign_in(ALICE)
            self.assertEqual(code, 429, "a guesser who finally guesses right is still held")
            # A bearer token is not a sign-in: the API keeps working for scripts.
            code, _, _ = vwr.admin_request("GET", "/admin/api/v1/rooms", token=ALICE)
            self.assertEqual(code, 200)

    def test_a_session_id_chosen_by_an_attacker_is_never_adopted(self):
        planted = "vwr_console=" + "A" * 43
        c = Console(self.vwr)
        c.cookie = planted
        code, _, answer = c.call("GET", "/admin/api/v1/rooms")
        self.assertEqual(code, 401, answer)
        code, head, answer = c.sign_in(ALICE, headers={"Cookie": planted})
        self.assertEqual(code, 200, answer)
        _, value, _ = cookie_of(head)
        self.assertNotEqual(value, "A" * 43, "sign-in must issue a fresh session id")
        attacker = Console(self.vwr)
        attacker.cookie, attacker.csrf = planted, answer["csrf_token"]
        code, _, _ = attacker.call("PUT", "/admin/api/v1/rooms/shop/policy", {"max_active": 9})
        self.assertEqual(code, 401)

    # ----- CSRF -----

    def test_a_change_from_another_origin_or_without_the_csrf_token_is_refused(self):
        c = Console(self.vwr)
        self.assertEqual(c.sign_in(ALICE)[0], 200)
        before = self.vwr.policy("shop")[2]["max_active"]
        attempts = [
            ({}, False),  # no X-CSRF-Token: what a cross-site form or fetch can send
            ({"X-CSRF-Token": "0" * 43}, False),
            ({"Origin": "https://evil.example"}, True),
            ({"Sec-Fetch-Site": "cross-site"}, True),
            ({"Sec-Fetch-Site": "same-site"}, True),
        ]
        for headers, with_token in attempts:
            code, _, answer = c.call("PUT", "/admin/api/v1/rooms/shop/policy",
                                     {"max_active": before + 1}, headers=headers, csrf=with_token)
            self.assertEqual(code, 403, (headers, answer))
            self.assertEqual(answer["error"]["code"], "csrf_refused")
        self.assertEqual(self.vwr.policy("shop")[2]["max_active"], before)
        # The same change from the console's own page goes through.
        code, _, answer = c.call("PUT", "/admin/api/v1/rooms/shop/policy",
                                 {"max_active": before + 1})
        self.assertEqual(code, 200, answer)
        self.vwr.set_policy("shop", {"max_active": before})

    def test_sign_in_from_another_origin_or_as_a_form_is_refused(self):
        code, _, answer = Console(self.vwr).sign_in(
            ALICE, headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
        self.assertEqual((code, answer["error"]["code"]), (403, "csrf_refused"))
        code, head, _ = request(
            "POST", self.vwr.admin + "/admin/api/v1/session", body=b"token=" + ALICE.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(code, 400)
        self.assertIsNone(head.get("Set-Cookie"))

    # ----- roles -----

    def test_a_viewer_reads_everything_and_changes_nothing(self):
        c = Console(self.vwr)
        self.assertEqual(c.sign_in(VERA)[0], 200)
        for path in ("/admin/api/v1/rooms", "/admin/api/v1/rooms/shop/policy",
                     "/admin/api/v1/audit", "/admin/api/v1/keys"):
            self.assertEqual(c.call("GET", path)[0], 200, path)
        changes = [
            ("PUT", "/admin/api/v1/rooms/shop/policy", {"max_active": 1}),
            ("PUT", "/admin/api/v1/rooms/shop/message", {"message": "hi"}),
            ("POST", "/admin/api/v1/rooms/shop/lists/deny", {"ip": "10.0.0.1"}),
            ("DELETE", "/admin/api/v1/rooms/shop/sessions/1", None),
            ("DELETE", "/admin/api/v1/rooms/shop/sessions", None),
            ("POST", "/admin/api/v1/keys/rotate", None),
            ("POST", "/admin/api/v1/operators", {"name": "mallory", "role": "admin"}),
        ]
        for method, path, body in changes:
            code, _, answer = c.call(method, path, body)
            self.assertEqual(code, 403, (method, path, answer))
            self.assertEqual(answer["error"]["code"], "forbidden")
            # The same with the viewer's token as a bearer token.
            code, _, _ = self.vwr.admin_request(method, path, body, token=VERA)
            self.assertEqual(code, 403, (method, path))
        self.assertEqual(c.call("GET", "/admin/api/v1/operators")[0], 403,
                         "the operator list is for admins")

    def test_an_operator_cannot_raise_itself_or_touch_keys_and_operators(self):
        for method, path, body in [
                ("POST", "/admin/api/v1/operators", {"name": "alice2", "role": "admin"}),
                ("DELETE", "/admin/api/v1/operators/vera", None),
                ("POST", "/admin/api/v1/keys/rotate", None)]:
            code, _, answer = self.vwr.admin_request(method, path, body, token=ALICE)
            self.assertEqual(code, 403, (method, path, answer))
        code, _, _ = self.vwr.admin_request("PUT", "/admin/api/v1/rooms/shop/policy",
                                            {"session_timeout": "15m"}, token=ALICE)
        self.assertEqual(code, 200)
        self.assertEqual(self.vwr.policy("shop")[2]["session_timeout"], "900s")

    def test_operators_made_through_the_api_sign_in_and_can_be_removed(self):
        code, _, made = self.vwr.admin_request("POST", "/admin/api/v1/operators",
                                               {"name": "olga", "role": "viewer"})
        self.assertEqual(code, 201, made)
        token = made["token"]
        self.assertGreaterEqual(len(token), 40)
        code, _, listed = self.vwr.admin_request("GET", "/admin/api/v1/operators")
        self.assertNotIn(token, json.dumps(listed), "a token is shown once, never listed")
        self.assertIn("olga", [o["name"] for o in listed["operators"]])
        self.assertEqual(self.vwr.admin_request("GET", "/admin/api/v1/rooms", token=token)[0], 200)
        code, _, _ = self.vwr.admin_request("POST", "/admin/api/v1/operators",
                                            {"name": "olga", "role": "admin"})
        self.assertEqual(code, 409, "a name is never taken over")
        code, _, _ = self.vwr.admin_request("DELETE", "/admin/api/v1/operators/alice")
        self.assertEqual(code, 409, "the configuration's operators change with the file")
        self.assertEqual(self.vwr.admin_request("DELETE", "/admin/api/v1/operators/olga")[0], 204)
        self.assertEqual(self.vwr.admin_request("GET", "/admin/api/v1/rooms", token=token)[0], 401)

    # ----- ending every session of a room -----

    def verify(self, room, token):
        code, _, _ = request("GET", self.vwr.public + "/api/v1/verify?room=" + room,
                             headers={"Authorization": "Bearer " + token})
        return code

    def test_an_operator_ends_every_session_of_a_room_and_the_line_takes_the_slots(self):
        tokens = []
        for _ in range(2):
            code, answer = self.vwr.join("crowd")
            self.assertEqual((code, answer["status"]), (200, "admitted"), answer)
            tokens.append(answer["token"])
        code, waiting = self.vwr.join("crowd")
        self.assertEqual(waiting["status"], "waiting", waiting)
        self.assertEqual([self.verify("crowd", t) for t in tokens], [204, 204])

        # A viewer may not, nor a page of another origin with an operator's cookie.
        code, _, answer = self.vwr.admin_request("DELETE", "/admin/api/v1/rooms/crowd/sessions",
                                                 token=VERA)
        self.assertEqual((code, answer["error"]["code"]), (403, "forbidden"))
        c = Console(self.vwr)
        self.assertEqual(c.sign_in(ALICE)[0], 200)
        code, _, answer = c.call("DELETE", "/admin/api/v1/rooms/crowd/sessions",
                                 headers={"Origin": "https://evil.example",
                                          "Sec-Fetch-Site": "cross-site"})
        self.assertEqual((code, answer["error"]["code"]), (403, "csrf_refused"))
        self.assertEqual(self.vwr.rooms_admin()["crowd"]["active"], 2, "nothing ended")
        self.assertEqual([self.verify("crowd", t) for t in tokens], [204, 204])

        # The operator from the console: every session ends, its tokens stop verifying.
        code, _, answer = c.call("DELETE", "/admin/api/v1/rooms/crowd/sessions")
        self.assertEqual(code, 200, answer)
        self.assertEqual(answer, {"room": "crowd", "ended": 2})
        wait_until(lambda: [self.verify("crowd", t) for t in tokens] == [401, 401], 1.0,
                   message="the ended sessions' tokens are refused")
        # The one who waited is let in: the slots went to the line.
        admitted = self.vwr.wait_admitted("crowd", waiting["ticket"])
        self.assertEqual(self.verify("crowd", admitted["token"]), 204)
        entry = next(e for e in self.audit(room="crowd") if e["action"] == "sessions.end_all")
        self.assertEqual((entry["operator"], entry["address"]), ("alice", "127.0.0.1"))
        self.assertEqual((json.loads(entry["before"]), json.loads(entry["after"])),
                         ({"active": 2}, {"ended": 2}))

        # Nothing left but the newcomer's session; unknown rooms and other methods are refused.
        code, _, answer = self.vwr.admin_request("DELETE", "/admin/api/v1/rooms/crowd/sessions")
        self.assertEqual((code, answer), (200, {"room": "crowd", "ended": 1}))
        code, _, answer = self.vwr.admin_request("DELETE", "/admin/api/v1/rooms/nope/sessions")
        self.assertEqual((code, answer["error"]["code"]), (404, "room_not_found"))
        code, head, _ = self.vwr.admin_request("GET", "/admin/api/v1/rooms/crowd/sessions")
        self.assertEqual((code, head.get("Allow")), (405, "DELETE"))

    # ----- the audit log -----

    def test_every_change_is_audited_with_its_operator_before_and_after(self):
        c = Console(self.vwr)
        self.assertEqual(c.sign_in(ALICE)[0], 200)
        before = self.vwr.policy("shop")[2]["max_active"]
        code, _, _ = c.call("PUT", "/admin/api/v1/rooms/shop/policy", {"max_active": before + 2})
        self.assertEqual(code, 200)
        code, _, _ = self.vwr.admin_request("PUT", "/admin/api/v1/rooms/shop/message",
                                            {"message": "=HYPERLINK(\"http://x\")"})
        self.assertEqual(code, 200)
        entries = self.audit(room="shop", limit=50)
        policy = next(e for e in entries if e["action"] == "policy" and e["operator"] == "alice")
        self.assertEqual(json.loads(policy["before"])["max_active"], before)
        self.assertEqual(json.loads(policy["after"])["max_active"], before + 2)
        self.assertEqual(policy["address"], "127.0.0.1")
        message = next(e for e in entries if e["action"] == "message.set")
        self.assertEqual(message["operator"], "admin")
        # A refused change leaves no entry.
        self.vwr.admin_request("PUT", "/admin/api/v1/rooms/shop/policy", {"max_active": -1},
                               token=ALICE)
        self.assertFalse([e for e in self.audit(room="shop", limit=50)
                          if '"max_active":-1' in e["after"]])
        # The CSV export: what the JSON says, and no cell a spreadsheet would run.
        code, head, raw = request("GET", self.vwr.admin + "/admin/api/v1/audit?room=shop&format=csv",
                                  headers={"Authorization": "Bearer " + self.vwr.admin_token})
        self.assertEqual(code, 200)
        self.assertIn("attachment", head["Content-Disposition"])
        rows = list(csv.DictReader(io.StringIO(raw.decode())))
        self.assertEqual(len(rows), len(self.audit(room="shop")))
        cells = [v for row in rows for v in row.values()]
        self.assertFalse([v for v in cells if v[:1] in ("=", "+", "-", "@")], cells)
        self.assertIn("'=HYPERLINK(\"http://x\")", cells)
        self.vwr.set_policy("shop", {"max_active": before})

    def test_the_audit_log_cannot_be_changed_through_the_api(self):
        for method in ("PUT", "POST", "DELETE", "PATCH"):
            code, _, _ = self.vwr.admin_request(method, "/admin/api/v1/audit", {"entries": []})
            self.assertIn(code, (404, 405), method)
        self.assertTrue(self.audit(limit=1), "the log is still there")


class ConsoleDurabilityTest(unittest.TestCase):
    def test_the_audit_log_and_api_operators_survive_a_restart(self):
        with VwrProcess(CONFIG, env=ENV) as first:
            code, _, made = first.admin_request("POST", "/admin/api/v1/operators",
                                                {"name": "night.shift", "role": "operator"})
            self.assertEqual(code, 201)
            first.admin_request("PUT", "/admin/api/v1/rooms/shop/policy", {"max_active": 4},
                                token=made["token"])
            data_dir = first.data_dir
            first.stop()
            with VwrProcess(CONFIG, env=ENV, data_dir=data_dir) as second:
                code, _, body = second.admin_request(
                    "GET", "/admin/api/v1/audit?operator=night.shift")
                self.assertEqual(code, 200)
                self.assertEqual([e["action"] for e in body["entries"]], ["policy"])
                code, _, _ = second.admin_request("GET", "/admin/api/v1/rooms",
                                                  token=made["token"])
                self.assertEqual(code, 200)


if __name__ == "__main__":
    unittest.main()
