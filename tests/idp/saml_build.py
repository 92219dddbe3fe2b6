"""Build an (unsigned) Okta-shaped SAML 2.0 Response as an lxml tree.

The XML is written as text the way Okta writes it (saml2p:/saml2: prefixes, the namespace
re-declared on each statement, xs/xsi declared on every AttributeValue) and then parsed, so the
tree keeps those declarations. Every part can be overridden or dropped so that tests can break
exactly one thing.
"""

import base64
import datetime
import os
import secrets
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

__all__ = [
    "NS", "SUCCESS", "PASSWORD_PROTECTED_TRANSPORT", "BASIC", "URI", "UNSPECIFIED",
    "NAMEID_UNSPECIFIED", "NAMEID_EMAIL", "NAMEID_ENTITY", "DEFAULT_APP_ID", "DEFAULT_ISSUER",
    "DEFAULT_SP_ENTITY_ID", "DEFAULT_ACS_URL", "DEFAULT_USER",
    "new_id", "isotime", "user_attributes", "build_response_tree", "omit_parts",
    "replace_with_encrypted_assertion", "parse_xml",
]

NS = {
    "saml2p": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml2": "urn:oasis:names:tc:SAML:2.0:assertion",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "ec": "http://www.w3.org/2001/10/xml-exc-c14n#",
    "xenc": "http://www.w3.org/2001/04/xmlenc#",
    "xs": "http://www.w3.org/2001/XMLSchema",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "md": "urn:oasis:names:tc:SAML:2.0:metadata",
}
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
PASSWORD_PROTECTED_TRANSPORT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
BASIC = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
URI = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
UNSPECIFIED = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"
NAMEID_UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
NAMEID_ENTITY = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"

DEFAULT_APP_ID = "exk1flexsamltest0h7"
DEFAULT_ISSUER = "http://www.okta.com/" + DEFAULT_APP_ID
DEFAULT_SP_ENTITY_ID = "http://127.0.0.1/flexsaml/metadata"
DEFAULT_ACS_URL = "http://127.0.0.1/flexsaml/acs"
DEFAULT_USER = {"login": "alice.agent@example.com", "firstName": "Alice", "lastName": "Agent",
                "email": "alice.agent@example.com", "userType": "agent"}

_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)


