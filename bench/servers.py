"""The two Apaches under test, built on tests/integration/harness.py: the same
base configuration (event MPM, keep-alive, logging, the same small file at
/static/f and /protected/f), one with mod_flexsaml, one with mod_auth_mellon.

Only 127.0.0.1, free ports, private ServerRoots under /tmp; nothing touches
/etc/apache2 or the system service."""
import os
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import harness  # noqa: E402  (also puts tests/idp on sys.path)
from harness import saml  # noqa: E402
from idp_pages import metadata_xml  # noqa: E402

MELLON_SO = "/usr/lib/apache2/modules/mod_auth_mellon.so"
FILE_BYTES = 128
FILE_TEXT = ("x" * (FILE_BYTES - 1)) + "\n"

# Both servers: two event children always up (no spawn/kill during a run),
# unlimited requests per keep-alive connection (the sequential ACS run uses one).
MPM = """LoadModule mpm_event_module {mods}/mod_mpm_event.so
StartServers 2
ServerLimit 2
ThreadsPerChild 25
MaxRequestWorkers 50
MinSpareThreads 25
MaxSpareThreads 50
MaxConnectionsPerChild 0"""

COMMON = """
LogLevel warn
MaxKeepAliveRequests 0
KeepAliveTimeout 15
"""

FILES = {"htdocs/static/f": FILE_TEXT, "htdocs/protected/f": FILE_TEXT, "htdocs/agent/f": FILE_TEXT}


def _rss_pss(pid):
    """(RSS, PSS) of one process in bytes (PSS splits shared pages among their users)."""
    rss = pss = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, pss


def _children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == ppid:
            out.append(int(d))
    return out


class Server:
    """One Apache under test. Subclasses give the module block."""
    name = "?"
    cookie = None
    acs_path = None

    def __init__(self, signer, workdir, tag):
        self.signer = signer
        self.workdir = workdir
        self.tag = tag
        self.port = harness.free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.apache = None

    # --- what the responses for this server must say ---
    @property
    def acs(self):
        return self.base + self.acs_path

    def response_args(self):
        return dict(issuer=harness.ISSUER, sp_entity_id=self.entity, acs_url=self.acs)

    def start(self):
        self.apache = harness.Apache(self.body(), port=self.port, name="bench-%s" % self.tag,
                                     extra_files=FILES, mpm=MPM)
        self.adjust_conf()
        t = self.apache.configtest()
        if t.returncode != 0:
            raise RuntimeError("%s: httpd -t failed:\n%s%s" % (self.name, t.stdout, t.stderr))
        self.apache.start()
        return self

    def adjust_conf(self):
        pass

    def stop(self):
        if self.apache:
            self.apache.cleanup()
        self.apache = None

    def pids(self):
        parent = self.apache.proc.pid
        return [parent] + _children(parent)

    def cpu_seconds(self):
        """User + system CPU time of the httpd processes so far (children included)."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.pids():
            try:
                with open("/proc/%d/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
            except (OSError, IndexError, ValueError):
                pass
        return total / float(tick)

    def memory(self):
        """Total RSS (shared pages counted in every process) and PSS of the httpd processes."""
        rss = pss = 0
        for pid in self.pids():
            r, p = _rss_pss(pid)
            rss += r
            pss += p
        return {"rss": rss, "pss": pss, "procs": len(self.pids())}

    def error_log(self):
        return self.apache.error_log() if self.apache else ""


class FlexSAML(Server):
    name = "mod_flexsaml"
    cookie = "flexsaml_session"
    acs_path = "/flexsaml/acs"

    def __init__(self, signer, workdir, tag, cache=None):
        Server.__init__(self, signer, workdir, tag)
        self.cache = cache
        self.entity = self.base + "/flexsaml/metadata"
        # The IdP's SSO URL only has to be where the module redirects to; no IdP runs.
        self.sso_url = "http://127.0.0.1:9/app/%s/sso/saml" % harness.APP_ID

    def body(self):
        extra = COMMON
        if self.cache:
            extra += 'FlexSAMLSessionCache "%s"\n' % self.cache
        extra += """
<Location /agent>
    AuthType FlexSAML
    Require flex-role agent
</Location>
"""
        return harness.sp_conf(self.sso_url, self.signer.cert_path, self.entity, extra)


SP_METADATA = """<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}">
  <md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true"
      protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        Location="{base}/mellon/logout"/>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>
    <md:AssertionConsumerService index="0" isDefault="true"
        Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
        Location="{base}/mellon/postResponse"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
"""

MELLON_CONF = """
LoadModule auth_mellon_module {so}
MellonCacheSize {cache_size}
MellonLockFile "{{root}}/run/mellon.lock"
<Location />
    MellonEnable info
    MellonEndpointPath /mellon
    MellonSPPrivateKeyFile "{key}"
    MellonSPCertFile "{cert}"
    MellonSPMetadataFile "{sp_md}"
    MellonIdPMetadataFile "{idp_md}"
</Location>
<Location /protected>
    AuthType Mellon
    MellonEnable auth
    Require valid-user
</Location>
<Location /agent>
    AuthType Mellon
    MellonEnable auth
    Require valid-user
    MellonCond roles "^(.*,)?agent(,.*)?$" [REG]
</Location>
"""


class Mellon(Server):
    name = "mod_auth_mellon"
    cookie = "mellon-cookie"
    acs_path = "/mellon/postResponse"
    DEFAULT_CACHE_SIZE = 100         # MellonCacheSize default (sessions)
    DEFAULT_ENTRY_SIZE = 192 * 1024  # MellonCacheEntrySize default (bytes per session slot)

    def __init__(self, signer, workdir, tag, cache_size=None):
        Server.__init__(self, signer, workdir, tag)
        self.cache_size = cache_size or self.DEFAULT_CACHE_SIZE
        self.entity = self.base + "/mellon/metadata"
        self.sso_url = "http://127.0.0.1:9/app/%s/sso/saml" % harness.APP_ID
        d = os.path.join(workdir, "mellon-%s" % tag)
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        self.sp_key, self.sp_cert = saml.make_keys(d, cn="mellon-bench-sp")
        sp_signer = saml.Signer(self.sp_key, self.sp_cert)
        self.sp_md = os.path.join(d, "sp-metadata.xml")
        self.idp_md = os.path.join(d, "idp-metadata.xml")
        with open(self.sp_md, "w") as f:
            f.write(SP_METADATA.format(entity=self.entity, base=self.base,
                                       cert=sp_signer.cert_b64()))
        with open(self.idp_md, "wb") as f:
            f.write(metadata_xml(harness.ISSUER, self.sso_url, signer.cert_b64()))
        for fn in os.listdir(d):
            os.chmod(os.path.join(d, fn), 0o644)

    def body(self):
        return COMMON + MELLON_CONF.format(so=MELLON_SO, cache_size=self.cache_size,
                                           key=self.sp_key, cert=self.sp_cert, sp_md=self.sp_md,
                                           idp_md=self.idp_md)

    def adjust_conf(self):
        # Same base configuration as the mod_flexsaml server, minus mod_flexsaml itself.
        path = self.apache.conf_path
        with open(path) as f:
            conf = f.read()
        line = "LoadModule flexsaml_module %s\n" % harness.module_path()
        assert line in conf, "harness base config changed: no flexsaml LoadModule line"
        conf = conf.replace(line, "")
        # harness's "LogLevel warn flexsaml:info" names the module; COMMON sets warn for both.
        conf = conf.replace(" flexsaml:info", "")
        with open(path, "w") as f:
            f.write(conf)
