"""Traffic analysis through the real binary: requests of known counts come back exactly from
/admin/api/v1/stats per second, minute and hour, in JSON and CSV, and after a restart; the live
stream gives one event a second; hostile queries get clear 400s.
"""

import csv
import http.client
import io
import json
import time
import unittest
import urllib.parse

from vwr_harness import VwrProcess, config_yaml, room_yaml, wait_until

ROOM = "shop"
CONFIG = config_yaml(room_yaml(ROOM, max_active=1, admit_rate=0.001, burst=1))


def series(vwr, **params):
    params.setdefault("room", ROOM)
    code, _, value = vwr.admin_request("GET", "/admin/api/v1/stats?" +
                                       urllib.parse.urlencode(params))
    return code, value


def total(value, metric):
    return sum(v for _, v in value["series"][metric])


def load(vwr, joins, polls):
    """`joins` joins (the first admitted, the rest waiting), then `polls` polls of one ticket."""
    ticket = None
    for i in range(joins):
        code, value = vwr.join(ROOM, body={"pageUrl": "https://shop.example.com/p%d" % (i % 2)})
        assert code == 200, value
        if value["status"] == "waiting":
            ticket = value["ticket"]
    for _ in range(polls):
        code, value = vwr.status(ROOM, ticket)
        assert code == 200, value


