#!/usr/bin/python3
"""mod_flexsaml vs mod_auth_mellon, side by side (issue #7). Started by bench/run.

Two private Apaches on 127.0.0.1 (servers.py), fresh signed Okta-shaped responses from the
test IdP's key (responses.py), wrk for GETs, bench/httpload for logins (each response posted
once), bench/lassobench for the in-process Lasso limit. Every server is verified before it is
measured; any wrong status during a measurement aborts the run.
"""
import argparse
import datetime
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time

import report
import responses
import servers
from servers import harness, saml

BENCH = servers.BENCH
HTTPLOAD = os.path.join(BENCH, "httpload")
LASSOBENCH = os.path.join(BENCH, "lassobench")
LASSOBENCH_TUNED = os.path.join(BENCH, "lassobench-tuned")
GET_LUA = os.path.join(BENCH, "get.lua")
FLEX, MELLON = report.FLEX, report.MELLON


class Abort(Exception):
    """A module is not doing its job, or a tool failed: no number from this setup."""


def log(msg):
    print("bench: %s" % msg, file=sys.stderr, flush=True)


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception:  # noqa: BLE001  (machine description only)
        return ""


def machine():
    cpu = sh("sed -n 's/^model name\\s*: //p' /proc/cpuinfo | head -1") or platform.processor()
    mem = int(sh("awk '/MemTotal/{print $2}' /proc/meminfo") or 0) / 1024.0 / 1024.0
    osr = sh(". /etc/os-release && echo \"$PRETTY_NAME\"") + ", Linux " + platform.release()
    return {
        "cpu": cpu, "cores": os.cpu_count(), "mem_gib": mem, "os": osr,
        "apache": sh("/usr/sbin/apache2 -v | sed -n 's/^Server version: Apache\\///p' | cut -d' ' -f1"),
        "lasso": sh("dpkg-query -W -f='${Version}' liblasso3"),
        "mellon": sh("dpkg-query -W -f='${Version}' libapache2-mod-auth-mellon"),
        "wrk": sh("dpkg-query -W -f='${Version}' wrk"),
    }


