"""Check a SAML Response's signatures with the xmlsec1 CLI: a verifier that shares no code with saml.py."""

import os
import subprocess
import tempfile

__all__ = ["XPATHS", "xmlsec1_verify"]

XPATHS = {
    "response": "/*/*[local-name()='Signature']",
    "assertion": "/*/*[local-name()='Assertion']/*[local-name()='Signature']",
    "root-assertion": "/*[local-name()='Assertion']/*[local-name()='Signature']",
}


def xmlsec1_verify(xml_bytes, cert_path=None, which="response", hmac_key_path=None):
    """Verify the signature picked by `which` (a key of XPATHS, or an XPath) with the key pinned to
    cert_path (or an HMAC key file). Returns (ok: bool, xmlsec1 output)."""
    with tempfile.NamedTemporaryFile(suffix=".xml", delete=False) as f:
        f.write(xml_bytes)
        path = f.name
    try:
        cmd = ["xmlsec1", "--verify",
               "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
               "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:Response",
               "--node-xpath", XPATHS.get(which, which)]
        if hmac_key_path:
            cmd += ["--hmackey", hmac_key_path, "--enabled-key-data", "key-name,hmac"]
        else:
            cmd += ["--pubkey-cert-pem", cert_path, "--enabled-key-data", "key-name"]
        run = subprocess.run(cmd + [path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return run.returncode == 0, run.stdout.decode("utf-8", "replace")
    finally:
        os.unlink(path)
