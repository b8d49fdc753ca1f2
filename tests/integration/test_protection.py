"""Abuse protection (rooms[].protection): repeated-request blocking per client IP and per
identity, block expiry, shadow mode, the lists from config and through the admin API, CIDR
blocks, lists kept across a restart, and on Redis shared by the nodes.
"""

import http.client
import json
import os
import re
import shutil
import tempfile
import threading
import unittest
import urllib.parse

from vwr_harness import (VwrProcess, address_of, config_yaml, embedded_only, on_redis, room_yaml,
                         shared_redis, wait_until)

POLL = dict(poll_min="100ms", poll_max="1s")


def protected(room_id, protection, **policy):
    """A room entry with a `protection:` section (a YAML block, indented under the room)."""
    text = room_yaml(room_id, **dict(POLL, **policy))
    return text + "    protection:\n" + "".join("      %s\n" % line for line in protection)


ROOMS = [
    protected("byip", ["mode: enforce", "window: 10m", "limit_per_ip: 5", "limit_per_identity: 0",
                       "block_time: 2s"]),
    protected("byid", ["mode: enforce", "window: 10m", "limit_per_ip: 0", "limit_per_identity: 3",
                       "block_time: 60s"]),
    protected("shadow", ["mode: shadow", "window: 10m", "limit_per_ip: 3"]),
    protected("denied", ["mode: enforce", "deny:", "  ips: [\"127.0.0.0/8\"]"]),
    protected("vip", ["mode: enforce", "allow:", "  identities: [\"vip-1\"]"],
              max_active=1, admit_rate=1, burst=1),
    protected("spared", ["mode: enforce", "window: 10m", "limit_per_ip: 2",
                         "unblock:", "  ips: [\"127.0.0.1/32\"]"]),
    protected("managed", ["mode: enforce", "window: 10m", "limit_per_ip: 0",
                          "limit_per_identity: 0"]),
    protected("managed2", ["mode: enforce", "window: 10m", "limit_per_ip: 2",
                           "limit_per_identity: 0"]),
]
CONFIG = config_yaml(*ROOMS)


def lists_path(room, kind):
    return "/admin/api/v1/rooms/%s/lists/%s" % (room, kind)


class ProtectionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vwr = VwrProcess(CONFIG)
        cls.addClassCleanup(cls.vwr.close)

    def info(self, room):
        code, headers, body = self.vwr.json_request("GET", "/api/v1/rooms/%s" % room)
        return code, headers, body

    def assert_blocked(self, code, headers, body):
        self.assertEqual(code, 429, body)
        self.assertEqual(body["error"]["code"], "blocked")
        self.assertGreaterEqual(int(headers["Retry-After"]), 1)

    def test_an_address_over_its_limit_is_blocked_until_the_block_time_ends(self):
        for _ in range(5):
            self.assertEqual(self.info("byip")[0], 200)
        code, headers, body = self.info("byip")
        self.assert_blocked(code, headers, body)
        self.assertLessEqual(int(headers["Retry-After"]), 2)
        # Every public endpoint of the room is refused, join included.
        code, _ = self.vwr.join("byip")
        self.assertEqual(code, 429)
        # The automatic block is listed with its end.
        code, _, listed = self.vwr.admin_request("GET", lists_path("byip", "block"))
        self.assertEqual(code, 200)
        self.assertEqual([(e["ip"], e["source"]) for e in listed["entries"]],
                         [("127.0.0.1", "auto")])
        self.assertIn("expires", listed["entries"][0])
        # Other rooms are not affected.
        self.assertEqual(self.info("managed")[0], 200)
        # The block ends after block_time (requests during the block are not counted).
        wait_until(lambda: self.info("byip")[0] == 200, timeout=5,
                   message="the block on byip to end")
        metrics = self.vwr.metrics()
        self.assertEqual(
            metrics['vwr_guard_blocked_total{room="byip",reason="rate_limit_ip"}'],
            1)

    def test_a_ticket_over_its_identity_limit_is_blocked_and_a_user_id_is_not_counted(self):
        # A ticket is signed: its polls are counted as one identity's.
        code, own = self.vwr.join("byid")
        self.assertEqual(code, 200, own)
        for _ in range(3):
            code, value = self.vwr.status("byid", own["ticket"])
            self.assertEqual(code, 200, value)
        code, headers, body = self.vwr.json_request(
            "GET", "/api/v1/rooms/byid/status", headers={"X-VWR-Ticket": own["ticket"]})
        self.assert_blocked(code, headers, body)
        # Someone else's ticket from the same address is served.
        code, other = self.vwr.join("byid")
        self.assertEqual(self.vwr.status("byid", other["ticket"])[0], 200)
        # A userId is the client's word, which anyone can send: never counted per identity.
        for _ in range(6):
            code, value = self.vwr.join("byid", user_id="bot-7")
            self.assertEqual(code, 200, value)

    def test_shadow_mode_counts_what_it_would_block_and_serves_everyone(self):
        for _ in range(10):
            self.assertEqual(self.info("shadow")[0], 200)
        metrics = self.vwr.metrics()
        self.assertEqual(metrics['vwr_guard_shadow_blocked_total{room="shadow",reason="rate_limit_ip"}'], 7)
        self.assertEqual(metrics['vwr_guard_blocked_total{room="shadow",reason="rate_limit_ip"}'], 0)

    def test_a_cidr_block_on_the_deny_list_is_refused_for_good(self):
        code, headers, body = self.info("denied")
        self.assert_blocked(code, headers, body)
        self.assertEqual(headers["Retry-After"], "3600")
        self.assertEqual(self.vwr.join("denied")[0], 429)

    def test_an_allow_listed_identity_is_not_claimed_by_sending_its_name(self):
        # The allow list names "vip-1"; anyone can send that userId. A privilege holds only for
        # a verified identity (a signed user: test_identity), so the claim waits like anyone.
        code, first = self.vwr.join("vip")
        self.assertEqual(code, 200)
        self.assertEqual(first["status"], "admitted")
        code, second = self.vwr.join("vip")
        self.assertEqual(second["status"], "waiting", second)
        code, claimed = self.vwr.join("vip", user_id="vip-1")
        self.assertEqual(code, 200, claimed)
        self.assertEqual(claimed["status"], "waiting", claimed)
        self.assertNotIn("token", claimed)
        metrics = self.vwr.metrics()
        self.assertEqual(metrics.get('vwr_guard_bypass_total{room="vip"}', 0), 0)

    def test_the_unblock_list_is_exempt_from_the_limits(self):
        for _ in range(10):
            self.assertEqual(self.info("spared")[0], 200)

    def test_lists_through_the_admin_api(self):
        path = lists_path("managed", "deny")
        code, _, body = self.vwr.admin_request("POST", path, body={"ip": "127.0.0.0/24"})
        self.assertEqual(code, 200, body)
        self.assertEqual(body["entries"], [{"ip": "127.0.0.0/24", "source": "admin"}])
        self.assertEqual(self.info("managed")[0], 429)
        code, _, body = self.vwr.admin_request("DELETE", path + "?ip=127.0.0.0%2F24")
        self.assertEqual(code, 200, body)
        self.assertEqual(body["entries"], [])
        self.assertEqual(self.info("managed")[0], 200)

        # A temporary block with a ttl, ending by itself.
        code, _, body = self.vwr.admin_request("POST", lists_path("managed", "block"),
                                               body={"ip": "127.0.0.1", "ttl": 2})
        self.assertEqual(code, 200, body)
        code, headers, body = self.info("managed")
        self.assert_blocked(code, headers, body)
        wait_until(lambda: self.info("managed")[0] == 200, timeout=5,
                   message="the temporary block to end")

        # An identity on the deny list.
        code, _, _ = self.vwr.admin_request("POST", path, body={"identity": "mallory"})
        self.assertEqual(code, 200)
        self.assertEqual(self.vwr.join("managed", user_id="mallory")[0], 429)
        self.assertEqual(self.vwr.join("managed", user_id="alice")[0], 200)
        code, _, _ = self.vwr.admin_request("DELETE", path, body={"identity": "mallory"})
        self.assertEqual(code, 200)
        self.assertEqual(self.vwr.join("managed", user_id="mallory")[0], 200)

    def test_a_listed_identity_reaches_the_log_escaped(self):
        # A list entry is text from the request: line breaks in it could write a line of their
        # own into the node's log (the change's line, and the audit line), and a terminal escape
        # could rewrite the operator's screen. The entry holds as sent; the log shows it escaped.
        forged = ("mallory\n[2026-01-01 00:00:00.000] [info] admin: nothing to see\r"
                  "\x1b[2J\u202e")
        path = lists_path("managed", "deny")
        code, _, body = self.vwr.admin_request("POST", path, body={"identity": forged})
        self.assertEqual(code, 200, body)
        self.assertIn({"identity": forged, "source": "admin"}, body["entries"])
        self.assertEqual(self.vwr.join("managed", user_id=forged)[0], 429)
        code, _, body = self.vwr.admin_request("DELETE", path, body={"identity": forged})
        self.assertEqual(code, 200, body)
        self.assertEqual(self.vwr.join("managed", user_id=forged)[0], 200)
        self.vwr.wait_for_log(r"removed from the deny list")
        self.vwr.wait_for_log(r"audit: .*lists\.deny\.remove")
        lines = [l for l in self.vwr.log_lines if "nothing to see" in l]
        # The change's two lines and their two audit lines, each whole.
        self.assertEqual(len(lines), 4, lines)
        for line in lines:
            self.assertIn("mallory\\n[2026-01-01", line)
            self.assertIn("nothing to see\\r\\x1B[2J\\u{202E}", line)
            for raw in ("\r", "\x1b", "\u202e"):
                self.assertNotIn(raw, line)
        self.assertFalse([l for l in self.vwr.log_lines if l.startswith("[2026-01-01")])

    def test_an_unblock_entry_lifts_an_automatic_block(self):
        for _ in range(2):
            self.assertEqual(self.info("managed2")[0], 200)
        self.assertEqual(self.info("managed2")[0], 429)
        code, _, _ = self.vwr.admin_request("POST", lists_path("managed2", "unblock"),
                                            body={"ip": "127.0.0.1"})
        self.assertEqual(code, 200)
        for _ in range(5):
            self.assertEqual(self.info("managed2")[0], 200)
        code, _, _ = self.vwr.admin_request("DELETE", lists_path("managed2", "unblock") +
                                            "?ip=127.0.0.1")
        self.assertEqual(code, 200)

    def test_bad_list_requests_get_clear_errors(self):
        path = lists_path("managed", "deny")
        for body in ({"ip": "300.1.1.1"}, {"ip": "10.0.0.0/33"}, {}, {"ip": "1.2.3.4",
                     "identity": "x"}, {"ip": 7}, {"name": "x"}, {"identity": "x" * 257}):
            code, _, answer = self.vwr.admin_request("POST", path, body=body)
            self.assertEqual(code, 400, (body, answer))
            self.assertEqual(answer["error"]["code"], "bad_request")
        code, _, answer = self.vwr.admin_request("POST", lists_path("managed", "deny"),
                                                 body={"ip": "1.2.3.4", "ttl": 5})
        self.assertEqual(code, 400, answer)  # ttl is for the block list only
        code, _, answer = self.vwr.admin_request("GET", lists_path("managed", "nope"))
        self.assertEqual(code, 404)
        code, _, answer = self.vwr.admin_request("GET", lists_path("nope", "deny"))
        self.assertEqual(answer["error"]["code"], "room_not_found")
        code, _, answer = self.vwr.admin_request("GET", lists_path("managed", "deny"), token=False)
        self.assertEqual(code, 401)
        code, _, answer = self.vwr.admin_request("DELETE", path + "?ip=10.9.9.9")
        self.assertEqual(code, 404)
        code, _, answer = self.vwr.admin_request("PUT", path, body={"ip": "10.9.9.9"})
        self.assertEqual(code, 405)


