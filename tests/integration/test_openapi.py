"""docs/openapi.yaml against a reference validator and against the real binary.

- The document is valid OpenAPI 3.0: @apidevtools/swagger-parser (tests/openapi/, installed from
  the npm registry by scripts/install-browser-deps) validates it.
- Every route the server answers is in the document, and every route the document lists is
  answered. The real binary (demo on, one room) is asked every method of every path this test
  can think of: the document's own paths (placeholders filled from their enums, or with a real
  room, session or file), the path literals of the code that routes (src/api/public_api.cpp,
  src/tracer/tracer_api.cpp, src/pages/web_handler.cpp, src/admin/admin_api.cpp,
  src/admin/operator_routes.cpp, src/console/console_handler.cpp), and every word those files
  (and the guard's list names, and the files under web/) spell, put in each place of the URL
  spaces the handlers own (/api/v1/rooms/{room}/WORD, /TRACERAPI/WORD, /wait/{room}/WORD,
  /sdk/WORD, /admin/api/v1/rooms/{room}/WORD/..., /admin/api/v1/operators/WORD, /console/WORD,
  and so on), on both listeners (so the console's paths are asked of the public listener too,
  which must not answer them).

  A route is answered when the server says anything but "no such endpoint" (404 with the error
  code not_found) or "wrong method" (405). HEAD follows GET everywhere (docs/api.md), so it is
  not asked separately. A path's listener is the admin listener when the document gives the path
  the admin listener's `servers`, else the public one.
"""

import http.client
import json
import os
import re
import shutil
import subprocess
import unittest
import urllib.parse

from vwr_harness import VwrProcess, config_yaml, room_yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OPENAPI = os.path.join(ROOT, "docs", "openapi.yaml")
VALIDATOR_DIR = os.path.join(ROOT, "tests", "openapi")
NODE = shutil.which("node")
MISSING = ("the OpenAPI validator needs node and tests/openapi/node_modules: run "
           "scripts/install-browser-deps")

# The files whose string literals name the routes (and the words of the URL spaces).
ROUTING_SOURCES = ["src/api/public_api.cpp", "src/tracer/tracer_api.cpp",
                   "src/pages/web_handler.cpp", "src/admin/admin_api.cpp",
                   "src/admin/operator_routes.cpp", "src/console/console_handler.cpp",
                   "src/guard/guard_lists.cpp", "src/admin/control_api.hpp",
                   "src/admin/control_api.cpp"]
ROOM = "default"
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
# Each handler's URL space, a WORD standing for one segment (the room is a real one).
PUBLIC_TEMPLATES = ["/WORD", "/api/v1/WORD", "/api/v1/rooms/WORD", "/api/v1/rooms/%s/WORD" % ROOM,
                    "/.well-known/WORD", "/TRACERAPI/WORD", "/wait/WORD", "/wait/%s/WORD" % ROOM,
                    "/sdk/WORD", "/assets/WORD", "/demo/WORD", "/console/WORD"]
ADMIN_TEMPLATES = ["/WORD", "/admin/api/v1/WORD", "/admin/api/v1/keys/WORD",
                   "/admin/api/v1/rooms/%s/WORD" % ROOM, "/admin/api/v1/operators/WORD",
                   "/admin/api/v1/signals/WORD", "/admin/api/v1/rules/WORD",
                   "/admin/api/v1/control/WORD", "/console/WORD"]
# Where an admin path goes one segment deeper (sessions/{session}, lists/{list}): first the
# segment is found (WORD/1 answers other than "no such endpoint"), then every word is tried
# below it.
ADMIN_DEEPER = "/admin/api/v1/rooms/%s/WORD" % ROOM
# Filled into placeholders that have no enum.
PLACEHOLDERS = {"room": ROOM, "session": "1"}


def run_validator(*args):
    return subprocess.run([NODE, "validate.mjs", *args], cwd=VALIDATOR_DIR, capture_output=True,
                          text=True, timeout=60)


