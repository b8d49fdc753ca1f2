"""Admission tokens (ES256 JWTs) checked from outside: every token a running vwr issues must
verify with an independent JWT implementation (PyJWT with python-cryptography) against the JWKS
that vwr serves; forged tokens must be refused by the API; a key rotation, through the admin API
or the `vwr keys rotate` command, must keep earlier tokens valid and sign new ones with the new
key.

Needs the Debian packages python3-jwt and python3-cryptography (scripts/install-deps); the tests
are skipped, saying so, when they are missing.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import stat
import tempfile
import time
import unittest

from jwt_support import import_jwt
from vwr_harness import VwrProcess, config_yaml, request, room_yaml, run_vwr, wait_until


jwt = import_jwt()
if jwt is not None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

SKIP_REASON = ("independent JWT verification needs python3-jwt and python3-cryptography "
               "(Debian packages; scripts/install-deps installs them)")

ISSUER = "vwr-test"
POLL = dict(poll_min="100ms", poll_max="1s")
CONFIG = config_yaml(
    room_yaml("alpha", max_active=1000, admit_rate=1000, burst=1000, session_timeout="90s",
              **POLL),
    room_yaml("beta", max_active=1000, admit_rate=1000, burst=1000, **POLL),
    # Tokens that expire quickly, in a session that does not.
    room_yaml("short", max_active=1000, admit_rate=1000, burst=1000, session_timeout="60s",
              token_lifetime="2s", **POLL),
    extra="tokens:\n  issuer: %s\n" % ISSUER,
)


def b64decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def parts(token):
    """(header dict, payload dict, signature bytes) of a compact JWS."""
    header, payload, signature = token.split(".")
    return json.loads(b64decode(header)), json.loads(b64decode(payload)), b64decode(signature)


def compact(header, payload, signature=b""):
    return ".".join([b64encode(json.dumps(header, separators=(",", ":")).encode()),
                     b64encode(json.dumps(payload, separators=(",", ":")).encode()),
                     b64encode(signature)])


@unittest.skipIf(jwt is None, SKIP_REASON)
class TokensTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vwr = VwrProcess(CONFIG)
        cls.addClassCleanup(cls.vwr.close)

    # ----- helpers -----

    def jwks(self):
        status, headers, body = request("GET", self.vwr.url("/.well-known/jwks.json"))
        self.assertEqual(status, 200)
        self.assertIn("max-age=", headers.get("Cache-Control", ""))
        return json.loads(body)

    def admitted_token(self, room="alpha"):
        code, body = self.vwr.join(room)
        self.assertEqual(code, 200, body)
        self.assertEqual(body["status"], "admitted", body)
        return body["token"], body["ticket"]

    def verify(self, token, room, jwks=None, **options):
        """Verifies `token` with PyJWT against the served JWKS (or `jwks`); returns the claims."""
        jwks = jwks or self.jwks()
        kid = jwt.get_unverified_header(token)["kid"]
        matching = [k for k in jwks["keys"] if k["kid"] == kid]
        self.assertEqual(len(matching), 1, "kid %s is in the JWKS once" % kid)
        key = ECAlgorithm.from_jwk(json.dumps(matching[0]))
        return jwt.decode(token, key, algorithms=["ES256"], audience=room, issuer=ISSUER,
                          options={"require": ["iss", "aud", "sub", "iat", "nbf", "exp", "jti"]},
                          **options)

    def assert_refused(self, room, token, why):
        code, _, body = self.vwr.heartbeat(room, token)
        self.assertEqual(code, 401, "%s: %r" % (why, body))
        self.assertEqual(body["error"]["code"], "invalid_token", why)

    def active_kid(self):
        return parts(self.admitted_token()[0])[0]["kid"]

    # ----- the JWKS -----

    def test_the_jwks_publishes_p256_keys_that_verify_issued_tokens(self):
        jwks = self.jwks()
        self.assertGreaterEqual(len(jwks["keys"]), 1)
        for key in jwks["keys"]:
            self.assertEqual(set(key), {"kty", "crv", "x", "y", "kid", "use", "alg"}, key)
            self.assertEqual((key["kty"], key["crv"], key["use"], key["alg"]),
                             ("EC", "P-256", "sig", "ES256"))
            for coordinate in ("x", "y"):
                self.assertNotIn("=", key[coordinate])
                self.assertEqual(len(b64decode(key[coordinate])), 32)
            # The point is on the curve (python-cryptography checks it) and the kid is its
            # RFC 7638 thumbprint.
            public = ECAlgorithm.from_jwk(json.dumps(key))
            self.assertIsInstance(public, ec.EllipticCurvePublicKey)
            canonical = json.dumps({k: key[k] for k in ("crv", "kty", "x", "y")},
                                   separators=(",", ":"), sort_keys=True)
            self.assertEqual(key["kid"], b64encode(hashlib.sha256(canonical.encode()).digest()))

        # Caching: a conditional request with the ETag is answered 304.
        status, headers, _ = request("GET", self.vwr.url("/.well-known/jwks.json"))
        etag = headers.get("ETag")
        self.assertTrue(etag)
        status, _, body = request("GET", self.vwr.url("/.well-known/jwks.json"),
                                  headers={"If-None-Match": etag})
        self.assertEqual(status, 304)
        self.assertEqual(body, b"")

    def test_issued_tokens_verify_with_an_independent_implementation(self):
        token, _ = self.admitted_token("alpha")
        header, payload, signature = parts(token)
        self.assertEqual(header, {"alg": "ES256", "typ": "JWT", "kid": header["kid"]})
        self.assertEqual(len(signature), 64, "R || S, not DER")
        claims = self.verify(token, "alpha")
        self.assertEqual(claims, payload)
        self.assertEqual(claims["iss"], ISSUER)
        self.assertEqual(claims["aud"], "alpha")
        self.assertEqual(claims["exp"] - claims["iat"], 90, "the room's session_timeout")
        self.assertEqual(claims["nbf"], claims["iat"])
        self.assertLessEqual(abs(claims["iat"] - time.time()), 5)
        # ... and not for another room.
        with self.assertRaises(jwt.InvalidAudienceError):
            self.verify(token, "beta")
        short, _ = self.admitted_token("short")
        claims = self.verify(short, "short")
        self.assertEqual(claims["exp"] - claims["iat"], 2, "rooms[].token_lifetime")

    # ----- forgeries -----

    def test_forged_tokens_are_refused(self):
        token, _ = self.admitted_token("alpha")
        header, payload, signature = parts(token)
        jwk = [k for k in self.jwks()["keys"] if k["kid"] == header["kid"]][0]

        unsigned = compact(dict(header, alg="none"), payload)
        self.assert_refused("alpha", unsigned, "alg none")
        self.assert_refused("alpha", jwt.encode(payload, None, algorithm="none",
                                                headers={"kid": header["kid"]}), "alg none")

        # HS256 keyed with the public key, in the forms a confused verifier might use.
        xy = b64decode(jwk["x"]) + b64decode(jwk["y"])
        for secret in (json.dumps(jwk).encode(), json.dumps(jwk, separators=(",", ":")).encode(),
                       xy, b"\x04" + xy):
            for alg in ("HS256", "ES256"):
                forged_header = dict(header, alg=alg)
                signing_input = token.rsplit(".", 1)[0].split(".")[1]
                first = b64encode(json.dumps(forged_header, separators=(",", ":")).encode())
                message = (first + "." + signing_input).encode()
                mac = hmac.new(secret, message, hashlib.sha256).digest()
                self.assert_refused("alpha", first + "." + signing_input + "." + b64encode(mac),
                                    "HMAC with the public key, alg " + alg)

        tampered = dict(payload, sub="someone-else")
        self.assert_refused("alpha", compact(header, tampered, signature), "tampered payload")
        longer = dict(payload, exp=payload["exp"] + 3600)
        self.assert_refused("alpha", compact(header, longer, signature), "extended exp")

        # Well signed, by a key that is not in the JWKS.
        intruder = ec.generate_private_key(ec.SECP256R1())
        self.assert_refused("alpha", jwt.encode(payload, intruder, algorithm="ES256",
                                                headers={"kid": header["kid"]}), "another key")
        self.assert_refused("alpha", jwt.encode(payload, intruder, algorithm="ES256",
                                                headers={"kid": "unknown"}), "unknown kid")

        other_room, _ = self.admitted_token("beta")
        self.assert_refused("alpha", other_room, "a token of another room")

        # None of that ended the genuine session.
        code, _, body = self.vwr.heartbeat("alpha", token)
        self.assertEqual(code, 204, body)

    def test_an_expired_token_is_refused_and_the_ticket_gives_a_fresh_one(self):
        token, ticket = self.admitted_token("short")  # token_lifetime 2s
        code, _, body = self.vwr.heartbeat("short", token)
        self.assertEqual(code, 204, body)

        def refused():
            code, _, body = self.vwr.heartbeat("short", token)
            return body if code == 401 else None

        body = wait_until(refused, timeout=6, interval=0.2, message="the token expires")
        self.assertEqual(body["error"]["code"], "invalid_token")
        self.assertIn("expired", body["error"]["message"])
        with self.assertRaises(jwt.ExpiredSignatureError):
            self.verify(token, "short")

        # The session itself lives on: its ticket's status hands out a fresh token.
        code, answer = self.vwr.status("short", ticket)
        self.assertEqual(code, 200, answer)
        self.assertEqual(answer["status"], "admitted")
        fresh = answer["token"]
        self.assertEqual(self.verify(fresh, "short")["jti"], parts(token)[1]["jti"])
        code, _, body = self.vwr.heartbeat("short", fresh)
        self.assertEqual(code, 204, body)

    # ----- rotation -----

    def test_rotation_through_the_admin_api_keeps_earlier_tokens_valid(self):
        old_token, _ = self.admitted_token("alpha")
        old_kid = parts(old_token)[0]["kid"]
        code, _, body = self.vwr.admin_request("POST", "/admin/api/v1/keys/rotate", token=False)
        self.assertEqual(code, 401)

        code, _, body = self.vwr.admin_request("POST", "/admin/api/v1/keys/rotate")
        self.assertEqual(code, 200, body)
        new_kid = body["kid"]
        self.assertNotEqual(new_kid, old_kid)
        self.assertEqual(body["retired"], old_kid)
        self.assertEqual({k["kid"] for k in body["jwks"]["keys"]} & {old_kid, new_kid},
                         {old_kid, new_kid})

        jwks = self.jwks()
        self.assertEqual(jwks, body["jwks"])
        # The earlier token: valid at the API and offline against the new JWKS.
        code, _, answer = self.vwr.heartbeat("alpha", old_token)
        self.assertEqual(code, 204, answer)
        self.assertEqual(self.verify(old_token, "alpha", jwks)["aud"], "alpha")
        # New tokens carry the new kid.
        new_token, _ = self.admitted_token("alpha")
        self.assertEqual(parts(new_token)[0]["kid"], new_kid)
        self.verify(new_token, "alpha", jwks)

        code, _, listed = self.vwr.admin_request("GET", "/admin/api/v1/keys")
        self.assertEqual(code, 200, listed)
        states = {k["kid"]: k for k in listed["keys"]}
        self.assertEqual(states[new_kid]["state"], "active")
        self.assertEqual(states[old_kid]["state"], "retired")
        # Kept until every token it signed has expired: retired + 90 s (the longest lifetime)
        # + the margin.
        self.assertGreaterEqual(states[old_kid]["not_after"] - states[old_kid]["retired_at"], 90)
        self.assertRegex(self.vwr.log, r"signing key rotated by .*new key " + re.escape(new_kid))

    def test_a_rotation_by_the_cli_is_picked_up_by_the_running_server(self):
        old_token, _ = self.admitted_token("alpha")
        args = ["--config", self.vwr.config_path, "--data-dir", self.vwr.data_dir]
        done = run_vwr(["keys", "rotate"] + args)
        self.assertEqual(done.returncode, 0, done.stderr)
        m = re.search(r"rotated: (\S+) is the new signing key", done.stdout)
        self.assertTrue(m, done.stdout)
        new_kid = m.group(1)

        listed = run_vwr(["keys", "list"] + args)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertRegex(listed.stdout, re.escape(new_kid) + r"\s+active")

        wait_until(lambda: self.active_kid() == new_kid, timeout=10, interval=0.2,
                   message="the server signs with the key the CLI made")
        self.assertIn(new_kid, {k["kid"] for k in self.jwks()["keys"]})
        code, _, body = self.vwr.heartbeat("alpha", old_token)
        self.assertEqual(code, 204, body)
        self.verify(old_token, "alpha")
        self.vwr.wait_for_log(r"keys: " + re.escape(new_kid) + r" signs now")


class KeyDirectoryTest(unittest.TestCase):
    """The key directory on disk: private modes, and clear errors for damaged files."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vwr-keys-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.data = os.path.join(self.tmp, "data")

    def test_keys_are_private_and_survive_a_restart(self):
        with VwrProcess(data_dir=self.data) as vwr:
            kid = json.loads(request("GET", vwr.url("/.well-known/jwks.json"))[2])["keys"][0]["kid"]
            self.assertEqual(vwr.stop(), 0)
        keys = os.path.join(self.data, "keys")
        self.assertEqual(stat.S_IMODE(os.stat(keys).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(keys, "key-%s.pem" % kid)).st_mode),
                         0o600)
        with VwrProcess(data_dir=self.data) as vwr:
            again = json.loads(request("GET", vwr.url("/.well-known/jwks.json"))[2])
            self.assertEqual([k["kid"] for k in again["keys"]], [kid])

    def test_a_damaged_manifest_stops_the_server_with_a_clear_error(self):
        keys = os.path.join(self.data, "keys")
        os.makedirs(keys, mode=0o700)
        with open(os.path.join(keys, "manifest.json"), "w", encoding="utf-8") as f:
            f.write('{"format":1,"keys":[{"kid":"x"}]}')
        done = run_vwr(["serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
                        "--data-dir", self.data])
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertRegex(done.stderr, r"tokens\.key_dir: .*manifest\.json: keys\[0\]")
        listed = run_vwr(["keys", "list", "--data-dir", self.data])
        self.assertEqual(listed.returncode, 1)
        self.assertIn("manifest.json", listed.stderr)
        rotated = run_vwr(["keys", "rotate", "--data-dir", self.data])
        self.assertEqual(rotated.returncode, 1)
        with open(os.path.join(keys, "manifest.json"), encoding="utf-8") as f:
            self.assertIn('"kid":"x"', f.read(), "the damaged file is left for the operator")

    def test_sighup_applies_new_token_lifetimes_and_records_the_longest(self):
        def config(lifetime):
            return config_yaml(room_yaml("r", token_lifetime=lifetime, **POLL))

        def lifetime_of_new_tokens(vwr):
            code, body = vwr.join("r")
            self.assertEqual(code, 200, body)
            claims = parts(body["token"])[1]
            return claims["exp"] - claims["iat"]

        def manifest_lifetime():
            with open(os.path.join(self.data, "keys", "manifest.json"), encoding="utf-8") as f:
                return json.load(f)["token_lifetime_max"]

        with VwrProcess(config("30s"), data_dir=self.data) as vwr:
            self.assertEqual(lifetime_of_new_tokens(vwr), 30)
            self.assertEqual(manifest_lifetime(), 30)
            with open(vwr.config_path, "w", encoding="utf-8") as f:
                f.write(config("45s"))
            vwr.send_signal(signal.SIGHUP)
            vwr.wait_for_log(r"configuration reloaded")
            self.assertEqual(lifetime_of_new_tokens(vwr), 45)
            # Retired keys are kept for the longest lifetime any token got.
            self.assertEqual(manifest_lifetime(), 45)

    def test_a_missing_private_key_is_named(self):
        with VwrProcess(data_dir=self.data) as vwr:
            self.assertEqual(vwr.stop(), 0)
        keys = os.path.join(self.data, "keys")
        pem = [n for n in os.listdir(keys) if n.endswith(".pem")][0]
        os.remove(os.path.join(keys, pem))
        done = run_vwr(["serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
                        "--data-dir", self.data])
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn(pem, done.stderr)


if __name__ == "__main__":
    unittest.main()
