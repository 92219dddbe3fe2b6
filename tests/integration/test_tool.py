"""The `flexsaml` operator tool (tools/): every subcommand against golden outputs
made from the test IdP's responses (good and broken), the tool's verdict
against the module's own on a real Apache, and hostile input.

Goldens live in tests/integration/golden/tool/. Times are fixed with --now,
IDs with the test IdP's keywords; temporary paths and the fingerprints of the
per-run test keys are normalized. After a deliberate change of the output:

    FLEXSAML_UPDATE_GOLDEN=1 /usr/bin/python3 -m pytest -p no:cacheprovider -q \
        tests/integration/test_tool.py
and review `git diff tests/integration/golden`.
"""
import datetime
import difflib
import os
import random
import re
import shutil
import subprocess
import tempfile
import urllib.parse

import pytest

import harness
from conftest import USER, Site, reason_logged
from harness import saml

TOOL = os.path.join(harness.REPO, "tools", "flexsaml")
GOLDEN = os.path.join(harness.REPO, "tests", "integration", "golden", "tool")
UPDATE = os.environ.get("FLEXSAML_UPDATE_GOLDEN") == "1"

pytestmark = pytest.mark.skipif(not os.access(TOOL, os.X_OK),
                                reason="tools/flexsaml is not built (make)")

ENTITY = "https://portal.example.com/flexsaml/metadata"
ACS = "https://portal.example.com/flexsaml/acs"
NOW = datetime.datetime(2026, 1, 15, 10, 0, 0, tzinfo=datetime.timezone.utc)
CHECK_AT = "2026-01-15T10:01:00Z"
FINGERPRINT = re.compile(r"\b([0-9A-F]{2}:){19,31}[0-9A-F]{2}\b")


def run(args, stdin=None, env=None, timeout=30, tool=TOOL):
    """Runs the tool; (exit status, stdout, stderr). A signal is a failure."""
    e = dict(os.environ)
    e.pop("FLEXSAML_NOW", None)
    e.update(env or {})
    p = subprocess.run([tool] + list(args), input=stdin, capture_output=True, env=e,
                       timeout=timeout)
    assert p.returncode >= 0, "flexsaml died of signal %d: %s" % (-p.returncode, p.stderr)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


def golden(name, args, rc, out, subs=()):
    """Compares `$ flexsaml <args>`, the output and the exit status with the golden file."""
    def norm(s):
        for old, new in subs:
            s = s.replace(old, new)
        return s
    text = "$ flexsaml %s\n%s[exit %d]\n" % (" ".join(norm(a) for a in args), norm(out), rc)
    path = os.path.join(GOLDEN, name + ".txt")
    if UPDATE or not os.path.exists(path):
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        if not UPDATE:
            pytest.fail("golden %s was missing: written, review it" % path)
        return
    want = open(path).read()
    if text != want:
        diff = "".join(difflib.unified_diff(want.splitlines(True), text.splitlines(True),
                                            "golden/" + name, "actual"))
        pytest.fail("output differs from golden %s (FLEXSAML_UPDATE_GOLDEN=1 rewrites):\n%s"
                    % (name, diff))


# ---------------------------------------------------------------------------
# A FlexSAML virtual host and the test IdP's responses for it
# ---------------------------------------------------------------------------

PORTAL_CONF = """\
# A site file as in /etc/apache2/sites-available
<VirtualHost *:443>
    ServerName portal.example.com
    SSLEngine on
    FlexSAMLSPEntityID          {entity}
    FlexSAMLIdPCertificateFile  {cert}
    FlexSAMLIdPSSOURL           https://dev-48151623.okta.com/app/dev-48151623_flexportal_1/exk1flexsamltest0h7/sso/saml
    FlexSAMLIdPIssuer           {issuer}
    <Location /portal>
        AuthType FlexSAML
        Require valid-user
    </Location>
</VirtualHost>
"""

# Role map, a denied unknown role, REMOTE_USER from email, a custom claim,
# headers for a proxied back end.
POLICY_CONF = """\
<VirtualHost *:443>
    ServerName agents.example.com
    SSLEngine on
    FlexSAMLSPEntityID          https://agents.example.com/flexsaml/metadata
    FlexSAMLIdPCertificateFile  {cert}
    FlexSAMLIdPSSOURL           https://dev-48151623.okta.com/app/dev-48151623_flexportal_1/exk1flexsamltest0h7/sso/saml
    FlexSAMLIdPIssuer           {issuer}
    FlexSAMLRoleMap             Flex-Supervisors supervisor
    FlexSAMLRoleMap             Flex-Admins admin supervisor
    FlexSAMLUnknownRoles        deny
    FlexSAMLUser                email
    FlexSAMLClaim               department FLEX_DEPARTMENT
    FlexSAMLPassClaimsAs        both
</VirtualHost>
"""


@pytest.fixture(scope="module")
def env(keys):
    d = harness.make_tree("flexsaml-tool-")
    paths = {"dir": d, "keys": keys["dir"], "cert": keys["cert"]}
    for name, text in (("portal.conf", PORTAL_CONF), ("policy.conf", POLICY_CONF)):
        paths[name] = os.path.join(d, name)
        with open(paths[name], "w") as f:
            f.write(text.format(entity=ENTITY, cert=keys["cert"], issuer=harness.ISSUER))
    yield paths
    shutil.rmtree(d, ignore_errors=True)


def subs_of(env):
    return ((env["keys"], "<keys>"), (env["dir"], "<conf>"))


