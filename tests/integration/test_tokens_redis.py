"""Token signing keys shared through Redis: nodes on one Redis, each with a key directory of its
own (tokens.key_dir), verify each other's admission tokens and list each other's keys in their
JWKS, within seconds of starting; a rotation on one node reaches the others; a token signed with
a key no node published, a tampered token, and a forged entry in the shared hash are refused.

Each test class starts its own redis-server on loopback (Debian redis-server) and its own nodes.
Only the Python standard library.
"""

import base64
import json
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import unittest

from redis_harness import RedisServer, redis_available
from vwr_harness import VwrProcess, config_yaml, request, room_yaml, wait_until

ROOM = "sale"
ADMIN_TOKEN = "tokens-redis-admin-token-0123"
HASH = "vwr:jwks"  # <store.redis.key_prefix>:jwks, with the default prefix
SHARE_TIMEOUT = 5.0  # seconds: "within a few seconds" (a node shares every 2 s)


def node_config(redis_url, key_file, key_prefix="vwr"):
    return config_yaml(
        room_yaml(ROOM, max_active=100, admit_rate=100, burst=100, session_timeout="60s",
                  poll_min="100ms", poll_max="1s"),
        extra=("store:\n  kind: redis\n  redis:\n    url: %s\n    lease: 1s\n"
               "    key_prefix: %s\nsecrets:\n  ticket_key_file: %s\n"
               % (redis_url, key_prefix, key_file)))


def b64decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def kid_of(token):
    return json.loads(b64decode(token.split(".")[0]))["kid"]


def tampered(token):
    """The token with one bit of its signature flipped."""
    head, payload, signature = token.split(".")
    raw = bytearray(b64decode(signature))
    raw[10] ^= 0x01
    return ".".join([head, payload, b64encode(bytes(raw))])


def jwks_kids(node):
    status, _, body = request("GET", node.url("/.well-known/jwks.json"))
    if status != 200:
        raise AssertionError("JWKS answered %d" % status)
    return {k["kid"] for k in json.loads(body)["keys"]}


