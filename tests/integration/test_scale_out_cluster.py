"""Scale-out on a Redis Cluster: three vwr nodes share several rooms through three masters.

The same guarantees as test_scale_out.py (one shared Redis), with the rooms' keys spread over
the cluster: a room's keys share the hash tag {<room>}, so each room lives in one slot, on one
master, and the rooms chosen here land two on each of the three masters. The cluster is made
once for the class (redis-cli --cluster create); each test uses its own key prefix, so that no
test sees another's rooms, and its own three nodes (store.redis.cluster: true, the url naming
one master and store.redis.nodes the two others).
"""

import itertools
import os
import shutil
import tempfile
import threading
import time
import unittest

from redis_harness import RedisCluster, Resp, key_slot, redis_cluster_available
from vwr_harness import VwrProcess, config_yaml, json_request, room_yaml, wait_until

LEASE_MS = 1000
# Two rooms on each master of a three-master cluster whose slots are split evenly in order
# (0-5460, 5461-10922, 10923-16383), as redis-cli --cluster create splits them: the slots of the
# hash tags are 1974, 1354 | 7287, 9816 | 11036, 12333. test_rooms_cover_every_master checks
# this against the cluster itself.
ROOMS = ["sale", "concert", "opera", "passport", "train", "stadium"]
ADMIN_TOKEN = "scale-out-cluster-admin-token-0123"

# The sum that max_active bounds (admitted sessions + called tickets), read in one script so
# that the two sets are seen at the same instant.
IN_USE_SCRIPT = "return redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2])"

_prefixes = itertools.count(1)


@unittest.skipUnless(redis_cluster_available(),
                     "redis-server or redis-cli is not installed (scripts/install-deps)")
class ScaleOutClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = RedisCluster(masters=3)

    @classmethod
    def tearDownClass(cls):
        cls.cluster.close()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vwr-scale-cluster-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.key_file = os.path.join(self.tmp, "ticket.key")
        # The nodes share the admission token keys as they share the ticket key.
        self.key_dir = os.path.join(self.tmp, "keys")
        # A fresh key space per test: the rooms' slots stay the same, their state does not.
        self.prefix = "vwrc%d" % next(_prefixes)
        self.cluster.refresh_slots()

    # ----- helpers -----

    def key(self, room, part):
        return "%s:{%s}:%s" % (self.prefix, room, part)

    def config(self, policies):
        """The configuration every node shares; `policies` maps each room to its settings."""
        rooms = []
        for room, policy in policies.items():
            settings = dict(max_active=3, admit_rate=200, burst=3, claim_grace="5s",
                            session_timeout="60s", poll_min="100ms", poll_max="1s")
            settings.update(policy)
            # "protection": the lines of the room's protection section.
            protection = settings.pop("protection", None)
            text = room_yaml(room, **settings)
            if protection:
                text += "    protection:\n" + "".join("      %s\n" % p for p in protection)
            rooms.append(text)
        seeds = "".join("\n      - %s" % s for s in self.cluster.other_seeds)
        store = ("store:\n  kind: redis\n  redis:\n    url: %s\n    cluster: true\n"
                 "    nodes:%s\n    lease: %dms\n    key_prefix: %s\n"
                 "secrets:\n  ticket_key_file: %s\ntokens:\n  key_dir: %s\n"
                 % (self.cluster.seed_url, seeds, LEASE_MS, self.prefix, self.key_file,
                    self.key_dir))
        return config_yaml(*rooms, extra=store)

    def start_node(self, text):
        node = VwrProcess(text, env={"VWR_ADMIN_TOKEN": ADMIN_TOKEN})
        self.addCleanup(node.close)
        wait_until(lambda: json_request("GET", node.admin + "/readyz")[0] == 200, 10,
                   message="node ready")
        return node

    def start_nodes(self, policies, n=3):
        text = self.config(policies)
        return [self.start_node(text) for _ in range(n)]

    def in_use(self, room):
        """Admitted sessions and called tickets of `room`, from the master that owns it."""
        sess, calls = self.key(room, "sess"), self.key(room, "calls")
        return self.cluster.command(sess, "EVAL", IN_USE_SCRIPT, 2, sess, calls)

    def room_field(self, room, field):
        value = self.cluster.command(self.key(room, "room"), "HGET", self.key(room, "room"), field)
        return int(value or 0)

    def lease_holder(self, room):
        return self.cluster.command(self.key(room, "lease"), "GET", self.key(room, "lease"))

    def sample_in_use(self, rooms):
        """Samples every room's in-use count from Redis on a thread of its own, with its own
        connections, until the returned stop() is called; stop() returns {room: highest}."""
        highest = {room: 0 for room in rooms}
        failure = []
        done = threading.Event()
        keys = {room: (self.key(room, "sess"), self.key(room, "calls")) for room in rooms}
        ports = {room: self.cluster.master_for(keys[room][0]).port for room in rooms}

        def run():
            conns = {port: Resp(port) for port in set(ports.values())}
            try:
                while not done.is_set():
                    for room in rooms:
                        sess, calls = keys[room]
                        n = conns[ports[room]]("EVAL", IN_USE_SCRIPT, 2, sess, calls)
                        highest[room] = max(highest[room], n)
                    time.sleep(0.002)
            except Exception as e:  # reported by stop(): a failed sampler proves nothing
                failure.append(e)
            finally:
                for c in conns.values():
                    c.close()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()

        def stop():
            done.set()
            thread.join(5)
            if failure:
                raise AssertionError("the in-use sampler failed: %r" % failure[0])
            return highest

        return stop

    def fill(self, nodes, limits, waiting_per_room):
        """Joins every room until `limits[room]` are admitted and `waiting_per_room` wait; the
        joins of the rooms interleave, each room's spread round-robin over the nodes. After each
        join the room's in-use count is checked against its limit. Returns {room: (admitted
        answers, waiting answers)}."""
        answers = {room: [] for room in limits}
        for i in range(max(limits.values()) + waiting_per_room):
            for r, (room, limit) in enumerate(limits.items()):
                if i >= limit + waiting_per_room:
                    continue
                code, value = nodes[(i + r) % len(nodes)].join(room)
                self.assertEqual(code, 200, value)
                answers[room].append(value)
                self.assertLessEqual(self.in_use(room), limit, room)
        out = {}
        for room, limit in limits.items():
            admitted = [a for a in answers[room] if a["status"] == "admitted"]
            waiting = [a for a in answers[room] if a["status"] == "waiting"]
            # The first `limit` arrivals got in, the rest wait; whichever node took a join, a
            # room is one line, in the order of arrival.
            self.assertEqual([a["status"] for a in answers[room][:limit]], ["admitted"] * limit,
                             room)
            self.assertEqual(len(waiting), waiting_per_room, room)
            self.assertEqual([w["position"] for w in waiting],
                             list(range(1, waiting_per_room + 1)), room)
            out[room] = (admitted, waiting)
        return out

    def positions(self, nodes, room, waiting):
        """Each waiting ticket's (status, position) as every node answers it."""
        seen = []
        for w in waiting:
            for node in nodes:
                code, value = node.status(room, w["ticket"])
                self.assertEqual(code, 200, value)
                seen.append((value["status"], value["position"]))
        return seen

    # ----- tests -----

    def test_rooms_cover_every_master(self):
        slots = self.cluster.slot_map()
        self.assertEqual(len(slots), 3, slots)
        self.assertEqual(sum(last - first + 1 for first, last, _ in slots), 16384)
        masters = {}
        for room in ROOMS:
            key = self.key(room, "room")
            # The CRC16 computed here is the cluster's own, and every part of a room shares it.
            for node in self.cluster.nodes:
                self.assertEqual(self.cluster.client(node.port)("CLUSTER", "KEYSLOT", key),
                                 key_slot(key))
            for part in ("ident", "tident", "calls", "sess", "sinfo", "lease", "nodes"):
                self.assertEqual(key_slot(self.key(room, part)), key_slot(key))
            masters.setdefault(self.cluster.master_for(key).port, []).append(room)
        self.assertEqual(sorted(masters), sorted(n.port for n in self.cluster.nodes),
                         "the rooms must cover all three masters: %r" % masters)
        self.assertEqual(sorted(len(r) for r in masters.values()), [2, 2, 2], masters)

    def test_each_room_is_one_line_within_its_limit_across_nodes(self):
        limits = {room: 3 + i for i, room in enumerate(ROOMS)}  # max_active 3..8
        nodes = self.start_nodes({room: dict(max_active=n, burst=n)
                                  for room, n in limits.items()})
        stop_sampler = self.sample_in_use(ROOMS)
        lines = self.fill(nodes, limits, waiting_per_room=6)

        # Each room's keys were written on the master that owns its slot, and only there.
        for room in ROOMS:
            key = self.key(room, "room")
            slot = key_slot(key)
            owner = self.cluster.master_for(key)
            for node in self.cluster.nodes:
                count = self.cluster.client(node.port)("CLUSTER", "COUNTKEYSINSLOT", slot)
                if node is owner:
                    self.assertGreaterEqual(count, 4, room)  # room, sess, sinfo, lease at least
                    self.assertEqual(self.cluster.client(node.port)("EXISTS", key), 1)
                else:
                    self.assertEqual(count, 0, room)

        # A poll on any node sees the same place.
        for room, (_, waiting) in lines.items():
            for i, w in enumerate(waiting):
                code, value = nodes[(i + 1) % 3].status(room, w["ticket"])
                self.assertEqual((code, value["status"], value["position"]),
                                 (200, "waiting", i + 1), room)

        # In every room two leave through node 0; the first two waiting, polling through
        # node 2, get in, and no one else: the third waiting is now first in line.
        for room, (admitted, _) in lines.items():
            for a in admitted[:2]:
                code, _, _ = nodes[0].leave(room, a["token"])
                self.assertEqual(code, 204, room)
        for room, (_, waiting) in lines.items():
            for w in waiting[:2]:
                got = nodes[2].wait_admitted(room, w["ticket"], timeout=5)
                self.assertIn("token", got)
                self.assertLessEqual(self.in_use(room), limits[room], room)
        for room, (_, waiting) in lines.items():
            # Node 1 learns of the admissions at its next tick: the position falls to 1.
            wait_until(lambda room=room, w=waiting[2]:
                       nodes[1].status(room, w["ticket"])[1]["position"] == 1, 3,
                       message="position 1 in room %s on another node" % room)
            self.assertEqual(self.room_field(room, "front"), limits[room] + 2, room)
            self.assertEqual(self.in_use(room), limits[room], room)

        highest = stop_sampler()
        for room, limit in limits.items():
            self.assertEqual(highest[room], limit, room)  # reached, never passed

        # Every node reports each room's figures as the cluster's, whichever master holds it.
        def figures(node):
            return {room: (e["scope"], e["nodes"], e["tickHolder"], e["queueSize"],
                           e["active"] + e["calledUnclaimed"])
                    for room, e in node.rooms_admin().items()}

        expected = {room: ("cluster", 3, self.lease_holder(room), 4, limit)
                    for room, limit in limits.items()}
        for node in nodes:
            wait_until(lambda node=node: figures(node) == expected, 3,
                       message="the cluster's figures on every node: %r" % expected)

    def test_rooms_are_independent(self):
        busy, quiet = ROOMS[2], [r for r in ROOMS if r != ROOMS[2]]
        nodes = self.start_nodes({room: {} for room in ROOMS})
        lines = self.fill(nodes, {room: 3 for room in ROOMS}, waiting_per_room=4)
        before = {room: (self.positions(nodes, room, lines[room][1]),
                         self.room_field(room, "last"), self.room_field(room, "front"),
                         self.in_use(room)) for room in quiet}

        # A ticket of one room is no place in another.
        code, value = nodes[0].status(quiet[0], lines[busy][1][0]["ticket"])
        self.assertEqual((code, value["error"]["code"]), (401, "invalid_ticket"), value)

        # The busy room: every admitted user leaves, its whole line gets in, more people come.
        admitted, waiting = lines[busy]
        for i, a in enumerate(admitted):
            self.assertEqual(nodes[i % 3].leave(busy, a["token"])[0], 204)
        for i, w in enumerate(waiting[:3]):
            nodes[(i + 1) % 3].wait_admitted(busy, w["ticket"], timeout=5)
        for i in range(5):
            code, value = nodes[i % 3].join(busy)
            self.assertEqual((code, value["status"], value["position"]), (200, "waiting", i + 2))
        # Every node has seen the busy room's frontier move: several ticks of every room ran.
        for node in nodes:
            wait_until(lambda node=node: node.status(busy, waiting[3]["ticket"])[1]["position"]
                       == 1, 3, message="the busy room's line moved on every node")

        after = {room: (self.positions(nodes, room, lines[room][1]),
                        self.room_field(room, "last"), self.room_field(room, "front"),
                        self.in_use(room)) for room in quiet}
        self.assertEqual(after, before)
        self.assertEqual(self.room_field(busy, "last"), 3 + 4 + 5)
        self.assertEqual(self.room_field(busy, "front"), 3 + 3)

    def test_guard_lists_and_tracer_check_out_reach_every_node(self):
        # The guard's hash and a room's keys live on whichever masters their slots name.
        room = ROOMS[1]
        nodes = self.start_nodes({room: dict(max_active=2, burst=2, protection=[
            "mode: enforce", "limit_per_ip: 0", "limit_per_identity: 0"])}, n=2)
        code, _, body = nodes[0].admin_request(
            "POST", "/admin/api/v1/rooms/%s/lists/deny" % room, body={"identity": "mallory"})
        self.assertEqual(code, 200, body)
        # (Each probe that still gets through takes a place of its own: a userId is a hint.)
        wait_until(lambda: nodes[1].join(room, user_id="mallory")[0] == 429, 5, interval=0.2,
                   message="the other node refuses an identity denied on the first")
        self.assertEqual(nodes[1].join(room, user_id="alice")[0], 200)

        # A legacy client admitted on one node checks out on the other: the slot is free.
        def tracer(node, endpoint, login_id):
            status, _, body = json_request(
                "POST", node.url("/TRACERAPI/%s" % endpoint),
                body="loginId=%s&pageUrl=%%2F&format=json" % login_id,
                headers={"Content-Type": "application/x-www-form-urlencoded"})
            self.assertEqual(status, 200, body)
            return body["isWait"]

        # (alice holds a slot, and mallory's probes may, from joins before node 1 learned the
        # entry.)
        code, _, body = nodes[0].admin_request("PUT", "/admin/api/v1/rooms/%s/policy" % room,
                                               body={"max_active": 100, "admit_rate": 100})
        self.assertEqual(code, 200, body)
        wait_until(lambda: nodes[0].room_info(room)[1]["queueSize"] == 0, 3,
                   message="everyone in line before is called")
        before = self.in_use(room)
        wait_until(lambda: tracer(nodes[0], "inputQueue.do", "legacy-1") == "F", 3,
                   message="the legacy client enters")
        self.assertEqual(self.in_use(room), before + 1)
        self.assertEqual(tracer(nodes[1], "outputQueue.do", "legacy-1"), "F")
        self.assertEqual(self.in_use(room), before)

    def test_when_the_tick_holder_dies_another_node_takes_over_every_room(self):
        text = self.config({room: dict(max_active=2, burst=2) for room in ROOMS})
        # The first node alone takes every room's lease (on all three masters); the others
        # come later and can only wait for it to lapse.
        holder = self.start_node(text)
        wait_until(lambda: all(self.lease_holder(room) for room in ROOMS), 5,
                   message="every room has a lease holder")
        holder_ids = {room: self.lease_holder(room) for room in ROOMS}
        self.assertEqual({int(h.split(":")[1]) for h in holder_ids.values()}, {holder.proc.pid})
        others = [self.start_node(text), self.start_node(text)]
        self.assertEqual({room: self.lease_holder(room) for room in ROOMS}, holder_ids)

        lines = {}
        for room in ROOMS:
            first = [others[0].join(room)[1], others[1].join(room)[1]]
            self.assertEqual([a["status"] for a in first], ["admitted", "admitted"], room)
            code, waiting = holder.join(room)  # a user of the node about to die
            self.assertEqual((code, waiting["status"], waiting["position"]),
                             (200, "waiting", 1), room)
            lines[room] = (first, waiting)

        holder.kill()
        killed_at = time.monotonic()
        # A slot comes free in every room; only a tick can call the waiting user.
        for i, room in enumerate(ROOMS):
            self.assertEqual(others[i % 2].leave(room, lines[room][0][0]["token"])[0], 204)
        # Each lease lapses within one period; the next tick of a surviving node takes it and
        # calls the waiting user: within two lease periods (plus a tick and some slack).
        moved = {}

        def frontiers_moved():
            for room in ROOMS:
                if room not in moved and self.room_field(room, "front") >= 3:
                    moved[room] = time.monotonic() - killed_at
            return len(moved) == len(ROOMS)

        wait_until(frontiers_moved, 10, interval=0.01,
                   message="the frontier advanced in every room by another node")
        for room, took in moved.items():
            self.assertLess(took, 2 * LEASE_MS / 1000 + 0.5, room)
            self.assertNotIn(self.lease_holder(room), (None, holder_ids[room]), room)
        # The users of the dead node go on with their tickets on the other nodes.
        for i, room in enumerate(ROOMS):
            value = others[i % 2].wait_admitted(room, lines[room][1]["ticket"], timeout=5)
            self.assertIn("token", value)
            self.assertEqual(self.in_use(room), 2, room)


if __name__ == "__main__":
    unittest.main()