def response(keys, sign=True, **kw):
    """A response of the test IdP at NOW with fixed IDs, for portal.example.com."""
    args = dict(signer=keys["signer"], issuer=harness.ISSUER, sp_entity_id=ENTITY, acs_url=ACS,
                now=NOW, assertion_id="id11111111111111111111111111",
                response_id="id22222222222222222222222222",
                session_index="id33333333333333333333333333", user=USER["sam"])
    args.update(kw)
    return saml.build_response(**args)


def write(env, name, data):
    path = os.path.join(env["dir"], name)
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    return path


def with_user(**fields):
    return dict(USER["sam"], **fields)


# name -> (what to paste: bytes XML, or str as pasted, built from keys), extra args, exit status
INSPECT_CASES = {
    "good": (lambda k: saml.b64(response(k)), (), 0),
    "good-xml": (lambda k: response(k), (), 0),
    "form-encoded": (lambda k: "SAMLResponse=" + urllib.parse.quote(saml.b64(response(k)), safe="")
                     + "&RelayState=%2Fportal%2F", (), 0),
    "expired": (lambda k: saml.b64(response(k)), ("--now", "2026-01-15T10:08:00Z"), 1),
    "expired-within-skew": (lambda k: saml.b64(response(k)), ("--now", "2026-01-15T10:05:30Z"), 0),
    "not-yet-valid": (lambda k: saml.b64(response(k)), ("--now", "2026-01-15T09:50:00Z"), 1),
    "session-ended": (lambda k: saml.b64(response(
        k, session_not_on_or_after=NOW - datetime.timedelta(minutes=2))), (), 1),
    "missing-roles": (lambda k: saml.b64(response(k, attributes=[
        ("full_name", ["Sam Supervisor"], saml.BASIC), ("email", ["sam.supervisor@example.com"], saml.BASIC),
        ("image_url", ["https://example.com/avatars/sam.png"], saml.BASIC)])), (), 1),
    "unknown-role": (lambda k: saml.b64(response(k, user=with_user(userType="supervsor"))), (), 1),
    "unknown-role-dropped": (lambda k: saml.b64(response(k, user=with_user(userType="agent,supervsor"))), (), 0),
    "roles-normalized": (lambda k: saml.b64(response(k, attributes=[
        ("full_name", ["Sam Supervisor"], saml.BASIC), ("roles", ["Supervisor, agent ", "AGENT", "wfo.full_access"], saml.BASIC),
        ("email", ["sam.supervisor@example.com"], saml.URI)])), (), 0),
    "audience-trailing-slash": (lambda k: saml.b64(response(k, audience=ENTITY + "/")), (), 1),
    "destination-http": (lambda k: saml.b64(response(k, acs_url=ACS.replace("https:", "http:"))), (), 1),
    "recipient-other-host": (lambda k: saml.b64(response(
        k, recipient="https://portal.example.org/flexsaml/acs")), (), 1),
    "wrong-issuer": (lambda k: saml.b64(response(k, issuer="http://www.okta.com/exkOTHERAPP0h7")), (), 1),
    "other-key": (lambda k: saml.b64(response(k, signer=k["other_signer"])), (), 1),
    "tampered": (lambda k: saml.b64(response(k).replace(b"Sam Supervisor", b"Sam Superuser")), (), 1),
    "response-unsigned": (lambda k: saml.b64(response(k, sign_response=False)), (), 1),
    "assertion-unsigned": (lambda k: saml.b64(response(k, sign_assertion=False)), (), 1),
    "sha1": (lambda k: saml.b64(response(k, sig_alg="rsa-sha1", digest_alg="sha1")), (), 1),
    "hmac": (lambda k: saml.b64(response(k, sig_alg="hmac-sha256")), (), 1),
    "encrypted": (lambda k: saml.b64(response(k, encrypt_assertion=True)), (), 1),
    "status-denied": (lambda k: saml.b64(response(
        k, sign_assertion=False, omit=("Assertion",),
        status=["urn:oasis:names:tc:SAML:2.0:status:Responder",
                "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"])), (), 1),
    "two-assertions": (lambda k: two_assertions(k), (), 1),
    "not-base64": (lambda k: "this is *not* base64!", (), 1),
    "cut-short": (lambda k: saml.b64(response(k))[:1001], (), 1),
    "doctype": (lambda k: saml.b64(b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                                   + response(k)[len(saml.XML_DECLARATION):]), (), 1),
}


def two_assertions(keys):
    """A second (unsigned) assertion next to the signed one: a wrapping attempt."""
    root = saml.parse_xml(response(keys))
    a = root.find("saml2:Assertion", saml.NS)
    evil = saml.parse_xml(saml.serialize(a))
    evil.set("ID", "id99999999999999999999999999")
    root.append(evil)
    return saml.b64(saml.serialize(root))


@pytest.mark.parametrize("name", sorted(INSPECT_CASES))
def test_inspect_golden(env, keys, name):
    make, extra, want_rc = INSPECT_CASES[name]
    data = make(keys)
    path = write(env, "response-%s.%s" % (name, "xml" if isinstance(data, bytes) else "txt"), data)
    args = ["inspect", "--sp-config", env["portal.conf"]] + list(extra) + [path]
    if "--now" not in extra:
        args = ["--now", CHECK_AT] + args
    rc, out, err = run(args)
    assert rc == want_rc, out + err
    assert err == ""
    golden("inspect-" + name, args, rc, FINGERPRINT.sub("<fingerprint>", out), subs_of(env))


