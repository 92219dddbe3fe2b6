"""The native Redis store (redis://, redis-sentinel://): AUTH with requirepass and with an ACL user,
two Apaches on one Redis, a wrong password (503, one clear line, fixed without a restart), the
startup checks, `apachectl -t` staying offline, and Sentinel failover. Every server is started on
127.0.0.1 under a temp dir and stopped by the suite."""
import base64
import os
import re
import secrets
import shutil
import subprocess
import threading
import time

import pytest
import requests

import harness
from test_farm import OLD, cookie_of, farm_node, get, post, response, start

pytestmark = pytest.mark.skipif(not shutil.which("redis-server") or not shutil.which("redis-sentinel"),
                                reason="redis-server and redis-sentinel are installed by scripts/install-deps")

PASSWORD = "s3cret redis password"
# The README's ACL line for the module's user, as an administrator would paste it.
ACL = ("resetkeys ~flexsaml:* resetchannels &__redis__:invalidate -@all +get +set +del +select +pttl "
       "+ping +subscribe +client|id +client|tracking")


class RedisServer:
    def __init__(self, *args):
        self.port = harness.free_port()
        self.dir = harness.make_tree("flexsaml-redis-")
        self.args = list(args)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--save", "", "--appendonly", "no", "--protected-mode", "no"] + self.args,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert harness.wait_port(self.port, self.proc)
        return self

    def cli(self, *args, password=None, user=None):
        auth = []
        if password:
            auth = ["--no-auth-warning", "-a", password] + (["--user", user] if user else [])
        return subprocess.run(["redis-cli", "-p", str(self.port)] + auth + [str(a) for a in args],
                              capture_output=True, timeout=10).stdout.decode("utf-8", "replace").strip()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_for(cond, timeout=5.0):
    """Children log after the parent opens the port: their startup lines come a little later."""
    deadline = time.time() + timeout
    while time.time() < deadline and not cond():
        time.sleep(0.05)
    return cond()


def configtest(node):
    return subprocess.run([harness.APACHE, "-t", "-f", node.conf_path], capture_output=True, text=True,
                          env=dict(os.environ, **getattr(node, "env", {})))


def password_file(node, secret):
    return node.write("conf/redis.pass", secret + "\n", 0o600)


def redis_node(keys, cache, secret=None, name="node", extra=""):
    node = farm_node(keys, cache, extra, name=name)
    if secret is not None:
        path = password_file(node, secret)
        node.write("conf/httpd.conf", open(node.conf_path).read() + "\nFlexSAMLSessionCachePassword file:%s\n" % path)
    return node


# ---- apachectl -t: offline, and says what is wrong ----

def test_the_acl_line_is_the_readmes():
    """The farm tests run the module as the ACL user the README tells an
    administrator to create: the line there must be the one tested here."""
    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md")).read()
    assert ACL in readme


def test_configtest_is_offline_and_refuses_a_network_store_without_passphrase(keys):
    port = harness.free_port()  # nothing listens there: -t must not care
    ok = redis_node(keys, "redis://127.0.0.1:%d" % port, PASSWORD, name="t1")
    try:
        res = configtest(ok)
        assert res.returncode == 0, res.stderr
    finally:
        ok.cleanup()
    clear = harness.Apache(harness.sp_conf("https://idp.example/sso", keys["cert"], "http://x/flexsaml/metadata",
                                           "FlexSAMLSessionCache redis://127.0.0.1:%d\n" % port), name="t2")
    try:
        res = configtest(clear)
        assert res.returncode != 0
        assert "FlexSAMLCryptoPassphrase" in res.stderr and "FlexSAMLSessionCache" in res.stderr
    finally:
        clear.cleanup()


@pytest.mark.parametrize("cache,words", [
    ("redis://127.0.0.1", "host:port"),
    ("redis://127.0.0.1:6379/99", "database"),
    ("redis://bob:pw@127.0.0.1:6379", "never in the URL"),
    ("redis-sentinel://127.0.0.1:26379", "name the master"),
])
def test_configtest_refuses_a_wrong_url(keys, cache, words):
    node = redis_node(keys, cache, PASSWORD, name="t3")
    try:
        res = configtest(node)
        assert res.returncode != 0 and "FlexSAMLSessionCache" in res.stderr and words in res.stderr, res.stderr
    finally:
        node.cleanup()


