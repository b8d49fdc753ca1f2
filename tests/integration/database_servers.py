"""Real PostgreSQL, MariaDB and Prometheus servers for the integration tests of the signals:
each started from its Debian package on a free loopback port, with its data in a temporary
directory of its own, and killed at the end. Run as the current user, or, when that is root
(PostgreSQL refuses to run as root), as the package's own system user. Nothing here mocks a
server; a test skips with a clear message only when the package is not installed."""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from vwr_harness import wait_until


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as(system_user):
    """(uid, gid) to run a server as: None when not root; else the package's user."""
    if os.geteuid() != 0:
        return None
    pw = pwd.getpwnam(system_user)
    return pw.pw_uid, pw.pw_gid


class _Server:
    def __init__(self, name, system_user=None):
        self.dir = tempfile.mkdtemp(prefix="vwr-%s-" % name)
        os.chmod(self.dir, 0o755)
        self.ids = _run_as(system_user) if system_user else None
        if self.ids:
            os.chown(self.dir, *self.ids)
        self.proc = None
        self.port = None
        self.log_path = os.path.join(self.dir, "server.log")

    def _spawn(self, args, log=None):
        kwargs = {}
        if self.ids:
            kwargs = {"user": self.ids[0], "group": self.ids[1], "extra_groups": []}
        with open(log or self.log_path, "ab") as out:
            return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True, **kwargs)

    def _run(self, args, log):
        proc = self._spawn(args, log)
        return proc.wait(timeout=120)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def close(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def postgres_binaries():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return os.path.dirname(found[-1]) if found else None


class PostgresServer(_Server):
    """postgres on 127.0.0.1:port with `max_connections`; the user vwr with `password`
    (scram-sha-256 over TCP, trust on the socket in the server's directory)."""

    def __init__(self, password, max_connections=20):
        super().__init__("pg", "postgres")
        self.bin = postgres_binaries()
        self.password = password
        pwfile = os.path.join(self.dir, "pw")
        with open(pwfile, "w") as f:
            f.write(password + "\n")
        if self.ids:
            os.chown(pwfile, *self.ids)
        code = self._run([self.bin + "/initdb", "-D", self.dir + "/data", "-U", "vwr",
                          "--auth-host=scram-sha-256", "--auth-local=trust",
                          "--pwfile=" + pwfile, "--no-sync", "-E", "UTF8"], self.log_path)
        if code != 0:
            raise RuntimeError("initdb failed:\n" + self.log())
        self.port = free_port()
        self.proc = self._spawn([self.bin + "/postgres", "-D", self.dir + "/data",
                                 "-p", str(self.port), "-k", self.dir,
                                 "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                                 "-c", "max_connections=%d" % max_connections,
                                 "-c", "superuser_reserved_connections=1",
                                 # A client that is killed mid-query frees its connection at
                                 # once, as the load's end should.
                                 "-c", "client_connection_check_interval=100ms",
                                 "-c", "shared_buffers=16MB"])
        wait_until(lambda: self.proc.poll() is not None or self.sql("SELECT 1") == "1",
                   timeout=30, message="postgres did not start:\n" + self.log())
        if self.proc.poll() is not None:
            raise RuntimeError("postgres exited:\n" + self.log())

    def conninfo(self):
        return "host=127.0.0.1 port=%d dbname=postgres user=vwr" % self.port

    def psql_args(self, sql):
        return ["psql", "-h", self.dir, "-p", str(self.port), "-U", "vwr", "-d", "postgres",
                "-X", "-q", "-A", "-t", "-c", sql]

    def sql(self, sql):
        done = subprocess.run(self.psql_args(sql), capture_output=True, text=True, timeout=10)
        return done.stdout.strip() if done.returncode == 0 else None

    def hold_connections(self, count, seconds=60):
        """`count` clients, each holding one connection (in a pg_sleep) until killed."""
        return [subprocess.Popen(self.psql_args("SELECT pg_sleep(%d)" % seconds),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 start_new_session=True)
                for _ in range(count)]


class MariadbServer(_Server):
    """mariadbd on 127.0.0.1:port with `max_connections`; the user vwr with `password` and
    the PROCESS privilege (all a monitor needs)."""

    def __init__(self, password, max_connections=30):
        super().__init__("mariadb", "mysql")
        user = "mysql" if self.ids else pwd.getpwuid(os.geteuid()).pw_name
        self.socket = os.path.join(self.dir, "mariadb.sock")
        code = self._run(["mariadb-install-db", "--no-defaults", "--datadir=" + self.dir + "/data",
                          "--user=" + user, "--auth-root-authentication-method=normal",
                          "--skip-test-db", "--skip-name-resolve"],
                         os.path.join(self.dir, "install.log"))
        if code != 0:
            raise RuntimeError("mariadb-install-db failed")
        self.port = free_port()
        self.proc = self._spawn(["/usr/sbin/mariadbd", "--no-defaults",
                                 "--datadir=" + self.dir + "/data", "--port=%d" % self.port,
                                 "--bind-address=127.0.0.1", "--socket=" + self.socket,
                                 "--pid-file=" + self.dir + "/mariadb.pid", "--user=" + user,
                                 "--skip-name-resolve", "--innodb-buffer-pool-size=16M",
                                 "--max-connections=%d" % max_connections, "--skip-log-bin"])
        wait_until(lambda: self.proc.poll() is not None or self.sql("SELECT 1") == "1",
                   timeout=60, message="mariadbd did not start:\n" + self.log())
        if self.proc.poll() is not None:
            raise RuntimeError("mariadbd exited:\n" + self.log())
        for statement in ("CREATE USER 'vwr'@'127.0.0.1' IDENTIFIED BY '%s'" % password,
                          "GRANT PROCESS ON *.* TO 'vwr'@'127.0.0.1'"):
            if self.sql(statement) is None:
                raise RuntimeError("cannot set up the monitoring user")

    def client_args(self, sql):
        return ["mariadb", "--no-defaults", "-uroot", "--socket=" + self.socket, "-N", "-B",
                "-e", sql]

    def sql(self, sql):
        done = subprocess.run(self.client_args(sql), capture_output=True, text=True, timeout=10)
        return done.stdout.strip() if done.returncode == 0 else None

    def hold_connections(self, count, seconds=60):
        return [subprocess.Popen(self.client_args("SELECT SLEEP(%d)" % seconds),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 start_new_session=True)
                for _ in range(count)]


class PrometheusServer(_Server):
    """prometheus on 127.0.0.1:port scraping itself every second."""

    def __init__(self):
        super().__init__("prometheus")
        self.port = free_port()
        with open(os.path.join(self.dir, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: self\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % self.port)
        self.proc = self._spawn(["prometheus", "--config.file=" + self.dir + "/prometheus.yml",
                                 "--storage.tsdb.path=" + self.dir + "/data",
                                 "--web.listen-address=127.0.0.1:%d" % self.port])
        wait_until(lambda: self.proc.poll() is not None or
                   "Server is ready to receive web requests" in self.log(),
                   timeout=30, message="prometheus did not start:\n" + self.log())
        if self.proc.poll() is not None:
            raise RuntimeError("prometheus exited:\n" + self.log())


def stop_clients(clients):
    for c in clients:
        if c.poll() is None:
            try:
                os.killpg(c.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for c in clients:
        c.wait(timeout=10)
