"""Helpers for the integration tests: run the real `vwr` binary and talk HTTP to it.

The binary comes from the environment variable VWR_BINARY (CTest sets it); when it is not set,
the in-tree build at ../../build/vwr is used. Only the Python standard library is used.

    with VwrProcess(config_yaml=CONFIG) as vwr:
        status, body = vwr.join("sale")
        ...

Every server listens on 127.0.0.1 with port 0 (the kernel picks free ports), keeps its state in a
fresh temporary directory and is killed when the `with` block (or the test class) ends, whatever
happened. Nothing here sleeps for a fixed time to wait for an outcome: start-up waits on the log
lines the server prints, and conditions are awaited with `wait_until`.

The store under test comes from the environment variable VWR_TEST_STORE: `embedded` (the
default) or `redis`. With `redis`, every vwr started here gets a `store: {kind: redis}` section
in its configuration (added to the test's own text, or to an otherwise empty file standing for
the built-in default) and shares one redis-server on loopback, started once per Python process.
Each data directory has its own key prefix in that Redis, so servers running at once never see
each other's rooms, and a server restarted on the same data directory finds its state again, as
it does in data_dir on the embedded store. Tests of what only the embedded store has (its files
in data_dir) are marked `@embedded_only(reason)`.
"""

import atexit
import hashlib
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))

START_TIMEOUT = 10.0  # seconds to wait for "vwr started"
STOP_TIMEOUT = 10.0  # seconds to wait for the process to exit after a signal
HTTP_TIMEOUT = 5.0  # seconds for one HTTP exchange

# "public listener on https://..." when the public listener speaks TLS.
_LISTENER_RE = re.compile(r"\b(public|admin) listener on (https?://[^\s\"]+)")


# ----- the store under test -----

STORES = ("embedded", "redis")
REDIS_LEASE = "1s"  # short, so that a server restarted on the same state ticks again soon


def store_under_test():
    """The store the tests run on: VWR_TEST_STORE, `embedded` (default) or `redis`."""
    store = os.environ.get("VWR_TEST_STORE", "embedded") or "embedded"
    if store not in STORES:
        raise RuntimeError("VWR_TEST_STORE must be one of %s, not %r" % ("|".join(STORES), store))
    return store


def on_redis():
    return store_under_test() == "redis"


def embedded_only(reason):
    """Skips a test (method or class) on the Redis store: what it checks exists only in the
    embedded store (its journal, snapshots and state files in data_dir)."""
    return unittest.skipIf(on_redis(), "embedded store only: " + reason)


_shared_redis = None


def shared_redis():
    """The redis-server the vwr processes of this Python process share (VWR_TEST_STORE=redis):
    started on first use on a free loopback port, killed when the process exits."""
    global _shared_redis
    if _shared_redis is None:
        # Imported here: redis_harness imports this module.
        from redis_harness import RedisServer, redis_available  # pylint: disable=import-outside-toplevel
        if not redis_available():
            raise RuntimeError("VWR_TEST_STORE=redis needs redis-server (scripts/install-deps)")
        _shared_redis = RedisServer()
        atexit.register(_shared_redis.close)
    return _shared_redis


def redis_key_prefix(data_dir):
    """The key prefix in the shared Redis of the server whose data directory is `data_dir`."""
    digest = hashlib.sha256(os.path.realpath(data_dir).encode("utf-8")).hexdigest()
    return "t" + digest[:24]


_STORE_LINE_RE = re.compile(r"^store:(.*)$", re.MULTILINE)


