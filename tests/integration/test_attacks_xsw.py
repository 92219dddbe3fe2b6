"""XML signature wrapping (XSW1-XSW8 and relatives), signature exclusion, foreign keys and
algorithms. The SP must consume exactly the assertion the verified signature covers: every
attack below puts Mallory (admin) where a careless SP would read him, and must be refused."""
import copy

import pytest

from harness import saml
from test_attacks_common import (DS, LAX_CONF, MALLORY, NS, SAML, SAMLP, SHA1_CONF, accepted,  # noqa: F401
                                 assertion_of, attribute_values, child_index_after_issuer,
                                 drop_signature, lax, make_evil, name_id_of, refused, signature_of,
                                 start_site, tree, xml)


# ---- XSW1-8 (the SAML Raider catalogue) ----

def xsw1(root):
    """Response wrapping: an evil unsigned Response is the root; the original signed Response
    sits inside the (original) Response signature."""
    orig = copy.deepcopy(root)
    evil = copy.deepcopy(root)
    evil.set("ID", saml.new_id())
    drop_signature(evil)
    evil.replace(assertion_of(evil), make_evil(assertion_of(root)))
    sig = copy.deepcopy(signature_of(root))
    sig.append(drop_signature(orig))
    evil.insert(child_index_after_issuer(evil), sig)
    return evil


def xsw2(root):
    """Response wrapping with a detached signature: the original Response before its signature."""
    orig = copy.deepcopy(root)
    evil = copy.deepcopy(root)
    evil.set("ID", saml.new_id())
    drop_signature(evil)
    evil.replace(assertion_of(evil), make_evil(assertion_of(root)))
    pos = child_index_after_issuer(evil)
    evil.insert(pos, drop_signature(orig))
    evil.insert(pos + 1, copy.deepcopy(signature_of(root)))
    return evil


def xsw3(root):
    """An evil assertion (new ID) before the signed one."""
    a = assertion_of(root)
    root.insert(root.index(a), make_evil(a, keep_id=False))
    return root


def xsw4(root):
    """The signed assertion inside an evil one."""
    a = assertion_of(root)
    evil = make_evil(a, keep_id=False)
    root.replace(a, evil)
    evil.append(a)
    return root


def xsw5(root):
    """The evil assertion carries the original signature and ID; the original follows, unsigned."""
    a = assertion_of(root)
    evil = make_evil(a, keep_id=True, keep_signature=True)
    root.replace(a, evil)
    root.append(drop_signature(copy.deepcopy(a)))
    return root


def xsw6(root):
    """The evil assertion carries the signature; the original (same ID) hides inside it."""
    a = assertion_of(root)
    evil = make_evil(a, keep_id=True, keep_signature=True)
    root.replace(a, evil)
    signature_of(evil).append(drop_signature(copy.deepcopy(a)))
    return root


def xsw7(root):
    """The signed assertion moved into samlp:Extensions; an evil one in its place."""
    a = assertion_of(root)
    ext = root.makeelement(SAMLP + "Extensions")
    root.insert(child_index_after_issuer(root), ext)
    root.replace(a, make_evil(a, keep_id=False))
    ext.append(a)
    return root


def xsw8(root):
    """The evil assertion carries the signature; the original, unsigned, in a ds:Object inside it."""
    a = assertion_of(root)
    evil = make_evil(a, keep_id=True, keep_signature=True)
    root.replace(a, evil)
    obj = evil.makeelement(DS + "Object")
    signature_of(evil).append(obj)
    obj.append(drop_signature(copy.deepcopy(a)))
    return root


def evil_after(root):
    """An evil assertion after the signed one."""
    root.append(make_evil(assertion_of(root), keep_id=False))
    return root


def evil_same_id_sibling(root):
    """Duplicate IDs: an unsigned evil twin with the signed assertion's ID, first in document order."""
    a = assertion_of(root)
    root.insert(root.index(a), make_evil(a, keep_id=True))
    return root


XSW = {"xsw1": xsw1, "xsw2": xsw2, "xsw3": xsw3, "xsw4": xsw4, "xsw5": xsw5, "xsw6": xsw6,
       "xsw7": xsw7, "xsw8": xsw8, "evil_after": evil_after, "evil_same_id_sibling": evil_same_id_sibling}

