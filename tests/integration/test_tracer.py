"""The TRACER-compatible API against the real binary, driven as the legacy clients drive it: form
POSTs, GETs and POSTs with the fields in the query string; the answer read the four ways deployed
clients read it (a regular expression over the Parameter elements; the root's text split on TABs
and read by index; a substring search for `"<name>" type="String">`; a namespaced Nexacro dataset
document); the 13 fields in order, a whole wait -> enter -> check-out (outQueue.do) cycle, places
kept per identity (loginId, wcCookie, the client address), escaping of hostile values (markup,
TABs, line breaks), JSON mode and checkBotIp.do. Runs on both stores (integration.test_tracer and
integration.redis.test_tracer).
"""

import html
import json
import os
import re
import shutil
import tempfile
import unittest
import urllib.parse
import xml.etree.ElementTree as ElementTree

from redis_harness import RedisServer, redis_available
from vwr_harness import VwrProcess, config_yaml, json_request, request, room_yaml, wait_until

# What legacy clients parse the answer with (the contract).
PARAMETER = re.compile(r'<Parameter\s+id="([^"]+)"[^>]*>(.*?)</Parameter>')
FIELDS = ["host", "ip", "loginId", "port", "pageUrl", "isWait", "waitCnt", "limitCnt",
          "session_time_out", "waitQueueSize", "waitMyCnt", "userAgent", "tracer_domain"]
POLL = dict(poll_min="100ms", poll_max="1s")
DOMAIN = "queue.example.com"
DATASET = "http://www.nexacroplatform.com/platform/dataset"


def tab_pieces(text):
    """The answer as the legacy jQuery client reads it: the root element's text content split on
    TAB characters, each piece trimmed; field i of FIELDS is piece 2 + i."""
    root = ElementTree.fromstring(text.encode("utf-8"))
    return [piece.strip() for piece in "".join(root.itertext()).split("\t")]


def by_tab_index(text):
    pieces = tab_pieces(text)
    return {name: pieces[2 + i] for i, name in enumerate(FIELDS) if 2 + i < len(pieces)}


def by_substring(text, name):
    """How another integration reads a field: the text after `"<name>" type="String">` up to the
    next '<'."""
    marker = '"%s" type="String">' % name
    at = text.index(marker) + len(marker)
    return html.unescape(text[at:text.index("<", at)])


def dataset_parameters(text):
    """The answer as a Nexacro dataset document: {id: (type, value)} of Root/Parameters/Parameter
    in the dataset namespace, in order."""
    root = ElementTree.fromstring(text.encode("utf-8"))
    ns = {"ds": DATASET}
    if root.tag != "{%s}Root" % DATASET:
        raise AssertionError("the root is %s, not the dataset namespace's Root" % root.tag)
    return {p.get("id"): (p.get("type"), p.text or "")
            for p in root.findall("ds:Parameters/ds:Parameter", ns)}


def form(**fields):
    return urllib.parse.urlencode(fields)


def tracer_values(test, vwr, endpoint, headers=None, **fields):
    """A form POST to /TRACERAPI/<endpoint>; its XML answer's values, checked to be a 200."""
    status, _, body = request("POST", vwr.url("/TRACERAPI/" + endpoint), body=form(**fields),
                              headers=dict(headers or {}, **{
                                  "Content-Type": "application/x-www-form-urlencoded"}))
    test.assertEqual(status, 200, body)
    return {k: html.unescape(v) for k, v in PARAMETER.findall(body.decode())}


class TracerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vwr = VwrProcess(config_yaml(
            # The room for requests that match no rule: its id is "default".
            room_yaml("default", max_active=1000, admit_rate=1000, burst=100, **POLL),
            room_yaml("cycle", max_active=1, admit_rate=100, burst=1, session_timeout="45s",
                      claim_grace="30s",
                      match='[{host: "cycle.example.com", path_prefix: "/"}]', **POLL),
            room_yaml("same", max_active=1, admit_rate=100, burst=1,
                      match='[{host: "same.example.com", path_prefix: "/"}]', **POLL),
            room_yaml("sale", max_active=1, admit_rate=100, burst=1,
                      match='[{host: "shop.example.com", path_prefix: "/sale"}]', **POLL),
            room_yaml("shift", max_active=1, admit_rate=100, burst=1,
                      match='[{host: "shift.example.com", path_prefix: "/"}]', **POLL),
            room_yaml("closed", mode="reject",
                      match='[{host: "closed.example.com", path_prefix: "/"}]', **POLL),
            extra="tracer:\n  domain: %s\n" % DOMAIN))
        cls.addClassCleanup(cls.vwr.close)

    # ----- helpers -----

    def call(self, endpoint, fields, method="POST", headers=None, vwr=None):
        vwr = vwr or self.vwr
        hdrs = dict(headers or {})
        if method == "POST":
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
            status, got, body = request("POST", vwr.url("/TRACERAPI/" + endpoint),
                                        body=form(**fields), headers=hdrs)
        else:
            status, got, body = request(
                method, vwr.url("/TRACERAPI/" + endpoint + "?" + form(**fields)), headers=hdrs)
        return status, got, body.decode("utf-8")

    def parsed(self, text):
        """The answer as a legacy client reads it: (names in order, values unescaped)."""
        pairs = PARAMETER.findall(text)
        return [name for name, _ in pairs], {name: html.unescape(v) for name, v in pairs}

    def input(self, host, login_id="", method="POST", headers=None, vwr=None, **extra):
        fields = dict(host=host, ip="10.1.2.3", loginId=login_id, port="443",
                      pageUrl="https://%s/item/1" % host, userAgent="LegacyClient/1.0")
        fields.update(extra)
        status, hdrs, text = self.call("inputQueue.do", fields, method, headers, vwr)
        self.assertEqual(status, 200, text)
        names, values = self.parsed(text)
        self.assertEqual(names, FIELDS, text)
        return values

    def output(self, host, login_id="", headers=None, endpoint="outQueue.do"):
        fields = dict(host=host, ip="10.1.2.3", loginId=login_id, port="443",
                      pageUrl="https://%s/item/1" % host, userAgent="LegacyClient/1.0")
        status, _, text = self.call(endpoint, fields, headers=headers)
        self.assertEqual(status, 200, text)
        return self.parsed(text)[1]

    def poll_until(self, host, login_id, is_wait, headers=None, timeout=10.0):
        last = {}

        def reached():
            last.update(self.input(host, login_id, headers=headers))
            return last["isWait"] == is_wait

        wait_until(reached, timeout=timeout,
                   message="%s never answered isWait %s: %r" % (login_id, is_wait, last))
        return dict(last)

    # ----- tests -----

    def test_xml_answer_has_the_13_fields_in_order_and_echoes_the_form(self):
        status, hdrs, text = self.call("inputQueue.do", dict(
            host="nomatch.example.org", ip="10.1.2.3", loginId="echo-user", port="8443",
            pageUrl="https://nomatch.example.org/x?y=1", userAgent="LegacyClient/1.0"))
        self.assertEqual(status, 200, text)
        self.assertTrue(text.startswith('<?xml version="1.0" encoding="UTF-8"?>'), text)
        self.assertIn("xml", hdrs.get("Content-Type"))
        self.assertEqual(hdrs.get("Cache-Control"), "no-store")
        names, v = self.parsed(text)
        self.assertEqual(names, FIELDS)
        self.assertEqual(v["host"], "nomatch.example.org")
        self.assertEqual(v["ip"], "10.1.2.3")  # recorded as sent
        self.assertEqual(v["loginId"], "echo-user")
        self.assertEqual(v["port"], "8443")
        self.assertEqual(v["pageUrl"], "https://nomatch.example.org/x?y=1")
        self.assertEqual(v["userAgent"], "LegacyClient/1.0")
        self.assertEqual(v["tracer_domain"], DOMAIN)
        # The default room: 1000 places, nobody waiting: in at once.
        self.assertEqual(v["isWait"], "F")
        self.assertEqual(v["waitCnt"], "0")
        self.assertEqual(v["limitCnt"], "1000")
        self.assertEqual(v["session_time_out"], "600")

    def test_the_answer_byte_for_byte(self):
        """The layout is part of the contract: legacy clients split the root's text on TABs."""
        status, _, text = self.call("inputQueue.do", dict(
            host="nomatch.example.org", ip="10.1.2.3", loginId="bytes-user", port="443",
            pageUrl="https://nomatch.example.org/", userAgent="LegacyClient/1.0"))
        self.assertEqual(status, 200, text)
        values = ["nomatch.example.org", "10.1.2.3", "bytes-user", "443",
                  "https://nomatch.example.org/", "F", "0", "1000", "600", "0", "0",
                  "LegacyClient/1.0", DOMAIN]
        expected = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                    '<Root xmlns="http://www.nexacroplatform.com/platform/dataset">\n'
                    '\t<Parameters>\n'
                    + "".join('\t<Parameter id="%s" type="String">%s</Parameter>\n' % pair
                              for pair in zip(FIELDS, values))
                    + '\t</Parameters>\n'
                    '</Root>\n')
        self.assertEqual(text, expected)

    def test_the_four_ways_deployed_clients_read_the_answer_agree(self):
        status, _, text = self.call("inputQueue.do", dict(
            host="cycle.example.com", loginId="read-holder", port="443",
            pageUrl="https://cycle.example.com/"))
        self.assertEqual(status, 200, text)
        status, _, text = self.call("inputQueue.do", dict(
            host="cycle.example.com", ip="10.1.2.3", loginId="read-<&>-user", port="443",
            pageUrl="https://cycle.example.com/a?b=1&c=2", userAgent="Legacy \"quoted\" 'x'"))
        self.assertEqual(status, 200, text)
        by_regex = self.parsed(text)[1]
        self.assertEqual(by_regex["isWait"], "T", text)
        # The jQuery client: TAB-separated pieces of the root's text, read by index.
        pieces = tab_pieces(text)
        self.assertEqual(len(pieces), 16, pieces)
        self.assertEqual((pieces[0], pieces[1], pieces[15]), ("", "", ""))
        self.assertEqual(pieces[2], "cycle.example.com")
        self.assertEqual(by_tab_index(text), by_regex)
        # Another integration: a substring search per field.
        for name in FIELDS:
            self.assertEqual(by_substring(text, name), by_regex[name], name)
        self.assertEqual(by_substring(text, "loginId"), "read-<&>-user")
        # Nexacro: a dataset document in its namespace, every Parameter a String.
        parameters = dataset_parameters(text)
        self.assertEqual(list(parameters), FIELDS)
        self.assertEqual({t for t, _ in parameters.values()}, {"String"})
        self.assertEqual({k: v for k, (_, v) in parameters.items()}, by_regex)
        self.assertEqual(parameters["isWait"][1], "T")
        self.assertGreaterEqual(int(parameters["waitCnt"][1]), 1)

    def test_tabs_and_line_breaks_in_values_cannot_shift_the_pieces(self):
        # pageUrl comes before isWait, userAgent before tracer_domain: a TAB let through would
        # make a waiting user's client read "F" as isWait, or "evil.example" as its next host.
        self.assertEqual(self.input("shift.example.com", "shift-holder")["isWait"], "F")
        hostile_url = "https://shift.example.com/x?q=\tF\tF\t0\r\n\tE"
        hostile_agent = "Evil/1.0\tF\t\n0\r\n\tevil.example"
        hostile_login = "shift\tuser\r\nF"
        for method in ("POST", "GET"):
            status, _, text = self.call("inputQueue.do", dict(
                host="shift.example.com", ip="10.1.2.3\t", loginId=hostile_login, port="443",
                pageUrl=hostile_url, userAgent=hostile_agent), method=method)
            self.assertEqual(status, 200, text)
            pieces = tab_pieces(text)
            self.assertEqual(len(pieces), 16, pieces)
            read = by_tab_index(text)
            self.assertEqual(read["isWait"], "T", read)
            self.assertEqual(read["tracer_domain"], DOMAIN)
            self.assertEqual(read["pageUrl"], "https://shift.example.com/x?q= F F 0   E")
            self.assertEqual(read["userAgent"], "Evil/1.0 F  0   evil.example")
            self.assertEqual(read["loginId"], "shift user  F")
            self.assertEqual(read["ip"], "10.1.2.3")  # trimmed by the reader
            for line in text.split("\n")[3:16]:
                self.assertEqual(line.count("\t"), 1, repr(line))
            self.assertEqual(dataset_parameters(text)["isWait"], ("String", "T"))

    def test_an_oversized_wccookie_is_refused_and_takes_no_place(self):
        # Without a loginId the wcCookie cookie names the caller: a cookie too long for an
        # identity (the store keeps 256 bytes) is refused as a too-long loginId is, on every
        # endpoint that keeps places, and neither takes nor ends one.
        def figures():
            code, _, info = json_request("GET", self.vwr.url("/api/v1/rooms/default"))
            self.assertEqual(code, 200, info)
            return info["active"], info["queueSize"]

        before = figures()
        for endpoint in ("inputQueue.do", "outQueue.do"):
            for cookie in ("c" * 254, "c" * 4000):
                status, _, text = self.call(endpoint, dict(host="nomatch.example.org",
                                                           pageUrl="/"),
                                            headers={"Cookie": "wcCookie=" + cookie})
                self.assertEqual(status, 400, (endpoint, len(cookie), text))
                error = json.loads(text)["error"]
                self.assertEqual(error["code"], "bad_request", error)
                self.assertIn("wcCookie", error["message"])
        self.assertEqual(figures(), before, "a refused call took or ended a place")
        # The longest cookie that fits is a caller like any other: in at once (1000 places).
        values = self.input("nomatch.example.org", "", headers={"Cookie": "wcCookie=" + "c" * 253})
        self.assertEqual(values["isWait"], "F", values)
        self.assertEqual(figures()[0], before[0] + 1)

    def test_get_with_a_query_string_works_like_post(self):
        v = self.input("nomatch.example.org", "get-user", method="GET")
        self.assertEqual(v["isWait"], "F")
        self.assertEqual(v["loginId"], "get-user")

    def test_full_cycle_wait_enter_check_out_with_a_stable_wait_my_cnt(self):
        host = "cycle.example.com"
        first = self.input(host, "cycle-a")
        self.assertEqual(first["isWait"], "F", first)
        self.assertEqual(first["limitCnt"], "1")
        self.assertEqual(first["session_time_out"], "45")
        waiting = {}
        for n, user in enumerate(["cycle-b", "cycle-c", "cycle-d"], start=1):
            waiting[user] = self.input(host, user)
            self.assertEqual(waiting[user]["isWait"], "T", waiting[user])
            self.assertEqual(waiting[user]["waitCnt"], str(n))
            self.assertEqual(waiting[user]["waitMyCnt"], str(n))
        self.assertEqual(waiting["cycle-d"]["waitQueueSize"], "3")
        # Polls keep the place.
        again = self.input(host, "cycle-d")
        self.assertEqual((again["isWait"], again["waitCnt"], again["waitMyCnt"]), ("T", "3", "3"))
        # Check-out frees the slot at once: the next in line gets in.
        out = self.output(host, "cycle-a")
        self.assertEqual(FIELDS, list(out))
        b = self.poll_until(host, "cycle-b", "F")
        self.assertEqual((b["waitCnt"], b["waitMyCnt"]), ("0", "1"))
        # waitCnt falls; waitMyCnt stays the place at the first call.
        d = self.input(host, "cycle-d")
        self.assertEqual((d["isWait"], d["waitCnt"], d["waitMyCnt"]), ("T", "2", "3"))
        self.output(host, "cycle-b")
        self.poll_until(host, "cycle-c", "F")
        d = self.input(host, "cycle-d")
        self.assertEqual((d["isWait"], d["waitCnt"], d["waitMyCnt"]), ("T", "1", "3"))
        self.output(host, "cycle-c")
        d = self.poll_until(host, "cycle-d", "F")
        self.assertEqual((d["waitCnt"], d["waitMyCnt"]), ("0", "3"))
        # Admitted and polling again: still in, not a new place.
        d = self.input(host, "cycle-d")
        self.assertEqual(d["isWait"], "F", d)
        self.output(host, "cycle-d")

    def test_the_same_login_id_keeps_one_place(self):
        host = "same.example.com"
        self.assertEqual(self.input(host, "same-holder")["isWait"], "F")
        one = self.input(host, "same-user")
        two = self.input(host, "same-user", ip="10.9.9.9", userAgent="Other/2")
        self.assertEqual(one["isWait"], "T")
        self.assertEqual((two["isWait"], two["waitCnt"], two["waitMyCnt"]),
                         (one["isWait"], one["waitCnt"], one["waitMyCnt"]))
        self.assertEqual(two["waitQueueSize"], one["waitQueueSize"])
        # Someone else gets a place behind.
        other = self.input(host, "same-other")
        self.assertEqual(int(other["waitMyCnt"]), int(one["waitMyCnt"]) + 1)

    def test_identity_from_the_wccookie_then_from_the_client_address(self):
        host = "shop.example.com"
        page = "https://shop.example.com/sale/shoes"
        self.assertEqual(self.input(host, "sale-holder", pageUrl=page)["isWait"], "F")
        c1 = self.input(host, "", pageUrl=page, headers={"Cookie": "wcCookie=abc123"})
        c2 = self.input(host, "", pageUrl=page, headers={"Cookie": "x=1; wcCookie=abc123"})
        self.assertEqual(c1["isWait"], "T")
        self.assertEqual(c1["waitMyCnt"], c2["waitMyCnt"])
        c3 = self.input(host, "", pageUrl=page, headers={"Cookie": "wcCookie=other"})
        self.assertEqual(int(c3["waitMyCnt"]), int(c1["waitMyCnt"]) + 1)
        # No loginId, no cookie: the client address (127.0.0.1 here); the form's ip is only
        # recorded, so a different one does not make a new place.
        a1 = self.input(host, "", pageUrl=page, ip="10.0.0.1")
        a2 = self.input(host, "", pageUrl=page, ip="10.0.0.2")
        self.assertEqual(int(a1["waitMyCnt"]), int(c3["waitMyCnt"]) + 1)
        self.assertEqual(a1["waitMyCnt"], a2["waitMyCnt"])
        self.assertEqual(a2["ip"], "10.0.0.2")
        # Without an ip field the answer tells the address seen.
        no_ip = self.call("inputQueue.do", dict(host=host, pageUrl=page))[2]
        self.assertEqual(self.parsed(no_ip)[1]["ip"], "127.0.0.1")
        self.assertEqual(self.parsed(no_ip)[1]["waitMyCnt"], a1["waitMyCnt"])

    def test_room_from_host_and_page_path_else_the_default_room(self):
        # shop.example.com/sale... is the "sale" room (limit 1); elsewhere on the host, "default".
        self.assertEqual(self.input("shop.example.com", "route-x",
                                    pageUrl="https://shop.example.com/about")["limitCnt"], "1000")
        self.assertEqual(self.input("shop.example.com", "route-x",
                                    pageUrl="https://shop.example.com/sale/1")["limitCnt"], "1")
        # A relative pageUrl, with the host in its own field.
        self.assertEqual(self.input("shop.example.com", "route-y",
                                    pageUrl="/sale/2")["limitCnt"], "1")

    def test_hostile_values_are_escaped(self):
        hostile = "</Parameter><Parameter id=\"isWait\">F</Parameter>&amp;<script>'x'</script>"
        status, _, text = self.call("inputQueue.do", dict(
            host="nomatch.example.org", loginId=hostile, pageUrl=hostile, userAgent=hostile,
            port="\"><"))
        self.assertEqual(status, 200, text)
        self.assertNotIn("<script>", text)
        names, v = self.parsed(text)
        self.assertEqual(names, FIELDS, text)
        self.assertEqual(v["loginId"], hostile)
        self.assertEqual(v["pageUrl"], hostile)
        self.assertEqual(v["userAgent"], hostile)
        self.assertEqual(v["port"], "\"><")

    def test_json_mode_by_accept_or_format(self):
        for extra, headers in (({}, {"Accept": "application/json"}), ({"format": "json"}, {})):
            fields = dict(host="nomatch.example.org", ip="10.1.2.3", loginId="json-user",
                          port="443", pageUrl="https://nomatch.example.org/", userAgent="J/1")
            fields.update(extra)
            status, hdrs, text = self.call("inputQueue.do", fields, headers=headers)
            self.assertEqual(status, 200, text)
            self.assertIn("application/json", hdrs.get("Content-Type"))
            body = json.loads(text)
            self.assertEqual(list(body), FIELDS)
            self.assertTrue(all(isinstance(value, str) for value in body.values()), body)
            self.assertEqual(body["isWait"], "F")
            self.assertEqual(body["loginId"], "json-user")
            self.assertEqual(body["tracer_domain"], DOMAIN)

    def test_closed_room_answers_not_available(self):
        v = self.input("closed.example.com", "closed-user")
        self.assertEqual(v["isWait"], "NE", v)
        self.assertEqual(v["waitCnt"], "0")

    def test_check_bot_ip(self):
        status, hdrs, text = self.call("checkBotIp.do", dict(
            host="shop.example.com", ip="10.1.2.3", port="443",
            pageUrl="https://shop.example.com/sale/1"))
        self.assertEqual((status, text), (200, "F"))
        self.assertIn("text/plain", hdrs.get("Content-Type"))
        status, _, text = self.call("checkBotIp.do", dict(host="x", pageUrl="/"), method="GET")
        self.assertEqual((status, text), (200, "F"))
        # A malformed form: E.
        status, _, text = request("POST", self.vwr.url("/TRACERAPI/checkBotIp.do"),
                                  body="host=%ZZ", headers={
                                      "Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual((status, text.decode()), (400, "E"))

    def test_bad_input_is_a_clear_error(self):
        status, _, text = request("POST", self.vwr.url("/TRACERAPI/inputQueue.do"),
                                  body="loginId=%G1", headers={
                                      "Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(text)["error"]["code"], "bad_request")
        status, _, text = self.call("inputQueue.do", dict(loginId="x" * 300))
        self.assertEqual(status, 400, text)
        status, _, _ = self.call("nothing.do", dict(loginId="x"))
        self.assertEqual(status, 404)
        for method in ("DELETE", "HEAD"):
            status, hdrs, _ = request(method, self.vwr.url("/TRACERAPI/inputQueue.do"))
            self.assertEqual(status, 405, method)
            self.assertIn("POST", hdrs.get("Allow"))
        self.assertTrue(self.vwr.running())

    def test_every_endpoint_takes_its_fields_from_the_query_string(self):
        """Nexacro clients send the fields in the query string, with a GET or an empty POST."""
        host = "query.example.com"
        room = room_yaml("query", max_active=1, admit_rate=100, burst=1,
                         match='[{host: "%s", path_prefix: "/"}]' % host, **POLL)
        vwr = VwrProcess(config_yaml(room, extra="tracer:\n  domain: %s\n" % DOMAIN))
        self.addCleanup(vwr.close)

        def call(method, endpoint, login_id, **extra):
            query = form(host=host, ip="10.1.2.3", loginId=login_id, port="8180",
                         pageUrl="/query/page", **extra)
            status, _, text = request(method, vwr.url("/TRACERAPI/%s?%s" % (endpoint, query)),
                                      body=b"" if method == "POST" else None)
            self.assertEqual(status, 200, text)
            return text.decode("utf-8")

        for method in ("GET", "POST"):
            self.assertEqual(call(method, "checkBotIp.do", "q-" + method), "F")
        holder = dataset_parameters(call("POST", "inputQueue.do", "q-holder"))
        self.assertEqual(holder["isWait"], ("String", "F"))
        self.assertEqual(holder["loginId"][1], "q-holder")
        self.assertEqual(holder["port"][1], "8180")
        self.assertEqual(holder["pageUrl"][1], "/query/page")
        for method in ("GET", "POST"):
            waiter = dataset_parameters(call(method, "inputQueue.do", "q-waiter"))
            self.assertEqual((waiter["isWait"][1], waiter["waitCnt"][1]), ("T", "1"), method)
        # Check-out by the query string, on both paths: the holder's slot goes to the waiter.
        self.assertEqual(dataset_parameters(call("GET", "outQueue.do", "q-holder"))["loginId"],
                         ("String", "q-holder"))
        wait_until(lambda: dataset_parameters(call("GET", "inputQueue.do", "q-waiter"))
                   ["isWait"][1] == "F", 5, message="the waiter enters the freed slot")
        self.assertEqual(dataset_parameters(call("POST", "outputQueue.do", "q-waiter"))
                         ["isWait"][1], "F")
        status, _, info = json_request("GET", vwr.url("/api/v1/rooms/query"))
        self.assertEqual(info["active"], 0, info)

    def test_the_form_body_wins_over_the_query_string(self):
        query = form(host="closed.example.com", loginId="from-query", port="1")
        status, _, text = request(
            "POST", self.vwr.url("/TRACERAPI/inputQueue.do?" + query),
            body=form(host="nomatch.example.org", loginId="from-body"),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200, text)
        v = self.parsed(text.decode())[1]
        self.assertEqual((v["host"], v["loginId"], v["port"]),
                         ("nomatch.example.org", "from-body", "1"))
        self.assertEqual(v["isWait"], "F", "the body's host chose the room, not the closed one")
        # A malformed query string is refused like a malformed body.
        status, _, text = request(
            "POST", self.vwr.url("/TRACERAPI/inputQueue.do?loginId=%ZZ"),
            body=form(loginId="x"), headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 400, text)

    def test_out_queue_and_its_alias_check_out(self):
        host = "nomatch.example.org"
        for endpoint in ("outQueue.do", "outputQueue.do"):
            login = "alias-" + endpoint
            self.input(host, login)
            out = self.output(host, login, endpoint=endpoint)
            self.assertEqual(list(out), FIELDS)
            self.assertEqual((out["isWait"], out["loginId"]), ("F", login))
        status, _, _ = self.call("outqueue.do", dict(loginId="x"))
        self.assertEqual(status, 404, "paths are case-sensitive, as the legacy server's")

    def test_calls_are_counted_in_metrics(self):
        self.input("nomatch.example.org", "metrics-user")
        self.output("nomatch.example.org", "metrics-user")
        self.call("checkBotIp.do", dict(host="x", pageUrl="/"))
        metrics = self.vwr.metrics()
        for endpoint in ("tracer_input", "tracer_output", "tracer_check_bot"):
            key = 'vwr_http_requests_total{endpoint="%s",code="200"}' % endpoint
            self.assertGreaterEqual(metrics.get(key, 0), 1, key)

    def test_cors_for_the_legacy_script_on_the_site(self):
        status, hdrs, _ = request("OPTIONS", self.vwr.url("/TRACERAPI/inputQueue.do"),
                                  headers={"Origin": "https://shop.example.com",
                                           "Access-Control-Request-Method": "POST"})
        self.assertEqual(status, 204)
        self.assertEqual(hdrs.get("Access-Control-Allow-Origin"), "https://shop.example.com")
        self.assertIn("POST", hdrs.get("Access-Control-Allow-Methods"))
        v = self.input("nomatch.example.org", "cors-user",
                       headers={"Origin": "https://shop.example.com"})
        self.assertEqual(v["isWait"], "F")


class TracerClientIpTest(unittest.TestCase):
    """The client address behind trusted proxies, a spoofed X-Forwarded-For from an untrusted
    peer, and tracer.trust_client_ip."""

    def answer(self, vwr, headers=None, **fields):
        return tracer_values(self, vwr, "inputQueue.do", headers, **fields)

    def test_trusted_proxy_untrusted_peer_and_trusted_client_ip(self):
        room = room_yaml("default", max_active=1, admit_rate=100, burst=1, **POLL)
        behind = VwrProcess(config_yaml(room, extra=(
            "server:\n  trusted_proxies: [\"127.0.0.0/8\", \"::1\"]\n")))
        self.addCleanup(behind.close)
        xff = {"X-Forwarded-For": "203.0.113.66, 198.51.100.7"}
        self.assertEqual(self.answer(behind, xff, loginId="holder")["isWait"], "F")
        # The right-most address the trusted proxy (the loopback peer) saw is the client.
        a = self.answer(behind, xff, host="h")
        self.assertEqual(a["ip"], "198.51.100.7")
        b = self.answer(behind, {"X-Forwarded-For": "198.51.100.8"}, host="h")
        self.assertEqual(b["ip"], "198.51.100.8")
        self.assertEqual(int(b["waitMyCnt"]), int(a["waitMyCnt"]) + 1)

        direct = VwrProcess(config_yaml(room))
        self.addCleanup(direct.close)
        self.assertEqual(self.answer(direct, loginId="holder")["isWait"], "F")
        # The peer is not a trusted proxy: its X-Forwarded-For is a lie and changes nothing.
        a = self.answer(direct, {"X-Forwarded-For": "198.51.100.7"}, host="h")
        b = self.answer(direct, {"X-Forwarded-For": "198.51.100.8"}, host="h")
        self.assertEqual(a["ip"], "127.0.0.1")
        self.assertEqual(a["waitMyCnt"], b["waitMyCnt"])

        trusting = VwrProcess(config_yaml(room, extra="tracer:\n  trust_client_ip: true\n"))
        self.addCleanup(trusting.close)
        self.assertEqual(self.answer(trusting, loginId="holder")["isWait"], "F")
        a = self.answer(trusting, ip="10.0.0.1")
        b = self.answer(trusting, ip="10.0.0.2")
        again = self.answer(trusting, ip="10.0.0.1")
        self.assertEqual(int(b["waitMyCnt"]), int(a["waitMyCnt"]) + 1)
        self.assertEqual(again["waitMyCnt"], a["waitMyCnt"])


class TracerGuardTest(unittest.TestCase):
    """The TRACER endpoints answer to the room's abuse protection: a caller on the deny list gets
    NE from inputQueue.do and T from checkBotIp.do; others are served as usual."""

    def test_a_denied_client_is_not_available_and_a_bot(self):
        room = room_yaml("default", max_active=1, admit_rate=100, burst=1, **POLL) + (
            "    protection:\n      mode: enforce\n      deny:\n"
            "        ips: [\"198.51.100.0/24\"]\n")
        vwr = VwrProcess(config_yaml(room, extra=(
            "server:\n  trusted_proxies: [\"127.0.0.0/8\", \"::1\"]\n")))
        self.addCleanup(vwr.close)

        def call(endpoint, client):
            status, _, body = request(
                "POST", vwr.url("/TRACERAPI/" + endpoint),
                body=form(host="h", port="443", pageUrl="https://h/", loginId=""),
                headers={"Content-Type": "application/x-www-form-urlencoded",
                         "X-Forwarded-For": client})
            return status, body.decode()

        status, text = call("checkBotIp.do", "198.51.100.9")
        self.assertEqual((status, text), (200, "T"))
        status, text = call("checkBotIp.do", "203.0.113.5")
        self.assertEqual((status, text), (200, "F"))
        status, text = call("inputQueue.do", "198.51.100.9")
        self.assertEqual(status, 200, text)
        values = {k: html.unescape(v) for k, v in PARAMETER.findall(text)}
        self.assertEqual(values["isWait"], "NE", values)
        status, text = call("inputQueue.do", "203.0.113.5")
        values = {k: html.unescape(v) for k, v in PARAMETER.findall(text)}
        self.assertIn(values["isWait"], ("T", "F"), values)


PROXIED = "server:\n  trusted_proxies: [\"127.0.0.0/8\", \"::1\"]\n"


class TracerIdentityAttackTest(unittest.TestCase):
    """A loginId is not a secret: whoever knows one could send it. Each test performs an attack
    on someone else's identity, from another client address (X-Forwarded-For behind a trusted
    proxy) or with another wcCookie, and checks that it takes and ends nothing of theirs:
    a sent loginId is bound to the caller's wcCookie, or else its address
    (tracer.identity_binding: cookie, the default), and lives in a namespace of its own, apart
    from the identities of callers without one (ip:<address>, wc:<cookie>)."""

    ROOMS = ("take", "cookie", "copy", "out", "ns")

    @classmethod
    def setUpClass(cls):
        cls.vwr = VwrProcess(config_yaml(*cls.rooms(), extra=PROXIED))
        cls.addClassCleanup(cls.vwr.close)

    @classmethod
    def rooms(cls):
        # One slot each and a session that outlasts the test: only a check-out frees a slot.
        return [room_yaml(room, max_active=1, admit_rate=100, burst=1, session_timeout="1h",
                          claim_grace="30s",
                          match='[{host: "%s.example.com", path_prefix: "/"}]' % room, **POLL)
                for room in cls.ROOMS]

    def call(self, endpoint, room, client, login_id="", cookie=None, vwr=None):
        vwr = vwr or self.vwr
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Forwarded-For": client}
        if cookie is not None:
            headers["Cookie"] = "wcCookie=" + cookie
        status, _, body = request("POST", vwr.url("/TRACERAPI/" + endpoint), headers=headers,
                                  body=form(host=room + ".example.com", loginId=login_id,
                                            port="443", pageUrl="/"))
        self.assertEqual(status, 200, body)
        return {k: html.unescape(v) for k, v in PARAMETER.findall(body.decode())}

    def enter(self, room, client, login_id="", cookie=None, vwr=None):
        return self.call("inputQueue.do", room, client, login_id, cookie, vwr)

    def active(self, room, vwr=None):
        status, _, info = json_request("GET", (vwr or self.vwr).url("/api/v1/rooms/" + room))
        self.assertEqual(status, 200, info)
        return info["active"]

    def test_polling_as_another_login_id_from_another_address_takes_nothing(self):
        self.assertEqual(self.enter("take", "198.51.100.10", "alice")["isWait"], "F")
        stolen = self.enter("take", "203.0.113.66", "alice")
        self.assertEqual((stolen["isWait"], stolen["waitMyCnt"]), ("T", "1"),
                         "the attacker gets a place of its own, behind alice")
        self.assertEqual(self.enter("take", "198.51.100.10", "alice")["isWait"], "F")
        self.assertEqual(self.active("take"), 1)

    def test_polling_as_another_login_id_with_another_cookie_takes_nothing(self):
        self.assertEqual(self.enter("cookie", "198.51.100.20", "bob", "bob-secret")["isWait"],
                         "F")
        # From bob's own address (a shared NAT), with a guessed cookie or with none.
        guessed = self.enter("cookie", "198.51.100.20", "bob", "guess")
        self.assertEqual(guessed["isWait"], "T", guessed)
        bare = self.enter("cookie", "198.51.100.20", "bob")
        self.assertEqual(bare["isWait"], "T", bare)
        self.assertNotEqual(bare["waitMyCnt"], guessed["waitMyCnt"], "two places, neither bob's")
        # Bob's browser from another address (a phone that changed networks) keeps his place.
        self.assertEqual(self.enter("cookie", "203.0.113.99", "bob", "bob-secret")["isWait"],
                         "F")
        self.assertEqual(self.active("cookie"), 1)

    def test_a_cookie_that_is_the_login_id_binds_nothing_more(self):
        # Deployed clients send their wcCookie's value as the loginId: knowing one is knowing
        # both, so such calls are bound to their address.
        self.assertEqual(self.enter("copy", "198.51.100.60", "Zm9v_T_12345_WC",
                                    "Zm9v_T_12345_WC")["isWait"], "F")
        copied = self.enter("copy", "203.0.113.60", "Zm9v_T_12345_WC", "Zm9v_T_12345_WC")
        self.assertEqual(copied["isWait"], "T", copied)
        self.assertEqual(self.enter("copy", "198.51.100.60", "Zm9v_T_12345_WC",
                                    "Zm9v_T_12345_WC")["isWait"], "F")

    def test_checking_out_another_login_id_ends_nothing(self):
        self.assertEqual(self.enter("out", "198.51.100.30", "carol")["isWait"], "F")
        self.assertEqual(self.enter("out", "198.51.100.31", "dave")["isWait"], "T")
        self.call("outQueue.do", "out", "203.0.113.30", "carol")
        self.assertEqual(self.active("out"), 1, "carol's session was not ended")
        self.assertEqual(self.enter("out", "198.51.100.30", "carol")["isWait"], "F")
        self.assertEqual(self.enter("out", "198.51.100.31", "dave")["isWait"], "T")
        # Carol herself checks out: dave gets her slot.
        self.call("outQueue.do", "out", "198.51.100.30", "carol")
        self.assertEqual(self.active("out"), 0)
        wait_until(lambda: self.enter("out", "198.51.100.31", "dave")["isWait"] == "F", 5,
                   message="dave enters the slot carol gave back")

    def check_namespaces(self, vwr, attacker):
        """loginIds shaped like the identities of callers without one ("ip:<address>",
        "wc:<cookie>") reach neither their places nor their sessions."""
        self.assertEqual(self.enter("ns", "198.51.100.7", vwr=vwr)["isWait"], "F")
        posing = self.enter("ns", attacker, "ip:198.51.100.7", vwr=vwr)
        self.assertEqual((posing["isWait"], posing["waitMyCnt"]), ("T", "1"), posing)
        self.call("outQueue.do", "ns", attacker, "ip:198.51.100.7", vwr=vwr)
        self.assertEqual(self.active("ns", vwr), 1, "the anonymous caller's session is not ended")
        anonymous = self.enter("ns", "198.51.100.8", cookie="c0ffee", vwr=vwr)
        self.assertEqual(anonymous["isWait"], "T")
        posing = self.enter("ns", attacker, "wc:c0ffee", vwr=vwr)
        self.assertEqual(int(posing["waitMyCnt"]), int(anonymous["waitMyCnt"]) + 1,
                         "a place of its own, not the cookie holder's")
        self.assertEqual(self.enter("ns", "198.51.100.7", vwr=vwr)["isWait"], "F")

    def test_ip_and_wc_login_ids_do_not_reach_callers_without_one(self):
        self.check_namespaces(self.vwr, "203.0.113.5")

    def test_the_namespace_holds_without_binding_too(self):
        # identity_binding: none (unsafe, today's behaviour for loginIds): still, a loginId
        # "ip:<address>" sent from that very address is not that address's anonymous caller.
        unbound = VwrProcess(config_yaml(*self.rooms(), extra=PROXIED + (
            "tracer:\n  identity_binding: none\n")))
        self.addCleanup(unbound.close)
        self.check_namespaces(unbound, "198.51.100.7")


class TracerIdentityBindingTest(unittest.TestCase):
    """tracer.identity_binding: what `address` and `none` do (the default, `cookie`, is in
    TracerIdentityAttackTest)."""

    call = TracerIdentityAttackTest.call
    enter = TracerIdentityAttackTest.enter

    def start(self, binding):
        vwr = VwrProcess(config_yaml(*TracerIdentityAttackTest.rooms(), extra=PROXIED + (
            "tracer:\n  identity_binding: %s\n" % binding)))
        self.addCleanup(vwr.close)
        return vwr

    def test_address_binding_ignores_the_cookie(self):
        vwr = self.start("address")
        self.assertEqual(self.enter("take", "198.51.100.40", "eve", "e1", vwr)["isWait"], "F")
        self.assertEqual(self.enter("take", "198.51.100.40", "eve", "other", vwr)["isWait"], "F",
                         "the same address: the same place, whatever the cookie")
        self.assertEqual(self.enter("take", "203.0.113.40", "eve", "e1", vwr)["isWait"], "T",
                         "another address: another place, even with eve's cookie")

    def test_none_leaves_a_login_id_to_whoever_sends_it(self):
        # Documented as unsafe: the legacy service's behaviour.
        vwr = self.start("none")
        self.assertEqual(self.enter("take", "198.51.100.50", "frank", "f1", vwr)["isWait"], "F")
        self.assertEqual(self.enter("take", "203.0.113.50", "frank", "x", vwr)["isWait"], "F")
        self.call("outQueue.do", "take", "203.0.113.51", "frank", vwr=vwr)
        status, _, info = json_request("GET", vwr.url("/api/v1/rooms/take"))
        self.assertEqual(info["active"], 0, info)


class TracerCorsTest(unittest.TestCase):
    """Which sites' pages may call the TRACER API from a browser. By default the rooms' match
    hosts (http and https, any port); tracer.allowed_origins replaces that list. An origin not
    on it (or "null") gets no CORS header, and its call is refused before it can take or end a
    place: a page elsewhere cannot drive its visitors' places."""

    @classmethod
    def setUpClass(cls):
        cls.vwr = VwrProcess(config_yaml(
            room_yaml("shop", max_active=10, admit_rate=100, burst=10,
                      match='[{host: "shop.example.com", path_prefix: "/"},'
                            ' {host: "*.example.org", path_prefix: "/"}]', **POLL),
            room_yaml("anywhere", max_active=10, admit_rate=100, burst=10, **POLL)))
        cls.addClassCleanup(cls.vwr.close)

    def call(self, origin, method="POST", endpoint="inputQueue.do", login_id="cors", vwr=None,
             headers=None):
        hdrs = dict(headers or {})
        if origin is not None:
            hdrs["Origin"] = origin
        body = None
        if method == "POST":
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
            body = form(host="shop.example.com", loginId=login_id, pageUrl="/")
        status, got, text = request(method, (vwr or self.vwr).url("/TRACERAPI/" + endpoint),
                                    body=body, headers=hdrs)
        return status, got, text.decode()

    def assert_allowed(self, origin, vwr=None):
        status, hdrs, text = self.call(origin, vwr=vwr, login_id="ok-" + origin)
        self.assertEqual(status, 200, "%s: %s" % (origin, text))
        self.assertEqual(hdrs.get("Access-Control-Allow-Origin"), origin)
        self.assertEqual(hdrs.get("Access-Control-Allow-Credentials"), "true")
        self.assertIn("Origin", hdrs.get("Vary", ""))
        status, hdrs, _ = self.call(origin, method="OPTIONS", vwr=vwr, headers={
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        self.assertEqual(status, 204, origin)
        self.assertEqual(hdrs.get("Access-Control-Allow-Origin"), origin)
        self.assertIn("POST", hdrs.get("Access-Control-Allow-Methods"))
        self.assertIn("Content-Type", hdrs.get("Access-Control-Allow-Headers"))

    def assert_refused(self, origin, vwr=None):
        vwr = vwr or self.vwr
        before = json_request("GET", vwr.url("/api/v1/rooms/shop"))[2]
        for endpoint in ("inputQueue.do", "outQueue.do", "checkBotIp.do"):
            status, hdrs, text = self.call(origin, endpoint=endpoint, vwr=vwr,
                                           login_id="refused-" + origin)
            self.assertEqual(status, 403, "%s %s: %s" % (origin, endpoint, text))
            self.assertIsNone(hdrs.get("Access-Control-Allow-Origin"), origin)
            self.assertIsNone(hdrs.get("Access-Control-Allow-Credentials"), origin)
        after = json_request("GET", vwr.url("/api/v1/rooms/shop"))[2]
        self.assertEqual((after["active"], after["queueSize"]),
                         (before["active"], before["queueSize"]), "%s took a place" % origin)
        status, hdrs, _ = self.call(origin, method="OPTIONS", vwr=vwr,
                                    headers={"Access-Control-Request-Method": "POST"})
        self.assertEqual(status, 403, origin)
        self.assertIsNone(hdrs.get("Access-Control-Allow-Origin"), origin)

    def test_the_rooms_hosts_are_allowed_by_default(self):
        for origin in ("https://shop.example.com", "http://shop.example.com",
                       "https://shop.example.com:8443", "https://SHOP.Example.com",
                       "https://a.example.org", "http://b.c.example.org:8080"):
            self.assert_allowed(origin)

    def test_other_origins_and_null_are_refused(self):
        for origin in ("https://evil.example", "null", "https://example.org",
                       "https://shop.example.com.evil.example", "https://evilshop.example.com",
                       "ftp://shop.example.com", "https://shop.example.com/path",
                       "https://user@shop.example.com", "shop.example.com", ""):
            self.assert_refused(origin)

    def test_calls_without_an_origin_are_served_without_cors_headers(self):
        status, hdrs, text = self.call(None, login_id="server-side")
        self.assertEqual(status, 200, text)
        self.assertIsNone(hdrs.get("Access-Control-Allow-Origin"))

    def test_the_configured_list_replaces_the_rooms_hosts(self):
        vwr = VwrProcess(config_yaml(
            room_yaml("shop", max_active=10, admit_rate=100, burst=10,
                      match='[{host: "shop.example.com", path_prefix: "/"}]', **POLL),
            extra='tracer:\n  allowed_origins: ["https://shop.example.com",'
                  ' "http://localhost:8080", "https://*.example.net"]\n'))
        self.addCleanup(vwr.close)
        for origin in ("https://shop.example.com", "http://localhost:8080",
                       "https://a.example.net"):
            self.assert_allowed(origin, vwr)
        for origin in ("http://shop.example.com", "https://shop.example.com:8443",
                       "http://localhost:8081", "https://example.net", "null"):
            self.assert_refused(origin, vwr)

    def test_an_empty_list_allows_no_site(self):
        vwr = VwrProcess(config_yaml(
            room_yaml("shop", max_active=10, admit_rate=100, burst=10,
                      match='[{host: "shop.example.com", path_prefix: "/"}]', **POLL),
            extra="tracer:\n  allowed_origins: []\n"))
        self.addCleanup(vwr.close)
        self.assert_refused("https://shop.example.com", vwr)
        status, _, text = self.call(None, vwr=vwr)
        self.assertEqual(status, 200, text)


@unittest.skipUnless(redis_available(), "redis-server is not installed (scripts/install-deps)")
@unittest.skipUnless(redis_available(), "redis-server is not installed (scripts/install-deps)")
class TracerTwoNodesTest(unittest.TestCase):
    """Two nodes on one Redis behind a load balancer: a legacy client's check-out may reach a node
    that never saw its identity, and must still free the slot at once."""

    def answer(self, vwr, endpoint, login_id):
        return tracer_values(self, vwr, endpoint, host="two.example.com", loginId=login_id,
                             pageUrl="https://two.example.com/")

    def test_check_out_on_another_node_frees_the_slot_at_once(self):
        redis = RedisServer()
        self.addCleanup(redis.close)
        # The nodes of one deployment share the secret key (it keys tickets and identities).
        shared = tempfile.mkdtemp(prefix="vwr-two-")
        self.addCleanup(shutil.rmtree, shared, True)
        # A session timeout far beyond the test: only the check-out can free the slot.
        text = config_yaml(
            room_yaml("two", max_active=1, admit_rate=100, burst=1, session_timeout="1h",
                      match='[{host: "two.example.com", path_prefix: "/"}]', **POLL),
            extra="store:\n  kind: redis\n  redis:\n    url: %s\nsecrets:\n  ticket_key_file: %s\n"
            % (redis.url, os.path.join(shared, "ticket.key")))
        nodes = [VwrProcess(text), VwrProcess(text)]
        for node in nodes:
            self.addCleanup(node.close)
            wait_until(lambda node=node: json_request("GET", node.url("/readyz", admin=True))[0]
                       == 200, 10, message="node ready on Redis")
        first, second = nodes
        self.assertEqual(self.answer(first, "inputQueue.do", "holder")["isWait"], "F")
        self.assertEqual(self.answer(first, "inputQueue.do", "waiter")["isWait"], "T")

        # A node that has seen neither: check-out of a waiting identity gives its place back
        # (the line is empty at once), and one of the admitted identity ends its session there
        # and then.
        self.assertEqual(self.answer(second, "outputQueue.do", "waiter")["isWait"], "F")
        self.assertEqual(self.answer(second, "outputQueue.do", "waiter")["waitQueueSize"], "0")
        self.assertEqual(self.answer(second, "outputQueue.do", "holder")["isWait"], "F")
        # The waiter comes back: a new place, which the freed slot takes.
        wait_until(lambda: self.answer(first, "inputQueue.do", "waiter")["isWait"] == "F", 5,
                   message="the waiter enters the slot the check-out freed")
        status, _, info = json_request("GET", first.url("/api/v1/rooms/two"))
        self.assertEqual(status, 200, info)
        self.assertEqual((info["active"], info["queueSize"]), (1, 0), info)


class TracerStoreFailureTest(unittest.TestCase):
    """With its store gone, a fail_open room answers E (legacy clients let the user through) and a
    fail_closed room T (keep waiting, nobody enters) at the place the caller was last told; a
    check-out that cannot reach the store is E in every room. Its own redis-server, killed
    mid-test."""

    def answer(self, vwr, host, login_id, endpoint="inputQueue.do"):
        return tracer_values(self, vwr, endpoint, host=host, loginId=login_id, pageUrl="/")

    def test_fail_open_answers_e_and_fail_closed_keeps_waiting(self):
        redis = RedisServer()
        self.addCleanup(redis.close)
        vwr = VwrProcess(config_yaml(
            room_yaml("open", max_active=1, admit_rate=100, burst=1, failure_policy="fail_open",
                      match='[{host: "open.example.com", path_prefix: "/"}]', **POLL),
            room_yaml("closed", max_active=2, admit_rate=100, burst=2,
                      failure_policy="fail_closed",
                      match='[{host: "closed.example.com", path_prefix: "/"}]', **POLL),
            extra="store:\n  kind: redis\n  redis:\n    url: %s\n" % redis.url))
        self.addCleanup(vwr.close)
        wait_until(lambda: json_request("GET", vwr.url("/readyz", admin=True))[0] == 200, 10,
                   message="vwr ready on Redis")
        self.assertEqual(self.answer(vwr, "open.example.com", "holder")["isWait"], "F")
        waiter = self.answer(vwr, "open.example.com", "waiter")
        self.assertEqual((waiter["isWait"], waiter["waitMyCnt"]), ("T", "1"))
        closed = "closed.example.com"
        for login_id in ("first", "second"):
            self.assertEqual(self.answer(vwr, closed, login_id)["isWait"], "F", login_id)
        self.assertEqual(self.answer(vwr, closed, "waiter")["isWait"], "T")
        self.assertEqual(self.answer(vwr, closed, "later")["isWait"], "T")
        told = self.answer(vwr, closed, "waiter")
        self.assertEqual((told["waitCnt"], told["waitMyCnt"], told["waitQueueSize"]),
                         ("1", "1", "2"), told)
        # "first" checks out: the waiter is called at the next tick (and does not poll meanwhile).
        self.assertEqual(self.answer(vwr, closed, "first", "outQueue.do")["isWait"], "F")
        wait_until(lambda: json_request("GET", vwr.url("/api/v1/rooms/closed"))[2]["queueSize"]
                   == 1, 5, message="the waiter is called")

        redis.kill()
        wait_until(lambda: json_request("GET", vwr.url("/readyz", admin=True))[0] == 503, 5,
                   message="readyz says the store is down")
        # A newcomer needs the store (a join): E where the room fails open, T where it fails
        # closed, with no place of its own and the room's queue as last known.
        self.assertEqual(self.answer(vwr, "open.example.com", "newcomer")["isWait"], "E")
        newcomer = self.answer(vwr, closed, "newcomer")
        self.assertEqual((newcomer["isWait"], newcomer["waitCnt"], newcomer["waitQueueSize"]),
                         ("T", "0", "1"), newcomer)
        # The called waiter cannot claim its place without the store: it keeps waiting at the
        # place it was last told, the count does not jump.
        waiter = self.answer(vwr, closed, "waiter")
        self.assertEqual(
            (waiter["isWait"], waiter["waitCnt"], waiter["waitMyCnt"], waiter["waitQueueSize"]),
            ("T", "1", "1", "2"), waiter)
        self.assertEqual(self.answer(vwr, closed, "later")["isWait"], "T")
        # A check-out that cannot reach the store did not happen: E, in either room.
        for host, login_id in ((closed, "second"), ("open.example.com", "holder")):
            out = self.answer(vwr, host, login_id, "outQueue.do")
            self.assertEqual(out["isWait"], "E", (host, out))
        self.assertTrue(vwr.running())
        vwr.wait_for_log(r"TRACER tracer_input: the store failed")


if __name__ == "__main__":
    unittest.main()
