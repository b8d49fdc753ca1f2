"""End to end: nginx in front of a protected site, with VWR deciding who may enter.

Starts, all on loopback ports chosen free:
  - the real `vwr serve` (tests/integration/vwr_harness.py), room "line" with one slot;
  - a small origin (Python's http.server) serving the "protected page", which echoes what nginx
    handed it (the room, the subject, whether the admission cookie came along);
  - real nginx (Debian nginx-light) as the test user, with deploy/nginx/vwr.conf, its upstream
    addresses and listen port substituted, and its logs in a temporary directory;
then runs `node nginx_flow.mjs <site URL> <admin URL> <admin token>`, which drives Debian's
Chromium with playwright-core (tests/browser/lib.mjs) through nginx.

    python3 tests/e2e/nginx_flow.py

Screenshots go to $VWR_ARTIFACTS_DIR, else to artifacts/browser next to the vwr binary.
"""

import http.server
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
BROWSER_DIR = os.path.join(ROOT, "tests", "browser")
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from vwr_harness import VwrProcess, request, vwr_binary, wait_until  # noqa: E402

NGINX_CONF = os.path.join(ROOT, "deploy", "nginx", "vwr.conf")
NODE_TIMEOUT = 100  # seconds; the test keeps its own, shorter deadline

# "line": one slot, so that the test decides who waits; a quick admit rate and poll, so that
# the browser sees each change within a second; a long claim_grace, so that a user the test
# claims through the API is never a no-show. Its match host is the site's: verify picks the room
# from X-Original-Host, and the site's URLs are accepted as the waiting page's return address.
# The user the test places ahead of the browsers is a script that never polls: abandonment is
# off, so that it keeps its place for the whole test.
CONFIG = """\
rooms:
  - id: line
    name: "Concert tickets"
    max_active: 1
    admit_rate: 50
    burst: 1
    claim_grace: 30s
    session_timeout: 120s
    abandon_after_polls: 0
    match:
      - host: "127.0.0.1"
        path_prefix: "/"
    poll:
      min: 100ms
      max: 500ms
"""

PROTECTED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Protected page</title></head>
<body><h1 id="protected">Protected page</h1>
<p>Path: <span id="path">{path}</span></p>
<p>Room: <span id="room">{room}</span></p>
<p>Subject: <span id="subject">{subject}</span></p>
<p>Admission cookie sent: <span id="cookie">{cookie}</span></p>
</body></html>
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Origin:
    """The protected site: every GET is the protected page, echoing what nginx handed on."""

    def __init__(self):
        self.requests = []  # paths served
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 (http.server's naming)
                origin.requests.append(self.path)
                cookie = "yes" if re.search(r"(^|;\s*)vwr_line=", self.headers.get("Cookie", "")) \
                    else "no"
                body = PROTECTED_PAGE.format(
                    path=self.path.replace("<", "&lt;"),
                    room=self.headers.get("X-VWR-Room", ""),
                    subject=self.headers.get("X-VWR-Subject", ""),
                    cookie=cookie).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def site_config(vwr_port, origin_port, listen_port):
    """deploy/nginx/vwr.conf with this run's addresses; fails when the file no longer has the
    lines this substitutes (so the shipped file is what is tested)."""
    with open(NGINX_CONF, encoding="utf-8") as f:
        text = f.read()
    replacements = [
        (r"(upstream vwr \{\s*\n\s*)server 127\.0\.0\.1:8080;", r"\g<1>server 127.0.0.1:%d;" % vwr_port),
        (r"(upstream protected_site \{\s*\n\s*)server 127\.0\.0\.1:9000;",
         r"\g<1>server 127.0.0.1:%d;" % origin_port),
        (r"\blisten 80;", "listen 127.0.0.1:%d;" % listen_port),
        (r"\bserver_name shop\.example\.com;", "server_name 127.0.0.1;"),
    ]
    for pattern, replacement in replacements:
        text, n = re.subn(pattern, replacement, text)
        if n != 1:
            raise RuntimeError("%s: expected one match of %r" % (NGINX_CONF, pattern))
    return text


class Nginx:
    """nginx as the current user, with everything (config, logs, temp files) in a temp dir."""

    def __init__(self, vwr_port, origin_port):
        self.dir = tempfile.mkdtemp(prefix="vwr-nginx-")
        self.port = free_port()
        with open(os.path.join(self.dir, "vwr.conf"), "w", encoding="utf-8") as f:
            f.write(site_config(vwr_port, origin_port, self.port))
        user = "user root;\n" if os.geteuid() == 0 else ""
        main = ("%sworker_processes 1;\nerror_log %s/error.log info;\n"
                "events { worker_connections 256; }\n"
                "http {\n  access_log %s/access.log;\n"
                "  client_body_temp_path %s/body;\n  proxy_temp_path %s/proxy;\n"
                "  fastcgi_temp_path %s/fastcgi;\n  uwsgi_temp_path %s/uwsgi;\n"
                "  scgi_temp_path %s/scgi;\n  include %s/vwr.conf;\n}\n"
                % ((user,) + (self.dir,) * 8))
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(main)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        base = [nginx, "-p", self.dir, "-e", os.path.join(self.dir, "error.log"), "-c", self.conf]
        check = subprocess.run(base + ["-t", "-g", "pid %s/nginx.pid;" % self.dir],
                               capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError("nginx -t refused the configuration:\n%s" % check.stderr)
        self.proc = subprocess.Popen(
            base + ["-g", "daemon off; pid %s/nginx.pid;" % self.dir],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.url = "http://127.0.0.1:%d" % self.port

        def answers():
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited with %r:\n%s"
                                   % (self.proc.returncode, self.proc.stderr.read().decode()))
            try:
                return request("GET", self.url + "/.well-known/jwks.json", timeout=1)[0] == 200
            except OSError:
                return False

        wait_until(answers, 10, message="nginx serving the JWKS from vwr")

    def log(self, name):
        try:
            with open(os.path.join(self.dir, name), encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


def main():
    script = os.path.join(HERE, "nginx_flow.mjs")
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")):
        sys.exit("tests/browser/node_modules is missing: run scripts/install-browser-deps")
    node = shutil.which("node")
    if node is None:
        sys.exit("node is not installed: run scripts/install-browser-deps")
    if shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"):
        sys.exit("nginx is not installed: run scripts/install-deps (nginx-light)")
    artifacts = os.environ.get("VWR_ARTIFACTS_DIR") or os.path.join(
        os.path.dirname(vwr_binary()), "artifacts", "browser")
    os.makedirs(artifacts, exist_ok=True)

    origin = Origin()
    try:
        with VwrProcess(CONFIG) as vwr:
            vwr_port = int(vwr.public.rsplit(":", 1)[1])
            nginx = Nginx(vwr_port, origin.port)
            try:
                env = dict(os.environ, VWR_ARTIFACTS_DIR=artifacts)
                done = subprocess.run([node, script, nginx.url, vwr.admin, vwr.admin_token or ""],
                                      cwd=BROWSER_DIR, env=env, timeout=NODE_TIMEOUT)
                if done.returncode != 0:
                    print("---- vwr log ----\n" + vwr.log, file=sys.stderr)
                    print("---- nginx access log ----\n" + nginx.log("access.log"), file=sys.stderr)
                    print("---- nginx error log ----\n" + nginx.log("error.log")[-8000:],
                          file=sys.stderr)
                    print("---- origin served ----\n%r" % origin.requests, file=sys.stderr)
                    sys.exit("end-to-end test nginx_flow failed (exit %d)" % done.returncode)
            finally:
                nginx.close()
    finally:
        origin.close()


if __name__ == "__main__":
    main()
