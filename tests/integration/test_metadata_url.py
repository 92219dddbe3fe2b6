"""FlexSAMLIdPMetadataURL: fetched over verified https at startup, refreshed in
the background through a signing-key rotation (old and new keys listed, then
only the new one), a bad document refused, and a restart without network
served from the cached copy. Plus the certificate-expiry warnings."""
import os
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

import harness
from conftest import Site
from harness import saml

MD = """<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="%s">
<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
%s
<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="%s"/>
</md:IDPSSODescriptor></md:EntityDescriptor>
"""
KD = ('<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">'
      '<ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo>'
      '</md:KeyDescriptor>')


def body(cert_path):
    return "".join(l for l in open(cert_path).read().splitlines() if "CERTIFICATE" not in l)


def metadata(certs, issuer=harness.ISSUER, sso="https://example.okta.com/app/x/sso/saml"):
    return (MD % (issuer, "".join(KD % body(c) for c in certs), sso)).encode()


class MetadataServer:
    """A loopback https server whose one document the test replaces."""

    def __init__(self, tmp):
        self.doc = b""
        self.hits = 0
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", os.path.join(tmp, "tls.key"), "-out", os.path.join(tmp, "tls.crt")],
                       check=True, capture_output=True)
        self.ca = os.path.join(tmp, "tls.crt")
        os.chmod(tmp, 0o755)
        os.chmod(self.ca, 0o644)
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/samlmetadata+xml")
                self.send_header("Content-Length", str(len(outer.doc)))
                self.end_headers()
                self.wfile.write(outer.doc)

            def log_message(self, *a):
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.ca, os.path.join(tmp, "tls.key"))
        self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        self.url = "https://127.0.0.1:%d/app/exk1flexsamltest0h7/sso/saml/metadata" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def wait_hits(self, n, timeout=10):
        deadline = time.time() + timeout
        while self.hits < n and time.time() < deadline:
            time.sleep(0.1)
        return self.hits >= n

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


@pytest.fixture
def rotation(keys):
    # Apache's children (www-data) read the CA file: a world-readable tree.
    d = harness.make_tree("flexsaml-rot-")
    new_key, new_cert = saml.make_keys(d, cn="okta-rotated")
    for f in os.listdir(d):
        os.chmod(os.path.join(d, f), 0o644)
    srv = MetadataServer(d)
    srv.doc = metadata([keys["cert"]])
    yield srv, saml.Signer(new_key, new_cert), new_cert
    srv.stop()


def url_site(keys, srv, refresh="1"):
    site = Site(keys, name="mdurl")
    # Root alone writes the cache: a folder the children could write is refused.
    cache_dir = os.path.join(site.apache.root, "mdcache")
    os.makedirs(cache_dir)
    os.chmod(cache_dir, 0o755)
    cache = os.path.join(cache_dir, "idp-metadata.xml")
    text = open(site.apache.conf_path).read()
    text = "\n".join(l for l in text.splitlines()
                     if not l.startswith(("FlexSAMLIdPCertificateFile", "FlexSAMLIdPSSOURL")))
    text += ("\nFlexSAMLIdPMetadataURL %s\nFlexSAMLIdPMetadataCA %s\nFlexSAMLIdPMetadataCache %s\n"
             "FlexSAMLIdPMetadataRefresh %s\nLogLevel warn flexsaml:info\n" % (srv.url, srv.ca, cache, refresh))
    open(site.apache.conf_path, "w").write(text)
    return site, cache


def accepted(site, signer):
    return site.post(site.response("alice", signer=signer)).status_code == 303


