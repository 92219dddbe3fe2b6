"""The benchmark's output: medians with min–max and ratios from one run, the
targets with met/missed, and a gnuplot chart."""
import os
import shutil
import statistics
import subprocess

FLEX, MELLON = "mod_flexsaml", "mod_auth_mellon"
KIB, MIB = 1024.0, 1024.0 * 1024.0


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def spread(xs, fmt="%.0f"):
    """'median (min–max)' of a list of numbers."""
    xs = [x for x in xs if x is not None]
    if not xs:
        return "n/a"
    if len(xs) == 1:
        return fmt % xs[0]
    return "%s (%s–%s)" % (fmt % statistics.median(xs), fmt % min(xs), fmt % max(xs))


def ratios(a, b):
    """Per-repetition ratios a[i]/b[i] (the two were measured side by side)."""
    return [x / y for x, y in zip(a, b) if x is not None and y]


def _get(d, *path, default=None):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return default
        d = d[p]
    return d


def targets(res):
    """[(target, value text, met: True/False/None)] from the results dict."""
    out = []
    f = res["modules"][FLEX]
    m = res["modules"][MELLON]
    cores = res["machine"]["cores"]

    def cpu_note(key):
        if not f.get(key):
            return ""
        return "; in httpd CPU per request, static ÷ this: %.3f" % med(ratios(f["static_cpu_us"], f[key]))

    r = med(ratios(f["protected_rps"], f["static_rps"]))
    out.append(("protected GET ≥ 0.95 × static GET (mod_flexsaml)",
                "%.3f (mod_auth_mellon %.3f%s)" % (r, med(ratios(m["protected_rps"], m["static_rps"])),
                                                   cpu_note("protected_cpu_us")),
                r >= 0.95))
    r = med(ratios(f["role_rps"], f["static_rps"]))
    out.append(("Require flex-role GET ≥ 0.95 × static GET", "%.3f%s" % (r, cpu_note("role_cpu_us")),
                r >= 0.95))

    r = med(ratios(f["acs_rps"], m["acs_rps"]))
    out.append(("ACS logins/s ≥ 20 × mod_auth_mellon (Debian defaults)", "%.1f ×" % r, r >= 20))
    lim = med(res["lasso"]["logins_per_s"])
    r = med(f["acs_rps"]) / (lim * cores)
    out.append(("ACS logins/s ≥ 0.7 × in-process Lasso limit × %d cores" % cores,
                "%.2f (%.0f / (%.0f × %d))" % (r, med(f["acs_rps"]), lim, cores), r >= 0.7))
    p50 = med(f["seq_p50_ms"])
    out.append(("sequential ACS p50 ≤ 3 ms", "%.2f ms" % p50, p50 <= 3.0))

    mem = res.get("memory", {})
    tiers = _get(mem, "tiers", default=[])
    ft = _get(mem, FLEX, default={})
    lo, hi = (str(tiers[0]), str(tiers[-1])) if tiers else (None, None)
    if lo and hi and lo in ft and hi in ft and ft[hi].get("rps") and ft[lo].get("rps"):
        raw = med(ratios(ft[hi]["rps"], ft[lo]["rps"]))
        whole = ft[hi]["live"] >= int(hi)
        if ft[hi].get("static_rps") and ft[lo].get("static_rps"):
            # The tiers run minutes apart: judged on protected ÷ static of the same slices.
            r = (med(ratios(ft[hi]["rps"], ft[hi]["static_rps"]))
                 / med(ratios(ft[lo]["rps"], ft[lo]["static_rps"])))
            text = ("%.3f × (each tier's rate ÷ the static rate of the same slices; raw rates: "
                    "%.3f ×; httpd CPU per request at %s ÷ at %s: %.3f)"
                    % (r, raw, lo, hi, med(ft[lo]["cpu_us"]) / med(ft[hi]["cpu_us"])))
        else:
            r, text = raw, "%.3f ×" % raw
        out.append(("protected GET at %s live sessions within 5 %% of the rate at %s" % (hi, lo),
                    text + ("" if whole else " (but only %d of %s sessions stayed valid)"
                            % (ft[hi]["live"], hi)),
                    r >= 0.95 and whole))
    else:
        out.append(("protected GET at the largest tier within 5 % of the rate at the smallest",
                    "not measured", None))
    cap = _get(mem, "probe", "bytes_per_session")
    if cap:
        out.append(("store cost per session ≤ 2 KiB (shmcb bytes / sessions it holds)",
                    "%.2f KiB" % (cap / KIB), cap <= 2 * KIB))
    growth = _get(mem, FLEX, "pss_per_session")
    if growth is not None:
        held = ft.get(hi, {}).get("live", 0) >= int(hi)
        out.append(("memory growth per session ≤ 2 KiB (httpd PSS, %s → %s sessions made)" % (lo, hi),
                    "%.2f KiB%s" % (growth / KIB, "" if held else
                                    " (not meaningful: the store kept only %d sessions)" % ft[hi]["live"]),
                    growth <= 2 * KIB if held else None))
    return out


