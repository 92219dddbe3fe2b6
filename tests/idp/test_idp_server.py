"""idp.py end to end: start it on a free port, sign in like a browser would, check what it posts."""

import base64
import datetime
import os
import signal
import socket
import subprocess
import time
import sys
import uuid

import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import saml  # noqa: E402
from xmlsec1_verify import xmlsec1_verify  # noqa: E402

NS = saml.NS
APP = "exk1flexsamltest0h7"
SP = "https://sp.example.com/flexsaml/metadata"
ACS = "https://sp.example.com/flexsaml/acs"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    key, cert = saml.make_keys(str(tmp_path_factory.mktemp("idpkeys")))
    port = free_port()
    proc = subprocess.Popen(
        ["/usr/bin/python3", os.path.join(HERE, "idp.py"), "--port", str(port), "--key", key,
         "--cert", cert, "--users", os.path.join(HERE, "users.json"), "--app-id", APP,
         "--sp-entity-id", SP, "--acs-url", ACS, "--session-not-on-or-after-seconds", "28800"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        base = "http://127.0.0.1:%d" % port
        yield {"base": base, "sso": base + "/app/%s/sso/saml" % APP, "cert": cert, "proc": proc}
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=10)
        log = proc.stderr.read()
    assert rc == 0, log
    assert "idp: stopped" in log


def authn_request(request_id, acs=ACS, issuer=SP):
    """An AuthnRequest like Lasso sends."""
    now = saml.isotime(datetime.datetime.now(datetime.timezone.utc))
    return ('<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
            'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="%s" Version="2.0" IssueInstant="%s" '
            'Destination="http://idp/app/%s/sso/saml" Consent="urn:oasis:names:tc:SAML:2.0:consent:current-implicit" '
            'AssertionConsumerServiceURL="%s" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">'
            '<saml:Issuer>%s</saml:Issuer>'
            '<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified" AllowCreate="true"/>'
            '</samlp:AuthnRequest>' % (request_id, now, APP, acs, issuer)).encode()


def posted_response(page):
    action, fields = saml.parse_form(page)
    xml = base64.b64decode(fields["SAMLResponse"])
    return action, fields, xml, saml.parse_xml(xml)


def attributes(root):
    return {a.get("Name"): [v.text for v in a] for a in root.iter("{%s}Attribute" % NS["saml2"])}


def test_health_and_404(idp):
    r = requests.get(idp["base"] + "/health")
    assert (r.status_code, r.text.strip()) == (200, "ok")
    assert requests.get(idp["base"] + "/nope").status_code == 404


def test_metadata(idp):
    r = requests.get(idp["sso"] + "/metadata")
    assert r.status_code == 200 and "xml" in r.headers["Content-Type"]
    md = saml.parse_xml(r.content)
    assert md.tag == "{%s}EntityDescriptor" % NS["md"] and md.get("entityID") == "http://www.okta.com/" + APP
    desc = md.find("md:IDPSSODescriptor", NS)
    assert desc.get("WantAuthnRequestsSigned") == "false"
    kd = desc.find("md:KeyDescriptor", NS)
    assert kd.get("use") == "signing"
    cert = "".join(kd.find(".//ds:X509Certificate", NS).text.split())
    assert cert == "".join(saml.Signer(cert_path=idp["cert"]).cert_b64().split())
    assert [f.text for f in desc.findall("md:NameIDFormat", NS)] == [saml.NAMEID_UNSPECIFIED, saml.NAMEID_EMAIL]
    sso = {s.get("Binding").rsplit(":", 1)[1]: s.get("Location") for s in desc.findall("md:SingleSignOnService", NS)}
    assert sso == {"HTTP-POST": idp["sso"], "HTTP-Redirect": idp["sso"]}


def test_sp_initiated_redirect_binding(idp):
    request_id = "_" + uuid.uuid4().hex
    relay = "/flex/?a=1&b=\"<x>\""
    r = requests.get(idp["sso"], params={"SAMLRequest": saml.deflate_b64(authn_request(request_id)),
                                         "RelayState": relay})
    assert r.status_code == 200 and "<title>Sign in</title>" in r.text
    forms = saml.parse_forms(r.text)
    assert [f[1]["user"] for f in forms] == ["alice.agent@example.com", "sam.supervisor@example.com",
                                            "ada.admin@example.com", "wendy.wfo@example.com"]
    action, fields = forms[1]
    assert action == "/login" and fields["request_id"] == request_id and fields["relay_state"] == relay
    assert "http" not in r.text.split("<style>")[1].split("</style>")[0]  # no external resources

    r = requests.post(idp["base"] + action, data=fields)
    assert r.status_code == 200
    assert "<noscript>" in r.text and 'value="Continue"' in r.text and ".submit()" in r.text
    action, fields, xml, root = posted_response(r.text)
    assert action == ACS and fields["RelayState"] == relay
    assert root.get("InResponseTo") == request_id and root.get("Destination") == ACS
    a = root.find("saml2:Assertion", NS)
    assert a.find(".//saml2:SubjectConfirmationData", NS).get("InResponseTo") == request_id
    assert a.find(".//saml2:SubjectConfirmationData", NS).get("Recipient") == ACS
    assert a.find(".//saml2:Audience", NS).text == SP
    assert a.find(".//saml2:NameID", NS).text == "sam.supervisor@example.com"
    authn = a.find("saml2:AuthnStatement", NS)
    assert authn.get("SessionIndex") == request_id and authn.get("SessionNotOnOrAfter")
    assert attributes(root) == {"full_name": ["Sam Supervisor"], "roles": ["supervisor"],
                                "email": ["sam.supervisor@example.com"],
                                "image_url": ["https://example.com/avatars/sam.png"]}
    for which in ("response", "assertion"):
        ok, out = xmlsec1_verify(xml, idp["cert"], which)
        assert ok, out


def test_sso_post_binding(idp):
    r = requests.post(idp["sso"], data={"SAMLRequest": saml.b64(authn_request("_post1")), "RelayState": "rs"})
    assert r.status_code == 200
    assert saml.parse_forms(r.text)[0][1] == {"request_id": "_post1", "relay_state": "rs",
                                              "user": "alice.agent@example.com"}


@pytest.mark.parametrize("value", ["", "not base64!", saml.b64(b"garbage"), saml.deflate_b64(b"<a/>"),
                                   saml.deflate_b64(b"<samlp:AuthnRequest xmlns:samlp="
                                                    b"'urn:oasis:names:tc:SAML:2.0:protocol'/>")])
def test_sso_malformed_request_is_400(idp, value):
    r = requests.get(idp["sso"], params={"SAMLRequest": value})
    assert r.status_code == 400 and r.text.strip()


def test_login_without_request_id_is_unsolicited(idp):
    r = requests.post(idp["base"] + "/login", data={"user": "alice.agent@example.com", "request_id": "",
                                                      "relay_state": ""})
    _, fields, xml, root = posted_response(r.text)
    assert "RelayState" not in fields and b"InResponseTo" not in xml


def test_idp_initiated(idp):
    r = requests.get(idp["base"] + "/app/%s/init" % APP, params={"user": "ada.admin@example.com",
                                                                 "RelayState": "/flex"})
    assert r.status_code == 200
    action, fields, xml, root = posted_response(r.text)
    assert action == ACS and fields["RelayState"] == "/flex" and b"InResponseTo" not in xml
    assert attributes(root)["roles"] == ["admin,supervisor"]
    assert "image_url" not in attributes(root)
    assert xmlsec1_verify(xml, idp["cert"], "response")[0]


def test_idp_initiated_without_user_shows_sign_in(idp):
    r = requests.get(idp["base"] + "/app/%s/init" % APP)
    forms = saml.parse_forms(r.text)
    assert r.status_code == 200 and len(forms) == 4
    assert all(f[1]["request_id"] == "" for f in forms)
    assert forms[3][1]["user"] == "wendy.wfo@example.com" and "agent,wfo.full_access" in r.text


def test_unknown_user_is_400(idp):
    assert requests.post(idp["base"] + "/login", data={"user": "mallory@example.com"}).status_code == 400
    assert requests.get(idp["base"] + "/app/%s/init" % APP, params={"user": "x"}).status_code == 400


def test_keeps_a_session_and_honours_force_authn_and_requested_context(idp):
    """Like Okta: a second sign-in without ForceAuthn reports the first
    AuthnInstant; ForceAuthn="true" makes a new one; RequestedAuthnContext
    is answered with the class asked for (issue 18)."""
    mfa = "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract"

    def sign_in(request_id, force=False, context=None):
        xml = authn_request(request_id).decode()
        if force:
            xml = xml.replace(' Version="2.0"', ' ForceAuthn="true" Version="2.0"', 1)
        if context:
            xml = xml.replace("</samlp:AuthnRequest>",
                              '<samlp:RequestedAuthnContext Comparison="exact"><saml:AuthnContextClassRef>'
                              '%s</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>'
                              '</samlp:AuthnRequest>' % context)
        r = requests.get(idp["sso"], params={"SAMLRequest": saml.deflate_b64(xml.encode())})
        action, fields = [f for f in saml.parse_forms(r.text) if f[1]["user"] == "wendy.wfo@example.com"][0]
        root = posted_response(requests.post(idp["base"] + action, data=fields).text)[3]
        authn = root.find("saml2:Assertion/saml2:AuthnStatement", NS)
        return authn.get("AuthnInstant"), authn.find(".//saml2:AuthnContextClassRef", NS).text

    first, ctx = sign_in("_s1")
    assert ctx == saml.PASSWORD_PROTECTED_TRANSPORT
    time.sleep(0.01)
    assert sign_in("_s2")[0] == first
    forced, ctx = sign_in("_s3", force=True, context=mfa)
    assert forced > first and ctx == mfa
    assert sign_in("_s4")[0] == forced
