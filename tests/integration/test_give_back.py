"""Giving back a place in line, and the estimated wait's range, against the real binary.

POST /api/v1/rooms/{room}/leave with X-VWR-Ticket (and no admission token) gives back a waiting
or called place: 204; the line shrinks at once, nobody's position grows, the frontier passes the
place without a slot, a called place's slot returns at once (not after claim_grace). Attacks:
someone else's ticket (altered, of another room, unsigned), a replayed give-back, giving back and
re-joining with the same ticket to jump the line, huge values. TRACER: outQueue.do for a waiting
identity gives its place back; the JSON form carries etaSeconds and etaRange, the XML form stays
as it was. Runs on both stores (integration.test_give_back and integration.redis.test_give_back).
"""

import json
import unittest
import urllib.parse

from vwr_harness import LineChecks, VwrProcess, config_yaml, request, room_yaml, wait_until

POLL = dict(poll_min="100ms", poll_max="1s")
TRACER_FIELDS = ["host", "ip", "loginId", "port", "pageUrl", "isWait", "waitCnt", "limitCnt",
                 "session_time_out", "waitQueueSize", "waitMyCnt", "userAgent", "tracer_domain"]


def room(name, **extra):
    settings = dict(max_active=1, admit_rate=100, burst=1, session_timeout="60s",
                    claim_grace="60s", **POLL)
    settings.update(extra)
    return room_yaml(name, **settings)


CONFIG = config_yaml(
    room("line"), room("attack"), room("other"), room("replay"), room("jump"), room("called"),
    room("huge"), room("eta"),
    room("tq", match='[{host: "tq.example.com", path_prefix: "/"}]'),
)


