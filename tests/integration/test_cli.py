"""The command line: --version, --help, `config check`, refusing a bad config, signals and
graceful shutdown, the built-in default config, and the admin token's origin.
"""

import base64
import json
import os
import re
import signal
import stat
import subprocess
import tempfile
import time
import unittest

from vwr_harness import (VwrProcess, clean_env, embedded_only, first_closed, json_request,
                         read_raw_response, run_vwr, serve_args, wait_closed, wait_server_read,
                         wipe_state)

GOOD_YAML = """\
server:
  workers: 2
log:
  level: info
rooms:
  - id: shop
    max_active: 50
    admit_rate: 2.5
    session_timeout: 5m
  - id: tickets
    mode: pause
"""

# Line 5: a misspelt key; line 7: max_active out of range.
BAD_YAML = """\
log:
  level: info
rooms:
  - id: shop
    mxa_active: 10
  - id: other
    max_active: 0
"""


class CliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="vwr-cli-")
        self.addCleanup(self.tmp.cleanup)

    def write(self, name, text):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    # ----- one-shot commands -----

    def test_version(self):
        result = run_vwr(["--version"])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout.strip(), r"^vwr \d+\.\d+\.\d+")

    def test_help(self):
        result = run_vwr(["--help"])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("serve", result.stdout)
        self.assertIn("config", result.stdout)
        result = run_vwr(["serve", "--help"])
        self.assertEqual(result.returncode, 0, result.stderr)
        for flag in ("--config", "--listen", "--admin-listen", "--data-dir", "--workers",
                     "--log-level", "--log-format"):
            self.assertIn(flag, result.stdout)

    def test_no_subcommand_is_an_error(self):
        result = run_vwr([])
        self.assertNotEqual(result.returncode, 0)

    def test_config_check_good(self):
        path = self.write("good.yaml", GOOD_YAML)
        result = run_vwr(["config", "check", path])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("OK (2 rooms)", result.stdout)

    def test_config_check_bad(self):
        path = self.write("bad.yaml", BAD_YAML)
        result = run_vwr(["config", "check", path])
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        errors = [l for l in result.stderr.splitlines() if l.strip()]
        self.assertEqual(len(errors), 2, result.stderr)
        self.assertRegex(errors[0], r"^%s: line 5\b.*rooms\[0\]\.mxa_active: unknown key"
                         % re.escape(path))
        self.assertIn('did you mean "max_active"', errors[0])
        self.assertRegex(errors[1], r"^%s: line 7\b.*rooms\[1\]\.max_active" % re.escape(path))
        self.assertNotIn("OK", result.stdout)

    def test_config_check_missing_file(self):
        result = run_vwr(["config", "check", os.path.join(self.tmp.name, "nope.yaml")])
        self.assertEqual(result.returncode, 1)
        self.assertTrue(result.stderr.strip())

    def test_serve_refuses_bad_config(self):
        path = self.write("bad.yaml", BAD_YAML)
        data = os.path.join(self.tmp.name, "data")
        started = time.monotonic()
        result = run_vwr(["serve", "--config", path, "--listen", "127.0.0.1:0",
                          "--admin-listen", "127.0.0.1:0", "--data-dir", data], timeout=10)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertLess(time.monotonic() - started, 5)
        self.assertIn("line 5", result.stderr)
        self.assertIn("line 7", result.stderr)
        self.assertNotIn("listener on", result.stderr)
        self.assertNotIn("vwr started", result.stderr)
        self.assertFalse(os.path.exists(data), "nothing is created for a refused config")

    def test_serve_refuses_bad_flags(self):
        result = run_vwr(["serve", "--listen", "no-port-here", "--admin-listen", "127.0.0.1:0",
                          "--data-dir", os.path.join(self.tmp.name, "d")])
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("--listen", result.stderr)
        self.assertNotIn("vwr started", result.stderr)

    # ----- serving -----

    def test_default_config(self):
        with VwrProcess() as vwr:
            code, _, info = json_request("GET", vwr.public + "/api/v1/rooms/default")
            self.assertEqual(code, 200, info)
            self.assertEqual(info["room"], "default")
            self.assertEqual(info["maxActive"], 100)
            self.assertEqual(info["admitRate"], 10)
            self.assertEqual(info["mode"], "fifo")
            code, body = vwr.join("default")
            self.assertEqual(code, 200)
            self.assertEqual(body["status"], "admitted")
            self.assertEqual(body["sessionTimeoutSeconds"], 600)
            self.assertEqual(vwr.stop(), 0)

    def test_json_log_format(self):
        with VwrProcess(extra_args=["--log-format", "json", "--log-level", "debug"]) as vwr:
            self.assertEqual(vwr.room_info("default")[0], 200)
            self.assertEqual(vwr.stop(), 0)
            lines = vwr.log_lines
        self.assertGreater(len(lines), 3)
        for line in lines:
            record = json.loads(line)
            self.assertEqual(set(record), {"time", "level", "thread", "msg"}, line)
        self.assertTrue(any("vwr started" in json.loads(l)["msg"] for l in lines))

    def test_sigterm_finishes_in_flight_request_then_exits_0(self):
        # Two idle and two busy connections, connected in turn: the workers take connections in
        # turn, so that the first connection the drain closes and some request still in flight
        # are on different workers in most runs, and on the same one in the others.
        with VwrProcess() as vwr:
            idle, busy = [], []
            try:
                for kind in (idle, busy, busy, idle):
                    kind.append(vwr.connect())
                for sock in idle:
                    # An idle keep-alive connection: one whole exchange done.
                    sock.sendall(b"GET /api/v1/rooms/default HTTP/1.1\r\nHost: t\r\n\r\n")
                    self.assertEqual(read_raw_response(sock.makefile("rb")).status, 200)
                for sock in busy:
                    # A request in flight: half of it sent when the signal arrives.
                    sock.sendall(b"POST /api/v1/rooms/default/join HTTP/1.1\r\nHost: t\r\n")
                    wait_server_read(sock)

                vwr.wait_handles_signal(signal.SIGTERM)
                started = time.monotonic()
                vwr.send_signal(signal.SIGTERM)
                vwr.wait_for_log(r"received SIGTERM, draining")
                # The idle connections are closed by the drain; once a client has seen the
                # first of them closed, the node is draining on every worker ...
                closed = first_closed(idle, 3)
                self.assertIsNotNone(closed, "idle keep-alive connections left open")
                # ... so the half-sent requests still get their answers, each the last on its
                # connection.
                for sock in busy:
                    sock.sendall(b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
                    resp = read_raw_response(sock.makefile("rb"))
                    self.assertIsNotNone(resp, "the in-flight request was dropped")
                    self.assertEqual(resp.status, 200, resp)
                    self.assertEqual(resp.json()["status"], "admitted")
                    self.assertEqual(resp.headers.get("connection", "").lower(), "close")
                for sock in busy + [s for s in idle if s is not closed]:
                    self.assertTrue(wait_closed(sock, 3))
                code = vwr.stop(timeout=5)
                self.assertEqual(code, 0, vwr.log)
                self.assertLess(time.monotonic() - started, 5)
                self.assertIn("vwr stopped", vwr.log)
                self.assertNotIn("cut at the deadline", vwr.log)
            finally:
                for sock in idle + busy:
                    sock.close()

    def test_sigterm_on_idle_server_exits_quickly(self):
        with VwrProcess() as vwr:
            started = time.monotonic()
            self.assertEqual(vwr.stop(signal.SIGTERM, timeout=5), 0, vwr.log)
            self.assertLess(time.monotonic() - started, 5)

    def signal_on_log_line(self, marker, attempts):
        """Starts vwr `attempts` times, sending SIGTERM / SIGINT (in turn) the moment a log line
        containing `marker` is read; stops at the first non-zero exit. Returns [(signal, code)]."""
        results = []
        for attempt in range(attempts):
            sig = signal.SIGTERM if attempt % 2 == 0 else signal.SIGINT
            data = os.path.join(self.tmp.name, "race%d" % attempt)
            os.mkdir(data + ".config")
            proc = subprocess.Popen(
                serve_args(data + ".config", data),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                env=clean_env())
            try:
                for line in proc.stderr:
                    if marker in line:
                        proc.send_signal(sig)
                        break
                proc.stderr.read()
                results.append((signal.Signals(sig).name, proc.wait(10)))
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(5)
                proc.stderr.close()
            if results[-1][1] != 0:
                break
        return results

    def test_signal_once_listening_is_graceful(self):
        # From the moment the public listener is open (clients can connect), SIGTERM / SIGINT
        # from a supervisor must drain and exit 0, not kill vwr with the signal's default action.
        results = self.signal_on_log_line(b"public listener on", 6)
        self.assertTrue(all(code == 0 for _, code in results),
                        "vwr signalled once its public listener was open did not exit 0 "
                        "(negative: killed by the signal): %r" % results)

    def test_signal_right_after_start_is_graceful(self):
        # The same just after "vwr started" (a narrower window: this catches it only sometimes).
        results = self.signal_on_log_line(b"vwr started", 20)
        self.assertTrue(all(code == 0 for _, code in results),
                        "vwr signalled just after logging \"vwr started\" did not exit 0 "
                        "(negative: killed by the signal): %r" % results)

    def test_sigint_exits_0(self):
        with VwrProcess() as vwr:
            code, _, _ = json_request("GET", vwr.admin + "/healthz")
            self.assertEqual(code, 200)
            self.assertEqual(vwr.stop(signal.SIGINT, timeout=5), 0, vwr.log)
            self.assertIn("received SIGINT", vwr.log)

    def test_listeners_closed_after_stop(self):
        with VwrProcess() as vwr:
            public = vwr.public
            self.assertEqual(vwr.stop(), 0)
            with self.assertRaises(OSError):
                json_request("GET", public + "/api/v1/rooms/default", timeout=2)

    # ----- the admin token -----

    def test_generated_admin_token(self):
        data = os.path.join(self.tmp.name, "data")
        with VwrProcess(data_dir=data) as vwr:
            path = os.path.join(data, "admin.token")
            self.assertTrue(os.path.exists(path))
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            with open(path, encoding="utf-8") as f:
                token = f.read().strip()
            self.assertRegex(token, r"^[0-9a-f]{48}$")
            self.assertEqual(vwr.admin_token, token)
            # Printed once, in the log.
            lines = [l for l in vwr.log_lines if token in l]
            self.assertEqual(len(lines), 1, vwr.log)
            self.assertIn("admin token", lines[0])
            # ... and it works.
            code, _, _ = vwr.admin_request("GET", "/admin/api/v1/rooms")
            self.assertEqual(code, 200)
            # The ticket key is secret too.
            key = os.path.join(data, "ticket.key")
            self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
            self.assertEqual(vwr.stop(), 0)

        # The next start reuses it without printing it again.
        with VwrProcess(data_dir=data) as vwr:
            self.assertEqual(vwr.admin_token, token)
            self.assertNotIn(token, vwr.log)
            self.assertNotIn("generated an admin token", vwr.log)
            code, _, _ = vwr.admin_request("GET", "/admin/api/v1/rooms")
            self.assertEqual(code, 200)

    def test_admin_token_from_environment(self):
        token = "env-token-0123456789abcdef"
        data = os.path.join(self.tmp.name, "data")
        with VwrProcess(env={"VWR_ADMIN_TOKEN": token}, data_dir=data) as vwr:
            self.assertEqual(vwr.admin_token, token)
            code, _, body = vwr.admin_request("GET", "/admin/api/v1/rooms/default/policy")
            self.assertEqual(code, 200, body)
            code, _, _ = vwr.admin_request("GET", "/admin/api/v1/rooms/default/policy",
                                           token="0" * 48)
            self.assertEqual(code, 401)
            self.assertFalse(os.path.exists(os.path.join(data, "admin.token")),
                             "no token file when the token comes from the environment")
            self.assertNotIn(token, vwr.log, "the token is never logged")

    def restart_with_the_same_data_dir(self):
        """Joins the default room twice (admitted, then with a userId), stops, and starts again
        on the same data directory (on Redis: the same keys). Returns (vwr, first, second)."""
        data = os.path.join(self.tmp.name, "data")
        with VwrProcess(data_dir=data) as vwr:
            first = vwr.join("default")[1]
            self.assertEqual(first["status"], "admitted")
            second = vwr.join("default", user_id="returning")[1]
            self.assertEqual(vwr.stop(), 0)
        vwr = VwrProcess(data_dir=data)
        self.addCleanup(vwr.close)
        return vwr, first, second

    def test_tickets_survive_a_restart_with_the_same_data_dir(self):
        # Same data directory, new process: the state is recovered, the session is still there.
        vwr, first, second = self.restart_with_the_same_data_dir()
        code, body = vwr.status("default", first["ticket"])
        self.assertEqual(code, 200, body)
        self.assertEqual(body["status"], "admitted")
        # The same session (jti), signed with the same key (kid): the key directory in data_dir
        # was kept too. (ES256 signatures differ each time one is made.)
        header, payload = (json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
                           for p in body["token"].split(".")[:2])
        first_header, first_payload = (
            json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
            for p in first["token"].split(".")[:2])
        self.assertEqual(header, first_header)
        self.assertEqual(payload["jti"], first_payload["jti"])
        self.assertEqual(vwr.heartbeat("default", first["token"])[0], 204)
        # A re-join with its ticket is that place again, and numbering goes on after the
        # tickets issued before.
        again = vwr.json_request("POST", "/api/v1/rooms/default/join", body={},
                                 headers={"X-VWR-Ticket": second["ticket"]})[2]
        self.assertEqual((again["status"], again["ticket"]), ("admitted", second["ticket"]))
        self.assertEqual(vwr.rooms_admin()["default"]["lastTicket"], 2)
        self.assertEqual(vwr.join("default")[1]["status"], "admitted")
        self.assertEqual(vwr.rooms_admin()["default"]["lastTicket"], 3)

    @embedded_only("the state is recovered from the snapshot and journal in data_dir")
    def test_a_restart_reads_the_snapshot_and_journal(self):
        vwr, _, _ = self.restart_with_the_same_data_dir()
        self.assertRegex(vwr.log, r"recovered \d+ snapshot and \d+ journal records")

    def test_tickets_from_a_wiped_state_are_expired(self):
        # Same key file, state deleted: a ticket from before is genuine but its place is gone.
        data = os.path.join(self.tmp.name, "data")
        with VwrProcess(data_dir=data) as vwr:
            ticket = vwr.join("default")[1]["ticket"]
            self.assertEqual(vwr.stop(), 0)
        wipe_state(data)
        with VwrProcess(data_dir=data) as vwr:
            code, body = vwr.status("default", ticket)
            self.assertEqual(code, 200, body)
            self.assertEqual(body["status"], "expired")


class SocketSanityTest(unittest.TestCase):
    """Two servers at once get different ports (port 0 really is ephemeral)."""

    def test_two_servers(self):
        with VwrProcess() as a, VwrProcess() as b:
            self.assertNotEqual(a.public, b.public)
            self.assertNotEqual(a.admin, b.admin)
            self.assertNotEqual(a.admin_token, b.admin_token)
            for vwr in (a, b):
                code, _, _ = json_request("GET", vwr.admin + "/healthz")
                self.assertEqual(code, 200)


if __name__ == "__main__":
    unittest.main()
