#!/usr/bin/python3
"""Issue #14's targets in one interleaved run:

1. protected GET vs a static file, `AuthType Basic` (one-line htpasswd, AuthBasicProvider file)
   and `Require ip 127.0.0.1`, with one busy session and with 10 000 sessions in the store, at
   50 worker threads (event, 2 x 25; wrk -c20) and at 400 (8 x 50; wrk -c200);
2. protected GET with 1 000 000 sessions in lmdb vs 100, and lmdb's bytes per session;
3. ACS logins/s (20 connections, distinct signed responses) and sequential ACS latency, this
   build vs the build before #14 (--old-module, e.g. commit 36f1a7a built in /tmp).

    make -C bench httpload seed_sessions
    /usr/bin/python3 bench/store_targets.py --old-module /tmp/b14-old/mod_flexsaml.so

Every server is private (127.0.0.1, free port, /tmp ServerRoot) and verified before it is
measured: no cookie -> 302, cookie -> 200, Basic with its credentials -> 200 and without -> 401.
Sessions beyond the busy one are written by bench/seed_sessions (the module's key and value
code) before the server starts. Then --rounds rounds, each running every case once for
--slice seconds (wrk) or one ACS batch per build, in turn, so that drift hits every case alike.
Prints every slice, then medians, ratios and the targets; any non-200 aborts the run."""
import argparse
import base64
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time

import responses
import servers
from servers import harness

BENCH = servers.BENCH
GET_LUA = os.path.join(BENCH, "get.lua")
HTTPLOAD = os.path.join(BENCH, "httpload")
SEEDER = os.path.join(BENCH, "seed_sessions")
LMDB_MAP = 4 << 30
BASIC_USER, BASIC_PASS = "bench", "bench-secret"
SOCKET_ERRORS = {}
# --pin: the CPU wrk runs on (every httpd runs on the last CPU), or None.
PIN = {"wrk": None}


def mpm(procs, threads):
    """Every child started at once and kept: no spawning during a slice."""
    return ("LoadModule mpm_event_module {mods}/mod_mpm_event.so\nStartServers %d\nServerLimit %d\n"
            "ThreadsPerChild %d\nThreadLimit %d\nMaxRequestWorkers %d\nMinSpareThreads %d\n"
            "MaxSpareThreads %d\nMaxConnectionsPerChild 0"
            % (procs, procs, threads, threads, procs * threads, threads, procs * threads))


# As Debian's apache2.conf: no .htaccess lookups. Without it every request of every case
# tries seven .htaccess files, which hides what the module itself costs.
DEBIAN_DEFAULTS = """
<Directory />
    AllowOverride None
</Directory>
"""

REFERENCES = """
LoadModule auth_basic_module {mods}/mod_auth_basic.so
LoadModule authn_file_module {mods}/mod_authn_file.so
<Location /basic>
    AuthType Basic
    AuthName bench
    AuthBasicProvider file
    AuthUserFile "{root}/conf/htpasswd"
    Require valid-user
</Location>
<Location /basic-sha1>
    AuthType Basic
    AuthName bench
    AuthBasicProvider file
    AuthUserFile "{root}/conf/htpasswd-sha1"
    Require valid-user
</Location>
<Location /ip>
    Require ip 127.0.0.1
</Location>
"""


