"""Memory under load: 100 000 requests on a valid session and 10 000 logins leave the RSS of
the httpd child flat. Slow (about two minutes): runs only with FLEXSAML_SLOW=1.

    FLEXSAML_SLOW=1 /usr/bin/python3 -m pytest -p no:cacheprovider -q -s tests/integration/test_attacks_rss.py

FLEXSAML_RSS_REQUESTS and FLEXSAML_RSS_LOGINS change the counts. One event-MPM child serves
everything (ServerLimit 1, never recycled), so its RSS is the module's memory story. The
numbers are printed; the growth after warm-up must stay under a few MB and level off (under
1 MB over the second half of the logins)."""
import os
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import Site
from harness import saml

pytestmark = pytest.mark.skipif(not os.environ.get("FLEXSAML_SLOW"), reason="slow: set FLEXSAML_SLOW=1")

ONE_CHILD = """LoadModule mpm_event_module {mods}/mod_mpm_event.so
StartServers 1
ServerLimit 1
ThreadsPerChild 25
MaxRequestWorkers 25
MaxConnectionsPerChild 0"""

REQUESTS = int(os.environ.get("FLEXSAML_RSS_REQUESTS", 100000))
LOGINS = int(os.environ.get("FLEXSAML_RSS_LOGINS", 10000))


def children(main_pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(main_pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def status(pid):
    text = open("/proc/%d/status" % pid).read()
    return {k: int(re.search(r"^%s:\s+(\d+)" % k, text, re.M).group(1)) for k in ("VmRSS", "Threads")}


def worker(site):
    """The event child (many threads), not the mod_cgid daemon."""
    for _ in range(100):
        pids = [p for p in children(site.apache.proc.pid) if status(p)["Threads"] > 2]
        if len(pids) == 1:
            return pids[0]
        time.sleep(0.1)
    raise AssertionError("no single event child: %r" % pids)


@pytest.fixture(scope="module")
def rss_site(keys):
    s = Site(keys, "FlexSAMLSessionCache shmcb:flexsaml_rss(67108864)\nMaxMemFree 32", name="rss",
             mpm=ONE_CHILD).start()
    yield s
    s.stop()


def fresh_cookie(site):
    # A new session before each batch, so no batch depends on how long the store keeps
    # an old one; the memory question is unaffected.
    s, r = site.login(user="sam")
    return s.cookies.get("flexsaml_session")


def ab(site, url, n, cookie=None):
    cookie = cookie or fresh_cookie(site)
    res = subprocess.run(["ab", "-q", "-k", "-n", str(n), "-c", "4", "-H", "Cookie: flexsaml_session=%s" % cookie,
                          url], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    failed = int(re.search(r"Failed requests:\s+(\d+)", res.stdout).group(1))
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", res.stdout)
    assert failed == 0 and not non2xx, res.stdout
    return float(re.search(r"Requests per second:\s+([\d.]+)", res.stdout).group(1))


def logins(site, n, threads=4):
    def one(_):
        r = requests.post(site.acs, data={"SAMLResponse": saml.b64(site.response("alice"))},
                          allow_redirects=False, timeout=30)
        return r.status_code
    with ThreadPoolExecutor(threads) as ex:
        codes = list(ex.map(one, range(n)))
    assert codes.count(303) == n, {c: codes.count(c) for c in set(codes)}


def mb(kb):
    return "%.1f MB" % (kb / 1024.0)


def test_rss_is_flat(rss_site):
    site = rss_site
    url = site.base + "/protected/index.html"
    pid = worker(site)
    # Warm-up: every thread has served, every cache has filled once.
    ab(site, url, 5000)
    logins(site, max(300, LOGINS // 5))
    base = status(pid)["VmRSS"]
    print("\nrss: child %d after warm-up: %s" % (pid, mb(base)))

    t = time.time()
    marks = []
    cookie = fresh_cookie(site)
    for i in range(10):
        rps = ab(site, url, REQUESTS // 10, cookie)
        marks.append(status(pid)["VmRSS"])
    after_requests = marks[-1]
    print("rss: %d requests on one session in %.0fs (%.0f req/s): %s (growth %+d kB); per tenth: %s"
          % (REQUESTS, time.time() - t, rps, mb(after_requests), after_requests - base,
             " ".join(str(m - base) for m in marks)))

    t = time.time()
    marks = []
    for i in range(10):
        logins(site, LOGINS // 10)
        marks.append(status(pid)["VmRSS"])
    after_logins = marks[-1]
    print("rss: %d logins in %.0fs: %s (growth %+d kB since the requests); per tenth: %s"
          % (LOGINS, time.time() - t, mb(after_logins), after_logins - after_requests,
             " ".join(str(m - after_requests) for m in marks)))
    second_half = marks[-1] - marks[len(marks) // 2 - 1]
    print("rss: logins, growth over the second half: %+d kB (%.0f B per login)"
          % (second_half, second_half * 1024.0 / max(1, LOGINS - LOGINS // 2)))
    assert worker(site) == pid, "the child was replaced"
    # Flat: glibc's per-thread arenas settle during the first logins (25 threads), then the
    # curve is level. A leak of even 200 bytes per login would add 1 MB over the second half.
    assert after_requests - base < 1024
    assert after_logins - after_requests < 8192
    assert second_half < 1024
