"""`vwr migrate`: growing from one node to many. An embedded node with thousands of people waiting
is stopped, its data directory is moved into a real Redis, and two nodes on that Redis go on where
it stopped: the same tickets at the same positions in the same order, the same sessions with their
tokens, the same TRACER callers' places, the places given back still given back.
"""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import urllib.parse

from redis_harness import RedisServer, redis_available
from vwr_harness import (VwrProcess, clean_env, config_yaml, embedded_only, json_request,
                         room_yaml, vwr_binary, wait_until)

WAITING = 3000
ADMITTED = 20
# The crowd joins and then stays silent (the test polls a few of them): abandonment is off so
# that every silent place is still there to move.
ROOM = room_yaml("sale", max_active=ADMITTED, admit_rate=1000, burst=ADMITTED,
                 claim_grace="60s", session_timeout="10m", poll_min="100ms", poll_max="1s",
                 abandon_after_polls=0,
                 match='[{host: "shop.example.com", path_prefix: "/"}]') + (
    "    protection:\n      joins_mode: \"off\"\n")


def claims_of(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def tracer(vwr, endpoint, login_id):
    status, _, body = json_request(
        "POST", vwr.url("/TRACERAPI/%s" % endpoint),
        body=urllib.parse.urlencode(dict(host="shop.example.com", loginId=login_id,
                                         pageUrl="https://shop.example.com/", format="json")),
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, body
    return body


@embedded_only("moves an embedded node's data directory into Redis")
@unittest.skipUnless(redis_available(), "redis-server is not installed (scripts/install-deps)")
class MigrateTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vwr-migrate-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.data = os.path.join(self.tmp, "data")
        self.config = os.path.join(self.tmp, "vwr.yaml")
        with open(self.config, "w") as f:
            f.write(config_yaml(ROOM))

    def migrate(self, url, *extra):
        return subprocess.run([vwr_binary(), "migrate", "--to", url, "--config", self.config,
                               "--data-dir", self.data, *extra],
                              capture_output=True, text=True, timeout=120, env=clean_env())

    def redis_node(self, url):
        text = config_yaml(ROOM, extra=(
            "store:\n  kind: redis\n  redis:\n    url: %s\n    lease: 1s\n"
            "secrets:\n  ticket_key_file: %s\n" % (url, os.path.join(self.data, "ticket.key"))))
        node = VwrProcess(text)
        self.addCleanup(node.close)
        wait_until(lambda: json_request("GET", node.url("/readyz", admin=True))[0] == 200, 10,
                   message="node ready on Redis")
        return node

    def test_a_full_line_moves_to_redis_with_its_places_sessions_and_tokens(self):
        # One embedded node: 20 people inside, 3,000 waiting, a TRACER caller waiting, another
        # who gave its place back.
        with VwrProcess(config_yaml(ROOM), data_dir=self.data) as one:
            inside = []
            for _ in range(ADMITTED):
                code, answer = one.join("sale")
                self.assertEqual(answer["status"], "admitted", answer)
                inside.append(answer)
            waiting = [one.join("sale")[1] for _ in range(WAITING)]
            self.assertTrue(all(w["status"] == "waiting" for w in waiting))
            legacy = tracer(one, "inputQueue.do", "legacy-1")
            self.assertEqual(legacy["isWait"], "T")
            gone = tracer(one, "inputQueue.do", "legacy-gone")
            self.assertEqual(tracer(one, "outQueue.do", "legacy-gone")["isWait"], "F")
            before = {i: one.status("sale", waiting[i]["ticket"])[1]["position"]
                      for i in (0, 1, 999, WAITING - 1)}
            queue_before = one.room_info("sale")[1]["queueSize"]
            self.assertEqual(one.stop(), 0)
        self.assertEqual(queue_before, WAITING + 1, "the TRACER caller waits; the other left")

        redis = RedisServer()
        self.addCleanup(redis.close)
        moved = self.migrate(redis.url)
        self.assertEqual(moved.returncode, 0, moved.stderr)
        self.assertIn("%d waiting" % (WAITING + 1), moved.stdout)
        self.assertIn("%d sessions" % ADMITTED, moved.stdout)
        self.assertIn("1 places given back", moved.stdout)
        # Moving it again would write over the room: refused unless asked.
        again = self.migrate(redis.url)
        self.assertEqual(again.returncode, 1)
        self.assertIn("already exists", again.stderr)

        # Two nodes on the Redis, with key directories of their own (the keys came through Redis).
        nodes = [self.redis_node(redis.url), self.redis_node(redis.url)]
        for node in nodes:
            for i, position in before.items():
                code, answer = node.status("sale", waiting[i]["ticket"])
                self.assertEqual((code, answer["status"], answer["position"]),
                                 (200, "waiting", position), (i, answer))
            self.assertEqual(node.room_info("sale")[1]["queueSize"], WAITING + 1)
            # The sessions go on, and their tokens verify on a node that never issued them.
            self.assertEqual(node.heartbeat("sale", inside[0]["token"])[0], 204)
            code, _, _ = node.request("GET", "/api/v1/verify?room=sale",
                                      headers={"Authorization": "Bearer " + inside[1]["token"]})
            self.assertEqual(code, 204)
        # The TRACER caller keeps its place (the same waitMyCnt); the one who left does not.
        self.assertEqual(tracer(nodes[1], "inputQueue.do", "legacy-1")["waitMyCnt"],
                         legacy["waitMyCnt"])
        self.assertNotEqual(gone["waitMyCnt"], "")

        # The line moves on in its order: as the 20 inside leave, the first 20 in line come in,
        # nobody behind them.
        for answer in inside:
            self.assertEqual(nodes[0].leave("sale", answer["token"])[0], 204)
        for i in range(ADMITTED):
            nodes[i % 2].wait_admitted("sale", waiting[i]["ticket"], timeout=10)
        code, answer = nodes[0].status("sale", waiting[ADMITTED]["ticket"])
        self.assertEqual((answer["status"], answer["position"]), ("waiting", 1))
        self.assertEqual(claims_of(inside[0]["token"])["aud"], "sale")

    def test_force_writes_over_a_room_that_exists(self):
        with VwrProcess(config_yaml(ROOM), data_dir=self.data) as one:
            first = one.join("sale")[1]
            self.assertEqual(one.stop(), 0)
        redis = RedisServer()
        self.addCleanup(redis.close)
        self.assertEqual(self.migrate(redis.url).returncode, 0)
        forced = self.migrate(redis.url, "--force")
        self.assertEqual(forced.returncode, 0, forced.stderr)
        node = self.redis_node(redis.url)
        self.assertEqual(node.heartbeat("sale", first["token"])[0], 204)

    def test_an_unreachable_redis_or_a_missing_state_is_a_clear_error(self):
        missing = self.migrate("redis://127.0.0.1:1/0")
        self.assertEqual(missing.returncode, 1)
        self.assertIn("no embedded state", missing.stderr)
        with VwrProcess(config_yaml(ROOM), data_dir=self.data) as one:
            self.assertEqual(one.stop(), 0)
        unreachable = self.migrate("redis://127.0.0.1:1/0")
        self.assertEqual(unreachable.returncode, 1)
        self.assertIn("cannot reach Redis", unreachable.stderr)
        bad = self.migrate("http://nope")
        self.assertEqual(bad.returncode, 1)
        self.assertIn("--to", bad.stderr)


if __name__ == "__main__":
    unittest.main()