def test_inspect_without_configuration(env, keys):
    """--cert alone: the signatures are checked, the entity ID, ACS URL and issuer are not."""
    path = write(env, "plain.b64", saml.b64(response(keys)))
    args = ["--now", CHECK_AT, "inspect", "--cert", keys["cert"], path]
    rc, out, _ = run(args)
    assert rc == 0, out
    golden("inspect-cert-only", args, rc, out, subs_of(env))


def test_inspect_without_certificate_is_unchecked(env, keys):
    path = write(env, "nocert.b64", saml.b64(response(keys)))
    args = ["--now", CHECK_AT, "inspect", path]
    rc, out, _ = run(args)
    assert rc == 3, out
    golden("inspect-no-cert", args, rc, out, subs_of(env))


def test_inspect_assertion_preview_from_stdin(env, keys):
    """Okta's "Preview the SAML Assertion": an unsigned assertion, pasted on stdin."""
    root = saml.build_response_tree(issuer=harness.ISSUER, sp_entity_id=ENTITY, acs_url=ACS, now=NOW,
                                    assertion_id="id11111111111111111111111111",
                                    session_index="id33333333333333333333333333", user=USER["sam"])
    assertion = saml.serialize(root.find("saml2:Assertion", saml.NS))
    args = ["--now", CHECK_AT, "inspect", "--sp-config", env["portal.conf"], "-"]
    rc, out, _ = run(args, stdin=assertion)
    assert rc == 3, out
    golden("inspect-assertion-preview", args, rc, out, subs_of(env))


def test_inspect_env_now_is_the_same_as_option(env, keys):
    path = write(env, "envnow.b64", saml.b64(response(keys)))
    rc1, out1, _ = run(["--now", "2026-01-15T10:08:00Z", "inspect", "--cert", keys["cert"], path])
    rc2, out2, _ = run(["inspect", "--cert", keys["cert"], path],
                       env={"FLEXSAML_NOW": "2026-01-15T10:08:00Z"})
    assert (rc1, out1) == (rc2, out2)
    assert rc1 == 1 and "expired 3 min ago" in out1


@pytest.mark.parametrize("name,user,extra", [
    ("policy-mapped", with_user(userType="Flex-Supervisors", department="Support"),
     [("department", ["Support"], saml.BASIC)]),
    ("policy-denied", with_user(userType="Flex-Admins,supervsor"), []),
])
def test_inspect_policy_golden(env, keys, name, user, extra):
    """FlexSAMLRoleMap, FlexSAMLUnknownRoles deny, FlexSAMLUser email, a custom claim and
    headers, as the configuration maps them."""
    xml = response(keys, user=user, sp_entity_id="https://agents.example.com/flexsaml/metadata",
                   acs_url="https://agents.example.com/flexsaml/acs", extra_attributes=extra)
    path = write(env, "response-%s.b64" % name, saml.b64(xml))
    args = ["--now", CHECK_AT, "inspect", "--sp-config", env["policy.conf"], path]
    rc, out, _ = run(args)
    assert rc == (0 if name == "policy-mapped" else 1), out
    golden("inspect-" + name, args, rc, out, subs_of(env))


def test_inspect_picks_the_virtual_host_of_the_response(env, keys):
    """With several FlexSAML virtual hosts, the response's audience chooses one."""
    both = write(env, "both.conf", open(env["portal.conf"]).read() + open(env["policy.conf"]).read())
    xml = response(keys, sp_entity_id="https://agents.example.com/flexsaml/metadata",
                   acs_url="https://agents.example.com/flexsaml/acs",
                   user=with_user(userType="Flex-Supervisors"))
    path = write(env, "agents.b64", saml.b64(xml))
    rc, out, _ = run(["--now", CHECK_AT, "inspect", "--sp-config", both, path])
    assert rc == 0, out
    assert "Compared with   agents.example.com:443" in out
    rc, out, err = run(["--now", CHECK_AT, "inspect", "--sp-config", both, "--vhost",
                        "portal.example.com", path])
    # The module checks the Destination before the audience: its reason comes first.
    assert rc == 1 and "reason=destination_mismatch" in out and "audience_mismatch" in out
    rc, out, err = run(["inspect", "--sp-config", both, "--vhost", "nowhere.example.com", path])
    assert rc == 2 and "no FlexSAML virtual host of that name" in err


# ---------------------------------------------------------------------------
# The genuine Okta responses of ../shared/okta-fixtures
# ---------------------------------------------------------------------------

FIX = os.path.join(harness.SHARED, "okta-fixtures")


@pytest.mark.skipif(not os.path.isdir(FIX), reason="../shared/okta-fixtures is absent (it exists only in CI)")
@pytest.mark.parametrize("name,args,want_rc", [
    ("okta-2016", ["--now", "2016-07-25T23:20:30Z", "inspect", "--cert",
                   "{fix}/okta-gosaml2-2016/idp-cert.pem", "{fix}/okta-gosaml2-2016/response.xml"], 1),
    ("okta-2020-encrypted", ["--now", "2020-03-03T19:32:00Z", "inspect", "--cert",
                             "{fix}/okta-crewjam-2020/idp-cert.pem",
                             "{fix}/okta-crewjam-2020/ResponseEncryptedSignedAssertion.b64"], 1),
    ("okta-2020-idp-fields", ["--now", "2026-01-15T10:00:00Z", "idp-fields",
                              "{fix}/okta-crewjam-2020/idp-metadata.xml"], 0),
])
def test_genuine_okta(name, args, want_rc):
    args = [a.replace("{fix}", FIX) for a in args]
    rc, out, _ = run(args)
    assert rc == want_rc, out
    golden(name, args, rc, out, ((FIX, "<okta-fixtures>"),))


