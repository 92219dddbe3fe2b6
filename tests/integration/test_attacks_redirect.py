"""Open redirects: every hostile target in RelayState (ACS), ReturnTo (/login, /logout) and the
URL of a protected request lands on a local page. The payload list is generated below (over
400 entries): protocol-relative and backslash forms, scheme confusion, userinfo tricks,
encodings and double encodings, whitespace and control characters, IDN and Unicode
look-alikes, script and data URLs, over-long values."""
import http.client
from urllib.parse import parse_qs, unquote, urlparse

import pytest
import requests

from harness import saml

THIS = "portal.example.com"
HOSTS = [
    "evil.example",
    "EVIL.example",
    "evil.example:443",
    "portal.example.com.evil.example",
    "127.0.0.1.evil.example",
    "xn--prtal-bva.example.com",        # punycode look-alike of portal
    "p\u043ertal.example.com",          # Cyrillic o
    "evil\u3002example",                # ideographic full stop
    "\uff45vil.example",                # fullwidth e
    "evil.example%2ecom",
    "2130706433",                       # 127.0.0.1 as a number
    "0x7f.0x0.0x0.0x1",
    "[::ffff:7f00:1]",
    "evil.example\u2044x",              # fraction slash
]
TEMPLATES = [
    "//{h}", "//{h}/", "//{h}/path?q=1", "///{h}", "////{h}", "/\\{h}", "\\/{h}", "\\\\{h}", "/\\/{h}",
    "\\/\\/{h}", "http://{h}", "https://{h}/", "HTTPS://{h}", "hTtP://{h}", "http:{h}", "https:{h}",
    "http:/{h}", "https:/\\{h}", "https:\\\\{h}", "http:\\\\{h}", "http:///{h}", "ftp://{h}",
    "//{h}@" + THIS, "https://" + THIS + "@{h}", "https://" + THIS + ":443@{h}",
    "https://" + THIS + "%40{h}", "https://{h}#@" + THIS, "https://{h}?@" + THIS,
    "https://{h}\\@" + THIS, "https://" + THIS + ".{h}", "https://{h}/" + THIS, "//{h}%2f..",
    "/%2f{h}", "/%2F/{h}", "%2f%2f{h}", "%252f%252f{h}", "/%252f%252f{h}", "/%5c{h}", "/%5C%5C{h}",
    "%5c%5c{h}", "/\t/{h}", "/\r/{h}", "/\n/{h}", "\t//{h}", " //{h}", "//{h}\r\nSet-Cookie: x=y",
    "/ /{h}", "/%09/{h}", "/%0d%0a/{h}", "\u3000//{h}", "\uff0f\uff0f{h}", "\u2215\u2215{h}",
    "/\u2215{h}", "//{h}\x00.portal", "https://{h}%00." + THIS, "http://{h}\t",
]
SCHEMES = [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:alert(1)", "java\nscript:alert(1)",
    " javascript:alert(1)", "javascript://%0aalert(1)", "javascript:/" + "/" + THIS + "/%0aalert(1)",
    "\x01javascript:alert(1)", "&#x6a;avascript:alert(1)", "%6a%61%76%61%73%63%72%69%70%74:alert(1)",
    "data:text/html,<script>alert(1)</script>", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:text/html,x", "vbscript:msgbox(1)", "file:///etc/passwd", "about:blank", "blob:https://evil.example/x",
    "mailto:x@evil.example", "tel:+1", "view-source:https://evil.example", "jar:https://evil.example!/",
    "\"><script>alert(1)</script>", "/'><script>alert(1)</script>", "/\"onmouseover=\"alert(1)",
    "/<svg/onload=alert(1)>", "/x?a=\"b\"", "/`id`", "https://evil.example" + "/a" * 1200,
    "//evil.example/" + "a" * 3000, "/" + "a" * 2100, "/%" + "41" * 1100,
    "/%zz", "/%", "/%0", "/%00", "/%c0%af", "/\u00e9", "/\x7f", "/\x00",
]


def payloads():
    out = [t.format(h=h) for h in HOSTS for t in TEMPLATES] + SCHEMES
    seen, unique = set(), []
    for p in out:
        if p not in seen:
            seen.add(p)
            unique.append(p)
    return unique


PAYLOADS = payloads()


def test_payload_list_is_large():
    assert len(PAYLOADS) >= 300, len(PAYLOADS)


def local(location):
    """A page of this site: an absolute path that no browser reads as another host."""
    return (location.startswith("/") and not location.startswith("//") and "\\" not in location
            and not any(ord(c) < 0x21 or ord(c) > 0x7e for c in location))


def check_all(results, decodes=1):
    """Every landing is local as sent and after `decodes` percent-decodings (a proxy or an
    application that decodes the path once must not turn it into another host)."""
    def ok(loc):
        for _ in range(decodes + 1):
            if not local(loc):
                return False
            loc = unquote(loc)
        return True
    bad = [(p, loc) for p, loc in results if not ok(loc)]
    assert not bad, "%d of %d payloads escaped: %r" % (len(bad), len(results), bad[:10])
    kept = [loc for _, loc in results if loc != "/"]
    assert len(kept) <= len(results) // 20, kept  # nearly all fall back to the default page


