"""End-to-end SSO through a real Apache with mod_flexsaml and the test IdP."""
import datetime
import time
from urllib.parse import quote, urlparse

import pytest
import requests
from lxml import etree

from conftest import Site, USER
from harness import saml

MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"


def session_cookie(r):
    return r.cookies.get("flexsaml_session")


def test_metadata_describes_the_sp(site):
    r = requests.get(site.base + "/flexsaml/metadata")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/samlmetadata+xml")
    root = etree.fromstring(r.content)
    assert root.get("entityID") == site.entity
    sp = root.find(MD + "SPSSODescriptor")
    acs = sp.find(MD + "AssertionConsumerService")
    assert acs.get("Location") == site.acs
    assert acs.get("Binding") == "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
    assert sp.findtext(MD + "NameIDFormat") == "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
    assert sp.find(MD + "KeyDescriptor") is None  # no SP certificate configured here


def test_protected_request_redirects_to_idp_with_authn_request(site):
    r, loc, req, relay = site.start_login(requests.Session(), "/protected/env.cgi?a=1")
    assert loc.startswith(site.idp.sso_url + "?")
    assert req["Issuer"] == site.entity
    assert req["AssertionConsumerServiceURL"] == site.acs
    assert req["ProtocolBinding"] == "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
    assert req["Destination"] == site.idp.sso_url
    assert req["NameIDPolicyFormat"] == "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
    assert req["ID"] and req["ID"][0].isalpha() or req["ID"][0] == "_"
    assert relay == "/protected/env.cgi?a=1"
    assert "flexsaml_session" not in r.headers.get("Set-Cookie", "")
    assert r.headers["Cache-Control"] == "no-store"


def test_unprotected_page_needs_no_login(site):
    r = requests.get(site.base + "/index.html", allow_redirects=False)
    assert r.status_code == 200 and "home" in r.text


def test_sp_initiated_login_lands_on_original_url_with_identity(site):
    s, r = site.login(user="sam", path="/protected/env.cgi?x=1")
    assert r.status_code == 303
    assert r.headers["Location"] == "/protected/env.cgi?x=1"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http here
    env = site.env(s, "/protected/env.cgi?x=1")
    assert env["REMOTE_USER"] == "sam.supervisor@example.com"
    assert env["AUTH_TYPE"] == "FlexSAML"
    assert env["FLEX_NAME_ID"] == "sam.supervisor@example.com"
    assert env["FLEX_FULL_NAME"] == "Sam Supervisor"
    assert env["FLEX_EMAIL"] == "sam.supervisor@example.com"
    assert env["FLEX_ROLES"] == "supervisor"
    assert env["FLEX_IMAGE_URL"] == "https://example.com/avatars/sam.png"


@pytest.mark.parametrize("user,roles", [("ada", "admin,supervisor"), ("alice", "agent"),
                                        ("wendy", "agent,wfo.full_access")])
def test_roles_are_normalized(site, user, roles):
    s, r = site.login(user=user)
    env = site.env(s)
    assert env["FLEX_ROLES"] == roles
    assert "FLEX_IMAGE_URL" not in env  # these people have no profileUrl


def test_multi_valued_and_messy_roles(site):
    u = USER["alice"]
    attrs = [("full_name", ["Alice Agent"], saml.BASIC), ("email", [u["email"]], saml.BASIC),
             ("roles", [" Agent ", "SUPERVISOR,agent", ""], saml.BASIC)]
    s = requests.Session()
    r = site.post(site.response("alice", attributes=attrs), session=s)
    assert r.status_code == 303, r.text
    assert site.env(s)["FLEX_ROLES"] == "agent,supervisor"


