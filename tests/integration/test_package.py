"""The Debian package, end to end on this machine's system Apache.

Builds libapache2-mod-flexsaml with `dpkg-buildpackage -us -uc -b` from a copy of the
source tree, checks it with lintian (no errors), installs it with `apt-get install
./….deb`, runs `a2enmod flexsaml`, drops in a site that trusts the test IdP, runs
`apache2ctl configtest`, starts the system Apache (its own ServerRoot /etc/apache2,
mods-enabled, sites-enabled) on a free 127.0.0.1 port, signs in with `requests`, then
purges the package and puts back whatever else changed under /etc/apache2 and
/var/lib/apache2 (e.g. socache_shmcb, which `a2enmod flexsaml` enables as a dependency).

Skipped, with the reason, when not root, when the Debian tool chain is missing, when
the package is already installed, when a system Apache is running (it must not be
disturbed), or when another run of this test holds the lock. About 30-60 s.
"""
import fcntl
import glob
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest
import requests

import harness
from harness import saml

PKG = "libapache2-mod-flexsaml"
SITE = "flexsaml-pkgtest"
ETC = "/etc/apache2"
STATE_DIRS = (ETC, "/var/lib/apache2")
MODULE_SO = "/usr/lib/apache2/modules/mod_flexsaml.so"
LOCK = "/run/lock/flexsaml-package-test.lock"
# Names this test may enable, install or leave behind; anything else that changes in
# the state directories meanwhile is reported, never "restored".
OURS = ("flexsaml", "socache_shmcb", SITE)
TOOLS = ("dpkg-buildpackage", "dh", "apxs2", "apt-get", "a2enmod", "a2ensite", "apache2ctl")


def run(cmd, timeout=120, check=True, env=None, cwd=None):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                       env=dict(os.environ, **(env or {})))
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d\n--- stdout\n%s\n--- stderr\n%s" % (
            " ".join(cmd), p.returncode, p.stdout[-4000:], p.stderr[-4000:]))
    return p


def pkg_status(name):
    p = run(["dpkg-query", "-W", "-f=${Status}", name], check=False)
    return p.stdout.strip() if p.returncode == 0 else ""


def installed_packages():
    p = run(["dpkg-query", "-W", "-f=${Package}:${Architecture} ${db:Status-Abbrev}\n"])
    return {line.split()[0] for line in p.stdout.splitlines() if line.split()[1:2] == ["ii"]}


