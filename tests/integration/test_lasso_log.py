"""Lasso's log is quiet for mod_flexsaml's own calls only: one Apache loads both
mod_auth_mellon and mod_flexsaml (Lasso both), in either order, and mellon's
Lasso messages still reach the error log while flexsaml's logins and refusals
add none (src/saml/lasso_log.c)."""
import os
import time

import pytest
import requests

import harness
from conftest import Site
from harness import saml
from idp_pages import metadata_xml

MELLON = os.path.join(harness.MODULES, "mod_auth_mellon.so")
MELLON_LOAD = "LoadModule auth_mellon_module %s\n" % MELLON
FLEXSAML_LOAD = "LoadModule flexsaml_module "

MELLON_CONF = """
<Location /mellon-app>
    MellonEnable auth
    AuthType Mellon
    Require valid-user
    MellonEndpointPath /mellon-app/mellon
    MellonSPPrivateKeyFile {key}
    MellonSPCertFile {cert}
    MellonIdPMetadataFile {{root}}/conf/mellon-idp.xml
</Location>
"""

pytestmark = pytest.mark.skipif(not os.path.exists(MELLON),
                                reason="mod_auth_mellon is not installed (%s); apt-get install "
                                "libapache2-mod-auth-mellon" % MELLON)


def lasso_lines(text):
    """GLib prints a "Lasso" domain message as "(process:PID): Lasso-LEVEL **: ..."."""
    return [line for line in text.splitlines() if "Lasso-" in line]


class Capture:
    """httpd's stdout in a file: GLib prints debug messages there, and
    G_MESSAGES_DEBUG=Lasso makes it print Lasso's, so that a debug message
    of a flexsaml call would show too."""

    def __init__(self, root):
        self.path = os.path.join(root, "logs", "stdout.log")

    def wrapper(self):
        # $0 is the file, "$@" the httpd command line harness.Apache.start appends.
        return ("/bin/sh", "-c", 'exec "$@" >"$0"', self.path)

    def text(self):
        try:
            with open(self.path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


@pytest.fixture(params=["mellon_first", "flexsaml_first"])
def both(request, keys):
    md = metadata_xml(harness.ISSUER, "http://127.0.0.1:9/sso", keys["signer"].cert_b64()).decode()
    site = Site(keys, extra_conf=MELLON_CONF.format(key=keys["key"], cert=keys["cert"]),
                name="lassolog", extra_files={"conf/mellon-idp.xml": md})
    conf = open(site.apache.conf_path).read()
    assert conf.count(FLEXSAML_LOAD) == 1
    if request.param == "mellon_first":
        conf = conf.replace(FLEXSAML_LOAD, MELLON_LOAD + FLEXSAML_LOAD)
    else:
        conf = conf.replace("TypesConfig ", MELLON_LOAD + "TypesConfig ", 1)
    site.apache.write("conf/httpd.conf", conf)
    capture = Capture(site.apache.root)
    site.idp.start()
    try:
        site.apache.start(wrapper=capture.wrapper(), env={"G_MESSAGES_DEBUG": "Lasso"})
        yield site, capture
    finally:
        site.stop()


def settled(site, capture):
    """The error log and the captured stdout once the last request's writes landed."""
    time.sleep(0.3)
    return site.apache.error_log(), capture.text()


def mellon_encrypted_response(site):
    """Signed by the IdP mellon trusts, with an assertion Lasso cannot decrypt:
    Lasso warns ("Could not decrypt an assertion") in mellon's call."""
    base = site.base + "/mellon-app/mellon"
    xml = site.response(sp_entity_id=base + "/metadata", acs_url=base + "/postResponse",
                        encrypt_assertion=True)
    return requests.post(base + "/postResponse", data={"SAMLResponse": saml.b64(xml)},
                         allow_redirects=False)


def test_mellon_keeps_lasso_messages_and_flexsaml_adds_none(both):
    site, capture = both
    log0, out0 = settled(site, capture)

    # flexsaml first: a whole login, then a refusal Lasso itself makes.
    s, r = site.login(user="sam")
    assert r.status_code == 303, r.text
    assert site.env(s)["REMOTE_USER"] == "sam.supervisor@example.com"
    mark = site.apache.log_mark()
    r = site.post(site.response(signer=site.keys["other_signer"]))
    assert r.status_code == 400
    log1, out1 = settled(site, capture)
    assert "refused reason=signature_invalid" in log1[mark:]
    assert lasso_lines(log1[len(log0):]) == [], "Lasso logged for flexsaml's calls"
    assert lasso_lines(out1[len(out0):]) == [], "Lasso logged (debug) for flexsaml's calls"

    # mellon in the same server: Lasso's warning reaches the error log, and
    # its debug messages stdout (so the capture above could see them).
    assert requests.get(site.base + "/mellon-app/", allow_redirects=False).status_code in (302, 303)
    r = mellon_encrypted_response(site)
    assert r.status_code == 400
    log2, out2 = settled(site, capture)
    warned = lasso_lines(log2[len(log1):])
    assert any("Lasso-WARNING" in w and "Could not decrypt an assertion" in w for w in warned), \
        "mellon's Lasso warning is missing from the error log:\n" + log2[len(log1):]
    assert any("Lasso-DEBUG" in d for d in lasso_lines(out2[len(out1):])), \
        "mellon's Lasso debug messages are missing from stdout"
    assert "auth_mellon:error" in log2[len(log1):]

    # flexsaml again, after mellon: still nothing from Lasso.
    r = site.post(site.response(signer=site.keys["other_signer"]))
    assert r.status_code == 400
    log3, out3 = settled(site, capture)
    assert lasso_lines(log3[len(log2):]) == []
    assert lasso_lines(out3[len(out2):]) == []
