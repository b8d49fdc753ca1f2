"""The files vwr keeps in data_dir (and tokens.key_dir, secrets.ticket_key_file): every one it
makes has an exact mode whatever the umask it was started with.
"""

import os
import shutil
import stat
import tempfile
import unittest

from vwr_harness import VwrProcess, config_yaml, on_redis, room_yaml, run_vwr

# A room with abuse protection: its admin lists are kept in data_dir/guard-lists.json.
CONFIG = config_yaml(room_yaml("shop", poll_min="100ms", poll_max="1s")
                     + "    protection:\n      mode: enforce\n")


def with_umask(mask, make):
    """Calls `make()` with the process umask set to `mask` (a child started inside inherits it)."""
    old = os.umask(mask)
    try:
        return make()
    finally:
        os.umask(old)


def tree(top):
    """{path relative to `top`: (is_directory, mode)} of `top` and everything under it."""
    found = {".": (True, stat.S_IMODE(os.lstat(top).st_mode))}
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            path = os.path.join(root, name)
            st = os.lstat(path)
            found[os.path.relpath(path, top)] = (stat.S_ISDIR(st.st_mode), stat.S_IMODE(st.st_mode))
    return found


class CreatedFilesTest(unittest.TestCase):
    """Started with umask 000, vwr still makes every directory 0700 and every file 0600."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vwr-files-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_everything_vwr_makes_is_private_under_umask_000(self):
        top = os.path.join(self.tmp, "srv")  # made by vwr, with data_dir below it
        data = os.path.join(top, "data")
        vwr = with_umask(0, lambda: VwrProcess(CONFIG, data_dir=data))
        self.addCleanup(vwr.close)
        # A join (journal), an admin list entry (guard-lists.json), then a graceful stop (a
        # snapshot), and a key rotation by the command line (a new key file and manifest).
        self.assertEqual(vwr.join("shop")[0], 200)
        code, _, body = vwr.admin_request("POST", "/admin/api/v1/rooms/shop/lists/deny",
                                          body={"identity": "kept-out"})
        self.assertEqual(code, 200, body)
        self.assertEqual(vwr.stop(), 0)
        rotated = with_umask(0, lambda: run_vwr(["keys", "rotate", "--data-dir", data]))
        self.assertEqual(rotated.returncode, 0, rotated.stderr)

        found = tree(top)
        expected = {".", "data", "data/admin.token", "data/ticket.key", "data/keys",
                    "data/keys/manifest.json", "data/keys/.lock"}
        if not on_redis():
            expected |= {"data/guard-lists.json", "data/state", "data/state/state.id",
                         "data/state/journal"}
            names = [os.path.basename(p) for p in found]
            self.assertTrue(any(n.endswith(".log") for n in names), found)
            self.assertTrue(any(n.startswith("snapshot-") for n in names), found)
        self.assertLessEqual(expected, set(found), found)
        self.assertEqual(len([p for p in found if p.startswith("data/keys/key-")]), 1, found)
        wrong = {p: "%04o" % mode for p, (is_dir, mode) in found.items()
                 if mode != (0o700 if is_dir else 0o600)}
        self.assertEqual(wrong, {}, "every directory 0700 and every file 0600")


if __name__ == "__main__":
    unittest.main()
