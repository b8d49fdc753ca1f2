"""Traffic control against real protected systems, with the real binary: a PostgreSQL and a
MariaDB (Debian packages, started on loopback in a temporary directory) whose connections are
filled by plain clients holding them lower the room's limit, which comes back when the load
stops; and a `prometheus` signal reads a PromQL query from a real Prometheus server."""

import json
import os
import shutil
import unittest
import urllib.parse

from database_servers import (MariadbServer, PostgresServer, PrometheusServer,
                              postgres_binaries, stop_clients)
from vwr_harness import VwrProcess, json_request, wait_until

PASSWORD = "monitor-secret-0123456789"
ROOM = """
rooms:
  - id: shop
    max_active: 100
    admit_rate: 1000
    burst: 1000
    control:
      algorithm: aimd
      interval: 200ms
      max_active: { min: 10, max: 100 }
      targets:
        - { signal: db_connections_used, max: 0.5 }
      on_unknown: hold
"""


def signal(vwr, name):
    code, _, body = vwr.admin_request("GET", "/admin/api/v1/signals/" + name)
    assert code == 200, (code, body)
    return body


def max_active(vwr):
    code, _, body = vwr.policy("shop")
    assert code == 200, (code, body)
    return body["max_active"]


class DatabaseLoad:
    """The scenario both databases share: 100 people inside (the limit is in use), load that
    fills the database's connections lowers the limit; when it stops, the limit comes back."""

    def run_scenario(self, vwr, server, clients):
        wait_until(lambda: signal(vwr, "db_connections_used")["state"] == "ok", timeout=15,
                   message="the database signal never became known: %s"
                   % signal(vwr, "db_connections_used"))
        self.assertLess(signal(vwr, "db_connections_used")["value"], 0.5)
        for _ in range(100):
            code, body = vwr.join("shop")
            self.assertEqual(code, 200, body)
            self.assertEqual(body["status"], "admitted", body)
        self.assertEqual(max_active(vwr), 100)
        held = server.hold_connections(clients)
        try:
            wait_until(lambda: signal(vwr, "db_connections_used").get("value", 0) > 0.5,
                       timeout=15, message="the held connections were not seen")
            wait_until(lambda: max_active(vwr) < 100, timeout=10,
                       message="a full connection pool did not lower the limit")
            lowered = max_active(vwr)
            code, _, state = vwr.admin_request("GET", "/admin/api/v1/control?room=shop")
            decision = next(d for d in state["decisions"] if d["change"])
            self.assertEqual(decision["seen"][0]["name"], "db_connections_used")
            self.assertGreater(decision["seen"][0]["value"], 0.5)
            self.assertIn("breach", decision["reason"])
        finally:
            stop_clients(held)
        wait_until(lambda: signal(vwr, "db_connections_used")["value"] < 0.5, timeout=15,
                   message="the connections were not given back")
        wait_until(lambda: max_active(vwr) == 100, timeout=15,
                   message="the limit did not come back when the load stopped (at %d)"
                   % max_active(vwr))
        self.assertLess(lowered, 100)


@unittest.skipUnless(postgres_binaries() and shutil.which("psql"),
                     "PostgreSQL is not installed (scripts/install-deps)")
class PostgresLowersTheLimit(unittest.TestCase, DatabaseLoad):
    def test_filled_connections_lower_the_limit_and_it_comes_back(self):
        with PostgresServer(PASSWORD, max_connections=20) as pg:
            config = """
signals:
  - name: db_connections_used
    kind: postgres
    conninfo: %s
    password: { env: VWR_PG_PASSWORD }
    metric: connections_used
    interval: 300ms
    timeout: 250ms
""" % pg.conninfo() + ROOM
            with VwrProcess(config, env={"VWR_PG_PASSWORD": PASSWORD}) as vwr:
                self.run_scenario(vwr, pg, clients=14)
                self.assertNotIn(PASSWORD, vwr.log, "a credential reached the log")


@unittest.skipUnless(os.path.exists("/usr/sbin/mariadbd") and shutil.which("mariadb"),
                     "MariaDB is not installed (scripts/install-deps)")
class MariadbLowersTheLimit(unittest.TestCase, DatabaseLoad):
    def test_filled_connections_lower_the_limit_and_it_comes_back(self):
        with MariadbServer(PASSWORD, max_connections=30) as db:
            config = """
signals:
  - name: db_connections_used
    kind: mysql
    host: 127.0.0.1
    port: %d
    user: vwr
    password: { env: VWR_DB_PASSWORD }
    metric: connections_used
    interval: 1s
    timeout: 1s
""" % db.port + ROOM
            with VwrProcess(config, env={"VWR_DB_PASSWORD": PASSWORD}) as vwr:
                self.run_scenario(vwr, db, clients=20)
                self.assertNotIn(PASSWORD, vwr.log, "a credential reached the log")


@unittest.skipUnless(shutil.which("prometheus"), "Prometheus is not installed (scripts/install-deps)")
class PrometheusQuery(unittest.TestCase):
    def test_a_promql_query_is_read_from_a_real_prometheus(self):
        with PrometheusServer() as prom:
            url = "http://127.0.0.1:%d" % prom.port
            query = "count(up{job=\"self\"} == 1) * 7 + 0.5"
            # Prometheus itself answers 7.5 once it has scraped itself.
            def answered():
                code, _, body = json_request(
                    "GET", url + "/api/v1/query?query=" + urllib.parse.quote(query))
                result = body.get("data", {}).get("result", []) if code == 200 else []
                return result and float(result[0]["value"][1]) == 7.5
            wait_until(answered, timeout=20, message="prometheus never scraped itself")
            config = """
signals:
  - name: scraped
    kind: prometheus
    url: %s
    query: %s
    scale: 2
    interval: 300ms
    timeout: 300ms
rules:
  - name: cap-when-scraped
    room: shop
    when: scraped == 15
    then: { max_active: 9 }
rooms:
  - id: shop
    max_active: 100
""" % (url, json.dumps(query))
            with VwrProcess(config) as vwr:
                wait_until(lambda: signal(vwr, "scraped")["state"] == "ok", timeout=10,
                           message="the prometheus signal never became known: %s"
                           % signal(vwr, "scraped"))
                seen = signal(vwr, "scraped")
                self.assertEqual(seen["value"], 15, "the query's 7.5, scaled by 2")
                self.assertEqual(seen["kind"], "prometheus")
                wait_until(lambda: max_active(vwr) == 9, timeout=5,
                           message="a rule over the query did not fire")
                # A query that does not give one number is an error, not a guess.
                prom_bad = config.replace(json.dumps(query),
                                          json.dumps("{__name__=~\"up|prometheus_build_info\"}"))
            with VwrProcess(prom_bad) as vwr:
                wait_until(lambda: signal(vwr, "scraped")["state"] == "error", timeout=10,
                           message="a query of several series was not refused")
                self.assertIn("error", signal(vwr, "scraped"))
                self.assertEqual(max_active(vwr), 100)


if __name__ == "__main__":
    unittest.main()
