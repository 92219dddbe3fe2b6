"""Every example line of conf/flexsaml.conf works when uncommented: each
commented directive (or commented <Location> block) is uncommented in turn
and `apache2 -t` runs. A line may still fail for a reason of this machine (a
file of the example that does not exist here), never because of what the
line itself holds (a trailing comment, a placeholder, a wrong argument
count)."""
import os
import re

import pytest

import harness

CONF = os.path.join(harness.REPO, "conf", "flexsaml.conf")
# Examples that only work together are uncommented together.
TOGETHER = {"FlexSAMLSPCertificateFile": "FlexSAMLSPPrivateKeyFile"}
# What Apache says when a line holds more (or other) than the directive takes.
BAD = re.compile(r"takes (one|two|three|\w+) argument|takes one or two|Invalid command|\[env:|"
                 r"# |not a Workspace SID|without matching", re.I)
# What it says when the example names something this machine lacks.
MISSING_HERE = re.compile(r"No such file|cannot read|cannot open|does not exist|not found|"
                          r"cannot fetch|Could not resolve|unreachable|mod_socache_|provider|"
                          r"permission|readable|socache_|FlexSAMLCryptoPassphrase", re.I)


def examples():
    """(line number, [lines]) of every commented directive or block."""
    lines = open(CONF).read().split("\n")
    out, i = [], 0
    while i < len(lines):
        m = re.match(r"#(<(\w+)|FlexSAML\w+\s)", lines[i])
        if m and m.group(2):
            end = i
            while not lines[end].startswith("#</%s>" % m.group(2)):
                end += 1
            out.append((i + 1, [l[1:] for l in lines[i:end + 1]]))
            i = end + 1
            continue
        if m:
            pair = TOGETHER.get(lines[i][1:].split()[0])
            if pair and lines[i + 1].startswith("#" + pair):
                out.append((i + 1, [lines[i][1:], lines[i + 1][1:]]))
                i += 2
                continue
            out.append((i + 1, [lines[i][1:]]))
        i += 1
    return out


EXAMPLES = examples()


def test_the_examples_are_found():
    assert len(EXAMPLES) > 40


@pytest.mark.parametrize("lineno,text", EXAMPLES, ids=[str(n) for n, _ in EXAMPLES])
def test_each_example_line_works_uncommented(keys, lineno, text):
    base = harness.sp_conf("https://example.okta.com/app/example_flex_1/exk1/sso/saml", keys["cert"],
                           "https://portal.example.com/flexsaml/metadata")
    directive = text[0].split()[0]
    # The example replaces the setting of the same name the base config has.
    if directive.startswith("FlexSAML"):
        base = "\n".join(l for l in base.split("\n") if not l.startswith(directive + " "))
    if directive in ("FlexSAMLIdPMetadataFile", "FlexSAMLIdPMetadataURL"):
        base = "\n".join(l for l in base.split("\n")
                         if not l.startswith(("FlexSAMLIdPCertificateFile", "FlexSAMLIdPSSOURL")))
    a = harness.Apache(base + "\n" + "\n".join(text) + "\n", name="shippedconf")
    try:
        res = a.configtest()
    finally:
        a.cleanup()
    if res.returncode == 0:
        return
    assert not BAD.search(res.stderr), "line %d: %s\n%s" % (lineno, text, res.stderr)
    assert MISSING_HERE.search(res.stderr), "line %d: %s\n%s" % (lineno, text, res.stderr)