def system_apache_running():
    """A running Apache that uses /etc/apache2: its pid file, or an apache2 without -f."""
    for pidfile in ("/run/apache2/apache2.pid", "/var/run/apache2/apache2.pid"):
        try:
            pid = int(open(pidfile).read().split()[0])
            os.kill(pid, 0)
            return "pid %d from %s" % (pid, pidfile)
        except (OSError, ValueError, IndexError):
            pass
    for d in glob.glob("/proc/[0-9]*"):
        try:
            argv = open(d + "/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0]) in (b"apache2", b"httpd") and b"-f" not in argv:
            return "process %s: %s" % (d[6:], b" ".join(argv).decode(errors="replace"))
    return None


def snapshot():
    """path -> ("dir"|"link"|"file", mode, target or content digest + bytes) under STATE_DIRS."""
    out = {}
    for top in STATE_DIRS:
        for root, dirs, files in os.walk(top):
            for name in dirs + files:
                path = os.path.join(root, name)
                st = os.lstat(path)
                if os.path.islink(path):
                    out[path] = ("link", None, os.readlink(path))
                elif os.path.isdir(path):
                    out[path] = ("dir", st.st_mode & 0o7777, None)
                else:
                    data = open(path, "rb").read()
                    out[path] = ("file", st.st_mode & 0o7777, (hashlib.sha256(data).hexdigest(), data))
    return out


def _key(entry):
    kind, mode, payload = entry
    return (kind, mode, payload[0] if kind == "file" else payload)


def differences(before, after):
    return sorted(p for p in set(before) | set(after)
                  if p not in before or p not in after or _key(before[p]) != _key(after[p]))


def ours(path):
    name = os.path.basename(path)
    return any(name == n or name.startswith(n + ".") for n in OURS)


def restore(before, paths):
    """Puts each path back as it was in `before` (deepest first for removals)."""
    for path in sorted(paths, key=len, reverse=True):
        if path in before:
            continue
        if os.path.islink(path) or os.path.isfile(path):
            os.unlink(path)
        elif os.path.isdir(path):
            shutil.rmtree(path)
    for path in sorted(paths, key=len):
        if path not in before:
            continue
        kind, mode, payload = before[path]
        if os.path.islink(path) or os.path.isfile(path):
            os.unlink(path)
        if kind == "dir":
            os.makedirs(path, exist_ok=True)
            os.chmod(path, mode)
        elif kind == "link":
            os.symlink(payload, path)
        else:
            with open(path, "wb") as f:
                f.write(payload[1])
            os.chmod(path, mode)


def copy_source(dst):
    """The source tree as git sees it (tracked and untracked, not ignored): no build
    products of the working tree, whose own build other runs may be using."""
    p = run(["git", "-C", harness.REPO, "ls-files", "-z", "-c", "-o", "--exclude-standard"], check=False)
    if p.returncode == 0 and p.stdout:
        names = [n for n in p.stdout.split("\0") if n]
    else:  # not a git checkout: everything but the usual build products
        names = []
        for root, dirs, files in os.walk(harness.REPO):
            dirs[:] = [d for d in dirs if d not in (".git", "node_modules", "build", "autom4te.cache",
                                                    ".deps", "out", "__pycache__")]
            names += [os.path.relpath(os.path.join(root, f), harness.REPO) for f in files]
    for n in names:
        if "/node_modules/" in "/" + n or n.startswith("tests/out/"):
            continue
        src = os.path.join(harness.REPO, n)
        if not os.path.isfile(src):
            continue  # deleted in the working tree
        d = os.path.join(dst, n)
        os.makedirs(os.path.dirname(d), exist_ok=True)
        shutil.copy2(src, d)


@pytest.fixture(scope="module")
def package_lock():
    if os.geteuid() != 0:
        pytest.skip("the package test installs into the system Apache: run it as root")
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        pytest.skip("the Debian tool chain is missing (%s): bash scripts/install-deps installs it"
                    % ", ".join(missing))
    if pkg_status(PKG).startswith("install ok"):
        pytest.skip("%s is already installed on this machine; the test will not touch it" % PKG)
    running = system_apache_running()
    if running:
        pytest.skip("the system Apache is running (%s); the package test must not disturb it" % running)
    os.makedirs(os.path.dirname(LOCK), exist_ok=True)
    fd = os.open(LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.time() + 180
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.time() > deadline:
                os.close(fd)
                pytest.skip("another run of the package test holds %s" % LOCK)
            time.sleep(1)
    yield
    os.close(fd)


@pytest.fixture(scope="module")
def deb(package_lock):
    """Builds the package once for the module; yields (deb path, changes path, build log)."""
    work = tempfile.mkdtemp(prefix="flexsaml-deb-")
    src = os.path.join(work, "mod-flexsaml-0.1.0")
    copy_source(src)
    if not os.path.isdir(os.path.join(src, "debian")):
        pytest.fail("no debian/ directory in the source")
    t = time.time()
    p = run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, timeout=600, check=False,
            env={"DEB_BUILD_OPTIONS": "nocheck parallel=2", "DEBIAN_FRONTEND": "noninteractive"})
    log = p.stdout + p.stderr
    with open(os.path.join(work, "build.log"), "w") as f:
        f.write(log)
    assert p.returncode == 0, "dpkg-buildpackage failed (%ds):\n%s" % (time.time() - t, log[-6000:])
    debs = [d for d in glob.glob(os.path.join(work, PKG + "_*.deb"))]
    changes = glob.glob(os.path.join(work, PKG + "_*.changes"))
    assert len(debs) == 1 and len(changes) == 1, os.listdir(work)
    yield debs[0], changes[0], log
    shutil.rmtree(work, ignore_errors=True)


def test_package_contents_and_lintian(deb):
    path, changes, log = deb
    names = run(["dpkg-deb", "-c", path]).stdout
    for want in ("./usr/lib/apache2/modules/mod_flexsaml.so", "./etc/apache2/mods-available/flexsaml.load",
                 "./etc/apache2/mods-available/flexsaml.conf", "./usr/share/doc/%s/copyright" % PKG):
        assert want in names, "%s is not in the package:\n%s" % (want, names)
    tool = os.path.exists(os.path.join(harness.REPO, "tools", "flexsaml.c"))
    if tool:
        assert "./usr/bin/flexsaml" in names, "the source has tools/flexsaml.c but the package has no tool"
    control = run(["dpkg-deb", "-f", path, "Depends"]).stdout
    assert "apache2-api-20120211" in control and "liblasso3" in control, control
    # What the module accepts at startup (src/saml/lasso_version.c), not the
    # shlibs minimum (2.3.5) it would refuse.
    assert "liblasso3 (>= 2.8.1-1+deb12u1)" in control, control
    # The README's `flexsaml idp-fields --cert-out /etc/apache2/flexsaml/okta.cert`.
    assert "./etc/apache2/flexsaml/" in names, names
    if not shutil.which("lintian"):
        pytest.skip("lintian is not installed (bash scripts/install-deps installs it); contents checked")
    p = run(["lintian", "--fail-on", "error", "--no-tag-display-limit", changes], timeout=300, check=False)
    errors = [line for line in p.stdout.splitlines() if line.startswith("E:")]
    assert p.returncode == 0 and not errors, "lintian errors:\n%s\n%s" % (p.stdout, p.stderr)


def sysv_env(tmp):
    """/etc/apache2/envvars with the run, lock and log directories moved to tmp."""
    p = run(["sh", "-c", ". /etc/apache2/envvars && env"], env={"APACHE_CONFDIR": ETC})
    env = dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)
    for k, sub in (("APACHE_RUN_DIR", "run"), ("APACHE_LOCK_DIR", "lock"), ("APACHE_LOG_DIR", "logs")):
        env[k] = os.path.join(tmp, sub)
        os.makedirs(env[k], exist_ok=True)
        os.chmod(env[k], 0o755)
    env["APACHE_PID_FILE"] = os.path.join(tmp, "run", "apache2.pid")
    return env