class Bench:
    def __init__(self, a):
        self.a = a
        self.wd = harness.make_tree("flexsaml-bench-")
        self.key, self.cert = saml.make_keys(self.wd)
        for fn in os.listdir(self.wd):
            os.chmod(os.path.join(self.wd, fn), 0o644)
        self.signer = saml.Signer(self.key, self.cert)
        self.factory = responses.Factory(self.key, self.cert, a.workers)
        self.running = []
        self.n = 0
        self.notes = []

    # ---------------------------------------------------------------- plumbing
    def path(self, name):
        self.n += 1
        return os.path.join(self.wd, "%03d-%s" % (self.n, name))

    def start(self, server):
        log("starting %s on %s" % (server.name, server.base))
        self.running.append(server)
        try:
            server.start()
        except RuntimeError as e:
            raise Abort("%s did not start: %s" % (server.name, e))
        return server

    def stop(self, server):
        server.stop()
        if server in self.running:
            self.running.remove(server)

    def stop_all(self):
        for s in list(self.running):
            try:
                self.stop(s)
            except Exception as e:  # noqa: BLE001
                log("stopping %s: %s" % (s.name, e))

    def fail(self, server, what):
        tail = "\n".join(server.error_log().splitlines()[-15:]) if server else ""
        raise Abort("%s: %s\n--- error log tail ---\n%s" % (server.name if server else "", what, tail))

    def httpload(self, server, reqfile, conns, expect=303, cookies=False, statuses=False):
        """Runs bench/httpload; returns (stats, cookies or statuses or None)."""
        cmd = [HTTPLOAD, "-p", str(server.port), "-f", reqfile, "-c", str(conns),
               "-t", str(self.a.timeout)]
        if expect:
            cmd += ["-e", str(expect)]
        out_cookies = None
        if cookies:
            out_cookies = reqfile + ".cookies"
            cmd += ["-k", server.cookie, "-o", out_cookies]
        if statuses:
            out_statuses = reqfile + ".statuses"
            cmd += ["-s", out_statuses]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=self.a.timeout + 30)
        try:
            st = json.loads(r.stdout)
        except ValueError:
            self.fail(server, "httpload failed: %s %s" % (r.stdout, r.stderr))
        if expect and (r.returncode != 0 or st["unexpected"] or st["errors"]):
            self.fail(server, "expected %d for every request, got %s (errors %d) %s"
                      % (expect, st["status"], st["errors"], r.stderr.strip()))
        got = None
        if out_cookies:
            with open(out_cookies) as f:
                got = [line.strip() for line in f]
            if not all(got):
                self.fail(server, "%d logins set no %s cookie" % (sum(1 for c in got if not c), server.cookie))
        if statuses:
            with open(out_statuses) as f:
                got = [int(line) for line in f]
        return st, got

    def logins(self, server, n, conns, users=None):
        """n fresh logins through the ACS; returns (httpload stats, cookies)."""
        resp = self.factory.make(server, n, users)
        reqfile = responses.write_requests(self.path("acs-%s" % server.tag), server, resp)
        return self.httpload(server, reqfile, conns, cookies=True)

    def alive(self, server, cookies, path="/protected/f"):
        """The session cookies (of these) that still get the protected file."""
        reqfile = self.path("alive-%s" % server.tag)
        with open(reqfile, "wb") as f:
            for c in cookies:
                req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nCookie: %s=%s\r\n\r\n"
                       % (path, server.port, server.cookie, c)).encode()
                f.write(b"%d\n" % len(req) + req)
        st, codes = self.httpload(server, reqfile, 20, expect=0, statuses=True)
        if st["errors"]:
            self.fail(server, "liveness check: %d requests got no answer" % st["errors"])
        return [c for c, code in zip(cookies, codes) if code == 200]

    def wrk(self, server, path, cookie_file, duration=None):
        n, secs = self.wrk_counts(server, path, cookie_file, duration)
        return n / secs

    def sliced_gets(self, servers_, paths, pools):
        """{(server name, path): (req/s, httpd CPU µs per request)}: each path gets --duration
        one-second wrk runs per server, interleaved path by path and server by server. The
        machine's speed drifts by tens of percent within seconds (a shared VM), so a ratio of
        these compares slices a few seconds apart, never a fast minute with a slow one; the CPU
        per request (from /proc/PID/stat) does not move with that speed at all."""
        tot = {(s.name, path): [0, 0.0, 0.0] for s in servers_ for path in paths}
        for _ in range(self.a.duration):
            for path in paths:
                for s in servers_:
                    cpu0 = s.cpu_seconds()
                    n, secs = self.wrk_counts(s, path, pools[s.name], 1)
                    t = tot[(s.name, path)]
                    t[0] += n
                    t[1] += secs
                    t[2] += s.cpu_seconds() - cpu0
        return {k: (n / secs, cpu * 1e6 / n) for k, (n, secs, cpu) in tot.items()}

    def wrk_counts(self, server, path, cookie_file, duration=None):
        """(requests, seconds) of one wrk run."""
        duration = duration or self.a.duration
        cmd = ["wrk", "-t2", "-c20", "-d%ds" % duration, "-s", GET_LUA, server.base, "--", path,
               server.cookie, cookie_file]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
        m = re.search(r"BENCH_NON200 (\d+)", r.stdout)
        reqs = re.search(r"BENCH_REQUESTS (\d+)", r.stdout)
        us = re.search(r"BENCH_DURATION_US (\d+)", r.stdout)
        if r.returncode != 0 or not (m and reqs and us):
            self.fail(server, "wrk failed: %s %s" % (r.stdout[-800:], r.stderr[-800:]))
        if int(m.group(1)):
            self.fail(server, "wrk GET %s: %s of %s responses were not 200"
                      % (path, m.group(1), reqs.group(1)))
        errs = re.search(r"Socket errors: (.*)", r.stdout)
        if errs:
            self.fail(server, "wrk GET %s: socket errors: %s" % (path, errs.group(1)))
        return int(reqs.group(1)), int(us.group(1)) / 1e6

    # ------------------------------------------------------------ verification
    def verify(self, server):
        """No cookie → redirect to the IdP; a login sets a cookie; the cookie gets the file;
        a replay is refused; the role area admits an agent and refuses a supervisor."""
        import requests
        log("verifying %s" % server.name)
        s = requests.Session()
        r = s.get(server.base + "/static/f", allow_redirects=False)
        if r.status_code != 200 or r.text != servers.FILE_TEXT:
            self.fail(server, "GET /static/f: %d" % r.status_code)
        r = s.get(server.base + "/protected/f", allow_redirects=False)
        loc = r.headers.get("Location", "")
        if r.status_code in (302, 303) and loc.startswith(server.base + "/mellon/login"):
            r = s.get(loc, allow_redirects=False)  # mellon's own login endpoint comes first
            loc = r.headers.get("Location", "")
        if r.status_code not in (302, 303) or not loc.startswith(server.sso_url + "?SAMLRequest="):
            self.fail(server, "no cookie: expected a redirect to the IdP, got %d %s" % (r.status_code, loc))
        agent, sup = self.factory.make(server, 1, [responses.AGENTS[0]])[0], \
            self.factory.make(server, 1, [u for u in responses.USERS if u["userType"] == "supervisor"])[0]
        r = s.post(server.acs, data={"SAMLResponse": agent}, allow_redirects=False)
        cookie = r.cookies.get(server.cookie)
        if r.status_code != 303 or not cookie:
            self.fail(server, "login: expected 303 with a %s cookie, got %d" % (server.cookie, r.status_code))
        jar = {server.cookie: cookie}
        r = requests.get(server.base + "/protected/f", cookies=jar, allow_redirects=False)
        if r.status_code != 200 or r.text != servers.FILE_TEXT:
            self.fail(server, "the session cookie did not get /protected/f: %d" % r.status_code)
        r = requests.get(server.base + "/agent/f", cookies=jar, allow_redirects=False)
        if r.status_code != 200:
            self.fail(server, "an agent did not get /agent/f: %d" % r.status_code)
        r = requests.post(server.acs, data={"SAMLResponse": agent}, allow_redirects=False)
        if r.status_code < 400 or server.cookie in r.cookies:
            self.fail(server, "a replayed response was not refused: %d" % r.status_code)
        r = requests.post(server.acs, data={"SAMLResponse": sup}, allow_redirects=False)
        sjar = {server.cookie: r.cookies.get(server.cookie, "")}
        if r.status_code != 303 or not sjar[server.cookie]:
            self.fail(server, "supervisor login: %d" % r.status_code)
        r = requests.get(server.base + "/agent/f", cookies=sjar, allow_redirects=False)
        if r.status_code not in (401, 403):
            self.fail(server, "a supervisor was not refused /agent/f: %d" % r.status_code)
        return [cookie, sjar[server.cookie]]  # the sessions it made

    # ------------------------------------------------------------- phase A
    def lasso_limit(self, flex):
        """bench/lassobench on fresh responses, twice: "module" runs Lasso as mod_flexsaml runs it
        (IdP key as a bare RSA KeyValue, src/saml/idp.c; its Lasso calls marked quiet for the module's
        lasso_log, src/saml/lasso_log.c), the limit the targets use; "stock" runs Lasso as Debian
        ships it with the IdP certificate, as most SPs do."""
        resp = self.factory.make(flex, self.a.lasso_logins)
        f = self.path("lasso-responses")
        responses.write_lines(f, resp)
        md = self.path("sp-metadata.xml")
        with open(md, "w") as fh:
            fh.write(sp_metadata_like_flexsaml(flex))
        out = {}
        for name, prog, form in (("module", LASSOBENCH_TUNED, "keyvalue"), ("stock", LASSOBENCH, "x509")):
            idp = self.path("idp-metadata-%s.xml" % form)
            with open(idp, "w") as fh:
                fh.write(idp_metadata_like_flexsaml(flex, self.cert, form))
            r = subprocess.run([prog, md, idp, f], capture_output=True, text=True, timeout=600)
            if r.returncode != 0:
                raise Abort("lassobench (%s) failed: %s %s" % (name, r.stdout, r.stderr))
            out[name] = json.loads(r.stdout)
        return out

    def phase_a(self, res):
        a = self.a
        flex = self.start(servers.FlexSAML(self.signer, self.wd, "flex"))
        mellon = self.start(servers.Mellon(self.signer, self.wd, "mellon"))
        pair = [flex, mellon]
        for s in pair:
            self.verify(s)
        mods = res["modules"]
        for s in pair:
            mods[s.name] = {k: [] for k in ("static_rps", "protected_rps", "role_rps", "static_cpu_us",
                                            "protected_cpu_us", "role_cpu_us", "acs_rps",
                                            "acs_n", "seq_rps", "seq_p50_ms", "seq_p90_ms")}
        est = {}
        for rep in range(a.reps):
            log("repetition %d/%d" % (rep + 1, a.reps))
            # 1 + 5: GETs. A fresh pool of agent sessions for each module (mellon's default
            # cache of 100 sessions drops old ones while the logins below run).
            pools = {}
            for s in pair:
                _, cookies = self.logins(s, a.pool, 4, responses.AGENTS)
                pools[s.name] = responses.write_lines(self.path("pool-%s" % s.tag), cookies)
            gets = (("static_rps", "/static/f"), ("protected_rps", "/protected/f"),
                    ("role_rps", "/agent/f"))
            got = self.sliced_gets(pair, [path for _, path in gets], pools)
            for key, path in gets:
                for s in pair:
                    rps, cpu_us = got[(s.name, path)]
                    mods[s.name][key].append(rps)
                    mods[s.name][key.replace("_rps", "_cpu_us")].append(cpu_us)
                    log("  %-15s GET %-13s %8.0f req/s, httpd CPU %5.1f us/request"
                        % (s.name, path, rps, cpu_us))
            # 2: sequential ACS on one keep-alive connection, then 20 connections.
            batches = {}
            for s in pair:
                seq = self.factory.make(s, a.seq_logins)
                n = est.get(s.name)
                n = int(min(a.acs_max, max(a.acs_min, n * a.acs_seconds))) if n else a.acs_first.get(s.name, a.acs_min)
                conc = self.factory.make(s, n)
                batches[s.name] = (responses.write_requests(self.path("seq-%s" % s.tag), s, seq),
                                   responses.write_requests(self.path("conc-%s" % s.tag), s, conc), n)
            for s in pair:
                st, _ = self.httpload(s, batches[s.name][0], 1)
                if st["reconnects"]:
                    self.fail(s, "the sequential run did not stay on one keep-alive connection")
                mods[s.name]["seq_rps"].append(st["rps"])
                mods[s.name]["seq_p50_ms"].append(st["lat_ms"]["p50"])
                mods[s.name]["seq_p90_ms"].append(st["lat_ms"]["p90"])
                log("  %-15s sequential ACS: %d logins, p50 %.2f ms, p90 %.2f ms"
                    % (s.name, st["done"], st["lat_ms"]["p50"], st["lat_ms"]["p90"]))
            for s in pair:
                st, _ = self.httpload(s, batches[s.name][1], 20)
                mods[s.name]["acs_rps"].append(st["rps"])
                mods[s.name]["acs_n"].append(batches[s.name][2])
                est[s.name] = report.med(mods[s.name]["acs_rps"])
                log("  %-15s ACS, 20 connections: %d logins, %.0f logins/s"
                    % (s.name, st["done"], st["rps"]))
            # 3: the in-process limit, while both servers idle.
            lim = self.lasso_limit(flex)
            res["lasso"]["logins_per_s"].append(lim["module"]["logins_per_s"])
            res["lasso"]["stock_per_s"].append(lim["stock"]["logins_per_s"])
            res["lasso"]["runs"].append(lim)
            log("  lassobench: %d logins, %.0f logins/s on one core as mod_flexsaml runs Lasso "
                "(stock Lasso with the IdP certificate: %.0f/s)"
                % (lim["module"]["logins"], lim["module"]["logins_per_s"], lim["stock"]["logins_per_s"]))
        for s in pair:
            if "exit signal" in s.error_log():
                self.fail(s, "an httpd child crashed during the run")
            self.stop(s)
        return est

    # ------------------------------------------------------------- phase B
    def grow(self, server, have, target, rate=None):
        """Logs in until `target` sessions exist; returns the new cookies. A batch is posted
        within ~2 minutes of being signed (`rate`: expected logins/s), well inside the 5 minutes
        the test IdP's assertions are valid."""
        new = []
        chunk = self.a.chunk if not rate else max(100, min(self.a.chunk, int(rate * 120)))
        while have + len(new) < target:
            n = min(chunk, target - have - len(new))
            _, cookies = self.logins(server, n, 20)
            new += cookies
        return new

    def phase_b(self, res, est):
        a = self.a
        tiers = sorted(set(a.tiers))
        mem = res["memory"] = {"tiers": tiers, FLEX: {}, MELLON: {}, "notes": []}
        # mellon: cache big enough for its largest tier within the time budget
        m_rate = est.get(MELLON) or 20.0
        m_tiers, spent = [], 0.0
        for t in tiers:
            need = (t - (m_tiers[-1] if m_tiers else 0)) / m_rate
            if spent + need <= a.mellon_budget:
                m_tiers.append(t)
                spent += need
            else:
                mem[MELLON][str(t)] = {"skipped": "not run (~%.0f s of logins at %.0f/s > budget %d s)"
                                                  % (need, m_rate, a.mellon_budget)}
        flex = self.start(servers.FlexSAML(self.signer, self.wd, "flexmem", cache=a.flex_cache))
        mellon = self.start(servers.Mellon(self.signer, self.wd, "mellonmem",
                                           cache_size=max(m_tiers or [100]) + 100))
        mem["flex_cache"] = a.flex_cache
        mem["mellon_cache_size"] = mellon.cache_size
        pair = [flex, mellon]
        cookies = {}
        for s in pair:
            cookies[s.name] = self.verify(s)
        for t in tiers:
            active = [s for s in pair if s is flex or t in m_tiers]
            for s in active:
                t0 = time.time()
                cookies[s.name] += self.grow(s, len(cookies[s.name]), t, est.get(s.name))
                mem[s.name].setdefault("make_s", {})[str(t)] = time.time() - t0
                log("  %-15s %d sessions made (%.0f s)" % (s.name, t, time.time() - t0))
            pools = {}
            for s in active:
                time.sleep(1.0)
                m = s.memory()
                live = self.alive(s, cookies[s.name])
                if len(live) < len(cookies[s.name]):
                    mem["notes"].append("%s: of %d sessions made, only %d were still valid (the "
                                        "others were dropped by the store); GET req/s measured over "
                                        "the valid ones" % (s.name, len(cookies[s.name]), len(live)))
                mem[s.name][str(t)] = {"pss": m["pss"], "rss": m["rss"], "procs": m["procs"],
                                       "made": len(cookies[s.name]), "live": len(live), "rps": [],
                                       "static_rps": [], "cpu_us": []}
                log("  %-15s %d sessions: PSS %.1f MiB, RSS %.1f MiB, %d still valid"
                    % (s.name, t, m["pss"] / report.MIB, m["rss"] / report.MIB, len(live)))
                if live:
                    pools[s.name] = responses.write_lines(self.path("tier-%s" % s.tag), live)
            # As in phase A, so that the tiers (measured minutes apart) can also be compared
            # with the machine's drift taken out (protected ÷ static of the same slices).
            measured = [s for s in active if s.name in pools]
            for rep in range(a.tier_reps):
                got = self.sliced_gets(measured, ("/static/f", "/protected/f"), pools)
                for s in measured:
                    name, d = s.name, mem[s.name][str(t)]
                    (rps, cpu_us), (srps, _) = got[(name, "/protected/f")], got[(name, "/static/f")]
                    d["rps"].append(rps)
                    d["static_rps"].append(srps)
                    d["cpu_us"].append(cpu_us)
                    log("  %-15s %d sessions: GET /protected/f %.0f req/s (static %.0f), httpd CPU "
                        "%.1f us/request" % (name, t, rps, srps, cpu_us))
        for s in pair:
            done = [t for t in tiers if str(t) in mem[s.name] and not mem[s.name][str(t)].get("skipped")]
            if len(done) >= 2:
                lo, hi = mem[s.name][str(done[0])], mem[s.name][str(done[-1])]
                mem[s.name]["pss_per_session"] = (hi["pss"] - lo["pss"]) / float(hi["made"] - lo["made"])
                mem[s.name]["growth_from"], mem[s.name]["growth_to"] = lo["made"], hi["made"]
        mem[MELLON]["store_note"] = (
            "store: MellonCacheSize × MellonCacheEntrySize of shared memory reserved at start; "
            "Debian defaults MellonCacheSize %d, MellonCacheEntrySize %d (%d KiB per session, "
            "%.1f MiB for 100 sessions); here MellonCacheSize %d."
            % (servers.Mellon.DEFAULT_CACHE_SIZE, servers.Mellon.DEFAULT_ENTRY_SIZE,
               servers.Mellon.DEFAULT_ENTRY_SIZE // 1024,
               servers.Mellon.DEFAULT_CACHE_SIZE * servers.Mellon.DEFAULT_ENTRY_SIZE / report.MIB,
               mellon.cache_size))
        mem[FLEX]["store_note"] = "store: FlexSAMLSessionCache \"%s\"." % a.flex_cache
        for s in pair:
            self.stop(s)
        # Store cost per session: fill a small shmcb past its capacity and count survivors.
        probe_bytes = a.probe_bytes
        probe = self.start(servers.FlexSAML(self.signer, self.wd, "probe",
                                            cache="shmcb:flexsaml_probe(%d)" % probe_bytes))
        # Log in step by step; after each step count the sessions still valid. The most ever
        # valid at once is what the store holds (past it, shmcb drops old entries).
        pc = self.verify(probe)
        step = max(100, a.probe_logins // 16)
        steps, best = [], 0
        while len(pc) < a.probe_logins:
            pc += self.grow(probe, len(pc), min(a.probe_logins, len(pc) + step))
            live = len(self.alive(probe, pc))
            steps.append((len(pc), live))
            best = max(best, live)
            if live < len(pc) and live < best:
                break  # past the peak
        self.stop(probe)
        mem["probe"] = {"store_bytes": probe_bytes, "logins": len(pc), "alive": best, "steps": steps,
                        "bytes_per_session": probe_bytes / float(max(best, 1))}
        if best >= len(pc):
            mem["notes"].append("the capacity probe did not fill its store (raise --probe-logins): "
                                "the per-session figure is an upper bound")
        log("  store probe: %d MiB shmcb held at most %d sessions (logins, valid: %s): %.0f bytes "
            "per session" % (probe_bytes // (1 << 20), best, steps, probe_bytes / float(max(best, 1))))


    # ------------------------------------------------------------- profile
    def profile(self, out_dir):
        """perf profiles of mod_flexsaml's httpd children: the ACS under 20 connections and the
        protected GET under wrk. Writes profile-acs.txt and profile-get.txt."""
        import shutil
        if not shutil.which("perf"):
            raise Abort("perf is not installed (apt-get install linux-perf)")
        flex = self.start(servers.FlexSAML(self.signer, self.wd, "flexprof"))
        cookies = self.verify(flex)
        _, more = self.logins(flex, self.a.pool - len(cookies), 4, responses.AGENTS)
        pool = responses.write_lines(self.path("prof-pool"), cookies + more)
        reqfile = responses.write_requests(self.path("prof-acs"), flex,
                                           self.factory.make(flex, self.a.profile_logins))
        written = []

        def perf(name, run):
            data = os.path.join(out_dir, ".perf-%s.data" % name)  # kept for perf report
            pids = ",".join(str(p) for p in flex.pids()[1:])
            # DWARF unwinding: Debian's libraries have no frame pointers.
            rec = subprocess.Popen(["perf", "record", "-q", "-F", "499", "--call-graph", "dwarf,8192",
                                    "-o", data, "-p", pids],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
            try:
                what = run()
            finally:
                rec.send_signal(signal.SIGTERM)  # SIGINT may be ignored in a background job
                try:
                    rec.wait(120)
                except subprocess.TimeoutExpired:
                    rec.kill()
                    rec.wait()
            out = os.path.join(out_dir, "profile-%s.txt" % name)
            rep_flat = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                                       "--sort", "dso,symbol", "--percent-limit", "0.5", "-g", "none"],
                                      capture_output=True, text=True, timeout=300).stdout
            rep_dso = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                                      "--sort", "dso", "-g", "none"],
                                     capture_output=True, text=True, timeout=300).stdout
            rep_tree = subprocess.run(["perf", "report", "-i", data, "--stdio", "--children",
                                       "--sort", "symbol", "--percent-limit", "3", "-g", "none"],
                                      capture_output=True, text=True, timeout=300).stdout
            with open(out, "w") as f:
                f.write("# %s\n# mod_flexsaml httpd children, perf record -F 499 --call-graph dwarf\n\n" % what)
                f.write("## by shared object (self)\n" + strip(rep_dso) + "\n")
                f.write("## by symbol (self, >= 0.5 %)\n" + strip(rep_flat) + "\n")
                f.write("## by symbol (self + callees, >= 3 %)\n" + strip(rep_tree) + "\n")
            written.append(out)
            log("wrote %s" % out)

        def acs():
            st, _ = self.httpload(flex, reqfile, 20)  # every thread has run logins before (pool)
            return "ACS: %d distinct logins over 20 connections, %.0f logins/s (under perf)" % (st["done"], st["rps"])

        def get():
            rps = self.wrk(flex, "/protected/f", pool, duration=max(5, self.a.duration))
            return "protected GET /protected/f, wrk -t2 -c20: %.0f req/s (under perf)" % rps

        def static():
            rps = self.wrk(flex, "/static/f", pool, duration=max(5, self.a.duration))
            return "static GET /static/f, wrk -t2 -c20: %.0f req/s (under perf)" % rps
        perf("get", get)  # before the logins below push the pool's sessions out of a small store
        perf("static", static)
        perf("acs", acs)
        self.stop(flex)
        return written


