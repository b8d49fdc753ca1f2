"""Session length through the real binary, on either store: sessions that end by a leave, by
idleness and by an operator, after known times, come back from /admin/api/v1/stats
(session_length_*) and from /metrics (vwr_session_length_seconds) in the buckets their lengths
fall in.
"""

import base64
import json
import time
import unittest
import urllib.parse

from vwr_harness import VwrProcess, config_yaml, room_yaml, store_under_test, wait_until

ROOM = "shop"
# Ten places at once; a session nobody heartbeats ends after 2 s (its token outlives the test,
# so that the same token heartbeats all along).
CONFIG = config_yaml(room_yaml(ROOM, max_active=10, admit_rate=100, burst=10,
                               session_timeout="2s", token_lifetime="60s", poll_min="100ms"))
# The sessions kept alive until they end last this long at least: past the first bound (10 s).
LONG_S = 10.5


def series(vwr, frm, to, step, metrics):
    code, _, value = vwr.admin_request("GET", "/admin/api/v1/stats?" + urllib.parse.urlencode(
        {"room": ROOM, "from": frm, "to": to, "step": step, "metrics": metrics}))
    assert code == 200, value
    return value["series"]


def session_id(token):
    """The jti of an admission token: how an operator names the session to end."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]


def total(points):
    return sum(v for _, v in points)


class SessionLengthTest(unittest.TestCase):
    def setUp(self):
        self.vwr = VwrProcess(CONFIG)
        self.addCleanup(self.vwr.close)
        if store_under_test() == "redis":
            # A shared store's counters are the node's from its first tick on: what ends
            # before it is the baseline, not this test's.
            def ticked():
                code, _, value = self.vwr.admin_request("GET", "/admin/api/v1/rooms")
                return code == 200 and any(r["policy"]["room"] == ROOM and r.get("tickHolder")
                                           for r in value["rooms"])
            wait_until(ticked, timeout=10, message="the node's first tick of the room")

    def admitted(self):
        code, value = self.vwr.join(ROOM)
        self.assertEqual(code, 200, value)
        self.assertEqual(value["status"], "admitted", value)
        return value

    def test_sessions_ended_every_way_land_in_the_buckets_of_their_lengths(self):
        start = time.time()
        left, idle, kept, ended = (self.admitted() for _ in range(4))
        admitted_at = time.monotonic()
        # A leave at once: about 0 s.
        self.assertEqual(self.vwr.leave(ROOM, left["token"])[0], 204)
        # `idle` never heartbeats: the store ends it after session_timeout (2 s). The other two
        # heartbeat until they have lasted LONG_S, then one leaves and an operator ends the other.
        def long_enough():
            for s in (kept, ended):
                code, _, _ = self.vwr.heartbeat(ROOM, s["token"])
                self.assertEqual(code, 204)
            return time.monotonic() - admitted_at >= LONG_S
        wait_until(long_enough, timeout=LONG_S + 10, interval=0.25,
                   message="two sessions kept alive past the first bound")
        self.assertEqual(self.vwr.leave(ROOM, kept["token"])[0], 204)
        code, _, body = self.vwr.admin_request(
            "DELETE", "/admin/api/v1/rooms/%s/sessions/%s" % (ROOM, session_id(ended["token"])))
        self.assertEqual(code, 204, body)
        lasted = time.monotonic() - admitted_at

        metrics = ("session_length_count,session_length_avg,session_length_p50,leaves,"
                   "idle_timeouts,ended_by_operator")

        def counted():
            s = series(self.vwr, int(start) - 1, int(time.time()) + 2, "1s", metrics)
            return s if total(s["session_length_count"]) >= 4 else None
        s = wait_until(counted, timeout=10, message="four session lengths in the seconds")
        self.assertEqual(total(s["session_length_count"]), 4)
        self.assertEqual(total(s["leaves"]), 3, "two leaves and the operator's end")
        self.assertEqual(total(s["idle_timeouts"]), 1)
        self.assertEqual(total(s["ended_by_operator"]), 1)
        # Each second holds the sessions that ended in it: the two long ones end together, and
        # their second says they lasted past the first bound.
        long_seconds = [(t, n) for (t, n), (_, avg) in zip(s["session_length_count"],
                                                          s["session_length_avg"])
                        if n and avg >= LONG_S]
        self.assertEqual(sum(n for _, n in long_seconds), 2, s)

        # One step over the whole test: the distribution of all four.
        hour = series(self.vwr, int(start) - int(start) % 3600, int(time.time()) + 3600, "1h",
                      "session_length_count,session_length_avg,session_length_p50,"
                      "session_length_p95")
        self.assertEqual(total(hour["session_length_count"]), 4, hour)
        point = [i for i, (_, n) in enumerate(hour["session_length_count"]) if n][0]
        avg = hour["session_length_avg"][point][1]
        # 0 s + 2 s (idle) + two of LONG_S..lasted, over four.
        self.assertGreaterEqual(avg, (2 + 2 * LONG_S) / 4)
        self.assertLessEqual(avg, (lasted + 1 + 2 * lasted) / 4)
        self.assertLessEqual(hour["session_length_p50"][point][1], 10, "half ended within 10 s")
        self.assertGreater(hour["session_length_p95"][point][1], 10)
        self.assertLessEqual(hour["session_length_p95"][point][1], 30)

        # Prometheus: the same four, in the buckets their lengths fall in.
        labels = '{room="%s"' % ROOM
        m = wait_until(lambda: (lambda m: m if m.get(
            "vwr_session_length_seconds_count" + labels + "}", 0) >= 4 else None)(
                self.vwr.metrics()), timeout=5, message="the histogram")
        self.assertEqual(m["vwr_session_length_seconds_count" + labels + "}"], 4)
        self.assertEqual(m["vwr_session_length_seconds_bucket" + labels + ',le="10"}'], 2)
        self.assertEqual(m["vwr_session_length_seconds_bucket" + labels + ',le="30"}'], 4)
        self.assertEqual(m["vwr_session_length_seconds_bucket" + labels + ',le="+Inf"}'], 4)
        total_s = m["vwr_session_length_seconds_sum" + labels + "}"]
        self.assertGreaterEqual(total_s, 2 + 2 * LONG_S)
        self.assertLessEqual(total_s, lasted + 1 + 2 * lasted)


if __name__ == "__main__":
    unittest.main()