def test_genuine_okta_2016_signatures_verify():
    """Both signatures of a real Okta response verify, and the one problem is the
    missing Flex attributes."""
    if not os.path.isdir(FIX):
        pytest.skip("../shared/okta-fixtures is absent")
    rc, out, _ = run(["--now", "2016-07-25T23:20:30Z", "inspect", "--cert",
                      os.path.join(FIX, "okta-gosaml2-2016", "idp-cert.pem"),
                      os.path.join(FIX, "okta-gosaml2-2016", "response.xml")])
    assert out.count("RSA-SHA256, digest SHA-256: verifies with") == 2
    assert "Verdict: REFUSED, reason=missing_claim" in out


# ---------------------------------------------------------------------------
# idp-fields
# ---------------------------------------------------------------------------

IDP_DIR = os.path.join(GOLDEN, "idp")


@pytest.mark.parametrize("name,args,want_rc", [
    ("idp-fields", ["--now", "2027-01-15T10:00:00Z", "idp-fields", "{idp}/okta-metadata.xml"], 0),
    ("idp-fields-expiring", ["--now", "2036-11-01T00:00:00Z", "idp-fields", "{idp}/okta-metadata.xml"], 0),
    ("idp-fields-expired", ["--now", "2037-03-01T00:00:00Z", "idp-fields", "{idp}/okta-metadata.xml"], 0),
    ("idp-fields-rotation", ["--now", "2027-01-15T10:00:00Z", "idp-fields",
                             "{idp}/okta-metadata-rotation.xml"], 0),
])
def test_idp_fields_golden(name, args, want_rc):
    args = [a.replace("{idp}", IDP_DIR) for a in args]
    rc, out, err = run(args)
    assert rc == want_rc, out + err
    golden(name, args, rc, out, ((IDP_DIR, "<golden>/idp"),))


def test_idp_fields_cert_out_writes_the_certificate_once(env):
    out_path = os.path.join(env["dir"], "okta.cert")
    md = os.path.join(IDP_DIR, "okta-metadata.xml")
    rc, out, _ = run(["--now", "2027-01-15T10:00:00Z", "idp-fields", "--cert-out", out_path, md])
    assert rc == 0, out
    assert "FlexSAMLIdPCertificateFile  %s" % out_path in out
    pem = open(out_path).read()
    assert pem.startswith("-----BEGIN CERTIFICATE-----\n") and pem in out
    # The certificate is what openssl reads, and what the module's config would load.
    p = subprocess.run(["openssl", "x509", "-noout", "-subject", "-in", out_path], capture_output=True,
                       text=True)
    assert "CN = dev-48151621" in p.stdout
    # Never over an existing file.
    rc, out, err = run(["idp-fields", "--cert-out", out_path, md])
    assert rc == 2 and "cannot be created" in err
    assert open(out_path).read() == pem


def test_idp_fields_from_stdin_and_the_test_idp(env, keys):
    """The metadata the test IdP serves (its own cert), read from stdin."""
    import idp_pages
    body = "".join(l for l in open(keys["cert"]).read().splitlines() if not l.startswith("-----"))
    md = idp_pages.metadata_xml(harness.ISSUER, "https://idp.example.com/app/x/sso/saml", body)
    rc, out, _ = run(["idp-fields", "-"], stdin=md)
    assert rc == 0, out
    assert "FlexSAMLIdPIssuer           %s" % harness.ISSUER in out
    assert "FlexSAMLIdPSSOURL           https://idp.example.com/app/x/sso/saml" in out
    assert "CN = flexsaml-test-idp" in out


@pytest.mark.parametrize("name,data", [
    ("idp-fields-not-metadata", b"<html><body>Sign in to Okta</body></html>"),
    ("idp-fields-doctype", b'<?xml version="1.0"?><!DOCTYPE md [<!ENTITY x "y">]>'
                           b'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&x;"/>'),
    ("idp-fields-no-cert", b'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
                           b'entityID="http://www.okta.com/exk1"><md:IDPSSODescriptor protocolSupportEnumeration="x">'
                           b'<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
                           b'Location="https://x.okta.com/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>'),
])
def test_idp_fields_refuses_what_is_not_usable(env, name, data):
    path = write(env, name + ".xml", data)
    args = ["idp-fields", path]
    rc, out, _ = run(args)
    assert rc == 1, out
    golden(name, args, rc, out, subs_of(env))


# ---------------------------------------------------------------------------
# okta-settings
# ---------------------------------------------------------------------------