class GiveBackTest(LineChecks, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vwr = VwrProcess(CONFIG)
        cls.addClassCleanup(cls.vwr.close)

    # ----- helpers -----

    def give_back(self, room_id, ticket):
        code, _, body = self.vwr.json_request("POST", "/api/v1/rooms/%s/leave" % room_id,
                                              headers={"X-VWR-Ticket": ticket})
        return code, body

    def positions(self, room_id, line):
        return [self.status(room_id, t["ticket"]) for t in line]

    def assert_never_grew(self, before, after):
        for b, a in zip(before, after):
            if a["status"] == "waiting" and b["status"] == "waiting":
                self.assertLessEqual(a["position"], b["position"], (b, a))

    def assert_fifo(self, line, admitted_order):
        """Those let in were let in in their order in line."""
        numbers = [line.index(t) for t in admitted_order]
        self.assertEqual(numbers, sorted(numbers), "FIFO broken")

    def drain(self, room_id, holder_token, line, given_back):
        """Lets the line through one at a time (each leaves once in) and returns who was let in,
        in order; checks positions never grow and at most max_active (1) is inside at a time."""
        admitted = []
        token = holder_token
        last = self.positions(room_id, line)
        while True:
            code, _, _ = self.vwr.leave(room_id, token)
            self.assertEqual(code, 204)
            remaining = [t for t in line if t not in admitted and t not in given_back]
            if not remaining:
                return admitted
            got = {}

            def someone_in():
                now = self.positions(room_id, line)
                self.assert_never_grew(last, now)
                last[:] = now
                inside = [(t, a) for t, a in zip(line, now) if a["status"] == "admitted"
                          and t not in admitted]
                self.assertLessEqual(len(inside), 1, "more than max_active inside")
                if inside:
                    got["t"], got["a"] = inside[0]
                return bool(inside)

            wait_until(someone_in, timeout=10, message="nobody was let in")
            admitted.append(got["t"])
            token = got["a"]["token"]

    # ----- the native API -----

    def test_a_waiting_place_given_back_leaves_the_line_and_takes_no_slot(self):
        holder, line = self.fill("line", 4)
        self.assertEqual(self.queue_size("line"), 4)
        before = self.positions("line", line)
        code, body = self.give_back("line", line[1]["ticket"])
        self.assertEqual(code, 204, body)
        self.assertEqual(self.queue_size("line"), 3, "the place left the line at once")
        self.assertEqual(self.status("line", line[1]["ticket"])["status"], "expired")
        after = self.positions("line", line)
        self.assert_never_grew(before, after)
        admitted = self.drain("line", holder["token"], line, [line[1]])
        self.assertEqual(admitted, [line[0], line[2], line[3]])
        self.assert_fifo(line, admitted)
        self.assertEqual(self.status("line", line[1]["ticket"])["status"], "expired",
                         "the place given back was passed over, never called")

    def test_a_called_place_given_back_returns_its_slot_at_once(self):
        # claim_grace is 60 s: without the give-back the next person would wait that long.
        holder, line = self.fill("called", 2)
        code, _, _ = self.vwr.leave("called", holder["token"])
        self.assertEqual(code, 204)
        # line[0] is called now (it has not polled since); it gives the call back unclaimed.
        code, body = self.give_back("called", line[0]["ticket"])
        self.assertEqual(code, 204, body)
        wait_until(lambda: self.status("called", line[1]["ticket"])["status"] == "admitted",
                   timeout=5, message="the slot of the call given back never returned")
        self.assertEqual(self.status("called", line[0]["ticket"])["status"], "expired")

    def test_someone_elses_ticket_gives_back_nothing(self):
        _, line = self.fill("attack", 2)
        victim = line[0]["ticket"]
        other = self.join("other")["ticket"]  # admitted there: a genuine ticket of another room
        altered = victim[:-2] + ("AA" if victim[-2:] != "AA" else "BB")
        for forged in (altered, other, "not-a-ticket", victim + "x", victim.upper()):
            if forged == victim:
                continue
            code, body = self.give_back("attack", forged)
            self.assertEqual(code, 401, (forged, body))
            self.assertEqual(body["error"]["code"], "invalid_ticket")
        self.assertEqual(self.queue_size("attack"), 2, "nothing was given back")
        self.assertEqual(self.status("attack", victim)["position"], 1, "the victim keeps its place")

    def test_a_replayed_give_back_changes_nothing_more(self):
        _, line = self.fill("replay", 3)
        for _ in range(3):
            code, body = self.give_back("replay", line[0]["ticket"])
            self.assertEqual(code, 204, body)
        self.assertEqual(self.queue_size("replay"), 2, "given back once, counted once")
        self.assertEqual(self.status("replay", line[1]["ticket"])["status"], "waiting")
        self.assertEqual(self.status("replay", line[2]["ticket"])["status"], "waiting")

    def test_giving_back_then_rejoining_with_the_ticket_goes_to_the_end(self):
        _, line = self.fill("jump", 3)
        code, _ = self.give_back("jump", line[0]["ticket"])
        self.assertEqual(code, 204)
        again = self.join("jump", headers={"X-VWR-Ticket": line[0]["ticket"]})
        self.assertEqual(again["status"], "waiting", again)
        self.assertNotEqual(again["ticket"], line[0]["ticket"], "a new place, not the old one")
        others = self.positions("jump", line[1:])
        self.assertGreater(again["position"], max(o["position"] for o in others),
                           "behind everyone who was in line")
        # The old ticket stays spent: another re-join with it does not bring it back either.
        third = self.join("jump", headers={"X-VWR-Ticket": line[0]["ticket"]})
        self.assertGreater(third["position"], again["position"])

    def test_huge_and_malformed_values_are_clear_errors(self):
        _, line = self.fill("huge", 1)
        for value in ("A" * 4000, "\u00e9" * 10, "%00" * 50, "9" * 300):
            code, body = self.give_back("huge", value)
            self.assertIn(code, (400, 401, 431), (value[:20], code, body))
        code, _, _ = request("POST", self.vwr.url("/api/v1/rooms/huge/leave"),
                             headers={"X-VWR-Ticket": "A" * 200000})
        self.assertIn(code, (400, 401, 431))
        self.assertEqual(self.queue_size("huge"), 1)
        self.assertEqual(self.status("huge", line[0]["ticket"])["position"], 1)

    def test_a_waiting_answer_carries_its_range(self):
        holder, line = self.fill("eta", 3)
        for t in [line[-1], self.status("eta", line[-1]["ticket"])]:
            self.assertIn("etaRange", t)
            low, high = t["etaRange"]
            self.assertLessEqual(low, t["etaSeconds"])
            self.assertLessEqual(t["etaSeconds"], high)
            self.assertGreaterEqual(low, 0)
        code, info = self.vwr.room_info("eta")
        self.assertEqual(code, 200)
        low, high = info["etaRange"]
        self.assertLessEqual(low, info["etaSeconds"])
        self.assertLessEqual(info["etaSeconds"], high)
        self.assertEqual(holder["etaRange"], [0, 0], "admitted: nothing to wait")
        code, _, _ = self.vwr.set_policy("eta", {"mode": "pause"})
        self.assertEqual(code, 200)
        paused = self.status("eta", line[0]["ticket"])
        self.assertIsNone(paused["etaSeconds"])
        self.assertIsNone(paused["etaRange"])

    # ----- TRACER -----

    def tracer(self, endpoint, login_id, json_form=False):
        fields = dict(host="tq.example.com", ip="10.1.2.3", loginId=login_id, port="443",
                      pageUrl="https://tq.example.com/item", userAgent="LegacyClient/1.0")
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if json_form:
            headers["Accept"] = "application/json"
        code, _, body = request("POST", self.vwr.url("/TRACERAPI/" + endpoint),
                                body=urllib.parse.urlencode(fields), headers=headers)
        self.assertEqual(code, 200, body)
        return body.decode("utf-8")

    def test_tracer_check_out_of_a_waiting_identity_gives_its_place_back(self):
        self.assertIn('"F"', self.tracer("inputQueue.do", "t-holder", json_form=True))
        first = json.loads(self.tracer("inputQueue.do", "t-first", json_form=True))
        second = json.loads(self.tracer("inputQueue.do", "t-second", json_form=True))
        self.assertEqual((first["isWait"], second["isWait"]), ("T", "T"))
        self.assertEqual(list(second)[:len(TRACER_FIELDS)], TRACER_FIELDS)
        self.assertEqual(list(second)[len(TRACER_FIELDS):], ["etaSeconds", "etaRange"],
                         "the JSON form's extra fields come after the 13")
        low, high = second["etaRange"]
        self.assertLessEqual(low, second["etaSeconds"])
        self.assertLessEqual(second["etaSeconds"], high)
        xml = self.tracer("inputQueue.do", "t-second")
        self.assertNotIn("eta", xml, "the XML form stays as it was")
        self.assertEqual(second["waitQueueSize"], "2")

        out = json.loads(self.tracer("outQueue.do", "t-first", json_form=True))
        self.assertEqual(out["isWait"], "F")
        after = json.loads(self.tracer("inputQueue.do", "t-second", json_form=True))
        self.assertEqual(after["waitQueueSize"], "1", "the place left the line")
        self.assertLessEqual(int(after["waitCnt"]), int(second["waitCnt"]))
        # Back again: a new place behind t-second, not the old one ahead of it.
        back = json.loads(self.tracer("inputQueue.do", "t-first", json_form=True))
        self.assertEqual(back["isWait"], "T")
        self.assertGreater(int(back["waitCnt"]), int(after["waitCnt"]))


if __name__ == "__main__":
    unittest.main()