class Site(servers.FlexSAML):
    """A mod_flexsaml Apache with the reference locations, `seed` sessions written into its
    lmdb store before it starts, and the module .so of `module` (default: this build)."""

    def __init__(self, signer, workdir, tag, procs=2, threads=25, seed=0, keep=0, module=None,
                 before_lmdb=False):
        """before_lmdb: `module` predates lmdb (no store line, no reference locations)."""
        servers.FlexSAML.__init__(self, signer, workdir, tag,
                                  cache=None if before_lmdb else "lmdb:{root}/run/lmdb(%d)" % LMDB_MAP)
        self.mpm, self.seed, self.keep, self.module = mpm(procs, threads), seed, keep, module
        self.before_lmdb = before_lmdb
        self.seeded = None
        self.seed_stats = None

    def body(self):
        return (servers.FlexSAML.body(self) + DEBIAN_DEFAULTS
                + ("" if self.before_lmdb else REFERENCES))

    def start(self):
        files = dict(servers.FILES, **{"htdocs/basic/f": servers.FILE_TEXT,
                                       "htdocs/basic-sha1/f": servers.FILE_TEXT,
                                       "htdocs/ip/f": servers.FILE_TEXT})
        old = os.environ.get("FLEXSAML_MODULE")
        if self.module:
            os.environ["FLEXSAML_MODULE"] = self.module
        try:
            self.apache = harness.Apache(self.body(), port=self.port, name="b14-%s" % self.tag,
                                         extra_files=files, mpm=self.mpm)
        finally:
            if self.module:
                if old is None:
                    del os.environ["FLEXSAML_MODULE"]
                else:
                    os.environ["FLEXSAML_MODULE"] = old
        root = self.apache.root
        for name, opt in (("htpasswd", "-nbm"), ("htpasswd-sha1", "-nbs")):
            line = subprocess.run(["htpasswd", opt, BASIC_USER, BASIC_PASS], capture_output=True,
                                  text=True, check=True).stdout.strip()
            self.apache.write("conf/" + name, line + "\n")
        if self.seed:
            self.seeded = os.path.join(root, "seeded-ids")
            lmdb = os.path.join(root, "run", "lmdb")
            os.makedirs(lmdb)
            t0 = time.time()
            out = subprocess.run([SEEDER, lmdb, str(LMDB_MAP), "127.0.0.1:%d" % self.port, self.entity,
                                  str(self.seed), self.seeded, str(self.keep)],
                                 capture_output=True, text=True)
            if out.returncode:
                raise SystemExit("seed_sessions failed: %s%s" % (out.stdout, out.stderr))
            self.seed_stats = json.loads(out.stdout)
            self.seed_stats["seconds"] = time.time() - t0
            # Made again by the first child, sized for this server's reader slots.
            os.unlink(os.path.join(lmdb, "lock.mdb"))
        t = self.apache.configtest()
        if t.returncode != 0:
            raise SystemExit("%s: httpd -t failed:\n%s%s" % (self.tag, t.stdout, t.stderr))
        self.apache.start()
        return self


def stop_all(sites):
    """Stops every server, saying which one would not, without hiding the run's own error."""
    for s in sites:
        try:
            s.stop()
        except Exception as e:  # noqa: BLE001
            print("stopping %s: %s" % (s.tag, e), file=sys.stderr)


def sign_in(factory, site):
    """One real sign-in through the ACS (the busy session); its cookie."""
    import requests
    b64 = factory.make(site, 1)[0]
    r = requests.post(site.acs, data={"SAMLResponse": b64}, allow_redirects=False, timeout=30)
    if r.status_code != 303:
        raise SystemExit("%s: login gave %d\n%s" % (site.tag, r.status_code, site.error_log()[-2000:]))
    return r.cookies.get(site.cookie)


def lines_file(path, lines):
    with open(path, "w") as f:
        f.write("".join(line + "\n" for line in lines))
    return path


def wrk(site, path, header_file, header, conns, seconds):
    """(requests/s, httpd CPU microseconds per request) of one slice."""
    cpu0 = site.cpu_seconds()
    pin = ["taskset", "-c", str(PIN["wrk"])] if PIN["wrk"] is not None else []
    cmd = pin + ["wrk", "-t2", "-c%d" % conns, "-d%ds" % seconds, "-s", GET_LUA, site.base, "--",
                 path, site.cookie, header_file] + ([header] if header else [])
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout
    bad = re.search(r"BENCH_NON200 (\d+)", out)
    if not bad or int(bad.group(1)):
        raise SystemExit("%s %s: non-200 answers or errors:\n%s\n%s"
                         % (site.tag, path, out, site.error_log()[-2000:]))
    n = int(re.search(r"BENCH_REQUESTS (\d+)", out).group(1))
    # The event MPM may close a kept-alive connection under load (a read error to wrk): counted,
    # shown, not fatal; a wrong status is.
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if errs:
        SOCKET_ERRORS[(site.tag, path)] = SOCKET_ERRORS.get((site.tag, path), 0) + sum(map(int, errs.groups()))
    us = int(re.search(r"BENCH_DURATION_US (\d+)", out).group(1))
    return n * 1e6 / us, (site.cpu_seconds() - cpu0) * 1e6 / n


def httpload(site, reqfile, conns):
    r = subprocess.run([HTTPLOAD, "-p", str(site.port), "-f", reqfile, "-c", str(conns), "-e", "303",
                        "-t", "60"], capture_output=True, text=True, timeout=120)
    st = json.loads(r.stdout) if r.stdout.strip().startswith("{") else None
    if r.returncode or not st or st["unexpected"] or st["errors"]:
        raise SystemExit("%s: ACS run failed: %s %s\n%s" % (site.tag, r.stdout, r.stderr,
                                                           site.error_log()[-2000:]))
    return st


def status(url, headers=None):
    import requests
    return requests.get(url, headers=headers or {}, allow_redirects=False, timeout=10).status_code