DEBIAN_TREE = {
    "apache2.conf": """\
# As Debian's: the sites are included, ${VARS} come from Define.
Define OKTA_ORG dev-48151623
Define OKTA_APP exk1flexsamltest0h7
Include ports.conf
<IfModule !mod_flexsaml.c>
    FlexSAMLSPEntityID https://never.example.com/
</IfModule>
<IfDefine NOPE>
    FlexSAMLSPEntityID https://never.example.com/
</IfDefine>
IncludeOptional conf-enabled/*.conf
IncludeOptional sites-enabled/*.conf
""",
    "ports.conf": "Listen 80\nListen 443\n",
    "flexsaml/idp.conf": """\
FlexSAMLIdPCertificateFile  flexsaml/okta.cert
FlexSAMLIdPSSOURL           "https://${OKTA_ORG}.okta.com/app/${OKTA_ORG}_flexportal_1/${OKTA_APP}/sso/saml"
FlexSAMLIdPIssuer           http://www.okta.com/${OKTA_APP}
""",
    "sites-enabled/000-default.conf": """\
<VirtualHost *:80>
    ServerName www.example.com
    DocumentRoot /var/www/html
</VirtualHost>
""",
    "sites-enabled/portal.conf": """\
<VirtualHost *:443>
    ServerName portal.example.com
    SSLEngine on
    FlexSAMLSPEntityID https://portal.example.com/flexsaml/metadata
    Include flexsaml/idp.conf
    <Location /portal>
        AuthType FlexSAML
        Require valid-user
    </Location>
</VirtualHost>

<VirtualHost *:443>
    ServerName agents.example.com
    SSLEngine on
    FlexSAMLSPEntityID https://agents.example.com/sso
    FlexSAMLEndpointPath /sso
    FlexSAMLACSPath /saml/SSO
    Include flexsaml/idp.conf
    FlexSAMLSPCertificateFile flexsaml/sp.crt
    FlexSAMLSPPrivateKeyFile  flexsaml/sp.key
    FlexSAMLRequireSignedResponse off
    FlexSAMLIdPInitiated off
    FlexSAMLRoleMap Flex-Supervisors supervisor
    FlexSAMLRoleMap "Flex Admins" admin supervisor
    FlexSAMLUnknownRoles keep
    FlexSAMLUser email
    FlexSAMLClaim department FLEX_DEPARTMENT
    FlexSAMLClaim full_name DISPLAY_NAME
    FlexSAMLPassClaimsAs headers
    FlexSAMLClaimSeparator \\
        ";"
</VirtualHost>
""",
}

SHARED_CONF = """\
ServerName portal.example.com
FlexSAMLSPEntityID          https://portal.example.com/flexsaml/metadata
FlexSAMLIdPMetadataFile     okta-metadata.xml
<VirtualHost 10.0.0.1:443>
    SSLEngine on
</VirtualHost>
<VirtualHost 10.0.0.2:443>
    SSLEngine on
</VirtualHost>
"""

PROXY_CONF = """\
ServerName backend.internal:8080
FlexSAMLSPEntityID          https://portal.example.com/flexsaml/metadata
FlexSAMLTrustedProxies      10.0.0.0/24
FlexSAMLIdPMetadataFile     okta-metadata.xml
"""

BROKEN_CONF = """\
<VirtualHost *:443>
    FlexSAMLIdPMetadataFile okta-metadata.xml
    FlexSAMLClockSkew 900
    <Location /x>
        FlexSAMLSPEntityID https://in.a.location/
    </Location>
</VirtualHost>
Include missing/*.conf
"""


def tree(base, files):
    for rel, text in files.items():
        path = os.path.join(base, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)


@pytest.fixture(scope="module")
def conf_trees():
    d = tempfile.mkdtemp(prefix="flexsaml-tool-conf-")
    tree(os.path.join(d, "debian"), DEBIAN_TREE)
    tree(os.path.join(d, "shared"), {"apache2.conf": SHARED_CONF})
    tree(os.path.join(d, "proxy"), {"apache2.conf": PROXY_CONF})
    tree(os.path.join(d, "broken"), {"apache2.conf": BROKEN_CONF})
    tree(os.path.join(d, "none"), {"apache2.conf": "Listen 80\n<VirtualHost *:80>\n</VirtualHost>\n"})
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("name,args,want_rc", [
    ("okta-settings", ["okta-settings", "-f", "{env}/portal.conf"], 0),
    ("okta-settings-debian", ["okta-settings", "-d", "{trees}/debian", "-f", "{trees}/debian/apache2.conf"], 0),
    ("okta-settings-debian-one-vhost", ["okta-settings", "-d", "{trees}/debian", "--vhost",
                                        "agents.example.com", "-f", "{trees}/debian/apache2.conf"], 0),
    ("okta-settings-shared", ["okta-settings", "-d", "{trees}/shared", "-f", "{trees}/shared/apache2.conf"], 0),
    ("okta-settings-proxy", ["okta-settings", "-d", "{trees}/proxy", "-f", "{trees}/proxy/apache2.conf"], 0),
    ("okta-settings-base-url", ["okta-settings", "--base-url", "https://sso.example.net:8443/", "-d",
                                "{trees}/proxy", "-f", "{trees}/proxy/apache2.conf"], 0),
    ("okta-settings-broken", ["okta-settings", "-d", "{trees}/broken", "-f", "{trees}/broken/apache2.conf"], 1),
])
def test_okta_settings_golden(env, conf_trees, name, args, want_rc):
    args = [a.replace("{env}", env["dir"]).replace("{trees}", conf_trees) for a in args]
    rc, out, err = run(args)
    assert rc == want_rc, out + err
    golden(name, args, rc, out, subs_of(env) + ((conf_trees, "<trees>"),))


NO_PROXY_CONF = """\
ServerName backend.internal:8080
FlexSAMLSPEntityID          https://portal.example.com/flexsaml/metadata
FlexSAMLIdPMetadataFile     okta-metadata.xml
"""


