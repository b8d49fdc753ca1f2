"""The public API's whole life cycle against the real binary: join, wait, admission, heartbeat,
leave, session expiry, the answer shapes, concurrent joins, and the room modes (reject,
queue_limit/full, pause, passthrough, no-shows).

One server for the class; every test uses its own room so that tests do not see each other.
"""

import base64
import json
import threading
import time
import unittest

from vwr_harness import VwrProcess, config_yaml, room_yaml, wait_until


def session_of(token):
    """What a token says about its session: (aud, sub, jti). Tokens of one session differ in
    their times (each is issued when answered) and signature (ES256 signatures are randomised)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims["aud"], claims["sub"], claims["jti"]

POLL = dict(poll_min="100ms", poll_max="1s")

CONFIG = config_yaml(
    # The main cycle: two places, fast admission.
    room_yaml("flow", max_active=2, admit_rate=50, burst=2, claim_grace="5s", **POLL),
    # Same userId twice, status by query and by header.
    room_yaml("ident", max_active=1, admit_rate=50, burst=1, **POLL),
    # Positions while a line drains: slots free up by idleness (session_timeout 1s).
    room_yaml("drain", max_active=10, admit_rate=20, burst=1, session_timeout="1s",
              claim_grace="5s", mode="pause", **POLL),
    room_yaml("rejoin", max_active=5, admit_rate=50, burst=5, **POLL),
    room_yaml("headers", max_active=5, admit_rate=50, burst=5, **POLL),
    room_yaml("idle", max_active=5, admit_rate=50, burst=5, session_timeout="2s",
              token_lifetime="60s", **POLL),
    room_yaml("pass", max_active=1, admit_rate=50, burst=1, **POLL),
    room_yaml("closing", max_active=1, admit_rate=50, burst=1, **POLL),
    room_yaml("crowd", max_active=5, admit_rate=1000, burst=100, **POLL),
    room_yaml("shape", max_active=1, admit_rate=50, burst=1, session_timeout="30s", **POLL),
    room_yaml("closed", mode="reject", **POLL),
    room_yaml("limited", max_active=1, admit_rate=50, burst=1, queue_limit=1, **POLL),
    room_yaml("paused", max_active=1, admit_rate=50, burst=1, **POLL),
    room_yaml("noshow", max_active=1, admit_rate=50, burst=1, claim_grace="1s", **POLL),
    # A witness of the node's ticks: only a tick calls the next in line to a freed place.
    room_yaml("clock", max_active=1, admit_rate=50, burst=1, **POLL),
)

WAITING_KEYS = {"room", "status", "ticket", "position", "initialPosition", "queueSize",
                "etaSeconds", "etaRange", "pollAfterMs"}
ADMITTED_KEYS = WAITING_KEYS | {"token", "sessionTimeoutSeconds", "sessionMaxSeconds",
                                "sessionEndsAt"}


class ApiFlowTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vwr = VwrProcess(CONFIG)
        cls.addClassCleanup(cls.vwr.close)

    # ----- helpers -----

    def join_ok(self, room, user_id=None):
        code, body = self.vwr.join(room, user_id)
        self.assertEqual(code, 200, body)
        self.assertEqual(body["room"], room)
        return body

    def rejoin_ok(self, room, ticket):
        """A join that brings the ticket it was given (as the waiting page after a reload)."""
        code, _, body = self.vwr.json_request("POST", "/api/v1/rooms/%s/join" % room, body={},
                                              headers={"X-VWR-Ticket": ticket})
        self.assertEqual(code, 200, body)
        return body

    def status_ok(self, room, ticket, via="query"):
        code, body = self.vwr.status(room, ticket, via=via)
        self.assertEqual(code, 200, body)
        return body

    def ticks_pass(self, count):
        """Returns once the node has ticked at least `count` times from now: each time, the one
        place of the room "clock" is given back and the next in line is let in, which only a
        tick does (and a tick goes over every room)."""
        inside = self.join_ok("clock")
        self.assertEqual(inside["status"], "admitted", inside)
        for _ in range(count):
            nxt = self.join_ok("clock")
            self.assertEqual(nxt["status"], "waiting", nxt)
            self.assertEqual(self.vwr.leave("clock", inside["token"])[0], 204)
            inside = self.vwr.wait_admitted("clock", nxt["ticket"], timeout=5)
        self.assertEqual(self.vwr.leave("clock", inside["token"])[0], 204)

    def assert_admitted(self, body, timeout_s):
        self.assertEqual(set(body), ADMITTED_KEYS, body)
        self.assertEqual(body["status"], "admitted", body)
        self.assertIsInstance(body["token"], str)
        self.assertEqual(body["token"].count("."), 2, "a JWT has three parts: %r" % body["token"])
        self.assertIsInstance(body["ticket"], str)
        self.assertEqual(body["position"], 0)
        self.assertEqual(body["sessionTimeoutSeconds"], timeout_s)
        self.assertEqual(body["etaSeconds"], 0)

    def assert_waiting(self, body):
        self.assertEqual(set(body), WAITING_KEYS, body)
        self.assertEqual(body["status"], "waiting", body)
        self.assertIsInstance(body["ticket"], str)
        self.assertGreaterEqual(body["position"], 1)
        self.assertGreaterEqual(body["pollAfterMs"], 100)
        self.assertLessEqual(body["pollAfterMs"], 1000)

    # ----- the cycle -----

    def test_join_wait_admit_heartbeat_leave(self):
        room = "flow"
        first = self.join_ok(room)
        second = self.join_ok(room)
        self.assert_admitted(first, 600)
        self.assert_admitted(second, 600)
        self.assertNotEqual(first["ticket"], second["ticket"])
        self.assertNotEqual(first["token"], second["token"])

        third = self.join_ok(room)
        self.assert_waiting(third)
        self.assertEqual(third["position"], 1)
        self.assertEqual(third["initialPosition"], 1)
        self.assertEqual(third["queueSize"], 1)
        self.assertIsInstance(third["etaSeconds"], int)
        self.assertGreaterEqual(third["etaSeconds"], 0)

        # Nobody leaves: the third keeps waiting (no free place), tick after tick.
        self.ticks_pass(3)
        code, info = self.vwr.room_info(room)
        self.assertEqual((info["active"], info["queueSize"]), (2, 1))
        again = self.status_ok(room, third["ticket"])
        self.assertEqual(again["status"], "waiting")
        self.assertEqual(again["position"], 1)

        # The first leaves: its place goes to the third.
        code, _, body = self.vwr.leave(room, first["token"])
        self.assertEqual(code, 204, body)
        admitted = self.vwr.wait_admitted(room, third["ticket"], timeout=3)
        self.assert_admitted(admitted, 600)
        self.assertEqual(admitted["ticket"], third["ticket"])
        # initialPosition keeps telling where the user started.
        self.assertEqual(admitted["initialPosition"], 1)
        token = admitted["token"]

        # A second poll of an admitted ticket is the same session.
        repeat = self.status_ok(room, third["ticket"])
        self.assertEqual(repeat["status"], "admitted")
        code, info = self.vwr.room_info(room)
        self.assertEqual((info["active"], info["queueSize"]), (2, 0))

        code, _, body = self.vwr.heartbeat(room, token)
        self.assertEqual(code, 204, body)
        code, _, body = self.vwr.leave(room, token)
        self.assertEqual(code, 204, body)
        code, _, body = self.vwr.leave(room, token)
        self.assertEqual(code, 204, "leaving twice is not an error: %r" % body)
        code, _, body = self.vwr.heartbeat(room, token)
        self.assertEqual(code, 404, body)
        self.assertEqual(body["error"]["code"], "session_not_found")
        # The first user's session has ended too.
        code, _, body = self.vwr.heartbeat(room, first["token"])
        self.assertEqual(code, 404, body)
        self.assertEqual(body["error"]["code"], "session_not_found")

        code, info = self.vwr.room_info(room)
        self.assertEqual((info["active"], info["queueSize"]), (1, 0))
        # A polled ticket whose session has ended is expired.
        self.assertEqual(self.status_ok(room, third["ticket"])["status"], "expired")

    def test_a_rejoin_with_the_ticket_gets_the_same_place_and_both_status_forms(self):
        room = "ident"
        holder = self.join_ok(room, "holder")
        self.assertEqual(holder["status"], "admitted")

        u1 = self.join_ok(room, "user-1")
        self.assert_waiting(u1)
        self.assertEqual(u1["position"], 1)
        u1_again = self.rejoin_ok(room, u1["ticket"])
        self.assertEqual(u1_again["status"], "waiting")
        self.assertEqual(u1_again["ticket"], u1["ticket"])
        self.assertEqual(u1_again["position"], 1)
        self.assertEqual(u1_again["initialPosition"], 1)
        self.assertEqual(u1_again["queueSize"], 1, "a repeated join must not lengthen the line")

        u2 = self.join_ok(room, "user-2")
        self.assertNotEqual(u2["ticket"], u1["ticket"])
        self.assertEqual(u2["position"], 2)

        # The admitted holder joining again with its ticket gets its session back, not a new
        # place.
        holder_again = self.rejoin_ok(room, holder["ticket"])
        self.assertEqual(holder_again["status"], "admitted")
        self.assertEqual(session_of(holder_again["token"]), session_of(holder["token"]),
                         "the same session")
        code, info = self.vwr.room_info(room)
        self.assertEqual((info["active"], info["queueSize"]), (1, 2))

        by_query = self.status_ok(room, u2["ticket"], via="query")
        by_header = self.status_ok(room, u2["ticket"], via="header")
        for body in (by_query, by_header):
            self.assert_waiting(body)
            self.assertEqual(body["ticket"], u2["ticket"])
            self.assertEqual(body["position"], 2)
            self.assertEqual(body["initialPosition"], 2)
            self.assertEqual(body["queueSize"], 2)

        # Let the line go: user-1 then user-2.
        code, _, _ = self.vwr.leave(room, holder["token"])
        self.assertEqual(code, 204)
        a1 = self.vwr.wait_admitted(room, u1["ticket"], timeout=3)
        self.assertEqual(self.status_ok(room, u2["ticket"], via="header")["position"], 1)
        self.vwr.leave(room, a1["token"])
        self.vwr.wait_admitted(room, u2["ticket"], timeout=3)

    def test_rejoin_of_immediately_admitted_user_returns_the_same_ticket(self):
        # A user admitted at once (no waiting) who joins again with their ticket must get the
        # same ticket back, as a waiting user does, with the same initialPosition (0).
        room = "rejoin"
        first = self.join_ok(room, "again")
        self.assertEqual(first["status"], "admitted")
        self.assertEqual(first["initialPosition"], 0)
        second = self.rejoin_ok(room, first["ticket"])
        self.assertEqual(second["status"], "admitted")
        self.assertEqual(session_of(second["token"]), session_of(first["token"]),
                         "the same session")
        self.assertEqual(second["initialPosition"], 0,
                         "an immediately admitted user had nobody ahead of them")
        self.assertEqual(second["ticket"], first["ticket"])

    def test_positions_never_increase_while_the_line_drains(self):
        # The room starts paused so that the 30 tickets are consecutive (1..30); then it opens
        # and drains at admit_rate 20 within max_active 10, places freed by idle sessions.
        room = "drain"
        tickets = []
        for i in range(30):
            body = self.join_ok(room, "drain-%d" % i)
            self.assertEqual(body["status"], "waiting", body)
            self.assertEqual((body["position"], body["initialPosition"]), (i + 1, i + 1))
            tickets.append(body["ticket"])
        code, _, policy = self.vwr.set_policy(room, {"mode": "fifo"})
        self.assertEqual(code, 200, policy)

        last_position = {}
        admitted = set()
        seen_positions = set()
        frontier = [0]  # the frontier implied by the answers: ticket number - position

        def drained():
            for i, ticket in enumerate(tickets):
                if ticket in admitted:
                    continue
                body = self.status_ok(room, ticket)
                if body["status"] == "admitted":
                    admitted.add(ticket)  # stop polling it: the session goes idle and ends
                    frontier[0] = max(frontier[0], i + 1)
                    continue
                self.assertEqual(body["status"], "waiting", body)
                self.assertEqual(body["initialPosition"], i + 1, "initialPosition is fixed")
                pos = body["position"]
                seen_positions.add(pos)
                if ticket in last_position:
                    self.assertLessEqual(pos, last_position[ticket],
                                         "the position of ticket %d went up" % (i + 1))
                last_position[ticket] = pos
                implied = i + 1 - pos
                self.assertGreaterEqual(implied, frontier[0], "the frontier moved back")
                frontier[0] = max(frontier[0], implied)
            return len(admitted) == len(tickets)

        wait_until(drained, timeout=15, interval=0.05, message="all 30 admitted")
        self.assertGreater(len(seen_positions), 3, "the line was seen moving")
        metrics = self.vwr.metrics()
        self.assertEqual(metrics['vwr_room_frontier{room="drain"}'], 30)
        self.assertGreater(metrics['vwr_room_expired_sessions_total{room="drain"}'], 0,
                           "places were freed by session_timeout")

    def test_activity_keeps_a_session_alive_and_idleness_ends_it(self):
        room = "idle"  # session_timeout 2s
        code, body = self.vwr.join(room)
        self.assert_admitted(body, 2)
        token, ticket = body["token"], body["ticket"]
        # 2.5 s of activity (longer than session_timeout): heartbeats and status polls in turn.
        started = time.monotonic()
        turn = 0
        while time.monotonic() - started < 2.5:
            if turn % 2 == 0:
                code, _, answer = self.vwr.heartbeat(room, token)
                self.assertEqual(code, 204, answer)
            else:
                self.assertEqual(self.status_ok(room, ticket)["status"], "admitted")
            turn += 1
            time.sleep(0.2)  # the client's pace, not a wait for an outcome
        last_activity = time.monotonic()
        self.assertEqual(self.vwr.heartbeat(room, token)[0], 204)
        # Idle from now on: the session ends after session_timeout.
        wait_until(lambda: self.vwr.room_info(room)[1]["active"] == 0, timeout=6,
                   message="the idle session ends")
        self.assertGreater(time.monotonic() - last_activity, 1.8)
        code, _, answer = self.vwr.heartbeat(room, token)
        self.assertEqual(code, 404, answer)
        self.assertEqual(answer["error"]["code"], "session_not_found")
        self.assertEqual(self.status_ok(room, ticket)["status"], "expired")
        self.assertEqual(
            self.vwr.metrics()['vwr_room_expired_sessions_total{room="idle"}'], 1)

    def test_passthrough_admits_everyone(self):
        room = "pass"
        self.assertEqual(self.join_ok(room)["status"], "admitted")
        waiting = self.join_ok(room)
        self.assertEqual(waiting["status"], "waiting")
        code, _, policy = self.vwr.set_policy(room, {"mode": "passthrough"})
        self.assertEqual(code, 200, policy)
        # Beyond max_active 1, at once.
        for _ in range(3):
            body = self.join_ok(room)
            self.assertEqual(body["status"], "admitted", body)
            self.assertIn("token", body)
        # Whoever was waiting is let in too.
        self.assertEqual(self.vwr.wait_admitted(room, waiting["ticket"], timeout=3)["status"],
                         "admitted")
        code, info = self.vwr.room_info(room)
        self.assertEqual((info["mode"], info["active"], info["queueSize"]), ("passthrough", 5, 0))

    def test_closing_a_room_rejects_those_waiting(self):
        room = "closing"
        self.assertEqual(self.join_ok(room)["status"], "admitted")
        waiting = self.join_ok(room)
        self.assertEqual(waiting["status"], "waiting")
        code, _, _ = self.vwr.set_policy(room, {"mode": "reject"})
        self.assertEqual(code, 200)
        body = self.status_ok(room, waiting["ticket"])
        self.assertEqual(body["status"], "rejected", body)
        self.assertNotIn("token", body)
        self.assertEqual(self.join_ok(room)["status"], "rejected")
        # Reopening gives the waiting ticket its place back.
        code, _, _ = self.vwr.set_policy(room, {"mode": "fifo", "max_active": 2})
        self.assertEqual(code, 200)
        self.assertEqual(self.vwr.wait_admitted(room, waiting["ticket"], timeout=3)["status"],
                         "admitted")

    def test_concurrent_joins_respect_max_active(self):
        room = "crowd"
        results = []
        lock = threading.Lock()

        def worker(n):
            for i in range(10):
                code, body = self.vwr.join(room, "crowd-%d-%d" % (n, i))
                with lock:
                    results.append((code, body))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(len(results), 80)
        self.assertTrue(all(code == 200 for code, _ in results))
        admitted = [b for _, b in results if b["status"] == "admitted"]
        waiting = [b for _, b in results if b["status"] == "waiting"]
        self.assertEqual(len(admitted), 5, "max_active is 5")
        self.assertEqual(len(waiting), 75)
        self.assertEqual(len({b["ticket"] for _, b in results}), 80, "every ticket is distinct")
        self.assertEqual(sorted(b["initialPosition"] for b in waiting), list(range(1, 76)))
        code, info = self.vwr.room_info(room)
        self.assertEqual((info["active"], info["queueSize"]), (5, 75))

    # ----- shapes -----

    def test_room_info_shape(self):
        code, info = self.vwr.room_info("shape")
        self.assertEqual(code, 200)
        self.assertEqual(set(info), {"room", "mode", "queueSize", "active", "maxActive",
                                     "admitRate", "etaSeconds", "etaRange"})
        self.assertEqual(info["room"], "shape")
        self.assertEqual(info["mode"], "fifo")
        self.assertEqual(info["maxActive"], 1)
        self.assertEqual(info["admitRate"], 50)
        self.assertEqual(info["queueSize"], 0)
        self.assertEqual(info["active"], 0)
        self.assertEqual(info["etaSeconds"], 0, "an empty room admits a newcomer at once")

        first = self.join_ok("shape")
        self.assert_admitted(first, 30)
        self.assertEqual(first["queueSize"], 0)
        self.assertEqual(first["initialPosition"], 0)
        self.assertEqual(first["pollAfterMs"], 0)
        waiting = self.join_ok("shape")
        self.assert_waiting(waiting)

        code, info = self.vwr.room_info("shape")
        self.assertEqual((info["active"], info["queueSize"]), (1, 1))
        self.assertIsInstance(info["etaSeconds"], int)
        self.assertGreater(info["etaSeconds"], 0)
        # HEAD is allowed where GET is.
        code, headers, body = self.vwr.request("HEAD", "/api/v1/rooms/shape")
        self.assertEqual(code, 200)
        self.assertEqual(body, b"")

    def test_answers_are_json_and_not_cached(self):
        code, headers, _ = self.vwr.request("POST", "/api/v1/rooms/headers/join", body={})
        self.assertEqual(code, 200)
        self.assertTrue(headers.get("Content-Type", "").startswith("application/json"))
        self.assertEqual(headers.get("Cache-Control"), "no-store")

    # ----- modes -----

    def test_reject_mode(self):
        body = self.join_ok("closed")
        self.assertEqual(body["status"], "rejected")
        self.assertIsNone(body["ticket"])
        self.assertEqual(body["position"], 0)
        self.assertEqual(set(body), WAITING_KEYS)
        self.assertIsNone(body["etaSeconds"])
        code, info = self.vwr.room_info("closed")
        self.assertEqual(info["mode"], "reject")
        self.assertIsNone(info["etaSeconds"])

    def test_queue_limit_full(self):
        room = "limited"
        self.assertEqual(self.join_ok(room)["status"], "admitted")
        second = self.join_ok(room)
        self.assertEqual(second["status"], "waiting")
        third = self.join_ok(room)
        self.assertEqual(third["status"], "full")
        self.assertIsNone(third["ticket"])
        self.assertEqual(third["queueSize"], 1)
        code, info = self.vwr.room_info(room)
        self.assertEqual(info["queueSize"], 1, "a full answer issues no ticket")

    def test_pause_set_through_admin(self):
        room = "paused"
        code, _, policy = self.vwr.set_policy(room, {"mode": "pause"})
        self.assertEqual(code, 200, policy)
        self.assertEqual(policy["mode"], "pause")

        # Even an empty room admits nobody while paused.
        first = self.join_ok(room)
        self.assert_waiting(first)
        self.assertEqual(first["position"], 1)
        self.assertIsNone(first["etaSeconds"])
        second = self.join_ok(room)
        self.assertIsNone(second["etaSeconds"])
        code, info = self.vwr.room_info(room)
        self.assertEqual(info["mode"], "pause")
        self.assertIsNone(info["etaSeconds"])
        # Several ticks later, still waiting, still unknown: nobody was called.
        self.ticks_pass(3)
        frontier = self.vwr.metrics()['vwr_room_frontier{room="paused"}']
        self.assertEqual(frontier, 0)
        status = self.status_ok(room, first["ticket"])
        self.assertEqual(status["status"], "waiting")
        self.assertIsNone(status["etaSeconds"])

        # Opening the room calls the line in order.
        code, _, policy = self.vwr.set_policy(room, {"mode": "fifo"})
        self.assertEqual(code, 200, policy)
        admitted = self.vwr.wait_admitted(room, first["ticket"], timeout=3)
        self.assertEqual(admitted["status"], "admitted")
        self.assertEqual(self.status_ok(room, second["ticket"])["position"], 1)

    def test_no_show_expires_and_slot_goes_to_next(self):
        room = "noshow"
        holder = self.join_ok(room)
        self.assertEqual(holder["status"], "admitted")
        absent = self.join_ok(room)  # will never poll in time
        nxt = self.join_ok(room)
        self.assertEqual((absent["position"], nxt["position"]), (1, 2))
        # pollAfterMs is capped at claim_grace / 2, so a called user polls in time.
        self.assertLessEqual(absent["pollAfterMs"], 500)
        self.assertGreaterEqual(absent["pollAfterMs"], 100)

        code, _, _ = self.vwr.leave(room, holder["token"])
        self.assertEqual(code, 204)
        wait_until(lambda: self.vwr.rooms_admin()[room]["calledUnclaimed"] == 1, timeout=3,
                   message="the absent ticket is called")
        called_at = time.monotonic()

        admitted = self.vwr.wait_admitted(room, nxt["ticket"], timeout=5)
        waited = time.monotonic() - called_at
        self.assertEqual(admitted["status"], "admitted")
        self.assertGreater(waited, 0.5, "the next ticket was called before claim_grace passed")

        late = self.status_ok(room, absent["ticket"])
        self.assertEqual(late["status"], "expired", late)
        self.assertNotIn("token", late)
        self.assertEqual(self.vwr.metrics()['vwr_room_no_shows_total{room="noshow"}'], 1)
        # Still expired on a second try: a no-show cannot come back.
        self.assertEqual(self.status_ok(room, absent["ticket"])["status"], "expired")
        code, info = self.vwr.room_info(room)
        self.assertEqual(info["active"], 1)


if __name__ == "__main__":
    unittest.main()