def test_configtest_refuses_an_acl_user_without_password_and_a_readable_password_file(keys):
    node = redis_node(keys, "redis://flexsaml@127.0.0.1:6379", None, name="t4")
    try:
        res = configtest(node)
        assert res.returncode != 0 and "FlexSAMLSessionCachePassword" in res.stderr
        path = node.write("conf/redis.pass", PASSWORD, 0o644)
        node.write("conf/httpd.conf", open(node.conf_path).read() + "\nFlexSAMLSessionCachePassword file:%s\n" % path)
        res = configtest(node)
        assert res.returncode != 0 and "FlexSAMLSessionCachePassword" in res.stderr, res.stderr
    finally:
        node.cleanup()


def test_configtest_warns_that_apr_util_redis_has_no_auth_nor_atomic_replay(keys):
    node = farm_node(keys, "redis:127.0.0.1:6379", name="t5")
    try:
        res = configtest(node)
        assert res.returncode == 0
        assert "no AUTH" in res.stderr and "redis://host:port" in res.stderr
    finally:
        node.cleanup()


def test_password_on_a_store_that_takes_none_is_refused(keys):
    node = redis_node(keys, "lmdb", PASSWORD, name="t6")
    try:
        res = configtest(node)
        assert res.returncode != 0 and "FlexSAMLSessionCachePassword" in res.stderr
    finally:
        node.cleanup()


# ---- two Apaches on one Redis, with requirepass and with an ACL user ----

def protected(mode):
    """A Redis with requirepass, or with the README's ACL user (and an admin): (server, URL)."""
    if mode == "requirepass":
        rd = RedisServer("--requirepass", PASSWORD).start()
        url = "redis://127.0.0.1:%d" % rd.port
    else:
        rd = RedisServer().start()
        rd.cli("ACL", "SETUSER", "flexsaml", "on", ">" + PASSWORD, *ACL.split())
        rd.cli("ACL", "SETUSER", "admin", "on", ">" + PASSWORD, "~*", "&*", "+@all")
        rd.cli("ACL", "SETUSER", "default", "off")
        url = "redis://flexsaml@127.0.0.1:%d" % rd.port
    rd.mode = mode
    return rd, url


@pytest.fixture(scope="module", params=["requirepass", "acl"])
def protected_redis(request):
    rd, url = protected(request.param)
    yield rd, url
    rd.cleanup()


@pytest.fixture(scope="module", params=["requirepass", "acl"])
def tracked_redis(request):
    """As protected_redis, for tests that need the password unchanged."""
    rd, url = protected(request.param)
    yield rd, url
    rd.cleanup()


def test_farm_shares_sessions_and_a_wrong_password_gives_503_until_fixed(keys, protected_redis):
    rd, url = protected_redis
    a = start(redis_node(keys, url, PASSWORD, name="pa"))
    b = start(redis_node(keys, url, PASSWORD, name="pb"))
    wrong = "the wrong password"
    c = start(redis_node(keys, url, wrong, name="pc"))
    try:
        r = post(a, response(keys, "sam"))
        assert r.status_code == 303, r.text
        cookie = cookie_of(r)
        got = get(b, cookie)
        assert got.status_code == 200 and "FLEX_EMAIL=sam.supervisor@example.com" in got.text
        out = requests.get(b.url + "/flexsaml/logout", cookies={"flexsaml_session": cookie},
                           headers={"Sec-Fetch-Site": "same-origin"}, allow_redirects=False)
        assert out.status_code == 303
        assert get(a, cookie).status_code == 302

        # C has the wrong password: each child said so once at startup, and a request with a
        # live session gets the 503 page, never a login and never a 500.
        assert wait_for(lambda: "refuses AUTH" in c.error_log()), c.error_log()
        assert c.error_log().count("refuses AUTH") <= 2  # one line per child (two children)
        live = cookie_of(post(a, response(keys, "alice")))
        mark = c.log_mark()
        for _ in range(6):
            r = get(c, live)
            assert r.status_code == 503 and "session_store" in r.text
        r = post(c, response(keys, "ada"))
        assert r.status_code == 503 and "flexsaml_session" not in r.headers.get("Set-Cookie", "")
        lines = [l for l in c.log_since(mark).splitlines() if "reason=session_store" in l]
        assert 1 <= len(lines) <= 2 and all("refuses AUTH" in l for l in lines), lines
        assert wrong not in c.error_log() and PASSWORD not in c.error_log()

        # The administrator makes C's password the right one; C recovers without a restart.
        if rd.mode == "requirepass":
            rd.cli("CONFIG", "SET", "requirepass", wrong, password=PASSWORD)
        else:
            rd.cli("ACL", "SETUSER", "flexsaml", ">" + wrong, password=PASSWORD, user="admin")
        t0 = time.time()
        while time.time() - t0 < 10 and get(c, live).status_code != 200:
            time.sleep(0.2)
        assert get(c, live).status_code == 200, "recovered within 10 s without a restart"
    finally:
        for n in (a, b, c):
            n.cleanup()