class Monitor:
    """What Redis is asked, through MONITOR: counts the lookups of single kids in the shared hash
    (HGET vwr:jwks <kid>), which no script makes."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.sendall(b"MONITOR\r\n")
        self.seen = b""
        while b"+OK" not in self.seen:
            self.seen += self.sock.recv(4096)

    def key_lookups(self, db):
        """HGETs of the key hash seen so far: everything up to a marker sent now through `db`
        (MONITOR shows commands in the order Redis ran them)."""
        marker = b"monitor-marker-%d" % time.monotonic_ns()
        db("ECHO", marker)
        while marker not in self.seen:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError("MONITOR connection closed")
            self.seen += chunk
        return self.seen.count(b'"HGET" "%s"' % HASH.encode())

    def close(self):
        self.sock.close()


def wait_ready(node):
    wait_until(lambda: request("GET", node.admin + "/readyz")[0] == 200, 10,
               message="node ready")


@unittest.skipUnless(redis_available(), "redis-server is not installed (scripts/install-deps)")
class SharedKeysTest(unittest.TestCase):
    """Three nodes on one Redis, each with its own key directory (under its own data_dir)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vwr-keys-redis-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.redis = RedisServer()
        cls.addClassCleanup(cls.redis.close)
        cls.key_file = os.path.join(cls.tmp, "ticket.key")
        text = node_config(cls.redis.url, cls.key_file)
        cls.started = time.monotonic()
        cls.nodes = []
        for _ in range(3):
            node = VwrProcess(text, env={"VWR_ADMIN_TOKEN": ADMIN_TOKEN})
            cls.addClassCleanup(node.close)
            cls.nodes.append(node)
        for node in cls.nodes:
            wait_ready(node)

    def setUp(self):
        self.db = self.redis.client()
        self.addCleanup(self.db.close)

    # ----- helpers -----

    def own_kid(self, node):
        code, _, listed = node.admin_request("GET", "/admin/api/v1/keys")
        self.assertEqual(code, 200, listed)
        return next(k["kid"] for k in listed["keys"] if k["state"] == "active")

    def admitted_token(self, node):
        code, value = node.join(ROOM)
        self.assertEqual(code, 200, value)
        self.assertEqual(value["status"], "admitted", value)
        return value["token"]

    def wait_everyone_knows(self, kids, timeout=SHARE_TIMEOUT):
        wait_until(lambda: all(kids <= jwks_kids(n) for n in self.nodes), timeout,
                   message="every node's JWKS lists %s: %r"
                   % (sorted(kids), [sorted(jwks_kids(n)) for n in self.nodes]))

    # ----- tests -----

    def test_every_node_lists_every_nodes_key_within_seconds_of_start(self):
        kids = [self.own_kid(n) for n in self.nodes]
        self.assertEqual(len(set(kids)), 3, "separate key directories, separate keys")
        self.wait_everyone_knows(set(kids))
        self.assertLess(time.monotonic() - self.started, 10 + SHARE_TIMEOUT)
        # Stored as documented: field kid -> {"jwk": {...}, "notAfter": unix seconds}.
        for kid in kids:
            entry = json.loads(self.db("HGET", HASH, kid))
            self.assertEqual(entry["jwk"]["kid"], kid)
            self.assertEqual((entry["jwk"]["kty"], entry["jwk"]["crv"]), ("EC", "P-256"))
            self.assertNotIn("d", entry["jwk"])
            self.assertGreater(entry["notAfter"], time.time() + 60)
        # The operators' key list says which keys are other nodes'.
        code, _, listed = self.nodes[1].admin_request("GET", "/admin/api/v1/keys")
        self.assertEqual(code, 200, listed)
        states = {k["kid"]: k["state"] for k in listed["keys"]}
        self.assertEqual(states[kids[0]], "foreign")
        self.assertEqual(states[kids[1]], "active")

    def test_a_token_issued_by_one_node_works_on_the_others(self):
        a, b, c = self.nodes
        self.wait_everyone_knows({self.own_kid(n) for n in self.nodes})
        token = self.admitted_token(a)
        self.assertEqual(kid_of(token), self.own_kid(a))
        self.assertIn(kid_of(token), jwks_kids(b))
        code, _, body = b.heartbeat(ROOM, token)
        self.assertEqual(code, 204, body)
        code, _, body = c.heartbeat(ROOM, token)
        self.assertEqual(code, 204, body)
        code, _, body = c.leave(ROOM, token)
        self.assertEqual(code, 204, body)

    def test_a_node_once_ready_honours_the_tokens_of_the_nodes_before_it(self):
        token = self.admitted_token(self.nodes[0])
        late = VwrProcess(node_config(self.redis.url, self.key_file),
                          env={"VWR_ADMIN_TOKEN": ADMIN_TOKEN})
        self.addCleanup(late.close)
        wait_ready(late)
        # No waiting beyond /readyz: ready means it has read the other nodes' keys.
        code, _, body = late.heartbeat(ROOM, token)
        self.assertEqual(code, 204, body)
        self.assertIn(kid_of(token), jwks_kids(late))
        code, _, body = late.leave(ROOM, token)
        self.assertEqual(code, 204, body)

    def test_lookup_makes_a_token_of_a_node_just_started_work_on_the_others_at_once(self):
        """Scale-out happens when load rises: a node just started admits someone, who goes on to
        the protected site and leaves through other nodes at once. Those nodes have not read the
        new node's key yet (keys are exchanged every 2 s): they look it up in Redis on the spot.

        The premise (a has not read the key by its own round yet) depends on timing: on a loaded
        machine the new node's start can take longer than one exchange. Such a try proves
        nothing and is made again with another new node; a broken lookup fails every try in
        which the premise held, and a run in which it never held fails too."""
        for _ in range(5):
            if self.lookup_on_the_spot_once():
                return
        self.fail("in 5 tries, a had always read the new node's key by its own round before "
                  "the token reached it: the lookup was never exercised")

    def lookup_on_the_spot_once(self):
        """One try; False when a had read the new key by its own round (nothing proven)."""
        a, b, _ = self.nodes
        before = {n: self.lookups(n) for n in (a, b)}
        late = VwrProcess(node_config(self.redis.url, self.key_file),
                          env={"VWR_ADMIN_TOKEN": ADMIN_TOKEN})
        try:
            wait_ready(late)
            token = self.admitted_token(late)
            if kid_of(token) in jwks_kids(a):
                return False  # a's round came first
            results = {}

            def verify():
                results["verify"] = request("GET", a.url("/api/v1/verify?room=" + ROOM),
                                            headers={"Authorization": "Bearer " + token})

            def heartbeat():
                results["heartbeat"] = a.heartbeat(ROOM, token)

            threads = [threading.Thread(target=f) for f in (verify, heartbeat)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(10)
            self.assertEqual(results["verify"][0], 204, results["verify"])
            self.assertEqual(results["heartbeat"][0], 204, results["heartbeat"])
            found_by_a = self.lookups(a)["found"] - before[a]["found"]
            if found_by_a == 0:
                # Both requests were answered from the ring: a's round read the key between
                # the check above and the requests. Nothing proven; the session is left alone.
                return False
            code, _, body = b.leave(ROOM, token)
            self.assertEqual(code, 204, body)
            # The lookups are counted: a found it (once, the other request waited for it or
            # found the key in the ring); b found it at most once too.
            self.assertLessEqual(self.lookups(b)["found"] - before[b]["found"], 1)
            # The session has ended on every node: the token is refused (leave is revocation).
            wait_until(lambda: request("GET", a.url("/api/v1/verify?room=" + ROOM),
                                       headers={"Authorization": "Bearer " + token})[0] == 401,
                       3, message="the session ended by b's leave is refused on a")
            return True
        finally:
            late.close()

    def test_lookup_of_a_flood_of_made_up_kids_costs_little_and_refuses_them(self):
        """Attack: tokens naming keys nobody has, to make every node ask Redis for each."""
        a = self.nodes[0]
        fake_kid = lambda: b64encode(os.urandom(32))  # noqa: E731 43 characters, like a kid

        def forged(kid):
            head = b64encode(json.dumps({"alg": "ES256", "typ": "JWT", "kid": kid}).encode())
            body = b64encode(json.dumps({"aud": ROOM, "exp": int(time.time()) + 60}).encode())
            return "%s.%s.%s" % (head, body, b64encode(os.urandom(64)))

        monitor = Monitor(self.redis.port)
        self.addCleanup(monitor.close)
        one = forged(fake_kid())
        for _ in range(50):  # the same made-up kid again and again: looked up once
            code, _, _ = request("GET", a.url("/api/v1/verify?room=" + ROOM),
                                 headers={"Authorization": "Bearer " + one})
            self.assertEqual(code, 401)
        self.assertLessEqual(monitor.key_lookups(self.db), 2, "the missing kid is remembered")
        kids = [fake_kid() for _ in range(100)]  # each new: at most one lookup each
        for kid in kids:
            code, _, body = request("GET", a.url("/api/v1/verify?room=" + ROOM),
                                    headers={"Authorization": "Bearer " + forged(kid)})
            self.assertEqual(code, 401, body)
        self.assertLessEqual(monitor.key_lookups(self.db), 102)
        # The node serves everyone else as before.
        token = self.admitted_token(a)
        self.assertEqual(request("GET", a.url("/api/v1/verify?room=" + ROOM),
                                 headers={"Authorization": "Bearer " + token})[0], 204)
        self.assertGreaterEqual(self.lookups(a)["not_found"], 100)

    def lookups(self, node):
        m = node.metrics()
        return {r: m.get('vwr_token_key_lookups_total{result="%s"}' % r, 0)
                for r in ("found", "not_found", "busy", "failed")}

    def test_a_tampered_token_and_a_key_no_node_published_are_refused(self):
        a, b, _ = self.nodes
        self.wait_everyone_knows({self.own_kid(n) for n in self.nodes})
        token = self.admitted_token(a)
        code, _, body = b.heartbeat(ROOM, tampered(token))
        self.assertEqual(code, 401, body)
        self.assertEqual(body["error"]["code"], "invalid_token")

        # A node on the same Redis under another key prefix shares nothing with these: its
        # tokens carry a kid they never saw.
        stranger = VwrProcess(node_config(self.redis.url, self.key_file, key_prefix="other"),
                              env={"VWR_ADMIN_TOKEN": ADMIN_TOKEN})
        self.addCleanup(stranger.close)
        wait_ready(stranger)
        foreign = self.admitted_token(stranger)
        foreign_kid = kid_of(foreign)
        wait_until(lambda: self.db("HEXISTS", "other:jwks", foreign_kid) == 1, SHARE_TIMEOUT,
                   message="the stranger published its key under its own prefix")
        self.assertNotIn(foreign_kid, jwks_kids(b))
        code, _, body = b.heartbeat(ROOM, foreign)
        self.assertEqual(code, 401, body)
        self.assertEqual(body["error"]["code"], "invalid_token")

        # Its key written into this cluster's hash under a kid that is not its thumbprint (say,
        # to pass it off as a known node's key): refused, and reported in the log.
        entry = self.db("HGET", "other:jwks", foreign_kid)
        self.db("HSET", HASH, "forged-kid", entry)
        self.addCleanup(self.db, "HDEL", HASH, "forged-kid")
        b.wait_for_log(r"keys: ignoring the entry forged-kid in vwr:jwks: the field is named "
                       r"forged-kid but the JWK's thumbprint is " + re.escape(foreign_kid),
                       timeout=SHARE_TIMEOUT)
        self.assertNotIn(foreign_kid, jwks_kids(b))
        self.assertNotIn("forged-kid", jwks_kids(b))
        code, _, body = b.heartbeat(ROOM, foreign)
        self.assertEqual(code, 401, body)

        # Whoever can write to Redis must not write the nodes' logs: an entry whose name
        # carries a line break and a made-up log line is reported escaped, on one line.
        injected = "evil\n[error] keys: every token is valid now\x1b[2J"
        self.db("HSET", HASH, injected, entry)
        self.addCleanup(self.db, "HDEL", HASH, injected)
        b.wait_for_log(r"keys: ignoring the entry evil\\n\[error\] keys: every token is valid "
                       r"now\\x1[bB]\[2J in vwr:jwks: the field is named evil\\n",
                       timeout=SHARE_TIMEOUT)
        self.assertFalse([line for line in b.log_lines
                          if line.startswith("[error] keys: every token is valid now")
                          or "\x1b" in line], "a log line was forged")

    def test_a_rotation_on_one_node_reaches_the_others(self):
        a, b, c = self.nodes
        self.wait_everyone_knows({self.own_kid(n) for n in self.nodes})
        old_token = self.admitted_token(a)
        old_kid = kid_of(old_token)
        code, _, body = a.admin_request("POST", "/admin/api/v1/keys/rotate")
        self.assertEqual(code, 200, body)
        new_kid = body["kid"]
        self.assertEqual(body["retired"], old_kid)
        # A rotation is shared at once, not at the next period.
        self.wait_everyone_knows({new_kid, old_kid}, timeout=SHARE_TIMEOUT)
        new_token = self.admitted_token(a)
        self.assertEqual(kid_of(new_token), new_kid)
        for node in (b, c):
            code, _, body = node.heartbeat(ROOM, new_token)
            self.assertEqual(code, 204, body)
            # The retired key still verifies what it signed.
            code, _, body = node.heartbeat(ROOM, old_token)
            self.assertEqual(code, 204, body)
        b.wait_for_log(re.escape(new_kid) + r" \(another node's key, shared through Redis\) "
                       r"verifies tokens now")


@unittest.skipUnless(redis_available(), "redis-server is not installed (scripts/install-deps)")
class SharedKeysOutageTest(unittest.TestCase):
    """Redis goes away and comes back: the keys known are kept; sharing resumes by itself."""

    def test_known_keys_are_kept_while_redis_is_down_and_new_ones_flow_after(self):
        tmp = tempfile.mkdtemp(prefix="vwr-keys-outage-")
        self.addCleanup(shutil.rmtree, tmp, True)
        redis = RedisServer(appendonly=True)
        self.addCleanup(redis.close)
        text = node_config(redis.url, os.path.join(tmp, "ticket.key"))
        a = VwrProcess(text, env={"VWR_ADMIN_TOKEN": ADMIN_TOKEN})
        self.addCleanup(a.close)
        b = VwrProcess(text, env={"VWR_ADMIN_TOKEN": ADMIN_TOKEN})
        self.addCleanup(b.close)
        wait_ready(a)
        wait_ready(b)
        code, _, listed = a.admin_request("GET", "/admin/api/v1/keys")
        kid_a = next(k["kid"] for k in listed["keys"] if k["state"] == "active")
        wait_until(lambda: kid_a in jwks_kids(b), SHARE_TIMEOUT, message="b knows a's key")

        redis.kill()
        b.wait_for_log(r"keys: cannot share signing keys through Redis \(vwr:jwks\)",
                       timeout=10)
        self.assertIn(kid_a, jwks_kids(b), "what is known is kept")
        code, _, body = a.admin_request("POST", "/admin/api/v1/keys/rotate")
        self.assertEqual(code, 200, body)
        new_kid = body["kid"]

        redis.start()  # same port; the AOF brings the rooms back
        wait_until(lambda: new_kid in jwks_kids(b), 10, message="the rotation reached b")
        b.wait_for_log(r"keys: sharing signing keys through Redis \(vwr:jwks\) again")
        self.assertIn(kid_a, jwks_kids(b))
        # Logged once for the outage, not once per failed round.
        self.assertEqual(sum("cannot share signing keys" in l for l in b.log_lines), 1)


if __name__ == "__main__":
    unittest.main()
