"""Traffic analysis of a cluster: three nodes on one real Redis. Whichever node is asked, the
figures are the sum of what each node served; a node killed with SIGKILL loses at most its last
seconds, never the history already written.
"""

import os
import shutil
import tempfile
import time
import unittest
import urllib.parse

from redis_harness import RedisServer, redis_available
from vwr_harness import VwrProcess, config_yaml, json_request, room_yaml, wait_until

ROOM = "sale"
TOKEN = "stats-cluster-admin-token-0123"
METRICS = "requests,requests_join,status_polls,joins,admitted_now,leaves"


def cluster_config(redis_url, key_file, key_dir):
    # Everyone is admitted at once: joins, polls of the admitted ticket and leaves are the
    # known counts.
    return config_yaml(
        room_yaml(ROOM, max_active=10000, admit_rate=10000, burst=10000),
        extra=("store:\n  kind: redis\n  redis:\n    url: %s\n    lease: 1s\n"
               "secrets:\n  ticket_key_file: %s\ntokens:\n  key_dir: %s\n"
               % (redis_url, key_file, key_dir)))


def drive(node, joins, polls, leaves):
    """`joins` joins at `node`, `polls` status polls of the first ticket and `leaves` leaves."""
    admitted = []
    for _ in range(joins):
        code, value = node.join(ROOM)
        assert code == 200 and value["status"] == "admitted", value
        admitted.append(value)
    for _ in range(polls):
        code, value = node.status(ROOM, admitted[0]["ticket"])
        assert code == 200, value
    for a in admitted[:leaves]:
        code, _, _ = node.leave(ROOM, a["token"])
        assert code == 204, code
    return joins + polls + leaves


@unittest.skipUnless(redis_available(), "redis-server is not installed (scripts/install-deps)")
class ClusterStatsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vwr-stats-cluster-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.redis = RedisServer()
        self.addCleanup(self.redis.close)
        text = cluster_config(self.redis.url, os.path.join(self.tmp, "ticket.key"),
                              os.path.join(self.tmp, "keys"))
        self.nodes = []
        for _ in range(3):
            node = VwrProcess(text, env={"VWR_ADMIN_TOKEN": TOKEN})
            self.addCleanup(node.close)
            self.nodes.append(node)
        for node in self.nodes:
            wait_until(lambda node=node: json_request("GET", node.admin + "/readyz")[0] == 200,
                       10, message="node ready")

    def totals(self, node, frm, to, step):
        code, _, value = node.admin_request("GET", "/admin/api/v1/stats?" + urllib.parse.urlencode(
            {"room": ROOM, "step": step, "from": frm, "to": to, "metrics": METRICS}))
        self.assertEqual(code, 200, value)
        return {m: sum(v for _, v in points) for m, points in value["series"].items()}

    def settle(self):
        """The second after now has closed and every node has stepped past it."""
        end = int(time.time()) + 1
        wait_until(lambda: time.time() >= end + 1.2, timeout=5)
        return end + 1

    def test_every_node_answers_the_sum_of_what_each_served_and_a_killed_node_loses_no_history(self):
        frm = int(time.time()) - 1
        # Different, known counts at each node.
        plan = [(2, 5, 1), (3, 6, 2), (4, 7, 0)]
        requests = [drive(node, *counts) for node, counts in zip(self.nodes, plan)]
        expected = {
            "requests": sum(requests),
            "requests_join": 2 + 3 + 4,
            "status_polls": 5 + 6 + 7,
            "joins": 2 + 3 + 4,
            "admitted_now": 2 + 3 + 4,
            "leaves": 1 + 2 + 0,
        }
        to = self.settle()
        for step in ("1s", "1m", "1h"):
            for node in self.nodes:
                got = wait_until(
                    lambda node=node, step=step: (lambda t: t if t == expected else None)(
                        self.totals(node, frm, to + 3600, step)),
                    timeout=5, message="node %s, step %s: %r" % (
                        node.admin, step, self.totals(node, frm, to + 3600, step)))
                self.assertEqual(got, expected)

        # The third node is killed (no goodbye): what was written stays, on every node left.
        before = expected
        victim = self.nodes[2]
        late = drive(victim, 1, 3, 0)  # its last requests: may or may not have been sent
        victim.kill()
        for node in self.nodes[:2]:
            after = self.totals(node, frm, to + 3600, "1m")
            for metric, count in before.items():
                self.assertGreaterEqual(after[metric], count, (metric, after))
            self.assertLessEqual(after["requests"], before["requests"] + late, after)
        # The survivors keep counting, and so does the history.
        frm2 = int(time.time()) - 1
        drive(self.nodes[0], 1, 1, 0)
        to2 = self.settle()
        wait_until(lambda: self.totals(self.nodes[1], frm2, to2, "1s")["requests"] == 2, 5,
                   message="the survivors' new traffic, read through another node")
        again = self.totals(self.nodes[1], frm, to + 3600, "1h")
        self.assertGreaterEqual(again["requests"], before["requests"] + 2)
        self.assertGreaterEqual(again["joins"], before["joins"] + 1)


if __name__ == "__main__":
    unittest.main()
