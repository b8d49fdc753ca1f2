"""GET /api/v1/verify (what nginx auth_request asks before every protected request), the
admission and entry pass cookies, entry passes and the operator's session end, against the real
binary.

Tokens and passes that vwr would never issue (expired, from another issuer) are made here with
vwr's own signing key, read from its key directory, with PyJWT (Debian python3-jwt and
python3-cryptography, as test_tokens uses): a correct signature, so what is refused is refused
for what it says. Those tests are skipped, saying so, when the packages are missing.

The revocation test across THREE nodes on one Redis runs in integration.redis.test_verify (the
run of this file on the Redis store); it starts its own redis-server.
"""

import base64
import glob
import json
import os
import shutil
import tempfile
import time
import unittest
import urllib.parse

from jwt_support import import_jwt
from redis_harness import RedisServer, redis_available
from vwr_harness import (VwrProcess, json_request, on_redis, request, wait_until)


jwt = import_jwt()
NEEDS_JWT = unittest.skipIf(jwt is None, "signing test tokens needs python3-jwt and "
                                         "python3-cryptography (scripts/install-deps)")

ISSUER = "vwr-verify"


def room(room_id, host=None, path_prefix=None, **policy):
    """One `rooms:` entry: one match rule (when given) and the policy."""
    text = "  - id: %s\n" % room_id
    if host or path_prefix:
        text += "    match:\n      - host: \"%s\"\n        path_prefix: %s\n" % (
            host or "*", path_prefix or "/")
    fields = dict(max_active=1000, admit_rate=1000, burst=1000)
    fields.update(policy)
    text += "".join("    %s: %s\n" % item for item in fields.items())
    return text + "    poll:\n      min: 100ms\n      max: 1s\n"


CONFIG = "tokens:\n  issuer: %s\nrooms:\n" % ISSUER + "".join([
    room("shop", "shop.example.com", "/"),
    room("sale", "shop.example.com", "/sale"),
    room("tickets", "*.tickets.example.com", "/"),
    room("other", "*", "/other"),
    # One slot and an entry pass of a minute; one room per test that fills it.
    room("pass", "pass.example.com", max_active=1, burst=1, entry_pass="1m"),
    room("pass2", "pass.example.com", max_active=1, burst=1, entry_pass="1m"),
    room("pass3", "pass.example.com", max_active=1, burst=1, entry_pass="1m"),
])


def b64decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def claims_of(jws):
    return json.loads(b64decode(jws.split(".")[1]))


def header_of(jws):
    return json.loads(b64decode(jws.split(".")[0]))


def set_cookies(headers):
    """Every Set-Cookie of a response, {name: (value, attributes as a list)}."""
    out = {}
    for line in headers.get_all("Set-Cookie") or []:
        first, *attributes = [p.strip() for p in line.split(";")]
        name, _, value = first.partition("=")
        out[name] = (value, attributes)
    return out