class StatsTest(unittest.TestCase):
    def setUp(self):
        self.vwr = VwrProcess(CONFIG)
        self.addCleanup(self.vwr.close)

    def settled_range(self, start):
        """[from, to) covering everything sent since `start`, once its last second has closed
        and been collected (the pipeline steps just after each second ends)."""
        end = int(time.time()) + 1
        wait_until(lambda: int(time.time()) >= end + 1, timeout=5)
        return int(start) - 1, end + 1

    def test_known_counts_per_second_minute_and_hour_in_json_and_csv(self):
        start = time.time()
        load(self.vwr, joins=5, polls=20)
        frm, to = self.settled_range(start)
        metrics = "requests,joins,status_polls,requests_join,queued,admitted_now"

        def seconds_total():
            code, value = series(self.vwr, step="1s", **{"from": frm, "to": to},
                                 metrics=metrics)
            self.assertEqual(code, 200, value)
            return value if total(value, "requests") >= 25 and total(value, "joins") >= 5 \
                else None
        value = wait_until(seconds_total, timeout=5, message="the seconds collected")
        self.assertEqual(value["step"], "1s")
        self.assertEqual(len(value["series"]["requests"]), to - frm, "one point per second")
        self.assertEqual([t for t, _ in value["series"]["requests"]], list(range(frm, to)))
        self.assertEqual(total(value, "requests"), 25)
        self.assertEqual(total(value, "requests_join"), 5)
        self.assertEqual(total(value, "status_polls"), 20)
        self.assertEqual(total(value, "joins"), 5)
        self.assertEqual(total(value, "admitted_now"), 1)
        self.assertEqual(total(value, "queued"), 4)

        for step in ("1m", "1h"):
            code, value = series(self.vwr, step=step, **{"from": frm, "to": to}, metrics=metrics)
            self.assertEqual(code, 200, value)
            self.assertEqual(total(value, "requests"), 25, step)
            self.assertEqual(total(value, "status_polls"), 20, step)
            self.assertEqual(total(value, "joins"), 5, step)

        # CSV: a header row, one row per step, the same counts.
        status, headers, body = self.vwr.request(
            "GET", self.vwr.admin + "/admin/api/v1/stats?" + urllib.parse.urlencode(
                {"room": ROOM, "step": "1s", "from": frm, "to": to, "metrics": metrics,
                 "format": "csv"}),
            headers={"Authorization": "Bearer " + self.vwr.admin_token})
        self.assertEqual(status, 200)
        self.assertTrue(headers.get("Content-Type").startswith("text/csv"))
        rows = list(csv.reader(io.StringIO(body.decode())))
        self.assertEqual(rows[0], ["time"] + metrics.split(","))
        self.assertEqual(len(rows) - 1, to - frm)
        self.assertEqual(sum(int(r[1]) for r in rows[1:]), 25)
        self.assertEqual(sum(int(r[3]) for r in rows[1:]), 20)

        # The pages of the joins: p0 three times, p1 twice.
        code, _, top = self.vwr.admin_request(
            "GET", "/admin/api/v1/stats/top?" + urllib.parse.urlencode(
                {"room": ROOM, "dim": "pageUrl", "from": frm, "to": to + 60}))
        self.assertEqual(code, 200, top)
        self.assertEqual([(e["key"], e["count"]) for e in top["top"]],
                         [("https://shop.example.com/p0", 3), ("https://shop.example.com/p1", 2)])

    def test_history_survives_a_restart(self):
        start = time.time()
        load(self.vwr, joins=3, polls=7)
        frm, to = self.settled_range(start)
        wait_until(lambda: total(series(self.vwr, step="1m", **{"from": frm, "to": to})[1],
                                 "requests") == 10, timeout=5)
        data_dir = self.vwr.data_dir
        self.vwr.stop()
        again = VwrProcess(CONFIG, data_dir=data_dir)
        self.addCleanup(again.close)
        code, value = series(again, step="1m", **{"from": frm, "to": to}, metrics="requests,joins")
        self.assertEqual(code, 200, value)
        self.assertEqual(total(value, "requests"), 10)
        self.assertEqual(total(value, "joins"), 3)

    def test_the_live_stream_gives_one_event_a_second(self):
        conn = http.client.HTTPConnection(*self.vwr.admin.split("//")[1].split(":"), timeout=5)
        self.addCleanup(conn.close)
        conn.request("GET", "/admin/api/v1/live",
                     headers={"Authorization": "Bearer " + self.vwr.admin_token})
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200)
        self.assertTrue(resp.getheader("Content-Type").startswith("text/event-stream"))
        seconds = []
        began = time.monotonic()
        while len(seconds) < 4:
            line = resp.readline().decode()
            self.assertTrue(line, "the stream ended")
            if line.startswith("data: "):
                event = json.loads(line[6:])
                self.assertIn(ROOM, event["rooms"])
                seconds.append(event["t"])
            if len(seconds) == 1:
                load(self.vwr, joins=2, polls=0)
        self.assertLess(time.monotonic() - began, 6)
        # Consecutive seconds, each once (the first may be the one just before the stream).
        self.assertEqual(seconds[1:], list(range(seconds[1], seconds[1] + 3)), seconds)
        # Without the admin token: no stream.
        code, _, _ = self.vwr.admin_request("GET", "/admin/api/v1/live", token=False)
        self.assertEqual(code, 401)

    def test_hostile_queries_are_refused_clearly(self):
        now = int(time.time())
        cases = [
            ({"from": now, "to": now - 60}, "from must be before to"),
            ({"from": 0, "to": 10 ** 12, "step": "1s"}, "at most"),
            ({"from": -5}, "from: unix seconds expected"),
            ({"to": "1e9"}, "to: unix seconds expected"),
            ({"from": 10 ** 30}, "from: unix seconds expected"),
            ({"metrics": "requests,rm -rf"}, "unknown metric"),
            ({"metrics": ""}, "unknown metric"),
            ({"step": "1d"}, "step"),
            ({"format": "xml"}, "format"),
        ]
        for params, message in cases:
            code, value = series(self.vwr, **params)
            self.assertEqual(code, 400, (params, value))
            self.assertEqual(value["error"]["code"], "bad_request")
            self.assertIn(message, value["error"]["message"], params)
        for k in ("1000000000", "0", "-1", "x"):
            code, _, value = self.vwr.admin_request(
                "GET", "/admin/api/v1/stats/top?room=%s&dim=ip&k=%s" % (ROOM, k))
            self.assertEqual(code, 400, (k, value))
        code, _, value = self.vwr.admin_request(
            "GET", "/admin/api/v1/stats/top?room=%s&dim=password" % ROOM)
        self.assertEqual(code, 400, value)
        code, _, value = self.vwr.admin_request(
            "GET", "/admin/api/v1/stats/peaks?room=%s&period=week" % ROOM)
        self.assertEqual(code, 400, value)
        # A room that is not one (a spreadsheet formula) is not found, and not echoed.
        code, _, value = self.vwr.admin_request(
            "GET", "/admin/api/v1/stats?room=" + urllib.parse.quote('=HYPERLINK("x")'))
        self.assertEqual(code, 404, value)
        self.assertNotIn("HYPERLINK", json.dumps(value))
        # The node still answers.
        code, value = series(self.vwr)
        self.assertEqual(code, 200, value)


if __name__ == "__main__":
    unittest.main()
