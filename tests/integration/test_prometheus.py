"""/metrics against the real Prometheus tools (Debian `prometheus`): the whole text after every
kind of traffic passes `promtool check metrics` with no lint problem at all, and a real
Prometheus server scraping a running vwr answers a PromQL query with the counts that were
served.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import urllib.parse
import urllib.request

from redis_harness import free_port
from vwr_harness import VwrProcess, config_yaml, request, room_yaml, store_under_test, wait_until

ROOM = "shop"
CONFIG = config_yaml(room_yaml(ROOM, max_active=2, admit_rate=100, burst=2,
                               claim_grace="5s", poll_min="100ms"))


def traffic(vwr):
    """Every kind of traffic the histograms and counters see: joins admitted at once and from
    the line, polls, a heartbeat, a leave, a refused request. Returns the joins made."""
    if store_under_test() == "redis":
        # On a shared store a node knows the line (and so when each ticket was issued) from its
        # first tick on; the waits of tickets issued before it are not the node's to measure.
        def ticked():
            code, _, value = vwr.admin_request("GET", "/admin/api/v1/rooms")
            return code == 200 and any(r["policy"]["room"] == ROOM and r.get("tickHolder")
                                       for r in value["rooms"])
        wait_until(ticked, timeout=10, message="the node's first tick of the room")
    admitted = []
    waiting = []
    for _ in range(5):
        code, value = vwr.join(ROOM)
        assert code == 200, value
        (admitted if value["status"] == "admitted" else waiting).append(value)
    for a in admitted:
        assert vwr.heartbeat(ROOM, a["token"])[0] == 204
        assert vwr.leave(ROOM, a["token"])[0] == 204
    # The first waiting ticket is called into a freed slot and claims it.
    got = vwr.wait_admitted(ROOM, waiting[0]["ticket"], timeout=5)
    assert "token" in got
    assert 400 <= vwr.status(ROOM, "not-a-ticket")[0] < 500
    return 5


@unittest.skipUnless(shutil.which("promtool"), "promtool is not installed (scripts/install-deps)")
class PromtoolTest(unittest.TestCase):
    def test_the_whole_metrics_text_passes_promtool(self):
        with VwrProcess(CONFIG) as vwr:
            traffic(vwr)
            # The wait of the ticket called from the line is in the histogram once the
            # analysis' next second has closed.
            def text():
                code, _, body = request("GET", vwr.admin + "/metrics")
                self.assertEqual(code, 200)
                return body if re.search(rb'\nvwr_wait_time_seconds_count\{room="shop"\} [1-9]',
                                         body) else None
            body = wait_until(text, timeout=20, message="a wait in the histogram")
            for name in (b"vwr_wait_time_seconds_bucket", b"vwr_session_length_seconds_bucket",
                         b"vwr_room_surges_total"):
                self.assertIn(name, body)
            done = subprocess.run(["promtool", "check", "metrics"], input=body,
                                  capture_output=True, timeout=30)
            output = (done.stdout + done.stderr).decode()
            # Neither a format error nor a lint problem (promtool exits 1 for either).
            self.assertEqual(done.returncode, 0, output)
            self.assertEqual(output.strip(), "", output)


@unittest.skipUnless(shutil.which("prometheus"), "prometheus is not installed (scripts/install-deps)")
class PrometheusScrapeTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vwr-prometheus-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.vwr = VwrProcess(CONFIG)
        self.addCleanup(self.vwr.close)
        target = self.vwr.admin.split("//")[1]
        config = os.path.join(self.tmp, "prometheus.yml")
        with open(config, "w", encoding="utf-8") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: vwr\n    scrape_timeout: 900ms\n"
                    "    static_configs:\n      - targets: ['%s']\n" % target)
        self.prometheus_url = "http://127.0.0.1:%d" % free_port()
        self.log = open(os.path.join(self.tmp, "prometheus.log"), "wb")
        self.addCleanup(self.log.close)
        self.prometheus = subprocess.Popen(
            ["prometheus", "--config.file=" + config,
             "--storage.tsdb.path=" + os.path.join(self.tmp, "data"),
             "--web.listen-address=" + self.prometheus_url.split("//")[1],
             "--log.level=warn"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        self.addCleanup(self.stop_prometheus)

    def stop_prometheus(self):
        self.prometheus.terminate()
        try:
            self.prometheus.wait(10)
        except subprocess.TimeoutExpired:
            self.prometheus.kill()
            self.prometheus.wait(5)

    def query(self, promql):
        """The value of an instant query's single sample, or None while there is none."""
        url = self.prometheus_url + "/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                answer = json.load(resp)
        except OSError:
            return None  # not listening yet
        self.assertEqual(answer["status"], "success", answer)
        result = answer["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    def test_a_real_prometheus_scrapes_the_counts_served(self):
        wait_until(lambda: self.query('up{job="vwr"}') == 1.0, timeout=30,
                   message="Prometheus scraping vwr")
        joins = traffic(self.vwr)
        # The counts Prometheus has scraped are the ones served.
        wait_until(lambda: self.query('vwr_room_joins_total{job="vwr",room="%s"}' % ROOM)
                   == joins, timeout=15, message="the joins in Prometheus")
        wait_until(lambda: self.query('vwr_room_leaves_total{room="%s"}' % ROOM) == 2,
                   timeout=15, message="the leaves in Prometheus")
        # The wait time histogram (tickets admitted at once wait 0 s; the freed slots call
        # tickets from the line): Prometheus has what vwr shows, and a query over it works as
        # a dashboard's would.
        def waits_agree():
            shown = self.vwr.metrics().get('vwr_wait_time_seconds_count{room="%s"}' % ROOM, 0)
            scraped = self.query('sum(vwr_wait_time_seconds_count{room="%s"})' % ROOM)
            return shown >= 3 and scraped == shown
        wait_until(waits_agree, timeout=15, message="the waits in Prometheus")
        p95 = self.query('histogram_quantile(0.95, sum by (le) '
                         '(vwr_wait_time_seconds_bucket{room="%s"}))' % ROOM)
        self.assertIsNotNone(p95)
        self.assertLessEqual(p95, 5.0)


if __name__ == "__main__":
    unittest.main()
