"""Proof of work on join (rooms[].pow_difficulty), against the real binary: the challenge, a
solved join, and the refusals (pow_required, pow_invalid, pow_expired, pow_replayed), on both
stores. On Redis, two nodes sharing the ticket key and the store also show that a challenge
issued by one node is accepted by the other, and that a challenge spent on one node is refused
on the other.

The solutions are found here with hashlib, the way the SDK counts: decimal nonces from 0, the
SHA-256 of the challenge text followed by the nonce text.
"""

import hashlib
import os
import shutil
import signal
import tempfile
import time
import unittest

from redis_harness import redis_available
from vwr_harness import VwrProcess, json_request, on_redis, shared_redis, wait_until

DIFFICULTY = 12

ROOMS = """rooms:
  - id: pow
    max_active: 100
    admit_rate: 100
    burst: 100
    session_timeout: 60s
    pow_difficulty: %d
  - id: brief
    max_active: 100
    admit_rate: 100
    burst: 100
    session_timeout: 60s
    pow_difficulty: 4
    pow_challenge_lifetime: 1s
  - id: free
    max_active: 100
    admit_rate: 100
    burst: 100
    session_timeout: 60s
""" % DIFFICULTY


def leading_zero_bits(digest, bits):
    value = int.from_bytes(digest, "big")
    return value >> (256 - bits) == 0 if bits else True


def solve(challenge, difficulty):
    n = 0
    while True:
        nonce = str(n)
        if leading_zero_bits(hashlib.sha256((challenge + nonce).encode()).digest(), difficulty):
            return nonce
        n += 1


def miss(challenge, difficulty):
    n = 0
    while True:
        nonce = str(n)
        if not leading_zero_bits(hashlib.sha256((challenge + nonce).encode()).digest(),
                                 difficulty):
            return nonce
        n += 1


class PowCase(unittest.TestCase):
    def challenge(self, room, node=None):
        code, headers, value = (node or self.vwr).json_request(
            "GET", "/api/v1/rooms/%s/challenge" % room)
        self.assertEqual(code, 200, value)
        self.assertEqual(headers.get("Cache-Control"), "no-store")
        return value

    def join(self, room, body, node=None):
        return (node or self.vwr).join(room, body=body)

    def assert_refused(self, answer, code):
        self.assertEqual(answer[0], 403, answer[1])
        self.assertEqual(answer[1]["error"]["code"], code, answer[1])


class PowTest(PowCase):
    @classmethod
    def setUpClass(cls):
        cls.vwr = VwrProcess(ROOMS)

    @classmethod
    def tearDownClass(cls):
        cls.vwr.close()

    def test_the_challenge_says_what_to_solve(self):
        before = time.time() * 1000
        c = self.challenge("pow")
        self.assertEqual(c["difficulty"], DIFFICULTY)
        self.assertEqual(len(c["challenge"]), 56)
        self.assertEqual(c["ttlMs"], 120000, "the default lifetime is two minutes")
        self.assertGreaterEqual(c["expiresAtMs"], before + 120000 - 1000)
        self.assertNotEqual(c["challenge"], self.challenge("pow")["challenge"])

    def test_a_solved_join_gets_a_place_and_works_once(self):
        c = self.challenge("pow")["challenge"]
        nonce = solve(c, DIFFICULTY)
        code, answer = self.join("pow", {"userId": "solver-1", "challenge": c, "nonce": nonce})
        self.assertEqual(code, 200, answer)
        self.assertEqual(answer["status"], "admitted")
        # The same solution again, or the same challenge with another user: spent.
        self.assert_refused(self.join("pow", {"challenge": c, "nonce": nonce}), "pow_replayed")
        self.assert_refused(self.join("pow", {"userId": "solver-2", "challenge": c,
                                              "nonce": nonce}), "pow_replayed")

    def test_a_join_without_a_solution_is_refused(self):
        self.assert_refused(self.join("pow", {}), "pow_required")
        self.assert_refused(self.join("pow", {"userId": "lazy"}), "pow_required")
        c = self.challenge("pow")["challenge"]
        self.assert_refused(self.join("pow", {"challenge": c}), "pow_required")

    def test_a_wrong_solution_is_invalid_and_leaves_the_challenge_usable(self):
        c = self.challenge("pow")["challenge"]
        self.assert_refused(self.join("pow", {"challenge": c, "nonce": miss(c, DIFFICULTY)}),
                            "pow_invalid")
        # Forged or altered challenges, and another room's.
        altered = ("B" if c[0] != "B" else "C") + c[1:]
        self.assert_refused(self.join("pow", {"challenge": altered,
                                              "nonce": solve(altered, DIFFICULTY)}),
                            "pow_invalid")
        other = self.challenge("brief")["challenge"]
        self.assert_refused(self.join("pow", {"challenge": other,
                                              "nonce": solve(other, DIFFICULTY)}), "pow_invalid")
        code, answer = self.join("pow", {"challenge": c, "nonce": solve(c, DIFFICULTY)})
        self.assertEqual(code, 200, answer)

    def test_malformed_fields_are_bad_requests(self):
        code, answer = self.join("pow", {"challenge": 12, "nonce": "1"})
        self.assertEqual(code, 400)
        self.assertEqual(answer["error"]["code"], "bad_request")
        code, answer = self.join("pow", {"challenge": "x" * 500, "nonce": "1"})
        self.assertEqual((code, answer["error"]["code"]), (400, "bad_request"), answer)
        # The nonce is the client's too: of another type or oversized, with a genuine challenge,
        # it is a bad request (not a missing or wrong proof), and the challenge is not spent.
        c = self.challenge("pow")["challenge"]
        for nonce in (7, 7.5, ["1"], {"n": "1"}, True, "9" * 129, "9" * 4000):
            code, answer = self.join("pow", {"challenge": c, "nonce": nonce})
            self.assertEqual((code, answer["error"]["code"]), (400, "bad_request"),
                             (str(nonce)[:20], answer))
            self.assertIn("nonce", answer["error"]["message"])
        code, answer = self.join("pow", {"challenge": c, "nonce": solve(c, DIFFICULTY)})
        self.assertEqual((code, answer["status"]), (200, "admitted"), answer)

    def test_an_expired_challenge_is_refused(self):
        c = self.challenge("brief")
        self.assertEqual(c["ttlMs"], 1000)
        nonce = solve(c["challenge"], c["difficulty"])
        wait_until(lambda: time.time() * 1000 > c["expiresAtMs"], timeout=3,
                   message="the challenge's lifetime is over")
        self.assert_refused(self.join("brief", {"challenge": c["challenge"], "nonce": nonce}),
                            "pow_expired")

    def test_a_room_without_proof_of_work_asks_none(self):
        code, answer = self.join("free", {"userId": "plain"})
        self.assertEqual(code, 200, answer)
        c = self.challenge("free")
        self.assertEqual(c["difficulty"], 0)
        code, answer = self.join("free", {"challenge": c["challenge"], "nonce": "0"})
        self.assertEqual(code, 200, answer)

    def test_the_worker_script_is_served(self):
        code, headers, body = self.vwr.request("GET", "/sdk/pow.js")
        self.assertEqual(code, 200)
        self.assertTrue(headers.get("Content-Type", "").startswith("text/javascript"), headers)
        self.assertIn(b"export async function solve", body)

    def test_refusals_are_counted(self):
        label = '{room="pow"}'
        before = self.vwr.metrics().get("vwr_room_pow_refused_total" + label, 0)
        self.assert_refused(self.join("pow", {}), "pow_required")
        self.assertEqual(self.vwr.metrics()["vwr_room_pow_refused_total" + label], before + 1)


