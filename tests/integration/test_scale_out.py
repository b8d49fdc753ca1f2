"""Scale-out: several vwr nodes sharing rooms through a real Redis (store.kind: redis).

Each test starts its own redis-server on loopback and three nodes on it. The nodes share the
ticket key through one key file and the admission token keys through one key directory, as
nodes on several machines would share them through a mounted volume.
"""

import os
import re
import shutil
import signal
import tempfile
import time
import unittest

from redis_harness import RedisServer, redis_available
from vwr_harness import VwrProcess, config_yaml, json_request, room_yaml, wait_until

LEASE_MS = 1000
ROOM = "sale"
KEY = "vwr:{%s}:" % ROOM


def cluster_config(redis_url, key_file, key_dir, **policy):
    room = dict(max_active=50, admit_rate=200, burst=50, claim_grace="5s", session_timeout="60s",
                poll_min="100ms", poll_max="1s")
    room.update(policy)
    return config_yaml(
        room_yaml(ROOM, **room),
        extra=("store:\n  kind: redis\n  redis:\n    url: %s\n    lease: %dms\n"
               "secrets:\n  ticket_key_file: %s\ntokens:\n  key_dir: %s\n"
               % (redis_url, LEASE_MS, key_file, key_dir)))


@unittest.skipUnless(redis_available(), "redis-server is not installed (scripts/install-deps)")
class ScaleOutTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vwr-scale-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.redis = RedisServer(appendonly=True)
        self.addCleanup(self.redis.close)
        self.db = self.redis.client()
        self.addCleanup(self.db.close)
        self.key_file = os.path.join(self.tmp, "ticket.key")
        self.key_dir = os.path.join(self.tmp, "keys")

    def start_nodes(self, n=3, **policy):
        text = cluster_config(self.redis.url, self.key_file, self.key_dir, **policy)
        nodes = []
        for _ in range(n):
            node = VwrProcess(text, env={"VWR_ADMIN_TOKEN": "scale-out-admin-token-0123"})
            self.addCleanup(node.close)
            nodes.append(node)
        for node in nodes:
            wait_until(lambda node=node: json_request("GET", node.admin + "/readyz")[0] == 200,
                       10, message="node ready")
        return nodes

    def in_use(self):
        """Admitted sessions and called tickets, straight from Redis: what max_active bounds."""
        return self.db("ZCARD", KEY + "sess") + self.db("ZCARD", KEY + "calls")

    def test_positions_follow_global_arrival_order_and_the_limit_holds_across_nodes(self):
        nodes = self.start_nodes()
        answers = []
        for i in range(200):
            code, value = nodes[i % 3].join(ROOM)
            self.assertEqual(code, 200, value)
            answers.append(value)
            self.assertLessEqual(self.in_use(), 50)
        admitted = [a for a in answers if a["status"] == "admitted"]
        waiting = [a for a in answers if a["status"] == "waiting"]
        self.assertEqual(len(admitted), 50)
        self.assertEqual(len(waiting), 150)
        # Whichever node took the join, the line is one line, in arrival order.
        self.assertEqual([w["position"] for w in waiting], list(range(1, 151)))

        # A poll on any node sees the same place.
        for i, w in enumerate(waiting[:10]):
            code, value = nodes[(i + 1) % 3].status(ROOM, w["ticket"])
            self.assertEqual((code, value["status"], value["position"]), (200, "waiting", i + 1))

        # Five leave through node 0; the first five waiting, polling through node 2, get in.
        for a in admitted[:5]:
            code, _, _ = nodes[0].leave(ROOM, a["token"])
            self.assertEqual(code, 204)
        for w in waiting[:5]:
            got = nodes[2].wait_admitted(ROOM, w["ticket"], timeout=5)
            self.assertIn("token", got)
            self.assertLessEqual(self.in_use(), 50)
        # Node 1 learns of the admissions at its next tick (100 ms): the position falls to 1.
        wait_until(lambda: nodes[1].status(ROOM, waiting[5]["ticket"])[1]["position"] == 1, 3,
                   message="position 1 on another node")
        self.assertLessEqual(self.in_use(), 50)

    def test_every_node_reports_the_cluster_wide_figures(self):
        nodes = self.start_nodes(max_active=5, burst=5)
        answers = [nodes[i % 3].join(ROOM)[1] for i in range(12)]
        admitted = [a for a in answers if a["status"] == "admitted"]
        self.assertEqual(len(admitted), 5)
        for a in admitted[:2]:  # two leave through node 1; two waiting users are called
            self.assertEqual(nodes[1].leave(ROOM, a["token"])[0], 204)

        def figures(node):
            m = node.metrics()
            label = '{room="%s"}' % ROOM
            return {name: m["vwr_room_%s%s" % (name, label)]
                    for name in ("joins_total", "admissions_total", "leaves_total",
                                 "queue_size", "active_sessions", "called_unclaimed", "nodes")}

        # Each node learns the shared figures at its own tick; then all three agree, and the
        # figures are the cluster's, not the share of joins that node took.
        expected = {"joins_total": 12, "admissions_total": 5, "leaves_total": 2,
                    "queue_size": 5, "active_sessions": 3, "called_unclaimed": 2, "nodes": 3}
        wait_until(lambda: all(figures(n) == expected for n in nodes), 5,
                   message="every node reports the cluster's figures: %r"
                   % [figures(n) for n in nodes])
        holders = set()
        for node in nodes:
            entry = node.rooms_admin()[ROOM]
            self.assertEqual((entry["scope"], entry["nodes"]), ("cluster", 3))
            self.assertEqual((entry["queueSize"], entry["active"], entry["calledUnclaimed"]),
                             (5, 3, 2))
            holders.add(entry["tickHolder"])
            code, info = node.room_info(ROOM)
            self.assertEqual((code, info["queueSize"], info["active"]), (200, 5, 3))
        self.assertEqual(holders, {self.db("GET", KEY + "lease")})

        # A node that stops is no longer counted once three lease periods have passed.
        nodes[2].stop()
        wait_until(lambda: figures(nodes[0])["nodes"] == 2, 3 * LEASE_MS / 1000 + 2,
                   message="the stopped node leaves the count")

    def test_when_the_tick_holder_dies_another_node_takes_over(self):
        nodes = self.start_nodes(max_active=2, burst=2)
        holder_id = wait_until(lambda: self.db("GET", KEY + "lease"), 5, message="a lease holder")
        pid = int(holder_id.split(":")[1])
        holder = next(n for n in nodes if n.proc.pid == pid)
        others = [n for n in nodes if n is not holder]

        first = [holder.join(ROOM)[1] for _ in range(2)]
        self.assertEqual([a["status"] for a in first], ["admitted", "admitted"])
        code, waiting = holder.join(ROOM)  # a user of the node about to die
        self.assertEqual(waiting["status"], "waiting")

        holder.kill()
        killed_at = time.monotonic()
        # A slot comes free; only a tick can call the waiting user, and the holder is gone.
        self.assertEqual(others[0].leave(ROOM, first[0]["token"])[0], 204)
        # Its lease lapses within one period; the next tick of another node takes it and calls
        # the waiting user: within two lease periods (plus a tick and some scheduling slack).
        wait_until(lambda: int(self.db("HGET", KEY + "room", "front")) >= 3, 10,
                   message="the frontier advanced by another node")
        self.assertLess(time.monotonic() - killed_at, 2 * LEASE_MS / 1000 + 0.5)
        self.assertNotIn(self.db("GET", KEY + "lease"), (None, holder_id))
        # The user of the dead node goes on with its ticket on another node.
        value = others[1].wait_admitted(ROOM, waiting["ticket"], timeout=5)
        self.assertIn("token", value)

    def test_a_redis_restart_loses_nothing_acknowledged(self):
        nodes = self.start_nodes(max_active=1, burst=1)
        code, admitted = nodes[0].join(ROOM)
        self.assertEqual(admitted["status"], "admitted")
        waiting = [nodes[i % 3].join(ROOM)[1] for i in range(5)]
        self.assertEqual([w["position"] for w in waiting], [1, 2, 3, 4, 5])

        self.redis.kill()
        wait_until(lambda: json_request("GET", nodes[1].admin + "/readyz")[0] == 503, 5,
                   message="readyz says the store is down")
        code, value = nodes[2].join(ROOM)
        self.assertEqual(code, 503, value)  # fail_closed, the default
        self.redis.start()  # same port, same directory: the AOF brings the state back

        for node in nodes:
            wait_until(lambda node=node: json_request("GET", node.admin + "/readyz")[0] == 200,
                       10, message="node ready again")
        for i, w in enumerate(waiting):
            code, value = nodes[(i + 2) % 3].status(ROOM, w["ticket"])
            self.assertEqual((code, value["status"]), (200, "waiting"))
            self.assertLessEqual(value["position"], w["position"])
        code, value = nodes[1].join(ROOM)
        self.assertEqual((code, value["status"], value["position"]), (200, "waiting", 6))
        db = self.redis.client()  # the test's own connection died with the old process
        self.addCleanup(db.close)
        self.assertEqual(int(db("HGET", KEY + "room", "last")), 7)

    def test_fail_open_admits_while_redis_is_down(self):
        (node,) = self.start_nodes(n=1, max_active=1, burst=1, failure_policy="fail_open")
        self.assertEqual(node.join(ROOM)[1]["status"], "admitted")
        code, waiting = node.join(ROOM)
        self.assertEqual(waiting["status"], "waiting")

        self.redis.kill()
        wait_until(lambda: json_request("GET", node.admin + "/readyz")[0] == 503, 5,
                   message="readyz says the store is down")
        code, value = node.join(ROOM)
        self.assertEqual(code, 200, value)
        self.assertEqual(value["status"], "admitted")
        self.assertIn("token", value)
        self.assertIsNone(value["ticket"])
        # The token names no session: a heartbeat says the session has ended.
        code, _, _ = node.heartbeat(ROOM, value["token"])
        self.assertEqual(code, 404)
        node.wait_for_log(r"the store failed .*admitting \(failure_policy fail_open\)")


if __name__ == "__main__":
    unittest.main()
