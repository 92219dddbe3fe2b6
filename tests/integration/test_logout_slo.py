"""Single Logout with the IdP: SP-initiated (a signed LogoutRequest, the
IdP's signed LogoutResponse), IdP-initiated, and refusals of forged logout
messages."""
import os
from urllib.parse import urlparse, parse_qs

import pytest
import requests

import harness
from conftest import Site
from harness import saml

import saml_logout


def slo_site(keys, extra="", name="slo"):
    site = Site(keys, "FlexSAMLSPCertificateFile %s\nFlexSAMLSPPrivateKeyFile %s\n%s" % (
        keys["cert"], keys["key"], extra), name=name)
    site.idp.args += ["--slo", "--sp-cert", keys["cert"]]
    site.idp.start()
    md = requests.get(site.idp.metadata_url).text
    assert "SingleLogoutService" in md
    path = os.path.join(site.apache.root, "conf", "idp-metadata.xml")
    open(path, "w").write(md)
    text = open(site.apache.conf_path).read()
    text = "\n".join(l for l in text.splitlines()
                     if not l.startswith(("FlexSAMLIdPCertificateFile", "FlexSAMLIdPSSOURL", "FlexSAMLIdPIssuer")))
    open(site.apache.conf_path, "w").write(text + "\nFlexSAMLIdPMetadataFile %s\n" % path)
    site.apache.start()
    site.slo_url = site.idp.sso_url.replace("/sso/saml", "/slo/saml")
    return site


@pytest.fixture(scope="module")
def slo(keys):
    site = slo_site(keys)
    yield site
    site.stop()


def idp_log(site):
    return requests.get(site.idp.sso_url.replace("/sso/saml", "/slo/log")).json()


def test_sp_metadata_announces_single_logout(slo):
    md = requests.get(slo.base + "/flexsaml/metadata").text
    assert 'SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" ' \
           'Location="%s/flexsaml/logout"' % slo.base in md


def test_sp_initiated_single_logout(slo):
    s, r = slo.login(user="sam")
    assert r.status_code == 303
    r = s.get(slo.base + "/flexsaml/logout?ReturnTo=/index.html", headers={"Sec-Fetch-Site": "same-origin"}, allow_redirects=False)
    assert r.status_code == 303
    loc = r.headers["Location"]
    assert loc.startswith(slo.slo_url + "?SAMLRequest=") and "&Signature=" in loc
    assert "Max-Age=0" in r.headers["Set-Cookie"]
    back = s.get(loc, allow_redirects=False)             # the IdP answers...
    assert back.status_code == 302
    entry = idp_log(slo)[-1]
    assert entry["signature_ok"] is True and entry["name_id"] == "sam.supervisor@example.com"
    assert entry["session_index"] and entry["destination"] == slo.slo_url
    assert entry["issuer"] == slo.entity
    done = s.get(back.headers["Location"], allow_redirects=False)  # ...and we finish
    assert done.status_code == 303 and done.headers["Location"] == "/index.html"
    assert s.get(slo.base + "/protected/", allow_redirects=False).status_code == 302
    assert "single logout completed" in slo.apache.error_log()


def test_idp_initiated_logout_ends_the_matching_session(slo):
    s = requests.Session()
    assert slo.post(slo.response("alice", session_index="sess-alice-1"), session=s).status_code == 303
    other = requests.Session()
    assert slo.post(slo.response("alice", session_index="sess-alice-2"), session=other).status_code == 303
    r = requests.get(slo.idp.sso_url.replace("/sso/saml", "/slo/init"),
                     params={"name_id": "alice.agent@example.com", "session_index": "sess-alice-1"},
                     allow_redirects=False)
    to_sp = requests.get(r.headers["Location"], allow_redirects=False)
    assert to_sp.status_code == 303 and to_sp.headers["Location"].startswith(slo.slo_url + "?SAMLResponse=")
    assert requests.get(to_sp.headers["Location"]).status_code == 200
    assert idp_log(slo)[-1]["signature_ok"] is True and idp_log(slo)[-1]["kind"] == "LogoutResponse"
    assert s.get(slo.base + "/protected/", allow_redirects=False).status_code == 302
    assert other.get(slo.base + "/protected/", allow_redirects=False).status_code == 200


def test_forged_logout_messages_are_refused(slo, keys):
    s, _ = slo.login(user="ada")
    # Signed by another key.
    url, _ = saml_logout.logout_request_url(slo.base + "/flexsaml/logout", harness.ISSUER,
                                            "ada.admin@example.com", None,
                                            os.path.join(keys["dir"], "attacker.key"))
    r = requests.get(url, allow_redirects=False)
    assert r.status_code == 400 and "signature_invalid" in r.text
    # Unsigned.
    r = requests.get(url.split("&SigAlg=")[0], allow_redirects=False)
    assert r.status_code == 400 and "signature_invalid" in r.text
    # A LogoutResponse to a request we never sent.
    url = saml_logout.logout_response_url(slo.base + "/flexsaml/logout", harness.ISSUER, "_never",
                                          keys["key"])
    r = requests.get(url, allow_redirects=False)
    assert r.status_code == 400 and "unknown_request" in r.text
    assert s.get(slo.base + "/protected/", allow_redirects=False).status_code == 200