# Every wrapping leaves two assertions, a duplicate ID, or a signature away from its element.
XSW_REASONS = ("multiple_assertions", "signature_invalid", "missing_assertion")


@pytest.mark.parametrize("name", sorted(XSW))
def test_xsw_both_signed(site, name):
    """Against the default configuration (Response and Assertion signatures required)."""
    refused(site, xml(XSW[name](tree(site, "alice"))), reason=XSW_REASONS)


@pytest.mark.parametrize("name", sorted(XSW))
def test_xsw_assertion_only_signed(lax, name):
    """Against FlexSAMLRequireSignedResponse off, where only the assertion signature protects."""
    root = tree(lax, "alice", sign_response=(name in ("xsw1", "xsw2")))
    refused(lax, xml(XSW[name](root)), reason=XSW_REASONS)


@pytest.mark.parametrize("name", ["xsw3", "xsw4", "xsw7", "evil_after"])
def test_xsw_then_resigned_response_with_attacker_key(site, keys, name):
    """The wrapped document re-signed at the Response level by the attacker: still refused."""
    root = XSW[name](tree(site, "alice", sign_response=False))
    saml.sign_element(root, keys["other_signer"])
    refused(site, xml(root), reason=XSW_REASONS)


def test_decoy_in_a_foreign_namespace_is_ignored(site):
    """An Assertion-named element outside the SAML namespace is not an assertion: the signed one
    is consumed, the decoy never read."""
    root = tree(site, "alice", sign_response=False)
    decoy = make_evil(assertion_of(root), keep_id=False)
    for el in decoy.iter():
        if el.tag.startswith(SAML):
            el.tag = "{urn:example:decoy}" + el.tag[len(SAML):]
    ext = root.makeelement(SAMLP + "Extensions")
    ext.append(decoy)
    root.insert(child_index_after_issuer(root), ext)
    saml.sign_element(root, site.keys["signer"])
    s, _ = accepted(site, xml(root))
    assert site.env(s)["REMOTE_USER"] == "alice.agent@example.com"


# ---- signature exclusion and misplaced signatures ----

def test_assertion_unsigned(site):
    refused(site, xml(tree(site, sign_assertion=False)), reason="signature_missing")


def test_response_unsigned_by_default(site):
    refused(site, xml(tree(site, sign_response=False)), reason="signature_missing")


def test_nothing_signed(site):
    refused(site, xml(tree(site, sign_response=False, sign_assertion=False)), reason="signature_missing")


def test_nothing_signed_lax(lax):
    refused(lax, xml(tree(lax, sign_response=False, sign_assertion=False)), reason="signature_missing")


def test_response_signed_assertion_unsigned_lax(lax):
    """A signed Response around an unsigned assertion is still refused (assertion signatures are
    always required)."""
    refused(lax, xml(tree(lax, sign_assertion=False)), reason="signature_missing")


def test_signature_value_emptied(site):
    root = tree(site)
    signature_of(assertion_of(root)).find("ds:SignatureValue", NS).text = ""
    refused(site, xml(root), reason=("signature_invalid", "bad_response"))


def test_signed_info_removed(site):
    root = tree(site)
    sig = signature_of(assertion_of(root))
    sig.remove(sig.find("ds:SignedInfo", NS))
    refused(site, xml(root), reason="signature_invalid")


def test_signature_with_two_references(site):
    root = tree(site)
    si = signature_of(assertion_of(root)).find("ds:SignedInfo", NS)
    ref = si.find("ds:Reference", NS)
    si.append(copy.deepcopy(ref))
    refused(site, xml(root), reason="signature_invalid")


def test_reference_to_whole_document(site):
    root = tree(site, sign_response=False)
    saml.sign_element(root, site.keys["signer"])
    signature_of(root).find("ds:SignedInfo/ds:Reference", NS).set("URI", "")
    refused(site, xml(root), reason="signature_invalid")


def test_two_signatures_on_the_assertion(site):
    root = tree(site, sign_response=False)
    a = assertion_of(root)
    a.insert(child_index_after_issuer(a) + 1, copy.deepcopy(signature_of(a)))
    saml.sign_element(root, site.keys["signer"])
    refused(site, xml(root), reason="signature_invalid")


