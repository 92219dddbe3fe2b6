"""Parser attacks: comment and CDATA truncation of NameID/email/roles, DOCTYPE in every form
(XXE, external DTD, parameter entities, billion laughs), processing instructions, XInclude,
10 000-level nesting, oversized and chunked bodies, deflate bombs, broken encodings, NUL bytes,
truncated XML and bad base64."""
import base64
import socket
import threading
import time
import zlib

import pytest
import requests
from lxml import etree

from harness import saml
from test_attacks_common import (NS, SAMLP, accepted, assertion_of, attribute_values,  # noqa: F401
                                 child_index_after_issuer, name_id_of, refused, tree, xml)

USER_EVIL_SUFFIX = {"login": "admin@corp.example.evil.example", "firstName": "Eve", "lastName": "Il",
                    "email": "admin@corp.example.evil.example", "userType": "agent"}


def split_with_comment(el, at):
    """Rewrite el's text "abcdef" as "abc<!---->def" (at=3): the signature still verifies, since
    exclusive c14n drops comments."""
    text = el.text
    el.text = text[:at]
    c = etree.Comment("")
    el.insert(0, c)
    c.tail = text[at:]


# ---- comment, CDATA and character reference tricks: the whole text content or nothing ----

def test_comment_in_name_id_and_email_keeps_the_whole_value(site):
    root = tree(site, USER_EVIL_SUFFIX)
    a = assertion_of(root)
    split_with_comment(name_id_of(a), len("admin@corp.example"))
    split_with_comment(attribute_values(a, "email")[0], len("admin@corp.example"))
    body = xml(root)
    assert b"admin@corp.example<!---->.evil.example" in body
    s, _ = accepted(site, body)
    env = site.env(s)
    assert env["REMOTE_USER"] == "admin@corp.example.evil.example"
    assert env["FLEX_NAME_ID"] == "admin@corp.example.evil.example"
    assert env["FLEX_EMAIL"] == "admin@corp.example.evil.example"


def test_comment_in_roles_keeps_the_whole_value(site):
    """ag<!---->ent,admin is the value "agent,admin", never "ag"."""
    u = dict(USER_EVIL_SUFFIX, login="eve@example.com", email="eve@example.com", userType="agent,admin")
    root = tree(site, u)
    split_with_comment(attribute_values(assertion_of(root), "roles")[0], 2)
    assert b"ag<!---->ent,admin" in xml(root)
    s, _ = accepted(site, xml(root))
    assert site.env(s)["FLEX_ROLES"] == "admin,agent"


def test_comment_cannot_cut_a_role_down_to_admin(site):
    """The IdP vouched for "admin-trainee,agent": a comment after "admin" changes nothing."""
    u = dict(USER_EVIL_SUFFIX, login="eve@example.com", email="eve@example.com",
             userType="admin-trainee,agent")
    root = tree(site, u)
    split_with_comment(attribute_values(assertion_of(root), "roles")[0], len("admin"))
    s, _ = accepted(site, xml(root))
    assert site.env(s)["FLEX_ROLES"] == "agent"


def test_comment_cannot_make_a_role_of_a_lone_prefix(site):
    """"adminx" with a comment after "admin" is still unknown: no Flex role, refused."""
    u = dict(USER_EVIL_SUFFIX, login="eve@example.com", email="eve@example.com", userType="adminx")
    root = tree(site, u)
    split_with_comment(attribute_values(assertion_of(root), "roles")[0], len("admin"))
    refused(site, xml(root), status=403, reason="no_role")