def with_test_store(text, data_dir):
    """The configuration `text` (None: the built-in default) for the store under test: unchanged
    (None stays None) on the embedded store; on Redis, with store.kind redis on the shared
    redis-server and the key prefix of `data_dir`, merged into the file's own `store:` section
    when it has one (for None: a file that says what the built-in default says). A configuration that chooses its store itself (store.kind) is left as it
    is."""
    if not on_redis():
        return text
    # The built-in default, as a file: the same rooms (none listed: the default room) and, as
    # the built-in configuration has and a file has only when it asks, the demo pages.
    source = "demo: true\n" if text is None else text
    m = _STORE_LINE_RE.search(source)
    if m and m.group(1).strip() and not m.group(1).strip().startswith("#"):
        raise ValueError("cannot add to a store section that is not in block style: %r" % text)
    if m and re.match(r"(?:[ \t]+.*\n|[ \t]*\n)*?[ \t]+kind:", source[m.end() + 1:]):
        return text
    text = source
    redis = shared_redis()
    fields = ["kind: redis", "redis:", "  url: %s" % redis.url, "  lease: %s" % REDIS_LEASE,
              "  key_prefix: %s" % redis_key_prefix(data_dir)]
    if m is None:
        if text and not text.endswith("\n"):
            text += "\n"
        return text + "store:\n" + "".join("  %s\n" % f for f in fields)
    # Indented like the section's own first key (block style; a flow-style section is refused).
    rest = text[m.end() + 1:]
    first = re.match(r"([ \t]+)\S", rest)
    if first is None:
        raise ValueError("cannot add to a store section that is not in block style: %r" % text)
    indent = first.group(1)
    return text[:m.end() + 1] + "".join("%s%s\n" % (indent, f) for f in fields) + rest


def wipe_state(data_dir):
    """Deletes the rooms' state of the (stopped) server of `data_dir`, keeping its key file and
    admin token: the state directory on the embedded store, its keys in Redis on Redis."""
    if not on_redis():
        shutil.rmtree(os.path.join(data_dir, "state"))
        return
    db = shared_redis().client()
    try:
        keys = db("KEYS", redis_key_prefix(data_dir) + ":*")
        if keys:
            db("DEL", *keys)
    finally:
        db.close()


def vwr_binary():
    """The path of the vwr binary under test."""
    path = os.environ.get("VWR_BINARY")
    if not path:
        path = os.path.normpath(os.path.join(HERE, "..", "..", "build", "vwr"))
    if not os.access(path, os.X_OK):
        raise RuntimeError("vwr binary not found or not executable: %s (set VWR_BINARY)" % path)
    return path


