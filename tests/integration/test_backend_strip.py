"""Audit #16, item 7: what a back end gets. A back end behind mod_proxy and a
CGI script never get the module's cookies (FlexSAMLStripCookies off keeps
them), and client-sent identity headers that back ends commonly trust
(X-Remote-User and the like, plus FlexSAMLStripHeaders) never pass, signed
in or not."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import harness
from conftest import Site

SPOOFED = {"X-Remote-User": "admin", "X-Forwarded-User": "admin", "X-Auth-Request-User": "admin",
           "X-Auth-Request-Email": "admin@example.com", "X-Custom-Identity": "admin"}


class Echo:
    """A back end that answers with the headers it got, as JSON."""

    def __init__(self):
        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def proxied_site(keys, echo, extra=""):
    return Site(keys, """
LoadModule proxy_module {mods}/mod_proxy.so
LoadModule proxy_http_module {mods}/mod_proxy_http.so
FlexSAMLStripHeaders X-Custom-Identity
%s
<Location /backend/>
    AuthType FlexSAML
    Require valid-user
    ProxyPass http://127.0.0.1:%d/
</Location>
<Location /open/>
    ProxyPass http://127.0.0.1:%d/
</Location>
""" % (extra, echo.port, echo.port), name="strip").start()


@pytest.fixture(scope="module")
def echo():
    e = Echo()
    yield e
    e.stop()


@pytest.fixture(scope="module")
def strip_site(keys, echo):
    site = proxied_site(keys, echo)
    yield site
    site.stop()


def test_a_proxied_back_end_gets_no_session_cookie(strip_site):
    s, _ = strip_site.login(user="alice")
    s.cookies.set("theme", "dark")
    got = s.get(strip_site.base + "/backend/x", headers=SPOOFED).json()
    assert "flexsaml_session" not in got.get("cookie", "")
    assert "theme=dark" in got.get("cookie", "")
    for name in SPOOFED:
        assert name.lower() not in got, name


def test_a_cgi_gets_no_session_cookie(strip_site):
    s, _ = strip_site.login(user="alice")
    env = strip_site.env(s)
    assert "flexsaml_session" not in env.get("HTTP_COOKIE", "")
    assert env["REMOTE_USER"] == "alice.agent@example.com"
    env = dict(l.split("=", 1) for l in s.get(strip_site.base + "/protected/env.cgi", headers=SPOOFED).text.splitlines()
               if "=" in l)
    assert not [k for k in env if k in ("HTTP_X_REMOTE_USER", "HTTP_X_FORWARDED_USER", "HTTP_X_AUTH_REQUEST_USER",
                                         "HTTP_X_AUTH_REQUEST_EMAIL", "HTTP_X_CUSTOM_IDENTITY")]


def test_identity_headers_are_stripped_without_a_session(strip_site):
    """An unprotected location of a FlexSAML host: no session, still stripped."""
    import requests
    got = requests.get(strip_site.base + "/open/x", headers=SPOOFED).json()
    for name in SPOOFED:
        assert name.lower() not in got, name


def test_strip_cookies_off_keeps_them(keys, echo):
    site = proxied_site(keys, echo, "FlexSAMLStripCookies off")
    try:
        s, _ = site.login(user="alice")
        got = s.get(site.base + "/backend/x").json()
        assert "flexsaml_session=" in got.get("cookie", "")
    finally:
        site.stop()


LUA_ECHO = """function handle(r)
    r.content_type = "text/plain"
    r:puts("cookie=" .. (r.headers_in["Cookie"] or "") .. "\\n")
    return apache2.OK
end
"""


def test_any_application_handler_gets_no_session_cookie(keys):
    """Not only mod_proxy and CGI run applications: PHP, WSGI and Lua are
    handlers too, and before this only proxy and CGI lost the cookies (a
    mod_lua script saw flexsaml_session)."""
    site = Site(keys, """
LoadModule lua_module {mods}/mod_lua.so
<Location /protected/>
    AddHandler lua-script .lua
</Location>
""", name="striplua", extra_files={"htdocs/protected/echo.lua": LUA_ECHO}).start()
    try:
        s, _ = site.login(user="alice")
        s.cookies.set("theme", "dark")
        r = s.get(site.base + "/protected/echo.lua")
        assert r.status_code == 200 and r.text.startswith("cookie="), r.text[:200]
        assert "flexsaml_session" not in r.text and "theme=dark" in r.text
    finally:
        site.stop()