def test_okta_settings_warns_when_acs_and_entity_disagree(conf_trees):
    """An http:// ACS printed beside an https:// entity ID: the server does not
    know its public URL, and the warning names the missing proxy setting."""
    tree(os.path.join(conf_trees, "noproxy"), {"apache2.conf": NO_PROXY_CONF})
    rc, out, err = run(["okta-settings", "-d", os.path.join(conf_trees, "noproxy"),
                        "-f", os.path.join(conf_trees, "noproxy", "apache2.conf")])
    assert "http://backend.internal:8080/flexsaml/acs" in out, out + err
    assert "warning: the Single sign-on URL (http://backend.internal:8080) and the Audience URI " \
           "(https://portal.example.com) differ in scheme" in out, out
    assert "FlexSAMLTrustedProxies" in out and "UseCanonicalName On" in out, out


def test_okta_settings_does_not_warn_when_they_agree(conf_trees):
    rc, out, err = run(["okta-settings", "-d", os.path.join(conf_trees, "proxy"),
                        "-f", os.path.join(conf_trees, "proxy", "apache2.conf")])
    assert "differ in" not in out, out


def test_okta_settings_without_flexsaml(conf_trees):
    rc, out, err = run(["okta-settings", "-f", os.path.join(conf_trees, "none", "apache2.conf")])
    assert rc == 1 and out == ""
    assert "no server of this configuration uses FlexSAML" in err


def test_okta_settings_include_loop_is_bounded(env):
    loop = write(env, "loop.conf", "Include %s\nFlexSAMLSPEntityID https://loop.example.com/\n"
                 % os.path.join(env["dir"], "loop.conf"))
    rc, out, _ = run(["okta-settings", "-f", loop])
    assert "Include nested more than 16 deep" in out


def test_okta_settings_reads_the_test_suite_apache_config(keys):
    """The configuration the integration tests start Apache with (harness.sp_conf)."""
    site = Site(keys, name="tool-conf")
    try:
        rc, out, _ = run(["okta-settings", "-f", site.apache.conf_path])
        assert rc == 0, out
        assert "Single sign-on URL           %s" % site.acs in out
        assert "Audience URI (SP Entity ID)  %s" % site.entity in out
    finally:
        site.apache.cleanup()


METADATA_URL_CONF = """\
ServerName portal.example.com
FlexSAMLIdPMetadataFile /nonexistent/main-okta.xml
<VirtualHost *:443>
    ServerName agents.example.com
    SSLEngine on
    FlexSAMLSPEntityID https://agents.example.com/sso/metadata
    FlexSAMLIdPMetadataURL https://example.okta.com/app/exk1/sso/saml/metadata
    FlexSAMLIdPIssuer http://www.okta.com/exk1
    FlexSAMLIdPMetadataCA okta-ca.pem
    FlexSAMLIdPMetadataCache /var/cache/flexsaml/okta.xml
    FlexSAMLIdPMetadataRefresh 12h
    FlexSAMLCertExpiryWarning 14d
    FlexSAMLEndpointPath /sso
    FlexSAMLUser email
    FlexSAMLTaskRouter on
    FlexSAMLTaskRouterTimeout 500ms
</VirtualHost>
"""


def test_okta_settings_with_a_metadata_url(env):
    """The tool knows every directive of the module, FlexSAMLIdPMetadataURL included:
    the IdP is configured (nothing to paste), the virtual host does not inherit
    the main server's IdP, and no directive is reported as unknown."""
    conf = write(env, "metadata-url.conf", METADATA_URL_CONF)
    rc, out, err = run(["okta-settings", "--vhost", "agents.example.com", "-f", conf])
    assert rc == 0, out + err
    assert "Single sign-on URL           https://agents.example.com/sso/acs" in out
    assert "Audience URI (SP Entity ID)  https://agents.example.com/sso/metadata" in out
    assert "FLEX_EMAIL, REMOTE_USER (required)" in out
    assert "Then paste Okta's certificate" not in out
    assert "warning" not in out and "Invalid command" not in out, out


@pytest.mark.parametrize("line,words", [
    ("FlexSAMLClockSkw 30", "Invalid command 'FlexSAMLClockSkw', perhaps misspelled"),
    ("FlexSAMLSessionLifetime 8x", 'FlexSAMLSessionLifetime: "8x" is not a duration'),
    ("FlexSAMLTaskRouterTimeout 2m", "FlexSAMLTaskRouterTimeout 2m: must be between"),
    ("FlexSAMLAllowSHA1 yes", "FlexSAMLAllowSHA1 must be On or Off"),
    ("FlexSAMLClockSkew 5 6", "FlexSAMLClockSkew takes one argument"),
])
def test_tool_and_httpd_report_a_wrong_directive_alike(keys, line, words):
    """One table and one set of parsers: httpd -t and the tool give the same sentence."""
    site = Site(keys, name="tool-same", extra_conf=line)
    try:
        res = site.apache.configtest()
        assert res.returncode != 0, res.stderr
        said = [l.strip() for l in res.stderr.splitlines() if words in l]
        assert said, res.stderr
        rc, out, _ = run(["okta-settings", "-f", site.apache.conf_path])
        assert said[0] in out, (said[0], out)
    finally:
        site.apache.cleanup()


# ---------------------------------------------------------------------------
# --help, usage errors
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("cmd", [[], ["okta-settings"], ["idp-fields"], ["inspect"]])
def test_help_golden(cmd):
    args = cmd + ["--help"]
    rc, out, _ = run(args)
    assert rc == 0
    golden("help-" + (cmd[0] if cmd else "flexsaml"), args, rc, out)