class VerifyCase(unittest.TestCase):
    """Helpers over one running vwr (self.vwr)."""

    vwr = None

    def verify(self, room=None, token=None, cookie=None, host=None, uri=None, proto=None,
               node=None, method="GET"):
        """GET /api/v1/verify; returns (status, headers, json body or None)."""
        path = "/api/v1/verify"
        if room is not None:
            path += "?room=" + urllib.parse.quote(room, safe="")
        headers = {}
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        if cookie is not None:
            headers["Cookie"] = cookie
        if host is not None:
            headers["X-Original-Host"] = host
        if uri is not None:
            headers["X-Original-URI"] = uri
        if proto is not None:
            headers["X-Forwarded-Proto"] = proto
        code, hdrs, data = request(method, (node or self.vwr).public + path, headers=headers)
        body = json.loads(data) if data.strip() else None
        return code, hdrs, body

    def join(self, room, user_id=None, cookie=None, entry_pass=None, node=None):
        """POST .../join; returns (status, headers, json)."""
        body = {}
        if user_id is not None:
            body["userId"] = user_id
        if entry_pass is not None:
            body["entryPass"] = entry_pass
        headers = {"Cookie": cookie} if cookie else {}
        return (node or self.vwr).json_request("POST", "/api/v1/rooms/%s/join" % room, body=body,
                                               headers=headers)

    def admitted(self, room, user_id=None, node=None):
        code, hdrs, answer = self.join(room, user_id, node=node)
        self.assertEqual(code, 200, answer)
        self.assertEqual(answer["status"], "admitted", answer)
        return answer, hdrs

    def assert_not_admitted(self, result, error, room):
        code, hdrs, body = result
        self.assertEqual(code, 401, body)
        self.assertEqual(body["error"]["code"], error, body)
        self.assertEqual(hdrs.get("Cache-Control"), "no-store")
        self.assertTrue(hdrs.get("X-VWR-Wait-URL", "").startswith("/wait/%s" % room), hdrs)

    # ----- signing as vwr would, with its own key -----

    def signing_key(self, vwr=None):
        """(kid, PEM) of the key the server signs with now."""
        vwr = vwr or self.vwr
        jwks = json.loads(request("GET", vwr.url("/.well-known/jwks.json"))[2])
        kid = jwks["keys"][0]["kid"]
        with open(os.path.join(vwr.data_dir, "keys", "key-%s.pem" % kid), "rb") as f:
            return kid, f.read()

    def sign(self, payload, typ="JWT"):
        kid, pem = self.signing_key()
        return jwt.encode(payload, pem, algorithm="ES256", headers={"kid": kid, "typ": typ})


