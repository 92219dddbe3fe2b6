"""Okta-shaped SAML responses for tests: the one module integration tests import.

    import sys; sys.path.insert(0, "<repo>/tests/idp"); import saml
    key, cert = saml.make_keys(tmpdir)
    xml = saml.build_response(signer=saml.Signer(key, cert), sp_entity_id=..., acs_url=...,
                              in_response_to=request_id)
    requests.post(acs, data={"SAMLResponse": saml.b64(xml)})

For attacks: root = saml.build_response_tree(...); saml.sign(root, signer); edit; saml.serialize(root).
"""

from lxml import etree

from saml_bindings import *  # noqa: F401,F403
from saml_bindings import __all__ as _bindings_all
from saml_build import *  # noqa: F401,F403
from saml_build import __all__ as _build_all
from saml_build import build_response_tree, replace_with_encrypted_assertion
from saml_keys import *  # noqa: F401,F403
from saml_keys import __all__ as _keys_all
from saml_sign import *  # noqa: F401,F403
from saml_sign import __all__ as _sign_all
from saml_sign import sign

__all__ = _bindings_all + _build_all + _keys_all + _sign_all + ["serialize", "build_response"]

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'


def serialize(tree):
    """Element (or ElementTree, which keeps a DOCTYPE) → bytes, with Okta's XML declaration, no pretty printing."""
    return XML_DECLARATION + etree.tostring(tree, encoding="UTF-8", xml_declaration=False)


def build_response(signer=None, sign_response=True, sign_assertion=True, response_signer=None,
                   assertion_signer=None, sig_alg="rsa-sha256", digest_alg="sha256",
                   encrypt_assertion=False, **kw):
    """A complete Okta-style SAML Response as bytes.

    Content (all optional, see build_response_tree): user (dict: login, firstName, lastName, email,
    userType[, profileUrl]), issuer, sp_entity_id (audience), acs_url, in_response_to, now,
    not_before, not_on_or_after, subject_not_on_or_after, session_not_on_or_after, destination,
    recipient, audience, status, assertion_id, response_id, attributes ([(name, [values],
    name_format)] replacing full_name/roles/email/image_url), extra_attributes, name_id,
    name_id_format, session_index, assertion_issuer, authn_instant, omit (e.g. "Conditions",
    "AudienceRestriction", "Assertion/Issuer", "Response/@Destination").

    Signing: signer (Signer), sign_response, sign_assertion, response_signer / assertion_signer
    (another key for one part), sig_alg (rsa-sha256, rsa-sha1, rsa-sha512, hmac-sha256, hmac-sha1),
    digest_alg (sha256, sha1, sha512). The assertion is signed first, then the Response.
    encrypt_assertion replaces the (signed) assertion by a dummy saml2:EncryptedAssertion.
    """
    root = build_response_tree(**kw)
    sign(root, signer, sign_assertion=sign_assertion, sign_response=False,
         assertion_signer=assertion_signer, sig_alg=sig_alg, digest_alg=digest_alg)
    if encrypt_assertion:
        cert_signer = assertion_signer or signer
        replace_with_encrypted_assertion(root, cert_signer.cert_b64() if cert_signer and cert_signer.cert_pem else None)
    sign(root, signer, sign_assertion=False, sign_response=sign_response,
         response_signer=response_signer, sig_alg=sig_alg, digest_alg=digest_alg)
    return serialize(root)
