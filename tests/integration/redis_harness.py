"""Real redis-server processes for the scale-out tests, and a small RESP client to look inside.

RedisServer is one server; RedisCluster is a Redis Cluster of several masters made with
`redis-cli --cluster create`. Only the Python standard library; redis-server and redis-cli come
from Debian (scripts/install-deps: redis-server, redis-tools).
"""

import os
import random
import shutil
import socket
import subprocess
import tempfile
import time

from vwr_harness import wait_until


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RespError(Exception):
    pass


class Resp:
    """A blocking RESP2 connection: enough to read a room's keys and run admin commands."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout)
        self.file = self.sock.makefile("rb")

    def close(self):
        self.file.close()
        self.sock.close()

    def __call__(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._read()

    def _read(self):
        line = self.file.readline()
        if not line:
            raise ConnectionError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.file.read(n + 2)[:-2]
            return data.decode("utf-8", "replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RespError("unexpected reply %r" % line)


class RedisServer:
    """A redis-server on a free loopback port with its own directory; AOF on when asked."""

    def __init__(self, appendonly=False, port=None, directory=None, extra=()):
        self.port = port or free_port()
        self._own_dir = directory is None
        self.dir = directory or tempfile.mkdtemp(prefix="vwr-redis-")
        self.appendonly = appendonly
        self.extra = list(extra)
        self.proc = None
        self.start()

    @property
    def url(self):
        return "redis://127.0.0.1:%d/0" % self.port

    def start(self):
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", self.dir, "--save", "", "--daemonize", "no",
                "--appendonly", "yes" if self.appendonly else "no",
                "--appendfsync", "always"] + self.extra
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL)

        def answers():
            if self.proc.poll() is not None:
                raise AssertionError("redis-server exited with %r" % self.proc.returncode)
            try:
                c = Resp(self.port, timeout=0.5)
            except OSError:
                return False
            try:
                return c("PING") == "PONG"
            except (OSError, RespError, ConnectionError):
                return False
            finally:
                c.close()

        wait_until(answers, 10.0, message="redis-server answering on port %d" % self.port)

    def client(self):
        return Resp(self.port)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def close(self):
        self.kill()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def redis_available():
    return shutil.which("redis-server") is not None


def redis_cluster_available():
    return redis_available() and shutil.which("redis-cli") is not None


CLUSTER_SLOTS = 16384


def crc16_xmodem(data):
    """CRC16/XMODEM (polynomial 0x1021, initial value 0): Redis Cluster's key hash."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def key_slot(key):
    """The cluster slot of `key`: of its hash tag (the text between the first "{" and the next
    "}") when that is not empty, else of the whole key."""
    key = key if isinstance(key, bytes) else key.encode()
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1:end]
    return crc16_xmodem(key) % CLUSTER_SLOTS


def _port_pair_is_free(port):
    for p in (port, port + 10000):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                return False
    return True


def cluster_port():
    """A free port whose cluster bus port (port + 10000) is free too."""
    for _ in range(1000):
        port = random.randint(20000, 55000)
        if _port_pair_is_free(port):
            return port
    raise RuntimeError("no free port pair for a cluster node")


class RedisCluster:
    """A Redis Cluster on loopback: `masters` cluster-enabled redis-servers, each in its own
    temporary directory, joined by `redis-cli --cluster create` with no replicas (the slots are
    split evenly in order of the nodes). Ready when every node says cluster_state:ok and knows
    every other node.

    seed_url / other_seeds give what a vwr node is configured with; `command(key, ...)` runs a
    command on the master that owns `key`'s slot (following MOVED); `master_for(key)` is that
    master's RedisServer."""

    def __init__(self, masters=3):
        self.nodes = []
        self._clients = {}
        self._slots = []  # (first, last, port), from CLUSTER SLOTS
        try:
            for _ in range(masters):
                self.nodes.append(self._launch())
            self._create()
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _launch():
        extra = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                 "--cluster-node-timeout", "2000"]
        last = None
        for _ in range(5):  # another process may take the port between the check and the bind
            try:
                return RedisServer(port=cluster_port(), extra=extra)
            except AssertionError as e:
                last = e
        raise last

    def _create(self):
        args = ["redis-cli", "--cluster", "create"]
        args += ["127.0.0.1:%d" % n.port for n in self.nodes]
        args += ["--cluster-replicas", "0", "--cluster-yes"]
        done = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=60)
        if done.returncode != 0:
            raise AssertionError("redis-cli --cluster create failed:\n" + done.stdout)
        known = "cluster_known_nodes:%d" % len(self.nodes)

        def ready():
            for node in self.nodes:
                c = self.client(node.port)
                info = c("CLUSTER", "INFO")
                if "cluster_state:ok" not in info or known not in info:
                    return False
            return True

        wait_until(ready, 30, interval=0.05, message="every cluster node says cluster_state:ok")
        self.refresh_slots()

    @property
    def seed_url(self):
        return self.nodes[0].url

    @property
    def other_seeds(self):
        """The other nodes as HOST:PORT (store.redis.nodes)."""
        return ["127.0.0.1:%d" % n.port for n in self.nodes[1:]]

    def client(self, port):
        """A (cached) connection to the node on `port`."""
        c = self._clients.get(port)
        if c is None:
            c = self._clients[port] = Resp(port)
        return c

    def refresh_slots(self):
        """Reads the slot map (CLUSTER SLOTS) from the first node that answers."""
        for node in self.nodes:
            try:
                reply = self.client(node.port)("CLUSTER", "SLOTS")
            except (OSError, ConnectionError, RespError):
                continue
            self._slots = sorted((int(r[0]), int(r[1]), int(r[2][1])) for r in reply)
            return self._slots
        raise AssertionError("no cluster node answers CLUSTER SLOTS")

    def slot_map(self):
        """[(first_slot, last_slot, master_port)], as last read."""
        return list(self._slots)

    def master_port_of_slot(self, slot):
        for first, last, port in self._slots:
            if first <= slot <= last:
                return port
        raise AssertionError("slot %d is not served (slot map %r)" % (slot, self._slots))

    def master_for(self, key):
        """The RedisServer that owns `key`'s slot, per the slot map."""
        port = self.master_port_of_slot(key_slot(key))
        return next(n for n in self.nodes if n.port == port)

    def command(self, key, *args):
        """Runs a command on the master that owns `key`'s slot; on MOVED, re-reads the slot map
        and goes where it says (a few times at most)."""
        port = self.master_port_of_slot(key_slot(key))
        for _ in range(5):
            try:
                return self.client(port)(*args)
            except RespError as e:
                fields = str(e).split()
                if fields[:1] != ["MOVED"]:
                    raise
                self.refresh_slots()
                port = int(fields[2].rsplit(":", 1)[1])
        raise AssertionError("too many redirections for %r" % (args,))

    def close(self):
        for c in self._clients.values():
            try:
                c.close()
            except OSError:
                pass
        self._clients.clear()
        for node in self.nodes:
            node.close()
