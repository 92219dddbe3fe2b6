"""FlexSAMLPreservePost (issue 18): a form posted to a protected URL without
a session is kept through the login and replayed to the same URL after it,
byte for byte, only in the browser that posted it, and never stored
unsealed."""
import glob
import hashlib
import os
from urllib.parse import urlparse

import pytest
import requests

from conftest import Site, USER
from harness import saml

ECHO_CGI = r"""#!/usr/bin/python3
import hashlib, os, sys
body = sys.stdin.buffer.read(int(os.environ.get("CONTENT_LENGTH") or 0))
sys.stdout.write("Content-Type: text/plain\n\n")
sys.stdout.write("method=%s\ntype=%s\nsha256=%s\nlength=%d\nuser=%s\n" % (
    os.environ["REQUEST_METHOD"], os.environ.get("CONTENT_TYPE", ""),
    hashlib.sha256(body).hexdigest(), len(body), os.environ.get("REMOTE_USER", "")))
sys.stdout.write("cookie=%s\n" % os.environ.get("HTTP_COOKIE", ""))
if len(body) < 400:
    sys.stdout.write("body=%s\n" % body.decode("latin-1"))
"""
MARKER = b"preserved-post-marker-7f3a"


@pytest.fixture(scope="module")
def post_site(keys):
    s = Site(keys, "FlexSAMLPreservePost 300000\n", name="keeppost")
    s.apache.write("htdocs/protected/form.cgi", ECHO_CGI, 0o755)
    s.start()
    yield s
    s.stop()


def through_idp(site, s, r, user="sam"):
    """From the 302 to the IdP, sign in as user; returns the ACS answer."""
    assert r.status_code == 302, r.text
    loc = r.headers["Location"]
    page = s.get(loc)
    forms = [f for f in saml.parse_forms(page.text) if f[1].get("user") == USER[user]["login"]]
    action, fields = forms[0]
    form = s.post(urlparse(loc)._replace(path=action, query="").geturl(), data=fields)
    acs, post = saml.parse_form(form.text)
    return s.post(acs, data=post, allow_redirects=False)


def browser(site):
    """A session whose POSTs come from the site's own pages, as a browser's do."""
    s = requests.Session()
    s.headers["Origin"] = site.base
    return s


def echo(text):
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def test_multipart_upload_is_replayed_intact(post_site):
    blob = os.urandom(200000) + MARKER
    s = browser(post_site)
    r = s.post(post_site.base + "/protected/form.cgi?step=2", allow_redirects=False,
               data={"note": "caller asked for a refund"},
               files={"attachment": ("call.bin", blob, "application/octet-stream")})
    assert "flexsaml_post" in s.cookies
    sent_type = r.request.headers["Content-Type"]
    sent = r.request.body
    r = through_idp(post_site, s, r)
    assert r.status_code == 303 and r.headers["Location"].endswith("/protected/form.cgi?step=2")
    r = s.get(post_site.base + "/protected/form.cgi?step=2", allow_redirects=False)
    got = echo(r.text)
    assert got["method"] == "POST" and got["type"] == sent_type
    assert got["sha256"] == hashlib.sha256(sent).hexdigest() and int(got["length"]) == len(sent)
    assert got["user"] == USER["sam"]["login"]
    assert "flexsaml" not in got["cookie"]  # the CGI sees none of the module's cookies
    assert "replaying the POST of %d bytes to /protected/form.cgi" % len(sent) in \
        post_site.apache.error_log()
    # once only
    assert echo(s.get(post_site.base + "/protected/form.cgi?step=2").text)["method"] == "GET"
    # the store never saw the body unsealed
    for f in glob.glob(os.path.join(post_site.apache.root, "run", "**", "*.mdb"), recursive=True):
        assert MARKER not in open(f, "rb").read(), f


def test_urlencoded_form_is_replayed(post_site):
    s = browser(post_site)
    r = s.post(post_site.base + "/protected/form.cgi", data={"a": "1 2", "b": "é&x=y"},
               allow_redirects=False)
    r = through_idp(post_site, s, r, user="alice")
    got = echo(s.get(post_site.base + "/protected/form.cgi").text)
    assert got["method"] == "POST" and got["type"] == "application/x-www-form-urlencoded"
    assert got["body"] == "a=1+2&b=%C3%A9%26x%3Dy"


def test_only_the_login_the_post_started_replays(post_site):
    other, _ = post_site.login(user="ada")  # a session made before the POST
    s = browser(post_site)
    s.post(post_site.base + "/protected/form.cgi", data={"a": "1"}, allow_redirects=False)
    # another browser, without the cookie: its own GET
    assert echo(other.get(post_site.base + "/protected/form.cgi").text)["method"] == "GET"
    # even with the cookie, a session older than the POST does not replay it
    other.cookies.set("flexsaml_post", s.cookies.get("flexsaml_post"))
    assert echo(other.get(post_site.base + "/protected/form.cgi").text)["method"] == "GET"
    # a forged or altered cookie opens nothing
    bad = browser(post_site)
    r = bad.post(post_site.base + "/protected/form.cgi", data={"a": "2"}, allow_redirects=False)
    ref, key = bad.cookies.get("flexsaml_post").split(".")
    bad.cookies.set("flexsaml_post", ref + "." + key[::-1])
    through_idp(post_site, bad, r)
    assert echo(bad.get(post_site.base + "/protected/form.cgi").text)["method"] == "GET"