@pytest.mark.parametrize("args,words", [
    ([], "Usage: flexsaml <command>"),
    (["frobnicate"], "unknown command"),
    (["inspect"], "give the response's file"),
    (["inspect", "/nonexistent/response"], "cannot be read"),
    (["inspect", "--cert"], "--cert needs a value"),
    (["okta-settings"], "-f <apache config> is required"),
    (["idp-fields", "--bogus", "x"], "unexpected argument"),
    (["--now", "yesterday", "inspect", "-"], "is not an xsd:dateTime"),
])
def test_usage_errors(args, words):
    rc, out, err = run(args, stdin=b"")
    assert rc == 2
    assert words in err


def test_version():
    rc, out, _ = run(["--version"])
    assert rc == 0 and re.match(r"flexsaml \d+\.\d+\.\d+\n$", out)


# ---------------------------------------------------------------------------
# The tool's verdict is the module's
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def live_site(keys):
    s = Site(keys, name="tool-live").start()
    yield s
    s.stop()


LIVE_CASES = {
    "good": (dict(), None),
    "unknown-role": (dict(user=with_user(userType="supervsor")), "no_role"),
    "missing-roles": (dict(attributes=[("full_name", ["Sam S"], saml.BASIC),
                                       ("email", ["s@example.com"], saml.BASIC)]), "missing_claim"),
    "audience": (dict(audience="{entity}/"), "audience_mismatch"),
    "destination": (dict(destination="{base}/elsewhere/acs"), "destination_mismatch"),
    "recipient": (dict(recipient="{base}/elsewhere/acs"), "recipient_mismatch"),
    "issuer": (dict(issuer="http://www.okta.com/exkOTHER"), "issuer_mismatch"),
    "expired": (dict(now="-20m"), "expired"),
    "not-yet-valid": (dict(now="+20m"), "not_yet_valid"),
    "other-key": (dict(signer="other"), "signature_invalid"),
    "response-unsigned": (dict(sign_response=False), "signature_missing"),
    "sha1": (dict(sig_alg="rsa-sha1", digest_alg="sha1"), "algorithm_refused"),
    "encrypted": (dict(encrypt_assertion=True), "encrypted_assertion"),
}


@pytest.mark.parametrize("name", sorted(LIVE_CASES))
def test_verdict_matches_the_module(env, keys, live_site, name):
    kw, reason = LIVE_CASES[name]
    kw = dict(kw)
    for k, v in list(kw.items()):
        if isinstance(v, str):
            kw[k] = v.replace("{entity}", live_site.entity).replace("{base}", live_site.base)
    if kw.get("now") in ("-20m", "+20m"):
        delta = datetime.timedelta(minutes=20)
        kw["now"] = datetime.datetime.now(datetime.timezone.utc) + (delta if kw["now"][0] == "+" else -delta)
    if kw.get("signer") == "other":
        kw["signer"] = keys["other_signer"]
    xml = live_site.response(**kw)
    path = write(env, "live-%s.b64" % name, saml.b64(xml))
    mark = live_site.apache.log_mark()
    r = live_site.post(xml=xml)
    rc, out, _ = run(["inspect", "--sp-config", live_site.apache.conf_path, path])
    if reason is None:
        assert r.status_code in (302, 303), r.text
        assert rc == 0 and "Verdict: accepted" in out, out
    else:
        assert r.status_code >= 400
        assert reason_logged(live_site, mark, reason), live_site.apache.log_since(mark)[-1500:]
        assert rc == 1, out
        assert "Verdict: REFUSED, reason=%s\n" % reason in out, out


# ---------------------------------------------------------------------------
# Hostile input: never a crash, never a control character on the terminal
# ---------------------------------------------------------------------------

def mutations(good_xml, seed=8):
    rnd = random.Random(seed)
    b64 = saml.b64(good_xml)
    yield b"\x00" * 64
    yield b"\xff\xfe" + "<a/>".encode("utf-16-le")
    yield b"<" * 10000
    yield b"<a:Assertion xmlns:a='urn:oasis:names:tc:SAML:2.0:assertion'>" + b"<a:x>" * 300
    yield b"<?xml version='1.0'?><!DOCTYPE a [<!ENTITY b '" + b"&c;" * 100 + b"'>]><a>&b;</a>"
    yield b"SAMLResponse=" + b"%" * 500
    yield good_xml.replace(b"Sam Supervisor", b"Sam \x1b[31mRed\x1b[0m \xe2\x80\xae")
    yield good_xml.replace(b"Sam Supervisor", b"Sam &#x9b;31m &#x202e; &#xfeff;")
    yield good_xml.replace(b"supervisor</saml2:AttributeValue>", b"x" * 70000 + b"</saml2:AttributeValue>")
    for _ in range(40):
        i = rnd.randrange(len(good_xml))
        yield good_xml[:i]
    for _ in range(40):
        data = bytearray(good_xml)
        for _ in range(rnd.randrange(1, 8)):
            data[rnd.randrange(len(data))] = rnd.randrange(256)
        yield bytes(data)
    for _ in range(30):
        i = rnd.randrange(len(b64))
        yield (b64[:i] + rnd.choice(["", "%", "=", "!", "\n", "+" * 3]) + b64[i + 1:]).encode()
    for _ in range(20):
        # Shuffled elements of a real response: well-formed, wrong in every way.
        parts = re.split(rb"(?=<)", good_xml)
        head, rest = parts[:3], parts[3:]
        rnd.shuffle(rest)
        yield b"".join(head + rest)