class ProtectionClientAddressTest(unittest.TestCase):
    """The native API counts the client behind a trusted proxy, and a spoofed X-Forwarded-For
    from a peer that is not one changes nothing."""

    ROOM = protected("perip", ["mode: enforce", "window: 10m", "limit_per_ip: 2",
                               "limit_per_identity: 0", "block_time: 60s"])

    def info(self, vwr, client):
        return vwr.json_request("GET", "/api/v1/rooms/perip",
                                headers={"X-Forwarded-For": "203.0.113.9, " + client})

    def test_behind_a_trusted_proxy_each_client_has_its_own_limit(self):
        vwr = VwrProcess(config_yaml(self.ROOM, extra="server:\n  trusted_proxies: "
                                                      "[\"127.0.0.0/8\", \"::1\"]\n"))
        self.addCleanup(vwr.close)
        for _ in range(2):
            self.assertEqual(self.info(vwr, "198.51.100.1")[0], 200)
        code, _, body = self.info(vwr, "198.51.100.1")
        self.assertEqual((code, body["error"]["code"]), (429, "blocked"), body)
        # The right-most untrusted address is the client: another one is served.
        self.assertEqual(self.info(vwr, "198.51.100.2")[0], 200)
        code, _, listed = vwr.admin_request("GET", lists_path("perip", "block"))
        self.assertEqual([e["ip"] for e in listed["entries"]], ["198.51.100.1"], listed)

    def test_a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(self):
        vwr = VwrProcess(config_yaml(self.ROOM))
        self.addCleanup(vwr.close)
        for n in range(2):
            self.assertEqual(self.info(vwr, "198.51.100.%d" % (10 + n))[0], 200)
        # A new made-up client address per request does not escape the peer's limit.
        code, _, body = self.info(vwr, "198.51.100.99")
        self.assertEqual((code, body["error"]["code"]), (429, "blocked"), body)
        code, _, listed = vwr.admin_request("GET", lists_path("perip", "block"))
        self.assertEqual([e["ip"] for e in listed["entries"]], ["127.0.0.1"], listed)