def test_keys_carry_the_prefix_and_a_ttl(keys):
    rd = RedisServer().start()
    node = start(redis_node(keys, "redis://127.0.0.1:%d/3" % rd.port, name="ttl"))
    try:
        assert post(node, response(keys, "sam")).status_code == 303
        found = rd.cli("-n", "3", "--scan").split()
        assert found and all(k.startswith("flexsaml:") for k in found), found
        for k in found:
            assert int(rd.cli("-n", "3", "PTTL", k)) > 0, k
        for k in found:  # a spread byte, a kind letter and a hash, never a name
            assert re.fullmatch(r"flexsaml:[!-~][A-Za-z][0-9a-f]{64}", k), k
    finally:
        node.cleanup()
        rd.cleanup()


def test_startup_warns_about_an_evicting_maxmemory_policy(keys):
    rd = RedisServer("--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru").start()
    node = start(redis_node(keys, "redis://127.0.0.1:%d" % rd.port, name="evict"))
    try:
        assert wait_for(lambda: "maxmemory-policy allkeys-lru" in node.error_log())
        log = node.error_log()
        assert "maxmemory-policy allkeys-lru" in log and "noeviction" in log, log
        assert post(node, response(keys, "sam")).status_code == 303
    finally:
        node.cleanup()
        rd.cleanup()


def test_redis_restart_mid_traffic_gives_503_then_recovers(keys):
    rd = RedisServer("--save", "", "--appendonly", "yes").start()
    node = start(redis_node(keys, "redis://127.0.0.1:%d" % rd.port, name="restart",
                            extra="FlexSAMLSessionCacheTimeout 200ms 1s"))
    try:
        cookie = cookie_of(post(node, response(keys, "alice")))
        assert get(node, cookie).status_code == 200
        rd.cli("SHUTDOWN")  # appendonly: the session survives the restart
        rd.proc.wait(5)
        codes = set()
        for _ in range(5):
            r = get(node, cookie)
            codes.add(r.status_code)
            assert r.status_code == 503 and "session_store" in r.text, r.status_code
        assert "Segmentation fault" not in node.error_log()
        rd.start()
        t0 = time.time()
        streak = 0
        while streak < 10 and time.time() - t0 < 10:
            streak = streak + 1 if get(node, cookie).status_code == 200 else 0
            time.sleep(0.05)
        print("recovery after a redis restart: %.1f s" % (time.time() - t0))
        assert streak == 10
        assert post(node, response(keys, "sam")).status_code == 303
    finally:
        node.cleanup()
        rd.cleanup()


# ---- Sentinel ----

class SentinelSet:
    """A master, a replica and one sentinel (quorum 1) that fails over within a few seconds."""

    def __init__(self):
        self.master = RedisServer().start()
        self.replica = RedisServer("--replicaof", "127.0.0.1", str(self.master.port)).start()
        self.port = harness.free_port()
        self.dir = harness.make_tree("flexsaml-sentinel-")
        conf = os.path.join(self.dir, "sentinel.conf")
        with open(conf, "w") as f:
            f.write("port %d\nbind 127.0.0.1\nprotected-mode no\ndir %s\n"
                    "sentinel monitor fsm 127.0.0.1 %d 1\n"
                    "sentinel down-after-milliseconds fsm 1000\n"
                    "sentinel failover-timeout fsm 5000\n" % (self.port, self.dir, self.master.port))
        self.proc = subprocess.Popen(["redis-sentinel", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert harness.wait_port(self.port, self.proc)
        deadline = time.time() + 10
        while time.time() < deadline and "state=online" not in self.master.cli("INFO", "replication"):
            time.sleep(0.1)

    @property
    def url(self):
        return "redis-sentinel://127.0.0.1:%d/fsm" % self.port

    def cli_sentinel(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port)] + list(args),
                              capture_output=True, text=True).stdout.strip()

    def master_port(self):
        out = subprocess.run(["redis-cli", "-p", str(self.port), "SENTINEL", "get-master-addr-by-name", "fsm"],
                             capture_output=True, text=True).stdout.split()
        return int(out[1])

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.master.cleanup()
        self.replica.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def sentinel_pair(keys):
    ss = SentinelSet()
    a = start(redis_node(keys, ss.url, name="sa"))
    b = start(redis_node(keys, ss.url, name="sb"))
    yield a, b
    a.cleanup()
    b.cleanup()
    ss.cleanup()


