"""SIGHUP reloads the configuration file: rooms and policies change at once, connections stay
open, and a file with errors is rejected with a log line while the configuration in force stays.
"""

import http.client
import json
import os
import signal
import unittest

from vwr_harness import VwrProcess, address_of, config_yaml, room_yaml, wait_until

POLL = dict(poll_min="100ms", poll_max="1s")


def rooms_config(*rooms, extra=""):
    return config_yaml(*rooms, extra=extra)


class ReloadTest(unittest.TestCase):
    def start(self, text):
        vwr = VwrProcess(text)
        self.addCleanup(vwr.close)
        return vwr

    def reload(self, vwr, text, outcome="configuration reloaded from"):
        """Writes the file, sends SIGHUP and waits for the reload's outcome line."""
        before = sum(outcome in line for line in vwr.log_lines)
        vwr.write_config(text)
        vwr.send_signal(signal.SIGHUP)
        try:
            wait_until(lambda: sum(outcome in line for line in vwr.log_lines) > before, 10.0,
                       message="a log line %r after SIGHUP" % outcome)
        except AssertionError as e:
            raise AssertionError("%s; log:\n%s" % (e, vwr.log)) from None

    def test_rooms_and_policies_change_without_dropping_connections(self):
        vwr = self.start(rooms_config(
            room_yaml("a", max_active=1, admit_rate=50, burst=1, **POLL),
            room_yaml("b", max_active=5, admit_rate=50, burst=5, **POLL)))
        # A keep-alive connection opened before the reload must still serve after it.
        host, port = address_of(vwr.public)
        conn = http.client.HTTPConnection(host, port, timeout=5)
        self.addCleanup(conn.close)
        conn.request("GET", "/api/v1/rooms/a")
        first = conn.getresponse()
        first.read()
        self.assertEqual(first.status, 200)
        sock = conn.sock

        code, admitted = vwr.join("a")
        self.assertEqual((code, admitted["status"]), (200, "admitted"))
        code, waiting = vwr.join("a")
        self.assertEqual((code, waiting["status"]), (200, "waiting"))

        self.reload(vwr, rooms_config(
            room_yaml("c", max_active=3, admit_rate=50, burst=3, **POLL),
            room_yaml("a", max_active=2, admit_rate=50, burst=2, **POLL)))

        vwr.wait_for_log(r"reload: room c added")
        vwr.wait_for_log(r"reload: room b removed")
        vwr.wait_for_log(r"reload: room a has a new policy")
        # The same connection, still open, answers with the new set of rooms.
        for path, expected in (("/api/v1/rooms/c", 200), ("/api/v1/rooms/b", 404),
                               ("/api/v1/rooms/a", 200)):
            conn.request("GET", path)
            answer = conn.getresponse()
            answer.read()
            self.assertEqual(answer.status, expected, path)
        self.assertIs(conn.sock, sock, "the connection was not re-opened")

        code, _, policy = vwr.policy("a")
        self.assertEqual((code, policy["max_active"]), (200, 2))
        # The wider room lets the waiting user in; the ticket issued before the reload holds.
        self.assertEqual(vwr.wait_admitted("a", waiting["ticket"])["status"], "admitted")
        code, joined = vwr.join("c")
        self.assertEqual((code, joined["status"]), (200, "admitted"))
        self.assertEqual(list(vwr.rooms_admin()), ["c", "a"])
        self.assertNotIn("next restart", vwr.log, "nothing but rooms changed")
        # Counted at once on the embedded store, at the next tick on Redis.
        joins = wait_until(lambda: vwr.metrics()['vwr_room_joins_total{room="c"}'], 3,
                           message="the join is counted")
        self.assertEqual(joins, 1)

    def test_a_bad_file_is_rejected_and_the_old_config_kept(self):
        good = rooms_config(room_yaml("a", max_active=4, admit_rate=50, burst=4, **POLL))
        vwr = self.start(good)
        for bad, key in ((rooms_config(room_yaml("a", max_active=-1)), "rooms[0].max_active"),
                         ("rooms: [\n  - id: a\n", None),
                         (rooms_config(room_yaml("a"), room_yaml("a")), "rooms[1].id")):
            with self.subTest(bad=bad):
                self.reload(vwr, bad, outcome="reload rejected")
                if key:
                    vwr.wait_for_log(r"reload: .*%s" % key.replace("[", r"\[").replace("]", r"\]"))
                self.assertTrue(vwr.running())
                code, _, policy = vwr.policy("a")
                self.assertEqual((code, policy["max_active"]), (200, 4))
                self.assertEqual(vwr.join("a")[0], 200)
        # A good file afterwards is applied as usual.
        self.reload(vwr, rooms_config(room_yaml("a", max_active=6, admit_rate=50, burst=6,
                                                **POLL)))
        self.assertEqual(vwr.policy("a")[2]["max_active"], 6)

    def test_a_room_that_comes_back_keeps_its_tickets_and_numbering(self):
        a = room_yaml("a", max_active=1, admit_rate=50, burst=1, **POLL)
        b = room_yaml("b", max_active=1, admit_rate=50, burst=1, **POLL)
        vwr = self.start(rooms_config(a, b))
        vwr.join("b")
        code, waiting = vwr.join("b")
        self.assertEqual(waiting["status"], "waiting")
        self.assertEqual(vwr.rooms_admin()["b"]["lastTicket"], 2)

        self.reload(vwr, rooms_config(a))
        self.assertEqual(vwr.status("b", waiting["ticket"])[0], 404)
        self.reload(vwr, rooms_config(a, b))

        code, value = vwr.status("b", waiting["ticket"])
        self.assertEqual((code, value["status"]), (200, "waiting"))
        self.assertEqual(vwr.join("b")[1]["status"], "waiting")
        self.assertEqual(vwr.rooms_admin()["b"]["lastTicket"], 3, "no ticket number twice")

    def test_an_operator_policy_stays_while_the_file_is_unchanged(self):
        text = rooms_config(room_yaml("a", max_active=4, admit_rate=50, burst=4, **POLL))
        vwr = self.start(text)
        code, _, _ = vwr.set_policy("a", {"max_active": 9})
        self.assertEqual(code, 200)
        self.reload(vwr, text)
        self.assertEqual(vwr.policy("a")[2]["max_active"], 9)
        self.assertNotIn("room a has a new policy", vwr.log, "the file did not change")
        self.reload(vwr, rooms_config(room_yaml("a", max_active=5, admit_rate=50, burst=5,
                                                **POLL)))
        self.assertEqual(vwr.policy("a")[2]["max_active"], 5, "an edited file wins")

    def test_settings_bound_at_start_are_reported_not_applied(self):
        a = room_yaml("a", **POLL)
        vwr = self.start(rooms_config(a))
        self.reload(vwr, rooms_config(a, extra="server:\n  limits:\n    max_connections: 7\n"))
        vwr.wait_for_log(r"server\.limits changed .*next restart")
        # Still the old limit: more than 7 connections are served.
        socks = [vwr.connect() for _ in range(10)]
        try:
            for s in socks:
                s.sendall(b"GET /api/v1/rooms/a HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertIn(b" 200 ", s.recv(4096).split(b"\r\n")[0] + b" ")
        finally:
            for s in socks:
                s.close()

    def test_only_the_control_thread_takes_the_signals(self):
        # Every other thread blocks SIGHUP, SIGINT and SIGTERM, so the kernel hands them to the
        # control thread (the process's first), which is waiting for them.
        vwr = self.start(rooms_config(room_yaml("a", **POLL)))
        pid = vwr.proc.pid
        wanted = sum(1 << (int(s) - 1) for s in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM))

        def blocked(tid):
            """The thread's blocked signals among `wanted`; None when it has ended meanwhile."""
            try:
                with open("/proc/%d/task/%s/status" % (pid, tid), encoding="ascii") as f:
                    for line in f:
                        if line.startswith("SigBlk:"):
                            return int(line.split()[1], 16) & wanted
            except FileNotFoundError:
                return None

        # The workers answer /readyz a moment before the control thread lets the signals in
        # (it does so once every thread has started with them blocked); one sent meanwhile waits
        # for it, pending.
        wait_until(lambda: blocked(pid) == 0, timeout=10,
                   message="the control thread let SIGHUP, SIGINT and SIGTERM in")
        threads = os.listdir("/proc/%d/task" % pid)
        self.assertGreater(len(threads), 2, "the workers and the store's threads are running")
        for tid in threads:
            mask = blocked(tid)
            if mask is not None and int(tid) != pid:
                self.assertEqual(mask, wanted, "thread %s" % tid)
        self.reload(vwr, rooms_config(room_yaml("a", max_active=3, **POLL)))
        self.assertEqual(vwr.policy("a")[2]["max_active"], 3)


if __name__ == "__main__":
    unittest.main()