class VerifyTest(VerifyCase):
    @classmethod
    def setUpClass(cls):
        cls.vwr = VwrProcess(CONFIG)

    @classmethod
    def tearDownClass(cls):
        cls.vwr.close()

    # ----- valid tokens -----

    def test_a_valid_token_passes_from_the_bearer_header_and_from_the_cookie(self):
        answer, hdrs = self.admitted("shop", user_id="visitor-1")
        token = answer["token"]
        sub = claims_of(token)["sub"]
        self.assertNotEqual(sub, "visitor-1", "the subject is a pseudonym, never the user id")
        for result in (self.verify("shop", token=token),
                       self.verify("shop", cookie="a=b; vwr_shop=" + token),
                       self.verify("shop", token=token, method="HEAD")):
            code, h, body = result
            self.assertEqual(code, 204, body)
            self.assertEqual(h.get("X-VWR-Room"), "shop")
            self.assertEqual(h.get("X-VWR-Subject"), sub)
            self.assertNotIn("Content-Length", h, "a 204 carries none (RFC 9110 8.6), HEAD too")
        # The cookie the join set is the one verify reads.
        cookie_value, _ = set_cookies(hdrs)["vwr_shop"]
        self.assertEqual(cookie_value, token)
        self.assertEqual(self.verify("shop", cookie="vwr_shop=" + cookie_value)[0], 204)

    def test_the_room_is_found_by_the_original_host_and_uri(self):
        tokens = {room: self.admitted(room)[0]["token"] for room in ("shop", "sale", "tickets",
                                                                     "other")}
        cookie = "; ".join("vwr_%s=%s" % (room, t) for room, t in tokens.items())
        cases = [
            ("shop.example.com", "/", "shop"),                     # exact host
            ("Shop.Example.com:443", "/cart?x=1", "shop"),         # case and port ignored
            ("shop.example.com", "/sale/shoes?size=9", "sale"),    # longest prefix wins
            ("a.tickets.example.com", "/concert", "tickets"),      # wildcard host
            ("anything.org", "/other/page", "other"),              # any host
            ("shop.example.com", "/other/x", "other"),             # a longer prefix beats a host
        ]
        for host, uri, room in cases:
            code, h, body = self.verify(cookie=cookie, host=host, uri=uri)
            self.assertEqual((code, h.get("X-VWR-Room")), (204, room), (host, uri, body))
            # Only that room's token counts.
            code, h, body = self.verify(
                cookie="; ".join("vwr_%s=%s" % (r, t) for r, t in tokens.items() if r != room),
                host=host, uri=uri)
            self.assertEqual((code, h.get("X-VWR-Room")), (401, room), (host, uri, body))
        # No rule covers it: 404, which nginx turns into an error page.
        code, _, body = self.verify(cookie=cookie, host="anything.org", uri="/")
        self.assertEqual((code, body["error"]["code"]), (404, "room_not_found"))

    # ----- not admitted -----

    def test_not_admitted_visitors_get_the_waiting_page_with_the_original_url(self):
        code, h, body = self.verify(host="shop.example.com", uri="/sale/x?y=1&z=%2F",
                                    proto="https")
        self.assertEqual(code, 401, body)
        self.assertEqual(body["error"]["code"], "invalid_token")
        self.assertEqual(h.get("Cache-Control"), "no-store")
        wait_url = h.get("X-VWR-Wait-URL")
        original = "https://shop.example.com/sale/x?y=1&z=%2F"
        self.assertEqual(wait_url, "/wait/sale?return=" + urllib.parse.quote(original, safe=""))
        # The waiting page takes that return URL (the room's own host), and no other.
        code, _, page = request("GET", self.vwr.public + wait_url)
        self.assertEqual(code, 200)
        self.assertIn('data-return="%s"' % original.replace("&", "&amp;"), page.decode())
        _, _, page = request("GET", self.vwr.public + "/wait/sale?return=" +
                             urllib.parse.quote("https://evil.example.org/", safe=""))
        self.assertIn('data-return="/"', page.decode())
        # A room for every host names no host to trust: the path alone (the page is on the
        # visitor's own host, so it leads to the same place).
        _, h, _ = self.verify(host="10.1.2.3:8080", uri="/other/a b")
        self.assertEqual(h.get("X-VWR-Wait-URL"), "/wait/other")  # no path with a space
        _, h, _ = self.verify(host="10.1.2.3:8080", uri="/other/x?q=1")
        self.assertEqual(h.get("X-VWR-Wait-URL"), "/wait/other?return=%2Fother%2Fx%3Fq%3D1")
        # A room named by ?room=, without an original URI: no return.
        _, h, _ = self.verify("shop")
        self.assertEqual(h.get("X-VWR-Wait-URL"), "/wait/shop")

    @NEEDS_JWT
    def test_expired_foreign_and_forged_tokens_are_refused(self):
        token = self.admitted("shop")[0]["token"]
        claims = claims_of(token)
        now = int(time.time())
        expired = self.sign(dict(claims, iat=now - 120, nbf=now - 120, exp=now - 60))
        self.assert_not_admitted(self.verify("shop", token=expired), "token_expired", "shop")
        self.assert_not_admitted(self.verify("shop", cookie="vwr_shop=" + expired),
                                 "token_expired", "shop")
        not_yet = self.sign(dict(claims, nbf=now + 60))
        self.assert_not_admitted(self.verify("shop", token=not_yet), "token_expired", "shop")

        other_issuer = self.sign(dict(claims, iss="someone-else"))
        self.assert_not_admitted(self.verify("shop", token=other_issuer), "invalid_token", "shop")
        other_room = self.admitted("sale")[0]["token"]
        self.assert_not_admitted(self.verify("shop", token=other_room), "invalid_token", "shop")
        header, payload, signature = token.split(".")
        tampered = header + "." + b64encode(json.dumps(dict(claims, sub="x")).encode()) + "." + \
            signature
        self.assert_not_admitted(self.verify("shop", token=tampered), "invalid_token", "shop")
        none = b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()) + "." + payload + "."
        self.assert_not_admitted(self.verify("shop", token=none), "invalid_token", "shop")
        # A token of an earlier lifetime of the room's state names a session that is gone.
        incarnation, ticket = claims["jti"].split(".")
        stale = self.sign(dict(claims, jti="%016x.%s" % (int(incarnation, 16) ^ 1, ticket)))
        self.assert_not_admitted(self.verify("shop", token=stale), "session_ended", "shop")
        # The genuine one still passes.
        self.assertEqual(self.verify("shop", token=token)[0], 204)

    def test_bad_inputs_get_clear_errors(self):
        code, _, body = self.verify()
        self.assertEqual((code, body["error"]["code"]), (400, "bad_request"))
        self.assertIn("room", body["error"]["message"])
        code, _, body = self.verify("no-such-room")
        self.assertEqual((code, body["error"]["code"]), (404, "room_not_found"))
        self.assert_not_admitted(self.verify("shop", token="garbage"), "invalid_token", "shop")
        self.assert_not_admitted(self.verify("shop", cookie="vwr_shop=" + "x" * 5000),
                                 "invalid_token", "shop")
        # A cookie beyond the header limit (8 KiB) is refused by the server itself.
        code, _, body = self.verify("shop", cookie="vwr_shop=" + "x" * 9000)
        self.assertEqual((code, body["error"]["code"]), (431, "headers_too_large"))
        code, hdrs, body = self.vwr.json_request("POST", "/api/v1/verify?room=shop")
        self.assertEqual((code, body["error"]["code"], hdrs.get("Allow")),
                         (405, "method_not_allowed", "GET, HEAD"))
        # Each is logged (at most 5 verify lines a second: the other tests' refusals may have used
        # up this second's, so ask again until one is written) and counted; the server is fine.
        def logged():
            self.verify()
            return any("GET /api/v1/verify 400 " in line for line in self.vwr.log_lines)
        wait_until(logged, 5, interval=0.3, message="the bad request is logged")
        metrics = self.vwr.metrics()
        self.assertGreaterEqual(metrics['vwr_verify_results_total{result="bad_request"}'], 1)
        self.assertGreaterEqual(metrics['vwr_verify_results_total{result="room_not_found"}'], 1)
        self.assertGreaterEqual(metrics['vwr_http_requests_total{endpoint="verify",code="401"}'],
                                2)
        self.assertEqual(self.vwr.room_info("shop")[0], 200)

    # ----- revocation -----

    def test_a_session_ended_by_leave_or_by_an_operator_stops_verifying_within_a_second(self):
        token = self.admitted("shop")[0]["token"]
        self.assertEqual(self.verify("shop", token=token)[0], 204)
        code, hdrs, _ = self.vwr.leave("shop", token)
        self.assertEqual(code, 204)
        self.assertEqual(set_cookies(hdrs).get("vwr_shop"),
                         ("", ["Path=/", "Max-Age=0", "HttpOnly", "SameSite=Lax"]))
        wait_until(lambda: self.verify("shop", cookie="vwr_shop=" + token)[0] == 401, 1.0,
                   message="the left session's token is refused")
        self.assert_not_admitted(self.verify("shop", token=token), "session_ended", "shop")

        token = self.admitted("shop")[0]["token"]
        jti = claims_of(token)["jti"]
        code, _, body = self.vwr.admin_request("DELETE", "/admin/api/v1/rooms/shop/sessions/" + jti)
        self.assertEqual(code, 204, body)
        wait_until(lambda: self.verify("shop", token=token)[0] == 401, 1.0,
                   message="the ended session's token is refused")
        self.assert_not_admitted(self.verify("shop", token=token), "session_ended", "shop")
        code, _, body = self.vwr.admin_request("DELETE", "/admin/api/v1/rooms/shop/sessions/" + jti)
        self.assertEqual((code, body["error"]["code"]), (404, "session_not_found"))
        # By ticket number too.
        token = self.admitted("shop")[0]["token"]
        ticket = claims_of(token)["jti"].split(".")[1]
        code, _, _ = self.vwr.admin_request("DELETE",
                                            "/admin/api/v1/rooms/shop/sessions/" + ticket)
        self.assertEqual(code, 204)
        wait_until(lambda: self.verify("shop", token=token)[0] == 401, 1.0,
                   message="the ended session's token is refused")
        code, _, body = self.vwr.admin_request("DELETE", "/admin/api/v1/rooms/shop/sessions/x.y")
        self.assertEqual((code, body["error"]["code"]), (400, "bad_request"))

    # ----- cookies and entry passes -----

    def test_admitted_answers_set_the_cookies_with_their_attributes(self):
        answer, hdrs = self.admitted("pass3", user_id="cookie-user")
        cookies = set_cookies(hdrs)
        token_value, token_attributes = cookies["vwr_pass3"]
        self.assertEqual(token_value, answer["token"])
        claims = claims_of(answer["token"])
        self.assertEqual(token_attributes, ["Path=/", "Max-Age=%d" % (claims["exp"] - claims["iat"]),
                                            "HttpOnly", "SameSite=Lax"])
        pass_value, pass_attributes = cookies["vwr_pass_pass3"]
        self.assertEqual(pass_value, answer["entryPass"])
        self.assertEqual(pass_attributes[0], "Path=/")
        self.assertTrue(55 <= int(pass_attributes[1].split("=")[1]) <= 60, pass_attributes)
        self.assertEqual(pass_attributes[2:], ["HttpOnly", "SameSite=Lax"])
        # Rooms without an entry pass set only the admission cookie.
        _, hdrs = self.admitted("shop")
        self.assertEqual(list(set_cookies(hdrs)), ["vwr_shop"])
        self.vwr.leave("pass3", answer["token"])

    def test_an_entry_pass_lets_its_holder_back_in_while_newcomers_wait(self):
        first, _ = self.admitted("pass", user_id="returning")
        entry_pass = first["entryPass"]
        pass_claims = claims_of(entry_pass)
        self.assertEqual(header_of(entry_pass)["typ"], "vwr-pass+jwt")
        self.assertEqual((pass_claims["aud"], pass_claims["vwr"], pass_claims["sub"]),
                         ("pass", "pass", claims_of(first["token"])["sub"]))
        self.assertEqual(pass_claims["exp"] - pass_claims["iat"], 60)
        # A pass is no admission token.
        self.assert_not_admitted(self.verify("pass", token=entry_pass), "invalid_token", "pass")
        self.assert_not_admitted(self.verify("pass", cookie="vwr_pass=" + entry_pass),
                                 "invalid_token", "pass")

        # They leave; someone else takes the only slot; a line forms.
        self.assertEqual(self.vwr.leave("pass", first["token"])[0], 204)
        code, _, taker = self.join("pass", "taker")
        self.assertEqual(code, 200, taker)
        if taker["status"] == "waiting":  # the slot frees at the next tick
            taker = self.vwr.wait_admitted("pass", taker["ticket"])
        code, _, waiting = self.join("pass", "waiting-1")
        self.assertEqual((code, waiting["status"]), (200, "waiting"), waiting)

        # Back with the pass (the cookie the browser kept): in at once.
        code, _, back = self.join("pass", "returning", cookie="vwr_pass_pass=" + entry_pass)
        self.assertEqual(code, 200, back)
        self.assertEqual(back["status"], "admitted", back)
        self.assertEqual(self.verify("pass", token=back["token"])[0], 204)
        self.assertEqual(back["entryPass"], entry_pass, "handed back, not renewed")
        # ... while a newcomer waits, behind the one already waiting.
        code, _, newcomer = self.join("pass", "newcomer")
        self.assertEqual((newcomer["status"], newcomer["position"]), ("waiting", 2), newcomer)
        self.assertEqual(self.vwr.status("pass", waiting["ticket"])[1]["status"], "waiting")
        # In the body, as the SDK sends it.
        self.assertEqual(self.vwr.leave("pass", back["token"])[0], 204)
        code, _, again = self.join("pass", "returning", entry_pass=entry_pass)
        self.assertEqual((code, again["status"]), (200, "admitted"), again)
        metrics = self.vwr.metrics()
        self.assertGreaterEqual(metrics['vwr_room_entry_pass_joins_total{room="pass"}'], 2)
        for t in (taker["token"], again["token"]):
            self.vwr.leave("pass", t)

    @NEEDS_JWT
    def test_a_pass_that_does_not_hold_gives_a_plain_join(self):
        holder, _ = self.admitted("pass2", user_id="holder")
        entry_pass = holder["entryPass"]
        code, _, waiting = self.join("pass2", "in-line")
        self.assertEqual(waiting["status"], "waiting", waiting)  # the room is full
        now = int(time.time())
        claims = claims_of(entry_pass)
        expired = self.sign(dict(claims, iat=now - 120, nbf=now - 120, exp=now - 60),
                            typ="vwr-pass+jwt")
        other_room = self.sign(dict(claims, aud="pass"), typ="vwr-pass+jwt")
        as_token = self.sign(dict(claims), typ="JWT")  # a pass's claims, typed as a token
        for bad, why in ((expired, "expired"), (other_room, "another room's"),
                         (as_token, "typed as a token"), (holder["token"], "an admission token"),
                         ("garbage", "garbage")):
            # Anonymous: no userId to compare the pass's subject with, so only its defect counts.
            code, _, answer = self.join("pass2", cookie="vwr_pass_pass2=" + bad)
            self.assertEqual((code, answer["status"]), (200, "waiting"), why)
        # Someone else's pass, under another userId: anonymous passes are bearer rights, so it
        # re-enters the holder's own session (its one session), never a second one. (With
        # signed identities a pass serves its own user only: test_identity.)
        code, _, answer = self.join("pass2", "thief", cookie="vwr_pass_pass2=" + entry_pass)
        self.assertEqual(answer["status"], "admitted")
        self.assertEqual(claims_of(answer["token"])["jti"], claims_of(holder["token"])["jti"])
        self.assertEqual(self.vwr.room_info("pass2")[1]["active"], 1)
        code, _, body = self.join("pass2", "x", entry_pass=5)
        self.assertEqual((code, body["error"]["code"]), (400, "bad_request"))
        self.vwr.leave("pass2", holder["token"])