class ProtectionIdentityHintTest(unittest.TestCase):
    """A userId or a TRACER loginId is a hint that anyone can send: requests carrying a
    victim's hint from elsewhere are not counted against the victim, whose own joins and
    polls go on. (Trusted-proxy headers play the other addresses.)"""

    ROOM = protected("hinted", ["mode: enforce", "window: 10m", "limit_per_ip: 0",
                                "limit_per_identity: 20", "block_time: 60s"],
                     match='[{host: "hinted.example.com", path_prefix: "/"}]')
    PROXIES = "server:\n  trusted_proxies: [\"127.0.0.0/8\", \"::1\"]\n"

    def setUp(self):
        self.vwr = VwrProcess(config_yaml(self.ROOM, extra=self.PROXIES))
        self.addCleanup(self.vwr.close)

    def join(self, client, user_id):
        return self.vwr.json_request("POST", "/api/v1/rooms/hinted/join",
                                     body={"userId": user_id},
                                     headers={"X-Forwarded-For": client})

    def tracer(self, client, login_id):
        status, _, body = self.vwr.request(
            "POST", "/TRACERAPI/inputQueue.do",
            body=urllib.parse.urlencode(dict(host="hinted.example.com", port="443",
                                             pageUrl="https://hinted.example.com/",
                                             loginId=login_id)),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "X-Forwarded-For": client})
        self.assertEqual(status, 200, body)
        return dict(re.findall(r'<Parameter id="([^"]+)" type="String">(.*?)</Parameter>',
                               body.decode()))

    def test_another_clients_requests_with_a_users_id_do_not_block_that_user(self):
        code, _, own = self.join("203.0.113.5", "victim")
        self.assertEqual(code, 200, own)
        for n in range(25):
            code, _, body = self.join("198.51.100.%d" % (n + 1), "victim")
            self.assertEqual(code, 200, (n, body))
        # The victim's own re-join (with its ticket: the same place) and poll are served.
        code, _, again = self.vwr.json_request(
            "POST", "/api/v1/rooms/hinted/join", body={"userId": "victim"},
            headers={"X-Forwarded-For": "203.0.113.5", "X-VWR-Ticket": own["ticket"]})
        self.assertEqual(code, 200, again)
        self.assertEqual(again["ticket"], own["ticket"])
        code, _, polled = self.vwr.json_request(
            "GET", "/api/v1/rooms/hinted/status",
            headers={"X-VWR-Ticket": own["ticket"], "X-Forwarded-For": "203.0.113.5"})
        self.assertEqual(code, 200, polled)
        code, _, listed = self.vwr.admin_request("GET", lists_path("hinted", "block"))
        self.assertEqual(listed["entries"], [])

    def test_another_clients_tracer_polls_with_a_login_id_do_not_block_its_owner(self):
        self.assertIn(self.tracer("203.0.113.5", "victim-t")["isWait"], ("T", "F"))
        for n in range(25):
            self.assertIn(self.tracer("198.51.100.%d" % (n + 1), "victim-t")["isWait"],
                          ("T", "F"), n)
        self.assertIn(self.tracer("203.0.113.5", "victim-t")["isWait"], ("T", "F"))
        code, _, listed = self.vwr.admin_request("GET", lists_path("hinted", "block"))
        self.assertEqual(listed["entries"], [])

    def test_a_ticket_polled_over_the_identity_limit_is_blocked_from_any_address(self):
        code, _, own = self.join("203.0.113.5", "")
        self.assertEqual(code, 200, own)

        def poll(client):
            return self.vwr.json_request(
                "GET", "/api/v1/rooms/hinted/status",
                headers={"X-VWR-Ticket": own["ticket"], "X-Forwarded-For": client})

        for n in range(20):
            self.assertEqual(poll("198.51.100.%d" % (n + 1))[0], 200, n)
        code, headers, body = poll("192.0.2.1")
        self.assertEqual((code, body["error"]["code"]), (429, "blocked"), body)
        self.assertGreaterEqual(int(headers["Retry-After"]), 1)
        code, _, listed = self.vwr.admin_request("GET", lists_path("hinted", "block"))
        self.assertEqual([(e.get("identity"), e["source"]) for e in listed["entries"]],
                         [(own["ticket"], "auto")])


