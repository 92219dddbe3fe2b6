#!/usr/bin/python3
"""What FlexSAMLSessionIdleTimeout costs a protected GET (issue #18): the
same module with the timeout off and on, in one interleaved run.

    /usr/bin/python3 bench/idle_timeout.py [--rounds 7] [--duration 2]

Three private Apaches (tests/integration/harness.py, event MPM), each with
one signed-in session: timeout off; 15m (use recorded at most every 90 s, so
no store write during the run); 10s (the shortest: a write about every
second under load). Each round runs `wrk -t2 -c20 -d<duration>s` on each,
the order reversed every other round. Prints each round, the medians and
the ratios to "off" of req/s and of httpd CPU time per request (steadier
than req/s on a shared machine); the target is "15m" within 3 % of "off"."""
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
from servers import _children  # noqa: E402

CASES = (("off", ""), ("15m", "FlexSAMLSessionIdleTimeout 15m\n"),
         ("10s", "FlexSAMLSessionIdleTimeout 10s\n"))


def cpu_seconds(site):
    """User + system CPU of the httpd parent and its children so far."""
    total = 0
    parent = site.apache.proc.pid
    for pid in [parent] + _children(parent):
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / float(os.sysconf("SC_CLK_TCK"))


def wrk(site, duration, cookie):
    """(requests/s, httpd CPU microseconds per request) of one slice."""
    cpu0 = cpu_seconds(site)
    cmd = ["wrk", "-t2", "-c20", "-d%ds" % duration, "-H", "Cookie: flexsaml_session=%s" % cookie]
    out = subprocess.run(cmd + [site.base + "/protected/"], capture_output=True, text=True,
                         check=True).stdout
    if "Non-2xx or 3xx" in out:
        raise SystemExit("wrk saw errors (a session ended?):\n" + out)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    n = int(re.search(r"(\d+) requests in", out).group(1))
    return rate, (cpu_seconds(site) - cpu0) * 1e6 / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--duration", type=int, default=2)
    a = ap.parse_args()
    keys = conftest.keys.__wrapped__()
    sites = {name: Site(keys, conf, name="bench-idle-" + name).start() for name, conf in CASES}
    try:
        cookies = {}
        for name, site in sites.items():
            s, _ = accepted(site, xml(tree(site, "sam")))
            cookies[name] = s.cookies.get("flexsaml_session")
            assert s.get(site.base + "/protected/", allow_redirects=False).status_code == 200
        runs = {name: [] for name, _ in CASES}
        cpu = {name: [] for name, _ in CASES}
        order = [name for name, _ in CASES]
        for r in range(a.rounds):
            for name in (order if r % 2 == 0 else order[::-1]):
                rate, us = wrk(sites[name], a.duration, cookies[name])
                runs[name].append(rate)
                cpu[name].append(us)
            print("round %d: %s" % (r + 1, ", ".join("%s %.0f req/s %.1f us" % (k, v[-1], cpu[k][-1])
                                                     for k, v in runs.items())))
        med = {k: statistics.median(v) for k, v in runs.items()}
        mcpu = {k: statistics.median(v) for k, v in cpu.items()}
        print("median: " + ", ".join("%s %.0f req/s, %.1f us httpd CPU/request" % (k, v, mcpu[k])
                                     for k, v in med.items()))
        for name, _ in CASES[1:]:
            ratio = med[name] / med["off"]
            print("timeout %s / off: req/s %.3f, CPU per request %.3f%s"
                  % (name, ratio, mcpu[name] / mcpu["off"], " (target req/s >= 0.97: %s)" % (
                      "met" if ratio >= 0.97 else "NOT met") if name == "15m" else ""))
    finally:
        for site in sites.values():
            site.stop()


if __name__ == "__main__":
    main()
