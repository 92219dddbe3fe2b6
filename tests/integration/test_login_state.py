"""Login state in the browser (issue #14): a pending SP-initiated login travels in
the sealed flexsaml_login cookie, anonymous requests write nothing on the server, and
the ACS takes a solicited response only from the browser that started its login."""
import re
import signal
import time
from urllib.parse import parse_qs, urlparse

import pytest
import requests

import harness
from conftest import Site, USER, reason_logged
from harness import saml

STATUS = """
<Location /flexsaml/status>
    SetHandler flexsaml-status
    Require ip 127.0.0.1
</Location>
"""
STATE = "flexsaml_login"


@pytest.fixture(scope="module")
def lsite(keys):
    s = Site(keys, STATUS, name="loginstate").start()
    yield s
    s.stop()


def metric(site, name, **labels):
    text = requests.get(site.base + "/flexsaml/status").text
    lab = ",".join('%s="%s"' % kv for kv in labels.items())
    m = re.search(r"^%s%s (\d+)$" % (re.escape(name), re.escape("{%s}" % lab) if lab else ""), text, re.M)
    assert m, text
    return int(m.group(1))


def state_header(r):
    """The Set-Cookie of the state cookie in a response, or None."""
    for c in r.raw.headers.getlist("Set-Cookie"):
        if c.startswith(STATE + "="):
            return c
    return None


def start(site, s, path="/protected/"):
    r, _, req, _ = site.start_login(s, path)
    return req["ID"], s.cookies.get(STATE), r


def post_with_cookie(site, xml, value):
    """A browser whose only cookie is the given state value (None: no cookie)."""
    s = requests.Session()
    if value is not None:
        s.headers["Cookie"] = "%s=%s" % (STATE, value)
    return site.post(xml, session=s)


def assert_refused(site, mark, r, reason):
    assert r.status_code == 400, r.text[:300]
    assert "Reason: <code>%s</code>" % reason in r.text
    assert "flexsaml_session" not in r.headers.get("Set-Cookie", "")
    assert reason_logged(site, mark, reason)


def test_sp_initiated_login_lands_on_the_return_url(lsite):
    s, r = lsite.login(path="/protected/env.cgi?tab=1")
    assert r.status_code == 303 and r.headers["Location"] == "/protected/env.cgi?tab=1"
    assert s.cookies.get("flexsaml_session")
    # The used state left the cookie; with none left, the cookie is deleted.
    gone = state_header(r)
    assert gone and "Max-Age=0" in gone
    assert lsite.env(s)["FLEX_EMAIL"] == "sam.supervisor@example.com"


def test_state_cookie_attributes_on_http(lsite):
    _, value, r = start(lsite, requests.Session())
    h = state_header(r)
    assert value and len(h) < 1200
    assert "; Path=/" in h and "; HttpOnly" in h and "; Max-Age=600" in h
    # Plain http: no SameSite (browsers take it as Lax), no Secure.
    assert "SameSite" not in h and "Secure" not in h
    assert "flexsaml_session" not in r.headers.get("Set-Cookie", "")


def test_state_cookie_attributes_on_https(keys):
    site = Site(keys, name="lshttps", https=True).start()
    try:
        r = requests.get(site.base + "/protected/", allow_redirects=False, verify=False)
        h = state_header(r)
        # The ACS POST comes cross-site from the IdP: SameSite=None, which needs Secure.
        assert "; Secure" in h and "; SameSite=None" in h and "; HttpOnly" in h
    finally:
        site.stop()


def test_anonymous_requests_write_nothing_on_the_server(lsite):
    before = {op: metric(lsite, "flexsaml_store_operations_total", op=op) for op in ("put", "once")}
    for i in range(200):
        r = requests.get(lsite.base + "/protected/page%d?q=%s" % (i, "x" * 500), allow_redirects=False)
        assert r.status_code == 302 and state_header(r)
    for op, n in before.items():
        assert metric(lsite, "flexsaml_store_operations_total", op=op) == n, op