def test_without_slo_logout_is_local(site):
    s, _ = site.login(user="alice")
    r = s.get(site.base + "/flexsaml/logout", headers={"Sec-Fetch-Site": "same-origin"}, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"] == "/"


def test_deflate_bomb_on_the_redirect_binding_stops_at_the_cap(slo, keys):
    """A logout message that inflates to 3 MB (under the 8 KB request line) is refused after 64 KiB, even
    when correctly signed; the server keeps answering."""
    import base64
    import zlib
    from urllib.parse import quote
    import xmlsec
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = c.compress(b"<samlp:LogoutResponse xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol'>" +
                      b" " * (3 * 1024 * 1024)) + c.flush()
    query = "SAMLResponse=%s&SigAlg=%s" % (quote(base64.b64encode(bomb).decode(), safe=""),
                                            quote(saml_logout.RSA_SHA256, safe=""))
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_file(keys["key"], xmlsec.constants.KeyDataFormatPem)
    sig = ctx.sign_binary(query.encode(), xmlsec.constants.TransformRsaSha256)
    url = slo.base + "/flexsaml/logout?" + query + "&Signature=" + quote(base64.b64encode(sig).decode(), safe="")
    assert len(url) < 8000
    mark = slo.apache.log_mark()
    r = requests.get(url, allow_redirects=False)
    assert r.status_code == 400 and "bad_response" in r.text
    assert "over 64 KiB" in slo.apache.log_since(mark)
    assert requests.get(slo.base + "/index.html").status_code == 200


# ---- audit #16, items 3 and 4: a Single Logout that cannot be replayed ----

def alice_session(site, index):
    s = requests.Session()
    assert site.post(site.response("alice", session_index=index), session=s).status_code == 303
    return s


def signed_in(site, s):
    return s.get(site.base + "/protected/", allow_redirects=False).status_code == 200


def idp_request(site, keys, session_index=None, base=None, **kw):
    url, _ = saml_logout.logout_request_url((base or site.base) + "/flexsaml/logout", harness.ISSUER,
                                            "alice.agent@example.com", session_index, keys["key"], **kw)
    return url


def test_a_captured_logout_request_cannot_be_replayed(slo, keys):
    first = alice_session(slo, "sess-replay")
    url = idp_request(slo, keys, "sess-replay")
    assert requests.get(url, allow_redirects=False).status_code == 303
    assert not signed_in(slo, first)
    again = alice_session(slo, "sess-replay")
    r = requests.get(url, allow_redirects=False)
    assert r.status_code == 400 and "replayed" in r.text
    assert signed_in(slo, again)


@pytest.mark.parametrize("kw,code", [
    (dict(issue_instant="2001-01-01T00:00:00Z"), "expired"),
    (dict(issue_instant="2099-01-01T00:00:00Z"), "not_yet_valid"),
    (dict(not_on_or_after="2001-01-01T00:00:00Z"), "expired"),
    (dict(destination="https://other-sp.example/flexsaml/logout"), "destination_mismatch"),
])
def test_a_stale_or_misaddressed_logout_request_is_refused(slo, keys, kw, code):
    s = alice_session(slo, "sess-stale")
    r = requests.get(idp_request(slo, keys, "sess-stale", **kw), allow_redirects=False)
    assert r.status_code == 400 and code in r.text
    assert signed_in(slo, s)


def test_a_logout_request_without_session_index_ends_every_session(slo, keys):
    # The earlier tests' sessions of alice end first, so the count is exact.
    assert requests.get(idp_request(slo, keys), allow_redirects=False).status_code == 303
    a, b = alice_session(slo, "sess-all-1"), alice_session(slo, "sess-all-2")
    mark = slo.apache.log_mark()
    assert requests.get(idp_request(slo, keys), allow_redirects=False).status_code == 303
    assert not signed_in(slo, a) and not signed_in(slo, b)
    assert "2 session(s) ended" in slo.apache.log_since(mark)


def test_a_logout_request_under_another_host_name_ends_the_session(slo, keys):
    s = alice_session(slo, "sess-host")
    other = slo.base.replace("127.0.0.1", "localhost")
    mark = slo.apache.log_mark()
    assert requests.get(idp_request(slo, keys, "sess-host", base=other),
                        allow_redirects=False).status_code == 303
    assert not signed_in(slo, s)
    assert "1 session(s) ended" in slo.apache.log_since(mark)


def test_the_logout_index_keeps_no_session_id(slo):
    """A dump of the store must yield no cookie, passphrase or not."""
    s = alice_session(slo, "sess-dump")
    ids = [c.value for c in s.cookies if len(c.value) >= 16]
    assert ids
    db = open(os.path.join(slo.apache.root, "run", "flexsaml-lmdb", "data.mdb"), "rb").read()
    for v in ids:
        assert v.encode() not in db


# ---- audit #16, item 5: a cross-site page cannot sign anybody out ----

@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": "https://evil.example"},
    {"Referer": "https://evil.example/page"},
    {},  # a page with Referrer-Policy: no-referrer, on a plain http site
], ids=["cross-site", "same-site", "origin", "referer", "no-headers"])
def test_a_cross_site_logout_leaves_the_session(site, headers):
    s, _ = site.login(user="alice")
    r = s.get(site.base + "/flexsaml/logout?ReturnTo=/index.html", headers=headers, allow_redirects=False)
    assert r.status_code == 200 and 'id="confirm-logout"' in r.text
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert "Max-Age=0" not in r.headers.get("Set-Cookie", "")
    assert signed_in(site, s)


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "same-origin"},
    {"Sec-Fetch-Site": "none"},  # typed, or a bookmark
    {"Origin": "http://127.0.0.1:%(port)s"},
    {"Referer": "http://127.0.0.1:%(port)s/me/"},
], ids=["same-origin", "typed", "origin", "referer"])
def test_a_logout_from_the_sites_own_pages_ends_the_session(site, headers):
    s, _ = site.login(user="alice")
    port = site.base.rsplit(":", 1)[1]
    headers = {k: v % {"port": port} for k, v in headers.items()}
    r = s.get(site.base + "/flexsaml/logout", headers=headers, allow_redirects=False)
    assert r.status_code == 303 and "Max-Age=0" in r.headers["Set-Cookie"]
    assert not signed_in(site, s)