def test_relay_state_on_the_acs(site):
    """IdP-initiated logins, each with a hostile RelayState: every one lands on "/"."""
    s = requests.Session()
    results = []
    for p in PAYLOADS:
        s.cookies.clear()
        r = s.post(site.acs, data={"SAMLResponse": saml.b64(site.response("alice")), "RelayState": p},
                   allow_redirects=False)
        assert r.status_code == 303, (p, r.status_code, r.text[:300])
        results.append((p, r.headers["Location"]))
    check_all(results)


def test_return_to_on_login(site):
    """/flexsaml/login?ReturnTo=<payload>: the pending request and RelayState carry "/"."""
    s = requests.Session()
    results = []
    for p in PAYLOADS:
        r = s.get(site.base + "/flexsaml/login", params={"ReturnTo": p}, allow_redirects=False)
        assert r.status_code == 302, (p, r.status_code)
        q = parse_qs(urlparse(r.headers["Location"]).query)
        results.append((p, q.get("RelayState", ["(none)"])[0]))
    check_all(results)


def test_double_decoding_stays_local(site):
    s = requests.Session()
    results = []
    for p in PAYLOADS:
        r = s.get(site.base + "/flexsaml/logout", params={"ReturnTo": p}, headers={"Sec-Fetch-Site": "same-origin"}, allow_redirects=False)
        results.append((p, r.headers["Location"]))
    check_all(results, decodes=2)


def test_return_to_on_logout(site):
    s = requests.Session()
    results = []
    for p in PAYLOADS:
        r = s.get(site.base + "/flexsaml/logout", params={"ReturnTo": p}, headers={"Sec-Fetch-Site": "same-origin"}, allow_redirects=False)
        assert r.status_code == 303, (p, r.status_code)
        results.append((p, r.headers["Location"]))
    check_all(results)


@pytest.mark.parametrize("p", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"])
def test_login_return_to_through_the_whole_flow(site, p):
    """Start at /login with a hostile ReturnTo, sign in at the IdP, land on "/"."""
    s = requests.Session()
    r = s.get(site.base + "/flexsaml/login", params={"ReturnTo": p}, allow_redirects=False)
    loc = r.headers["Location"]
    req = saml.parse_authn_request(parse_qs(urlparse(loc).query)["SAMLRequest"][0])
    body = site.response("alice", in_response_to=req["ID"])
    r = site.post(body, relay_state=parse_qs(urlparse(loc).query).get("RelayState", [None])[0], session=s)
    assert r.status_code == 303 and r.headers["Location"] == "/"


def raw_get(site, path, headers=()):
    c = http.client.HTTPConnection("127.0.0.1", site.apache.port, timeout=10)
    c.putrequest("GET", path, skip_accept_encoding=True)
    for k, v in headers:
        c.putheader(k, v)
    c.endheaders()
    r = c.getresponse()
    out = (r.status, dict(r.getheaders()), r.read())
    c.close()
    return out


@pytest.mark.parametrize("path", ["//evil.example/../protected/env.cgi", "//protected/env.cgi",
                                  "/protected/../\\evil.example/../protected/env.cgi"])
def test_protected_url_that_looks_like_another_host(site, path):
    """The login started by a protected request whose raw URL names another host: after the
    IdP, the landing is local."""
    status, headers, _ = raw_get(site, path)
    if status != 302:
        assert status in (400, 403, 404)
        return
    loc = headers["Location"]
    q = parse_qs(urlparse(loc).query)
    req = saml.parse_authn_request(q["SAMLRequest"][0])
    # The browser carries the login-state cookie the 302 set.
    s = requests.Session()
    s.headers["Cookie"] = headers["Set-Cookie"].split(";", 1)[0]
    r = site.post(site.response("alice", in_response_to=req["ID"]), relay_state=q.get("RelayState", [None])[0],
                  session=s)
    assert r.status_code == 303
    assert local(r.headers["Location"]) and "evil" not in r.headers["Location"]


def test_xhr_login_url_with_hostile_path_is_valid_json(site):
    r = requests.get(site.base + "/protected/%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
                     headers={"X-Requested-With": "XMLHttpRequest"}, allow_redirects=False)
    assert r.status_code == 401
    body = r.json()
    assert body["login_url"].startswith(site.base + "/flexsaml/login?ReturnTo=")
    assert "<script>" not in r.text


def test_allowed_host_still_works(keys):
    """Control: a host on FlexSAMLRedirectHosts is honoured, its look-alikes are not."""
    from test_attacks_common import start_site
    s = start_site(keys, "FlexSAMLRedirectDomains app.example.com", name="redir")
    try:
        def land(p):
            return s.post(s.response("alice"), relay_state=p).headers["Location"]
        assert land("https://app.example.com/x") == "https://app.example.com/x"
        assert land("https://x.app.example.com/") == "/"
        for p in ["https://app.example.com.evil.example/", "https://evil.example@app.example.com.evil/",
                  "https://app.example.com@evil.example/", "https://app\u0435xample.com/",
                  "https://APP.EXAMPLE.COM:8443/", "//app.example.com\\@evil.example"]:
            assert land(p) == "/", p
    finally:
        s.stop()