def strip(report_text):
    """perf report output without its comment header and blank lines."""
    return "\n".join(l for l in report_text.splitlines() if l.strip() and not l.startswith("#")) + "\n"


def sp_metadata_like_flexsaml(flex):
    """The SP description mod_flexsaml gives Lasso (src/saml/sp.c: no key, POST ACS)."""
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
            "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"%s\">\n"
            "  <md:SPSSODescriptor AuthnRequestsSigned=\"false\" WantAssertionsSigned=\"true\" "
            "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\n"
            "    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>\n"
            "    <md:AssertionConsumerService index=\"0\" isDefault=\"true\" "
            "Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"%s\"/>\n"
            "  </md:SPSSODescriptor>\n</md:EntityDescriptor>\n" % (flex.entity, flex.acs))


def idp_metadata_like_flexsaml(flex, cert_path, form="x509"):
    """The IdP description mod_flexsaml builds for Lasso from certificate + SSO URL + issuer
    (src/saml/idp.c idp_finish: "keyvalue", the bare RSA key); "x509" carries the certificate, as
    an IdP's own metadata does."""
    with open(cert_path) as f:
        cert = "".join(l.strip() for l in f if l.strip() and not l.startswith("-----"))
    if form == "x509":
        key = "<ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data>" % cert
    else:
        import base64
        mod = subprocess.run(["openssl", "x509", "-in", cert_path, "-noout", "-modulus"],
                             capture_output=True, text=True, check=True).stdout.strip().split("=", 1)[1]
        text = subprocess.run(["openssl", "x509", "-in", cert_path, "-noout", "-text"],
                              capture_output=True, text=True, check=True).stdout
        exp = int(re.search(r"Exponent: (\d+)", text).group(1))

        def b64int(n):
            return base64.b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).decode()
        key = ("<ds:KeyValue><ds:RSAKeyValue><ds:Modulus>%s</ds:Modulus><ds:Exponent>%s"
               "</ds:Exponent></ds:RSAKeyValue></ds:KeyValue>" % (b64int(int(mod, 16)), b64int(exp)))
    return ("<?xml version=\"1.0\"?>\n<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
            "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"%s\"><md:IDPSSODescriptor "
            "WantAuthnRequestsSigned=\"false\" protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
            "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo>%s</ds:KeyInfo></md:KeyDescriptor>"
            "<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>"
            "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" "
            "Location=\"%s\"/></md:IDPSSODescriptor></md:EntityDescriptor>\n"
            % (harness.ISSUER, key, flex.sso_url))