def test_the_confirmation_form_needs_the_sessions_token(site):
    import re
    s, _ = site.login(user="alice")
    page = s.get(site.base + "/flexsaml/logout?ReturnTo=/index.html", allow_redirects=False).text
    token = re.search(r'name="token" value="([0-9a-f]{64})"', page).group(1)
    # A cross-site form that guesses the token is asked again.
    r = s.post(site.base + "/flexsaml/logout", data={"token": "0" * 64, "ReturnTo": "/"}, allow_redirects=False)
    assert r.status_code == 200 and 'id="confirm-logout"' in r.text
    assert signed_in(site, s)
    r = s.post(site.base + "/flexsaml/logout", data={"token": token, "ReturnTo": "/index.html"},
               allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"] == "/index.html"
    assert not signed_in(site, s)


@pytest.mark.skipif(not os.path.exists("/usr/lib/apache2/modules/mod_socache_redis.so")
                    or not __import__("shutil").which("redis-server"),
                    reason="needs redis-server and mod_socache_redis (scripts/install-deps)")
def test_a_redis_dump_yields_no_cookie(keys):
    """The audit's reproduction: Single Logout on, no passphrase, apr-util's redis
    socache; every value read back from redis must be free of the session id."""
    from test_redis import RedisServer
    redis = RedisServer().start()
    site = None
    try:
        site = slo_site(keys, "LoadModule socache_redis_module {mods}/mod_socache_redis.so\n"
                              "FlexSAMLSessionCache redis:127.0.0.1:%d" % redis.port, name="slo-redis")
        s = alice_session(site, "sess-redis")
        ids = [c.value for c in s.cookies if len(c.value) >= 16]
        keys_ = redis.cli("--scan").split()
        assert len(keys_) >= 2  # the session and the logout index at least
        values = [redis.cli("GET", k) for k in keys_]
        for v in ids:
            assert not [x for x in values if v in x]
    finally:
        if site:
            site.stop()
        redis.cleanup()


def test_a_logout_request_ends_nothing_of_another_sp_sharing_the_store(keys):
    """Security: two SPs (two entity IDs, here two Apaches) on one store. The
    logout index once held NameID + SessionIndex only, and ending a session by
    its reference ignored the host it belongs to: a LogoutRequest sent to SP B
    ended the person's session on SP A."""
    shared = harness.make_tree("flexsaml-slo-shared-")
    cache = 'FlexSAMLSessionCache "lmdb:%s/lmdb"\n' % shared
    a = slo_site(keys, cache, name="slo-a")
    b = slo_site(keys, cache, name="slo-b")
    try:
        on_a, on_b = alice_session(a, "sess-shared"), alice_session(b, "sess-shared")
        assert requests.get(idp_request(b, keys), allow_redirects=False).status_code == 303
        assert not signed_in(b, on_b)
        assert signed_in(a, on_a)
    finally:
        a.stop()
        b.stop()
