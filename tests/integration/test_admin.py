"""The admin listener: health, readiness, Prometheus metrics, and the policy API with its token;
and the separation of the admin and public listeners.
"""

import re
import time
import unittest

from vwr_harness import VwrProcess, config_yaml, request, json_request, room_yaml, wait_until

POLL = dict(poll_min="100ms", poll_max="1s")
CONFIG = config_yaml(
    room_yaml("counted", max_active=2, admit_rate=50, burst=2, session_timeout="60s", **POLL),
    room_yaml("grow", max_active=1, admit_rate=50, burst=1, **POLL),
    room_yaml("strict", max_active=7, admit_rate=5, burst=3, queue_limit=100,
              session_timeout="90s", claim_grace="4s", poll_min="200ms", poll_max="1500ms"),
    room_yaml("other", max_active=1, admit_rate=50, burst=1, **POLL),
)

ROOM_FAMILIES = [
    "vwr_room_joins_total", "vwr_room_admissions_total", "vwr_room_polls_total",
    "vwr_room_leaves_total", "vwr_room_no_shows_total", "vwr_room_queue_size",
    "vwr_room_active_sessions", "vwr_room_frontier",
]


class AdminTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vwr = VwrProcess(CONFIG)
        cls.addClassCleanup(cls.vwr.close)

    def policy_path(self, room):
        return "/admin/api/v1/rooms/%s/policy" % room

    # ----- probes -----

    def test_healthz(self):
        code, headers, body = json_request("GET", self.vwr.admin + "/healthz")
        self.assertEqual(code, 200)
        self.assertEqual(body, {"status": "ok"})
        self.assertTrue(headers.get("Content-Type", "").startswith("application/json"))

    def test_readyz(self):
        code, _, body = json_request("GET", self.vwr.admin + "/readyz")
        self.assertEqual(code, 200)
        self.assertEqual(body, {"status": "ready"})

    def test_probes_are_read_only(self):
        for path in ("/healthz", "/readyz", "/metrics"):
            code, headers, _ = request("POST", self.vwr.admin + path, body=b"")
            self.assertEqual(code, 405, path)
            self.assertEqual(headers.get("Allow"), "GET", path)

    # ----- metrics -----

    def test_metrics_format(self):
        code, headers, data = request("GET", self.vwr.admin + "/metrics")
        self.assertEqual(code, 200)
        self.assertTrue(headers.get("Content-Type", "").startswith("text/plain"), headers)
        text = data.decode("utf-8")
        sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eE]+(Inf)?$|^NaN$')
        for line in text.splitlines():
            if line.startswith("# HELP ") or line.startswith("# TYPE "):
                continue
            self.assertRegex(line, sample)
        for family in ROOM_FAMILIES:
            self.assertIn("# TYPE %s " % family, text)
            for room in ("counted", "grow", "strict", "other"):
                self.assertRegex(text, r'(?m)^%s\{room="%s"\} [0-9.e+]+$' % (family, room))
        self.assertIn("# TYPE vwr_http_requests_total counter", text)
        self.assertIn("# TYPE vwr_http_request_duration_seconds histogram", text)

    def test_metrics_show_handler_exceptions_per_listener(self):
        # An exception that reaches a connection's catch-all is a bug; each listener counts its
        # own from the start, so that an alert on any increase can be written before the first.
        text = request("GET", self.vwr.admin + "/metrics")[2].decode("utf-8")
        self.assertIn("# TYPE vwr_http_handler_exceptions_total counter", text)
        samples = self.vwr.metrics()
        for listener in ("public", "admin"):
            key = 'vwr_http_handler_exceptions_total{listener="%s"}' % listener
            self.assertEqual(samples.get(key), 0, key)

    def test_metrics_count_what_happened(self):
        room = "counted"
        label = '{room="%s"}' % room
        before = self.vwr.metrics()
        join_200 = 'vwr_http_requests_total{endpoint="join",code="200"}'
        status_200 = 'vwr_http_requests_total{endpoint="status",code="200"}'
        join_inf = 'vwr_http_request_duration_seconds_bucket{endpoint="join",le="+Inf"}'
        join_count = 'vwr_http_request_duration_seconds_count{endpoint="join"}'

        answers = [self.vwr.join(room)[1] for _ in range(5)]
        self.assertEqual([a["status"] for a in answers],
                         ["admitted", "admitted", "waiting", "waiting", "waiting"])
        polls = 0
        for a in answers[2:]:
            self.assertEqual(self.vwr.status(room, a["ticket"])[0], 200)
            polls += 1
        code, _, _ = self.vwr.leave(room, answers[0]["token"])
        self.assertEqual(code, 204)

        after = wait_until(
            lambda: (lambda m: m if m["vwr_room_frontier" + label] == 3 else None)(
                self.vwr.metrics()), timeout=3, message="the freed place is called")

        def delta(name):
            return after.get(name, 0) - before.get(name, 0)

        self.assertEqual(delta("vwr_room_joins_total" + label), 5)
        self.assertEqual(delta("vwr_room_polls_total" + label), polls)
        self.assertEqual(delta("vwr_room_leaves_total" + label), 1)
        self.assertEqual(delta("vwr_room_no_shows_total" + label), 0)
        self.assertEqual(delta("vwr_room_admissions_total" + label), 2,
                         "the called ticket is not admitted until it is claimed")
        self.assertEqual(after["vwr_room_queue_size" + label], 2)
        self.assertEqual(after["vwr_room_active_sessions" + label], 1)
        self.assertEqual(after["vwr_room_frontier" + label], 3)
        self.assertEqual(after["vwr_room_called_unclaimed" + label], 1)
        self.assertEqual(after["vwr_room_last_ticket" + label], 5)
        self.assertEqual(after["vwr_room_max_active" + label], 2)
        self.assertEqual(after["vwr_room_admit_rate" + label], 50)
        # HTTP counters are global; nothing else joins while this test runs.
        self.assertEqual(delta(join_200), 5)
        self.assertGreaterEqual(delta(status_200), polls)
        self.assertEqual(delta(join_inf), 5)
        self.assertEqual(delta(join_count), 5)
        buckets = [v for k, v in after.items()
                   if k.startswith('vwr_http_request_duration_seconds_bucket{endpoint="join"')]
        self.assertGreater(len(buckets), 2)

        # The claim counts as an admission. (A Redis node's counters are the shared ones as its
        # last tick read them, so the count may show up to a tick after the answer.)
        self.vwr.wait_admitted(room, answers[2]["ticket"], timeout=3)
        admissions = "vwr_room_admissions_total" + label
        final = wait_until(
            lambda: (lambda m: m if m[admissions] != after[admissions] else None)(
                self.vwr.metrics()), timeout=3, message="the claim is counted")
        self.assertEqual(final[admissions] - before.get(admissions, 0), 3)
        self.assertEqual(final["vwr_room_active_sessions" + label], 2)
        self.assertEqual(final["vwr_room_called_unclaimed" + label], 0)

    def test_error_answers_are_counted_by_code(self):
        key = 'vwr_http_requests_total{endpoint="status",code="401"}'
        before = self.vwr.metrics().get(key, 0)
        for _ in range(3):
            self.assertEqual(self.vwr.status("other", "bogus-ticket")[0], 401)
        self.assertEqual(self.vwr.metrics().get(key, 0) - before, 3)

    # ----- the policy API -----

    def test_policy_requires_the_admin_token(self):
        path = self.policy_path("strict")
        for token in (False, "wrong-token-wrong-token", self.vwr.admin_token + "x",
                      self.vwr.admin_token[:-1]):
            for method, body in (("GET", None), ("PUT", {"max_active": 3})):
                code, headers, answer = self.vwr.admin_request(method, path, body=body,
                                                               token=token)
                self.assertEqual(code, 401, (method, token, answer))
                self.assertEqual(answer["error"]["code"], "unauthorized")
                self.assertEqual(headers.get("WWW-Authenticate"), "Bearer")
        code, _, answer = self.vwr.admin_request("GET", "/admin/api/v1/rooms", token=False)
        self.assertEqual(code, 401)
        # A wrong scheme is not accepted either.
        code, _, _ = json_request("GET", self.vwr.admin + path,
                                  headers={"Authorization": "Basic " + self.vwr.admin_token})
        self.assertEqual(code, 401)
        # Neither the admin token nor the wrong ones are written to the log.
        # (The generated token is shown once, at start-up, and only there.)
        self.assertEqual(self.vwr.log.count(self.vwr.admin_token), 1)
        self.assertNotIn("wrong-token-wrong-token", self.vwr.log)
        # Nothing was changed by the rejected PUTs.
        code, _, policy = self.vwr.policy("strict")
        self.assertEqual(code, 200)
        self.assertEqual(policy["max_active"], 7)

    def test_get_policy(self):
        code, _, policy = self.vwr.policy("strict")
        self.assertEqual(code, 200, policy)
        self.assertEqual(policy, {
            "room": "strict", "max_active": 7, "admit_rate": 5, "burst": 3, "mode": "fifo",
            "queue_limit": 100, "session_timeout": "90s", "session_max": "0s", "claim_grace": "4s",
            "poll": {"min": "200ms", "max": "1500ms"}, "abandon_after_polls": 5})
        code, _, body = self.vwr.policy("no-such-room")
        self.assertEqual(code, 404)
        self.assertEqual(body["error"]["code"], "room_not_found")

    def test_list_rooms(self):
        rooms = self.vwr.rooms_admin()
        self.assertEqual(set(rooms), {"counted", "grow", "strict", "other"})
        entry = rooms["other"]
        for key in ("policy", "queueSize", "active", "calledUnclaimed", "frontier",
                    "lastTicket", "advanceRate"):
            self.assertIn(key, entry)

    def test_raising_max_active_admits_a_waiting_user(self):
        room = "grow"
        first = self.vwr.join(room)[1]
        self.assertEqual(first["status"], "admitted")
        waiting = self.vwr.join(room)[1]
        self.assertEqual(waiting["status"], "waiting")
        # Several ticks pass: still waiting.
        wait_until(lambda: self.vwr.rooms_admin()[room]["advanceRate"] < 50, timeout=3)
        self.assertEqual(self.vwr.status(room, waiting["ticket"])[1]["status"], "waiting")

        code, _, policy = self.vwr.set_policy(room, {"max_active": 3})
        self.assertEqual(code, 200, policy)
        self.assertEqual(policy["max_active"], 3)
        self.assertEqual(policy["room"], room)
        self.assertEqual(self.vwr.policy(room)[2]["max_active"], 3)
        self.assertEqual(self.vwr.room_info(room)[1]["maxActive"], 3)
        # Takes effect at the next tick (100 ms); allow for a slow machine.
        admitted = self.vwr.wait_admitted(room, waiting["ticket"], timeout=3)
        self.assertEqual(admitted["status"], "admitted")
        # The third place is free too: a newcomer walks straight in.
        self.assertEqual(self.vwr.join(room)[1]["status"], "admitted")
        self.assertEqual(self.vwr.join(room)[1]["status"], "waiting")
        self.assertIn("policy of room grow changed", self.vwr.log)

    def test_put_policy_several_keys(self):
        room = "other"
        code, _, policy = self.vwr.set_policy(
            room, {"admit_rate": 2.5, "burst": 4, "queue_limit": 9, "mode": "fifo"})
        self.assertEqual(code, 200, policy)
        self.assertEqual((policy["admit_rate"], policy["burst"], policy["queue_limit"]),
                         (2.5, 4, 9))
        self.assertEqual(self.vwr.room_info(room)[1]["admitRate"], 2.5)
        self.assertEqual(self.vwr.metrics()['vwr_room_admit_rate{room="other"}'], 2.5)

    def test_put_policy_changes_session_timeout_and_session_max_at_run_time(self):
        room = "other"
        code, _, policy = self.vwr.set_policy(room, {"session_timeout": "45s", "session_max": "2h"})
        self.assertEqual(code, 200, policy)
        self.assertEqual((policy["session_timeout"], policy["session_max"]), ("45s", "7200s"))
        # A session admitted now is told when it ends, and its token ends there at the latest.
        # (Nobody else joins this room: its one place is free, so the answer is an admission.)
        code, answer = self.vwr.join(room)
        self.assertEqual((code, answer["status"]), (200, "admitted"), answer)
        self.assertEqual(answer["sessionTimeoutSeconds"], 45)
        self.assertEqual(answer["sessionMaxSeconds"], 7200)
        self.assertAlmostEqual(answer["sessionEndsAt"], time.time() + 7200, delta=5)
        code, _, policy = self.vwr.set_policy(room, {"session_max": 0, "session_timeout": 600})
        self.assertEqual(code, 200, policy)
        self.assertEqual((policy["session_timeout"], policy["session_max"]), ("600s", "0s"))
        # The session's next answer says so: no cap any more, and the new timeout.
        code, again = self.vwr.status(room, answer["ticket"])
        self.assertEqual((code, again["status"]), (200, "admitted"), again)
        self.assertEqual((again["sessionTimeoutSeconds"], again["sessionMaxSeconds"],
                          again["sessionEndsAt"]), (600, None, None), again)
        self.assertEqual(self.vwr.leave(room, again["token"])[0], 204)

    def test_put_policy_rejects_bad_values(self):
        room = "strict"
        code, _, before = self.vwr.policy(room)
        self.assertEqual(code, 200)
        bad_bodies = [
            {"max_active": 0},
            {"max_active": -1},
            {"max_active": 1.5},
            {"max_active": "3"},
            {"max_active": 2000000000},
            {"admit_rate": 0},
            {"admit_rate": -2},
            {"admit_rate": "fast"},
            {"burst": 0},
            {"queue_limit": -1},
            {"mode": "nope"},
            {"mode": 1},
            {"max_active": 3, "mode": "nope"},  # one bad key spoils the whole change
            {"max_active": 3, "unknown_key": 1},
            {"session_timeout": "0s"},
            {"session_timeout": "8d"},
            {"session_timeout": "soon"},
            {"session_timeout": -1},
            {"session_max": "500ms"},
            {"session_max": "1.5ms"},
            {"session_max": True},
            {"claim_grace": "1s"},
            [],
            "max_active",
        ]
        for body in bad_bodies:
            code, _, answer = self.vwr.set_policy(room, body)
            self.assertEqual(code, 400, (body, answer))
            self.assertEqual(answer["error"]["code"], "bad_request", body)
        for raw in ("not json", "{", ""):
            code, _, answer = self.vwr.admin_request("PUT", self.policy_path(room), body=raw)
            self.assertEqual(code, 400, (raw, answer))
            self.assertEqual(answer["error"]["code"], "bad_request")
        code, _, after = self.vwr.policy(room)
        self.assertEqual(after, before, "a rejected change must leave the policy as it was")

    def test_put_policy_unknown_room(self):
        code, _, body = self.vwr.set_policy("no-such-room", {"max_active": 3})
        self.assertEqual(code, 404)
        self.assertEqual(body["error"]["code"], "room_not_found")

    def test_policy_wrong_method(self):
        code, headers, body = self.vwr.admin_request("DELETE", self.policy_path("strict"))
        self.assertEqual(code, 405, body)
        self.assertIn("PUT", headers.get("Allow", ""))

    # ----- listener separation -----

    def test_admin_endpoints_not_on_public_listener(self):
        auth = {"Authorization": "Bearer " + self.vwr.admin_token}
        for path in ("/healthz", "/readyz", "/metrics", "/admin/api/v1/rooms",
                     self.policy_path("strict")):
            code, _, body = json_request("GET", self.vwr.public + path, headers=auth)
            self.assertEqual(code, 404, (path, body))
        code, _, body = json_request("PUT", self.vwr.public + self.policy_path("strict"),
                                     body={"max_active": 1}, headers=auth)
        self.assertEqual(code, 404, body)
        self.assertEqual(self.vwr.policy("strict")[2]["max_active"], 7)

    def test_public_api_not_on_admin_listener(self):
        auth = {"Authorization": "Bearer " + self.vwr.admin_token}
        for method, path in (("POST", "/api/v1/rooms/other/join"),
                             ("GET", "/api/v1/rooms/other"),
                             ("GET", "/api/v1/rooms/other/status?ticket=x")):
            for headers in ({}, auth):
                code, _, body = json_request(method, self.vwr.admin + path,
                                             body={} if method == "POST" else None,
                                             headers=headers)
                self.assertEqual(code, 404, (method, path, body))
                self.assertEqual(body["error"]["code"], "not_found")


if __name__ == "__main__":
    unittest.main()