def table(res):
    """The result as Markdown (the README shows it as is)."""
    L = []
    mach = res["machine"]
    f = res["modules"][FLEX]
    m = res["modules"][MELLON]
    L.append("Machine: %s, %d cores, %.1f GiB RAM, %s; Apache %s (event MPM, 2 × 25 threads), "
             "Lasso %s, mod_auth_mellon %s, wrk %s. %s; %d repetitions, modules interleaved "
             "A B A B; GETs with wrk -t2 -c20 in %d one-second slices per path and module, "
             "interleaved. Run %s (mod_flexsaml %s)."
             % (mach["cpu"], mach["cores"], mach["mem_gib"], mach["os"], mach["apache"],
                mach["lasso"], mach["mellon"], mach["wrk"], res["mode"], res["reps"],
                res["duration"], res["date"], res["commit"]))
    L.append("")
    L.append("| measure | %s | %s | flexsaml / mellon |" % (FLEX, MELLON))
    L.append("| --- | ---: | ---: | ---: |")

    def row(label, key, fmt="%.0f", ratio=True):
        rr = spread(ratios(f[key], m[key]), "%.2f") if ratio else ""
        L.append("| %s | %s | %s | %s |" % (label, spread(f[key], fmt), spread(m[key], fmt), rr))

    row("static GET /static/f, req/s (ceiling)", "static_rps")
    row("protected GET /protected/f (Require valid-user), req/s", "protected_rps")
    L.append("| protected / static | %s | %s | |" % (
        spread(ratios(f["protected_rps"], f["static_rps"]), "%.3f"),
        spread(ratios(m["protected_rps"], m["static_rps"]), "%.3f")))
    if f.get("static_cpu_us"):
        row("httpd CPU per static GET, µs", "static_cpu_us", "%.1f")
        row("httpd CPU per protected GET, µs", "protected_cpu_us", "%.1f")
        row("httpd CPU per role GET, µs", "role_cpu_us", "%.1f")
        L.append("| static CPU / protected CPU (the rate ratio without the machine's drift) | %s | %s | |" % (
            spread(ratios(f["static_cpu_us"], f["protected_cpu_us"]), "%.3f"),
            spread(ratios(m["static_cpu_us"], m["protected_cpu_us"]), "%.3f")))
    row("role GET /agent/f (flex-role agent / MellonCond), req/s", "role_rps")
    L.append("| role / static | %s | %s | |" % (
        spread(ratios(f["role_rps"], f["static_rps"]), "%.3f"),
        spread(ratios(m["role_rps"], m["static_rps"]), "%.3f")))
    row("ACS logins/s, 20 connections, distinct responses", "acs_rps")
    L.append("| (logins per repetition) | %s | %s | |" % (spread(f["acs_n"]), spread(m["acs_n"])))
    row("sequential ACS, logins/s (one keep-alive connection)", "seq_rps")
    row("sequential ACS latency p50, ms", "seq_p50_ms", "%.2f")
    row("sequential ACS latency p90, ms", "seq_p90_ms", "%.2f")
    lim = res["lasso"]["logins_per_s"]
    cores = mach["cores"]
    L.append("| in-process Lasso limit, logins/s on one core (`bench/lassobench-tuned`: Lasso as "
             "mod_flexsaml runs it) | %s | | |" % spread(lim))
    if res["lasso"].get("stock_per_s"):
        L.append("| (Lasso as Debian ships it, IdP key as a certificate: `bench/lassobench`) | %s | | |"
                 % spread(res["lasso"]["stock_per_s"]))
    L.append("| ACS logins/s ÷ (Lasso limit × %d cores) | %s | %s | |" % (
        cores, spread([x / (med(lim) * cores) for x in f["acs_rps"]], "%.2f"),
        spread([x / (med(lim) * cores) for x in m["acs_rps"]], "%.3f")))

    mem = res.get("memory")
    if mem and mem.get("tiers"):
        L.append("")
        L.append("Live sessions (made by the benchmark through the ACS), memory of all httpd "
                 "processes (PSS: shared pages split between processes, so the sum is real memory; "
                 "RSS: summed per process) and protected GET req/s spread over every live session "
                 "(with its ratio to the static rate of the same interleaved slices, and the httpd "
                 "CPU per protected request):")
        L.append("")
        L.append("| sessions made | %s: still valid | PSS MiB | RSS MiB | GET req/s "
                 "| %s: still valid | PSS MiB | RSS MiB | GET req/s |" % (FLEX, MELLON))
        L.append("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for t in mem["tiers"]:
            cells = []
            for name in (FLEX, MELLON):
                d = _get(mem, name, str(t))
                if not d or d.get("skipped"):
                    why = d.get("skipped") if d else "not run"
                    cells += ["—", "—", "—", why]
                else:
                    get = spread(d["rps"])
                    if d.get("static_rps"):
                        get += " (÷ static %s; %.1f µs CPU)" % (
                            spread(ratios(d["rps"], d["static_rps"]), "%.3f"), med(d["cpu_us"]))
                    cells += ["%d" % d["live"], "%.1f" % (d["pss"] / MIB), "%.1f" % (d["rss"] / MIB),
                              get]
            L.append("| %d | %s |" % (t, " | ".join(cells)))
        L.append("")
        for name in (FLEX, MELLON):
            d = mem.get(name, {})
            if d.get("pss_per_session") is not None:
                L.append("- %s: PSS growth %.2f KiB per session made (%s → %s sessions); %s"
                         % (name, d["pss_per_session"] / KIB, d["growth_from"], d["growth_to"],
                            d.get("store_note", "")))
            elif d.get("store_note"):
                L.append("- %s: %s" % (name, d["store_note"]))
        probe = mem.get("probe")
        if probe:
            L.append("- %s store capacity: logging in step by step into an %.0f MiB shmcb, at most "
                     "%d sessions were valid at once (session + replay-cache entry per login; "
                     "logins → valid: %s): %.2f KiB of store per session."
                     % (FLEX, probe["store_bytes"] / MIB, probe["alive"],
                        ", ".join("%d → %d" % tuple(x) for x in probe.get("steps", [])),
                        probe["bytes_per_session"] / KIB))
        for note in mem.get("notes", []):
            L.append("- " + note)
    L.append("")
    L.append("| target | value | |")
    L.append("| --- | ---: | --- |")
    for name, value, ok in targets(res):
        L.append("| %s | %s | %s |" % (name, value, "met" if ok else ("n/a" if ok is None else "**missed**")))
    if res.get("notes"):
        L.append("")
        for n in res["notes"]:
            L.append("- " + n)
    return "\n".join(L) + "\n"


def chart(res, png):
    """A 2×2 gnuplot chart: GET rates, ACS rates, ACS latency, GET rate vs sessions."""
    if not shutil.which("gnuplot"):
        return "gnuplot not installed (apt-get install gnuplot-nox): no chart"
    d = os.path.dirname(png)
    f = res["modules"][FLEX]
    m = res["modules"][MELLON]

    def triple(xs):
        xs = [x for x in xs if x is not None] or [0]
        return "%g %g %g" % (statistics.median(xs), min(xs), max(xs))

    get_dat = os.path.join(d, ".get.dat")
    with open(get_dat, "w") as fh:
        for label, key in (("static", "static_rps"), ("protected", "protected_rps"),
                           ("role", "role_rps")):
            fh.write('"%s" %s %s\n' % (label, triple(f[key]), triple(m[key])))
    acs_dat = os.path.join(d, ".acs.dat")
    lim = res["lasso"]["logins_per_s"]
    cores = res["machine"]["cores"]
    with open(acs_dat, "w") as fh:
        fh.write('"%s" %s\n' % (FLEX, triple(f["acs_rps"])))
        fh.write('"%s" %s\n' % (MELLON, triple(m["acs_rps"])))
        fh.write('"Lasso x %d cores" %s\n' % (cores, triple([x * cores for x in lim])))
    lat_dat = os.path.join(d, ".lat.dat")
    with open(lat_dat, "w") as fh:
        fh.write('"p50" %s %s\n' % (triple(f["seq_p50_ms"]), triple(m["seq_p50_ms"])))
        fh.write('"p90" %s %s\n' % (triple(f["seq_p90_ms"]), triple(m["seq_p90_ms"])))
    mem_dat = {}
    mem = res.get("memory") or {}
    for name in (FLEX, MELLON):
        path = os.path.join(d, ".mem-%s.dat" % ("flex" if name == FLEX else "mellon"))
        mem_dat[name] = path
        with open(path, "w") as fh:
            for t in mem.get("tiers", []):
                x = _get(mem, name, str(t))
                if x and not x.get("skipped") and x.get("rps"):
                    fh.write("%d %s %g\n" % (t, triple(x["rps"]), x["pss"] / MIB))
    plot_mem = any(os.path.getsize(p) for p in mem_dat.values())
    script = """
set terminal pngcairo size 1400,1000 font "sans,10" noenhanced
set output '{png}'
set multiplot layout 2,2 title "mod_flexsaml vs mod_auth_mellon — {title}"
set style data histogram
set style histogram errorbars gap 2 lw 1
set style fill solid 0.8 border -1
set key top right
set grid ytics
set yrange [0:*]
set title "GET req/s (wrk -t2 -c20), median and min–max"
plot '{get}' using 2:3:4:xtic(1) title "{flex}" lc rgb "#1f77b4", '' using 5:6:7 title "{mellon}" lc rgb "#d62728"
set title "ACS logins/s, 20 connections (log scale)"
set logscale y
set yrange [1:*]
plot '{acs}' using 2:3:4:xtic(1) notitle lc rgb "#2ca02c"
unset logscale y
set yrange [0:*]
set title "sequential ACS latency, ms (log scale)"
set logscale y
set yrange [0.1:*]
plot '{lat}' using 2:3:4:xtic(1) title "{flex}" lc rgb "#1f77b4", '' using 5:6:7 title "{mellon}" lc rgb "#d62728"
unset logscale y
set yrange [0:*]
""".format(png=png, title="%s, %s" % (res["date"], res["mode"]), get=get_dat, acs=acs_dat,
           lat=lat_dat, flex=FLEX, mellon=MELLON)
    if plot_mem:
        script += """
set style data linespoints
set title "protected GET req/s and httpd PSS vs sessions made"
set key below
set logscale x
set xlabel "sessions made (see the table for how many stayed valid)"
set ylabel "req/s"
set y2label "PSS MiB"
set y2tics
set ytics nomirror
set y2range [0:*]
plot '{mf}' using 1:2:3:4 title "{flex} req/s" with yerrorlines lc rgb "#1f77b4", \\
     '{mm}' using 1:2:3:4 title "{mellon} req/s" with yerrorlines lc rgb "#d62728", \\
     '{mf}' using 1:5 axes x1y2 title "{flex} PSS MiB" with linespoints lc rgb "#1f77b4" dt 2, \\
     '{mm}' using 1:5 axes x1y2 title "{mellon} PSS MiB" with linespoints lc rgb "#d62728" dt 2
""".format(mf=mem_dat[FLEX], mm=mem_dat[MELLON], flex=FLEX, mellon=MELLON)
    script += "unset multiplot\n"
    gp = os.path.join(d, ".chart.gp")
    with open(gp, "w") as fh:
        fh.write(script)
    r = subprocess.run(["gnuplot", gp], capture_output=True, text=True, timeout=60)
    for p in [get_dat, acs_dat, lat_dat, gp] + list(mem_dat.values()):
        try:
            os.remove(p)
        except OSError:
            pass
    if r.returncode != 0:
        return "gnuplot failed: %s" % r.stderr.strip()[-500:]
    return None


if __name__ == "__main__":
    # Re-renders a run's table and chart: python3 bench/report.py bench/results/latest.json
    import json
    import sys
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                            "results", "latest.json")
    with open(path) as fh:
        data = json.load(fh)
    sys.stdout.write(table(data))
    err = chart(data, os.path.join(os.path.dirname(os.path.abspath(path)), "latest.png"))
    if err:
        sys.stderr.write(err + "\n")
