"""End to end: a visitor who only browses a site behind nginx stays inside.

Behind nginx a visitor sends no heartbeats: every page is an `auth_request` to /api/v1/verify.
This starts the real `vwr serve` (room "line": session_timeout 3 s, so tokens of 3 s too), the
small origin and real nginx with deploy/nginx/vwr.conf (tests/e2e/nginx_flow.py's helpers), then
runs `node nginx_activity.mjs <site URL> <admin URL> <admin token>`: Chromium is admitted, then
opens a protected page every half second for 12 s, longer than both the session timeout and the
token lifetime, without the SDK, and must never be sent back to the waiting page.

    python3 tests/e2e/nginx_activity.py
"""

import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from nginx_flow import BROWSER_DIR, NODE_TIMEOUT, Nginx, Origin  # noqa: E402
from vwr_harness import VwrProcess, vwr_binary  # noqa: E402

CONFIG = """\
rooms:
  - id: line
    name: "Concert tickets"
    max_active: 5
    admit_rate: 50
    burst: 5
    claim_grace: 30s
    session_timeout: 3s
    match:
      - host: "127.0.0.1"
        path_prefix: "/"
    poll:
      min: 100ms
      max: 500ms
"""


def main():
    script = os.path.join(HERE, "nginx_activity.mjs")
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
                    sys.exit("end-to-end test nginx_activity failed (exit %d)" % done.returncode)
            finally:
                nginx.close()
    finally:
        origin.close()


if __name__ == "__main__":
    main()
