"""Server farms: two Apaches sharing sessions and the replay cache through
redis (the native redis:// client; apr-util's redis: provider where said) or memcached, a TLS load balancer in front, store outages, restarts
and passphrase rotation."""
import http.client
import os
import re
import shutil
import subprocess
import time
from urllib.parse import urlparse, parse_qs

import pytest
import requests
import urllib3

import harness
from conftest import USER
from harness import saml

urllib3.disable_warnings()

PUBLIC = "http://portal.farm.test"
ENTITY = PUBLIC + "/flexsaml/metadata"
ACS = PUBLIC + "/flexsaml/acs"
OLD = "farm passphrase number one, 2026"
NEW = "farm passphrase number two, 2027"

pytestmark = pytest.mark.skipif(not shutil.which("redis-server") or not shutil.which("memcached"),
                                reason="redis-server and memcached are installed by scripts/install-deps")


class Redis:
    def __init__(self):
        self.port = harness.free_port()
        self.dir = harness.make_tree("flexsaml-redis-")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--save", "3600 1", "--appendonly", "no", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert harness.wait_port(self.port, self.proc)
        return self

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port)] + list(args),
                              capture_output=True).stdout.decode("utf-8", "replace")

    def stop(self, save=True):
        if self.proc and self.proc.poll() is None:
            self.cli("shutdown", "save" if save else "nosave")
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None

    def cleanup(self):
        self.stop(save=False)
        shutil.rmtree(self.dir, ignore_errors=True)


