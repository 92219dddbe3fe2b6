"""`apache2 -t` refuses a wrong configuration and names the directive; a right
one passes, including the IdP given as metadata instead of the three fields."""
import os

import pytest
import requests

import harness
from conftest import Site

ENTITY = "https://portal.example.com/flexsaml/metadata"
SSO = "https://example.okta.com/app/example_flex_1/exk123/sso/saml"


def configtest(body):
    a = harness.Apache(body, name="conftest")
    try:
        return a.configtest()
    finally:
        a.cleanup()


def fields(cert, extra="", entity=ENTITY):
    return ("FlexSAMLSPEntityID %s\nFlexSAMLIdPCertificateFile %s\nFlexSAMLIdPSSOURL %s\n"
            "FlexSAMLIdPIssuer %s\n%s\n" % (entity, cert, SSO, harness.ISSUER, extra))


def assert_refused(res, *words):
    assert res.returncode != 0, res.stderr
    for w in words:
        assert w in res.stderr, res.stderr


def test_good_configuration_passes(keys):
    res = configtest(fields(keys["cert"]) + "<Location /p>\nAuthType FlexSAML\nRequire valid-user\n</Location>\n")
    assert res.returncode == 0 and "Syntax OK" in res.stderr, res.stderr


def test_unreadable_certificate(keys):
    assert_refused(configtest(fields("/nonexistent/okta.cert")), "FlexSAMLIdPCertificateFile",
                   "/nonexistent/okta.cert", "cannot be read")