def test_state_missing_is_refused(lsite):
    rid, _, _ = start(lsite, requests.Session())
    mark = lsite.apache.log_mark()
    r = post_with_cookie(lsite, lsite.response("alice", in_response_to=rid), None)
    assert_refused(lsite, mark, r, "login_state_missing")


@pytest.mark.parametrize("where", [0, 10, 30, -2])
def test_state_tampered_is_refused(lsite, where):
    rid, value, _ = start(lsite, requests.Session())
    i = where % len(value)
    bad = value[:i] + ("A" if value[i] != "A" else "B") + value[i + 1:]
    mark = lsite.apache.log_mark()
    r = post_with_cookie(lsite, lsite.response("alice", in_response_to=rid), bad)
    assert_refused(lsite, mark, r, "login_state_invalid")


def test_state_of_another_site_is_refused(lsite, keys):
    """Another server (another key) sealed it: it does not open here."""
    other = Site(keys, name="lsother").start()
    try:
        _, value, _ = start(other, requests.Session())
    finally:
        other.stop()
    rid, _, _ = start(lsite, requests.Session())
    mark = lsite.apache.log_mark()
    r = post_with_cookie(lsite, lsite.response("alice", in_response_to=rid), value)
    assert_refused(lsite, mark, r, "login_state_invalid")


def test_state_expired_is_refused(keys):
    site = Site(keys, "FlexSAMLRequestLifetime 1", name="lsexpiry").start()
    try:
        rid, value, r = start(site, requests.Session())
        assert "; Max-Age=1" in state_header(r)
        time.sleep(2.2)
        mark = site.apache.log_mark()
        r = post_with_cookie(site, site.response("alice", in_response_to=rid), value)
        assert_refused(site, mark, r, "login_state_expired")
    finally:
        site.stop()


def test_state_from_another_browser_is_refused(lsite):
    """Browser A's cookie with the response to browser B's request."""
    _, value_a, _ = start(lsite, requests.Session())
    rid_b, _, _ = start(lsite, requests.Session())
    mark = lsite.apache.log_mark()
    r = post_with_cookie(lsite, lsite.response("alice", in_response_to=rid_b), value_a)
    assert_refused(lsite, mark, r, "unknown_request")


def test_reused_state_is_refused(lsite):
    """A kept copy of the cookie, with a fresh response to the same request."""
    s = requests.Session()
    rid, value, _ = start(lsite, s)
    assert lsite.post(lsite.response("alice", in_response_to=rid), session=s).status_code == 303
    mark = lsite.apache.log_mark()
    r = post_with_cookie(lsite, lsite.response("alice", in_response_to=rid), value)
    assert_refused(lsite, mark, r, "login_state_reused")


def test_two_tabs_both_land(lsite):
    s = requests.Session()
    rid1, _, _ = start(lsite, s, "/protected/env.cgi?tab=1")
    rid2, _, _ = start(lsite, s, "/protected/env.cgi?tab=2")
    r2 = lsite.post(lsite.response("alice", in_response_to=rid2), session=s)
    assert r2.status_code == 303 and r2.headers["Location"] == "/protected/env.cgi?tab=2"
    # The browser keeps the first tab's state; the server kept nothing.
    assert int(re.search(r"Max-Age=(\d+)", state_header(r2)).group(1)) > 500 and s.cookies.get(STATE)
    r1 = lsite.post(lsite.response("alice", in_response_to=rid1), session=s)
    assert r1.status_code == 303 and r1.headers["Location"] == "/protected/env.cgi?tab=1"
    assert "Max-Age=0" in state_header(r1) and not s.cookies.get(STATE)
    assert lsite.env(s)["FLEX_EMAIL"] == "alice.agent@example.com"


def test_at_most_four_pending_logins_the_oldest_is_dropped(lsite):
    s = requests.Session()
    ids = [start(lsite, s, "/protected/env.cgi?tab=%d" % i)[0] for i in range(5)]
    assert len(s.cookies.get(STATE)) < 2000
    mark = lsite.apache.log_mark()
    r = lsite.post(lsite.response("alice", in_response_to=ids[0]), session=s)
    assert_refused(lsite, mark, r, "unknown_request")
    for i in range(1, 5):
        r = lsite.post(lsite.response("alice", in_response_to=ids[i]), session=s)
        assert r.status_code == 303 and r.headers["Location"] == "/protected/env.cgi?tab=%d" % i