def test_idp_initiated_login_lands_on_default_url(site):
    s = requests.Session()
    page = s.get(site.idp.init_url, params={"user": USER["ada"]["login"]})
    acs, fields = saml.parse_form(page.text)
    assert acs == site.acs and "RelayState" not in fields
    r = s.post(acs, data=fields, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"] == "/"
    assert site.env(s)["FLEX_ROLES"] == "admin,supervisor"


def test_idp_initiated_with_local_relay_state(site):
    s = requests.Session()
    r = site.post(site.response("alice"), relay_state="/protected/env.cgi", session=s)
    assert r.status_code == 303 and r.headers["Location"] == "/protected/env.cgi"


@pytest.mark.parametrize("relay", ["https://evil.example/", "//evil.example/x", "/\\evil.example",
                                   "javascript:alert(1)"])
def test_off_site_relay_state_lands_on_default_url(site, relay):
    s = requests.Session()
    r = site.post(site.response("alice"), relay_state=relay, session=s)
    assert r.status_code == 303 and r.headers["Location"] == "/"
    assert session_cookie(r)


def test_session_survives_across_requests(site):
    s, _ = site.login(user="alice")
    for _ in range(5):
        assert site.env(s)["REMOTE_USER"] == "alice.agent@example.com"


def test_session_id_is_fresh_and_never_adopted(site):
    s = requests.Session()
    planted = "A" * 43
    s.cookies.set("flexsaml_session", planted, domain="127.0.0.1", path="/")
    r = site.post(site.response("alice"), session=s)
    new = session_cookie(r)
    assert new and new != planted and len(new) >= 22  # 128 bits or more
    s2, r2 = site.login(user="alice")
    assert session_cookie(r2) != new


def test_planted_cookie_opens_nothing(site):
    s = requests.Session()
    s.cookies.set("flexsaml_session", "A" * 43, domain="127.0.0.1", path="/")
    r = s.get(site.base + "/protected/", allow_redirects=False)
    assert r.status_code == 302


def test_local_logout_ends_the_session(site):
    s, _ = site.login(user="alice")
    cookie = s.cookies.get("flexsaml_session")
    r = s.get(site.base + "/flexsaml/logout?ReturnTo=/index.html", headers={"Sec-Fetch-Site": "same-origin"}, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"] == "/index.html"
    assert "Max-Age=0" in r.headers["Set-Cookie"]
    # Even with the old cookie replayed, the session is gone from the store.
    s2 = requests.Session()
    s2.cookies.set("flexsaml_session", cookie, domain="127.0.0.1", path="/")
    assert s2.get(site.base + "/protected/", allow_redirects=False).status_code == 302


def test_logout_return_to_off_site_goes_to_default(site):
    r = requests.get(site.base + "/flexsaml/logout?ReturnTo=https://evil.example/",
                     allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"] == "/"


def test_login_endpoint_starts_sp_initiated_login(site):
    r = requests.get(site.base + "/flexsaml/login?ReturnTo=/protected/env.cgi", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(site.idp.sso_url)


def test_xhr_without_session_gets_401_json(site):
    r = requests.get(site.base + "/protected/", headers={"X-Requested-With": "XMLHttpRequest"},
                     allow_redirects=False)
    assert r.status_code == 401
    body = r.json()
    assert body["error"] == "login_required"
    assert body["login_url"].startswith(site.base + "/flexsaml/login?ReturnTo=")


@pytest.fixture(scope="module")
def short_site(keys):
    s = Site(keys, "FlexSAMLSessionLifetime 2", name="short").start()
    yield s
    s.stop()


def test_session_expires_after_lifetime(short_site):
    s, r = short_site.login(user="alice")
    assert short_site.env(s)["REMOTE_USER"]
    time.sleep(2.5)
    assert s.get(short_site.base + "/protected/", allow_redirects=False).status_code == 302


def test_session_capped_by_session_not_on_or_after(site):
    cap = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)
    s = requests.Session()
    r = site.post(site.response("alice", session_not_on_or_after=cap), session=s)
    assert r.status_code == 303
    assert site.env(s)["REMOTE_USER"]
    time.sleep(2.5)
    assert s.get(site.base + "/protected/", allow_redirects=False).status_code == 302


def test_pending_request_is_single_use(site):
    """The second response to one AuthnRequest is refused even with a fresh assertion."""
    s = requests.Session()
    _, _, req, _ = site.start_login(s)
    r1 = site.post(site.response("alice", in_response_to=req["ID"]), session=s)
    assert r1.status_code == 303
    # The state left the browser's cookie with the first response.
    r2 = site.post(site.response("alice", in_response_to=req["ID"]), session=s)
    assert r2.status_code == 400 and "login_state_missing" in r2.text


def test_https_site_sets_secure_cookie(keys):
    site = Site(keys, name="https", https=True).start()
    try:
        s = requests.Session()
        s.verify = False
        s.trust_env = False
        r = site.post(site.response("alice"), session=s, verify=False)
        assert r.status_code == 303, r.text
        cookie = r.headers["Set-Cookie"]
        assert "; Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        md = s.get(site.base + "/flexsaml/metadata").text
        assert 'Location="https://127.0.0.1:%d/flexsaml/acs"' % site.apache.port in md
    finally:
        site.stop()


def test_acs_form_body_edges(site):
    """The ACS's form parser: empty pairs, a leading and a trailing '&', and the first of two
    values of a name."""
    body = ("&&SAMLResponse=" + quote(saml.b64(site.response("alice")), safe="")
            + "&RelayState=%2Fprotected%2Fenv.cgi%3Fa%3Db&&RelayState=%2Fother&")
    s = requests.Session()
    r = s.post(site.acs, data=body, allow_redirects=False,
               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == "/protected/env.cgi?a=b"