def test_sentinel_pair_shares_sessions(keys, sentinel_pair):
    a, b = sentinel_pair
    cookie = cookie_of(post(a, response(keys, "sam")))
    assert get(b, cookie).status_code == 200


def test_sentinel_failover_while_logging_in(keys):
    ss = SentinelSet()
    a = start(redis_node(keys, ss.url, name="fa", extra="FlexSAMLSessionCacheTimeout 200ms 1s"))
    b = start(redis_node(keys, ss.url, name="fb", extra="FlexSAMLSessionCacheTimeout 200ms 1s"))
    try:
        before = [cookie_of(post(a, response(keys, u))) for u in ("sam", "alice", "ada")]
        assert all(before)
        # Confirmed on the replica before the master dies: a write after the sessions, then WAIT
        # on the same connection (replication keeps the order, so the sessions are there too).
        out = subprocess.run(["redis-cli", "-p", str(ss.master.port)], input="SET barrier 1\nWAIT 1 2000\n",
                             capture_output=True, text=True, timeout=10).stdout.split()
        assert out[-1] == "1", out
        old_port = ss.master.port
        results = []
        stop = threading.Event()

        def loop():
            while not stop.is_set():
                r = post(a if len(results) % 2 else b, response(keys, "sam"))
                results.append((time.time(), r.status_code))
                time.sleep(0.05)

        t = threading.Thread(target=loop)
        t.start()
        time.sleep(0.5)
        killed = time.time()
        ss.master.kill()
        deadline = killed + 20
        while time.time() < deadline:
            recent = [c for (ts, c) in results if ts > killed]
            if len(recent) >= 3 and recent[-3:] == [303] * 3:
                break
            time.sleep(0.1)
        stop.set()
        t.join()
        after = [(ts - killed, c) for (ts, c) in results if ts > killed]
        first_ok = min((dt for dt, c in after if c == 303), default=None)
        print("failover: first login %.1f s after kill -9" % first_ok if first_ok else "no login after kill")
        assert first_ok is not None and first_ok < 10, after
        assert set(c for _, c in after) <= {303, 503}, after  # never a 500
        assert ss.master_port() != old_port
        for cookie in before:
            assert get(a, cookie).status_code == 200
            assert get(b, cookie).status_code == 200
    finally:
        a.cleanup()
        b.cleanup()
        ss.cleanup()


def test_no_write_goes_to_a_demoted_master(keys):
    """SENTINEL FAILOVER, then the live old master made a replica: whether it drops the module's
    connections or answers their writes with READONLY, the module asks the sentinel again and
    sends the write to the new master instead of failing on the old one."""
    ss = SentinelSet()
    a = start(redis_node(keys, ss.url, name="da"))
    try:
        assert post(a, response(keys, "sam")).status_code == 303  # connections to the old master
        old = ss.master
        assert ss.master_port() == old.port
        assert ss.cli_sentinel("SENTINEL", "FAILOVER", "fsm") == "OK"
        deadline = time.time() + 10
        while time.time() < deadline and ss.master_port() == old.port:
            time.sleep(0.1)
        assert ss.master_port() == ss.replica.port
        # What the sentinel does to the old master when it next looks at it (up to 10 s later),
        # done at once: it becomes a replica, still up, its connections still open.
        old.cli("REPLICAOF", "127.0.0.1", ss.replica.port)
        assert "role:slave" in old.cli("INFO", "replication")
        codes = []
        t0 = time.time()
        while time.time() - t0 < 10:
            codes.append(post(a, response(keys, "alice")).status_code)
            if codes[-3:] == [303] * 3:
                break
        # The write goes, on a new connection, to the master the sentinel names now: no 503.
        assert codes[-3:] == [303] * 3 and set(codes) == {303}, codes
        new = ss.replica
        assert ss.master_port() == new.port
        assert int(new.cli("DBSIZE")) > 0
    finally:
        a.cleanup()
        ss.cleanup()


# ---- the local copy (FlexSAMLSessionCacheLocal) ----

def gets_in(rd, **auth):
    m = re.search(r"cmdstat_get:calls=(\d+)", rd.cli("INFO", "commandstats", **auth))
    return int(m.group(1)) if m else 0


