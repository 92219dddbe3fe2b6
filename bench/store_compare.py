#!/usr/bin/python3
"""Protected GET req/s with the lmdb store vs shmcb vs a static file, in one
interleaved run (issue #14), and the lmdb bytes per session.

    /usr/bin/python3 bench/store_compare.py [--rounds 3] [--duration 5] [--sessions 2000]

Two private Apaches (tests/integration/harness.py, event MPM, same config but
FlexSAMLSessionCache), each with one signed-in session; each round runs
`wrk -t2 -c20 -d<duration>s` against: a static file, a protected page on the
lmdb server, a protected page on the shmcb server. Prints each run, the
medians and the ratios."""
import argparse
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import conftest  # noqa: E402
from conftest import Site  # noqa: E402
from test_attacks_common import accepted, tree, xml  # noqa: E402


def wrk(url, duration, cookie=None):
    cmd = ["wrk", "-t2", "-c20", "-d%ds" % duration]
    if cookie:
        cmd += ["-H", "Cookie: flexsaml_session=%s" % cookie]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx or 3xx" in out:
        raise SystemExit("wrk saw errors:\n" + out)
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def lmdb_bytes_per_session(site, n):
    """Sessions made by IdP-initiated logins (session, replay marker, logout
    index), measured as LMDB pages in use (high-water mark less free list)."""
    db = os.path.join(site.apache.root, "run", "flexsaml-lmdb")

    def used():
        out = subprocess.run(["mdb_stat", "-ef", db], capture_output=True, text=True).stdout
        pages = int(re.search(r"Number of pages used: (\d+)", out).group(1))
        free = int(re.search(r"Free pages: (\d+)", out).group(1))
        return (pages - free) * 4096

    before = used()
    for _ in range(n):
        accepted(site, xml(tree(site, "sam")))
    return (used() - before) / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--sessions", type=int, default=2000)
    a = ap.parse_args()
    keys = conftest.keys.__wrapped__()
    lm = Site(keys, "", name="bench-lmdb").start()
    sh = Site(keys, 'FlexSAMLSessionCache "shmcb:{root}/run/c(201326592)"\n', name="bench-shmcb").start()
    try:
        cookies = {}
        for name, site in (("lmdb", lm), ("shmcb", sh)):
            s, _ = accepted(site, xml(tree(site, "sam")))
            cookies[name] = s.cookies.get("flexsaml_session")
            assert s.get(site.base + "/protected/", allow_redirects=False).status_code == 200
        runs = {"static": [], "lmdb": [], "shmcb": []}
        for r in range(a.rounds):
            runs["static"].append(wrk(lm.base + "/index.html", a.duration))
            runs["lmdb"].append(wrk(lm.base + "/protected/", a.duration, cookies["lmdb"]))
            runs["shmcb"].append(wrk(sh.base + "/protected/", a.duration, cookies["shmcb"]))
            print("round %d: %s" % (r + 1, ", ".join("%s %.0f" % (k, v[-1]) for k, v in runs.items())))
        med = {k: statistics.median(v) for k, v in runs.items()}
        print("median req/s: static %.0f, lmdb %.0f, shmcb %.0f" % (med["static"], med["lmdb"], med["shmcb"]))
        print("ratios: lmdb/static %.3f, shmcb/static %.3f, lmdb/shmcb %.3f"
              % (med["lmdb"] / med["static"], med["shmcb"] / med["static"], med["lmdb"] / med["shmcb"]))
        if a.sessions:
            print("lmdb: %.0f bytes per session (%d IdP-initiated logins: session, replay marker, "
                  "logout index)" % (lmdb_bytes_per_session(lm, a.sessions), a.sessions))
    finally:
        lm.stop()
        sh.stop()


if __name__ == "__main__":
    main()
