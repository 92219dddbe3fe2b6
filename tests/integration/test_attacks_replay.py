"""Replay, audience, recipient/destination and validity-window attacks."""
import datetime
import threading

import pytest
import requests

import harness
from harness import saml
from test_attacks_common import accepted, assert_refused, refused, tree, xml

NOW = lambda: datetime.datetime.now(datetime.timezone.utc)  # noqa: E731
SKEW = 60  # FlexSAMLClockSkew default


# ---- replay ----

def test_same_response_twice(site):
    body = xml(tree(site, "alice"))
    accepted(site, body)
    refused(site, body, reason="replayed")


def test_same_response_after_logout(site):
    body = xml(tree(site, "alice"))
    s, _ = accepted(site, body)
    s.get(site.base + "/flexsaml/logout", headers={"Sec-Fetch-Site": "same-origin"}, allow_redirects=False)
    refused(site, body, reason="replayed")


def test_same_assertion_id_in_a_fresh_response(site):
    """A new Response (new ID, fresh times, freshly signed) around an assertion ID already used."""
    aid = saml.new_id()
    accepted(site, xml(tree(site, "alice", assertion_id=aid)))
    refused(site, xml(tree(site, "ada", assertion_id=aid)), reason="replayed")


def test_same_assertion_id_for_another_user(site):
    aid = saml.new_id()
    accepted(site, xml(tree(site, "sam", assertion_id=aid)))
    refused(site, xml(tree(site, "sam", assertion_id=aid, sign_response=True)), reason="replayed")


def test_concurrent_replay_wins_once(site):
    """The same response posted 16 times at once: exactly one login. The replay cache is one
    check-and-insert for every process and thread of the server."""
    body = saml.b64(xml(tree(site, "alice")))
    results = []

    def post():
        r = requests.post(site.acs, data={"SAMLResponse": body}, allow_redirects=False, timeout=30)
        results.append((r.status_code, "flexsaml_session" in r.headers.get("Set-Cookie", ""), r.text))

    threads = [threading.Thread(target=post) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r[0] for r in results) == [303] + [400] * 15
    assert sum(1 for r in results if r[1]) == 1
    assert all("Reason: <code>replayed</code>" in r[2] for r in results if r[0] == 400)


def test_replay_across_sp_initiated_request(site):
    """A response to a pending request, replayed: the request is spent and the assertion used."""
    s = requests.Session()
    _, _, req, _ = site.start_login(s)
    body = xml(tree(site, "alice", in_response_to=req["ID"]))
    r = site.post(body, session=s)
    assert r.status_code == 303
    refused(site, body, reason=("replayed", "unknown_request"))


# ---- audience ----

def test_audience_of_another_app_in_the_same_org(site):
    refused(site, xml(tree(site, audience="http://127.0.0.1:1/other-app/metadata")),
            reason="audience_mismatch")


def test_response_for_another_app_with_its_own_issuer(site):
    refused(site, xml(tree(site, issuer="http://www.okta.com/exk0therapp0000000",
                           audience="https://other.example/saml")),
            reason=("issuer_mismatch", "audience_mismatch"))


@pytest.mark.parametrize("mangle", [lambda e: e + "/", lambda e: e.upper(), lambda e: e.replace("http:", "https:"),
                                    lambda e: e + "\u200b", lambda e: " " + e + "x"])
def test_near_miss_audience(site, mangle):
    refused(site, xml(tree(site, audience=mangle(site.entity))), reason="audience_mismatch")


def test_no_audience_restriction(site):
    refused(site, xml(tree(site, omit=["AudienceRestriction"])), reason="audience_mismatch")


def test_second_restriction_excluding_us(site):
    root = tree(site, sign_response=False, sign_assertion=False)
    cond = root.find("saml2:Assertion/saml2:Conditions", saml.NS)
    extra = saml.parse_xml(b'<saml2:AudienceRestriction xmlns:saml2="%s"><saml2:Audience>https://other.example/'
                           b'</saml2:Audience></saml2:AudienceRestriction>' % saml.NS["saml2"].encode())
    cond.append(extra)
    saml.sign(root, site.keys["signer"])
    refused(site, xml(root), reason="audience_mismatch")


def test_restriction_listing_us_among_others_is_accepted(site):
    root = tree(site, sign_response=False, sign_assertion=False)
    ar = root.find("saml2:Assertion/saml2:Conditions/saml2:AudienceRestriction", saml.NS)
    other = saml.parse_xml(b'<saml2:Audience xmlns:saml2="%s">https://other.example/</saml2:Audience>'
                           % saml.NS["saml2"].encode())
    ar.insert(0, other)
    saml.sign(root, site.keys["signer"])
    accepted(site, xml(root))


# ---- recipient and destination ----

def other_host(site, path="/flexsaml/acs"):
    return "http://127.0.0.2:%d%s" % (site.apache.port, path)


@pytest.mark.parametrize("where", ["path", "host", "scheme", "port", "query", "case"])
def test_destination_elsewhere(site, where):
    dest = {"path": site.base + "/other/acs", "host": other_host(site),
            "scheme": site.acs.replace("http:", "https:"), "port": "http://127.0.0.1:1/flexsaml/acs",
            "query": site.acs + "?x=1", "case": site.acs.replace("/acs", "/ACS")}[where]
    refused(site, xml(tree(site, destination=dest)), reason="destination_mismatch")


@pytest.mark.parametrize("where", ["path", "host", "query"])
def test_recipient_elsewhere(site, where):
    rcpt = {"path": site.base + "/other/acs", "host": other_host(site), "query": site.acs + "?x=1"}[where]
    refused(site, xml(tree(site, recipient=rcpt)), reason="recipient_mismatch")