def test_invalid_certificate(tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    assert_refused(configtest(fields(str(bad))), "FlexSAMLIdPCertificateFile", "certificate")


def test_private_key_instead_of_certificate(tmp_path, keys):
    assert_refused(configtest(fields(keys["key"])), "FlexSAMLIdPCertificateFile", "PEM certificate")


def test_idp_given_twice(keys, tmp_path):
    md = tmp_path / "md.xml"
    md.write_text("<x/>")
    assert_refused(configtest(fields(keys["cert"], "FlexSAMLIdPMetadataFile %s" % md)),
                   "FlexSAMLIdPMetadataFile", "not both")


def test_idp_missing():
    assert_refused(configtest("FlexSAMLSPEntityID %s\n" % ENTITY), "no IdP configured",
                   "FlexSAMLIdPMetadataFile", "FlexSAMLIdPCertificateFile")


def test_idp_field_missing(keys):
    assert_refused(configtest("FlexSAMLSPEntityID %s\nFlexSAMLIdPCertificateFile %s\n"
                              "FlexSAMLIdPIssuer %s\n" % (ENTITY, keys["cert"], harness.ISSUER)),
                   "FlexSAMLIdPSSOURL is missing")


def test_entity_id_missing(keys):
    res = configtest("FlexSAMLIdPCertificateFile %s\nFlexSAMLIdPSSOURL %s\nFlexSAMLIdPIssuer %s\n"
                     % (keys["cert"], SSO, harness.ISSUER))
    assert_refused(res, "FlexSAMLSPEntityID is missing")


def test_unknown_socache_provider(keys):
    assert_refused(configtest(fields(keys["cert"], "FlexSAMLSessionCache nosuch:foo")),
                   "FlexSAMLSessionCache", "session cache provider \"nosuch\" is not loaded")


def test_redis_without_its_module(keys):
    assert_refused(configtest(fields(keys["cert"], "FlexSAMLSessionCache redis:127.0.0.1:6379")),
                   "FlexSAMLSessionCache", "mod_socache_redis")


@pytest.mark.parametrize("value,words", [("400", ("FlexSAMLClockSkew", "at most 300")),
                                         ("abc", ("FlexSAMLClockSkew", "not a duration")),
                                         ("-5", ("FlexSAMLClockSkew", "not a duration"))])
def test_bad_clock_skew(keys, value, words):
    assert_refused(configtest(fields(keys["cert"], "FlexSAMLClockSkew %s" % value)), *words)


def test_bad_sso_url(keys):
    res = configtest(fields(keys["cert"]).replace(SSO, "ftp://example.okta.com/sso"))
    assert_refused(res, "FlexSAMLIdPSSOURL", "does not start with https://")


def test_bad_metadata_file(tmp_path):
    md = tmp_path / "md.xml"
    md.write_text("<not-metadata/>")
    assert_refused(configtest("FlexSAMLSPEntityID %s\nFlexSAMLIdPMetadataFile %s\n" % (ENTITY, md)),
                   "FlexSAMLIdPMetadataFile", "EntityDescriptor")


def test_metadata_with_doctype_refused(tmp_path):
    md = tmp_path / "md.xml"
    md.write_text('<!DOCTYPE x SYSTEM "http://127.0.0.1:1/x.dtd"><md:EntityDescriptor '
                  'xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>')
    assert_refused(configtest("FlexSAMLSPEntityID %s\nFlexSAMLIdPMetadataFile %s\n" % (ENTITY, md)),
                   "DOCTYPE")


def test_role_map_with_unknown_role(keys):
    assert_refused(configtest(fields(keys["cert"], "FlexSAMLRoleMap Flex-Supervisors supervsor")),
                   "FlexSAMLRoleMap", "supervsor")


def test_sp_key_without_certificate(keys):
    assert_refused(configtest(fields(keys["cert"], "FlexSAMLSPPrivateKeyFile %s" % keys["key"])),
                   "FlexSAMLSPCertificateFile and FlexSAMLSPPrivateKeyFile go together")


def test_login_with_idp_metadata_file(keys, tmp_path):
    """The IdP as metadata (fetched from the test IdP, as from Okta's metadata URL)."""
    site = Site(keys, name="md")
    site.idp.start()
    try:
        md = requests.get(site.idp.metadata_url).text
        path = os.path.join(site.apache.root, "conf", "idp-metadata.xml")
        with open(path, "w") as f:
            f.write(md)
        conf = site.apache.conf_path
        text = open(conf).read()
        for d in ("FlexSAMLIdPCertificateFile", "FlexSAMLIdPSSOURL", "FlexSAMLIdPIssuer"):
            text = "\n".join(l for l in text.splitlines() if not l.startswith(d))
        open(conf, "w").write(text + "\nFlexSAMLIdPMetadataFile %s\n" % path)
        site.apache.start()
        s, r = site.login(user="ada")
        assert r.status_code == 303
        assert site.env(s)["FLEX_ROLES"] == "admin,supervisor"
    finally:
        site.stop()


def test_sp_certificate_is_published(keys):
    site = Site(keys, "FlexSAMLSPCertificateFile %s\nFlexSAMLSPPrivateKeyFile %s" % (
        keys["cert"], keys["key"]), name="spcert").start()
    try:
        md = requests.get(site.base + "/flexsaml/metadata").text
        body = "".join(l for l in open(keys["cert"]).read().splitlines() if "CERTIFICATE" not in l)
        assert body in md.replace("\n", "")
        # With a key, AuthnRequests are signed (HTTP-Redirect binding signature).
        r = requests.get(site.base + "/protected/", allow_redirects=False)
        assert "Signature=" in r.headers["Location"] and "SigAlg=" in r.headers["Location"]
        s, r = site.login(user="sam")
        assert r.status_code == 303
    finally:
        site.stop()


@pytest.mark.parametrize("mode,ok", [(0o640, False), (0o604, False), (0o600, True)])
def test_passphrase_file_must_be_private(keys, tmp_path, mode, ok):
    """The passphrase follows the rule of every secret file: only its owner reads it."""
    secret = tmp_path / "session.key"
    secret.write_text("correct horse battery staple\n")
    os.chmod(secret, mode)
    res = configtest(fields(keys["cert"], "FlexSAMLCryptoPassphrase file:%s" % secret))
    if ok:
        assert res.returncode == 0, res.stderr
    else:
        assert_refused(res, "FlexSAMLCryptoPassphrase", "chmod 600")
        assert "correct horse" not in res.stderr


@pytest.mark.parametrize("value,words", [("2h", "must be between"), ("0", "must be between"),
                                         ("ten", "is not a duration")])
def test_request_lifetime_out_of_range(keys, value, words):
    """A started sign-in stays open for at most an hour (its login-state cookie's Max-Age)."""
    assert_refused(configtest(fields(keys["cert"], "FlexSAMLRequestLifetime %s" % value)),
                   "FlexSAMLRequestLifetime", words)


def test_request_lifetime_accepted(keys):
    res = configtest(fields(keys["cert"], "FlexSAMLRequestLifetime 30m"))
    assert res.returncode == 0 and "Syntax OK" in res.stderr, res.stderr
