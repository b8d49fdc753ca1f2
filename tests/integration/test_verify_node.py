"""The Node.js example of docs/integration.md (examples/verify-node/verify.mjs, with the `jose`
npm package) verifies real tokens from a running vwr against the JWKS it serves, and refuses
tampered, foreign-room, foreign-issuer and unsigned ones, and entry passes (signed by the same
keys for the same room, but no admission).

Needs Node.js and the example's node modules (scripts/install-browser-deps runs `npm ci` in
examples/verify-node); skipped, saying so, without them.
"""

import base64
import json
import os
import shutil
import subprocess
import unittest

from vwr_harness import VwrProcess, config_yaml, room_yaml

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.normpath(os.path.join(HERE, "..", "..", "examples", "verify-node"))
NODE = shutil.which("node")
HAVE_JOSE = os.path.isdir(os.path.join(EXAMPLE, "node_modules", "jose"))
SKIP_REASON = ("the Node.js example needs node and examples/verify-node/node_modules "
               "(scripts/install-browser-deps)")

ISSUER = "vwr-node-test"
CONFIG = config_yaml(
    room_yaml("alpha", max_active=100, admit_rate=100, burst=100),
    room_yaml("beta", max_active=100, admit_rate=100, burst=100, entry_pass="10m"),
    extra="tokens:\n  issuer: %s\n" % ISSUER)


def b64decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@unittest.skipUnless(NODE and HAVE_JOSE, SKIP_REASON)
class VerifyNodeExampleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vwr = VwrProcess(CONFIG)
        cls.addClassCleanup(cls.vwr.close)
        cls.jwks_url = cls.vwr.url("/.well-known/jwks.json")

    def token(self, room="alpha"):
        code, value = self.vwr.join(room)
        self.assertEqual(code, 200, value)
        self.assertEqual(value["status"], "admitted", value)
        return value["token"]

    def verify(self, token, room="alpha", issuer=ISSUER):
        done = subprocess.run([NODE, "verify.mjs", self.jwks_url, room, token, issuer],
                              cwd=EXAMPLE, capture_output=True, text=True, timeout=30)
        return done.returncode, done.stdout, done.stderr

    def assert_refused(self, token, why, room="alpha", issuer=ISSUER, reason=None):
        code, out, err = self.verify(token, room, issuer)
        self.assertEqual(code, 1, "%s: accepted (%s)" % (why, out))
        self.assertIn("not admitted", err)
        if reason:
            self.assertRegex(err, reason, why)

    def test_a_valid_token_verifies_and_gives_its_claims(self):
        token = self.token()
        code, out, err = self.verify(token)
        self.assertEqual(code, 0, err)
        claims = json.loads(out)
        self.assertEqual(claims["aud"], "alpha")
        self.assertEqual(claims["iss"], ISSUER)
        for claim in ("sub", "iat", "nbf", "exp", "jti"):
            self.assertIn(claim, claims)

    def test_tampered_and_misdirected_tokens_are_refused(self):
        token = self.token()
        head, payload, signature = token.split(".")

        raw = bytearray(b64decode(signature))
        raw[0] ^= 0x80
        self.assert_refused(".".join([head, payload, b64encode(bytes(raw))]), "bad signature",
                            reason="ERR_JWS_SIGNATURE_VERIFICATION_FAILED")

        claims = json.loads(b64decode(payload))
        claims["aud"] = "beta"
        forged = b64encode(json.dumps(claims, separators=(",", ":")).encode())
        self.assert_refused(".".join([head, forged, signature]), "changed claims",
                            room="beta", reason="ERR_JWS_SIGNATURE_VERIFICATION_FAILED")

        self.assert_refused(token, "a token of another room", room="beta",
                            reason="ERR_JWT_CLAIM_VALIDATION_FAILED")
        self.assert_refused(token, "another issuer", issuer="someone-else",
                            reason="ERR_JWT_CLAIM_VALIDATION_FAILED")

        none_head = b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        self.assert_refused(".".join([none_head, payload, ""]), "alg none")
        hs_head = json.loads(b64decode(head))
        hs_head["alg"] = "HS256"
        self.assert_refused(
            ".".join([b64encode(json.dumps(hs_head).encode()), payload, signature]),
            "HS256 with the public key", reason="ERR_JOSE_ALG_NOT_ALLOWED")

    def test_an_entry_pass_is_no_admission(self):
        code, value = self.vwr.join("beta")
        self.assertEqual(code, 200, value)
        self.assertEqual(value["status"], "admitted", value)
        code, out, err = self.verify(value["token"], room="beta")
        self.assertEqual(code, 0, err)
        self.assertIn("entryPass", value)
        self.assert_refused(value["entryPass"], "an entry pass", room="beta",
                            reason="ERR_JWT_CLAIM_VALIDATION_FAILED")
        # Without the typ check, the claim check alone refuses it too (and the other way round):
        # the pass says typ vwr-pass+jwt and carries "vwr": "pass".
        header = json.loads(b64decode(value["entryPass"].split(".")[0]))
        claims = json.loads(b64decode(value["entryPass"].split(".")[1]))
        self.assertEqual(header["typ"], "vwr-pass+jwt")
        self.assertEqual(claims["vwr"], "pass")

    def test_the_token_is_found_in_the_header_or_the_rooms_cookie(self):
        script = (
            "import { tokenFrom } from './verify.mjs';"
            "const r = (headers) => tokenFrom({ headers }, 'alpha');"
            "console.log(JSON.stringify(["
            "  r({ authorization: 'Bearer a.b.c' }),"
            "  r({ cookie: 'x=1; vwr_alpha=d.e.f; vwr_beta=g.h.i' }),"
            "  r({ cookie: 'vwr_alphabet=j.k.l' }),"
            "  r({})]));")
        done = subprocess.run([NODE, "--input-type=module", "-e", script], cwd=EXAMPLE,
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(json.loads(done.stdout), ["a.b.c", "d.e.f", None, None])


if __name__ == "__main__":
    unittest.main()