def verify(site, cookies):
    """No cookie -> 302 to the IdP; each given session id -> 200; Basic -> 401 / 200."""
    cookie = lambda c: {"Cookie": "%s=%s" % (site.cookie, c)}  # noqa: E731
    want = [(site.base + "/protected/f", None, 302)]
    want += [(site.base + "/protected/f", cookie(c), 200) for c in cookies]
    if not site.before_lmdb:
        auth = {"Authorization": basic_header()}
        want += [(site.base + "/basic/f", None, 401), (site.base + "/basic/f", auth, 200),
                 (site.base + "/basic-sha1/f", auth, 200), (site.base + "/ip/f", None, 200),
                 (site.base + "/static/f", None, 200)]
    for url, headers, code in want:
        got = status(url, headers)
        if got != code:
            raise SystemExit("%s: %s with %s gave %d, not %d" % (site.tag, url, headers, got, code))


def basic_header():
    return "Basic " + base64.b64encode(("%s:%s" % (BASIC_USER, BASIC_PASS)).encode()).decode()


def lmdb_usage(site):
    out = subprocess.run(["mdb_stat", "-ef", os.path.join(site.apache.root, "run", "lmdb")],
                         capture_output=True, text=True).stdout
    pages = int(re.search(r"Number of pages used: (\d+)", out).group(1))
    free = int(re.search(r"Free pages: (\d+)", out).group(1))
    entries = [int(x) for x in re.findall(r"Entries: (\d+)", out)][-1]  # the main DB's
    psize = int(re.search(r"Page size: (\d+)", out).group(1))
    size = os.path.getsize(os.path.join(site.apache.root, "run", "lmdb", "data.mdb"))
    return {"pages_in_use": pages - free, "page_size": psize, "entries": entries, "file_bytes": size}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old-module", required=True, help="mod_flexsaml.so of the build before #14")
    ap.add_argument("--base-module", action="append", default=[], metavar="[LABEL=]PATH",
                    help="another mod_flexsaml.so with lmdb (e.g. this branch's base; may repeat): "
                    "adds its protected GET, 1 session, 50 threads, to the run")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--slice", type=int, default=2, help="seconds per wrk slice (wrk takes whole seconds)")
    ap.add_argument("--million", type=int, default=1000000)
    ap.add_argument("--acs", type=int, default=1500, help="logins per 20-connection ACS slice")
    ap.add_argument("--seq", type=int, default=100, help="logins per sequential ACS slice")
    ap.add_argument("--pin", action="store_true",
                    help="run every httpd on the last CPU and wrk on the first: the client no longer "
                    "competes with the server for a core, and the slices' rates spread far less")
    ap.add_argument("--skip", default="", help="comma-separated groups to leave out: t50,t400,million,acs")
    a = ap.parse_args()
    if a.pin:
        if os.cpu_count() < 2:
            raise SystemExit("--pin needs two CPUs")
        PIN["wrk"] = 0
    bases = []  # (label, path)
    for i, b in enumerate(a.base_module):
        label, _, path = b.rpartition("=")
        bases.append((label or ("base" if len(a.base_module) == 1 else "base %d" % (i + 1)), path))
    skip = set(filter(None, a.skip.split(",")))
    t_start = time.time()
    wd = harness.make_tree("flexsaml-b14-")
    key, cert = servers.saml.make_keys(wd)
    for fn in os.listdir(wd):
        os.chmod(os.path.join(wd, fn), 0o644)
    signer = servers.saml.Signer(key, cert)
    basic = lines_file(os.path.join(wd, "basic"), [basic_header()])
    empty = lines_file(os.path.join(wd, "empty"), [])
    sites, cases = [], []  # case: (label, group, site, path, header_file, header, conns)

    tmpfs_lmdb = "lmdb:/dev/shm/%s(%d)" % (os.path.basename(wd), LMDB_MAP)

    def site(*args, cache=None, **kw):
        s = Site(signer, wd, *args, **kw)
        if cache:
            s.cache = cache
        sites.append(s)
        s.start()
        if a.pin:
            # Children made later inherit the parent's CPU.
            for pid in s.pids():
                subprocess.run(["taskset", "-a", "-cp", str(os.cpu_count() - 1), str(pid)],
                               check=True, capture_output=True)
        return s

    with responses.Factory(key, cert) as factory:
        try:
            def login(s):
                return sign_in(factory, s)

            for threads, procs, per, conns in ((50, 2, 25, 20), (400, 8, 50, 200)):
                g = "t%d" % threads
                if g in skip:
                    continue
                one = site("%s-one" % g, procs=procs, threads=per)
                many = site("%s-10k" % g, procs=procs, threads=per, seed=10000, keep=10000)
                c1 = login(one)
                ids = open(many.seeded).read().split()
                verify(one, [c1])
                verify(many, random.sample(ids, 5) + [login(many)])
                c1f = lines_file(os.path.join(wd, "%s-cookie" % g), [c1])
                cases += [("static", g, one, "/static/f", empty, None, conns),
                          ("require ip", g, one, "/ip/f", empty, None, conns),
                          ("basic (apr1-md5)", g, one, "/basic/f", basic, "Authorization", conns),
                          ("basic (sha1)", g, one, "/basic-sha1/f", basic, "Authorization", conns),
                          ("protected, 1 session", g, one, "/protected/f", c1f, None, conns),
                          ("protected, 10k sessions", g, many, "/protected/f", many.seeded, None, conns)]
                for i, (label, path) in enumerate(bases if g == "t50" else []):
                    base = site("%s-base%d" % (g, i), procs=procs, threads=per, module=path)
                    cb = login(base)
                    verify(base, [cb])
                    cases.append(("protected, 1 session, " + label, g, base, "/protected/f",
                                  lines_file(os.path.join(wd, "base%d-cookie" % i), [cb]), None, conns))
            seeds = {}
            if "million" not in skip:
                for label, n in (("100", 100), ("1M", a.million)):
                    s = site("m-%s" % label, seed=n, keep=min(n, 100000))
                    ids = open(s.seeded).read().split()
                    verify(s, random.sample(ids, 5) + [ids[-1]])
                    seeds[label] = s
                    cases.append(("protected, %s sessions" % label, "million", s, "/protected/f",
                                  s.seeded, None, 20))
            acs = {}
            if "acs" not in skip:
                # The store's directory decides much of a login's write cost: ServerRoot is under
                # /tmp (a disk here); the default, DefaultRuntimeDir, is /run/apache2 on Debian, a
                # tmpfs, which /dev/shm stands for.
                acs = {"this build": site("acs-new"),
                       "this build, tmpfs": site("acs-tmpfs", cache=tmpfs_lmdb),
                       "before #14": site("acs-old", module=a.old_module, before_lmdb=True)}
                for s in acs.values():
                    verify(s, [login(s)])

            # Every response is posted once. Responses are valid for 5 minutes and a long run
            # lasts longer: each round's are made when the round starts, outside every
            # measurement.
            def batch(name, s, r):
                return (responses.write_requests(os.path.join(wd, "seq-%s-%d" % (s.tag, r)), s,
                                                 factory.make(s, a.seq)),
                        responses.write_requests(os.path.join(wd, "conc-%s-%d" % (s.tag, r)), s,
                                                 factory.make(s, a.acs)))
            print("setup took %.0f s; %d GET cases, %d rounds of %d s slices"
                  % (time.time() - t_start, len(cases), a.rounds, a.slice), flush=True)
            for label, s in seeds.items():
                print("seeded %s: %s" % (label, json.dumps(s.seed_stats)), flush=True)

            got = {(c[0], c[1]): [] for c in cases}
            cpu = {(c[0], c[1]): [] for c in cases}
            acs_got = {n: {"rps": [], "p50": [], "p90": []} for n in acs}
            for r in range(a.rounds):
                batches = {name: batch(name, s, r) for name, s in acs.items()}
                order = list(cases)
                if r % 2:
                    order.reverse()  # no case always runs right after the same one
                for label, g, s, path, hf, header, conns in order:
                    rps, us = wrk(s, path, hf, header, conns, a.slice)
                    got[(label, g)].append(rps)
                    cpu[(label, g)].append(us)
                names = list(acs)
                for name in (names if r % 2 == 0 else names[::-1]):
                    seq, conc = batches[name]
                    st = httpload(acs[name], seq, 1)
                    acs_got[name]["p50"].append(st["lat_ms"]["p50"])
                    acs_got[name]["p90"].append(st["lat_ms"]["p90"])
                    st = httpload(acs[name], conc, 20)
                    acs_got[name]["rps"].append(st["rps"])
                print("round %d: %s %s" % (r + 1, ", ".join("%s/%s %.0f" % (g, l, v[-1]) for (l, g), v in got.items()),
                                           ", ".join("ACS %s %.0f/s p50 %.2f ms" % (n, v["rps"][-1], v["p50"][-1])
                                                     for n, v in acs_got.items())), flush=True)
            for s in sites:
                if "exit signal" in s.error_log():
                    raise SystemExit("%s: an httpd child crashed" % s.tag)

            med = {k: statistics.median(v) for k, v in got.items()}
            mcpu = {k: statistics.median(v) for k, v in cpu.items()}
            # Two estimates of a ratio: of the medians (the targets' own), and the median of the
            # ratios within each round (each case against the static file of its own round, so
            # the machine's drift from round to round cancels).
            def paired(key, first):
                return statistics.median(x / y for x, y in zip(got[key], got[first]))

            print("\nmedian req/s (min-max) over %d rounds, ratio to the group's static file (or first case), "
                  "median of the per-round ratios; httpd CPU us/request (median), ratio:" % a.rounds)
            for g in ("t50", "t400", "million"):
                first = [k for k in got if k[1] == g and k[0] == "static"] or [k for k in got if k[1] == g][:1]
                for (label, gg), v in got.items():
                    if gg == g:
                        print("  %-8s %-34s %9.0f (%6.0f-%6.0f)  %.3f  %.3f   %6.1f us  %.3f"
                              % (g, label, med[(label, g)], min(v), max(v), med[(label, g)] / med[first[0]],
                                 paired((label, g), first[0]), mcpu[(label, g)],
                                 mcpu[(label, g)] / mcpu[first[0]]))
            print("\ntargets:")
            for g in ("t50", "t400"):
                if ("static", g) not in med:
                    continue
                st = med[("static", g)]
                for which in ("protected, 1 session", "protected, 10k sessions"):
                    p = med[(which, g)]
                    print("  %s %s: %.3f x static (target >= 0.93: %s; per-round median %.3f); %.3f x basic "
                          "apr1 (>= 1: %s); %.3f x basic sha1; %.3f x require ip"
                          % (g, which, p / st, "met" if p / st >= 0.93 else "NOT met",
                             paired((which, g), ("static", g)),
                             p / med[("basic (apr1-md5)", g)],
                             "met" if p >= med[("basic (apr1-md5)", g)] else "NOT met",
                             p / med[("basic (sha1)", g)], p / med[("require ip", g)]))
            for label, _ in bases:
                b, n = ("protected, 1 session, " + label, "t50"), ("protected, 1 session", "t50")
                print("  t50 protected, 1 session: this build %.3f x %s in req/s (per-round %.3f), %.3f x in "
                      "httpd CPU per request" % (med[n] / med[b], label, paired(n, b), mcpu[n] / mcpu[b]))
            if seeds:
                lo, hi = med[("protected, 100 sessions", "million")], med[("protected, 1M sessions", "million")]
                u = lmdb_usage(seeds["1M"])
                print("  1M sessions: GET %.3f x the rate at 100 (target >= 0.95: %s); %d entries, %d pages of "
                      "%d bytes in use = %.0f bytes/session (target <= 2048); data.mdb %.0f MiB"
                      % (hi / lo, "met" if hi / lo >= 0.95 else "NOT met", u["entries"], u["pages_in_use"],
                         u["page_size"], u["pages_in_use"] * u["page_size"] / u["entries"],
                         u["file_bytes"] / 2.0 ** 20))
            if acs:
                m = {n: {k: statistics.median(v[k]) for k in v} for n, v in acs_got.items()}
                for n, v in acs_got.items():
                    print("  ACS %-17s logins/s (20 conns) %s median %.0f; sequential p50 ms %s median %.2f"
                          % (n, " ".join("%.0f" % x for x in v["rps"]), m[n]["rps"],
                             " ".join("%.2f" % x for x in v["p50"]), m[n]["p50"]))
                old = m["before #14"]
                for n in ("this build", "this build, tmpfs"):
                    print("  ACS %s: logins/s %.3f x before #14, sequential p50 %.3f x before #14"
                          % (n, m[n]["rps"] / old["rps"], m[n]["p50"] / old["p50"]))
            if SOCKET_ERRORS:
                print("  socket errors seen by wrk: %s" % ", ".join("%s%s %d" % (t, p, n) for (t, p), n
                                                              in sorted(SOCKET_ERRORS.items())))
            print("\n(wrk -t2, -c20 at 50 threads and -c200 at 400; %d cores%s; run took %.0f s)"
                  % (os.cpu_count(), "; --pin: httpd on CPU %d, wrk on CPU 0" % (os.cpu_count() - 1)
                     if a.pin else "", time.time() - t_start))
        finally:
            stop_all(sites)
            shutil.rmtree(tmpfs_lmdb[5:tmpfs_lmdb.index("(")], ignore_errors=True)


if __name__ == "__main__":
    main()
