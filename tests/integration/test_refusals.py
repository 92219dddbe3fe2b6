"""Every refusal of the ACS: a 4xx, a short page with a reason and an id, the
same id in an error-log line with the reason code, and no session cookie."""
import datetime
import re

import pytest
import requests

from conftest import USER, reason_logged
import harness
from harness import saml

NOW = lambda: datetime.datetime.now(datetime.timezone.utc)  # noqa: E731


def assert_refused(site, mark, r, status, reason, page_words=()):
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert "flexsaml_session" not in r.headers.get("Set-Cookie", "")
    assert r.headers["Content-Type"].startswith("text/html")
    assert "Reason: <code>%s</code>" % reason in r.text
    m = re.search(r"Reference: <code>([A-Za-z0-9_-]+)</code>", r.text)
    assert m, r.text
    # No raw XML, no stack of Lasso errors on the page.
    assert "<saml" not in r.text and "Lasso" not in r.text and "xmlns" not in r.text
    for w in page_words:
        assert w in r.text
    logged = reason_logged(site, mark, reason)
    assert logged == m.group(1), site.apache.log_since(mark)[-2000:]
    # The server keeps answering.
    assert requests.get(site.base + "/index.html").status_code == 200


def refused(site, status, reason, xml=None, b64=None, relay_state=None, page_words=()):
    mark = site.apache.log_mark()
    r = site.post(xml=xml, b64=b64, relay_state=relay_state)
    assert_refused(site, mark, r, status, reason, page_words)
    return r


def test_no_saml_response(site):
    mark = site.apache.log_mark()
    r = requests.post(site.acs, data={"RelayState": "/"}, allow_redirects=False)
    assert_refused(site, mark, r, 400, "no_response")


def test_get_on_acs_is_refused(site):
    mark = site.apache.log_mark()
    r = requests.get(site.acs, allow_redirects=False)
    assert_refused(site, mark, r, 405, "method_not_allowed")


def test_not_base64(site):
    refused(site, 400, "bad_base64", b64="this is *not* base64!")


def test_not_xml(site):
    refused(site, 400, "bad_xml", b64=saml.b64(b"hello, not xml"))


