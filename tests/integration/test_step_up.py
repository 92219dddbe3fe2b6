"""Step-up per directory (issue 18): FlexSAMLMaxAuthAge signs a person in
again with ForceAuthn when their sign-in is older, and
FlexSAMLAuthnContextClassRef requests a class and requires it. The test IdP
keeps an Okta-like session of its own (--session-age: the first sign-in
reports an AuthnInstant an hour old) and honours ForceAuthn and
RequestedAuthnContext, unless told to misbehave."""
import re
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from conftest import Site, reason_logged
from harness import saml

MFA = "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract"
CONF = """
<Location /admin>
    AuthType FlexSAML
    FlexSAMLMaxAuthAge 15m
    Require valid-user
</Location>
<Location /mfa>
    AuthType FlexSAML
    FlexSAMLAuthnContextClassRef %s
    Require valid-user
</Location>
""" % MFA
PAGES = {"htdocs/admin/index.html": "<h1>admin</h1>\n", "htdocs/mfa/index.html": "<h1>mfa</h1>\n"}


def make_site(keys, name, *idp_flags):
    s = Site(keys, CONF, name=name, extra_files=PAGES)
    s.idp.args += ["--session-age", "3600"] + list(idp_flags)
    return s.start()


@pytest.fixture(scope="module")
def okta(keys):
    s = make_site(keys, "stepup")
    yield s
    s.stop()


def authn_request(r):
    assert r.status_code == 302, r.text
    return saml.parse_authn_request(parse_qs(urlparse(r.headers["Location"]).query)["SAMLRequest"][0])


def test_old_sign_in_steps_up_with_force_authn(okta):
    s, r = okta.login(user="sam")
    assert r.status_code == 303
    assert s.get(okta.base + "/protected/env.cgi").status_code == 200
    # The IdP reported an AuthnInstant an hour old: /admin asks again.
    mark = len(okta.apache.error_log())
    req = authn_request(s.get(okta.base + "/admin/", allow_redirects=False))
    assert req["ForceAuthn"] == "true"
    assert req["RequestedAuthnContext"] is None
    assert re.search(r"sam.supervisor@example.com signed in 3\d\d\d s ago, FlexSAMLMaxAuthAge "
                     r"for /admin/ is 900 s: signing in again \(ForceAuthn\)",
                     okta.apache.log_since(mark))
    s, r = okta.login(session=s, user="sam", path="/admin/")
    assert r.status_code == 303 and r.headers["Location"].endswith("/admin/")
    r = s.get(okta.base + "/admin/", allow_redirects=False)
    assert r.status_code == 200 and "<h1>admin</h1>" in r.text


def test_first_sign_in_does_not_force(okta):
    r = requests.get(okta.base + "/admin/", allow_redirects=False)
    req = authn_request(r)
    assert req["ForceAuthn"] in (None, "false")


def test_authn_context_is_requested_and_required(okta):
    s, r = okta.login(user="ada")
    assert r.status_code == 303
    req = authn_request(s.get(okta.base + "/mfa/", allow_redirects=False))
    assert req["RequestedAuthnContext"] == [MFA]
    assert req["ForceAuthn"] == "true"
    s, r = okta.login(session=s, user="ada", path="/mfa/")
    assert r.status_code == 303
    assert s.get(okta.base + "/mfa/", allow_redirects=False).status_code == 200
    # Without a session, the class is requested from the start.
    req = authn_request(requests.get(okta.base + "/mfa/", allow_redirects=False))
    assert req["RequestedAuthnContext"] == [MFA] and req["ForceAuthn"] in (None, "false")


def test_idp_ignoring_force_authn_is_refused(keys):
    """A stale AuthnInstant in the answer to a step-up would send the browser
    round again and again: it is refused."""
    site = make_site(keys, "stepup-broken", "--ignore-force-authn")
    try:
        s, r = site.login(user="sam")
        assert r.status_code == 303
        mark = len(site.apache.error_log())
        s, r = site.login(session=s, user="sam", path="/admin/")
        assert r.status_code == 403, r.text
        assert "Sign-in not repeated" in r.text
        assert reason_logged(site, mark, "authn_not_fresh")
        assert "flexsaml_session" not in site.cookie_names(r)
    finally:
        site.stop()


def test_weaker_authn_context_is_refused(keys):
    site = make_site(keys, "stepup-weak", "--weak-authn")
    try:
        s, r = site.login(user="ada")
        mark = len(site.apache.error_log())
        s, r = site.login(session=s, user="ada", path="/mfa/")
        assert r.status_code == 403, r.text
        assert reason_logged(site, mark, "authn_context")
        assert re.search(r"AuthnContextClassRef \S+PasswordProtectedTransport is none of those "
                         r"requested", site.apache.log_since(mark))
        # the old session still does not open /mfa
        assert s.get(site.base + "/mfa/", allow_redirects=False).status_code == 302
    finally:
        site.stop()


@pytest.mark.parametrize("conf,needle", [
    ("FlexSAMLMaxAuthAge 15m\n", "belongs in a <Location>"),
    ("<Location /a>\nFlexSAMLMaxAuthAge 10s\n</Location>\n", "must be between 1 minute"),
    ("<Location /a>\nFlexSAMLAuthnContextClassRef mfa\n</Location>\n", "is not a URI"),
])
def test_configtest(keys, conf, needle):
    import harness
    a = harness.Apache(harness.sp_conf("https://x.example/sso", keys["cert"],
                                       "https://p.example/md", conf), name="stepup-t")
    try:
        res = a.configtest()
    finally:
        a.cleanup()
    assert res.returncode != 0 and needle in res.stderr, res.stderr
