"""Claim mapping: more attributes, renamed variables, REMOTE_USER from a
claim, headers for proxied back ends, and no spoofed identity header ever
reaching a CGI or a back end."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

import harness
from conftest import Site, USER
from harness import saml


class Echo(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({k: v for k, v in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


@pytest.fixture(scope="module")
def echo():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv.server_address[1]
    srv.shutdown()


CONF = """
LoadModule proxy_module {mods}/mod_proxy.so
LoadModule proxy_http_module {mods}/mod_proxy_http.so
FlexSAMLClaim groups FLEX_GROUPS indexed
FlexSAMLClaim department DEPARTMENT
FlexSAMLClaim full_name DISPLAY_NAME
FlexSAMLUser email
FlexSAMLMaxAttributeBytes 4096
<Location /app/>
    AuthType FlexSAML
    Require valid-user
    FlexSAMLPassClaimsAs headers
    ProxyPass http://127.0.0.1:ECHO/
</Location>
<Location /open/>
    ProxyPass http://127.0.0.1:ECHO/
</Location>
"""


@pytest.fixture(scope="module")
def csite(keys, echo):
    s = Site(keys, CONF.replace("ECHO", str(echo)), name="claims").start()
    yield s
    s.stop()


def attrs(user, extra=()):
    u = USER[user]
    return [("full_name", ["%s %s" % (u["firstName"], u["lastName"])], saml.BASIC),
            ("email", [u["email"]], saml.BASIC), ("roles", [u["userType"]], saml.BASIC)] + list(extra)


def login(site, user="alice", extra=(), **kw):
    s = requests.Session()
    r = site.post(site.response(user, attributes=attrs(user, extra), **kw), session=s)
    return s, r


def test_more_claims_renames_and_remote_user(csite):
    s, r = login(csite, "alice", [("groups", ["Sales", "EMEA", "Tier 2"], saml.BASIC),
                                  ("department", ["Support"], saml.BASIC)])
    assert r.status_code == 303, r.text
    env = csite.env(s)
    assert env["REMOTE_USER"] == "alice.agent@example.com"
    assert env["FLEX_NAME_ID"] == "alice.agent@example.com"
    assert env["DISPLAY_NAME"] == "Alice Agent" and "FLEX_FULL_NAME" not in env
    assert env["FLEX_GROUPS"] == "Sales,EMEA,Tier 2"
    assert (env["FLEX_GROUPS_0"], env["FLEX_GROUPS_1"], env["FLEX_GROUPS_2"]) == ("Sales", "EMEA", "Tier 2")
    assert env["FLEX_GROUPS_N"] == "3"
    assert env["DEPARTMENT"] == "Support"
    assert env["FLEX_ROLES"] == "agent"


def test_unicode_values_are_kept(csite):
    u = dict(USER["alice"], firstName="Zoë", lastName="Ångström")
    s = requests.Session()
    r = csite.post(csite.response(u, attributes=[("full_name", ["Zoë Ångström"], saml.BASIC),
                                                 ("email", [u["email"]], saml.BASIC),
                                                 ("roles", ["agent"], saml.BASIC)]), session=s)
    assert r.status_code == 303
    raw = s.get(csite.base + "/protected/env.cgi").content.decode("utf-8")
    assert "DISPLAY_NAME=Zoë Ångström" in raw
    got = s.get(csite.base + "/app/").json()
    assert got["X-Flex-Display-Name"].encode("latin-1").decode("utf-8") == "Zoë Ångström"


SPOOF = {"X-Flex-Roles": "admin", "X_Flex_Email": "boss@example.com", "FLEX-ROLES": "admin",
         "X-Flex-Groups-9": "admins", "Remote-User": "boss", "X-Flex-Name-Id": "boss"}


def test_spoofed_headers_never_reach_a_cgi(csite):
    s, _ = login(csite, "alice")
    for sess in (requests.Session(), s):  # unauthenticated and authenticated
        r = sess.get(csite.base + "/index.html", headers=SPOOF)
        assert r.status_code == 200
    env = csite.env(s, "/protected/env.cgi")
    r = s.get(csite.base + "/protected/env.cgi", headers=SPOOF)
    text = r.text
    assert "admin" not in text and "boss" not in text
    assert "HTTP_X_FLEX" not in text and "HTTP_REMOTE_USER" not in text
    assert env["FLEX_ROLES"] == "agent"


def test_claims_as_headers_to_a_proxied_back_end(csite):
    s, _ = login(csite, "alice", [("groups", ["Sales", "EMEA"], saml.BASIC)])
    got = s.get(csite.base + "/app/", headers=SPOOF).json()
    assert got["X-Flex-Roles"] == "agent"
    assert got["X-Flex-Email"] == "alice.agent@example.com"
    assert got["X-Flex-Name-Id"] == "alice.agent@example.com"
    assert got["X-Flex-Groups"] == "Sales,EMEA" and got["X-Flex-Groups-N"] == "2"
    assert "X-Flex-Groups-9" not in got and "X_Flex_Email" not in got
    assert "Remote-User" not in got and "FLEX-ROLES" not in got


def test_unauthenticated_proxy_gets_no_spoofed_headers(csite):
    got = requests.get(csite.base + "/open/", headers=SPOOF).json()
    for h in SPOOF:
        assert h not in got
    assert not any(k.lower().startswith("x-flex") for k in got)


def test_oversized_attribute_is_refused(csite):
    mark = csite.apache.log_mark()
    s, r = login(csite, "alice", [("department", ["x" * 5000], saml.BASIC)])
    assert r.status_code == 400 and "claim_too_large" in r.text
    assert "flexsaml_session" not in r.headers.get("Set-Cookie", "")
    assert "refused reason=claim_too_large" in csite.apache.log_since(mark)


def test_flexsaml_user_claim_required(csite):
    u = USER["alice"]
    s = requests.Session()
    r = csite.post(csite.response("alice", attributes=[("full_name", ["A"], saml.BASIC),
                                                       ("roles", ["agent"], saml.BASIC)]), session=s)
    assert r.status_code == 400 and "missing_claim" in r.text


def test_bad_claim_directives_fail_configtest(keys):
    for line, word in (("FlexSAMLClaim groups 9BAD", "FlexSAMLClaim"),
                       ("FlexSAMLPassClaimsAs cookies", "FlexSAMLPassClaimsAs"),
                       ("FlexSAMLClaim groups G sometimes", "indexed"),
                       ("FlexSAMLHeaderPrefix X_Flex_", "FlexSAMLHeaderPrefix")):
        a = harness.Apache(harness.sp_conf("https://x.example/sso", keys["cert"],
                                           "https://p.example/md", line), name="badclaim")
        try:
            res = a.configtest()
        finally:
            a.cleanup()
        assert res.returncode != 0 and word in res.stderr, (line, res.stderr)