class Memcached:
    def __init__(self):
        self.port = harness.free_port()
        self.proc = subprocess.Popen(["memcached", "-l", "127.0.0.1", "-p", str(self.port), "-U", "0",
                                      "-u", "nobody", "-m", "64"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert harness.wait_port(self.port, self.proc)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)


def farm_node(keys, cache, extra="", name="node", passphrases=(OLD,)):
    mod = "redis" if cache.startswith("redis") else "memcache"
    secrets = ""
    if passphrases:
        secrets = "FlexSAMLCryptoPassphrase " + " ".join("env:FLEXSAML_TEST_PASS_%d" % i
                                                         for i in range(len(passphrases)))
    conf = """
LoadModule socache_%s_module {mods}/mod_socache_%s.so
UseCanonicalName On
ServerName %s
FlexSAMLSessionCache %s
%s
%s
""" % (mod, mod, PUBLIC.split("//")[1] + ":80", cache, secrets, extra)
    a = harness.Apache(harness.sp_conf("https://idp.example/sso", keys["cert"], ENTITY, conf), name=name)
    a.env = {"FLEXSAML_TEST_PASS_%d" % i: p for i, p in enumerate(passphrases)}
    return a


def start(apache):
    apache.start(env=apache.env)
    return apache


def response(keys, user="alice", **kw):
    return saml.build_response(user=USER[user], issuer=harness.ISSUER, sp_entity_id=ENTITY,
                               acs_url=ACS, signer=keys["signer"], **kw)


def post(apache, xml, session=None):
    s = session or requests.Session()
    return s.post(apache.url + "/flexsaml/acs", data={"SAMLResponse": saml.b64(xml)},
                  allow_redirects=False)


def cookie_of(r):
    return r.cookies.get("flexsaml_session")


def get(apache, cookie, path="/protected/env.cgi"):
    return requests.get(apache.url + path, cookies={"flexsaml_session": cookie} if cookie else {},
                        allow_redirects=False)


@pytest.fixture(scope="module")
def redis():
    r = Redis().start()
    yield r
    r.cleanup()


@pytest.fixture(scope="module")
def redis_pair(keys, redis):
    cache = "redis://127.0.0.1:%d" % redis.port
    a = start(farm_node(keys, cache, name="a"))
    b = start(farm_node(keys, cache, name="b"))
    yield a, b
    a.cleanup()
    b.cleanup()


@pytest.fixture(scope="module")
def memcache_pair(keys):
    m = Memcached()
    cache = "memcache:127.0.0.1:%d" % m.port
    a = start(farm_node(keys, cache, name="ma"))
    b = start(farm_node(keys, cache, name="mb"))
    yield a, b
    a.cleanup()
    b.cleanup()
    m.stop()


@pytest.mark.parametrize("pair", ["redis_pair", "memcache_pair"])
def test_login_on_a_is_valid_on_b_and_logout_on_b_ends_it(request, keys, pair):
    a, b = request.getfixturevalue(pair)
    r = post(a, response(keys, "sam"))
    assert r.status_code == 303, r.text
    cookie = cookie_of(r)
    got = get(b, cookie)
    assert got.status_code == 200 and "FLEX_EMAIL=sam.supervisor@example.com" in got.text
    out = requests.get(b.url + "/flexsaml/logout", cookies={"flexsaml_session": cookie}, headers={"Sec-Fetch-Site": "same-origin"},
                       allow_redirects=False)
    assert out.status_code == 303
    assert get(a, cookie).status_code == 302


@pytest.mark.parametrize("pair", ["redis_pair", "memcache_pair"])
def test_response_replayed_on_the_other_server_is_refused(request, keys, pair):
    a, b = request.getfixturevalue(pair)
    xml = response(keys, "alice")
    assert post(a, xml).status_code == 303
    mark = b.log_mark()
    r = post(b, xml)
    assert r.status_code == 400 and "Reason: <code>replayed</code>" in r.text
    assert "refused reason=replayed" in b.log_since(mark)


def test_values_in_redis_are_sealed(keys, redis, redis_pair):
    a, _ = redis_pair
    r = post(a, response(keys, "ada"))
    assert r.status_code == 303
    dump = ""
    for key in redis.cli("--scan").split():
        dump += redis.cli("--no-raw", "get", key)
    assert dump, "the session is in redis"
    assert "ada.admin@example.com" not in dump and "Ada Admin" not in dump
    # Keys are a spread byte, a kind letter and a SHA-256 in hex, never ids or
    # names (a bare "ada" test failed whenever a hash happened to hold "ada").
    for key in redis.cli("--scan").split():
        assert re.fullmatch(r"flexsaml:[!-~][A-Za-z][0-9a-f]{64}", key), key


def test_without_passphrase_values_are_clear_and_configtest_warns(keys, redis):
    node = farm_node(keys, "redis:127.0.0.1:%d" % redis.port, name="clear", passphrases=())
    res = node.configtest()
    assert res.returncode == 0 and "FlexSAMLCryptoPassphrase" in res.stderr
    start(node)
    try:
        before = set(redis.cli("--scan").split())
        assert post(node, response(keys, "wendy")).status_code == 303
        new = set(redis.cli("--scan").split()) - before
        assert any("wendy.wfo@example.com" in redis.cli("get", k) for k in new)
    finally:
        node.cleanup()


def test_store_outage_gives_503_then_recovers(keys):
    rd = Redis().start()
    node = start(farm_node(keys, "redis://127.0.0.1:%d" % rd.port, "FlexSAMLSessionCacheTimeout 200ms 2s",
                           name="outage"))
    try:
        cookie = cookie_of(post(node, response(keys, "alice")))
        assert get(node, cookie).status_code == 200
        rd.stop(save=True)
        mark = node.log_mark()
        t0 = time.time()
        for _ in range(5):
            r = get(node, cookie)
            # The native client tells an unreachable server from an absent session: the
            # 503 page, never a login (apr-util's redis: provider gave a 302 here).
            assert r.status_code == 503, r.status_code
            assert "Session store unavailable" in r.text and "session_store" in r.text
            assert "flexsaml_session" not in r.headers.get("Set-Cookie", "")
        assert time.time() - t0 < 10
        r = post(node, response(keys, "alice"))
        assert r.status_code == 503 and "flexsaml_session" not in r.headers.get("Set-Cookie", "")
        log = node.log_since(mark)
        # once per interval per process (the harness runs two children)
        assert 1 <= log.count("refused reason=session_store") <= 2
        assert "cannot be reached" in log
        assert "Segmentation fault" not in node.error_log()
        rd.start()
        t0 = time.time()
        deadline = t0 + 10
        streak = 0
        while streak < 10 and time.time() < deadline:
            streak = streak + 1 if get(node, cookie).status_code == 200 else 0
            time.sleep(0.05)
        print("store recovery after redis restart: %.1f s" % (time.time() - t0))
        assert streak == 10, "the saved session is back within 10 s"
        assert post(node, response(keys, "sam")).status_code == 303, "logins work again"
    finally:
        node.cleanup()
        rd.cleanup()


def test_sessions_survive_a_restart_of_every_apache(keys, redis):
    cache = "redis:127.0.0.1:%d" % redis.port
    a = start(farm_node(keys, cache, name="ra"))
    try:
        cookie = cookie_of(post(a, response(keys, "sam")))
        a.stop()
        start(a)
        assert get(a, cookie).status_code == 200
        # A graceful restart, too.
        subprocess.run([harness.APACHE, "-f", a.conf_path, "-k", "graceful"], check=True,
                       env=dict(os.environ, **a.env))
        time.sleep(1.5)
        assert get(a, cookie).status_code == 200
    finally:
        a.cleanup()


def test_passphrase_rotation(keys, redis):
    cache = "redis:127.0.0.1:%d" % redis.port
    old = start(farm_node(keys, cache, name="rot1", passphrases=(OLD,)))
    cookie = cookie_of(post(old, response(keys, "alice")))
    old.cleanup()
    both = start(farm_node(keys, cache, name="rot2", passphrases=(NEW, OLD)))
    try:
        assert get(both, cookie).status_code == 200
        cookie2 = cookie_of(post(both, response(keys, "sam")))
    finally:
        both.cleanup()
    only_new = start(farm_node(keys, cache, name="rot3", passphrases=(NEW,)))
    try:
        assert get(only_new, cookie2).status_code == 200  # sealed with the new key
        assert get(only_new, cookie).status_code == 302   # the old key is retired
    finally:
        only_new.cleanup()


# ---- behind a TLS load balancer ----

LB_CONF = """
LoadModule ssl_module {mods}/mod_ssl.so
LoadModule proxy_module {mods}/mod_proxy.so
LoadModule proxy_http_module {mods}/mod_proxy_http.so
LoadModule proxy_balancer_module {mods}/mod_proxy_balancer.so
LoadModule lbmethod_byrequests_module {mods}/mod_lbmethod_byrequests.so
LoadModule slotmem_shm_module {mods}/mod_slotmem_shm.so
SSLEngine on
SSLCertificateFile CERT
SSLCertificateKeyFile KEY
<Proxy balancer://farm>
    BalancerMember http://127.0.0.1:APORT
    BalancerMember http://127.0.0.1:BPORT
</Proxy>
RequestHeader set X-Forwarded-Proto https
ProxyPass /flexsaml-lb-status !
ProxyPass / balancer://farm/
"""


@pytest.fixture(scope="module")
def balanced(keys, redis):
    lb_port = harness.free_port()
    public = "https://127.0.0.1:%d" % lb_port
    cache = "redis:127.0.0.1:%d" % redis.port
    idp = harness.IdP(keys["key"], keys["cert"], public + "/flexsaml/metadata", public + "/flexsaml/acs")
    idp.start()
    nodes = []
    for n in ("lba", "lbb"):
        conf = """
LoadModule socache_redis_module {mods}/mod_socache_redis.so
FlexSAMLSessionCache %s
FlexSAMLCryptoPassphrase env:FLEXSAML_TEST_PASS_0
FlexSAMLTrustedProxies 127.0.0.1/32
""" % cache
        node = harness.Apache(harness.sp_conf(idp.sso_url, keys["cert"], public + "/flexsaml/metadata", conf), name=n)
        node.env = {"FLEXSAML_TEST_PASS_0": OLD}
        nodes.append(start(node))
    lb = harness.Apache(LB_CONF.replace("CERT", keys["cert"]).replace("KEY", keys["key"])
                        .replace("APORT", str(nodes[0].port)).replace("BPORT", str(nodes[1].port)),
                        port=lb_port, name="lb").start()
    yield lb, nodes, idp, public
    lb.cleanup()
    for n in nodes:
        n.cleanup()
    idp.stop()


def test_sp_initiated_login_through_the_balancer(balanced):
    lb, nodes, idp, public = balanced
    s = requests.Session()
    s.verify = False
    s.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
    r = s.get(public + "/protected/env.cgi", allow_redirects=False)
    assert r.status_code == 302
    loc = r.headers["Location"]
    req = saml.parse_authn_request(parse_qs(urlparse(loc).query)["SAMLRequest"][0])
    assert req["AssertionConsumerServiceURL"] == public + "/flexsaml/acs"
    page = s.get(loc)
    action, fields = [f for f in saml.parse_forms(page.text) if f[1].get("user") == USER["sam"]["login"]][0]
    form = s.post(idp.sso_url.split("/app/")[0] + action, data=fields)
    acs, post_fields = saml.parse_form(form.text)
    assert acs == public + "/flexsaml/acs"
    r = s.post(acs, data=post_fields, allow_redirects=False)
    assert r.status_code == 303, r.text
    assert "; Secure" in r.headers["Set-Cookie"]  # the public URL is https
    # Round robin: the session works on whichever node answers.
    for _ in range(4):
        got = s.get(public + "/protected/env.cgi", allow_redirects=False)
        assert got.status_code == 200 and "FLEX_ROLES=supervisor" in got.text
    md = s.get(public + "/flexsaml/metadata").text
    assert 'Location="%s/flexsaml/acs"' % public in md


def test_forwarded_headers_from_an_untrusted_address_are_ignored(balanced):
    lb, nodes, idp, public = balanced
    node = nodes[0]
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}
    c = http.client.HTTPConnection("127.0.0.1", node.port, source_address=("127.0.0.5", 0), timeout=5)
    c.request("GET", "/flexsaml/metadata", headers=forged)
    md = c.getresponse().read().decode()
    assert "evil.example" not in md
    assert 'Location="http://127.0.0.1:%d/flexsaml/acs"' % node.port in md
    # The same headers from the trusted balancer address are honoured.
    trusted = requests.get(node.url + "/flexsaml/metadata", headers=forged).text
    assert 'Location="https://evil.example/flexsaml/acs"' in trusted
