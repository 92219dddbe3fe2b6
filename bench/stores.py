#!/usr/bin/python3
"""Protected GET throughput per session store: shmcb, redis and memcache
(sealed), against an unprotected static page, in one run, interleaved.

    /usr/bin/python3 bench/stores.py [--seconds 5] [--reps 3]

Prints requests/s (median, min-max) and p99 latency per case, and the ratio
to the static page. wrk with 2 threads and 20 connections, keep-alive, on
127.0.0.1; every server is started here and stopped at the end."""
import argparse
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import harness  # noqa: E402
from harness import saml  # noqa: E402
from test_farm import Memcached, Redis, farm_node, response, start, post, cookie_of, get  # noqa: E402


def wrk(url, cookie, seconds):
    cmd = ["wrk", "-t2", "-c20", "-d%ds" % seconds, "--latency", url]
    if cookie:
        cmd[1:1] = ["-H", "Cookie: flexsaml_session=%s" % cookie]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit("%s: %s non-2xx answers: the setup is broken" % (url, non2xx.group(1)))
    return rps, p99


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()

    keydir = harness.make_tree("flexsaml-bench-keys-")
    key, cert = saml.make_keys(keydir)
    for f in os.listdir(keydir):
        os.chmod(os.path.join(keydir, f), 0o644)
    keys = {"key": key, "cert": cert, "signer": saml.Signer(key, cert)}
    rd, mc = Redis().start(), Memcached()
    nodes = {
        "shmcb": start(farm_node(keys, "shmcb", name="b-shm", passphrases=())),
        "redis": start(farm_node(keys, "redis:127.0.0.1:%d" % rd.port, name="b-redis")),
        "memcache": start(farm_node(keys, "memcache:127.0.0.1:%d" % mc.port, name="b-mc")),
    }
    try:
        cookies = {}
        for name, node in nodes.items():
            c = cookie_of(post(node, response(keys, "sam")))
            # Verify before measuring: no cookie -> login, cookie -> the page.
            assert get(node, None, "/protected/index.html").status_code == 302, name
            assert get(node, c, "/protected/index.html").status_code == 200, name
            cookies[name] = c
        cases = [("static", nodes["shmcb"], None, "/index.html")] + [
            ("protected " + n, nodes[n], cookies[n], "/protected/index.html") for n in nodes]
        results = {c[0]: [] for c in cases}
        for _ in range(args.reps):
            for label, node, cookie, path in cases:
                results[label].append(wrk(node.url + path, cookie, args.seconds))
        base = statistics.median(r[0] for r in results["static"])
        print("%-20s %10s %17s %8s %8s" % ("case", "rps", "min-max", "p99 ms", "ratio"))
        for label, rs in results.items():
            rps = [r[0] for r in rs]
            p99 = statistics.median(r[1] for r in rs)
            print("%-20s %10.0f %8.0f-%-8.0f %8.2f %8.2f" % (label, statistics.median(rps), min(rps),
                                                             max(rps), p99, statistics.median(rps) / base))
        print("(%d reps x %d s each, wrk -t2 -c20, %d cores)" % (args.reps, args.seconds, os.cpu_count()))
    finally:
        for n in nodes.values():
            n.cleanup()
        rd.cleanup()
        mc.stop()


if __name__ == "__main__":
    main()
