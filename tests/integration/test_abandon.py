"""Abandonment against the real binary: a waiting ticket that stops polling leaves the line.

A ticket silent for rooms[].abandon_after_polls of its pollAfterMs stops counting in queueSize;
the frontier passes it without calling it, so it takes no slot; those still polling see the line
shrink and move up faster, and are let in in their order (FIFO). One that polls again before its
place is reached keeps its place. Positions never grow. abandon_after_polls is read and changed at
run time through the admin policy API (0: off). The count reaches /metrics and the traffic
analysis (metrics=abandoned). Attacks: a client that polls just often enough keeps its place but
never gets a better one; an abandoned ticket passed by the frontier and then replayed (polled,
or presented to join again) does not jump the line. Runs on both stores (integration.test_abandon
and integration.redis.test_abandon).

The rooms poll quickly (poll.max 200ms, two polls of silence: abandoned after about half a
second), so the test waits for conditions, never for fixed times.
"""

import time
import unittest
import urllib.parse

from vwr_harness import LineChecks, VwrProcess, config_yaml, room_yaml, wait_until

# Answers say pollAfterMs of at most 220 ms (poll.max with its jitter); two of them plus a tick
# is the longest a present ticket may stay silent.
POLL = dict(poll_min="100ms", poll_max="200ms")
SILENCE_S = 2 * 0.22 + 0.1


def room(name, **extra):
    settings = dict(max_active=1, admit_rate=100, burst=1, session_timeout="60s",
                    claim_grace="60s", abandon_after_polls=2, **POLL)
    settings.update(extra)
    return room_yaml(name, **settings)


CONFIG = config_yaml(room("line"), room("back"), room("steady", abandon_after_polls=3),
                     room("replay"), room("policy"), room("stats"))