@pytest.mark.parametrize("local", ["on", "off"])
def test_protected_requests_are_served_from_the_local_copy(keys, tracked_redis, local):
    """With the copy, 60 protected requests cost Redis a couple of GETs per child (the first
    read of each); without it, one GET each."""
    rd, url = tracked_redis
    auth = {"password": PASSWORD, "user": "admin"} if rd.mode == "acl" else {"password": PASSWORD}
    node = start(redis_node(keys, url, PASSWORD, name="copy" + local,
                            extra="FlexSAMLSessionCacheLocal %s" % local))
    try:
        cookie = cookie_of(post(node, response(keys, "sam")))
        for _ in range(5):  # every child has read it once
            assert get(node, cookie).status_code == 200
        before = gets_in(rd, **auth)
        for _ in range(60):
            assert get(node, cookie).status_code == 200
        spent = gets_in(rd, **auth) - before
        if local == "on":
            assert spent <= 4, spent
            assert "keeps no copy" not in node.error_log()
        else:
            assert spent == 60, spent
    finally:
        node.cleanup()


def test_a_logout_on_one_server_ends_the_copy_on_the_other(keys, tracked_redis):
    """A serves the session from its copy; the sign-out on B holds on A's very next request, five
    times over (Redis's invalidation reaches A before B's answer reaches the browser)."""
    rd, url = tracked_redis
    a = start(redis_node(keys, url, PASSWORD, name="ca"))
    b = start(redis_node(keys, url, PASSWORD, name="cb"))
    try:
        for user in ("sam", "alice", "ada", "sam", "alice"):
            cookie = cookie_of(post(a, response(keys, user)))
            for _ in range(6):
                assert get(a, cookie).status_code == 200
            out = requests.get(b.url + "/flexsaml/logout", cookies={"flexsaml_session": cookie},
                               headers={"Sec-Fetch-Site": "same-origin"}, allow_redirects=False)
            assert out.status_code == 303
            for _ in range(4):  # whichever child and thread of A answers
                assert get(a, cookie).status_code == 302
    finally:
        a.cleanup()
        b.cleanup()


def test_an_acl_without_the_tracking_grants_warns_and_works(keys):
    rd = RedisServer().start()
    narrow = "resetkeys ~flexsaml:* resetchannels -@all +get +set +del +select"
    rd.cli("ACL", "SETUSER", "flexsaml", "on", ">" + PASSWORD, *narrow.split())
    node = start(redis_node(keys, "redis://flexsaml@127.0.0.1:%d" % rd.port, PASSWORD, name="narrow"))
    try:
        assert wait_for(lambda: "keeps no copy" in node.error_log()), node.error_log()
        line = [l for l in node.error_log().splitlines() if "keeps no copy" in l][0]
        assert "+client|tracking" in line and "FlexSAMLSessionCacheLocal off" in line, line
        assert "[flexsaml:warn]" in line or ":warn]" in line, line
        assert PASSWORD not in node.error_log()
        cookie = cookie_of(post(node, response(keys, "sam")))
        before = gets_in(rd)
        for _ in range(10):
            assert get(node, cookie).status_code == 200
        assert gets_in(rd) - before == 10
    finally:
        node.cleanup()
        rd.cleanup()


def test_made_up_cookies_leave_nothing_in_redis_nor_evict_the_copy(keys, tracked_redis):
    """An anonymous client chooses the cookie, so the key of the read: 400 requests with
    well-formed made-up session cookies leave no tracked key in Redis (default tracking kept
    each one in a table no maxmemory bounds) and a live session is still served from the copy."""
    rd, url = tracked_redis
    auth = {"password": PASSWORD, "user": "admin"} if rd.mode == "acl" else {"password": PASSWORD}
    node = start(redis_node(keys, url, PASSWORD, name="madeup"))
    try:
        live = cookie_of(post(node, response(keys, "sam")))
        for _ in range(5):
            assert get(node, live).status_code == 200
        s = requests.Session()
        asked = gets_in(rd, **auth)
        for _ in range(400):
            made_up = base64.urlsafe_b64encode(secrets.token_bytes(len(live) * 3 // 4 + 3)).decode()
            made_up = made_up[:len(live) - 1] + "A"  # the canonical last character
            r = s.get(node.url + "/protected/env.cgi", cookies={"flexsaml_session": made_up},
                      allow_redirects=False)
            assert r.status_code == 302
        assert gets_in(rd, **auth) - asked >= 400  # each one did reach Redis
        info = rd.cli("INFO", "stats", **auth)
        assert re.search(r"tracking_total_keys:0\b", info), info
        before = gets_in(rd, **auth)
        for _ in range(30):
            assert get(node, live).status_code == 200
        assert gets_in(rd, **auth) - before <= 4
    finally:
        node.cleanup()
