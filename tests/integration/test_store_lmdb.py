"""The lmdb store, the default: a flood of anonymous requests evicts no
session and no replay marker; sessions survive a stop and start, a graceful
restart and a child killed with SIGKILL; a full store refuses new logins
(session_store_full, with the size to raise in the log) and keeps serving
the sessions it has; `-t` warns once about a socache provider that evicts.
shmcb runs behind the same store layer, and evicts under a flood."""
import concurrent.futures
import os
import re
import signal
import subprocess
import time

import requests

from conftest import Site
from test_attacks_common import accepted, refused, tree, xml

FLOOD = 100000


def children(site):
    out = subprocess.run(["pgrep", "-P", str(site.apache.proc.pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def worker_children(site):
    """The MPM's children (mod_cgid's daemon, also a child, runs no requests)."""
    pids = []
    for pid in children(site):
        try:
            maps = open("/proc/%d/maps" % pid).read()
        except OSError:
            continue
        if "data.mdb" in maps:
            pids.append(pid)
    return pids


def logins(site, n):
    out = []
    for i in range(n):
        s, r = site.login(user=("sam", "alice", "ada")[i % 3])
        assert r.status_code == 303, r.text
        out.append(s)
    return out


def assert_sessions_valid(site, sessions):
    for s in sessions:
        r = s.get(site.base + "/protected/", allow_redirects=False)
        assert r.status_code == 200, (r.status_code, site.apache.error_log()[-2000:])


def signed_in(site, n):
    """n sessions, and a response that was accepted once (its replay marker)."""
    sessions = logins(site, n)
    captured = xml(tree(site, "alice"))
    accepted(site, captured)
    return sessions, captured


def flood(site, total=FLOOD, query_bytes=2048):
    """Anonymous protected GETs with a 2 KB query, with wrk: returns how many."""
    url = site.base + "/protected/?q=" + "x" * query_bytes
    done, deadline = 0, time.time() + 60
    while done < total and time.time() < deadline:
        out = subprocess.run(["wrk", "-t2", "-c20", "-d3s", url], capture_output=True, text=True,
                             check=True).stdout
        done += int(re.search(r"(\d+) requests in", out).group(1))
        assert "Non-2xx or 3xx" not in out, out
    return done


def test_a_flood_of_anonymous_requests_evicts_nothing(keys):
    site = Site(keys, name="lmdb-flood").start()
    try:
        sessions, captured = signed_in(site, 30)
        n = flood(site)
        assert n >= FLOOD, "wrk made %d requests" % n
        assert_sessions_valid(site, sessions)
        refused(site, captured, reason="replayed")
    finally:
        site.stop()


def test_sessions_survive_stop_start_and_graceful_restart(keys):
    site = Site(keys, name="lmdb-restart").start()
    try:
        sessions, captured = signed_in(site, 3)
        site.apache.stop()  # SIGTERM: what apachectl -k stop sends
        site.apache.start()
        assert_sessions_valid(site, sessions)
        refused(site, captured, reason="replayed")
        before = set(worker_children(site))
        os.kill(site.apache.proc.pid, signal.SIGUSR1)  # apachectl -k graceful
        deadline = time.time() + 15
        while time.time() < deadline and (not worker_children(site) or set(worker_children(site)) & before):
            time.sleep(0.2)
        assert worker_children(site) and not set(worker_children(site)) & before
        assert_sessions_valid(site, sessions)
        assert os.path.exists(os.path.join(site.apache.root, "run", "flexsaml-lmdb", "data.mdb"))
    finally:
        site.stop()


def test_a_child_killed_mid_request_leaves_the_store_usable(keys):
    site = Site(keys, name="lmdb-kill").start()
    try:
        sessions = logins(site, 3)
        url = site.base + "/protected/?q=" + "y" * 2048

        def hammer(_):
            s = requests.Session()
            for _ in range(200):
                try:
                    s.get(url, allow_redirects=False, timeout=10)
                    sessions[0].get(site.base + "/protected/", allow_redirects=False, timeout=10)
                except requests.RequestException:
                    pass

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(hammer, i) for i in range(8)]
            time.sleep(0.5)
            before = worker_children(site)
            assert before
            victim = before[0]
            os.kill(victim, signal.SIGKILL)
            for f in futures:
                f.result()
        deadline = time.time() + 15
        while time.time() < deadline and not set(worker_children(site)) - set(before):
            time.sleep(0.2)
        assert set(worker_children(site)) - set(before), "httpd started no child after the kill"
        assert_sessions_valid(site, sessions)
        assert_sessions_valid(site, logins(site, 2))
        db = os.path.join(site.apache.root, "run", "flexsaml-lmdb")
        assert subprocess.run(["mdb_stat", db], capture_output=True).returncode == 0
        # The new child freed the dead one's reader slots (mdb_reader_check).
        readers = subprocess.run(["mdb_stat", "-r", db], capture_output=True, text=True).stdout
        assert not re.search(r"^\s*%d\s" % victim, readers, re.M), readers
    finally:
        site.stop()


def unsolicited_logins(site, keys, limit):
    """IdP-initiated logins (a session, a replay marker and a logout index each)
    until one is refused; returns the last answer and how many landed."""
    r = None
    for i in range(limit):
        r = site.post(site.response(("sam", "alice", "ada")[i % 3], signer=keys["signer"]))
        if r.status_code != 303:
            return r, i
    return r, limit


def test_a_full_store_refuses_new_logins_and_keeps_sessions(keys):
    site = Site(keys, 'FlexSAMLSessionCache "lmdb:{root}/run/tiny(256K)"\n', name="lmdb-full").start()
    try:
        sessions = logins(site, 2)
        mark = site.apache.log_mark()
        # Anonymous requests write nothing (the login state is in the browser):
        # only logins fill a store, about 1 KiB each.
        r, landed = unsolicited_logins(site, keys, 2000)
        assert landed > 20, landed
        assert r.status_code == 503, (landed, r.status_code)
        assert "session_store_full" in r.text
        for _ in range(20):
            assert site.post(site.response("sam", signer=keys["signer"])).status_code == 503
        log = site.apache.log_since(mark)
        lines = [l for l in log.splitlines() if "reason=session_store_full" in l]
        assert lines, log[-2000:]
        assert re.search(r"is full at \d+ bytes; raise the size in FlexSAMLSessionCache "
                         r"lmdb:\S+/run/tiny\(512K\)", lines[0]), lines[0]
        # once per 10 s per process, not once per refused request
        assert len(lines) <= 2 * len(worker_children(site)), lines
        assert_sessions_valid(site, sessions)
    finally:
        site.stop()


def warnings_of(keys, conf):
    site = Site(keys, conf, name="lmdb-t")
    try:
        r = site.apache.configtest()
        assert r.returncode == 0, r.stdout + r.stderr
        return [l for l in (r.stdout + r.stderr).splitlines() if "evicts" in l]
    finally:
        site.apache.cleanup()
        site.idp.stop()


def test_configtest_warns_once_about_a_provider_that_evicts(keys):
    lines = warnings_of(keys, 'FlexSAMLSessionCache "shmcb:{root}/run/c(8388608)"\n')
    assert len(lines) == 1, lines
    assert "use lmdb" in lines[0]
    assert warnings_of(keys, "") == []
    assert warnings_of(keys, 'FlexSAMLSessionCache "lmdb:{root}/run/other(64M)"\n') == []


def test_virtual_hosts_naming_one_directory_share_one_environment(keys):
    """Two spellings of one directory (the main server's and a name-based
    virtual host's): one environment per child, and a session made through
    one host is found on the same host after the other was used."""
    conf = ('FlexSAMLSessionCache "lmdb:{root}/run/shared"\n'
            "<VirtualHost *:{port}>\n    ServerName other.example\n"
            '    FlexSAMLSessionCache "lmdb:{root}/run/shared(2G)"\n</VirtualHost>\n'
            "<VirtualHost *:{port}>\n    ServerName 127.0.0.1\n</VirtualHost>\n")
    site = Site(keys, conf, name="lmdb-shared").start()
    try:
        sessions, _ = signed_in(site, 2)
        r = requests.get(site.base + "/protected/", headers={"Host": "other.example"},
                         allow_redirects=False)
        assert r.status_code == 302, r.text
        assert_sessions_valid(site, sessions)
        for pid in worker_children(site):
            maps = open("/proc/%d/maps" % pid).read()
            files = {line.split()[-1] for line in maps.splitlines() if line.endswith("data.mdb")}
            assert files == {os.path.join(site.apache.root, "run", "shared", "data.mdb")}, files
            mappings = [line for line in maps.splitlines() if line.endswith("/shared/data.mdb")]
            assert len(mappings) == 1, mappings
    finally:
        site.stop()


def test_shmcb_behind_the_same_interface(keys):
    """The socache backend through the same store layer: sessions, once
    (a replay is refused), remove (logout)."""
    site = Site(keys, 'FlexSAMLSessionCache "shmcb:{root}/run/c(8388608)"\n', name="shmcb-ops").start()
    try:
        sessions, captured = signed_in(site, 2)
        assert_sessions_valid(site, sessions)
        refused(site, captured, reason="replayed")
        sessions[0].get(site.base + "/flexsaml/logout", headers={"Sec-Fetch-Site": "same-origin"}, allow_redirects=False)
        r = sessions[0].get(site.base + "/protected/", allow_redirects=False)
        assert r.status_code == 302
        assert_sessions_valid(site, sessions[1:])
    finally:
        site.stop()


def test_shmcb_evicts_sessions_where_lmdb_refuses_new_logins(keys):
    """Why -t warns about shmcb: when it is full, logins sign earlier people
    out (the oldest entries go); a full lmdb refuses the new login instead
    (test_a_full_store_refuses_new_logins_and_keeps_sessions)."""
    site = Site(keys, 'FlexSAMLSessionCache "shmcb:{root}/run/c(262144)"\n', name="shmcb-full").start()
    try:
        sessions, _ = signed_in(site, 10)
        r, landed = unsolicited_logins(site, keys, 1500)
        assert landed == 1500, (landed, r.status_code)  # shmcb never refuses
        codes = [s.get(site.base + "/protected/", allow_redirects=False).status_code for s in sessions]
        assert 302 in codes, codes
    finally:
        site.stop()


def main_db_entries(db):
    out = subprocess.run(["mdb_stat", db], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Entries: (\d+)", out).group(1))


def test_expired_entries_are_swept_by_a_new_child(keys):
    """Sessions of 1 s: expired, they are hidden at once and removed by the
    sweep a child runs when it starts (after a graceful restart, once the
    old children gave the lease back)."""
    site = Site(keys, "FlexSAMLSessionLifetime 1s\n", name="lmdb-sweep").start()
    try:
        db = os.path.join(site.apache.root, "run", "flexsaml-lmdb")
        sessions = logins(site, 20)
        before = main_db_entries(db)
        time.sleep(2)
        r = sessions[0].get(site.base + "/protected/", allow_redirects=False)
        assert r.status_code == 302  # expired: absent, swept or not
        assert main_db_entries(db) == before  # nothing swept yet
        old = set(worker_children(site))
        os.kill(site.apache.proc.pid, signal.SIGUSR1)
        deadline = time.time() + 15
        while time.time() < deadline and main_db_entries(db) > before - 20:
            time.sleep(0.2)
        # the 20 sessions (their replay markers live on, until the assertion expires)
        assert main_db_entries(db) <= before - 20, (before, main_db_entries(db))
        assert not set(worker_children(site)) & old
    finally:
        site.stop()