class ActivityTest(VerifyCase):
    """A visitor behind a gateway sends no heartbeats: the verifies that let it through keep its
    session (session_timeout 3 s, so tokens of 3 s), on both stores."""

    @classmethod
    def setUpClass(cls):
        cls.vwr = VwrProcess("tokens:\n  issuer: %s\nrooms:\n" % ISSUER
                             + room("brief", "brief.example.com", "/", session_timeout="3s"))

    @classmethod
    def tearDownClass(cls):
        cls.vwr.close()

    def test_verifies_every_half_second_keep_the_session_past_timeout_and_token_lifetime(self):
        answer, _ = self.admitted("brief")
        cookie = first = answer["token"]
        jti = claims_of(first)["jti"]
        renewed = 0
        started = time.monotonic()
        while time.monotonic() - started < 8:
            time.sleep(0.5)  # the visitor's pace: the thing under test, not a synchronisation
            code, hdrs, body = self.verify(host="brief.example.com", uri="/page",
                                           cookie="vwr_brief=" + cookie)
            self.assertEqual(code, 204, "after %.1f s: %r" % (time.monotonic() - started, body))
            fresh = hdrs.get("X-VWR-Token")
            if fresh:
                self.assertEqual(claims_of(fresh)["jti"], jti, "the same session")
                set_cookie = hdrs.get("X-VWR-Set-Cookie", "")
                self.assertTrue(set_cookie.startswith("vwr_brief=%s;" % fresh), set_cookie)
                cookie = fresh
                renewed += 1
        self.assertGreaterEqual(renewed, 4)
        self.assertEqual(self.vwr.heartbeat("brief", cookie)[0], 204, "the session lives")
        # One store write per session per second at most, not one per request.
        refreshes = self.vwr.metrics()["vwr_verify_session_refreshes_total"]
        self.assertGreaterEqual(refreshes, 4)
        self.assertLessEqual(refreshes, 10)
        # The first token, replayed: expired long ago, whatever its renewals.
        self.assert_not_admitted(self.verify("brief", cookie="vwr_brief=" + first),
                                 "token_expired", "brief")
        # Left: neither the renewed token nor a renewal is honoured any more.
        self.assertEqual(self.vwr.leave("brief", cookie)[0], 204)
        wait_until(lambda: self.verify("brief", cookie="vwr_brief=" + cookie)[0] == 401, 2,
                   message="the ended session refused")
        code, hdrs, _ = self.verify("brief", cookie="vwr_brief=" + cookie)
        self.assertNotIn("X-VWR-Token", hdrs)