def test_rotation_without_restart(keys, rotation):
    srv, new_signer, new_cert = rotation
    site, cache = url_site(keys, srv)
    site.start()
    try:
        assert accepted(site, keys["signer"])
        assert not accepted(site, new_signer)
        # Okta lists both keys during a rotation...
        srv.doc = metadata([keys["cert"], new_cert])
        hits = srv.hits
        assert srv.wait_hits(hits + 2)
        time.sleep(0.3)
        assert accepted(site, keys["signer"]) and accepted(site, new_signer)
        # ...then only the new one.
        srv.doc = metadata([new_cert])
        hits = srv.hits
        assert srv.wait_hits(hits + 2)
        time.sleep(0.3)
        assert accepted(site, new_signer)
        r = site.post(site.response("alice", signer=keys["signer"]))
        assert r.status_code == 400 and "signature_invalid" in r.text
        # A document for another issuer is refused; the current one stays.
        mark = site.apache.log_mark()
        srv.doc = metadata([keys["cert"]], issuer="http://www.okta.com/exkOTHER")
        hits = srv.hits
        assert srv.wait_hits(hits + 2)
        time.sleep(0.3)
        assert accepted(site, new_signer)
        assert "keeping the current IdP description" in site.apache.log_since(mark)
        assert "metadata refreshed" in site.apache.error_log()
        assert "cannot be written" not in site.apache.error_log()
        # The children (the Apache user) never write the cache: root wrote it
        # at startup, with the key of that time.
        assert body(keys["cert"]) in open(cache).read()
        assert body(new_cert) not in open(cache).read()
    finally:
        site.stop()


def test_restart_without_network_uses_the_cache(keys, rotation):
    srv, new_signer, new_cert = rotation
    site, cache = url_site(keys, srv, refresh="24h")
    site.start()
    try:
        assert accepted(site, keys["signer"])
        site.apache.stop()
        srv.stop()  # the metadata URL is gone
        site.apache.start()
        assert accepted(site, keys["signer"])
        assert "using the copy in FlexSAMLIdPMetadataCache" in site.apache.error_log()
    finally:
        site.stop()


def test_unreachable_url_without_cache_fails_configtest(keys):
    a = harness.Apache("FlexSAMLSPEntityID https://p.example/md\nFlexSAMLIdPIssuer %s\n"
                       "FlexSAMLIdPMetadataURL https://127.0.0.1:1/metadata\n" % harness.ISSUER, name="nourl")
    try:
        res = a.configtest()
    finally:
        a.cleanup()
    assert res.returncode != 0 and "FlexSAMLIdPMetadataURL" in res.stderr and "fetch failed" in res.stderr


def test_untrusted_tls_certificate_is_refused(keys, rotation):
    srv, _, _ = rotation
    a = harness.Apache("FlexSAMLSPEntityID https://p.example/md\nFlexSAMLIdPIssuer %s\n"
                       "FlexSAMLIdPMetadataURL %s\n" % (harness.ISSUER, srv.url), name="untrusted")
    try:
        res = a.configtest()
    finally:
        a.cleanup()
    assert res.returncode != 0 and "certificate" in res.stderr.lower()


@pytest.mark.parametrize("days,word", [(10, "expires in"), (45, None)])
def test_certificate_expiry_warning(tmp_path, days, word):
    key, cert = str(tmp_path / "k.pem"), str(tmp_path / "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", str(days),
                    "-subj", "/CN=okta-soon", "-keyout", key, "-out", cert], check=True, capture_output=True)
    a = harness.Apache(harness.sp_conf("https://x.example/sso", cert, "https://p.example/md"), name="expiry")
    try:
        res = a.configtest()
    finally:
        a.cleanup()
    assert res.returncode == 0
    if word:
        assert word in res.stderr and "okta-soon" in res.stderr
    else:
        assert "expires in" not in res.stderr


def test_refresh_under_load_swaps_without_failing_a_login(keys, rotation):
    """Each refresh swaps the SP while logins are in flight in other threads
    of the same child; the SP a login read stays valid until it ends, and the
    replaced one is destroyed after that (src/core/swap.c)."""
    srv, _, _ = rotation
    site, _ = url_site(keys, srv)
    site.start()
    stop = threading.Event()
    codes = []

    def login_loop():
        while not stop.is_set():
            codes.append(site.post(site.response("alice", signer=keys["signer"])).status_code)

    try:
        hits = srv.hits
        workers = [threading.Thread(target=login_loop) for _ in range(4)]
        for w in workers:
            w.start()
        assert srv.wait_hits(hits + 6, timeout=20)
        stop.set()
        for w in workers:
            w.join()
        log = site.apache.error_log()
        assert len(codes) > 20
        assert set(codes) == {303}, "a login failed during a refresh: %s" % sorted(set(codes))
        assert log.count("metadata refreshed") >= 4
        assert "exit signal" not in log and "Segmentation" not in log
    finally:
        stop.set()
        site.stop()


# ---- audit #16, items 1 and 2: who can choose the IdP's signing key ----

