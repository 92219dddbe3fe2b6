"""SAML bindings: base64, HTTP-Redirect (deflate) AuthnRequests, the HTTP-POST auto-submit form."""

import base64
import binascii
import html
import zlib
from html.parser import HTMLParser

from lxml import etree

from saml_build import NS, parse_xml

__all__ = ["b64", "deflate_b64", "parse_authn_request", "auto_post_form", "parse_form", "parse_forms"]


def b64(xml_bytes):
    """base64 of the XML (no line breaks), as str: the SAMLResponse form value."""
    if isinstance(xml_bytes, str):
        xml_bytes = xml_bytes.encode("utf-8")
    return base64.b64encode(xml_bytes).decode("ascii")


def deflate_b64(xml_bytes):
    """HTTP-Redirect encoding: raw DEFLATE then base64 (not yet URL-encoded)."""
    if isinstance(xml_bytes, str):
        xml_bytes = xml_bytes.encode("utf-8")
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return b64(c.compress(xml_bytes) + c.flush())


def parse_authn_request(saml_request_param):
    """Decode a SAMLRequest value (HTTP-Redirect: base64 + raw deflate; HTTP-POST: base64 only),
    already URL-decoded. Returns a dict with ID, Issuer, AssertionConsumerServiceURL, Destination,
    ProtocolBinding, NameIDPolicyFormat, IssueInstant, Version, ForceAuthn, IsPassive,
    RequestedAuthnContext (the class refs, or None), xml (bytes).
    Absent attributes are None. Raises ValueError when it is not an AuthnRequest."""
    try:
        raw = base64.b64decode("".join(saml_request_param.split()), validate=True)
    except (binascii.Error, ValueError, AttributeError) as e:
        raise ValueError("SAMLRequest is not base64: %s" % e)
    try:
        xml = zlib.decompress(raw, -15)
    except zlib.error:
        if not raw.lstrip().startswith(b"<"):
            raise ValueError("SAMLRequest is neither deflated nor plain XML")
        xml = raw
    try:
        root = parse_xml(xml)
    except etree.XMLSyntaxError as e:
        raise ValueError("SAMLRequest is not well-formed XML: %s" % e)
    if root.getroottree().docinfo.doctype:
        raise ValueError("SAMLRequest has a DOCTYPE")
    if root.tag != "{%s}AuthnRequest" % NS["saml2p"]:
        raise ValueError("SAMLRequest is %s, not a samlp:AuthnRequest" % root.tag)
    if not root.get("ID"):
        raise ValueError("AuthnRequest has no ID")
    issuer = root.find("saml2:Issuer", NS)
    policy = root.find("saml2p:NameIDPolicy", NS)
    out = {k: root.get(k) for k in ("ID", "AssertionConsumerServiceURL", "Destination",
                                    "ProtocolBinding", "IssueInstant", "Version",
                                    "ForceAuthn", "IsPassive")}
    out["Issuer"] = issuer.text.strip() if issuer is not None and issuer.text else None
    out["NameIDPolicyFormat"] = policy.get("Format") if policy is not None else None
    rac = root.find("saml2p:RequestedAuthnContext", NS)
    out["RequestedAuthnContext"] = None if rac is None else [
        (c.text or "").strip() for c in rac.findall("saml2:AuthnContextClassRef", NS)]
    out["xml"] = xml
    return out


def auto_post_form(acs_url, saml_response_b64, relay_state=None):
    """The HTTP-POST binding page: a form POSTing SAMLResponse (+ RelayState) to the ACS, submitted
    by a small script on load, with a Continue button in <noscript> for browsers without JavaScript."""
    esc = lambda s: html.escape(str(s), quote=True)
    fields = '<input type="hidden" name="SAMLResponse" value="%s"/>\n' % esc(saml_response_b64)
    if relay_state:
        fields += '<input type="hidden" name="RelayState" value="%s"/>\n' % esc(relay_state)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8"/>\n'
        '<title>Signing in</title>\n</head>\n'
        '<body>\n<form id="appForm" method="post" action="%s">\n%s'
        '<noscript>\n<p>Your browser has JavaScript turned off. Press Continue to finish signing in.</p>\n'
        '<input type="submit" value="Continue"/>\n</noscript>\n</form>\n'
        '<script>window.onload = function () { document.getElementById("appForm").submit(); };</script>\n'
        '</body>\n</html>\n' % (esc(acs_url), fields))


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append((a.get("action") or "", {}))
        elif tag in ("input", "button") and self.forms and a.get("name"):
            self.forms[-1][1][a["name"]] = a.get("value") or ""

    handle_startendtag = handle_starttag


def parse_forms(html_text):
    """Every form in the page: [(action, {name: value}), ...] (values unescaped)."""
    p = _FormParser()
    p.feed(html_text)
    p.close()
    return p.forms


def parse_form(html_text):
    """The first form of the page: (action, {name: value}). Raises ValueError when there is none."""
    forms = parse_forms(html_text)
    if not forms:
        raise ValueError("no <form> in the page")
    return forms[0]