class WebSettingsTest(VerifyCase):
    """web.public_url, cookie_secure and cookie_domain."""

    @classmethod
    def setUpClass(cls):
        cls.vwr = VwrProcess(CONFIG + "web:\n  public_url: https://queue.example.com\n"
                             "  cookie_secure: true\n  cookie_domain: example.com\n")

    @classmethod
    def tearDownClass(cls):
        cls.vwr.close()

    def test_the_wait_url_is_absolute_on_the_public_url(self):
        code, h, _ = self.verify(host="shop.example.com", uri="/sale/x?y=1", proto="https")
        self.assertEqual(code, 401)
        self.assertEqual(h.get("X-VWR-Wait-URL"),
                         "https://queue.example.com/wait/sale?return=" +
                         urllib.parse.quote("https://shop.example.com/sale/x?y=1", safe=""))

    def test_cookies_are_secure_and_on_the_domain(self):
        answer, hdrs = self.admitted("pass", user_id="secure-user")
        cookies = set_cookies(hdrs)
        for name in ("vwr_pass", "vwr_pass_pass"):
            self.assertEqual(cookies[name][1][-4:],
                             ["HttpOnly", "SameSite=Lax", "Secure", "Domain=example.com"], name)
        code, hdrs, _ = self.vwr.leave("pass", answer["token"])
        self.assertEqual(set_cookies(hdrs)["vwr_pass"][1],
                         ["Path=/", "Max-Age=0", "HttpOnly", "SameSite=Lax", "Secure",
                          "Domain=example.com"])