class DefaultJoinLimitTest(unittest.TestCase):
    """With the built-in configuration (no file, so no protection section: the request limits
    are in shadow mode) one client address cannot take thousands of places in a burst; its
    places are capped at joins_per_ip (300) per joins_window, the rest answered 429 blocked
    with Retry-After, while clients from other addresses (other loopback addresses here) are
    served and the places it holds go on."""

    JOINS_PER_IP = 300
    BURST = 2000
    THREADS = 4

    def burst(self, vwr, source):
        host, port = address_of(vwr.public)
        answers = []
        lock = threading.Lock()

        def worker(count):
            conn = http.client.HTTPConnection(host, port, timeout=10,
                                              source_address=(source, 0))
            try:
                for _ in range(count):
                    conn.request("POST", "/api/v1/rooms/default/join", body=b"{}",
                                 headers={"Content-Type": "application/json"})
                    resp = conn.getresponse()
                    got = (resp.status, resp.getheader("Retry-After"), json.loads(resp.read()))
                    with lock:
                        answers.append(got)
            finally:
                conn.close()

        threads = [threading.Thread(target=worker, args=(self.BURST // self.THREADS,))
                   for _ in range(self.THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(len(answers), self.BURST)
        return answers

    def test_one_address_gets_at_most_the_join_limit_and_others_are_served(self):
        vwr = VwrProcess(None)
        self.addCleanup(vwr.close)
        answers = self.burst(vwr, "127.0.0.1")
        places = [body for code, _, body in answers if code == 200]
        refused = [(code, retry, body) for code, retry, body in answers if code != 200]
        for code, retry, body in refused:
            self.assertEqual((code, body["error"]["code"]), (429, "blocked"), body)
            self.assertTrue(1 <= int(retry) <= 60, retry)
        # A burst that straddles two windows may take one window's share in each: the number
        # of windows it met is the number of times it crossed the limit.
        crossings = vwr.metrics().get(
            'vwr_guard_blocked_total{room="default",reason="join_limit"}', 0)
        self.assertIn(crossings, (1, 2), len(places))
        # At the limit, a request counted on each worker thread at the same instant may pass.
        self.assertLessEqual(len(places), crossings * self.JOINS_PER_IP + 4)
        self.assertGreaterEqual(len(places), self.JOINS_PER_IP)
        code, _, listed = vwr.admin_request("GET", lists_path("default", "join_block"))
        self.assertEqual([(e["ip"], e["source"]) for e in listed["entries"]],
                         [("127.0.0.1", "auto")])
        # Its places are still its own: polls go on.
        code, value = vwr.status("default", places[0]["ticket"])
        self.assertEqual(code, 200, value)
        # Someone at another address joins.
        host, port = address_of(vwr.public)
        status, _, body = request_from("127.0.0.2", host, port, "POST",
                                       "/api/v1/rooms/default/join", b"{}")
        self.assertEqual(status, 200, body)

    def test_a_tracer_client_inventing_login_ids_is_capped_too(self):
        vwr = VwrProcess(None)
        self.addCleanup(vwr.close)
        host, port = address_of(vwr.public)
        answers = []
        conn = http.client.HTTPConnection(host, port, timeout=10, source_address=("127.0.0.3", 0))
        self.addCleanup(conn.close)
        for n in range(self.JOINS_PER_IP + 50):
            conn.request("POST", "/TRACERAPI/inputQueue.do",
                         body=urllib.parse.urlencode(dict(host="h", port="443",
                                                          pageUrl="https://h/",
                                                          loginId="made-up-%d" % n)),
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            answers.append(dict(re.findall(r'<Parameter id="([^"]+)" type="String">(.*?)</Parameter>',
                                           resp.read().decode()))["isWait"])
        self.assertEqual(answers.count("NE"), 50, {a: answers.count(a) for a in set(answers)})
        # An identity that holds a place polls on: that is not a join.
        conn.request("POST", "/TRACERAPI/inputQueue.do",
                     body=urllib.parse.urlencode(dict(host="h", port="443", pageUrl="https://h/",
                                                      loginId="made-up-0")),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        resp = conn.getresponse()
        self.assertIn(dict(re.findall(r'<Parameter id="([^"]+)" type="String">(.*?)</Parameter>',
                                      resp.read().decode()))["isWait"], ("T", "F"))


def request_from(source, host, port, method, target, body):
    """One HTTP exchange from the local address `source` (any of 127.0.0.0/8 on Linux)."""
    conn = http.client.HTTPConnection(host, port, timeout=10, source_address=(source, 0))
    try:
        conn.request(method, target, body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.msg, resp.read()
    finally:
        conn.close()


class ProtectionRestartTest(unittest.TestCase):
    def test_answered_list_changes_survive_a_crash(self):
        tmp = tempfile.mkdtemp(prefix="vwr-guard-")
        self.addCleanup(shutil.rmtree, tmp, True)
        data_dir = os.path.join(tmp, "data")
        first = VwrProcess(CONFIG, data_dir=data_dir)
        try:
            code, _, _ = first.admin_request("POST", lists_path("managed", "deny"),
                                             body={"identity": "kept-out"})
            self.assertEqual(code, 200)
            code, _, _ = first.admin_request("POST", lists_path("managed", "allow"),
                                             body={"ip": "192.0.2.0/24"})
            self.assertEqual(code, 200)
            # An answered change is recorded already (in data_dir, or in Redis): killed at once,
            # without a tick in between, the node loses none of it.
            self.assertTrue(on_redis() or _file_has(data_dir, "192.0.2.0/24"))
        finally:
            first.close()  # SIGKILL
        second = VwrProcess(CONFIG, data_dir=data_dir)
        try:
            code, _, body = second.admin_request("GET", lists_path("managed", "deny"))
            self.assertEqual(body["entries"], [{"identity": "kept-out", "source": "admin"}])
            code, _, body = second.admin_request("GET", lists_path("managed", "allow"))
            self.assertEqual(body["entries"], [{"ip": "192.0.2.0/24", "source": "admin"}])
            self.assertEqual(second.join("managed", user_id="kept-out")[0], 429)
        finally:
            second.close()


class ProtectionUnrecordedChangeTest(unittest.TestCase):
    @embedded_only("the lists' file is the embedded store's")
    def test_a_change_that_cannot_be_recorded_is_answered_503(self):
        tmp = tempfile.mkdtemp(prefix="vwr-guard-")
        self.addCleanup(shutil.rmtree, tmp, True)
        data_dir = os.path.join(tmp, "data")
        # A directory where the file must go: the rename onto it fails, as a full disk would.
        os.makedirs(os.path.join(data_dir, "guard-lists.json", "blocker"))
        vwr = VwrProcess(CONFIG, data_dir=data_dir)
        self.addCleanup(vwr.close)
        code, _, body = vwr.admin_request("POST", lists_path("managed", "deny"),
                                          body={"identity": "not-recorded"})
        self.assertEqual(code, 503, body)
        self.assertEqual(body["error"]["code"], "unavailable")
        self.assertIn("could not be recorded", body["error"]["message"])
        vwr.wait_for_log(r"guard: cannot write .*guard-lists\.json")
        # In force on this node nonetheless, as the answer says.
        self.assertEqual(vwr.join("managed", user_id="not-recorded")[0], 429)
        self.assertTrue(vwr.running())


def _file_has(data_dir, text):
    try:
        with open(os.path.join(data_dir, "guard-lists.json"), encoding="utf-8") as f:
            return text in f.read()
    except FileNotFoundError:
        return False


@unittest.skipUnless(on_redis(), "two nodes share lists through Redis only")
class SharedListsTest(unittest.TestCase):
    def test_lists_and_automatic_blocks_reach_the_other_node(self):
        redis = shared_redis()
        import uuid  # pylint: disable=import-outside-toplevel
        prefix = "guard" + uuid.uuid4().hex[:12]
        text = CONFIG + "store:\n  kind: redis\n  redis:\n    url: %s\n    key_prefix: %s\n" % (
            redis.url, prefix)
        a = VwrProcess(text)
        self.addCleanup(a.close)
        b = VwrProcess(text)
        self.addCleanup(b.close)
        code, _, _ = a.admin_request("POST", lists_path("managed", "deny"),
                                     body={"identity": "everywhere"})
        self.assertEqual(code, 200)
        wait_until(lambda: b.join("managed", user_id="everywhere")[0] == 429, timeout=5,
                   message="node b to see node a's deny entry")
        # An automatic block on node a holds on node b too.
        for _ in range(5):
            self.assertEqual(a.json_request("GET", "/api/v1/rooms/byip")[0], 200)
        self.assertEqual(a.json_request("GET", "/api/v1/rooms/byip")[0], 429)
        # (Awaited through node b's admin list: polling its public API would be counted there.)
        wait_until(lambda: [e.get("ip") for e in b.admin_request(
            "GET", lists_path("byip", "block"))[2]["entries"]] == ["127.0.0.1"], timeout=3,
                   message="node b to apply node a's automatic block")
        self.assertEqual(b.json_request("GET", "/api/v1/rooms/byip")[0], 429)
        # And a removal on node b reaches node a.
        code, _, _ = b.admin_request("DELETE", lists_path("managed", "deny"),
                                     body={"identity": "everywhere"})
        self.assertEqual(code, 200)
        wait_until(lambda: a.join("managed", user_id="everywhere")[0] == 200, timeout=5,
                   message="node a to see node b's removal")


if __name__ == "__main__":
    unittest.main()