def test_response_signature_moved_into_the_assertion(site):
    """A valid signature over a different ID: the Response's signature placed in the assertion."""
    root = tree(site, sign_assertion=False)
    sig = signature_of(root)
    root.remove(sig)
    a = assertion_of(root)
    a.insert(child_index_after_issuer(a), sig)
    refused(site, xml(root), reason=("signature_invalid", "signature_missing"))


def test_assertion_id_changed_after_signing(site):
    """The signature covers ID x; the assertion now says ID y (and the Response is re-signed)."""
    root = tree(site, sign_response=False)
    assertion_of(root).set("ID", saml.new_id())
    saml.sign_element(root, site.keys["signer"])
    refused(site, xml(root), reason="signature_invalid")


def test_valid_signature_of_another_assertion_spliced_in(site):
    """Alice's genuinely signed assertion signature pasted into Mallory's assertion with Alice's
    assertion ID: the digest cannot match."""
    good = assertion_of(tree(site, "alice", sign_response=False))
    root = tree(site, "alice", sign_response=False, sign_assertion=False)
    evil = make_evil(assertion_of(root))
    evil.set("ID", good.get("ID"))
    evil.insert(child_index_after_issuer(evil), copy.deepcopy(signature_of(good)))
    root.replace(assertion_of(root), evil)
    saml.sign_element(root, site.keys["signer"])
    refused(site, xml(root), reason="signature_invalid")


def test_tampered_name_id(site):
    root = tree(site, sign_response=False)
    name_id_of(assertion_of(root)).text = MALLORY
    saml.sign_element(root, site.keys["signer"])
    refused(site, xml(root), reason="signature_invalid")


# ---- keys ----

def test_signed_by_attacker_with_self_signed_cert_in_keyinfo(site, keys):
    refused(site, xml(tree(site, signer=keys["other_signer"])), reason="signature_invalid")


def test_attacker_key_with_idp_certificate_in_keyinfo(site, keys):
    """KeyInfo names the IdP certificate, the signature is by the attacker's key."""
    root = tree(site, "alice", sign_response=False, sign_assertion=False)
    a = make_evil(assertion_of(root))
    root.replace(assertion_of(root), a)
    saml.sign_element(a, keys["other_signer"])
    saml.sign_element(root, keys["other_signer"])
    idp_cert = keys["signer"].cert_b64()
    for c in root.iter(DS + "X509Certificate"):
        c.text = idp_cert
    refused(site, xml(root), reason="signature_invalid")


def test_assertion_by_attacker_inside_response_by_idp(site, keys):
    root = tree(site, sign_response=False, sign_assertion=False)
    a = make_evil(assertion_of(root))
    root.replace(assertion_of(root), a)
    saml.sign_element(a, keys["other_signer"])
    saml.sign_element(root, keys["signer"])
    refused(site, xml(root), reason="signature_invalid")


def test_signature_without_keyinfo_is_verified_with_the_configured_key(site, keys):
    """No KeyInfo: the configured IdP certificate decides (the genuine key passes, another fails)."""
    root = tree(site, sign_response=False, sign_assertion=False)
    saml.sign(root, keys["signer"], key_info=False)
    accepted(site, xml(root))
    root = tree(site, sign_response=False, sign_assertion=False)
    saml.sign(root, keys["other_signer"], key_info=False)
    refused(site, xml(root), reason="signature_invalid")


# ---- algorithms ----

@pytest.mark.parametrize("sig_alg,digest_alg", [("rsa-sha1", "sha256"), ("rsa-sha256", "sha1"),
                                                ("rsa-sha1", "sha1")])
def test_sha1_refused_by_default(site, sig_alg, digest_alg):
    refused(site, xml(tree(site, sig_alg=sig_alg, digest_alg=digest_alg)), reason="algorithm_refused")


@pytest.mark.parametrize("sig_alg", ["hmac-sha256", "hmac-sha1"])
def test_hmac_keyed_with_the_idp_certificate_refused(site, keys, sig_alg):
    """The classic key confusion: HMAC with the public certificate as the secret."""
    hmac = saml.Signer.hmac(None, keys["cert"])
    refused(site, xml(tree(site, signer=hmac, sig_alg=sig_alg)), reason="algorithm_refused")


