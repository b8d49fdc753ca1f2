"""Runs one browser test: starts `vwr serve` (with the rooms below, on free ports, through the
integration tests' harness), then `node <test>.mjs <public URL> <admin URL> <admin token>`, which
drives Debian's Chromium with playwright-core. Fails when the node script fails.

    python3 tests/browser/run.py waiting_page

A test that needs rooms of its own keeps them in <test>.yaml next to it, used instead of the
rooms below. Screenshots go to $VWR_ARTIFACTS_DIR, else to artifacts/browser next to the vwr binary
(build/artifacts/browser). The node modules come from scripts/install-browser-deps.
"""

import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from vwr_harness import VwrProcess, vwr_binary  # noqa: E402

# "line": one slot and a slow rate, so that the tests control who waits; it is the demo's room
# (the first). "open": plenty of space, admitted at once. "grace": one slot and a 1 s claim_grace,
# for a turn that passes unclaimed. "pass": one slot and an entry pass of a minute. "pow": plenty
# of space, but every join needs a proof of work.
CONFIG = """\
demo: true
rooms:
  - id: line
    name: "Concert tickets"
    max_active: 1
    admit_rate: 2
    burst: 1
    claim_grace: 10s
    # The API users the tests hold ahead of the browser never poll: abandonment would pass them.
    abandon_after_polls: 0
    poll:
      min: 100ms
      max: 1s
    page:
      message: "Sales reopen at 14:00 (KST). 오후 2시에 판매를 다시 시작합니다."
  - id: open
    max_active: 1000
    admit_rate: 1000
    burst: 1000
  - id: grace
    max_active: 1
    admit_rate: 50
    burst: 1
    claim_grace: 1s
    poll:
      min: 100ms
      max: 500ms
  - id: pass
    max_active: 1
    admit_rate: 50
    burst: 1
    entry_pass: 1m
    poll:
      min: 100ms
      max: 500ms
  - id: pow
    max_active: 1000
    admit_rate: 1000
    burst: 1000
    pow_difficulty: 14
"""

NODE_TIMEOUT = 90  # seconds; each test keeps its own, shorter deadline


def main(test):
    script = os.path.join(HERE, test + ".mjs")
    if not os.path.exists(script):
        sys.exit("no such browser test: %s" % script)
    for module in ("playwright-core", "axe-core"):
        if not os.path.isdir(os.path.join(HERE, "node_modules", module)):
            sys.exit("tests/browser/node_modules/%s is missing: run scripts/install-browser-deps"
                     % module)
    node = shutil.which("node")
    if node is None:
        sys.exit("node is not installed: run scripts/install-browser-deps")
    artifacts = os.environ.get("VWR_ARTIFACTS_DIR") or os.path.join(
        os.path.dirname(vwr_binary()), "artifacts", "browser")
    os.makedirs(artifacts, exist_ok=True)
    own_config = os.path.join(HERE, test + ".yaml")
    config = CONFIG
    if os.path.exists(own_config):
        with open(own_config, encoding="utf-8") as f:
            config = f.read()
    with VwrProcess(config) as vwr:
        env = dict(os.environ, VWR_ARTIFACTS_DIR=artifacts)
        done = subprocess.run([node, script, vwr.public, vwr.admin, vwr.admin_token or ""],
                              cwd=HERE, env=env, timeout=NODE_TIMEOUT)
        if done.returncode != 0:
            print("---- vwr log ----\n" + vwr.log, file=sys.stderr)
            sys.exit("browser test %s failed (exit %d)" % (test, done.returncode))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: run.py <test>")
    main(sys.argv[1])
