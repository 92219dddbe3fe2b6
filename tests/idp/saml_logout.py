"""SAML Single Logout on the HTTP-Redirect binding for the test IdP: signed
LogoutRequest/LogoutResponse URLs, and reading (with signature check) what
the SP sends. Signed with xmlsec's binary signing, independent of Lasso."""

import base64
import datetime
import secrets
import zlib
from urllib.parse import quote, unquote_plus

import xmlsec
from lxml import etree

__all__ = ["logout_request_url", "logout_response_url", "read_redirect"]

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _esc(v):
    return (v or "").replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def _signed_url(dest, param, xml, key_path, relay_state=None):
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = raw.compress(xml.encode()) + raw.flush()
    query = "%s=%s" % (param, quote(base64.b64encode(data).decode(), safe=""))
    if relay_state is not None:
        query += "&RelayState=" + quote(relay_state, safe="")
    query += "&SigAlg=" + quote(RSA_SHA256, safe="")
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_file(key_path, xmlsec.constants.KeyDataFormatPem)
    sig = ctx.sign_binary(query.encode(), xmlsec.constants.TransformRsaSha256)
    return dest + ("&" if "?" in dest else "?") + query + "&Signature=" + quote(base64.b64encode(sig).decode(), safe="")


def logout_request_url(dest, issuer, name_id, session_index, key_path, relay_state=None,
                       issue_instant=None, destination=None, not_on_or_after=None):
    """destination: the Destination attribute when it differs from the URL;
    issue_instant, not_on_or_after: xsd:dateTime strings (tests of the SP's
    checks)."""
    rid = "id" + secrets.token_hex(13)
    xml = ('<samlp:LogoutRequest xmlns:samlp="%s" xmlns:saml="%s" ID="%s" Version="2.0" IssueInstant="%s"%s '
           'Destination="%s"><saml:Issuer>%s</saml:Issuer><saml:NameID>%s</saml:NameID>%s'
           '</samlp:LogoutRequest>' % (SAMLP, SAML, rid, issue_instant or _now(),
                                       ' NotOnOrAfter="%s"' % not_on_or_after if not_on_or_after else "",
                                       _esc(destination or dest), _esc(issuer), _esc(name_id),
                                       "<samlp:SessionIndex>%s</samlp:SessionIndex>" % _esc(session_index)
                                       if session_index else ""))
    return _signed_url(dest, "SAMLRequest", xml, key_path, relay_state), rid


def logout_response_url(dest, issuer, in_response_to, key_path, relay_state=None, status=SUCCESS):
    xml = ('<samlp:LogoutResponse xmlns:samlp="%s" xmlns:saml="%s" ID="id%s" Version="2.0" IssueInstant="%s" '
           'Destination="%s" InResponseTo="%s"><saml:Issuer>%s</saml:Issuer><samlp:Status>'
           '<samlp:StatusCode Value="%s"/></samlp:Status></samlp:LogoutResponse>'
           % (SAMLP, SAML, secrets.token_hex(13), _now(), _esc(dest), _esc(in_response_to), _esc(issuer), status))
    return _signed_url(dest, "SAMLResponse", xml, key_path, relay_state)


def _raw(query, name):
    for part in query.split("&"):
        if part.startswith(name + "="):
            return part[len(name) + 1:]
    return None


def read_redirect(query, cert_path=None):
    """(root element, signature_ok or None when no cert was given) of a
    Redirect-binding message; raises ValueError when it is malformed."""
    param = "SAMLRequest" if _raw(query, "SAMLRequest") is not None else "SAMLResponse"
    raw = _raw(query, param)
    if raw is None:
        raise ValueError("no SAMLRequest or SAMLResponse")
    ok = None
    if cert_path:
        relay, alg, sig = _raw(query, "RelayState"), _raw(query, "SigAlg"), _raw(query, "Signature")
        if not alg or not sig:
            ok = False
        else:
            signed = "%s=%s%s&SigAlg=%s" % (param, raw, "&RelayState=" + relay if relay is not None else "", alg)
            ctx = xmlsec.SignatureContext()
            ctx.key = xmlsec.Key.from_file(cert_path, xmlsec.constants.KeyDataFormatCertPem)
            try:
                ctx.verify_binary(signed.encode(), xmlsec.constants.TransformRsaSha256,
                                  base64.b64decode(unquote_plus(sig)))
                ok = unquote_plus(alg) == RSA_SHA256
            except xmlsec.Error:
                ok = False
    xml = zlib.decompress(base64.b64decode(unquote_plus(raw)), -15)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(xml, parser), ok