@pytest.fixture(scope="module")
def hostile_tool():
    """The tool built with AddressSanitizer + UBSan (`make tool-asan`) when clang is
    installed, so a memory error is a failure even when it does not crash."""
    if shutil.which("clang"):
        p = subprocess.run(["make", "-s", "-C", harness.REPO, "tool-asan"], capture_output=True,
                           text=True, timeout=600)
        asan = os.path.join(harness.REPO, "build", "asan", "flexsaml")
        if p.returncode == 0 and os.access(asan, os.X_OK):
            return asan, {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=99",
                          "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=98"}
    return TOOL, {}


def test_hostile_input_never_crashes(env, keys, hostile_tool):
    tool, tool_env = hostile_tool
    good = response(keys)
    for i, data in enumerate(mutations(good)):
        path = write(env, "hostile.bin", data)
        rc, out, err = run(["--now", CHECK_AT, "inspect", "--sp-config", env["portal.conf"], path],
                           timeout=60, tool=tool, env=tool_env)
        assert rc in (0, 1, 3), (i, rc, out[-500:], err[-3000:])
        assert "Verdict: " in out, (i, out[-500:])
        for bad in ("\x1b", "\u202e", "\u009b", "\x00"):
            assert bad not in out, (i, repr(bad))


def test_hostile_configuration_and_metadata(env, hostile_tool):
    """okta-settings and idp-fields on junk: an answer and an exit status, never a crash."""
    tool, tool_env = hostile_tool
    rnd = random.Random(3)
    conf = (PORTAL_CONF.format(entity=ENTITY, cert="/nonexistent", issuer=harness.ISSUER)
            + DEBIAN_TREE["sites-enabled/portal.conf"]).encode()
    md = open(os.path.join(IDP_DIR, "okta-metadata.xml"), "rb").read()
    junk = [b"", b"<" * 5000, b"\\\n" * 1000, b"<VirtualHost " * 100, b"</VirtualHost>" * 100,
            b"FlexSAMLRoleMap\n" * 10, b"${" * 1000, b'"' * 999, b"\xff\xfe\x00" * 100]
    for _ in range(25):
        data = bytearray(conf)
        for _ in range(rnd.randrange(1, 10)):
            data[rnd.randrange(len(data))] = rnd.choice(b"<>\"'\\ \n\t$#{}:/")
        junk.append(bytes(data))
    for i, data in enumerate(junk):
        path = write(env, "hostile.conf", data)
        rc, out, err = run(["okta-settings", "-f", path], tool=tool, env=tool_env)
        assert rc in (0, 1), (i, rc, err[-3000:])
    for i in range(40):
        data = bytearray(md)
        for _ in range(rnd.randrange(1, 6)):
            data[rnd.randrange(len(data))] = rnd.randrange(256)
        path = write(env, "hostile.xml", bytes(data) if i % 4 else bytes(data[:rnd.randrange(len(data))]))
        rc, out, err = run(["--now", "2027-01-15T10:00:00Z", "idp-fields", path], tool=tool,
                           env=tool_env)
        assert rc in (0, 1), (i, rc, err[-3000:])
        assert "\x1b" not in out


def test_inspect_flags_an_expired_configured_certificate(env, keys):
    """The configured IdP certificate has expired: inspect says so (it used to
    be silent, and the admin chased signature_invalid instead)."""
    path = write(env, "expired-cert.b64", saml.b64(response(keys)))
    cert_end = subprocess.run(["openssl", "x509", "-in", keys["cert"], "-noout", "-enddate"],
                              capture_output=True, text=True, check=True).stdout
    year = int(cert_end.split()[-2]) + 1
    rc, out, _ = run(["--now", "%d-06-01T00:00:00Z" % year, "inspect", "--cert", keys["cert"], path])
    assert re.search(r"the IdP certificate of \S+ \(.*\) expired .* ago", out), out
    rc, out, _ = run(["--now", CHECK_AT, "inspect", "--cert", keys["cert"], path])
    assert "certificate" not in out or "expired" not in out.split("certificate", 1)[1][:80], out


def test_okta_settings_and_inspect_follow_require_claims_and_site_roles(env, keys):
    """Issue 18: FlexSAMLRequireClaims decides which attribute statements
    okta-settings calls required and what inspect accepts; FlexSAMLRoles are
    listed."""
    lax = write(env, "lax.conf", open(env["portal.conf"]).read()
                + "FlexSAMLRequireClaims email department\nFlexSAMLRequireFlexRole off\n"
                  "FlexSAMLRoles teamlead qa\n")
    rc, out, err = run(["okta-settings", "-f", lax])
    assert rc == 0, out + err
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ") and
            len(line.split()) > 2}
    assert rows["email"].endswith("(required)")
    assert rows["full_name"].endswith("(optional)") and rows["roles"].endswith("(optional)")
    assert "department" in rows and rows["department"].endswith("(required (FlexSAMLRequireClaims))")
    assert "Site roles, kept as sent (FlexSAMLRoles): qa,teamlead." in out
    none = write(env, "none.conf", open(env["portal.conf"]).read()
                 + "FlexSAMLRequireClaims none\nFlexSAMLRequireFlexRole off\n")
    rc, out, err = run(["okta-settings", "-f", none])
    assert rc == 0 and "FlexSAMLRequireClaims none" in out, out + err
    path = write(env, "response-bare.b64", saml.b64(response(keys, attributes=[])))
    rc, out, _ = run(["--now", CHECK_AT, "inspect", "--sp-config", none, path])
    assert rc == 0, out
    rc, out, _ = run(["--now", CHECK_AT, "inspect", "--sp-config", env["portal.conf"], path])
    assert rc == 1 and "missing_claim" in out, out