def commit():
    """Which mod_flexsaml was measured: the work tree's commit, or FLEXSAML_MODULE."""
    if os.environ.get("FLEXSAML_MODULE"):
        return "FLEXSAML_MODULE=%s" % os.environ["FLEXSAML_MODULE"]
    rev = sh("git -C %s rev-parse --short HEAD" % servers.REPO)
    dirty = sh("git -C %s status --porcelain -- src mod_flexsaml.c" % servers.REPO)
    return rev + ("+changes" if dirty else "")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="few repetitions, fewer sessions (~3 min)")
    p.add_argument("--reps", type=int, help="repetitions of the GET and login measurements")
    p.add_argument("--duration", type=int, help="seconds per wrk run")
    p.add_argument("--tiers", type=lambda s: [int(x) for x in s.split(",")],
                   help="live-session tiers, e.g. 100,10000,100000")
    p.add_argument("--mellon-budget", type=int,
                   help="seconds of mod_auth_mellon logins allowed for its session tiers")
    p.add_argument("--skip-memory", action="store_true", help="only items 1, 2, 3 and 5")
    p.add_argument("--profile", action="store_true",
                   help="instead of the comparison: perf profiles of mod_flexsaml's login and "
                        "protected GET paths (results/profile-*.txt)")
    p.add_argument("--out", default=os.path.join(BENCH, "results"), help="where to write results")
    p.add_argument("--workers", type=int, default=2, help="processes that sign responses")
    a = p.parse_args()
    quick = a.quick
    a.reps = a.reps or (2 if quick else 5)
    a.duration = a.duration or (2 if quick else 5)
    a.tiers = a.tiers or ([100, 1000, 10000] if quick else [100, 10000, 100000])
    a.mellon_budget = a.mellon_budget if a.mellon_budget is not None else (45 if quick else 600)
    a.tier_reps = 2 if quick else 3
    a.pool = 20
    a.seq_logins = 200
    a.acs_seconds = 3 if quick else 5
    a.acs_min, a.acs_max = 100, 20000
    a.acs_first = {FLEX: 1500 if quick else 3000, MELLON: 100}
    a.lasso_logins = 1000 if quick else 2000
    a.chunk = 10000
    a.timeout = 1800
    a.flex_cache = "shmcb:flexsaml_bench(201326592)"
    a.probe_bytes = 8 << 20
    a.probe_logins = 10000
    a.profile_logins = 5000
    os.makedirs(a.out, exist_ok=True)

    def on_signal(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, on_signal)

    started = time.time()
    res = {"mode": "quick run" if quick else "full run", "reps": a.reps, "duration": a.duration,
           "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "commit": commit(),
           "machine": machine(), "modules": {},
           "lasso": {"logins_per_s": [], "stock_per_s": [], "runs": []}}
    b = Bench(a)
    rc = 0
    try:
        with b.factory:
            if a.profile:
                b.profile(a.out)
                return 0
            est = b.phase_a(res)
            if not a.skip_memory:
                b.phase_b(res, est)
    except Abort as e:
        log("ABORTED, no figures from this setup:\n%s" % e)
        rc = 1
    except KeyboardInterrupt as e:
        log("interrupted (%s)" % e)
        rc = 130
    finally:
        b.stop_all()
        harness.shutil.rmtree(b.wd, ignore_errors=True)
    if rc:
        return rc
    res["elapsed_s"] = time.time() - started
    res["notes"] = ["Run took %.0f s. Figures from one machine where the client (wrk, httpload) and "
                    "both servers share the same cores; compare the ratios, not the absolute numbers."
                    % res["elapsed_s"]]
    text = report.table(res)
    print(text)
    with open(os.path.join(a.out, "latest.md"), "w") as f:
        f.write(text)
    with open(os.path.join(a.out, "latest.json"), "w") as f:
        json.dump(res, f, indent=1)
    png = os.path.join(a.out, "latest.png")
    err = report.chart(res, png)
    log(err if err else "wrote %s, latest.md, latest.json" % png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
