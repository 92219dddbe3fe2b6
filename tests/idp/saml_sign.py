"""Enveloped XML signatures the way Okta makes them, with python-xmlsec.

Signature right after the element's Issuer, exclusive c14n, `ec:InclusiveNamespaces PrefixList="xs"`,
KeyInfo/X509Data/X509Certificate with the certificate in 76-column lines.
"""

import xmlsec
from lxml import etree

from saml_build import NS

__all__ = ["SIG_ALGS", "DIGEST_ALGS", "sign_element", "sign"]

SIG_ALGS = {
    "rsa-sha1": xmlsec.Transform.RSA_SHA1,
    "rsa-sha256": xmlsec.Transform.RSA_SHA256,
    "rsa-sha512": xmlsec.Transform.RSA_SHA512,
    "hmac-sha1": xmlsec.Transform.HMAC_SHA1,
    "hmac-sha256": xmlsec.Transform.HMAC_SHA256,
}
DIGEST_ALGS = {
    "sha1": xmlsec.Transform.SHA1,
    "sha256": xmlsec.Transform.SHA256,
    "sha512": xmlsec.Transform.SHA512,
}


def _ds(name):
    return "{%s}%s" % (NS["ds"], name)


def sign_element(elem, signer, sig_alg="rsa-sha256", digest_alg="sha256",
                 inclusive_prefixes=("xs",), key_info=True, position=None):
    """Sign `elem` (an element with an ID attribute) in place with an enveloped signature.

    The ds:Signature goes right after elem's Issuer child (first child when there is none),
    or at child index `position` when given. `inclusive_prefixes` goes into the
    exc-c14n transform's ec:InclusiveNamespaces (None/() for none). `key_info` adds
    KeyInfo/X509Data with the signer's certificate (when it has one). Returns the ds:Signature.
    """
    if sig_alg not in SIG_ALGS:
        raise ValueError("unknown sig_alg %r (one of %s)" % (sig_alg, ", ".join(SIG_ALGS)))
    if digest_alg not in DIGEST_ALGS:
        raise ValueError("unknown digest_alg %r (one of %s)" % (digest_alg, ", ".join(DIGEST_ALGS)))
    elem_id = elem.get("ID")
    if not elem_id:
        raise ValueError("element %s has no ID attribute" % elem.tag)

    sig = xmlsec.template.create(elem, xmlsec.Transform.EXCL_C14N, SIG_ALGS[sig_alg], ns="ds")
    if position is None:
        position = 0
        for i, child in enumerate(elem):
            if child.tag == "{%s}Issuer" % NS["saml2"]:
                position = i + 1
                break
    elem.insert(position, sig)
    ref = xmlsec.template.add_reference(sig, DIGEST_ALGS[digest_alg], uri="#" + elem_id)
    xmlsec.template.add_transform(ref, xmlsec.Transform.ENVELOPED)
    c14n = xmlsec.template.add_transform(ref, xmlsec.Transform.EXCL_C14N)
    if inclusive_prefixes:
        etree.SubElement(c14n, "{%s}InclusiveNamespaces" % NS["ec"], nsmap={"ec": NS["ec"]},
                         PrefixList=" ".join(inclusive_prefixes))

    for node in sig.iter():  # Okta's signatures carry no indentation
        node.text = None if node.text is not None and not node.text.strip() else node.text
        if node is not sig:
            node.tail = None
    xmlsec.tree.add_ids(elem, ["ID"])
    ctx = xmlsec.SignatureContext()
    ctx.key = signer.hmac_key() if sig_alg.startswith("hmac") else signer.rsa_key()
    ctx.register_id(elem, "ID")
    ctx.sign(sig)
    value = sig.find("ds:SignatureValue", NS)
    value.text = "".join(value.text.split())  # one line, as Okta writes it

    # KeyInfo is outside SignedInfo, so it can be written after signing, in Okta's 76-column form.
    if key_info and signer.cert_pem:
        x509 = etree.SubElement(etree.SubElement(sig, _ds("KeyInfo")), _ds("X509Data"))
        etree.SubElement(x509, _ds("X509Certificate")).text = signer.cert_b64()
    return sig


def sign(root, signer=None, sign_assertion=True, sign_response=True, assertion_signer=None,
         response_signer=None, sig_alg="rsa-sha256", digest_alg="sha256", **kw):
    """Sign the Response tree like Okta: every saml2:Assertion child first, then the Response
    (whose signature therefore covers the signed assertion). Extra keywords go to sign_element."""
    if (sign_assertion and not (assertion_signer or signer)) or (sign_response and not (response_signer or signer)):
        raise ValueError("signing needs a signer= (or assertion_signer=/response_signer=)")
    if sign_assertion:
        for assertion in root.findall("saml2:Assertion", NS):
            sign_element(assertion, assertion_signer or signer, sig_alg, digest_alg, **kw)
    if sign_response:
        sign_element(root, response_signer or signer, sig_alg, digest_alg, **kw)
    return root