def test_long_return_url_lands_on_the_default(lsite):
    s = requests.Session()
    rid, value, _ = start(lsite, s, "/protected/env.cgi?q=" + "x" * 1000)
    assert len(value) < 1000
    r = lsite.post(lsite.response("alice", in_response_to=rid), session=s)
    assert r.status_code == 303 and r.headers["Location"] == "/"


def test_login_csrf_from_another_site_is_refused(lsite):
    """The attacker starts a login for their own account and posts the response from their
    site into the victim's browser. A victim without a pending login, and one with a pending
    login of their own, both stay signed out."""
    attacker = requests.Session()
    rid, _, _ = start(lsite, attacker)
    xml = lsite.response("ada", in_response_to=rid)
    cross = {"Origin": "https://evil.example", "Referer": "https://evil.example/csrf.html"}
    mark = lsite.apache.log_mark()
    victim = requests.Session()
    r = lsite.post(xml, session=victim, headers=cross)
    assert_refused(lsite, mark, r, "login_state_missing")
    start(lsite, victim)
    mark = lsite.apache.log_mark()
    r = lsite.post(lsite.response("ada", in_response_to=rid), session=victim, headers=cross)
    assert_refused(lsite, mark, r, "unknown_request")
    assert not victim.cookies.get("flexsaml_session")
    assert victim.get(lsite.base + "/protected/", allow_redirects=False).status_code == 302


def test_idp_initiated_login_needs_no_state(lsite):
    r = lsite.post(lsite.response("alice"), session=requests.Session())
    assert r.status_code == 303 and "flexsaml_session=" in r.headers["Set-Cookie"]


def test_pending_login_survives_a_graceful_restart(keys):
    site = Site(keys, name="lsgraceful").start()
    try:
        s = requests.Session()
        rid, _, _ = start(site, s)
        mark = site.apache.log_mark()
        site.apache.proc.send_signal(signal.SIGUSR1)
        deadline = time.time() + 15
        while "resuming normal operations" not in site.apache.log_since(mark) and time.time() < deadline:
            time.sleep(0.1)
        r = site.post(site.response("alice", in_response_to=rid), session=s)
        assert r.status_code == 303, r.text[:300]
    finally:
        site.stop()


def test_farm_with_one_passphrase_shares_the_state(keys):
    """Two servers with the same FlexSAMLCryptoPassphrase and public URL (as behind a load
    balancer): a login started on one finishes on the other."""
    public, env = "http://farm.example", {"FLEXSAML_TEST_PASS": "a passphrase of the farm, long enough"}
    conf = "UseCanonicalName On\nServerName farm.example:80\nFlexSAMLCryptoPassphrase env:FLEXSAML_TEST_PASS\n"
    nodes = [harness.Apache(harness.sp_conf("https://idp.example/sso", keys["cert"],
                                            public + "/flexsaml/metadata", conf), name="lsfarm%d" % i)
             for i in (1, 2)]
    try:
        for n in nodes:
            n.start(env=env)
        s = requests.Session()
        r = s.get(nodes[0].url + "/protected/env.cgi?farm=1", allow_redirects=False)
        rid = saml.parse_authn_request(parse_qs(urlparse(r.headers["Location"]).query)["SAMLRequest"][0])["ID"]
        xml = saml.build_response(user=USER["alice"], issuer=harness.ISSUER,
                                  sp_entity_id=public + "/flexsaml/metadata", acs_url=public + "/flexsaml/acs",
                                  signer=keys["signer"], in_response_to=rid)
        r = s.post(nodes[1].url + "/flexsaml/acs", data={"SAMLResponse": saml.b64(xml)}, allow_redirects=False)
        assert r.status_code == 303 and r.headers["Location"] == "/protected/env.cgi?farm=1", r.text[:300]
    finally:
        for n in nodes:
            n.cleanup()
