"""Five genuine Okta responses (../shared/okta-fixtures, see FIXTURES.md there)
replayed against the module configured as the SP each was addressed to."""
import base64
import hashlib
import os
import re

import pytest
import requests

import harness

FIX = os.path.join(harness.SHARED, "okta-fixtures")
pytestmark = pytest.mark.skipif(not os.path.isdir(FIX),
                                reason="../shared/okta-fixtures is absent (it exists only in CI)")


def fixture_site(name, entity, acs_url, issuer, sso, cert, extra=""):
    """An Apache that is the SP of a fixture: its ServerName and ACS path are
    the fixture's, so Destination and Recipient match."""
    host = re.match(r"(https?://[^/]+)(/.*)", acs_url)
    conf = """
UseCanonicalName On
<VirtualHost 127.0.0.1:{port}>
ServerName %s
FlexSAMLSPEntityID "%s"
FlexSAMLACSPath %s
FlexSAMLIdPCertificateFile %s
FlexSAMLIdPSSOURL %s
FlexSAMLIdPIssuer %s
%s
</VirtualHost>
""" % (host.group(1), entity.replace('"', '\\"'), host.group(2), cert, sso, issuer, extra)
    return harness.Apache(conf, name=name), host.group(2)


def post(apache, path, b64):
    return requests.post("http://127.0.0.1:%d%s" % (apache.port, path),
                         data={"SAMLResponse": b64}, allow_redirects=False)


def gosaml2_2016(extra=""):
    d = os.path.join(FIX, "okta-gosaml2-2016")
    return fixture_site("okta1", '"123"', "http://localhost:8080/v1/_saml_callback",
                        "http://www.okta.com/exk659aytfMeNI49v0h7",
                        "https://dev-116807.oktapreview.com/app/scaleftdev116807_test_1/"
                        "exk659aytfMeNI49v0h7/sso/saml", os.path.join(d, "idp-cert.pem"),
                        extra), d


def test_okta_2016_verifies_then_lacks_flex_claims():
    """At its issue instant (faketime) both signatures verify with Lasso, and
    the response is refused cleanly because Okta sent no Flex attributes."""
    (apache, path), d = gosaml2_2016()
    b64 = base64.b64encode(open(os.path.join(d, "response.xml"), "rb").read()).decode()
    apache.start(wrapper=("faketime", "-f", "@2016-07-25 23:20:29"), env={"TZ": "UTC"})
    try:
        r = post(apache, path, b64)
        assert r.status_code == 400, r.text
        assert "missing_claim" in r.text
        # The page names what the log names (it once said "roles").
        assert "&quot;full_name&quot;" in r.text and "&quot;roles&quot;" not in r.text
        log = apache.error_log()
        assert re.search(r"refused reason=missing_claim id=\S+: signatures verified; "
                         r"the assertion has no full_name attribute", log), log[-2000:]
    finally:
        apache.cleanup()


PASSPHRASE = "fixture-passphrase-0123456789"