def parse_xml(data):
    """Parse bytes/str without entity expansion or network access."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return etree.fromstring(data, _SAFE_PARSER)


def new_id():
    """An Okta-style ID: "id" + 26 random digits."""
    return "id" + "".join(secrets.choice("0123456789") for _ in range(26))


def isotime(t):
    """datetime → 2016-07-25T23:20:14.859Z (naive datetimes are taken as UTC); str passes through."""
    if isinstance(t, str):
        return t
    if t.tzinfo is not None:
        t = t.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def user_attributes(user):
    """The Flex attribute list for a user: [(name, [values], name_format), ...]."""
    attrs = [
        ("full_name", ["%s %s" % (user.get("firstName", ""), user.get("lastName", ""))], BASIC),
        ("roles", [user.get("userType", "")], BASIC),
        ("email", [user.get("email", "")], BASIC),
    ]
    if user.get("profileUrl"):
        attrs.append(("image_url", [user["profileUrl"]], URI))
    return attrs


def _el(qname, attrs=(), content="", xmlns=()):
    """One element as text. attrs: (name, value) pairs, None values skipped; xmlns: prefixes to declare."""
    parts = [qname]
    parts += ['xmlns:%s="%s"' % (p, NS[p]) for p in xmlns]
    parts += ["%s=%s" % (k, quoteattr(str(v))) for k, v in attrs if v is not None]
    if content == "":
        return "<%s/>" % " ".join(parts)
    return "<%s>%s</%s>" % (" ".join(parts), content, qname)


def _attribute_statement(attributes):
    out = []
    for attr in attributes:
        name, values = attr[0], attr[1]
        name_format = attr[2] if len(attr) > 2 else None
        vals = "".join(
            _el("saml2:AttributeValue", [("xsi:type", "xs:string")], escape(str(v)), xmlns=("xs", "xsi"))
            for v in values)
        out.append(_el("saml2:Attribute", [("Name", name), ("NameFormat", name_format)], vals))
    return _el("saml2:AttributeStatement", content="".join(out), xmlns=("saml2",))


def _status(status):
    codes = [status] if isinstance(status, str) else list(status)
    inner = ""
    for code in reversed(codes):
        inner = _el("saml2p:StatusCode", [("Value", code)], inner)
    return _el("saml2p:Status", content=inner, xmlns=("saml2p",))


def build_response_tree(user=None, issuer=DEFAULT_ISSUER, sp_entity_id=DEFAULT_SP_ENTITY_ID,
                        acs_url=DEFAULT_ACS_URL, in_response_to=None, now=None,
                        not_before=None, not_on_or_after=None, subject_not_on_or_after=None,
                        session_not_on_or_after=None, destination=None, recipient=None,
                        audience=None, status=SUCCESS, assertion_id=None, response_id=None,
                        attributes=None, extra_attributes=(), name_id=None,
                        name_id_format=NAMEID_UNSPECIFIED, session_index=None,
                        assertion_issuer=None, authn_instant=None, authn_context=None, omit=()):
    """The unsigned Response (an lxml Element, the document root). See build_response for the arguments.

    Times may be datetimes or literal strings. `status` may be a list for nested status codes.
    `omit`: see omit_parts.
    """
    user = dict(DEFAULT_USER if user is None else user)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    five = datetime.timedelta(minutes=5)
    instant = isotime(now)
    destination = acs_url if destination is None else destination
    recipient = acs_url if recipient is None else recipient
    audience = sp_entity_id if audience is None else audience
    attributes = user_attributes(user) if attributes is None else list(attributes)
    attributes += list(extra_attributes)
    session_index = session_index or in_response_to or new_id()
    if session_not_on_or_after is not None:
        session_not_on_or_after = isotime(session_not_on_or_after)

    issuer_xml = lambda who: _el("saml2:Issuer", [("Format", NAMEID_ENTITY)], escape(who), xmlns=("saml2",))
    subject = _el("saml2:Subject", content=(
        _el("saml2:NameID", [("Format", name_id_format)], escape(name_id or user["login"]))
        + _el("saml2:SubjectConfirmation", [("Method", BEARER)], _el(
            "saml2:SubjectConfirmationData", [
                ("InResponseTo", in_response_to),
                ("NotOnOrAfter", isotime(subject_not_on_or_after or now + five)),
                ("Recipient", recipient)]))), xmlns=("saml2",))
    conditions = _el("saml2:Conditions", [
        ("NotBefore", isotime(not_before or now - five)),
        ("NotOnOrAfter", isotime(not_on_or_after or now + five))],
        _el("saml2:AudienceRestriction", content=_el("saml2:Audience", content=escape(audience))),
        xmlns=("saml2",))
    authn = _el("saml2:AuthnStatement", [
        ("AuthnInstant", isotime(authn_instant or now)), ("SessionIndex", session_index),
        ("SessionNotOnOrAfter", session_not_on_or_after)],
        _el("saml2:AuthnContext", content=_el("saml2:AuthnContextClassRef",
                                              content=escape(authn_context or PASSWORD_PROTECTED_TRANSPORT))),
        xmlns=("saml2",))
    assertion = _el("saml2:Assertion", [
        ("ID", assertion_id or new_id()), ("IssueInstant", instant), ("Version", "2.0")],
        issuer_xml(assertion_issuer or issuer) + subject + conditions + authn
        + _attribute_statement(attributes), xmlns=("saml2", "xs"))
    response = _el("saml2p:Response", [
        ("Destination", destination), ("ID", response_id or new_id()),
        ("InResponseTo", in_response_to), ("IssueInstant", instant), ("Version", "2.0")],
        issuer_xml(issuer) + _status(status) + assertion, xmlns=("saml2p", "xs"))
    root = parse_xml(response)
    omit_parts(root, omit)
    return root


def _path_matches(el, parts):
    for name in reversed(parts):
        if el is None or not isinstance(el.tag, str) or etree.QName(el).localname != name:
            return False
        el = el.getparent()
    return True


def omit_parts(root, omit):
    """Drop elements/attributes. Each spec is "Local" (every element with that local name),
    "Parent/Local" (only under that parent, e.g. "Assertion/Issuer"), "@Attr" (the attribute
    everywhere) or "Local/@Attr" (e.g. "Response/@Destination", "SubjectConfirmationData/@Recipient").
    A spec that matches nothing raises ValueError (catches typos)."""
    for spec in omit:
        path, _, attr = spec.partition("@")
        parts = [p for p in path.strip("/").split("/") if p]
        hits = [el for el in root.iter(etree.Element) if _path_matches(el, parts)]
        if attr:
            hits = [el for el in hits if attr in el.attrib]
            for el in hits:
                del el.attrib[attr]
        else:
            hits = [el for el in hits if el is not root]
            for el in hits:
                el.getparent().remove(el)
        if not hits:
            raise ValueError("omit %r matched nothing" % spec)


def _dummy_cipher(n):
    return base64.b64encode(os.urandom(n)).decode("ascii")


def replace_with_encrypted_assertion(root, cert_b64=None):
    """Replace every saml2:Assertion child of root by an Okta-shaped saml2:EncryptedAssertion
    (EncryptedData aes256-cbc + sibling EncryptedKey rsa-oaep-mgf1p) with random CipherValues.
    Structurally right, not decryptable: the SP must refuse it before decrypting."""
    for assertion in root.findall("saml2:Assertion", NS):
        data_id, key_id = "_" + secrets.token_hex(16), "_" + secrets.token_hex(16)
        data = _el("xenc:EncryptedData", [("Id", data_id), ("Type", NS["xenc"] + "Element")], (
            _el("xenc:EncryptionMethod", [("Algorithm", NS["xenc"] + "aes256-cbc")], xmlns=("xenc",))
            + _el("ds:KeyInfo", content=_el("ds:RetrievalMethod", [
                ("Type", NS["xenc"] + "EncryptedKey"), ("URI", "#" + key_id)]), xmlns=("ds",))
            + _el("xenc:CipherData", content=_el("xenc:CipherValue", content=_dummy_cipher(1024)),
                  xmlns=("xenc",))), xmlns=("xenc",))
        key = _el("xenc:EncryptedKey", [("Id", key_id)], (
            _el("xenc:EncryptionMethod", [("Algorithm", NS["xenc"] + "rsa-oaep-mgf1p")],
                _el("ds:DigestMethod", [("Algorithm", NS["ds"] + "sha1")], xmlns=("ds",)), xmlns=("xenc",))
            + _el("ds:KeyInfo", content=_el("ds:X509Data", content=_el(
                "ds:X509Certificate", content=cert_b64 or _dummy_cipher(700))), xmlns=("ds",))
            + _el("xenc:CipherData", content=_el("xenc:CipherValue", content=_dummy_cipher(256)),
                  xmlns=("xenc",))
            + _el("xenc:ReferenceList", content=_el("xenc:DataReference", [("URI", "#" + data_id)]))),
            xmlns=("xenc",))
        enc = parse_xml(_el("saml2:EncryptedAssertion", content=data + key, xmlns=("saml2",)))
        root.replace(assertion, enc)
    return root