class PowReloadTest(PowCase):
    """pow_difficulty changes on SIGHUP: raised, the easier challenges are refused; set to 0,
    joins need nothing."""

    def reload(self, text):
        outcome = "configuration reloaded from"
        before = sum(outcome in line for line in self.vwr.log_lines)
        self.vwr.write_config(text)
        self.vwr.send_signal(signal.SIGHUP)
        wait_until(lambda: sum(outcome in line for line in self.vwr.log_lines) > before, 10.0,
                   message="a log line %r after SIGHUP" % outcome)

    def test_the_difficulty_follows_the_file(self):
        self.vwr = VwrProcess(ROOMS)
        self.addCleanup(self.vwr.close)
        easy = self.challenge("pow")["challenge"]
        self.reload(ROOMS.replace("pow_difficulty: %d" % DIFFICULTY, "pow_difficulty: 16"))
        self.assertEqual(self.challenge("pow")["difficulty"], 16)
        self.assert_refused(self.join("pow", {"challenge": easy,
                                              "nonce": solve(easy, DIFFICULTY)}), "pow_invalid")
        self.reload(ROOMS.replace("pow_difficulty: %d" % DIFFICULTY, "pow_difficulty: 0"))
        code, answer = self.join("pow", {})
        self.assertEqual(code, 200, answer)


NODE_CONFIG = ROOMS + """store:
  kind: redis
  redis:
    url: %s
    lease: 1s
    key_prefix: %s
secrets:
  ticket_key_file: %s
tokens:
  key_dir: %s
"""


@unittest.skipUnless(on_redis(), "runs with the Redis store (integration.redis.test_pow)")
@unittest.skipUnless(redis_available(), "redis-server is not installed (scripts/install-deps)")
class PowAcrossNodesTest(PowCase):
    """Two nodes on one Redis with the same ticket key: challenges verify on either node, and
    a challenge is spent for both."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vwr-pow-")
        text = NODE_CONFIG % (shared_redis().url, "pow%d" % os.getpid(),
                              os.path.join(cls.tmp, "ticket.key"),
                              os.path.join(cls.tmp, "keys"))
        cls.nodes = []
        try:
            for _ in range(2):
                cls.nodes.append(VwrProcess(text))
            for node in cls.nodes:
                wait_until(lambda node=node: json_request("GET", node.admin + "/readyz")[0] == 200,
                           10, message="node ready")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for node in cls.nodes:
            node.close()
        shutil.rmtree(cls.tmp, True)

    def test_a_challenge_from_one_node_is_accepted_by_the_other_once(self):
        a, b = self.nodes
        c = self.challenge("pow", node=a)["challenge"]
        nonce = solve(c, DIFFICULTY)
        code, answer = self.join("pow", {"challenge": c, "nonce": nonce}, node=b)
        self.assertEqual(code, 200, answer)
        self.assert_refused(self.join("pow", {"challenge": c, "nonce": nonce}, node=a),
                            "pow_replayed")
        self.assert_refused(self.join("pow", {"challenge": c, "nonce": nonce}, node=b),
                            "pow_replayed")


if __name__ == "__main__":
    unittest.main()
