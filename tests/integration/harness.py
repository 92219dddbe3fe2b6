"""Servers for the integration tests: a private Apache with the built module and
the test IdP, each on a free 127.0.0.1 port under a temporary ServerRoot.
No test touches /etc/apache2 or the system service."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IDP_DIR = os.path.join(REPO, "tests", "idp")
sys.path.insert(0, IDP_DIR)

import saml  # noqa: E402  (the test IdP's library)

MODULES = "/usr/lib/apache2/modules"
APACHE = "/usr/sbin/apache2"
APP_ID = "exk1flexsamltest0h7"
ISSUER = "http://www.okta.com/" + APP_ID
SHARED = os.path.abspath(os.path.join(REPO, "..", "shared"))


def module_path():
    return os.environ.get("FLEXSAML_MODULE", os.path.join(REPO, "mod_flexsaml.so"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc=None, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def make_tree(prefix):
    """A temp dir that Apache's unprivileged children can read."""
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    return d


ENV_CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
env | sort
"""

BASE_CONF = """
ServerRoot "{root}"
Listen 127.0.0.1:{port}
ServerName 127.0.0.1:{port}
PidFile "{root}/run/httpd.pid"
DefaultRuntimeDir "{root}/run"
Mutex file:{root}/run default
ErrorLog "{root}/logs/error.log"
LogLevel warn flexsaml:info
LogFormat "%h %u \\"%r\\" %>s %b" common
CustomLog "{root}/logs/access.log" common
User www-data
Group www-data
{mpm}
LoadModule authz_core_module {mods}/mod_authz_core.so
LoadModule authz_user_module {mods}/mod_authz_user.so
LoadModule authz_host_module {mods}/mod_authz_host.so
LoadModule authn_core_module {mods}/mod_authn_core.so
LoadModule mime_module {mods}/mod_mime.so
LoadModule dir_module {mods}/mod_dir.so
LoadModule alias_module {mods}/mod_alias.so
LoadModule cgid_module {mods}/mod_cgid.so
LoadModule headers_module {mods}/mod_headers.so
LoadModule socache_shmcb_module {mods}/mod_socache_shmcb.so
LoadModule flexsaml_module {module}
TypesConfig /etc/mime.types
ScriptSock "{root}/run/cgid.sock"
DocumentRoot "{root}/htdocs"
KeepAlive On
<Directory "{root}/htdocs">
    Options +ExecCGI
    AddHandler cgi-script .cgi
    Require all granted
</Directory>
"""

EVENT_MPM = """LoadModule mpm_event_module {mods}/mod_mpm_event.so
StartServers 1
ServerLimit 2
ThreadsPerChild 25
MaxRequestWorkers 50"""


class Apache:
    """One httpd -D FOREGROUND with a generated config."""

    def __init__(self, body, port=None, name="httpd", extra_files=None, mpm=EVENT_MPM):
        self.port = port or free_port()
        self.root = make_tree("flexsaml-%s-" % name)
        for sub in ("run", "logs", "htdocs", "htdocs/protected", "conf"):
            os.makedirs(os.path.join(self.root, sub), exist_ok=True)
            os.chmod(os.path.join(self.root, sub), 0o755)
        self.write("htdocs/index.html", "<h1>home</h1>\n")
        self.write("htdocs/protected/index.html", "<h1>protected</h1>\n")
        self.write("htdocs/protected/env.cgi", ENV_CGI, 0o755)
        for rel, text in (extra_files or {}).items():
            self.write(rel, text)
        self.conf_path = os.path.join(self.root, "conf", "httpd.conf")
        fmt = dict(root=self.root, port=self.port, mods=MODULES, module=module_path())
        fmt["mpm"] = mpm.format(**fmt)
        self.write("conf/httpd.conf", BASE_CONF.format(**fmt) + body.format(**fmt))
        self.proc = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def write(self, rel, text, mode=0o644):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def configtest(self):
        return subprocess.run([APACHE, "-t", "-f", self.conf_path], capture_output=True, text=True)

    def start(self, wrapper=(), env=None):
        """wrapper: a command prefix, e.g. ("faketime", "-f", "@2016-07-25 23:20:30")."""
        self.wrapper = tuple(wrapper)
        self.proc = subprocess.Popen(list(wrapper) + [APACHE, "-D", "FOREGROUND", "-f", self.conf_path],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     env=dict(os.environ, **(env or {})), start_new_session=True)
        if not wait_port(self.port, self.proc):
            out = self.proc.stdout.read().decode(errors="replace") if self.proc.poll() is not None else ""
            self.stop()
            raise RuntimeError("apache did not start:\n%s\n%s" % (out, self.error_log()))
        return self

    def stop(self):
        """Stops httpd and, through its process group, every child (a
        wrapper such as faketime would otherwise leave them behind)."""
        if self.proc:
            pgid = self.proc.pid
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    pass
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
            for path in faketime_leftovers(self.proc.pid, getattr(self, "wrapper", ())):
                try:
                    os.unlink(path)
                except OSError:
                    pass
        self.proc = None

    def error_log(self):
        try:
            with open(os.path.join(self.root, "logs", "error.log")) as f:
                return f.read()
        except OSError:
            return ""

    def log_mark(self):
        return len(self.error_log())

    def log_since(self, mark):
        return self.error_log()[mark:]

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def faketime_leftovers(pid, wrapper):
    """The shared memory the faketime wrapper of pid made: it removes it when it exits by
    itself, not when stopped by a signal, and every stopped server would leave it in /dev/shm."""
    if not wrapper or os.path.basename(wrapper[0]) != "faketime":
        return []
    return ["/dev/shm/faketime_shm_%d" % pid, "/dev/shm/sem.faketime_sem_%d" % pid]


class IdP:
    """The Okta-like test IdP (tests/idp/idp.py) as a subprocess."""

    def __init__(self, key, cert, sp_entity_id, acs_url, port=None, extra_args=()):
        self.port = port or free_port()
        self.key, self.cert = key, cert
        self.args = [sys.executable if os.path.basename(sys.executable).startswith("python3")
                     else "/usr/bin/python3", os.path.join(IDP_DIR, "idp.py"),
                     "--port", str(self.port), "--key", key, "--cert", cert,
                     "--users", os.path.join(IDP_DIR, "users.json"), "--app-id", APP_ID,
                     "--sp-entity-id", sp_entity_id, "--acs-url", acs_url] + list(extra_args)
        self.proc = None

    @property
    def sso_url(self):
        return "http://127.0.0.1:%d/app/%s/sso/saml" % (self.port, APP_ID)

    @property
    def init_url(self):
        return "http://127.0.0.1:%d/app/%s/init" % (self.port, APP_ID)

    @property
    def metadata_url(self):
        return self.sso_url + "/metadata"

    def start(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        if not wait_port(self.port, self.proc):
            raise RuntimeError("test IdP did not start")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None


def sp_conf(idp_sso_url, idp_cert, entity_id, extra=""):
    """The FlexSAML block of a server that trusts the test IdP."""
    return """
FlexSAMLSPEntityID          {entity}
FlexSAMLIdPCertificateFile  {cert}
FlexSAMLIdPSSOURL           {sso}
FlexSAMLIdPIssuer           {issuer}
{extra}
<Location /protected>
    AuthType FlexSAML
    Require valid-user
</Location>
""".replace("{entity}", entity_id).replace("{cert}", idp_cert).replace(
        "{sso}", idp_sso_url).replace("{issuer}", ISSUER).replace("{extra}", extra)