def test_comments_everywhere_in_the_signed_assertion(site):
    """Issuer, Audience, NameID and every attribute value split by comments: still the same
    values (a prefix match anywhere would show up as a refusal or a different identity)."""
    root = tree(site, "sam")
    a = assertion_of(root)
    targets = [a.find("saml2:Issuer", NS), a.find("saml2:Conditions/saml2:AudienceRestriction/saml2:Audience", NS),
               name_id_of(a)] + a.findall("saml2:AttributeStatement/saml2:Attribute/saml2:AttributeValue", NS)
    for el in targets:
        split_with_comment(el, len(el.text) // 2)
    s, _ = accepted(site, xml(root))
    env = site.env(s)
    assert env["REMOTE_USER"] == "sam.supervisor@example.com"
    assert env["FLEX_FULL_NAME"] == "Sam Supervisor" and env["FLEX_ROLES"] == "supervisor"
    assert env["FLEX_IMAGE_URL"] == "https://example.com/avatars/sam.png"


def test_cdata_in_name_id_keeps_the_whole_value(site):
    root = tree(site, USER_EVIL_SUFFIX)
    body = xml(root).replace(b">admin@corp.example.evil.example</saml2:NameID>",
                             b"><![CDATA[admin@corp.example]]>.evil.example</saml2:NameID>")
    assert b"CDATA" in body
    s, _ = accepted(site, body)
    assert site.env(s)["REMOTE_USER"] == "admin@corp.example.evil.example"


def test_character_references_are_plain_text(site):
    body = xml(tree(site, "alice")).replace(b">alice.agent@example.com</saml2:NameID>",
                                            b">&#x61;lice.agent&#64;example.com</saml2:NameID>")
    s, _ = accepted(site, body)
    assert site.env(s)["REMOTE_USER"] == "alice.agent@example.com"


def test_entity_reference_in_name_id_refused(site):
    body = xml(tree(site, "alice")).replace(b">alice.agent@example.com</saml2:NameID>",
                                            b">&admin;</saml2:NameID>")
    refused(site, body, reason="bad_xml")


# ---- DOCTYPE, XXE, entity expansion ----

class OutOfBand:
    """A TCP listener that records every connection: the SP must never fetch anything."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.hits += 1
            c.close()

    def close(self):
        self.sock.close()


@pytest.fixture(scope="module")
def oob():
    o = OutOfBand()
    yield o
    o.close()


def with_doctype(body, doctype):
    decl, rest = body.split(b"?>", 1)
    return decl + b"?>" + doctype + rest


def doctypes(port):
    url = "http://127.0.0.1:%d" % port
    return {
        "plain": b"<!DOCTYPE saml2p:Response>",
        "xxe_file": b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        "xxe_http": ('<!DOCTYPE r [<!ENTITY x SYSTEM "%s/x">]>' % url).encode(),
        "external_dtd": ('<!DOCTYPE r SYSTEM "%s/evil.dtd">' % url).encode(),
        "public_dtd": ('<!DOCTYPE r PUBLIC "-//E//DTD E//EN" "%s/evil.dtd">' % url).encode(),
        "parameter_entity": ('<!DOCTYPE r [<!ENTITY %% p SYSTEM "%s/p.dtd"> %%p;]>' % url).encode(),
        "internal_entity": b'<!DOCTYPE r [<!ENTITY admin "admin@corp.example">]>',
        "attlist_default_id": b'<!DOCTYPE r [<!ATTLIST saml2:Assertion ID ID #IMPLIED>]>',
    }


@pytest.mark.parametrize("kind", sorted(doctypes(1)))
def test_doctype_refused_and_nothing_fetched(site, oob, kind):
    body = xml(tree(site, "alice"))
    if kind in ("xxe_file", "xxe_http", "internal_entity"):
        body = body.replace(b">alice.agent@example.com</saml2:NameID>", b">&x;</saml2:NameID>").replace(
            b"&x;", b"&admin;" if kind == "internal_entity" else b"&x;")
    hits = oob.hits
    refused(site, with_doctype(body, doctypes(oob.port)[kind]), reason="bad_xml")
    time.sleep(0.05)
    assert oob.hits == hits, "the SP fetched an external resource"


def test_doctype_after_a_comment_and_whitespace(site):
    body = xml(tree(site, "alice"))
    refused(site, with_doctype(body, b"\n<!-- hi -->\n<!DOCTYPE r>\n"), reason="bad_xml")


def billion_laughs(levels=10, fanout=10):
    ents = ['<!ENTITY l0 "lol">']
    for i in range(1, levels):
        ents.append('<!ENTITY l%d "%s">' % (i, ("&l%d;" % (i - 1)) * fanout))
    return ("<!DOCTYPE r [%s]>" % "".join(ents)).encode(), ("&l%d;" % (levels - 1)).encode()


def test_billion_laughs_refused_fast(site):
    doctype, ref = billion_laughs()
    body = with_doctype(xml(tree(site, "alice")), doctype).replace(
        b">alice.agent@example.com</saml2:NameID>", b">" + ref + b"</saml2:NameID>")
    t = time.time()
    refused(site, body, reason="bad_xml")
    assert time.time() - t < 3


def test_quadratic_blowup_refused_fast(site):
    doctype = b'<!DOCTYPE r [<!ENTITY a "' + b"x" * 20000 + b'">]>'
    body = with_doctype(xml(tree(site, "alice")), doctype).replace(
        b">alice.agent@example.com</saml2:NameID>", b">" + b"&a;" * 6000 + b"</saml2:NameID>")
    t = time.time()
    refused(site, body, reason=("bad_xml", "body_too_large"))
    assert time.time() - t < 3


def test_doctype_in_utf16(site):
    body = with_doctype(xml(tree(site, "alice")), b"<!DOCTYPE r>").replace(b'encoding="UTF-8"', b'encoding="UTF-16"')
    refused(site, b"\xff\xfe" + body.decode().encode("utf-16-le"), reason="bad_xml")


# ---- processing instructions, XInclude ----

@pytest.mark.parametrize("where", ["prolog", "epilog", "assertion", "response"])
def test_processing_instruction_refused(site, where):
    pi = b'<?xml-stylesheet type="text/xsl" href="http://127.0.0.1:1/x.xsl"?>'
    body = xml(tree(site, "alice"))
    if where == "prolog":
        body = with_doctype(body, pi)
    elif where == "epilog":
        body = body + pi
    elif where == "assertion":
        body = body.replace(b"<saml2:Subject", pi + b"<saml2:Subject", 1)
    else:
        body = body.replace(b"<saml2p:Status", pi + b"<saml2p:Status", 1)
    refused(site, body, reason="bad_xml")


def test_xinclude_is_never_processed(site, oob):
    root = tree(site, "alice", sign_response=False)
    ext = root.makeelement(SAMLP + "Extensions")
    inc = etree.SubElement(ext, "{http://www.w3.org/2001/XInclude}include")
    inc.set("href", "http://127.0.0.1:%d/inc.xml" % oob.port)
    root.insert(child_index_after_issuer(root), ext)
    saml.sign_element(root, site.keys["signer"])
    hits = oob.hits
    r = site.post(xml(root))
    time.sleep(0.05)
    assert oob.hits == hits
    assert r.status_code in (303, 400)


# ---- size and depth ----

def nested(depth, tag=b"x"):
    return b"<" + tag + b">" * 1 + (b"<" + tag + b">") * (depth - 1) + (b"</" + tag + b">") * depth


def test_10000_nested_elements_refused(site):
    inner = (b"<e:x xmlns:e='urn:e'>" + b"<e:x>" * 9999 + b"</e:x>" * 10000)
    body = xml(tree(site, "alice")).replace(b"<saml2p:Status", b"<saml2p:Extensions>" + inner
                                            + b"</saml2p:Extensions><saml2p:Status", 1)
    t = time.time()
    refused(site, body, reason="bad_xml")
    assert time.time() - t < 3


def test_10000_nested_elements_as_the_whole_document(site):
    refused(site, b"<a>" * 10000 + b"</a>" * 10000, reason="bad_xml")


def test_41_levels_refused_before_lasso(site):
    """libxml2 alone allows 256 levels and Lasso recurses on each: the shape check stops at 32."""
    inner = b"<e:x xmlns:e='urn:e'>" + b"<e:x>" * 40 + b"</e:x>" * 41
    body = xml(tree(site, "alice")).replace(b"<saml2p:Status", b"<saml2p:Extensions>" + inner
                                            + b"</saml2p:Extensions><saml2p:Status", 1)
    refused(site, body, reason="bad_xml")


def test_element_without_namespace_refused(site):
    """Lasso before its 2025 fixes crashed on some elements without a namespace
    (CVE-2025-46404): none reaches it."""
    body = xml(tree(site, "alice")).replace(b"<saml2p:Status", b"<saml2p:Extensions><plain/>"
                                            b"</saml2p:Extensions><saml2p:Status", 1)
    refused(site, body, reason="bad_xml")


@pytest.fixture(scope="module")
def big(keys):
    """FlexSAMLMaxBodySize raised, so that the caps behind it are reached."""
    from test_attacks_common import start_site
    s = start_site(keys, "FlexSAMLMaxBodySize 4194304", name="bigbody")
    yield s
    s.stop()


def test_too_many_elements_refused(big):
    body = xml(tree(big, "alice")).replace(b"<saml2p:Status", b"<saml2p:Extensions xmlns:e='urn:e'>"
                                           + b"<e:x/>" * 21000 + b"</saml2p:Extensions><saml2p:Status", 1)
    refused(big, body, reason="bad_xml")


def test_decoded_response_over_the_cap_refused(big):
    """Inside the body limit but over the 192 KiB decoded-size cap: refused before any parsing,
    with the status of its row in refusal.h (413, as for a body over FlexSAMLMaxBodySize)."""
    body = xml(tree(big, "alice")).replace(b"<saml2p:Status", b"<!--" + b"x" * (200 * 1024) + b"--><saml2p:Status", 1)
    refused(big, body, status=413, reason="body_too_large")


# ---- attribute caps, applied before Lasso (an unsigned response shows it: the cap answers first) ----

def test_too_many_attribute_values_refused_before_lasso(site):
    attrs = [("full_name", ["A"]), ("email", ["a@example.com"]), ("roles", ["agent"]),
             ("groups", ["g%d" % i for i in range(600)])]
    refused(site, xml(tree(site, "alice", attributes=attrs, sign_response=False, sign_assertion=False)),
            reason="claim_too_large")


def test_oversized_attribute_value_refused_before_lasso(site):
    attrs = [("full_name", ["A" * (17 * 1024)]), ("email", ["a@example.com"]), ("roles", ["agent"])]
    refused(site, xml(tree(site, "alice", attributes=attrs, sign_response=False, sign_assertion=False)),
            reason="claim_too_large")


def test_oversized_attribute_value_split_by_comments_still_counted(site):
    attrs = [("full_name", ["A" * (17 * 1024)]), ("email", ["a@example.com"]), ("roles", ["agent"])]
    root = tree(site, "alice", attributes=attrs)
    v = attribute_values(assertion_of(root), "full_name")[0]
    for _ in range(8):
        split_with_comment(v, len(v.text) // 2)
    refused(site, xml(root), reason="claim_too_large")


def raw_post(site, headers, body_chunks, timeout=15):
    """A POST over a raw socket, reading whatever answer comes back even when the server stops
    reading early. Returns (status, headers_text, body_text)."""
    s = socket.create_connection(("127.0.0.1", site.apache.port), timeout=timeout)
    try:
        s.sendall(headers)
        for c in body_chunks:
            try:
                s.sendall(c)
            except (BrokenPipeError, ConnectionResetError):
                break
        data = b""
        while True:
            try:
                got = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not got:
                break
            data += got
            if b"</html>" in data:
                break
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else None
    return status, head.decode("latin-1"), body.decode("utf-8", "replace")


def test_10mb_body_with_content_length_refused_413(site):
    size = 10 * 1024 * 1024
    mark = site.apache.log_mark()
    head = ("POST /flexsaml/acs HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/x-www-form-urlencoded"
            "\r\nContent-Length: %d\r\n\r\n" % (site.apache.port, size)).encode()
    t = time.time()
    status, headers, body = raw_post(site, head, [b"SAMLResponse="] + [b"A" * 65536] * (size // 65536))
    assert status == 413 and "Reason: <code>body_too_large</code>" in body
    assert "flexsaml_session" not in headers
    assert time.time() - t < 10
    assert "refused reason=body_too_large" in site.apache.log_since(mark)
    assert requests.get(site.base + "/index.html").status_code == 200


def test_10mb_chunked_body_refused_413(site):
    mark = site.apache.log_mark()
    head = ("POST /flexsaml/acs HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/x-www-form-urlencoded"
            "\r\nTransfer-Encoding: chunked\r\n\r\n" % site.apache.port).encode()
    chunk = b"%x\r\n%s\r\n" % (65536, b"A" * 65536)
    status, headers, body = raw_post(site, head, [b"d\r\nSAMLResponse=\r\n"] + [chunk] * 160 + [b"0\r\n\r\n"])
    assert status == 413 and "Reason: <code>body_too_large</code>" in body
    assert "refused reason=body_too_large" in site.apache.log_since(mark)
    assert requests.get(site.base + "/index.html").status_code == 200


# ---- deflate bombs: no endpoint inflates anything ----

def deflate_bomb(n=2 * 1024 * 1024):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(c.compress(b"<" + b"a" * n) + c.flush()).decode()


def test_deflate_bomb_posted_to_the_acs_is_not_inflated(site):
    t = time.time()
    refused(site, b64=deflate_bomb(), reason="bad_xml")
    assert time.time() - t < 3


def test_redirect_binding_response_on_the_acs_is_not_read(site):
    mark = site.apache.log_mark()
    r = requests.get(site.acs, params={"SAMLResponse": deflate_bomb(512 * 1024)}, allow_redirects=False)
    assert r.status_code == 405 and "refused reason=method_not_allowed" in site.apache.log_since(mark)


@pytest.mark.parametrize("param", ["SAMLRequest", "SAMLResponse"])
def test_redirect_binding_bomb_on_logout_is_refused_before_inflating(site, param):
    """/logout reads Redirect-binding messages only when single logout is configured, and then
    checks the query signature before inflating (the signed-bomb case, capped at 64 KiB, is in
    test_logout_slo.py). Unconfigured and unsigned: refused at once."""
    from test_attacks_common import assert_refused
    mark = site.apache.log_mark()
    t = time.time()
    s = requests.Session()
    r = s.get(site.base + "/flexsaml/logout", params={param: deflate_bomb(512 * 1024)},
              allow_redirects=False, timeout=10)
    assert time.time() - t < 3
    assert_refused(site, mark, r, 400, ("bad_response", "signature_invalid"), session=s)


# ---- encodings, NUL bytes, truncation, base64 ----

@pytest.mark.parametrize("bad", [b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xf8\x88\x80\x80\x80"])
def test_invalid_utf8_in_name_id_refused(site, bad):
    body = xml(tree(site, "alice")).replace(b"alice.agent@example.com</saml2:NameID>",
                                            b"alice" + bad + b"@example.com</saml2:NameID>")
    refused(site, body, reason="bad_xml")


def test_nul_byte_in_the_xml_refused(site):
    body = xml(tree(site, "alice")).replace(b"alice.agent@example.com</saml2:NameID>",
                                            b"alice.agent@example.com\x00.evil.example</saml2:NameID>")
    refused(site, body, reason="bad_xml")


def test_nul_byte_after_the_document_refused(site):
    refused(site, xml(tree(site, "alice")) + b"\x00<evil/>", reason="bad_xml")


def test_encoded_nul_in_the_form_value(site):
    mark = site.apache.log_mark()
    b = saml.b64(xml(tree(site, "alice")))
    s = requests.Session()
    r = s.post(site.acs, data="SAMLResponse=" + b[:40] + "%00" + b[40:],
               headers={"Content-Type": "application/x-www-form-urlencoded"}, allow_redirects=False)
    from test_attacks_common import assert_refused
    assert_refused(site, mark, r, 400, ("no_response", "bad_base64"), session=s)


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9, 0.999])
def test_truncated_xml_refused(site, cut):
    body = xml(tree(site, "alice"))
    refused(site, body[:int(len(body) * cut)], reason="bad_xml")


def test_trailing_garbage_refused(site):
    refused(site, xml(tree(site, "alice")) + b"<evil/>", reason="bad_xml")


def test_two_root_elements_refused(site):
    body = xml(tree(site, "alice"))
    refused(site, body + body[len(saml.XML_DECLARATION):], reason="bad_xml")


@pytest.mark.parametrize("value", ["not base64!", "@@@@", "QUJD=RA==", "QQ", "Q===", "====", "QUJD-_8=",
                                   "\u00e9\u00e9\u00e9\u00e9", "PD94bWwg%ZZ"])
def test_not_base64_refused(site, value):
    refused(site, b64=value, reason=("bad_base64", "no_response"))


def test_base64_of_the_response_with_line_breaks_is_read(site):
    """Some IdPs wrap the base64 at 76 columns: whitespace is not an error."""
    b = saml.b64(xml(tree(site, "alice")))
    wrapped = "\r\n".join(b[i:i + 76] for i in range(0, len(b), 76))
    s = requests.Session()
    r = site.post(b64=wrapped, session=s)
    assert r.status_code in (303, 400)
    if r.status_code == 400:
        assert "Reason: <code>bad_" in r.text
    else:
        assert site.env(s)["REMOTE_USER"] == "alice.agent@example.com"


def test_utf16_response_without_doctype(site):
    """The same valid response in UTF-16: read as the same document or refused, never misread."""
    body = xml(tree(site, "alice")).replace(b'encoding="UTF-8"', b'encoding="UTF-16"')
    s = requests.Session()
    r = site.post(b"\xff\xfe" + body.decode().encode("utf-16-le"), session=s)
    if r.status_code == 303:
        assert site.env(s)["REMOTE_USER"] == "alice.agent@example.com"
    else:
        assert r.status_code == 400 and "Reason: <code>bad_" in r.text