def validator_installed():
    return NODE is not None and os.path.isdir(
        os.path.join(VALIDATOR_DIR, "node_modules", "@apidevtools", "swagger-parser"))


class OpenApiValidTest(unittest.TestCase):
    def test_the_document_is_valid_openapi(self):
        self.assertTrue(validator_installed(), MISSING)
        done = run_validator(OPENAPI)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("valid OpenAPI 3.0", done.stdout)

    def test_the_validator_refuses_a_description_that_flow_style_splits(self):
        # The mistake the document once had: in a flow mapping, a description with a comma is
        # cut there, and the rest becomes a key of its own.
        self.assertTrue(validator_installed(), MISSING)
        with open(OPENAPI, encoding="utf-8") as f:
            text = f.read()
        broken = text.replace(
            "      properties:\n        challenge:\n          type: string\n"
            "          minLength: 56\n          maxLength: 56\n"
            "          description: \"opaque and signed; names the room\"\n",
            "      properties:\n        challenge: { type: string, minLength: 56, maxLength: 56,"
            " description: opaque, signed; names the room }\n")
        self.assertNotEqual(broken, text, "the Challenge schema was not found to break")
        path = os.path.join(self.tmp_dir(), "broken.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(broken)
        done = run_validator(path)
        self.assertEqual(done.returncode, 1, done.stdout + done.stderr)
        self.assertIn("not valid OpenAPI", done.stderr)

    def tmp_dir(self):
        import tempfile  # pylint: disable=import-outside-toplevel
        d = tempfile.TemporaryDirectory(prefix="vwr-openapi-")
        self.addCleanup(d.cleanup)
        return d.name


def documented_routes():
    """[{path, listener, methods, params}] of docs/openapi.yaml, as the validator reads it."""
    done = run_validator("--routes", OPENAPI)
    if done.returncode != 0:
        raise AssertionError(done.stdout + done.stderr)
    return json.loads(done.stdout)["routes"]


def harvested():
    """(path literals, words) spelled by the routing code, and the files under web/ that the
    pages serve."""
    paths, words = set(), set()
    for name in ROUTING_SOURCES:
        with open(os.path.join(ROOT, name), encoding="utf-8") as f:
            source = f.read()
        for literal in re.findall(r'"((?:[^"\\\n]|\\.){1,80})"', source):
            if literal.startswith("/"):
                paths.add(literal.split("?")[0])
            for segment in literal.split("/"):
                if re.fullmatch(r"[A-Za-z0-9_.\-]{1,40}", segment):
                    words.add(segment)
    for folder in ("assets", "sdk", "console"):
        words.update(os.listdir(os.path.join(ROOT, "web", folder)))
    words.add("i18n.js")  # web/i18n.json, served as a module
    return paths, words


class Prober:
    """Asks one listener, on a kept-alive connection, whether it answers a method and path."""

    def __init__(self, base_url, headers):
        parts = urllib.parse.urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.headers = headers
        self.conn = None
        self.seen = {}

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def ask(self, method, path):
        """(status, error code or None, error message or None); cached per method and path."""
        key = (method, path)
        if key in self.seen:
            return self.seen[key]
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
                body = b"" if method in ("POST", "PUT", "PATCH", "DELETE") else None
                self.conn.request(method, path, body=body, headers=self.headers)
                resp = self.conn.getresponse()
                if resp.getheader("Content-Type", "").startswith("text/event-stream"):
                    # A stream that goes on (/admin/api/v1/live): answered; not read to its end.
                    self.close()
                    self.seen[key] = (resp.status, None, None)
                    return self.seen[key]
                data = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.close()
                break
            except (http.client.HTTPException, OSError):
                self.close()
                if attempt == 1:
                    raise
        code = message = None
        if data[:1] == b"{":
            try:
                error = json.loads(data).get("error", {})
                code, message = error.get("code"), error.get("message")
            except (ValueError, AttributeError):
                pass
        self.seen[key] = (resp.status, code, message)
        return self.seen[key]

    def answers(self, method, path):
        status, code, _ = self.ask(method, path)
        return status != 405 and not (status == 404 and code == "not_found")

    def knows(self, path):
        """Whether the path leads somewhere: some method gets more than the router's "no such
        endpoint" (a wrong method, or a "not found" of its own, such as no such list)."""
        return any(self.ask(m, path) != (404, "not_found", "no such endpoint") for m in METHODS)


def template_regex(route):
    def group(m):
        spec = route["params"].get(m.group(1)) or {}
        if spec.get("enum"):
            return "(?:%s)" % "|".join(re.escape(str(v)) for v in spec["enum"])
        return "[^/]+"
    pattern = re.sub(r"\\\{([^}]+)\\\}", group, re.escape(route["path"]))
    return re.compile("^%s$" % pattern)


def fillings(route):
    """Concrete paths for a documented path: every enum value, else a real room, session..."""
    paths = [route["path"]]
    for name, spec in route["params"].items():
        values = spec.get("enum") or [spec.get("example") or PLACEHOLDERS.get(name, "x")]
        paths = [p.replace("{%s}" % name, str(v)) for p in paths for v in values]
    return paths


class OpenApiRoutesTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        if not validator_installed():
            raise AssertionError(MISSING)
        cls.routes = documented_routes()
        cls.vwr = VwrProcess(config_yaml(room_yaml(ROOM), extra="demo: true\n"))
        cls.addClassCleanup(cls.vwr.close)
        cls.probers = {
            "public": Prober(cls.vwr.public, {}),
            "admin": Prober(cls.vwr.admin, {"Authorization": "Bearer " + cls.vwr.admin_token}),
        }
        for prober in cls.probers.values():
            cls.addClassCleanup(prober.close)

    def documented(self, listener, method, path):
        for route in self.routes:
            if (route["listener"] == listener and method.lower() in route["methods"]
                    and template_regex(route).match(path)):
                return True
        return False

    def test_every_documented_route_is_answered(self):
        unanswered = []
        for route in self.routes:
            prober = self.probers[route["listener"]]
            for method in route["methods"]:
                for path in fillings(route):
                    if not prober.answers(method.upper(), path):
                        unanswered.append("%s %s %s -> %r" % (
                            route["listener"], method.upper(), path,
                            prober.ask(method.upper(), path)))
        self.assertEqual(unanswered, [], "docs/openapi.yaml lists routes the server does not "
                         "answer (listener, method, path -> status, code)")

    def test_every_route_the_server_answers_is_documented(self):
        literals, words = harvested()
        candidates = {"public": set(literals), "admin": set(literals)}
        for route in self.routes:
            for listener in candidates:
                candidates[listener].update(fillings(route))
        for word in words:
            segment = urllib.parse.quote(word, safe="")
            candidates["public"].update(t.replace("WORD", segment) for t in PUBLIC_TEMPLATES)
            candidates["admin"].update(t.replace("WORD", segment) for t in ADMIN_TEMPLATES)
        # One level deeper on the admin listener, below the segments that lead somewhere.
        admin = self.probers["admin"]
        deeper = []
        for word in sorted(words):
            base = ADMIN_DEEPER.replace("WORD", urllib.parse.quote(word, safe=""))
            if admin.knows(base + "/1"):
                deeper.append(word)
                candidates["admin"].update(base + "/" + urllib.parse.quote(w, safe="")
                                           for w in words | {"1"})
        self.assertIn("lists", deeper, "the search does not reach below the admin API's rooms")

        undocumented = []
        probed = 0
        for listener, paths in candidates.items():
            prober = self.probers[listener]
            for path in sorted(paths):
                for method in METHODS:
                    probed += 1
                    if prober.answers(method, path) and not self.documented(listener, method,
                                                                            path):
                        undocumented.append("%s %s %s -> %r" % (listener, method, path,
                                                                prober.ask(method, path)))
        self.assertGreater(probed, 1000, "too few candidate routes to be a search")
        self.assertEqual(undocumented, [], "the server answers routes docs/openapi.yaml does not "
                         "list (listener, method, path -> status, code)")


if __name__ == "__main__":
    unittest.main()
