"""The attack suite's shared parts (tests/integration/test_attacks_*.py).

Every attack starts from a valid Okta-shaped response of the test IdP (an lxml
tree, signed like Okta signs), bends it, posts it to a real Apache with the
module, and ends in `assert_refused`: a 4xx, the reason code on the page and in
the error log under the same correlation id, no session cookie, nothing for a
CGI behind AuthType FlexSAML, and the server still answering.

The tests at the bottom are the controls: the unbent response is accepted, so
every refusal elsewhere is the attack's doing.
"""
import copy
import re

import pytest
import requests

import harness
from conftest import USER, Site, reason_logged
from harness import saml

NS = saml.NS
DS = "{%s}" % NS["ds"]
SAML = "{%s}" % NS["saml2"]
SAMLP = "{%s}" % NS["saml2p"]

# The identity an attacker wants: an admin that the IdP never vouched for.
MALLORY = "mallory.admin@example.com"
LAX_CONF = "FlexSAMLRequireSignedResponse off"
SHA1_CONF = "FlexSAMLAllowSHA1 on\nFlexSAMLRequireSignedResponse off"


def user_of(user):
    return USER[user] if isinstance(user, str) else user


def tree(site, user="alice", sign_response=True, sign_assertion=True, signer=None, sig_alg="rsa-sha256",
         digest_alg="sha256", **kw):
    """A valid response for `site` as an lxml tree, signed like Okta (assertion, then Response)."""
    args = dict(user=user_of(user), issuer=harness.ISSUER, sp_entity_id=site.entity, acs_url=site.acs)
    args.update(kw)
    root = saml.build_response_tree(**args)
    if sign_assertion or sign_response:
        saml.sign(root, signer or site.keys["signer"], sign_assertion=sign_assertion,
                  sign_response=sign_response, sig_alg=sig_alg, digest_alg=digest_alg)
    return reparse(root)


def reparse(root):
    """Serialize and parse again: nodes that xmlsec created are then found by lxml's find()."""
    return saml.parse_xml(saml.serialize(root))


def assertion_of(root):
    return root.find("saml2:Assertion", NS)


def signature_of(el):
    return el.find("ds:Signature", NS)


def drop_signature(el):
    sig = signature_of(el)
    if sig is not None:
        el.remove(sig)
    return el


def name_id_of(assertion):
    return assertion.find("saml2:Subject/saml2:NameID", NS)


def attribute_values(assertion, name):
    return assertion.findall("saml2:AttributeStatement/saml2:Attribute[@Name='%s']/saml2:AttributeValue"
                             % name, NS)


def make_evil(assertion, keep_id=True, keep_signature=False):
    """A copy of the assertion that names Mallory with the admin role."""
    evil = copy.deepcopy(assertion)
    if not keep_signature:
        drop_signature(evil)
    if not keep_id:
        evil.set("ID", saml.new_id())
    name_id_of(evil).text = MALLORY
    for v in attribute_values(evil, "roles"):
        v.text = "admin"
    for v in attribute_values(evil, "email"):
        v.text = MALLORY
    for v in attribute_values(evil, "full_name"):
        v.text = "Mallory Admin"
    return evil


def child_index_after_issuer(el):
    for i, c in enumerate(el):
        if c.tag == SAML + "Issuer":
            return i + 1
    return 0


def xml(root):
    return saml.serialize(root)


# ---- the refusal every attack must end in ----

def assert_refused(site, mark, r, status, reasons, session=None):
    """reasons: one reason code or a tuple of acceptable ones."""
    reasons = (reasons,) if isinstance(reasons, str) else tuple(reasons)
    assert r.status_code == status, (r.status_code, r.text[:600], site.apache.log_since(mark)[-1500:])
    assert "flexsaml_session" not in r.headers.get("Set-Cookie", "")
    page = re.search(r"Reason: <code>([a-z0-9_]+)</code>", r.text)
    ref = re.search(r"Reference: <code>([A-Za-z0-9_-]+)</code>", r.text)
    assert page and ref, r.text[:600]
    assert page.group(1) in reasons, (page.group(1), reasons, site.apache.log_since(mark)[-1500:])
    assert "<saml" not in r.text and "xmlns" not in r.text and "Lasso" not in r.text
    assert reason_logged(site, mark, page.group(1)) == ref.group(1), site.apache.log_since(mark)[-1500:]
    # Nothing reaches a CGI behind AuthType FlexSAML: no session, so a login redirect.
    s = session or requests.Session()
    cgi = s.get(site.base + "/protected/env.cgi", allow_redirects=False)
    assert cgi.status_code == 302 and "FLEX_" not in cgi.text
    # The server keeps answering.
    assert requests.get(site.base + "/index.html", timeout=10).status_code == 200
    return page.group(1)


def refused(site, xml_bytes=None, b64=None, status=400, reason=(), relay_state=None):
    mark = site.apache.log_mark()
    s = requests.Session()
    r = site.post(xml=xml_bytes, b64=b64, relay_state=relay_state, session=s, timeout=30)
    return assert_refused(site, mark, r, status, reason, session=s)


def accepted(site, xml_bytes, relay_state=None):
    """Posts a response that must be accepted; returns (session, response)."""
    s = requests.Session()
    r = site.post(xml=xml_bytes, relay_state=relay_state, session=s, timeout=30)
    assert r.status_code == 303, (r.status_code, r.text[:600], site.apache.error_log()[-1500:])
    assert s.cookies.get("flexsaml_session")
    return s, r


def start_site(keys, conf="", name="attacks", **kw):
    return Site(keys, conf, name=name, **kw).start()


@pytest.fixture(scope="module")
def lax(keys):
    """Signed assertion required, signed Response optional (Okta's default is assertion-only)."""
    s = start_site(keys, LAX_CONF, name="lax")
    yield s
    s.stop()


# ---- controls ----

def test_control_valid_tree_is_accepted(site):
    s, r = accepted(site, xml(tree(site, "alice")))
    env = site.env(s)
    assert env["REMOTE_USER"] == "alice.agent@example.com" and env["FLEX_ROLES"] == "agent"


def test_control_assertion_only_signed_is_accepted_when_allowed(lax):
    s, _ = accepted(lax, xml(tree(lax, "alice", sign_response=False)))
    assert lax.env(s)["REMOTE_USER"] == "alice.agent@example.com"


def test_control_evil_copy_is_what_an_attacker_would_want(site):
    """make_evil really changes the identity (so refusals below are not vacuous)."""
    root = tree(site, "alice", sign_response=False, sign_assertion=False)
    evil = make_evil(assertion_of(root))
    assert name_id_of(evil).text == MALLORY
    assert [v.text for v in attribute_values(evil, "roles")] == ["admin"]
