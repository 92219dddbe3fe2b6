"""Behind a reverse proxy: each forwarded header of a trusted proxy counts on
its own (an ALB sends only X-Forwarded-Proto, an Apache ProxyPass front end
only X-Forwarded-Host); from anyone else they are ignored, and the log and
the refusal page say so."""
import re
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from conftest import Site
from harness import saml

PUBLIC = "portal.example.com"


@pytest.fixture(scope="module")
def trusted(keys):
    s = Site(keys, "FlexSAMLTrustedProxies 127.0.0.1/32\n", name="trusted").start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def untrusted(keys):
    s = Site(keys, name="untrusted").start()
    yield s
    s.stop()


def acs_url(site, headers):
    """The AssertionConsumerServiceURL of the AuthnRequest a protected GET starts."""
    r = requests.get(site.base + "/protected/", headers=headers, allow_redirects=False)
    assert r.status_code == 302, r.text
    q = parse_qs(urlparse(r.headers["Location"]).query)
    return saml.parse_authn_request(q["SAMLRequest"][0])["AssertionConsumerServiceURL"]


@pytest.mark.parametrize("headers,expected", [
    # AWS ALB / nginx: Host kept, only the scheme forwarded.
    ({"Host": PUBLIC, "X-Forwarded-Proto": "https"}, "https://%s/flexsaml/acs" % PUBLIC),
    # Apache ProxyPass front end: X-Forwarded-Host, no proto.
    ({"X-Forwarded-Host": PUBLIC}, "http://%s/flexsaml/acs" % PUBLIC),
    ({"X-Forwarded-Proto": "https", "X-Forwarded-Host": PUBLIC, "X-Forwarded-Port": "8443"},
     "https://%s:8443/flexsaml/acs" % PUBLIC),
    ({"Host": PUBLIC, "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"},
     "https://%s/flexsaml/acs" % PUBLIC),
    ({"X-Forwarded-Host": PUBLIC + ":443", "X-Forwarded-Proto": "https"},
     "https://%s/flexsaml/acs" % PUBLIC),
    ({"Forwarded": 'for=10.0.0.1;proto=https;host="%s"' % PUBLIC}, "https://%s/flexsaml/acs" % PUBLIC),
    ({"Host": PUBLIC, "Forwarded": "proto=https"}, "https://%s/flexsaml/acs" % PUBLIC),
    # A value that is not a scheme or a host is ignored, the other still counts.
    ({"X-Forwarded-Proto": "gopher", "X-Forwarded-Host": PUBLIC}, "http://%s/flexsaml/acs" % PUBLIC),
])
def test_each_forwarded_header_counts_on_its_own(trusted, headers, expected):
    assert acs_url(trusted, headers) == expected


def test_alb_login_with_only_x_forwarded_proto_succeeds(trusted):
    """The ALB case that was refused with destination_mismatch."""
    acs = "https://%s/flexsaml/acs" % PUBLIC
    xml = trusted.response("alice", destination=acs, recipient=acs)
    r = trusted.post(xml, headers={"Host": PUBLIC, "X-Forwarded-Proto": "https"})
    assert r.status_code == 303, r.text[:500]


def test_untrusted_forwarded_proto_is_logged_once_and_blames_apache(untrusted):
    acs = untrusted.acs.replace("http://", "https://")
    mark = untrusted.apache.log_mark()
    pages = []
    for _ in range(3):
        xml = untrusted.response("alice", destination=acs, recipient=acs)
        pages.append(untrusted.post(xml, headers={"X-Forwarded-Proto": "https"}))
    for r in pages:
        assert r.status_code == 400 and "destination_mismatch" in r.text
        assert "FlexSAMLTrustedProxies" in r.text and "Nothing needs to change in Okta" in r.text
        assert "In Okta, the Single sign-on URL" not in r.text
    log = untrusted.apache.log_since(mark)
    lines = re.findall(r"X-Forwarded-Proto: https arrived from 127\.0\.0\.1 and was ignored.*", log)
    # Once per 10 s per process; the test's three requests may reach two
    # processes at most.
    assert 1 <= len(lines) <= 2, log[-3000:]
    assert "FlexSAMLTrustedProxies" in lines[0] and "UseCanonicalName On" in lines[0]


def test_untrusted_forwarded_headers_do_not_change_the_url(untrusted):
    assert acs_url(untrusted, {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}) \
        == untrusted.acs


def test_signed_in_pages_read_no_forwarded_header(keys):
    """The note is for the URLs a browser is sent to (a login's): the session
    check on every protected request does not read forwarded headers for it.
    A server of its own, so that no earlier line holds the once-per-10-s limit."""
    site = Site(keys, name="untrusted-pages").start()
    try:
        s = requests.Session()
        r = site.post(site.response("alice"), session=s)
        assert r.status_code == 303, r.text[:500]
        mark = site.apache.log_mark()
        for _ in range(4):
            r = s.get(site.base + "/protected/", headers={"X-Forwarded-Proto": "https"},
                      allow_redirects=False)
            assert r.status_code == 200, r.text[:500]
        assert "was ignored" not in site.apache.log_since(mark)
        # The same header on a login's URL is still noted.
        acs_url(site, {"X-Forwarded-Proto": "https"})
        log = site.apache.log_since(mark)
        assert "X-Forwarded-Proto: https arrived from 127.0.0.1 and was ignored" in log
    finally:
        site.stop()


def test_headers_that_agree_are_not_logged(untrusted):
    mark = untrusted.apache.log_mark()
    acs_url(untrusted, {"X-Forwarded-Proto": "http"})
    assert "was ignored" not in untrusted.apache.log_since(mark)


def test_of_several_values_the_nearest_proxys_counts(trusted):
    """Security: a proxy that appends (Apache's mod_proxy with X-Forwarded-Host,
    RFC 7239's Forwarded) leaves what the client sent in front of its own
    value. The first value was taken: the client chose the public host."""
    assert acs_url(trusted, {"X-Forwarded-Host": "evil.example, " + PUBLIC}) == \
        "http://%s/flexsaml/acs" % PUBLIC
    assert acs_url(trusted, {"Forwarded": 'host="evil.example";proto=http, host="%s";proto=https'
                             % PUBLIC}) == "https://%s/flexsaml/acs" % PUBLIC


def test_only_the_headers_the_proxy_sets_count(keys):
    """Security: behind a proxy that sets only X-Forwarded-Proto (an AWS ALB),
    a client's own X-Forwarded-Host passes through it; with
    FlexSAMLForwardedHeaders naming what the proxy sets, it is ignored."""
    s = Site(keys, "FlexSAMLTrustedProxies 127.0.0.1/32\n"
             "FlexSAMLForwardedHeaders X-Forwarded-Proto X-Forwarded-Port\n", name="alb").start()
    try:
        host = s.base.split("//", 1)[1]
        assert acs_url(s, {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}) == \
            "https://%s/flexsaml/acs" % host
        t = s.apache.configtest()
        assert t.returncode == 0
    finally:
        s.stop()
    bad = Site(keys, "FlexSAMLForwardedHeaders X-Real-IP\n", name="fwdbad")
    try:
        t = bad.apache.configtest()
        assert t.returncode != 0 and "is not one of Forwarded" in t.stdout + t.stderr
    finally:
        bad.stop()
