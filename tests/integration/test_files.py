"""The files vwr keeps in data_dir (and tokens.key_dir, secrets.ticket_key_file): every one it
makes has an exact mode whatever the umask it was started with, and it refuses, at start, a
secret or a state file that someone else could have written (or, a secret, could read), or one
in a directory someone else could write, naming the file and the command that fixes it.
"""

import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import unittest

from vwr_harness import (START_TIMEOUT, VwrProcess, config_yaml, embedded_only, on_redis,
                         room_yaml, run_vwr, serve_args)

# A room with abuse protection: its admin lists are kept in data_dir/guard-lists.json.
CONFIG = config_yaml(room_yaml("shop", poll_min="100ms", poll_max="1s")
                     + "    protection:\n      mode: enforce\n")
TOKEN = "planted-admin-token-0123456789abcdef"
KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"


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


def write(path, text, mode):
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)


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


class RefusedFilesTest(unittest.TestCase):
    """A planted or exposed secret, state file or directory stops vwr at start."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vwr-files-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.data = os.path.join(self.tmp, "data")

    def start(self, config=None):
        """Runs `vwr serve` on self.data; returns its stderr. Fails the test when it starts."""
        args = serve_args(self.tmp, self.data, config)[1:]
        try:
            done = run_vwr(args, timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail("vwr started (and served) on the planted files")
        self.assertEqual(done.returncode, 1, done.stderr)
        return done.stderr

    def assert_refused(self, path, fix, config=None):
        """vwr refuses to start; its error names `path` and the command `fix` that mends it."""
        err = self.start(config)
        self.assertIn(path, err)
        self.assertIn(fix, err)
        return err

    def make_state(self):
        """A data_dir made by a first, ordinary run (with a journal, snapshot and lists)."""
        with VwrProcess(CONFIG, data_dir=self.data) as vwr:
            self.assertEqual(vwr.join("shop")[0], 200)
            code, _, body = vwr.admin_request("POST", "/admin/api/v1/rooms/shop/lists/deny",
                                              body={"identity": "kept-out"})
            self.assertEqual(code, 200, body)
            self.assertEqual(vwr.stop(), 0)

    # ----- secrets -----

    def test_a_world_writable_admin_token_is_refused(self):
        path = os.path.join(self.data, "admin.token")
        write(path, TOKEN + "\n", 0o666)
        err = self.assert_refused(path, "chmod 600 " + path)
        self.assertIn("0666", err)
        self.assertNotIn(TOKEN, err, "the token is never printed")

    def test_an_admin_token_its_group_can_read_is_refused(self):
        path = os.path.join(self.data, "admin.token")
        write(path, TOKEN + "\n", 0o640)
        err = self.assert_refused(path, "chmod 600 " + path)
        self.assertIn("read", err)

    def test_a_world_writable_ticket_key_is_refused(self):
        path = os.path.join(self.data, "ticket.key")
        write(path, KEY, 0o666)
        self.assert_refused(path, "chmod 600 " + path)

    def test_a_ticket_key_file_elsewhere_is_checked_too(self):
        path = os.path.join(self.tmp, "secrets", "ticket.key")
        write(path, KEY, 0o604)
        self.assert_refused(path, "chmod 600 " + path,
                            config="secrets:\n  ticket_key_file: %s\n" % path)

    def test_a_world_writable_data_dir_is_refused(self):
        write(os.path.join(self.data, "admin.token"), TOKEN + "\n", 0o600)
        os.chmod(self.data, 0o777)
        self.assert_refused(self.data, "chmod 700 " + self.data)

    def test_a_world_writable_key_directory_is_refused(self):
        keys = os.path.join(self.data, "keys")
        os.makedirs(keys)
        os.chmod(keys, 0o777)
        self.assert_refused(keys, "chmod 700 " + keys)
        # `vwr keys` refuses it too.
        listed = run_vwr(["keys", "rotate", "--data-dir", self.data])
        self.assertEqual(listed.returncode, 1, listed.stdout)
        self.assertIn("chmod 700 " + keys, listed.stderr)

    def test_an_exposed_manifest_or_signing_key_is_refused(self):
        self.make_state()
        keys = os.path.join(self.data, "keys")
        manifest = os.path.join(keys, "manifest.json")
        os.chmod(manifest, 0o666)
        self.assert_refused(manifest, "chmod go-w " + manifest)
        os.chmod(manifest, 0o644)  # the manifest holds public keys only: readable is fine
        [pem] = [os.path.join(keys, n) for n in os.listdir(keys) if n.endswith(".pem")]
        os.chmod(pem, 0o644)
        self.assert_refused(pem, "chmod 600 " + pem)
        os.chmod(pem, 0o600)
        with VwrProcess(CONFIG, data_dir=self.data):
            pass  # mended: it starts again

    # ----- the state (embedded store) -----

    @embedded_only("the journal, snapshots and lists are files in data_dir on the embedded store")
    def test_world_writable_state_files_are_refused(self):
        self.make_state()
        journal = os.path.join(self.data, "state", "journal")

        def snapshot():  # a start that gets as far as the store writes a new one as it stops
            return [os.path.join(journal, n) for n in os.listdir(journal)
                    if n.startswith("snapshot-")][0]

        planted = [lambda: os.path.join(self.data, "guard-lists.json"),
                   lambda: os.path.join(self.data, "state", "state.id"), snapshot]
        for path_of in planted:
            path = path_of()
            with self.subTest(path=path):
                os.chmod(path, 0o666)
                self.assert_refused(path, "chmod go-w " + path)
                os.chmod(path, 0o600)
        # A segment planted by someone else in the journal directory.
        segment = os.path.join(journal, "%020d.log" % 999)
        write(segment, "", 0o646)
        self.assert_refused(segment, "chmod go-w " + segment)
        os.remove(segment)
        os.chmod(journal, 0o733)
        self.assert_refused(journal, "chmod 700 " + journal)
        os.chmod(journal, 0o700)
        with VwrProcess(CONFIG, data_dir=self.data):
            pass

    # ----- another owner -----

    @unittest.skipUnless(os.geteuid() == 0, "only root can give a file to another user")
    def test_a_secret_owned_by_another_user_is_refused(self):
        nobody = pwd.getpwnam("nobody").pw_uid
        self.make_state()
        for name in ("admin.token", "ticket.key"):
            path = os.path.join(self.data, name)
            with self.subTest(path=path):
                os.chown(path, nobody, -1)
                err = self.assert_refused(path, "chown 0 " + path)
                self.assertIn("uid %d" % nobody, err)
                os.chown(path, 0, -1)
        keys = os.path.join(self.data, "keys")
        os.chown(keys, nobody, -1)
        self.assert_refused(keys, "chown 0 " + keys)
        os.chown(keys, 0, -1)
        with VwrProcess(CONFIG, data_dir=self.data):
            pass


if __name__ == "__main__":
    unittest.main()