def test_rsa_sha512_accepted(site):
    accepted(site, xml(tree(site, sig_alg="rsa-sha512", digest_alg="sha512")))


def test_sha1_only_on_the_assertion_refused(site):
    root = tree(site, sign_response=False, sign_assertion=False)
    saml.sign(root, site.keys["signer"], sign_response=False, sig_alg="rsa-sha1", digest_alg="sha1")
    saml.sign(root, site.keys["signer"], sign_assertion=False)
    refused(site, xml(root), reason="algorithm_refused")


def test_unknown_transform_refused(site):
    root = tree(site)
    t = signature_of(assertion_of(root)).find("ds:SignedInfo/ds:Reference/ds:Transforms/ds:Transform", NS)
    t.set("Algorithm", "http://www.w3.org/TR/1999/REC-xpath-19991116")
    refused(site, xml(root), reason="algorithm_refused")


@pytest.fixture(scope="module")
def sha1_site(keys):
    s = start_site(keys, SHA1_CONF, name="sha1")
    yield s
    s.stop()


def test_sha1_escape_hatch_accepts_rsa_sha1(sha1_site):
    accepted(sha1_site, xml(tree(sha1_site, sig_alg="rsa-sha1", digest_alg="sha1")))


@pytest.mark.parametrize("sig_alg", ["hmac-sha256", "hmac-sha1"])
def test_sha1_escape_hatch_still_refuses_hmac(sha1_site, keys, sig_alg):
    hmac = saml.Signer.hmac(None, keys["cert"])
    refused(sha1_site, xml(tree(sha1_site, signer=hmac, sig_alg=sig_alg, sign_response=False)),
            reason="algorithm_refused")


def test_sha1_escape_hatch_still_refuses_wrapping(sha1_site):
    root = tree(sha1_site, sig_alg="rsa-sha1", digest_alg="sha1", sign_response=False)
    refused(sha1_site, xml(xsw3(root)), reason=XSW_REASONS)


# ---- assertion count ----

def test_two_assertions_both_genuinely_signed(site):
    """Two assertions, each validly signed by the IdP (Alice's and Ada's): refused, not merged."""
    root = tree(site, "alice", sign_response=False)
    other = assertion_of(tree(site, "ada", sign_response=False))
    root.append(other)
    saml.sign_element(root, site.keys["signer"])
    refused(site, xml(root), reason="multiple_assertions")


def test_zero_assertions_with_valid_response_signature(site):
    root = tree(site, sign_response=False, sign_assertion=False)
    root.remove(assertion_of(root))
    saml.sign_element(root, site.keys["signer"])
    refused(site, xml(root), reason="missing_assertion")


def test_assertion_nested_deeper_than_the_response(site):
    """A single signed assertion, but not a child of the Response (inside Status)."""
    root = tree(site, sign_response=False)
    a = assertion_of(root)
    root.find("saml2p:Status", NS).append(a)
    saml.sign_element(root, site.keys["signer"])
    refused(site, xml(root), reason="missing_assertion")


# ---- elements the schema allows once ----

@pytest.mark.parametrize("what", ["Conditions", "Subject", "Issuer"])
def test_second_singleton_in_the_assertion_refused(site, what):
    """A second Conditions (another audience), Subject (another NameID) or Issuer: whichever
    copy a reader took, another might take the other. Refused before Lasso."""
    root = tree(site, "alice", sign_response=False, sign_assertion=False)
    a = assertion_of(root)
    el = a.find("saml2:" + what, NS)
    twin = copy.deepcopy(el)
    if what == "Subject":
        twin.find("saml2:NameID", NS).text = MALLORY
    a.insert(a.index(el) + 1, twin)
    saml.sign(root, site.keys["signer"])
    refused(site, xml(root), reason="bad_xml")


def test_second_status_in_the_response_refused(site):
    root = tree(site, "alice", sign_response=False)
    st = root.find("saml2p:Status", NS)
    root.insert(root.index(st) + 1, copy.deepcopy(st))
    saml.sign_element(root, site.keys["signer"])
    refused(site, xml(root), reason="bad_xml")
