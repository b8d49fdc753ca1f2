"""docs/configuration.md against the code: every YAML example on the page is a configuration that
`vwr config check` accepts, and its "Full annotated example" names every key the loader accepts
(the key lists of src/config/load.cpp), so that a reader who copies the example sees every knob.
"""

import os
import re
import tempfile
import unittest

from test_tls import make_certificate
from vwr_harness import run_vwr

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CONFIGURATION_MD = os.path.join(ROOT, "docs", "configuration.md")
CONFIG_DIR = os.path.join(ROOT, "src", "config")

# Where each key list of src/config/load.cpp applies, as a dotted path ("[]": a list's items).
# A key list missing here fails the test: say where its keys go, and document them.
KEY_LISTS = {
    "kTopKeys": [""],
    "kServerKeys": ["server"],
    "kLimitsKeys": ["server.limits"],
    "kTlsKeys": ["server.tls"],
    "kStoreKeys": ["store"],
    "kRedisKeys": ["store.redis"],
    "kAdminKeys": ["admin"],
    "kSecretsKeys": ["secrets"],
    "kTokensKeys": ["tokens"],
    "kWebKeys": ["web"],
    "kTracerKeys": ["tracer"],
    "kIdentityKeys": ["identity"],
    "kLogKeys": ["log"],
    "kAnalyticsKeys": ["analytics"],
    "kRetentionKeys": ["analytics.retention"],
    "kSurgeKeys": ["analytics.surge"],
    "kRoomKeys": ["rooms[]"],
    "kMatchKeys": ["rooms[].match[]"],
    "kPollKeys": ["rooms[].poll"],
    "kPageKeys": ["rooms[].page"],
    "kProtectionKeys": ["rooms[].protection"],
    "kProtectionListKeys": ["rooms[].protection.deny", "rooms[].protection.allow",
                            "rooms[].protection.unblock"],
    "kOperatorKeys": ["operators[]"],
    "kConsoleKeys": ["console"],
    "kSignalKeys": ["signals[]"],
    "kCredentialKeys": ["signals[].bearer", "signals[].password"],
    "kStatusRangeKeys": ["signals[].ok_status"],
    "kRuleKeys": ["rules[]"],
    "kThenKeys": ["rules[].then"],
    "kScaleKeys": ["rules[].then.max_active", "rules[].then.admit_rate"],
    "kScheduleKeys": ["schedules[]"],
    "kOpenKeys": ["schedules[].open"],
    "kControlKeys": ["rooms[].control"],
    "kBoundsKeys": ["rooms[].control.max_active", "rooms[].control.admit_rate"],
    "kTargetKeys": ["rooms[].control.targets[]"],
}
# A YAML key at the start of a line: "  key:", "  - key:", and a key left out with its default
# named ("  # key: value").
KEY_LINE = re.compile(r"^(?P<indent> *)(?P<item>- )?(?P<commented># )?(?P<key>[a-z_]+):(?: |$)")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def yaml_blocks(markdown):
    return re.findall(r"^```yaml\n(.*?)^```", markdown, re.S | re.M)


def full_example(markdown):
    section = markdown[markdown.index("## Full annotated example"):]
    return yaml_blocks(section)[0]


def example_keys(text):
    """The dotted keys of a block-style YAML text (as the example is written), list items as
    "[]", keys in "# key:" comments too."""
    keys = set()
    stack = []  # (indent, dotted path) of the keys above the current line
    for line in text.splitlines():
        m = KEY_LINE.match(line)
        if not m:
            continue
        indent = len(m.group("indent"))
        if m.group("item"):
            # "- key:" opens an item of the list named by the key above; the item's keys are
            # indented as far as this one.
            while stack and stack[-1][0] >= indent:
                stack.pop()
            parent = (stack[-1][1] if stack else "") + "[]"
            indent += 2
            stack.append((indent - 1, parent))
        else:
            while stack and stack[-1][0] >= indent:
                stack.pop()
            parent = stack[-1][1] if stack else ""
        path = (parent + "." if parent else "") + m.group("key")
        keys.add(path)
        stack.append((indent, path))
    return keys


def loader_keys():
    """{dotted key} the loader accepts, from the key lists of src/config/*.cpp (load.cpp and
    the section readers)."""
    source = "\n".join(read(os.path.join(CONFIG_DIR, name))
                       for name in sorted(os.listdir(CONFIG_DIR)) if name.endswith(".cpp"))
    lists = re.findall(
        r"constexpr std::array<std::string_view, \d+> (k\w+Keys) = \{(.*?)\};", source, re.S)
    if not lists:
        raise AssertionError("no key lists found in %s" % CONFIG_DIR)
    keys = set()
    unknown = []
    for name, body in lists:
        if name not in KEY_LISTS:
            unknown.append(name)
            continue
        for prefix in KEY_LISTS[name]:
            for key in re.findall(r'"([a-z_]+)"', body):
                keys.add((prefix + "." if prefix else "") + key)
    return keys, unknown


class ConfigurationPageTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.page = read(CONFIGURATION_MD)
        self.tmp = tempfile.TemporaryDirectory(prefix="vwr-docs-")
        self.addCleanup(self.tmp.cleanup)

    def check(self, text):
        path = os.path.join(self.tmp.name, "example.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        done = run_vwr(["config", "check", path], cwd=self.tmp.name)
        return done.returncode, done.stdout + done.stderr

    def test_every_yaml_example_is_a_valid_configuration(self):
        blocks = yaml_blocks(self.page)
        self.assertGreaterEqual(len(blocks), 3, "the page's YAML examples were not found")
        cert, key = make_certificate(self.tmp.name, "example")
        for i, text in enumerate(blocks):
            # The production example names its certificate files where a server keeps them;
            # here they are files made for the test.
            text = re.sub(r"cert_file: /\S+", "cert_file: " + cert, text)
            text = re.sub(r"key_file: /\S+", "key_file: " + key, text)
            code, output = self.check(text)
            self.assertEqual(code, 0, "YAML example %d of configuration.md:\n%s\n%s"
                             % (i + 1, text, output))

    def test_the_full_example_names_every_key_the_loader_accepts(self):
        expected, unknown = loader_keys()
        self.assertEqual(unknown, [], "key lists of src/config this test does not "
                         "place: add them to KEY_LISTS (and their keys to configuration.md)")
        documented = example_keys(full_example(self.page))
        missing = sorted(expected - documented)
        self.assertEqual(missing, [], "keys the loader accepts that the full annotated example "
                         "of docs/configuration.md leaves out")
        # The example's own keys are real ones (a misspelt key in a comment fails here).
        invented = sorted(k for k in documented - expected if not k.startswith("store.kind."))
        self.assertEqual(invented, [], "keys in the full example that the loader does not know")


if __name__ == "__main__":
    unittest.main()
