"""Real redis-server processes for the scale-out tests, and a small RESP client to look inside.

Only the Python standard library; redis-server comes from Debian (scripts/install-deps).
"""

import os
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
