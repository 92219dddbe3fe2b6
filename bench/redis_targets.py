#!/usr/bin/python3
"""Issue #15's targets in one interleaved run:

1. protected GET over the native redis:// store vs a static file (target >= 0.6x) and vs
   apr-util's socache `redis:` provider (target: no slower), one busy session each; also
   redis:// with FlexSAMLSessionCacheLocal off, to show what the local copy changes;
2. ACS logins/s (20 connections, distinct signed responses) over redis:// vs over lmdb
   (target >= 0.8x).

    make -C bench httpload
    /usr/bin/python3 bench/redis_targets.py [--rounds 5] [--slice 2] [--acs 600]

One redis-server (127.0.0.1, free port, no persistence, requirepass) serves every redis site;
each site is a private Apache (event, 2 x 25 threads) verified before it is measured (no cookie
-> 302, the cookie -> 200). Then --rounds rounds, each running every GET case for a --slice
second wrk slice (-t2 -c20) and one ACS batch per store, in turn, the order reversed every
other round. Prints every round, the medians, the ratios and the targets."""
import argparse
import os
import statistics
import sys
import time

import responses
import servers
import store_targets
from servers import harness

sys.path.insert(0, os.path.join(servers.REPO, "tests", "integration"))
from test_redis import RedisServer  # noqa: E402

PASSPHRASE = "bench passphrase, not a secret"
PASSWORD = "bench redis password"


class Site(store_targets.Site):
    """A store_targets site on another FlexSAMLSessionCache, with the passphrase (and the Redis
    password) a network store needs."""

    def __init__(self, signer, workdir, tag, cache, password=False, socache=False, local=True):
        store_targets.Site.__init__(self, signer, workdir, tag)
        self.cache = cache
        self.password = password
        self.socache = socache
        self.local = local

    def body(self):
        extra = "FlexSAMLCryptoPassphrase env:FLEXSAML_BENCH_PASS\n"
        if self.password:
            extra += "FlexSAMLSessionCachePassword env:FLEXSAML_BENCH_REDIS\n"
        if self.socache:
            extra += "LoadModule socache_redis_module {mods}/mod_socache_redis.so\n"
        if not self.local:
            extra += "FlexSAMLSessionCacheLocal off\n"
        return store_targets.Site.body(self) + extra

    def start(self):
        os.environ["FLEXSAML_BENCH_PASS"] = PASSPHRASE
        os.environ["FLEXSAML_BENCH_REDIS"] = PASSWORD
        return store_targets.Site.start(self)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--slice", type=int, default=2)
    ap.add_argument("--acs", type=int, default=600, help="logins per 20-connection ACS slice")
    a = ap.parse_args()
    t_start = time.time()
    wd = harness.make_tree("flexsaml-b15-")
    key, cert = servers.saml.make_keys(wd)
    for fn in os.listdir(wd):
        os.chmod(os.path.join(wd, fn), 0o644)
    signer = servers.saml.Signer(key, cert)
    empty = store_targets.lines_file(os.path.join(wd, "empty"), [])
    rd = RedisServer("--requirepass", PASSWORD).start()
    # apr-util's provider has no AUTH: its own server, without a password.
    rd_open = RedisServer().start()
    sites = []

    def site(tag, cache, **kw):
        s = Site(signer, wd, tag, cache, **kw)
        sites.append(s)
        s.start()
        return s

    with responses.Factory(key, cert) as factory:
        try:
            def login(s):
                return store_targets.sign_in(factory, s)

            native = site("redis", "redis://127.0.0.1:%d" % rd.port, password=True)
            uncached = site("redis-nolocal", "redis://127.0.0.1:%d" % rd.port, password=True, local=False)
            apr = site("socache-redis", "redis:127.0.0.1:%d" % rd_open.port, socache=True)
            lmdb = site("lmdb", "lmdb:{root}/run/lmdb(%d)" % store_targets.LMDB_MAP)
            cases = [("static", native, "/static/f", empty)]
            for label, s in (("protected, redis://", native), ("protected, redis:// local off", uncached),
                             ("protected, socache redis:", apr), ("protected, lmdb", lmdb)):
                c = login(s)
                store_targets.verify(s, [c])
                cases.append((label, s, "/protected/f",
                              store_targets.lines_file(os.path.join(wd, "%s-cookie" % s.tag), [c])))
            acs = {"redis://": native, "lmdb": lmdb}
            batches = {}
            for name, s in acs.items():
                made = factory.make(s, a.acs * a.rounds)
                batches[name] = [responses.write_requests(os.path.join(wd, "conc-%s-%d" % (s.tag, r)), s,
                                                          made[r * a.acs:(r + 1) * a.acs])
                                 for r in range(a.rounds)]
            print("setup took %.0f s" % (time.time() - t_start), flush=True)
            got = {c[0]: [] for c in cases}
            acs_got = {n: [] for n in acs}
            for r in range(a.rounds):
                order = cases if r % 2 == 0 else cases[::-1]
                for label, s, path, hf in order:
                    rps, _ = store_targets.wrk(s, path, hf, None, 20, a.slice)
                    got[label].append(rps)
                for name in (list(acs) if r % 2 == 0 else list(acs)[::-1]):
                    acs_got[name].append(store_targets.httpload(acs[name], batches[name][r], 20)["rps"])
                print("round %d: %s; %s" % (r + 1, ", ".join("%s %.0f" % (k, v[-1]) for k, v in got.items()),
                                            ", ".join("ACS %s %.0f/s" % (k, v[-1]) for k, v in acs_got.items())),
                      flush=True)
            for s in sites:
                if "exit signal" in s.error_log():
                    raise SystemExit("%s: an httpd child crashed" % s.tag)
            med = {k: statistics.median(v) for k, v in got.items()}
            amed = {k: statistics.median(v) for k, v in acs_got.items()}
            print("\nmedian req/s (min-max) over %d rounds, ratio to static:" % a.rounds)
            for k, v in got.items():
                print("  %-28s %8.0f (%6.0f-%6.0f)  %.3f" % (k, med[k], min(v), max(v), med[k] / med["static"]))
            for k, v in acs_got.items():
                print("  ACS %-24s %8.0f logins/s (%s)" % (k, amed[k], " ".join("%.0f" % x for x in v)))
            n, s_, o = med["protected, redis://"], med["static"], med["protected, socache redis:"]
            print("\ntargets:")
            print("  protected GET over redis://: %.3f x static (target >= 0.6: %s); %.3f x socache redis: "
                  "(target >= 1: %s)" % (n / s_, "met" if n / s_ >= 0.6 else "NOT met", n / o,
                                         "met" if n >= o else "NOT met"))
            ra = amed["redis://"] / amed["lmdb"]
            print("  ACS over redis://: %.3f x ACS over lmdb (target >= 0.8: %s)"
                  % (ra, "met" if ra >= 0.8 else "NOT met"))
            print("\n(wrk -t2 -c20, 2 x 25 event threads; %d cores; run took %.0f s)"
                  % (os.cpu_count(), time.time() - t_start))
        finally:
            store_targets.stop_all(sites)
            rd.cleanup()
            rd_open.cleanup()


if __name__ == "__main__":
    main()