def test_other_url_or_too_large_is_not_replayed(post_site):
    s = browser(post_site)
    r = s.post(post_site.base + "/protected/form.cgi", data={"big": "x" * 400000},
               allow_redirects=False)
    assert r.status_code == 302 and "flexsaml_post" not in s.cookies
    assert "is over FlexSAMLPreservePost 300000 bytes" in post_site.apache.error_log()
    r = through_idp(post_site, s, r)
    assert echo(s.get(post_site.base + "/protected/form.cgi").text)["method"] == "GET"


@pytest.mark.parametrize("headers", [{"Origin": "https://attacker.example"},
                                     {"Sec-Fetch-Site": "cross-site", "Origin": "null"},
                                     {}])
def test_a_form_from_another_site_is_not_kept(post_site, headers):
    """Security: a page of another site posting to a protected URL for a
    person without a session must not have its form replayed under the
    session that person's next (with Okta, silent) login makes: the
    SameSite=Lax session cookie is what stops cross-site forms, and keeping
    the POST would route around it. Kept on the code before the fix."""
    s = requests.Session()
    r = s.post(post_site.base + "/protected/form.cgi", data={"transfer": "all"}, headers=headers,
               allow_redirects=False)
    assert r.status_code == 302 and "flexsaml_post" not in s.cookies
    assert "does not come from this site's pages" in post_site.apache.error_log()
    through_idp(post_site, s, r)
    assert echo(s.get(post_site.base + "/protected/form.cgi").text)["method"] == "GET"


def test_anonymous_posts_beyond_the_budget_are_not_kept(keys):
    """Security: whoever reaches a protected URL can post to it, so what a
    host keeps for clients without a session is bounded (the second value of
    FlexSAMLPreservePost per FlexSAMLRequestLifetime): a flood fills that
    much of the store, never the room sessions need."""
    site = Site(keys, "FlexSAMLPreservePost 2048 4096\n", name="postbudget").start()
    try:
        kept = []
        for _ in range(4):
            s = browser(site)
            r = s.post(site.base + "/protected/", data={"f": "x" * 1400}, allow_redirects=False)
            assert r.status_code == 302
            kept.append("flexsaml_post" in s.cookies)
        assert kept == [True, True, False, False], kept
        assert "already keeps 4096 bytes of such POSTs" in site.apache.error_log()
        # a sign-in still works, and so does the session
        session, _ = site.login(user="ada")
        assert session.get(site.base + "/protected/", allow_redirects=False).status_code == 200
    finally:
        site.stop()


def test_configtest_checks_the_budget(keys):
    site = Site(keys, "FlexSAMLPreservePost 1048576 65536\n", name="postbudgetbad")
    try:
        t = site.apache.configtest()
        assert t.returncode != 0
        assert "must be at least the first" in t.stderr + t.stdout
    finally:
        site.stop()


def raw_exchange(site, request, wait=1.5):
    """Sends bytes on one connection; returns all it answers until it closes or is quiet."""
    import socket
    import time
    port = int(site.base.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(request)
    sock.settimeout(0.3)
    got, end = b"", time.time() + wait
    while time.time() < end:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        got += chunk
    sock.close()
    return got


def test_a_get_with_a_body_gets_no_replay_and_smuggles_nothing(post_site):
    """Security: the replay turns a GET into the kept POST without reading the
    connection. A body sent with that GET stayed on the connection and was
    read as the next request: a second request hidden in it was answered
    (two responses on one connection, the first of them the replay)."""
    s = browser(post_site)
    r = s.post(post_site.base + "/protected/form.cgi", data={"a": "1"}, allow_redirects=False)
    through_idp(post_site, s, r)
    cookies = "; ".join("%s=%s" % (k, v) for k, v in s.cookies.items())
    hidden = b"GET /protected/form.cgi?smuggled=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: " + \
        cookies.encode() + b"\r\n\r\n"
    got = raw_exchange(post_site, b"GET /protected/form.cgi HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: "
                       + cookies.encode() + b"\r\nContent-Length: " + str(len(hidden)).encode()
                       + b"\r\n\r\n" + hidden)
    assert got.count(b"HTTP/1.1 ") == 1, got[:600]
    assert b"method=GET" in got and b"method=POST" not in got
    assert b"smuggled" not in open(post_site.apache.root + "/logs/access.log", "rb").read()
    # the kept POST still waits for a clean GET of that URL
    assert echo(s.get(post_site.base + "/protected/form.cgi").text)["method"] == "POST"
