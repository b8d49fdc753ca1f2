"""Who a visitor is, attacked from outside against the real binary: borrowed userIds, replayed
entry passes, re-joins by ticket, and signed identities (identity.mode signed) with user tokens
made by an independent JWT library (PyJWT, Debian python3-jwt) and a platform JWKS served as a
file or over HTTP, rotated while vwr runs.

Each attack test sends what a hostile client would send and asserts what it must not get.
"""

import base64
import http.server
import json
import os
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from jwt_support import import_jwt
from vwr_harness import VwrProcess, config_yaml, embedded_only, room_yaml, wait_until

jwt = import_jwt()
NEEDS_JWT = unittest.skipIf(jwt is None, "signing user tokens needs python3-jwt and "
                                         "python3-cryptography (scripts/install-deps)")


def claims_of(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def join(vwr, room, body=None, headers=None):
    code, _, value = vwr.json_request("POST", "/api/v1/rooms/%s/join" % room, body=body or {},
                                      headers=headers)
    return code, value


class BorrowedIdentityTest(unittest.TestCase):
    """identity.mode anonymous (the default): a userId is a hint anyone can send."""

    def test_a_borrowed_user_id_takes_neither_a_place_nor_a_session(self):
        room = "borrow"
        with VwrProcess(config_yaml=config_yaml(room_yaml(room, max_active=1, admit_rate=100,
                                                          burst=1))) as vwr:
            code, victim = join(vwr, room, {"userId": "alice"})
            self.assertEqual((code, victim["status"]), (200, "admitted"))
            # The attacker sends her userId: no session, no token of hers.
            code, stolen = join(vwr, room, {"userId": "alice"})
            self.assertEqual(code, 200)
            self.assertEqual(stolen["status"], "waiting", stolen)
            self.assertNotIn("token", stolen)
            # Her waiting place cannot be taken either: a second victim waits, the attacker's
            # join with that id is a new place behind.
            code, waiting = join(vwr, room, {"userId": "bob"})
            code, again = join(vwr, room, {"userId": "bob"})
            self.assertNotEqual(again["ticket"], waiting["ticket"])
            self.assertGreater(again["position"], waiting["position"])
            # And her session lives: the attacker has nothing to leave it with.
            code, _, _ = vwr.leave(room, stolen.get("token"))
            self.assertEqual(code, 401)
            code, _, _ = vwr.heartbeat(room, victim["token"])
            self.assertEqual(code, 204)
            self.assertEqual(claims_of(victim["token"])["sub"], "anon",
                             "a hint names nobody in a token")

    def test_a_join_with_its_ticket_gets_its_place_back(self):
        room = "rejoin"
        with VwrProcess(config_yaml=config_yaml(room_yaml(room, max_active=1, admit_rate=100,
                                                          burst=1))) as vwr:
            join(vwr, room)
            code, first = join(vwr, room)
            join(vwr, room)
            self.assertEqual(first["status"], "waiting")
            code, again = join(vwr, room, headers={"X-VWR-Ticket": first["ticket"]})
            self.assertEqual(code, 200)
            self.assertEqual((again["ticket"], again["position"]),
                             (first["ticket"], first["position"]))
            self.assertEqual(again["queueSize"], 2, "a re-join adds nobody")
            # A forged ticket is ignored: a place of its own, at the back.
            forged = first["ticket"][:-3] + ("AAA" if not first["ticket"].endswith("AAA")
                                              else "BBB")
            code, fresh = join(vwr, room, headers={"X-VWR-Ticket": forged})
            self.assertEqual(code, 200)
            self.assertNotEqual(fresh["ticket"], first["ticket"])
            self.assertEqual(fresh["position"], 3)


class EntryPassReplayTest(unittest.TestCase):
    """One entry pass sent with many joins used to admit a new session each time: a room whose
    limit is 3 reached 50,001 sessions. Now a pass re-enters its own session, one at a time."""

    def test_a_shared_pass_never_multiplies(self):
        # The join limit per address is off: what holds here is the store's rule alone.
        config = config_yaml(room_yaml("pass", max_active=3, admit_rate=1000, burst=3,
                                       entry_pass="5m") +
                             "    protection:\n      joins_mode: \"off\"\n")
        with VwrProcess(config_yaml=config) as vwr:
            code, first = join(vwr, "pass")
            self.assertEqual(first["status"], "admitted")
            pass_ = first["entryPass"]
            for _ in range(2):
                join(vwr, "pass")  # the room is full now (3)
            code, newcomer = join(vwr, "pass")
            self.assertEqual(newcomer["status"], "waiting")

            def replay(_):
                return join(vwr, "pass", {"entryPass": pass_})

            with ThreadPoolExecutor(max_workers=16) as pool:
                answers = list(pool.map(replay, range(400)))
            jtis = {claims_of(a["token"])["jti"] for code, a in answers if code == 200}
            self.assertEqual(jtis, {claims_of(first["token"])["jti"]},
                             "every replay re-entered the one session the pass was earned with")
            info = vwr.room_info("pass")[1]
            self.assertEqual(info["active"], 3)
            code, still = vwr.status("pass", newcomer["ticket"])
            self.assertEqual((still["status"], still["position"]), ("waiting", 1))

            # Its session ended, the pass admits again: still one session, however replayed.
            self.assertEqual(vwr.leave("pass", first["token"])[0], 204)
            with ThreadPoolExecutor(max_workers=16) as pool:
                answers = list(pool.map(replay, range(400)))
            jtis = {claims_of(a["token"])["jti"] for code, a in answers if code == 200}
            self.assertEqual(len(jtis), 1, jtis)
            self.assertNotIn(claims_of(first["token"])["jti"], jtis)
            wait_until(lambda: vwr.room_info("pass")[1]["active"] == 3, timeout=5)
            self.assertLessEqual(vwr.room_info("pass")[1]["active"], 3)


def make_rsa_key():
    from cryptography.hazmat.primitives.asymmetric import rsa
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk_of(key, kid):
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    public.update(kid=kid, alg="RS256", use="sig")
    return public


def user_token(key, kid, sub, ttl=600, aud="vwr", iss="https://login.example", **extra):
    now = int(time.time())
    claims = dict(sub=sub, aud=aud, iss=iss, iat=now, exp=now + ttl, **extra)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


SIGNED_ROOM = room_yaml("acct", max_active=1, admit_rate=100, burst=1)
# One place, for one test alone: who takes it first is known whatever the other tests did.
OWN_ROOM = room_yaml("own", max_active=1, admit_rate=100, burst=1)
# A full room whose allow list names the signed user "vip".
VIP_ROOM = (room_yaml("vipacct", max_active=1, admit_rate=100, burst=1) +
            "    protection:\n      allow:\n        identities: [\"vip\"]\n")


@NEEDS_JWT
class SignedIdentityFileTest(unittest.TestCase):
    """identity.mode signed with jwks_file: the platform's tokens name the user."""

    @classmethod
    def setUpClass(cls):
        cls.key = make_rsa_key()
        cls.other = make_rsa_key()
        cls.tmp = __import__("tempfile").mkdtemp(prefix="vwr-jwks-")
        cls.jwks_path = os.path.join(cls.tmp, "jwks.json")
        with open(cls.jwks_path, "w") as f:
            json.dump({"keys": [jwk_of(cls.key, "k1")]}, f)
        extra = ("identity:\n  mode: signed\n  jwks_file: %s\n  issuer: https://login.example\n"
                 "  audience: vwr\n" % cls.jwks_path)
        cls.vwr = VwrProcess(config_yaml=config_yaml(SIGNED_ROOM, VIP_ROOM, OWN_ROOM,
                                                     extra=extra))

    @classmethod
    def tearDownClass(cls):
        cls.vwr.close()

    def test_an_allow_listed_user_gets_in_only_when_signed(self):
        def as_user(sub):
            return {"X-VWR-User-Token": user_token(self.key, "k1", sub)}
        code, first = join(self.vwr, "vipacct", headers=as_user("someone"))
        self.assertEqual(first["status"], "admitted")
        code, claimed = join(self.vwr, "vipacct", {"userId": "vip"}, headers=as_user("mallory"))
        self.assertEqual(claimed["status"], "waiting", "a userId claims nothing")
        code, vip = join(self.vwr, "vipacct", headers=as_user("vip"))
        self.assertEqual((code, vip["status"]), (200, "admitted"), vip)

    def test_the_verified_user_alone_gets_the_same_place_and_session(self):
        # The room's one place is free: alice is admitted, bob waits, and each of them coming
        # back with another token of their own finds what they had, the session or the place.
        token = user_token(self.key, "k1", "alice")
        code, first = join(self.vwr, "own", headers={"X-VWR-User-Token": token})
        self.assertEqual((code, first["status"]), (200, "admitted"), first)
        sub = claims_of(first["token"])["sub"]
        self.assertNotIn(sub, ("alice", "anon"), "the subject is her pseudonym, never her id")
        # Another token of hers (fresh from her login), in the body: the same ticket, session
        # and subject.
        code, again = join(self.vwr, "own",
                           {"userToken": user_token(self.key, "k1", "alice", ttl=900)})
        self.assertEqual((code, again["status"]), (200, "admitted"), again)
        self.assertEqual(again["ticket"], first["ticket"])
        self.assertEqual(claims_of(again["token"])["jti"], claims_of(first["token"])["jti"])
        self.assertEqual(claims_of(again["token"])["sub"], sub)
        # Someone else: another place, behind her; coming back, the same place.
        code, bob = join(self.vwr, "own", headers={"X-VWR-User-Token":
                                                   user_token(self.key, "k1", "bob")})
        self.assertEqual((code, bob["status"], bob["position"]), (200, "waiting", 1), bob)
        self.assertNotEqual(bob["ticket"], first["ticket"])
        code, bob_again = join(self.vwr, "own",
                               {"userToken": user_token(self.key, "k1", "bob", ttl=900)})
        self.assertEqual((code, bob_again["ticket"], bob_again["position"]),
                         (200, bob["ticket"], 1), bob_again)
        self.assertEqual(self.vwr.room_info("own")[1]["queueSize"], 1, "a re-join adds nobody")
        # Her id as a plain hint: refused.
        code, hint = join(self.vwr, "own", {"userId": "alice"})
        self.assertEqual(code, 401)
        self.assertEqual(hint["error"]["code"], "user_token_required")

    @embedded_only("reads the journal in data_dir")
    def test_the_room_keeps_a_pseudonym_never_the_user_id(self):
        user = "raw-user-id-%d-" % os.getpid() + "x" * 200  # long ids cost no more
        code, answer = join(self.vwr, "acct", headers={
            "X-VWR-User-Token": user_token(self.key, "k1", user)})
        self.assertEqual(code, 200, answer)
        # The answer came once its change was written to the journal.
        found = []
        for root, _, files in os.walk(self.vwr.data_dir):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    if user.encode()[:20] in f.read():
                        found.append(name)
        self.assertEqual(found, [], "the user id was stored")

    def test_forged_expired_and_foreign_user_tokens_are_refused_with_a_clear_error(self):
        cases = {
            "signature": user_token(self.other, "k1", "alice"),
            "expired": user_token(self.key, "k1", "alice", ttl=-120),
            "audience": user_token(self.key, "k1", "alice", aud="payments"),
            "issuer": user_token(self.key, "k1", "alice", iss="https://evil.example"),
            "key": user_token(self.key, "k9", "alice"),
            "algorithm": jwt.encode({"sub": "alice", "aud": "vwr", "exp": int(time.time()) + 60,
                                     "iss": "https://login.example"},
                                    "secret", algorithm="HS256", headers={"kid": "k1"}),
        }
        for what, token in cases.items():
            with self.subTest(what):
                code, answer = join(self.vwr, "acct", headers={"X-VWR-User-Token": token})
                self.assertEqual(code, 401, answer)
                self.assertEqual(answer["error"]["code"], "invalid_user_token")
                self.assertIn(what if what != "signature" else "signature",
                              answer["error"]["message"])


class JwksServer:
    """The platform's JWKS over HTTP on loopback, whose keys a test replaces at will."""

    def __init__(self, keys):
        self.document = {"keys": keys}
        self.fetches = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.fetches += 1
                body = json.dumps(outer.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/.well-known/jwks.json" % self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@NEEDS_JWT
class SignedIdentityUrlTest(unittest.TestCase):
    """identity.mode signed with jwks_url: fetched, cached, and rotated without a restart."""

    def test_a_rotated_key_is_taken_at_once_and_a_withdrawn_one_is_refused(self):
        old_key, new_key = make_rsa_key(), make_rsa_key()
        jwks = JwksServer([jwk_of(old_key, "old")])
        try:
            extra = ("identity:\n  mode: signed\n  jwks_url: %s\n  audience: vwr\n"
                     "  refresh: 10m\n" % jwks.url)
            with VwrProcess(config_yaml=config_yaml(SIGNED_ROOM, extra=extra)) as vwr:
                code, _ = join(vwr, "acct", headers={
                    "X-VWR-User-Token": user_token(old_key, "old", "alice")})
                self.assertEqual(code, 200)
                fetched = jwks.fetches
                # The platform rotates: the new key is published, tokens are signed with it.
                jwks.document = {"keys": [jwk_of(old_key, "old"), jwk_of(new_key, "new")]}
                token = user_token(new_key, "new", "bob")

                def accepted():
                    code, answer = join(vwr, "acct", headers={"X-VWR-User-Token": token})
                    return code == 200
                # The first join names a kid vwr does not hold: refused, and the keys are
                # fetched again at once (not at the 10-minute refresh).
                wait_until(accepted, timeout=5, interval=0.2,
                           message="a token of the new key accepted")
                self.assertGreater(jwks.fetches, fetched)
                # The old key is withdrawn: once fetched again (a SIGHUP asks), it is refused.
                jwks.document = {"keys": [jwk_of(new_key, "new")]}
                vwr.send_signal(__import__("signal").SIGHUP)

                def refused():
                    code, answer = join(vwr, "acct", headers={
                        "X-VWR-User-Token": user_token(old_key, "old", "carol")})
                    return code == 401
                wait_until(refused, timeout=5, interval=0.2,
                           message="a token of the withdrawn key refused")
        finally:
            jwks.close()

    @embedded_only("the harness waits for /readyz before a Redis node counts as started")
    def test_until_the_keys_are_fetched_joins_wait_and_the_node_is_not_ready(self):
        key = make_rsa_key()
        jwks = JwksServer([jwk_of(key, "k")])
        jwks.close()  # nothing listens: the first fetch fails
        extra = "identity:\n  mode: signed\n  jwks_url: %s\n" % jwks.url
        with VwrProcess(config_yaml=config_yaml(SIGNED_ROOM, extra=extra),
                        start_timeout=10) as vwr:
            vwr.wait_for_log(r"identity: cannot fetch", timeout=5)
            code, answer = join(vwr, "acct", headers={
                "X-VWR-User-Token": user_token(key, "k", "alice")})
            self.assertEqual(code, 503, answer)
            code, _, ready = vwr.json_request("GET", vwr.url("/readyz", admin=True))
            self.assertEqual((code, ready["status"]), (503, "identity_keys_not_loaded"))


if __name__ == "__main__":
    unittest.main()