def test_truncated_xml(site):
    xml = site.response("alice")
    refused(site, 400, "bad_xml", xml=xml[: len(xml) // 2])


def test_body_over_256k_is_413_before_parsing(site):
    mark = site.apache.log_mark()
    r = requests.post(site.acs, data={"SAMLResponse": "A" * (300 * 1024)}, allow_redirects=False)
    assert_refused(site, mark, r, 413, "body_too_large")


def test_chunked_body_over_256k_is_413(site):
    def chunks():
        yield b"SAMLResponse="
        for _ in range(40):
            yield b"A" * 8192

    mark = site.apache.log_mark()
    r = requests.post(site.acs, data=chunks(), allow_redirects=False,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_refused(site, mark, r, 413, "body_too_large")


def test_unsigned_assertion(site):
    refused(site, 400, "signature_missing", site.response("alice", sign_assertion=False))


def test_unsigned_response_refused_by_default(site):
    refused(site, 400, "signature_missing", site.response("alice", sign_response=False))


def test_nothing_signed(site):
    refused(site, 400, "signature_missing",
            site.response("alice", sign_response=False, sign_assertion=False))


def test_signature_by_another_key(site, keys):
    refused(site, 400, "signature_invalid", site.response("alice", signer=keys["other_signer"]))


def test_assertion_signed_by_another_key_inside_good_response(site, keys):
    refused(site, 400, "signature_invalid",
            site.response("alice", assertion_signer=keys["other_signer"]))


def test_tampered_after_signing(site):
    xml = site.response("alice").replace(b"Alice Agent", b"Alice Admin")
    refused(site, 400, "signature_invalid", xml)


def refusal_line(site, mark, reason):
    m = re.search(r"refused reason=%s id=\S+: (.*)" % re.escape(reason), site.apache.log_since(mark))
    assert m, site.apache.log_since(mark)[-2000:]
    return m.group(1)


def test_wrong_issuer(site):
    """The log names the received and the configured issuer, not Lasso's text."""
    mark = site.apache.log_mark()
    refused(site, 400, "issuer_mismatch", site.response("alice", issuer="http://www.okta.com/exkEVIL"))
    line = refusal_line(site, mark, "issuer_mismatch")
    assert '"http://www.okta.com/exkEVIL"' in line and '"%s"' % harness.ISSUER in line, line
    assert "LassoServer" not in line and "-201" not in line, line


def test_wrong_audience(site):
    mark = site.apache.log_mark()
    refused(site, 400, "audience_mismatch",
            site.response("alice", audience="http://127.0.0.1:1/other/metadata"),
            page_words=("Audience URI",))
    line = refusal_line(site, mark, "audience_mismatch")
    assert '"http://127.0.0.1:1/other/metadata"' in line and '"%s"' % site.entity in line, line


def test_wrong_recipient(site):
    refused(site, 400, "recipient_mismatch",
            site.response("alice", recipient="http://127.0.0.1:1/flexsaml/acs"))


def test_wrong_destination(site):
    refused(site, 400, "destination_mismatch",
            site.response("alice", destination=site.base + "/other/acs"))


def test_expired(site):
    refused(site, 400, "expired", site.response("alice", now=NOW() - datetime.timedelta(hours=1)))


def test_not_yet_valid(site):
    refused(site, 400, "not_yet_valid",
            site.response("alice", now=NOW() + datetime.timedelta(hours=1)))


def test_replayed(site):
    xml = site.response("alice")
    assert site.post(xml).status_code == 303
    refused(site, 400, "replayed", xml)


def test_unknown_in_response_to(site):
    """This browser started a login, but the response answers another request."""
    s = requests.Session()
    site.start_login(s)
    mark = site.apache.log_mark()
    r = site.post(site.response("alice", in_response_to="_not_a_request_we_made"), session=s)
    assert_refused(site, mark, r, 400, "unknown_request")


def test_in_response_to_without_login_state(site):
    """A solicited response from a browser that started no login here."""
    refused(site, 400, "login_state_missing",
            site.response("alice", in_response_to="_not_a_request_we_made"))


def test_non_success_status(site):
    refused(site, 400, "status_not_success",
            site.response("alice", status="urn:oasis:names:tc:SAML:2.0:status:Requester"))


def test_encrypted_assertion(site):
    refused(site, 400, "encrypted_assertion", site.response("alice", encrypt_assertion=True),
            page_words=("Assertion Encryption", "Unencrypted"))


@pytest.mark.parametrize("missing,okta", [("roles", "user.userType"), ("email", "user.email"),
                                          ("full_name", "user.lastName")])
def test_missing_claim_names_the_okta_statement(site, missing, okta):
    u = USER["alice"]
    attrs = [a for a in [("full_name", ["Alice Agent"], saml.BASIC), ("email", [u["email"]], saml.BASIC),
                         ("roles", ["agent"], saml.BASIC)] if a[0] != missing]
    refused(site, 400, "missing_claim", site.response("alice", attributes=attrs),
            page_words=("&quot;%s&quot;" % missing, okta))


@pytest.mark.parametrize("value", ["Alice\r\nX-Evil: 1", "Alice\tAgent", "Alice\nAgent"])
def test_control_characters_in_a_claim(site, value):
    u = USER["alice"]
    attrs = [("full_name", [value], saml.BASIC), ("email", [u["email"]], saml.BASIC),
             ("roles", ["agent"], saml.BASIC)]
    refused(site, 400, "bad_claim", site.response("alice", attributes=attrs))


def test_no_flex_role(site):
    """The log shows what Okta sent, not what is left after unknown values
    are dropped."""
    u = dict(USER["alice"], userType="guest")
    mark = site.apache.log_mark()
    refused(site, 403, "no_role", site.response(u), page_words=("User type",))
    assert 'Okta sent roles "guest"' in refusal_line(site, mark, "no_role")


def test_empty_roles_names_the_user_type(site):
    """A person whose Okta User type is empty: the fix is on the person."""
    u = USER["alice"]
    attrs = [("full_name", ["Alice Agent"], saml.BASIC), ("email", [u["email"]], saml.BASIC),
             ("roles", [""], saml.BASIC)]
    mark = site.apache.log_mark()
    refused(site, 400, "missing_claim", site.response("alice", attributes=attrs),
            page_words=("roles is empty: set this person", "User type in Okta"))
    assert "roles is empty" in refusal_line(site, mark, "missing_claim")


def test_page_and_log_name_the_same_missing_attribute(site):
    """Two attributes missing: the page and the log both name the first."""
    u = USER["alice"]
    attrs = [("email", [u["email"]], saml.BASIC)]
    mark = site.apache.log_mark()
    r = refused(site, 400, "missing_claim", site.response("alice", attributes=attrs),
                page_words=("&quot;full_name&quot;",))
    assert "&quot;roles&quot;" not in r.text
    assert "no full_name attribute" in refusal_line(site, mark, "missing_claim")


def test_refusal_page_escapes_and_hides_the_response(site):
    # An XSS payload in RelayState with an invalid response never reaches the page.
    r = refused(site, 400, "bad_xml", b64=saml.b64(b"<x>"), relay_state="<script>alert(1)</script>")
    assert "<script>alert" not in r.text
