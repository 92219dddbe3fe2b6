"""Audit #16, item 8: what an anonymous client costs. An ACS POST that
announces the largest body and then sends almost nothing must not make the
server set aside that body: memory grows as the body arrives. Twenty such
connections are held open against one event child, and its data segment
(VmData: allocated, touched or not) is compared before and while they wait.
The CPU side (an RSA-signed AuthnRequest per anonymous request) is measured
by bench/anonymous_cost.sh, not here."""
import re
import socket
import subprocess
import time

import pytest

from conftest import Site

ONE_CHILD = """LoadModule mpm_event_module {mods}/mod_mpm_event.so
StartServers 1
ServerLimit 1
ThreadsPerChild 25
MaxRequestWorkers 25
MaxConnectionsPerChild 0"""

HELD = 20


def vm_data(pid):
    return int(re.search(r"^VmData:\s+(\d+)", open("/proc/%d/status" % pid).read(), re.M).group(1))


def event_child(site):
    for _ in range(100):
        out = subprocess.run(["ps", "-o", "pid=,nlwp=", "--ppid", str(site.apache.proc.pid)],
                             capture_output=True, text=True).stdout.split()
        pids = [int(out[i]) for i in range(0, len(out), 2) if int(out[i + 1]) > 2]
        if len(pids) == 1:
            return pids[0]
        time.sleep(0.1)
    raise AssertionError("no single event child")


@pytest.fixture
def one_child(keys):
    site = Site(keys, name="anon", mpm=ONE_CHILD).start()
    yield site
    site.stop()


def hold(site, n, path=b"/flexsaml/acs", length=262144, origin=False):
    port = int(site.base.rsplit(":", 1)[1])
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  + (b"Origin: " + site.base.encode() + b"\r\n" if origin else b"")
                  + b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "
                  + str(length).encode() + b"\r\n\r\nSAMLResponse=PD94")
        socks.append(s)
    return socks


def stalled_growth(site, **post):
    """KiB the child grows by while HELD posts that announced their bodies wait."""
    child = event_child(site)
    # Warm up: every worker thread has served a request once.
    for s in hold(site, HELD, **post):
        s.close()
    time.sleep(0.5)
    before = vm_data(child)
    socks = hold(site, HELD, **post)
    try:
        time.sleep(1.0)
        return vm_data(child) - before
    finally:
        for s in socks:
            s.close()


def test_a_stalled_acs_post_does_not_reserve_the_whole_body(one_child):
    grown_kib = stalled_growth(one_child)
    print("VmData grew by %d KiB with %d stalled ACS POSTs" % (grown_kib, HELD))
    # 20 x 256 KiB = 5 MiB when the body is reserved up front; a few pages
    # per request otherwise.
    assert grown_kib < 2048, "held ACS POSTs grew the child by %d KiB" % grown_kib


def test_a_stalled_protected_post_does_not_reserve_the_whole_body(one_child):
    """The same for a form POST without a session, kept through the login
    (FlexSAMLPreservePost, 1 MiB by default). Before the fix each held post
    reserved 1 MiB: after a warm-up round the allocator hands those blocks
    back, and the child still grew by about 2 MiB (120 KiB after)."""
    grown_kib = stalled_growth(one_child, path=b"/protected/", length=1048576, origin=True)
    print("VmData grew by %d KiB with %d stalled protected POSTs" % (grown_kib, HELD))
    assert grown_kib < 1024, "held protected POSTs grew the child by %d KiB" % grown_kib


def test_the_signed_authn_request_verifies_with_the_sp_certificate(keys):
    """The AuthnRequest is signed with a key parsed once at startup (Lasso
    parsed the PEM for each anonymous request): the signature must still
    cover SAMLRequest, RelayState and SigAlg, and verify with the SP
    certificate the metadata publishes."""
    import base64
    from urllib.parse import unquote

    import requests
    import xmlsec

    site = Site(keys, "FlexSAMLSPCertificateFile %s\nFlexSAMLSPPrivateKeyFile %s" % (keys["cert"], keys["key"]),
                name="anon-signed").start()
    try:
        loc = requests.get(site.base + "/protected/", allow_redirects=False).headers["Location"]
    finally:
        site.stop()
    query = loc.split("?", 1)[1]
    signed, sig = query.split("&Signature=")
    assert signed.startswith("SAMLRequest=") and "&RelayState=" in signed
    assert signed.endswith("&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256")
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_file(keys["cert"], xmlsec.constants.KeyDataFormatCertPem)
    ctx.verify_binary(signed.encode(), xmlsec.constants.TransformRsaSha256, base64.b64decode(unquote(sig)))
    ctx.key = xmlsec.Key.from_file(keys["other_cert"], xmlsec.constants.KeyDataFormatCertPem)
    with pytest.raises(xmlsec.Error):
        ctx.verify_binary(signed.encode(), xmlsec.constants.TransformRsaSha256, base64.b64decode(unquote(sig)))