def loopback_config(tmp):
    """apache2.conf of the system, ServerRoot /etc/apache2, without ports.conf (Listen 80,
    443): the site's own `Listen 127.0.0.1:<port>` is then the only socket."""
    lines = ['ServerRoot "%s"' % ETC]
    for line in open(os.path.join(ETC, "apache2.conf")):
        if line.split()[:2] in (["Include", "ports.conf"], ["IncludeOptional", "ports.conf"]):
            line = "# (package test: ports.conf left out) " + line
        lines.append(line.rstrip("\n"))
    path = os.path.join(tmp, "apache2-loopback.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


SITE_CONF = """# mod_flexsaml package test (tests/integration/test_package.py); removed by the test.
Listen 127.0.0.1:{port}
<IfModule !include_module>
    LoadModule include_module /usr/lib/apache2/modules/mod_include.so
</IfModule>
<VirtualHost 127.0.0.1:{port}>
    ServerName 127.0.0.1:{port}
    DocumentRoot "{docroot}"
    ErrorLog "{logs}/site-error.log"
    CustomLog "{logs}/site-access.log" combined
    LogLevel warn flexsaml:info

    FlexSAMLSPEntityID          http://127.0.0.1:{port}/flexsaml/metadata
    FlexSAMLIdPCertificateFile  "{cert}"
    FlexSAMLIdPSSOURL           {sso}
    FlexSAMLIdPIssuer           {issuer}

    <Directory "{docroot}">
        Options +IncludesNoExec
        AddOutputFilter INCLUDES .shtml
        DirectoryIndex index.shtml
        Require all granted
    </Directory>
    <Location /protected>
        AuthType FlexSAML
        Require flex-role supervisor admin
    </Location>
</VirtualHost>
"""


WHOAMI = """<!DOCTYPE html>
<title>whoami</title>
<p>name=<!--#echo var="FLEX_FULL_NAME" --></p>
<p>email=<!--#echo var="FLEX_EMAIL" --></p>
<p>roles=<!--#echo var="FLEX_ROLES" --></p>
<p>user=<!--#echo var="REMOTE_USER" --></p>
"""


def login(base, user_login):
    s = requests.Session()
    r = s.get(base + "/protected/", allow_redirects=False, timeout=10)
    assert r.status_code == 302 and "SAMLRequest=" in r.headers.get("Location", ""), (r.status_code, r.text)
    loc = r.headers["Location"]
    page = s.get(loc, timeout=10)
    forms = [f for f in saml.parse_forms(page.text) if f[1].get("user") == user_login]
    assert page.status_code == 200 and len(forms) == 1, page.text
    action, fields = forms[0]
    form = s.post(requests.compat.urljoin(loc, action), data=fields, timeout=10)
    assert form.status_code == 200, form.text
    acs, post = saml.parse_form(form.text)
    r = s.post(acs, data=post, allow_redirects=False, timeout=10)
    assert r.status_code in (302, 303), (r.status_code, r.text)
    return s, r


def test_install_enable_configtest_login_purge(deb, keys):
    path = deb[0]
    before = snapshot()
    pkgs_before = installed_packages()
    run_dirs_before = {d: os.path.exists(d) for d in ("/run/apache2", "/run/lock/apache2")}
    so_backup = None
    tmp = harness.make_tree("flexsaml-pkgtest-")
    policy = "/usr/sbin/policy-rc.d"
    own_policy = not os.path.exists(policy)
    httpd = idp = None
    problems = []
    apt_env = {"DEBIAN_FRONTEND": "noninteractive"}
    apt_opts = ["-o", "DPkg::Lock::Timeout=120", "-o", "Dpkg::Options::=--force-confdef",
                "-o", "Dpkg::Options::=--force-confold"]
    try:
        if own_policy:  # no service starts or restarts while we install (101: forbidden)
            with open(policy, "w") as f:
                f.write("#!/bin/sh\n# temporary, from mod_flexsaml tests/integration/test_package.py\nexit 101\n")
            os.chmod(policy, 0o755)
        if os.path.exists(MODULE_SO):  # e.g. from `make install`: dpkg would take it over
            so_backup = os.path.join(tmp, "mod_flexsaml.so.before")
            shutil.move(MODULE_SO, so_backup)

        # ---- install, enable, configtest with nothing configured ----
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends"] + apt_opts + [path],
            timeout=300, env=apt_env)
        assert pkg_status(PKG) == "install ok installed"
        for f in (MODULE_SO, ETC + "/mods-available/flexsaml.load", ETC + "/mods-available/flexsaml.conf"):
            assert os.path.exists(f), f
        p = run(["a2enmod", "flexsaml"])
        assert "flexsaml" in p.stdout, p.stdout
        assert os.path.islink(ETC + "/mods-enabled/flexsaml.load")
        assert os.path.islink(ETC + "/mods-enabled/flexsaml.conf")
        assert os.path.islink(ETC + "/mods-enabled/socache_shmcb.load"), "the # Depends: line of flexsaml.load"
        p = run(["apache2ctl", "configtest"], check=False)
        assert p.returncode == 0 and "Syntax OK" in p.stderr + p.stdout, \
            "the enabled, unconfigured module must pass configtest:\n" + p.stderr

        # ---- a site that trusts the test IdP ----
        port = harness.free_port()
        base = "http://127.0.0.1:%d" % port
        idp = harness.IdP(keys["key"], keys["cert"], base + "/flexsaml/metadata", base + "/flexsaml/acs").start()
        docroot = os.path.join(tmp, "htdocs")
        os.makedirs(os.path.join(docroot, "protected"))
        for d in (docroot, os.path.join(docroot, "protected")):
            os.chmod(d, 0o755)
        with open(os.path.join(docroot, "index.shtml"), "w") as f:
            f.write("<h1>public</h1>\n")
        with open(os.path.join(docroot, "protected", "index.shtml"), "w") as f:
            f.write(WHOAMI)
        logs = os.path.join(tmp, "logs")
        os.makedirs(logs, exist_ok=True)
        with open(os.path.join(ETC, "sites-available", SITE + ".conf"), "w") as f:
            f.write(SITE_CONF.format(port=port, docroot=docroot, logs=logs, cert=keys["cert"],
                                     sso=idp.sso_url, issuer=harness.ISSUER))
        run(["a2ensite", SITE])
        p = run(["apache2ctl", "configtest"], check=False)
        assert p.returncode == 0 and "Syntax OK" in p.stderr + p.stdout, p.stderr

        # ---- the system Apache on 127.0.0.1:<port> ----
        env = sysv_env(tmp)
        conf = loopback_config(tmp)
        httpd = subprocess.Popen(["/usr/sbin/apache2", "-d", ETC, "-f", conf, "-D", "FOREGROUND"],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        if not harness.wait_port(port, httpd):
            out = httpd.stdout.read().decode(errors="replace") if httpd.poll() is not None else ""
            logtxt = ""
            for lf in glob.glob(os.path.join(tmp, "logs", "*error.log")):
                logtxt += open(lf).read()
            pytest.fail("the system Apache did not start on %s:\n%s\n%s" % (base, out, logtxt[-3000:]))

        assert "EntityDescriptor" in requests.get(base + "/flexsaml/metadata", timeout=10).text
        assert requests.get(base + "/", timeout=10).text.strip() == "<h1>public</h1>"
        s, r = login(base, "sam.supervisor@example.com")
        page = s.get(base + "/protected/", allow_redirects=False, timeout=10)
        assert page.status_code == 200, (page.status_code, page.text)
        for want in ("name=Sam Supervisor", "email=sam.supervisor@example.com", "roles=supervisor",
                     "user=sam.supervisor@example.com"):
            assert want in page.text, page.text
        s2, _ = login(base, "alice.agent@example.com")
        assert s2.get(base + "/protected/", allow_redirects=False, timeout=10).status_code == 403
    finally:
        if httpd is not None:
            if httpd.poll() is None:
                httpd.send_signal(signal.SIGTERM)
                try:
                    httpd.wait(15)
                except subprocess.TimeoutExpired:
                    pass
            try:
                os.killpg(httpd.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            httpd.wait()
        if idp is not None:
            idp.stop()
        # ---- purge, and leave the system as it was ----
        subprocess.run(["a2dissite", "-q", SITE], capture_output=True)
        try:
            os.unlink(os.path.join(ETC, "sites-available", SITE + ".conf"))
        except FileNotFoundError:
            pass
        if pkg_status(PKG):
            p = run(["apt-get", "purge", "-y", "-q"] + apt_opts + [PKG], timeout=300, env=apt_env, check=False)
            if p.returncode != 0:
                problems.append("apt-get purge failed:\n" + p.stdout + p.stderr)
        if pkg_status(PKG):
            problems.append("%s is still known to dpkg: %s" % (PKG, pkg_status(PKG)))
        left = [f for f in (MODULE_SO, ETC + "/mods-available/flexsaml.load", ETC + "/mods-available/flexsaml.conf",
                            ETC + "/mods-enabled/flexsaml.load", ETC + "/mods-enabled/flexsaml.conf")
                if os.path.lexists(f)]
        if left:
            problems.append("the purge left %s" % left)
        new_pkgs = installed_packages() - pkgs_before
        if new_pkgs:  # dependencies the install pulled in
            run(["apt-get", "purge", "-y", "-q"] + apt_opts + sorted(new_pkgs), timeout=300, env=apt_env,
                check=False)
        if so_backup:
            shutil.move(so_backup, MODULE_SO)
        changed = differences(before, snapshot())
        # What the purge left of the package's own doing: the test's site and
        # its a2ensite/a2dissite markers are the test's, not the package's.
        left_behind = [p for p in changed
                       if not os.path.basename(p).startswith(SITE) and not
                       (p not in before and os.path.isdir(p) and not os.path.islink(p))]
        if left_behind:
            problems.append("the purge left %s" % left_behind)
        restore(before, [p for p in changed if ours(p)])
        # state directories a2dismod/a2dissite create (disabled_by_admin…), now empty
        for p in sorted(differences(before, snapshot()), key=len, reverse=True):
            if p not in before and os.path.isdir(p) and not os.path.islink(p) and not os.listdir(p):
                os.rmdir(p)
        for d, existed in run_dirs_before.items():
            if not existed and os.path.isdir(d) and not os.listdir(d):
                os.rmdir(d)
        if own_policy:
            os.unlink(policy)
        shutil.rmtree(tmp, ignore_errors=True)
    still = differences(before, snapshot())
    assert not still, "the system is not as the test found it: %s" % still
    assert not problems, "\n".join(problems)