class PlainMetadataServer:
    """Metadata over plain http, on 127.0.0.2: loopback to the kernel, but
    not the one address the module accepts plain http on."""

    def __init__(self, doc, host="127.0.0.2"):
        outer = self
        self.doc = doc

        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(outer.doc)))
                self.end_headers()
                self.wfile.write(outer.doc)

            def log_message(self, *a):
                pass

        self.srv = ThreadingHTTPServer((host, 0), H)
        self.url = "http://%s:%d/metadata" % (host, self.srv.server_address[1])
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def url_conf(url, extra=""):
    return ("FlexSAMLSPEntityID https://p.example/md\nFlexSAMLIdPIssuer %s\n"
            "FlexSAMLIdPMetadataURL %s\n%s" % (harness.ISSUER, url, extra))


def test_plain_http_metadata_url_is_refused(tmp_path):
    """An attacker on the path answers a plain http URL with its own key."""
    key, cert = str(tmp_path / "k.pem"), str(tmp_path / "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=attacker", "-keyout", key, "-out", cert], check=True, capture_output=True)
    srv = PlainMetadataServer(metadata([cert]))
    a = harness.Apache(url_conf(srv.url), name="mdhttp")
    try:
        res = a.configtest()
    finally:
        a.cleanup()
        srv.stop()
    assert res.returncode != 0, res.stderr
    assert "FlexSAMLIdPMetadataURL" in res.stderr and "must be https" in res.stderr


def test_plain_http_on_loopback_is_accepted_with_a_warning(keys):
    srv = PlainMetadataServer(metadata([keys["cert"]]), host="127.0.0.1")
    a = harness.Apache(url_conf(srv.url), name="mdloop")
    try:
        res = a.configtest()
    finally:
        a.cleanup()
        srv.stop()
    assert res.returncode == 0, res.stderr
    assert "plain http on loopback" in res.stderr


@pytest.mark.parametrize("owned", ["folder", "file", "parent"])
def test_cache_in_a_folder_the_apache_user_can_write_is_not_trusted(keys, rotation, tmp_path, owned):
    """The Apache user plants its own key in the cache (its folder, or the
    file an older version let the children write, or a folder above it, where
    it can swap the cache's folder between root's check and root's read); the
    URL is down at the next start: the cache must not be taken. Only the
    immediate folder was checked before: "parent" was trusted."""
    srv, _, _ = rotation
    site, cache = url_site(keys, srv, refresh="24h")
    cache_dir = os.path.dirname(cache)
    if owned == "folder":
        subprocess.run(["chown", "www-data", cache_dir], check=True)
    if owned == "parent":
        subprocess.run(["chown", "www-data", os.path.dirname(cache_dir)], check=True)
    key, cert = str(tmp_path / "k.pem"), str(tmp_path / "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=planted", "-keyout", key, "-out", cert], check=True, capture_output=True)
    open(cache, "wb").write(metadata([cert]))
    if owned != "parent":
        subprocess.run(["chown", "www-data", cache], check=True)
    srv.stop()
    try:
        res = site.apache.configtest()
    finally:
        site.stop()
    assert res.returncode != 0, res.stderr
    assert "FlexSAMLIdPMetadataCache" in res.stderr
    assert {"folder": "which others can write", "file": "only root can write",
            "parent": "a folder above it that others can write"}[owned] in res.stderr


def test_configtest_warns_and_writes_nothing_in_a_writable_cache_folder(keys, rotation):
    """Root, at -t and every start, must not write where the Apache user can
    plant links: the old predictable <cache>.<pid>.new followed one to any
    file. Links are planted for the next pids; the victim must stay intact."""
    srv, _, _ = rotation
    site, cache = url_site(keys, srv, refresh="24h")
    cache_dir = os.path.dirname(cache)
    os.chmod(cache_dir, 0o777)
    victim = os.path.join(site.apache.root, "victim.conf")
    open(victim, "w").write("precious\n")
    last = int(open("/proc/sys/kernel/ns_last_pid").read())
    for pid in range(last + 1, last + 400):
        os.symlink(victim, "%s.%d.new" % (cache, pid))
    try:
        res = site.apache.configtest()
        assert res.returncode == 0, res.stderr
        assert open(victim).read() == "precious\n"
        assert not os.path.exists(cache)
        assert "others can write" in res.stderr
    finally:
        site.stop()