def clean_env(extra=None):
    """The environment for a child vwr: the caller's, without VWR_ADMIN_TOKEN, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k != "VWR_ADMIN_TOKEN"}
    if extra:
        env.update(extra)
    return env


# What a sanitizer build prints when it finds a bug; a test whose vwr printed it fails, even
# when the report came after every assertion passed (the process is killed at the end).
_SANITIZER_RE = re.compile(r"WARNING: ThreadSanitizer|ERROR: AddressSanitizer|"
                           r"ERROR: LeakSanitizer|runtime error: ")


# UBSan's vptr check tests whether memory is readable through a pipe; with every descriptor in
# use (a test that exhausts them on purpose) that fails, and it reports valid objects (even
# static ones such as an error_category) as having an "invalid vptr", followed by
# "<memory cannot be printed>" or, when it cannot print that either, by nothing. Such a report
# says nothing about vwr.
_VPTR_WITHOUT_DESCRIPTORS_RE = re.compile(
    r"^.*runtime error: member (access within|call on) address \S+ which does not point to an "
    r"object of type '[^']+'\n(?:\S+: note: object has invalid vptr\n<memory cannot be printed>\n)?",
    re.MULTILINE)


def check_sanitizer_reports(text, out_of_descriptors=False):
    """Raises AssertionError when `text` (a vwr's stderr) holds a sanitizer report.

    out_of_descriptors: the process ran out of file descriptors on purpose; UBSan's false
    "invalid vptr" reports that causes are left out."""
    if out_of_descriptors:
        text = _VPTR_WITHOUT_DESCRIPTORS_RE.sub("", text + "\n")
    m = _SANITIZER_RE.search(text)
    if m:
        raise AssertionError("sanitizer report in vwr's output:\n%s" % text[m.start():][:8000])


def run_vwr(args, timeout=10.0, env=None, cwd=None):
    """Runs `vwr ARGS` to completion; returns the CompletedProcess (text mode)."""
    done = subprocess.run(
        [vwr_binary()] + list(args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
        env=clean_env(env),
        cwd=cwd,
    )
    check_sanitizer_reports(done.stderr)
    return done


def wait_until(predicate, timeout=5.0, interval=0.02, message=None):
    """Polls `predicate` until it returns a truthy value, which is returned.

    Raises AssertionError (so unittest reports a failure, not an error) when `timeout` passes.
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(
                "condition not met within %.1fs%s (last value: %r)"
                % (timeout, ": " + message if message else "", last)
            )
        time.sleep(interval)


def request(method, url, body=None, headers=None, timeout=HTTP_TIMEOUT):
    """One HTTP exchange on a fresh connection: returns (status, headers, body_bytes).

    `body` may be bytes, str, or any other value (sent as JSON). `headers` is a case-insensitive
    http.client.HTTPMessage: headers.get("Allow").
    """
    parts = urllib.parse.urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    hdrs = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        hdrs.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode("utf-8")
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(method, target, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, resp.msg, data
    finally:
        conn.close()


def json_request(method, url, body=None, headers=None, timeout=HTTP_TIMEOUT):
    """Like `request`, but decodes the body as JSON: (status, headers, value or None)."""
    status, hdrs, data = request(method, url, body=body, headers=headers, timeout=timeout)
    value = json.loads(data) if data.strip() else None
    return status, hdrs, value


def parse_metrics(text):
    """Prometheus text -> {"name{labels}": float}, and the bare name for unlabelled samples."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        samples[key] = float(value)
    return samples


class RawResponse:
    """A response read from a raw socket."""

    def __init__(self, version, status, reason, headers, body):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # lower-case name -> value
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "RawResponse(%s %d %s, %r, %r)" % (
            self.version, self.status, self.reason, self.headers, self.body[:200])


def read_raw_response(reader, head=False):
    """Reads one HTTP response (Content-Length framed) from a binary file object.

    head: the response answers a HEAD request, so it has no body whatever Content-Length says.
    Returns None when the peer closed the connection before a status line.
    """
    line = reader.readline()
    if not line:
        return None
    fields = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
        raise ValueError("not an HTTP status line: %r" % line[:200])
    version, status, reason = fields[0], fields[1], (fields[2] if len(fields) > 2 else "")
    headers = {}
    while True:
        h = reader.readline()
        if not h:
            raise ConnectionError("connection closed inside the response headers")
        h = h.decode("latin-1").rstrip("\r\n")
        if not h:
            break
        name, _, value = h.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = 0 if head else int(headers.get("content-length", "0"))
    body = reader.read(length) if length else b""
    if len(body) != length:
        raise ConnectionError("connection closed inside the response body")
    return RawResponse(version, int(status), reason, headers, body)


def address_of(url):
    """(host, port) of an http:// or https:// URL."""
    parts = urllib.parse.urlsplit(url)
    return parts.hostname, parts.port


def server_side_unread(sock):
    """Bytes the server has not yet read from its end of the TCP connection `sock` (a client
    socket to 127.0.0.1), from /proc/net/tcp; None when the server's end is not found."""
    client_port = sock.getsockname()[1]
    server_port = sock.getpeername()[1]
    try:
        with open("/proc/net/tcp", encoding="ascii") as f:
            next(f)
            for line in f:
                fields = line.split()
                local, remote, queues = fields[1], fields[2], fields[4]
                if (int(local.split(":")[1], 16) == server_port
                        and int(remote.split(":")[1], 16) == client_port):
                    return int(queues.split(":")[1], 16)
    except OSError:
        return None
    return None


def wait_server_read(sock, timeout=3.0):
    """Waits until the server has read everything sent on `sock` so far (Linux only; returns at
    once where /proc/net/tcp is missing)."""
    if not os.path.exists("/proc/net/tcp"):
        return
    wait_until(lambda: server_side_unread(sock) == 0, timeout,
               message="the server read what was sent")


def wait_closed(sock, timeout=3.0):
    """True when the peer closes `sock` (EOF or reset) within `timeout`, discarding any data."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        sock.settimeout(remaining)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        if not data:
            return True


def first_closed(socks, timeout=3.0):
    """The first of `socks` (plain TCP sockets; wait_closed also takes TLS ones) that the peer
    closes (EOF or reset) within `timeout`, discarding any data; None when none is in time."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        readable, _, _ = select.select(socks, [], [], remaining)
        for sock in readable:
            try:
                if not sock.recv(65536, socket.MSG_DONTWAIT):
                    return sock
            except BlockingIOError:
                pass
            except (ConnectionResetError, BrokenPipeError):
                return sock


def serve_args(directory, data_dir, config_text=None):
    """The command line of `vwr serve` on ephemeral loopback ports with `data_dir` and the
    configuration `config_text` (None: the built-in default) for the store under test; a
    configuration file, when one is needed, is written in `directory` as vwr.yaml."""
    return _serve_args(directory, data_dir, config_text)[0]


def _serve_args(directory, data_dir, config_text):
    """serve_args(), and whether the shared Redis was added to the configuration."""
    args = [vwr_binary(), "serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
            "--data-dir", data_dir]
    text = with_test_store(config_text, data_dir)
    shared = text != config_text
    if text is not None:
        path = os.path.join(directory, "vwr.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        args += ["--config", path]
    return args, shared


class VwrProcess:
    """A running `vwr serve` on ephemeral ports, with its own temporary data directory.

    config_yaml: the configuration file's text, or None for the built-in default config.
    extra_args:  more command-line arguments for `vwr serve`.
    env:         extra environment variables (VWR_ADMIN_TOKEN is never inherited).
    data_dir:    an existing directory to use as --data-dir (kept); default: a fresh temp dir.
    out_of_descriptors: the test exhausts vwr's file descriptors on purpose (see
                 check_sanitizer_reports).

    On Redis (VWR_TEST_STORE=redis) the configuration gets the shared Redis (with_test_store),
    and the server counts as started once /readyz answers 200: it has read its rooms' state.
    """

    def __init__(self, config_yaml=None, extra_args=(), env=None, data_dir=None,
                 start_timeout=START_TIMEOUT, out_of_descriptors=False):
        self.out_of_descriptors = out_of_descriptors
        self._tmp = tempfile.mkdtemp(prefix="vwr-it-")
        self.data_dir = data_dir or os.path.join(self._tmp, "data")
        self.config_path = None
        self.env = clean_env(env)
        args, self.shared_redis = _serve_args(self._tmp, self.data_dir, config_yaml)
        self.args = args + list(extra_args)
        if "--config" in self.args:
            self.config_path = self.args[self.args.index("--config") + 1]

        self._stopping = False  # a SIGTERM or SIGINT has been sent
        self.public = None
        self.admin = None
        self.admin_token = None
        self.returncode = None
        self._lines = []
        self._cond = threading.Condition()
        self._eof = False
        self.proc = subprocess.Popen(
            self.args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=self.env,
        )
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        try:
            self._await_start(start_timeout)
        except BaseException:
            self.close()
            raise

    # ----- process and log -----

    def _read_stderr(self):
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._cond:
                self._lines.append(line)
                m = _LISTENER_RE.search(line)
                if m:
                    setattr(self, m.group(1), m.group(2).rstrip("/"))
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def _await_start(self, timeout):
        def started():
            return self.public and self.admin and any("vwr started" in l for l in self._lines)

        with self._cond:
            ok = self._cond.wait_for(lambda: started() or self._eof, timeout)
            if not ok or not started():
                raise RuntimeError(
                    "vwr did not start within %.0fs (exit code %r); log:\n%s"
                    % (timeout, self.proc.poll(), "\n".join(self._lines)))
        token = self.env.get("VWR_ADMIN_TOKEN")
        if not token:
            path = os.path.join(self.data_dir, "admin.token")
            if os.path.exists(path):
                with open(path, encoding="utf-8") as f:
                    token = f.readline().strip()
        self.admin_token = token
        if self.shared_redis:
            # On Redis a node serves a room once it has read the room's shared state: the
            # embedded store is ready when it logs "vwr started", a Redis node a moment later.
            wait_until(lambda: self._ready() or not self.running(), timeout,
                       message="vwr ready (/readyz)")
            if not self.running():
                raise RuntimeError("vwr exited before it was ready; log:\n%s" % self.log)

    def _ready(self):
        try:
            return request("GET", self.admin + "/readyz", timeout=1.0)[0] == 200
        except OSError:
            return False

    def write_config(self, text):
        """Replaces the configuration file (for a reload), adding the store under test as at
        start."""
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(with_test_store(text, self.data_dir))

    @property
    def log_lines(self):
        """A copy of the stderr lines read so far."""
        with self._cond:
            return list(self._lines)

    @property
    def log(self):
        return "\n".join(self.log_lines)

    def wait_for_log(self, pattern, timeout=5.0):
        """Waits until a log line matches the regular expression `pattern`; returns the line."""
        rx = re.compile(pattern)

        def find():
            for line in self._lines:
                if rx.search(line):
                    return line
            return None

        with self._cond:
            ok = self._cond.wait_for(lambda: find() is not None or self._eof, timeout)
            line = find()
        if not ok or line is None:
            raise AssertionError("no log line matching %r within %.1fs; log:\n%s"
                                 % (pattern, timeout, self.log))
        return line

    def running(self):
        return self.proc.poll() is None

    def send_signal(self, sig):
        if sig in (signal.SIGTERM, signal.SIGINT):
            self._stopping = True
        self.proc.send_signal(sig)

    def handles_signal(self, sig):
        """True when the process has installed a handler for `sig` (Linux: /proc SigCgt)."""
        try:
            with open("/proc/%d/status" % self.proc.pid, encoding="ascii") as f:
                for line in f:
                    if line.startswith("SigCgt:"):
                        return bool(int(line.split()[1], 16) >> (int(sig) - 1) & 1)
        except OSError:
            pass
        return False

    def wait_handles_signal(self, sig=signal.SIGTERM, timeout=5.0):
        """Waits until the process catches `sig` (its graceful-shutdown handler is in place).

        A signal sent before vwr has installed its handlers (while it reads its configuration)
        kills it outright; once they are in place, one sent before the node runs waits for it.
        Tests that are not about that race wait for this.
        """
        if not os.path.exists("/proc/%d/status" % self.proc.pid):
            return
        wait_until(lambda: self.handles_signal(sig) or not self.running(), timeout,
                   message="vwr handles signal %d" % sig)

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT, wait_handler=True):
        """Sends `sig` and waits for the exit; returns the exit code (kills on timeout).

        wait_handler: first wait until the process has installed its handler for `sig`.
        When the test has already sent SIGTERM or SIGINT (send_signal), this only waits for the
        exit: a second signal could arrive after vwr has let go of its handlers on the way out,
        and kill it.
        """
        if self.proc.poll() is None:
            stop_signal = sig in (signal.SIGTERM, signal.SIGINT)
            if not (stop_signal and self._stopping):
                if wait_handler and stop_signal:
                    self.wait_handles_signal(sig)
                self.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError("vwr did not exit within %.0fs of signal %d; log:\n%s"
                                     % (timeout, sig, self.log))
        self.returncode = self.proc.returncode
        self._reader.join(2)
        return self.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self.returncode = self.proc.returncode
        self._reader.join(2)

    def close(self):
        """Kills the process (if still running) and removes the temporary directory; fails
        when the process printed a sanitizer report."""
        try:
            self.kill()
        finally:
            if self.proc.stderr:
                self.proc.stderr.close()
            shutil.rmtree(self._tmp, ignore_errors=True)
        check_sanitizer_reports(self.log, self.out_of_descriptors)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # ----- HTTP -----

    def url(self, path, admin=False):
        return (self.admin if admin else self.public) + path

    def request(self, method, url, body=None, headers=None, timeout=HTTP_TIMEOUT):
        """`url` is a full URL or a path on the public listener."""
        if url.startswith("/"):
            url = self.public + url
        return request(method, url, body=body, headers=headers, timeout=timeout)

    def json_request(self, method, url, body=None, headers=None, timeout=HTTP_TIMEOUT):
        if url.startswith("/"):
            url = self.public + url
        return json_request(method, url, body=body, headers=headers, timeout=timeout)

    def admin_request(self, method, path, body=None, token=True, headers=None):
        """A JSON request to the admin listener, with the admin token unless token=False
        (or another token string)."""
        hdrs = dict(headers or {})
        if token is True:
            token = self.admin_token
        if token:
            hdrs["Authorization"] = "Bearer " + token
        return json_request(method, self.admin + path, body=body, headers=hdrs)

    def connect(self, admin=False, timeout=HTTP_TIMEOUT):
        """A raw TCP socket connected to the public (or admin) listener."""
        sock = socket.create_connection(address_of(self.admin if admin else self.public), timeout)
        sock.settimeout(timeout)
        return sock

    # ----- the public API -----

    def join(self, room, user_id=None, body=None):
        """POST /api/v1/rooms/{room}/join; returns (status_code, json)."""
        if body is None:
            body = {} if user_id is None else {"userId": user_id}
        code, _, value = self.json_request("POST", "/api/v1/rooms/%s/join" % room, body=body)
        return code, value

    def status(self, room, ticket, via="query"):
        """GET /api/v1/rooms/{room}/status with the ticket in the query (or via="header")."""
        path = "/api/v1/rooms/%s/status" % room
        headers = {}
        if via == "header":
            headers["X-VWR-Ticket"] = ticket
        else:
            path += "?ticket=" + urllib.parse.quote(ticket, safe="")
        code, _, value = self.json_request("GET", path, headers=headers)
        return code, value

    def heartbeat(self, room, token):
        headers = {"Authorization": "Bearer " + token} if token is not None else {}
        return self.json_request("POST", "/api/v1/rooms/%s/heartbeat" % room, headers=headers)

    def leave(self, room, token):
        headers = {"Authorization": "Bearer " + token} if token is not None else {}
        return self.json_request("POST", "/api/v1/rooms/%s/leave" % room, headers=headers)

    def room_info(self, room):
        code, _, value = self.json_request("GET", "/api/v1/rooms/%s" % room)
        return code, value

    def policy(self, room):
        return self.admin_request("GET", "/admin/api/v1/rooms/%s/policy" % room)

    def set_policy(self, room, changes):
        return self.admin_request("PUT", "/admin/api/v1/rooms/%s/policy" % room, body=changes)

    def rooms_admin(self):
        """The admin room list as {room_id: entry}."""
        code, _, value = self.admin_request("GET", "/admin/api/v1/rooms")
        if code != 200:
            raise AssertionError("admin room list answered %d: %r" % (code, value))
        return {r["policy"]["room"]: r for r in value["rooms"]}

    def metrics(self):
        status, _, data = request("GET", self.admin + "/metrics")
        if status != 200:
            raise AssertionError("/metrics answered %d" % status)
        return parse_metrics(data.decode("utf-8"))

    def wait_admitted(self, room, ticket, timeout=5.0):
        """Polls the ticket until it is admitted; returns the admitted answer."""
        def poll():
            code, value = self.status(room, ticket)
            if code != 200:
                raise AssertionError("status answered %d: %r" % (code, value))
            if value["status"] not in ("waiting", "admitted"):
                raise AssertionError("ticket became %r while waiting to be admitted" % value)
            return value if value["status"] == "admitted" else None

        return wait_until(poll, timeout, message="ticket admitted in room " + room)


def room_yaml(room_id, **policy):
    """One `rooms:` entry in YAML. Nested poll bounds: poll_min / poll_max."""
    lines = ["  - id: %s" % room_id]
    poll = {}
    for key, value in policy.items():
        if key in ("poll_min", "poll_max"):
            poll[key[5:]] = value
        else:
            lines.append("    %s: %s" % (key, value))
    if poll:
        lines.append("    poll:")
        for key, value in poll.items():
            lines.append("      %s: %s" % (key, value))
    return "\n".join(lines) + "\n"


def config_yaml(*rooms, extra=""):
    """A whole configuration file: `extra` top-level text, then the given room entries."""
    text = extra
    if rooms:
        text += "rooms:\n" + "".join(rooms)
    return text


class LineChecks:
    """Assertions on a line in one room, for a unittest.TestCase whose class has `vwr` (a
    VwrProcess): joins, polls and queueSize that must answer 200, and a line filled in order."""

    def join(self, room_id, headers=None):
        code, _, body = self.vwr.json_request("POST", "/api/v1/rooms/%s/join" % room_id, body={},
                                              headers=headers)
        self.assertEqual(code, 200, body)
        return body

    def status(self, room_id, ticket):
        code, body = self.vwr.status(room_id, ticket, via="header")
        self.assertEqual(code, 200, body)
        return body

    def queue_size(self, room_id):
        code, info = self.vwr.room_info(room_id)
        self.assertEqual(code, 200, info)
        return info["queueSize"]

    def fill(self, room_id, waiting):
        """One admitted session and `waiting` people in line, in order."""
        holder = self.join(room_id)
        self.assertEqual(holder["status"], "admitted", holder)
        line = [self.join(room_id) for _ in range(waiting)]
        for i, t in enumerate(line):
            self.assertEqual((t["status"], t["position"]), ("waiting", i + 1), t)
        return holder, line