def test_no_destination(site):
    refused(site, xml(tree(site, omit=["Response/@Destination"])), reason="destination_mismatch")


def test_no_recipient(site):
    refused(site, xml(tree(site, omit=["SubjectConfirmationData/@Recipient"])), reason="recipient_mismatch")


def test_holder_of_key_confirmation_is_not_bearer(site):
    root = tree(site, sign_response=False, sign_assertion=False)
    sc = root.find("saml2:Assertion/saml2:Subject/saml2:SubjectConfirmation", saml.NS)
    sc.set("Method", "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key")
    saml.sign(root, site.keys["signer"])
    refused(site, xml(root), reason="recipient_mismatch")


def test_response_posted_to_the_right_path_with_another_host_header(site):
    """Destination names host A; the POST arrives for host B (Host header): refused."""
    body = saml.b64(xml(tree(site, "alice")))
    mark = site.apache.log_mark()
    s = requests.Session()
    r = s.post(site.acs, data={"SAMLResponse": body}, allow_redirects=False,
               headers={"Host": "portal.example.com:%d" % site.apache.port})
    assert_refused(site, mark, r, 400, "destination_mismatch", session=s)


def test_in_response_to_differs_between_response_and_assertion(site):
    root = tree(site, "alice", in_response_to="_a", sign_response=False, sign_assertion=False)
    root.set("InResponseTo", "_b")
    saml.sign(root, site.keys["signer"])
    refused(site, xml(root), reason="unknown_request")


# ---- validity window, at the skew boundary ----

def window(site, **times):
    return xml(tree(site, "alice", **times))


def test_not_on_or_after_just_inside_the_skew(site):
    t = NOW() - datetime.timedelta(seconds=SKEW - 2)
    accepted(site, window(site, not_on_or_after=t, subject_not_on_or_after=t))


def test_not_on_or_after_just_past_the_skew(site):
    t = NOW() - datetime.timedelta(seconds=SKEW + 1)
    refused(site, window(site, not_on_or_after=t, subject_not_on_or_after=t), reason="expired")


def test_subject_confirmation_expired_alone(site):
    t = NOW() - datetime.timedelta(seconds=SKEW + 1)
    refused(site, window(site, subject_not_on_or_after=t), reason="expired")


def test_conditions_expired_alone(site):
    t = NOW() - datetime.timedelta(seconds=SKEW + 1)
    refused(site, window(site, not_on_or_after=t), reason="expired")


def test_not_before_just_inside_the_skew(site):
    accepted(site, window(site, not_before=NOW() + datetime.timedelta(seconds=SKEW - 2)))


def test_not_before_just_past_the_skew(site):
    refused(site, window(site, not_before=NOW() + datetime.timedelta(seconds=SKEW + 1)), reason="not_yet_valid")


def test_no_not_on_or_after_at_all(site):
    refused(site, window(site, omit=["Conditions/@NotOnOrAfter", "SubjectConfirmationData/@NotOnOrAfter"]),
            reason="expired")


@pytest.mark.parametrize("value", ["2026-13-01T00:00:00Z", "yesterday", "", " ", "9999-99-99T99:99:99Z",
                                   "2026-01-01T00:00:00.Z", "+2026-01-01T00:00:00Z", "2999-01-01T00:00:00Zjunk"])
def test_malformed_timestamp(site, value):
    root = tree(site, "alice", sign_response=False, sign_assertion=False)
    root.find("saml2:Assertion/saml2:Conditions", saml.NS).set("NotOnOrAfter", value)
    saml.sign(root, site.keys["signer"])
    refused(site, xml(root), reason="bad_response")


def test_issued_long_ago_and_expired(site):
    then = NOW() - datetime.timedelta(days=400)
    refused(site, xml(tree(site, "alice", now=then)), reason="expired")


def test_session_not_on_or_after_already_past(site):
    """An assertion whose SessionNotOnOrAfter has passed opens no session."""
    t = NOW() - datetime.timedelta(seconds=SKEW + 5)
    refused(site, window(site, session_not_on_or_after=t), reason="expired")


def test_skew_configured_to_zero(keys):
    from test_attacks_common import start_site
    s = start_site(keys, "FlexSAMLClockSkew 0", name="noskew")
    try:
        t = NOW() - datetime.timedelta(seconds=1)
        refused(s, window(s, not_on_or_after=t, subject_not_on_or_after=t), reason="expired")
        refused(s, window(s, not_before=NOW() + datetime.timedelta(seconds=2)), reason="not_yet_valid")
        accepted(s, window(s))
    finally:
        s.stop()


# ---- the replay cache under load ----

# A marker must outlive hundreds of other logins: store_key.c spreads keys over
# every shmcb sub-cache (tests/unit/test_store_key.c checks the spread).


def test_replay_after_many_other_logins(site):
    """A captured response, replayed inside its validity window after 600 other logins."""
    from concurrent.futures import ThreadPoolExecutor
    body = xml(tree(site, "alice"))
    accepted(site, body)

    def login(_):
        return requests.post(site.acs, data={"SAMLResponse": saml.b64(site.response("sam"))},
                             allow_redirects=False, timeout=30).status_code
    with ThreadPoolExecutor(4) as ex:
        assert set(ex.map(login, range(600))) == {303}
    refused(site, body, reason="replayed")


def test_session_survives_many_other_logins(site):
    from concurrent.futures import ThreadPoolExecutor
    s, _ = accepted(site, xml(tree(site, "ada")))

    def login(_):
        return requests.post(site.acs, data={"SAMLResponse": saml.b64(site.response("sam"))},
                             allow_redirects=False, timeout=30).status_code
    with ThreadPoolExecutor(4) as ex:
        assert set(ex.map(login, range(600))) == {303}
    assert s.get(site.base + "/protected/", allow_redirects=False).status_code == 200