class AbandonTest(LineChecks, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vwr = VwrProcess(CONFIG)
        cls.addClassCleanup(cls.vwr.close)

    # ----- helpers -----

    def poll(self, room_id, present, last):
        """Polls every ticket in `present` once; checks no position grew since `last` (a dict
        ticket -> answer, updated) and returns the answers."""
        answers = [self.status(room_id, t["ticket"]) for t in present]
        for t, a in zip(present, answers):
            before = last.get(t["ticket"])
            if before and before["status"] == "waiting" and a["status"] == "waiting":
                self.assertLessEqual(a["position"], before["position"], (before, a))
                self.assertLessEqual(a["queueSize"], before["queueSize"] + 1, (before, a))
            last[t["ticket"]] = a
        return answers

    def drain(self, room_id, holder_token, present, last, poll_line=None):
        """Lets those still polling in, one at a time (each leaves once in), polling them with
        `poll_line` (default: each, every time) meanwhile; returns the order they were let in.
        At most one (max_active) is inside."""
        admitted = []
        token = holder_token
        while True:
            code, _, _ = self.vwr.leave(room_id, token)
            self.assertEqual(code, 204)
            remaining = [t for t in present if t not in admitted]
            if not remaining:
                return admitted
            got = {}

            def someone_in():
                answers = (poll_line or (lambda w: self.poll(room_id, w, last)))(remaining)
                inside = [(t, a) for t, a in zip(remaining, answers) if a["status"] == "admitted"]
                self.assertLessEqual(len(inside), 1, "more than max_active inside")
                if inside:
                    got["t"], got["a"] = inside[0]
                return bool(inside)

            wait_until(someone_in, timeout=10, message="nobody was let in")
            admitted.append(got["t"])
            token = got["a"]["token"]

    def policy(self, room_id):
        code, _, body = self.vwr.policy(room_id)
        self.assertEqual(code, 200, body)
        return body

    def abandoned_total(self, room_id):
        return self.vwr.metrics().get('vwr_room_abandoned_total{room="%s"}' % room_id)

    # ----- the line -----

    def test_silent_waiters_leave_the_line_and_the_present_are_let_in_in_order(self):
        holder, line = self.fill("line", 6)
        present = [line[0], line[2], line[5]]
        last = {}
        # line[1], line[3] and line[4] never poll again: the line shrinks to those still polling.
        # Polled until every answer leaves them out (a tick may mark them between two polls).
        wait_until(lambda: self.poll("line", present, last) and
                   all(last[t["ticket"]]["queueSize"] == 3 for t in present) and
                   self.queue_size("line") == 3,
                   timeout=10, message="the silent tickets never left queueSize")
        self.assertEqual([last[t["ticket"]]["queueSize"] for t in present], [3, 3, 3],
                         "every poll's answer leaves them out too")
        self.assertEqual(last[line[5]["ticket"]]["position"], 6,
                         "a place behind a silent one is not renumbered: positions never grow")
        admitted = self.drain("line", holder["token"], present, last)
        self.assertEqual(admitted, present, "FIFO among those still there")
        # Each silent one was passed over without a call: it never held a slot, and it is gone.
        for silent in (line[1], line[3], line[4]):
            self.assertEqual(self.status("line", silent["ticket"])["status"], "expired")
        wait_until(lambda: self.abandoned_total("line") == 3, timeout=5,
                   message="vwr_room_abandoned_total did not count the three")

    def test_a_waiter_that_comes_back_before_its_turn_keeps_its_place(self):
        holder, line = self.fill("back", 3)
        first, away, third = line
        last = {}
        wait_until(lambda: self.poll("back", [first, third], last) and
                   self.queue_size("back") == 2,
                   timeout=10, message="the silent ticket never left queueSize")
        again = self.status("back", away["ticket"])
        self.assertEqual((again["status"], again["position"]), ("waiting", 2), again)
        wait_until(lambda: self.poll("back", line, last) and self.queue_size("back") == 3,
                   timeout=5, message="the returning ticket was not counted again")
        admitted = self.drain("back", holder["token"], line, last)
        self.assertEqual(admitted, line, "it was let in at its own place, in order")

    # ----- attacks -----

    def test_polling_just_often_enough_keeps_the_place_but_never_a_better_one(self):
        # abandon_after_polls is 3 here; `edge` polls only every second pollAfterMs it is told
        # (N-1 intervals: never silent long enough to be abandoned), the others all the time. It
        # keeps its place and gains nothing on the others.
        holder, line = self.fill("steady", 4)
        edge = line[1]
        last = {}
        next_edge = [0.0]

        def poll_line(waiting):
            if edge in waiting and time.monotonic() >= next_edge[0]:
                answer = self.poll("steady", [edge], last)[0]
                next_edge[0] = time.monotonic() + 2 * answer.get("pollAfterMs", 0) / 1000.0
            self.poll("steady", [t for t in waiting if t is not edge], last)
            return [last[t["ticket"]] for t in waiting]

        deadline = time.monotonic() + 4 * SILENCE_S
        wait_until(lambda: poll_line(line) and time.monotonic() >= deadline, timeout=10)
        self.assertEqual(self.queue_size("steady"), 4, "nobody was silent long enough to leave")
        self.assertEqual(last[edge["ticket"]]["position"], 2, "its own place, not a better one")
        admitted = self.drain("steady", holder["token"], line, last, poll_line)
        self.assertEqual(admitted, line, "FIFO: the sparse poller was let in at its own place")

    def test_an_abandoned_ticket_replayed_after_its_turn_goes_to_the_back(self):
        holder, line = self.fill("replay", 3)
        gone, second, third = line
        last = {}
        wait_until(lambda: self.poll("replay", [second, third], last) and
                   self.queue_size("replay") == 2,
                   timeout=10, message="the silent ticket never left queueSize")
        code, _, _ = self.vwr.leave("replay", holder["token"])
        self.assertEqual(code, 204)
        # The frontier passes `gone` without a call and calls `second`.
        wait_until(lambda: self.poll("replay", [second, third], last)[0]["status"] == "admitted",
                   timeout=5, message="the next present ticket was not let in")
        self.assertEqual(self.status("replay", gone["ticket"])["status"], "expired",
                         "its turn passed: polling again does not bring the place back")
        again = self.join("replay", headers={"X-VWR-Ticket": gone["ticket"]})
        self.assertEqual(again["status"], "waiting", again)
        self.assertNotEqual(again["ticket"], gone["ticket"])
        third_now = self.status("replay", third["ticket"])
        self.assertGreater(again["position"], third_now["position"], "behind everyone in line")

    # ----- run-time policy and analysis -----

    def test_the_policy_api_reads_and_changes_abandon_after_polls(self):
        self.assertEqual(self.policy("policy")["abandon_after_polls"], 2)
        for bad in (-1, 1001, "5", 1.5, None):
            code, _, body = self.vwr.set_policy("policy", {"abandon_after_polls": bad})
            self.assertEqual(code, 400, (bad, body))
        self.assertEqual(self.policy("policy")["abandon_after_polls"], 2)
        code, _, body = self.vwr.set_policy("policy", {"abandon_after_polls": 0})
        self.assertEqual(code, 200, body)
        self.assertEqual(self.policy("policy")["abandon_after_polls"], 0)
        # Off: a ticket silent for many times what would abandon it stays in the line.
        _, line = self.fill("policy", 2)
        last = {}
        deadline = time.monotonic() + 4 * SILENCE_S
        wait_until(lambda: self.poll("policy", [line[1]], last) and time.monotonic() >= deadline,
                   timeout=10)
        self.assertEqual(self.queue_size("policy"), 2, "abandonment is off")
        # On again: the silent one leaves the line after its allowance from the change.
        code, _, body = self.vwr.set_policy("policy", {"abandon_after_polls": 1})
        self.assertEqual(code, 200, body)
        self.assertEqual(self.policy("policy")["abandon_after_polls"], 1)
        wait_until(lambda: self.poll("policy", [line[1]], last) and
                   self.queue_size("policy") == 1,
                   timeout=10, message="the silent ticket never left the line once switched on")

    def test_the_traffic_analysis_counts_abandonments(self):
        frm = int(time.time()) - 1
        holder, line = self.fill("stats", 3)
        last = {}
        wait_until(lambda: self.poll("stats", [line[2]], last) and self.queue_size("stats") == 1,
                   timeout=10, message="the silent tickets never left queueSize")
        code, _, _ = self.vwr.leave("stats", holder["token"])
        self.assertEqual(code, 204)
        wait_until(lambda: self.poll("stats", [line[2]], last)[0]["status"] == "admitted",
                   timeout=5, message="the present ticket was not let in")

        def counted():
            to = int(time.time()) + 1
            code, _, value = self.vwr.admin_request(
                "GET", "/admin/api/v1/stats?" + urllib.parse.urlencode(
                    {"room": "stats", "step": "1s", "from": frm, "to": to,
                     "metrics": "abandoned,no_shows"}))
            self.assertEqual(code, 200, value)
            series = value["series"]
            return (sum(v for _, v in series["abandoned"]),
                    sum(v for _, v in series["no_shows"]))

        wait_until(lambda: counted() == (2, 0), timeout=10,
                   message="the analysis did not count two abandonments (and no no-shows)")


if __name__ == "__main__":
    unittest.main()
