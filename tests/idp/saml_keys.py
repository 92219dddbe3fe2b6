"""Keys for the test IdP: make an RSA key + self-signed certificate, hold them as a Signer."""

import base64
import os
import subprocess

import xmlsec

__all__ = ["make_keys", "Signer"]


def make_keys(dir, cn="flexsaml-test-idp"):
    """RSA-2048 key and a self-signed 10-year certificate (PEM) in dir, via the openssl CLI.

    Returns (key_path, cert_path). Files are named <cn>.key / <cn>.crt.
    """
    os.makedirs(dir, exist_ok=True)
    key_path = os.path.join(dir, cn + ".key")
    cert_path = os.path.join(dir, cn + ".crt")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
         "-days", "3650", "-keyout", key_path, "-out", cert_path,
         "-subj", "/C=US/ST=California/L=San Francisco/O=flexsaml tests/OU=SSOProvider/CN=" + cn],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return key_path, cert_path


class Signer:
    """A signing key: an RSA key + certificate (PEM files), and/or an HMAC secret.

    For HMAC algorithms the secret is `hmac_secret`, or, when none is given, the bytes of the
    certificate PEM (the classic "HMAC keyed with the IdP's public certificate" confusion attack).
    """

    def __init__(self, key_path=None, cert_path=None, hmac_secret=None):
        self.key_path = key_path
        self.cert_path = cert_path
        self.hmac_secret = hmac_secret
        self.cert_pem = open(cert_path, "rb").read() if cert_path else None

    @classmethod
    def hmac(cls, secret, cert_path=None):
        return cls(cert_path=cert_path, hmac_secret=secret)

    @property
    def cert_der(self):
        body = b"".join(line for line in self.cert_pem.splitlines() if line and not line.startswith(b"-----"))
        return base64.b64decode(body)

    def cert_b64(self, width=76):
        """The certificate as base64 in lines of `width` (Okta uses 76), no PEM armour."""
        text = base64.b64encode(self.cert_der).decode("ascii")
        return "\n".join(text[i:i + width] for i in range(0, len(text), width))

    def rsa_key(self):
        if not self.key_path:
            raise ValueError("this Signer has no RSA private key")
        key = xmlsec.Key.from_file(self.key_path, xmlsec.KeyFormat.PEM)
        if self.cert_path:
            key.load_cert_from_file(self.cert_path, xmlsec.KeyFormat.PEM)
        return key

    def hmac_key(self):
        secret = self.hmac_secret if self.hmac_secret is not None else self.cert_pem
        if not secret:
            raise ValueError("this Signer has neither an HMAC secret nor a certificate")
        return xmlsec.Key.from_binary_data(xmlsec.constants.KeyDataHmac, secret)
