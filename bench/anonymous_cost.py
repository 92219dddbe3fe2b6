#!/usr/bin/python3
"""What an anonymous request costs (issue #16, item 8): a GET of a protected
URL without a session (the 302 to the IdP, with an RSA-SHA256-signed
AuthnRequest when FlexSAMLSPPrivateKeyFile is set, unsigned otherwise),
against a static file on the same server. One interleaved run: each round
runs every case for a wrk slice, the order reversed every other round; it
prints the median req/s, the httpd CPU time per request and both ratios to
the static file.

    /usr/bin/python3 bench/anonymous_cost.py [--rounds 5] [--slice 2] [--conns 20]
        [--old-module OTHER/mod_flexsaml.so]

--old-module adds the signed case on another build, in the same run.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(BENCH), "tests", "integration"))
import harness  # noqa: E402
from harness import saml  # noqa: E402

LUA = os.path.join(BENCH, "status.lua")
MPM = ("LoadModule mpm_event_module {mods}/mod_mpm_event.so\nStartServers 2\nServerLimit 2\n"
       "ThreadsPerChild 25\nThreadLimit 25\nMaxRequestWorkers 50\nMinSpareThreads 25\n"
       "MaxSpareThreads 50\nMaxConnectionsPerChild 0")


def cpu_seconds(apache):
    """utime + stime of httpd and its children, in seconds."""
    pids = [apache.proc.pid] + [int(p) for p in subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(apache.proc.pid)], capture_output=True, text=True).stdout.split()]
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(f[11]) + int(f[12])
    return total / tick


def slice_(apache, path, want, conns, seconds):
    cpu0 = cpu_seconds(apache)
    out = subprocess.run(["wrk", "-t2", "-c%d" % conns, "-d%ds" % seconds, "-s", LUA,
                          "http://127.0.0.1:%d" % apache.port, "--", path, str(want)],
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    if int(re.search(r"BENCH_UNEXPECTED (\d+)", out).group(1)):
        raise SystemExit("%s: answers other than %d:\n%s" % (path, want, out))
    n = int(re.search(r"BENCH_REQUESTS (\d+)", out).group(1))
    us = int(re.search(r"BENCH_DURATION_US (\d+)", out).group(1))
    return n * 1e6 / us, (cpu_seconds(apache) - cpu0) * 1e6 / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--slice", type=int, default=2)
    ap.add_argument("--conns", type=int, default=20)
    ap.add_argument("--old-module", help="another build's mod_flexsaml.so, for the signed case")
    a = ap.parse_args()
    work = harness.make_tree("anon-bench-")
    key, cert = saml.make_keys(work, cn="bench-sp")
    idp_key, idp_cert = saml.make_keys(work, cn="bench-idp")
    for f in os.listdir(work):
        os.chmod(os.path.join(work, f), 0o644)
    sso = "https://idp.example/app/x/sso/saml"
    signed = harness.Apache(harness.sp_conf(sso, idp_cert, "https://bench.example/md",
                                            "FlexSAMLSPCertificateFile %s\nFlexSAMLSPPrivateKeyFile %s\n"
                                            % (cert, key)), name="anon-signed", mpm=MPM)
    unsigned = harness.Apache(harness.sp_conf(sso, idp_cert, "https://bench.example/md"),
                              name="anon-unsigned", mpm=MPM)
    cases = [("static file", signed, "/index.html", 200),
             ("anonymous, signed AuthnRequest", signed, "/protected/", 302),
             ("anonymous, unsigned AuthnRequest", unsigned, "/protected/", 302)]
    apaches = [signed, unsigned]
    if a.old_module:
        os.environ["FLEXSAML_MODULE"] = a.old_module
        old = harness.Apache(harness.sp_conf(sso, idp_cert, "https://bench.example/md",
                                             "FlexSAMLSPCertificateFile %s\nFlexSAMLSPPrivateKeyFile %s\n"
                                             % (cert, key)), name="anon-old", mpm=MPM)
        del os.environ["FLEXSAML_MODULE"]
        cases.append(("anonymous, signed, --old-module", old, "/protected/", 302))
        apaches.append(old)
    results = {c[0]: [] for c in cases}
    try:
        for apache in apaches:
            apache.start()
        for name, apache, path, want in cases:  # warm-up
            slice_(apache, path, want, a.conns, 1)
        for r in range(a.rounds):
            order = cases if r % 2 == 0 else list(reversed(cases))
            for name, apache, path, want in order:
                results[name].append(slice_(apache, path, want, a.conns, a.slice))
    finally:
        for apache in apaches:
            apache.cleanup()
    base_rps = statistics.median(x[0] for x in results[cases[0][0]])
    base_cpu = statistics.median(x[1] for x in results[cases[0][0]])
    print("median over %d rounds of %d s (wrk -t2 -c%d); ratio to the static file:" % (a.rounds, a.slice, a.conns))
    for name, *_ in cases:
        rps = statistics.median(x[0] for x in results[name])
        cpu = statistics.median(x[1] for x in results[name])
        print("  %-34s %8.0f req/s  %5.2f   %7.1f us CPU/request  %5.2f" % (
            name, rps, rps / base_rps, cpu, cpu / base_cpu))


if __name__ == "__main__":
    main()