def login_state_cookie(entity, host, request_id, expires):
    """The login-state cookie the module would have set when it sent the
    AuthnRequest this fixture answers: src/core/login_state.c sealed as
    src/core/seal.c does, with the key FlexSAMLCryptoPassphrase derives."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    # PBKDF2 salted with the site (seal.c, layout version 2), then HKDF.
    master = hashlib.pbkdf2_hmac("sha256", PASSPHRASE.encode(),
                                 b"mod_flexsaml/seal/v2\n" + entity.encode(), 100000, 32)
    key = HKDF(hashes.SHA256(), 32, b"mod_flexsaml/seal/v1", b"login-state").derive(master)
    aad = "mod_flexsaml/login-state/v1|%s|%s|flexsaml_login" % (entity, host)
    nonce = os.urandom(12)
    plain = "L1\n%d %s /protected/env.cgi\n" % (expires, request_id)
    sealed = b"F\x02" + hashlib.sha256(key).digest()[:4] + nonce + AESGCM(key).encrypt(
        nonce, plain.encode(), aad.encode())
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def test_okta_2016_signs_in_when_no_flex_claims_are_required():
    """Genuine Okta fixture 1 has no Flex attributes (only username): it signs
    in with FlexSAMLRequireClaims none and FlexSAMLRequireFlexRole off."""
    (apache, path), d = gosaml2_2016("FlexSAMLRequireClaims none\nFlexSAMLRequireFlexRole off\n"
                                     "FlexSAMLCryptoPassphrase file:conf/passphrase\n"
                                     "<Location /protected>\nAuthType FlexSAML\n"
                                     "Require valid-user\n</Location>")
    b64 = base64.b64encode(open(os.path.join(d, "response.xml"), "rb").read()).decode()
    apache.write("conf/passphrase", PASSPHRASE, 0o600)
    apache.write("htdocs/protected/env.cgi", harness.ENV_CGI, 0o755)
    apache.start(wrapper=("faketime", "-f", "@2016-07-25 23:20:29"), env={"TZ": "UTC"})
    try:
        state = login_state_cookie('"123"', "localhost:8080", "_15f66d2d-628b-4d9b-a99e-089d8da862e1",
                                   1469489000)
        r = requests.post("http://127.0.0.1:%d%s" % (apache.port, path),
                          data={"SAMLResponse": b64}, allow_redirects=False,
                          cookies={"flexsaml_login": state})
        assert r.status_code == 303, (r.text, apache.error_log()[-1500:])
        cookie = r.cookies.get("flexsaml_session")
        r = requests.get("http://127.0.0.1:%d/protected/env.cgi" % apache.port,
                         cookies={"flexsaml_session": cookie})
        assert r.status_code == 200, r.text
        assert "REMOTE_USER=russellhaering" in r.text
        assert "FLEX_FULL_NAME" not in r.text
    finally:
        apache.cleanup()


def test_okta_2016_is_expired_today():
    (apache, path), d = gosaml2_2016()
    b64 = base64.b64encode(open(os.path.join(d, "response.xml"), "rb").read()).decode()
    apache.start()
    try:
        r = post(apache, path, b64)
        assert r.status_code == 400 and "Reason: <code>expired</code>" in r.text
        assert "signatures verified" in apache.error_log()
    finally:
        apache.cleanup()


ENCRYPTED = [
    ("okta-gosaml2-enc-2017/response.b64", "okta-gosaml2-enc-2017/idp-cert.pem",
     "https://saml.test.nope/session/sso/saml/spentityid/skv8dv26wh",
     "https://saml.test.nope/session/sso/saml/acs/skv8dv26wh",
     "http://www.okta.com/exkbb59wb20X96NY20h7"),
] + [("okta-crewjam-2020/%s.b64" % f, "okta-crewjam-2020/idp-cert.pem",
      "http://localhost:8000/saml/metadata", "http://localhost:8000/saml/acs",
      "http://www.okta.com/exkppsa1qwuFV4D7z0h7")
     for f in ("SignedResponseEncryptedAssertion", "ResponseEncryptedSignedAssertion",
               "ResponseEncryptedAssertionBothSigned")]


@pytest.mark.parametrize("resp,cert,entity,acs,issuer", ENCRYPTED,
                         ids=[e[0].split("/")[-1] for e in ENCRYPTED])
def test_okta_encrypted_assertions_are_refused_clearly(resp, cert, entity, acs, issuer):
    apache, path = fixture_site("oktaenc", entity, acs, issuer,
                                "https://example.okta.com/app/x/sso/saml", os.path.join(FIX, cert))
    apache.start()
    try:
        r = post(apache, path, open(os.path.join(FIX, resp)).read().strip())
        assert r.status_code == 400
        assert "Reason: <code>encrypted_assertion</code>" in r.text
        assert "Assertion Encryption to Unencrypted" in r.text
        assert "refused reason=encrypted_assertion" in apache.error_log()
    finally:
        apache.cleanup()
