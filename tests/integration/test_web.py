"""The pages people see, served by the real binary next to the API: the waiting page, the SDK,
the files they load, the demo, and the operator message, with their headers.

The browser tests (tests/browser/) drive the same pages in a real browser.
"""

import os
import re
import tempfile
import unittest
import urllib.parse

from vwr_harness import VwrProcess, config_yaml, room_yaml

POLL = dict(poll_min="100ms", poll_max="1s")


class WebPagesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vwr-web-")
        cls.template = os.path.join(cls.tmp, "page.html")
        with open(cls.template, "w", encoding="utf-8") as f:
            f.write("<p>{{room_name}}|{{message}}|{{t.wait_heading}}|{{return_url}}</p>\n")
        rooms = (room_yaml("sale", max_active=1, admit_rate=50, burst=1, **POLL)
                 + "    name: \"Sale <b>\"\n"
                 + "    match:\n      - host: shop.example.com\n"
                 + "    page:\n      message: \"Back at 2pm & later\"\n"
                 + room_yaml("custom", **POLL)
                 + "    page:\n      template_file: %s\n" % cls.template)
        cls.vwr = VwrProcess(config_yaml(rooms, extra="demo: true\n"))
        cls.addClassCleanup(cls.vwr.close)

    @classmethod
    def tearDownClass(cls):
        import shutil
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def get(self, path, headers=None):
        code, hdrs, body = self.vwr.request("GET", path, headers=headers)
        return code, hdrs, body.decode("utf-8")

    def assert_page_headers(self, hdrs):
        self.assertEqual(hdrs.get("Content-Type"), "text/html; charset=utf-8")
        self.assertEqual(hdrs.get("Cache-Control"), "no-store")
        csp = hdrs.get("Content-Security-Policy", "")
        self.assertIn("script-src 'self'", csp)
        self.assertIn("default-src 'none'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertEqual(hdrs.get("X-Content-Type-Options"), "nosniff")
        self.assertEqual(hdrs.get("Referrer-Policy"), "same-origin")

    def test_waiting_page(self):
        code, hdrs, body = self.get("/wait/sale?return=%2Fcart", {"Accept-Language": "ko-KR,ko"})
        self.assertEqual(code, 200)
        self.assert_page_headers(hdrs)
        self.assertIn('<html lang="ko">', body)
        self.assertIn("잠시만 기다려 주세요", body)
        self.assertIn("Sale &lt;b&gt;", body)
        self.assertIn("Back at 2pm &amp; later", body)
        self.assertIn('data-return="/cart"', body)
        self.assertIn('aria-live="polite"', body)
        # Only scripts from files, never inline ones (the policy would block them anyway).
        self.assertEqual(re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", body), [])

    def test_open_redirect_is_refused(self):
        for ret in ("https://evil.example/", "//evil.example/", "/\\evil.example",
                    "javascript:alert(1)"):
            _, _, body = self.get("/wait/sale?return=" + urllib.parse.quote(ret, safe=""))
            self.assertIn('data-return="/"', body, ret)
            self.assertNotIn("evil.example", body, ret)
        _, _, body = self.get("/wait/sale?return="
                              + urllib.parse.quote("https://shop.example.com/pay", safe=""))
        self.assertIn('data-return="https://shop.example.com/pay"', body)

    def test_custom_template_and_runtime_message(self):
        code, hdrs, body = self.get("/wait/custom?lang=en&return=%2Fx")
        self.assertEqual(code, 200)
        self.assert_page_headers(hdrs)
        self.assertEqual(body, "<p>custom||You are in line|/x</p>\n")

        path = "/admin/api/v1/rooms/custom/message"
        code, _, answer = self.vwr.admin_request("PUT", path, body={"message": "Paused <10 min>"})
        self.assertEqual(code, 200, answer)
        self.assertEqual(answer, {"room": "custom", "message": "Paused <10 min>", "replaced": True})
        _, _, body = self.get("/wait/custom?lang=en")
        self.assertIn("|Paused &lt;10 min&gt;|", body)
        code, _, value = self.vwr.json_request("GET", "/wait/custom/message")
        self.assertEqual((code, value), (200, {"message": "Paused <10 min>"}))
        code, _, answer = self.vwr.admin_request("DELETE", path)
        self.assertEqual(answer["message"], "")
        code, _, answer = self.vwr.admin_request("PUT", path, body={"message": 5})
        self.assertEqual(code, 400)
        code, _, _ = self.vwr.admin_request("PUT", path, body={"message": "x"}, token="wrong" * 4)
        self.assertEqual(code, 401)

    def test_unknown_room_page(self):
        code, hdrs, body = self.get("/wait/nope")
        self.assertEqual(code, 404)
        self.assert_page_headers(hdrs)
        self.assertIn("Waiting room not found", body)

    def test_assets_are_cached_by_version_and_etag(self):
        _, _, page = self.get("/wait/sale")
        version = re.search(r'/assets/wait\.js\?v=([0-9a-f]+)"', page).group(1)
        code, hdrs, body = self.get("/assets/wait.js?v=" + version)
        self.assertEqual(code, 200)
        self.assertEqual(hdrs.get("Content-Type"), "text/javascript; charset=utf-8")
        self.assertEqual(hdrs.get("Cache-Control"), "public, max-age=31536000, immutable")
        self.assertEqual(hdrs.get("X-Content-Type-Options"), "nosniff")
        etag = hdrs.get("ETag")
        self.assertRegex(etag, r'^"[0-9a-f]{20}"$')
        code, hdrs, _ = self.get("/sdk/vwr.js")
        self.assertEqual(code, 200)
        self.assertEqual(hdrs.get("Cache-Control"), "no-cache")
        code, hdrs, body = self.get("/assets/wait.js", {"If-None-Match": etag})
        self.assertEqual(code, 304)
        self.assertEqual(body, "")
        code, hdrs, body = self.get("/assets/vwr.css")
        self.assertEqual((code, hdrs.get("Content-Type")), (200, "text/css; charset=utf-8"))
        code, hdrs, body = self.get("/assets/i18n.js")
        self.assertTrue(body.startswith("// Generated"), body[:80])
        code, _, _ = self.vwr.request("HEAD", "/sdk/vwr.js")
        self.assertEqual(code, 200)
        code, _, _ = self.get("/assets/nope.js")
        self.assertEqual(code, 404)

    def test_demo_book_needs_a_token_of_the_room(self):
        code, _, value = self.vwr.json_request("POST", "/demo/book")
        self.assertEqual((code, value["error"]["code"]), (401, "invalid_token"))
        code, joined = self.vwr.join("sale")
        self.assertEqual(joined["status"], "admitted")
        code, _, value = self.vwr.json_request(
            "POST", "/demo/book", headers={"Authorization": "Bearer " + joined["token"]})
        self.assertEqual(code, 200, value)
        self.assertEqual(value["room"], "sale")
        self.assertRegex(value["booking"], r"^VWR-[0-9A-F]{6}$")
        code, other = self.vwr.join("custom")
        code, _, value = self.vwr.json_request(
            "POST", "/demo/book", headers={"Authorization": "Bearer " + other["token"]})
        self.assertEqual(code, 401)
        self.vwr.leave("sale", joined["token"])
        self.vwr.leave("custom", other["token"])
        # The same genuine token, once its session has ended, books nothing.
        code, _, value = self.vwr.json_request(
            "POST", "/demo/book", headers={"Authorization": "Bearer " + joined["token"]})
        self.assertEqual((code, value["error"]["code"]), (401, "session_ended"))

    def test_demo_pages(self):
        code, hdrs, body = self.get("/", {"Accept-Language": "en"})
        self.assertEqual(code, 200)
        self.assert_page_headers(hdrs)
        self.assertIn("Book now", body)
        self.assertIn('data-room="sale"', body)
        code, _, body = self.get("/demo/inside?lang=ko")
        self.assertEqual(code, 200)
        self.assertIn("입장했습니다", body)

    def test_the_api_is_unchanged_beside_the_pages(self):
        code, value = self.vwr.room_info("sale")
        self.assertEqual(code, 200)
        code, _, value = self.vwr.json_request("GET", "/nope")
        self.assertEqual((code, value["error"]["code"]), (404, "not_found"))


class DemoSwitchTest(unittest.TestCase):
    def test_builtin_config_serves_the_demo(self):
        with VwrProcess() as vwr:
            code, _, body = vwr.request("GET", "/")
            self.assertEqual(code, 200)
            self.assertIn(b'data-room="default"', body)
            vwr.wait_for_log(r"demo: open http://127\.0\.0\.1:\d+/ in a browser")

    def test_a_config_file_hides_the_demo_unless_it_asks(self):
        with VwrProcess(config_yaml(room_yaml("a"))) as vwr:
            code, _, value = vwr.json_request("GET", "/")
            self.assertEqual((code, value["error"]["code"]), (404, "not_found"))
            code, _, _ = vwr.request("POST", "/demo/book")
            self.assertEqual(code, 404)
            code, _, _ = vwr.request("GET", "/wait/a")
            self.assertEqual(code, 200)


if __name__ == "__main__":
    unittest.main()
