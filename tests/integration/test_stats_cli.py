"""`vwr stats series|top|peaks` against a running node: the same figures as the admin API, as a
table, CSV or JSON; clear errors when the node cannot be reached, the token is wrong or missing,
or the query is refused.
"""

import csv
import io
import json
import os
import tempfile
import time
import unittest
import urllib.parse

from redis_harness import free_port
from vwr_harness import VwrProcess, config_yaml, room_yaml, run_vwr, wait_until

ROOM = "shop"
CONFIG = config_yaml(room_yaml(ROOM, max_active=1, admit_rate=0.001, burst=1))


class StatsCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vwr = VwrProcess(CONFIG)
        cls.tmp = tempfile.mkdtemp(prefix="vwr-stats-cli-")
        cls.token_file = os.path.join(cls.tmp, "admin.token")
        with open(cls.token_file, "w", encoding="utf-8") as f:
            f.write(cls.vwr.admin_token + "\n")
        # Known traffic: 3 joins (2 on page a, 1 on page b), then 4 polls of a waiting ticket.
        start = int(time.time())
        ticket = None
        for page in ("a", "a", "b"):
            code, value = cls.vwr.join(ROOM, body={"pageUrl": "https://shop.example/" + page})
            assert code == 200, value
            ticket = value.get("ticket") if value["status"] == "waiting" else ticket
        for _ in range(4):
            assert cls.vwr.status(ROOM, ticket)[0] == 200
        cls.frm = start - 1
        cls.to = int(time.time()) + 2
        wait_until(lambda: int(time.time()) >= cls.to + 1, timeout=5)

        def collected():
            code, _, value = cls.vwr.admin_request("GET", "/admin/api/v1/stats?" + urllib.parse.urlencode(
                {"room": ROOM, "step": "1m", "from": cls.frm, "to": cls.to, "metrics": "requests"}))
            return code == 200 and sum(v for _, v in value["series"]["requests"]) == 7
        wait_until(collected, timeout=5, message="the load collected")

    @classmethod
    def tearDownClass(cls):
        cls.vwr.close()

    def stats(self, *args, token_file=True, admin=None, env=None):
        argv = ["stats"] + list(args[:1]) + ["--admin", admin or self.vwr.admin, "--room", ROOM]
        if token_file:
            argv += ["--token-file", self.token_file]
        return run_vwr(argv + list(args[1:]), env=env, timeout=20)

    def range_args(self):
        return ["--from", str(self.frm), "--to", str(self.to)]

    def api(self, path, **params):
        params.setdefault("room", ROOM)
        code, _, value = self.vwr.admin_request("GET", path + "?" + urllib.parse.urlencode(params))
        self.assertEqual(code, 200, value)
        return value

    def test_series_as_a_table_gives_the_known_counts(self):
        done = self.stats("series", *self.range_args(), "--step", "1s",
                          "--metrics", "requests,joins,status_polls")
        self.assertEqual(done.returncode, 0, done.stderr)
        lines = done.stdout.splitlines()
        self.assertTrue(lines[0].startswith("room shop, step 1s, "), lines[0])
        self.assertEqual(lines[1].split(), ["time", "(UTC)", "requests", "joins", "status_polls"])
        rows = [line.split() for line in lines[2:]]
        self.assertEqual(len(rows), self.to - self.frm, "one row per second")
        self.assertEqual(rows[0][0:2], time.strftime("%Y-%m-%d %H:%M:%S",
                                                     time.gmtime(self.frm)).split())
        self.assertEqual(sum(int(r[2]) for r in rows), 7)
        self.assertEqual(sum(int(r[3]) for r in rows), 3)
        self.assertEqual(sum(int(r[4]) for r in rows), 4)

    def test_csv_and_json_are_what_the_admin_api_answers(self):
        args = self.range_args() + ["--step", "1m", "--metrics", "requests,joins"]
        done = self.stats("series", *args, "--format", "csv")
        self.assertEqual(done.returncode, 0, done.stderr)
        rows = list(csv.reader(io.StringIO(done.stdout)))
        self.assertEqual(rows[0], ["time", "requests", "joins"])
        self.assertEqual(sum(int(r[1]) for r in rows[1:]), 7)
        self.assertEqual(sum(int(r[2]) for r in rows[1:]), 3)

        done = self.stats("series", *args, "--format", "json")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(json.loads(done.stdout),
                         self.api("/admin/api/v1/stats", step="1m", metrics="requests,joins",
                                  **{"from": self.frm, "to": self.to}))

    def test_top_and_peaks(self):
        done = self.stats("top", *self.range_args(), "--dim", "pageUrl", "-k", "5")
        self.assertEqual(done.returncode, 0, done.stderr)
        lines = done.stdout.splitlines()
        self.assertIn("top pageUrl", lines[0])
        self.assertEqual(lines[1].split(), ["#", "key", "count", "share"])
        self.assertEqual([line.split()[:3] for line in lines[2:]],
                         [["1", "https://shop.example/a", "2"], ["2", "https://shop.example/b", "1"]])
        self.assertIn("66.7 %", lines[2])

        done = self.stats("peaks", "--period", "minute", "--from", str(self.frm - 120),
                          "--to", str(self.to + 60), "-k", "1")
        self.assertEqual(done.returncode, 0, done.stderr)
        lines = done.stdout.splitlines()
        self.assertIn("busiest minutes by requests", lines[0])
        header = lines[1].split()
        self.assertEqual(header[:4], ["#", "start", "(UTC)", "requests"])
        self.assertEqual(len(lines), 3, done.stdout)
        row = lines[2].split()
        self.assertEqual(row[0], "1")
        # Everything happened within at most two minutes: the busiest holds at least half.
        self.assertGreaterEqual(int(row[3]), 4)
        self.assertIn("joins", header, "the period's other figures are shown too")

    def test_the_token_may_come_from_the_environment(self):
        done = self.stats("series", *self.range_args(), token_file=False,
                          env={"VWR_ADMIN_TOKEN": self.vwr.admin_token})
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("requests", done.stdout)

    def test_clear_errors(self):
        # No token at all.
        done = self.stats("series", token_file=False)
        self.assertEqual(done.returncode, 1)
        self.assertIn("no admin token", done.stderr)
        self.assertEqual(done.stdout, "")
        # A wrong token.
        wrong = os.path.join(self.tmp, "wrong.token")
        with open(wrong, "w", encoding="utf-8") as f:
            f.write("0" * 48 + "\n")
        done = run_vwr(["stats", "series", "--admin", self.vwr.admin, "--token-file", wrong])
        self.assertEqual(done.returncode, 1)
        self.assertIn("refused the admin token (401", done.stderr)
        self.assertNotIn("0" * 48, done.stderr, "the token is not echoed")
        # A token file that is not there.
        done = run_vwr(["stats", "series", "--admin", self.vwr.admin,
                        "--token-file", os.path.join(self.tmp, "none")])
        self.assertEqual(done.returncode, 1)
        self.assertIn("cannot read the admin token file", done.stderr)
        # Nobody listening.
        done = self.stats("series", admin="http://127.0.0.1:%d" % free_port())
        self.assertEqual(done.returncode, 1)
        self.assertIn("cannot reach the admin listener at http://127.0.0.1:", done.stderr)
        # Not a URL.
        done = self.stats("series", admin="127.0.0.1:8081")
        self.assertEqual(done.returncode, 1)
        self.assertIn("--admin", done.stderr)
        # A query the node refuses: its reason, not a table.
        done = self.stats("series", "--metrics", "requests,nope")
        self.assertEqual(done.returncode, 1)
        self.assertIn("refused the query (400): metrics: unknown metric \"nope\"", done.stderr)
        done = self.stats("top", "--dim", "password")
        self.assertEqual(done.returncode, 1)
        self.assertIn("(400)", done.stderr)
        # A wrong option, before anything is sent.
        done = self.stats("series", "--last", "a while")
        self.assertEqual(done.returncode, 1)
        self.assertIn("--last: a duration expected", done.stderr)


if __name__ == "__main__":
    unittest.main()