CLUSTER_ROOM = """rooms:
  - id: sale
    max_active: 100
    admit_rate: 1000
    burst: 100
    session_timeout: 60s
    poll:
      min: 100ms
      max: 1s
store:
  kind: redis
  redis:
    url: %s
    lease: 1s
secrets:
  ticket_key_file: %s
tokens:
  key_dir: %s
"""


@unittest.skipUnless(on_redis(), "runs with the Redis store (integration.redis.test_verify)")
@unittest.skipUnless(redis_available(), "redis-server is not installed (scripts/install-deps)")
class RevocationAcrossNodesTest(VerifyCase):
    """Three nodes on one Redis: a session ended on one node stops verifying on the others
    within a second."""

    def setUp(self):
        tmp = tempfile.mkdtemp(prefix="vwr-verify-")
        self.addCleanup(shutil.rmtree, tmp, True)
        self.redis = RedisServer()
        self.addCleanup(self.redis.close)
        text = CLUSTER_ROOM % (self.redis.url, os.path.join(tmp, "ticket.key"),
                               os.path.join(tmp, "keys"))
        self.nodes = []
        for _ in range(3):
            node = VwrProcess(text, env={"VWR_ADMIN_TOKEN": "verify-admin-token-0123"})
            self.addCleanup(node.close)
            self.nodes.append(node)
        for node in self.nodes:
            wait_until(lambda node=node: json_request("GET", node.admin + "/readyz")[0] == 200,
                       10, message="node ready")

    def assert_revoked_everywhere_within_a_second(self, token):
        start = time.monotonic()
        for node in self.nodes[1:]:
            wait_until(lambda node=node: self.verify("sale", token=token, node=node)[0] == 401,
                       1.0, interval=0.01, message="node %s refuses the token" % node.public)
        self.assertLess(time.monotonic() - start, 1.0)
        for node in self.nodes[1:]:
            self.assert_not_admitted(self.verify("sale", token=token, node=node), "session_ended",
                                     "sale")

    def test_leave_on_one_node_is_seen_by_the_others_within_a_second(self):
        answer, _ = self.admitted("sale", user_id="u-1", node=self.nodes[0])
        token = answer["token"]
        for node in self.nodes:
            self.assertEqual(self.verify("sale", token=token, node=node)[0], 204)
        self.assertEqual(self.nodes[0].leave("sale", token)[0], 204)
        self.assert_revoked_everywhere_within_a_second(token)

    def test_an_operator_ending_a_session_on_one_node_is_seen_by_the_others(self):
        answer, _ = self.admitted("sale", user_id="u-2", node=self.nodes[1])
        token = answer["token"]
        for node in self.nodes:
            self.assertEqual(self.verify("sale", token=token, node=node)[0], 204)
        code, _, body = self.nodes[0].admin_request(
            "DELETE", "/admin/api/v1/rooms/sale/sessions/" + claims_of(token)["jti"])
        self.assertEqual(code, 204, body)
        self.assert_revoked_everywhere_within_a_second(token)


if __name__ == "__main__":
    unittest.main()
