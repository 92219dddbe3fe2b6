"""Messages an administrator reads at `apachectl -t` and on the whoami page
name the real fix, with the values of this configuration."""
import os
import re
import subprocess

import pytest
import requests

import harness
from conftest import USER, Site
from harness import saml
from test_config import assert_refused, configtest, fields, SSO


def test_missing_store_module_is_not_offered_as_the_alternative(keys):
    res = configtest(fields(keys["cert"], "FlexSAMLSessionCache dbm:/tmp/flexsaml-x"))
    assert_refused(res, 'session cache provider "dbm" is not loaded', "a2enmod socache_dbm")
    alternatives = res.stderr.split("another store:")[1].splitlines()[0]
    assert "dbm" not in alternatives and "lmdb" in alternatives, res.stderr
    assert "unknown" not in res.stderr


def test_redis_missing_is_not_offered_as_the_alternative(keys):
    res = configtest(fields(keys["cert"], "FlexSAMLSessionCache redis:127.0.0.1:6379\n"
                            "FlexSAMLCryptoPassphrase env:PATH"))
    if "is not loaded" not in res.stderr:
        pytest.skip("mod_socache_redis refused for another reason here: " + res.stderr[-300:])
    alternatives = res.stderr.split("another store:")[1].splitlines()[0]
    assert "redis" not in alternatives and "memcache:host:port" in alternatives, res.stderr


def test_entity_id_example_keeps_the_port(keys):
    res = configtest("<VirtualHost 127.0.0.1:{port}>\nServerName portal.example.com:8443\n"
                     "FlexSAMLIdPCertificateFile %s\nFlexSAMLIdPSSOURL %s\nFlexSAMLIdPIssuer %s\n"
                     "</VirtualHost>\n" % (keys["cert"], SSO, harness.ISSUER))
    assert_refused(res, "FlexSAMLSPEntityID is missing",
                   "https://portal.example.com:8443/flexsaml/metadata")


@pytest.fixture(scope="module")
def whoami_site(keys):
    s = Site(keys, "FlexSAMLUser email\n<Location /protected/whoami>\nSetHandler flexsaml-whoami\n"
             "</Location>\n", name="whoami").start()
    yield s
    s.stop()


def test_whoami_lists_remote_user(whoami_site):
    r = whoami_site.post(whoami_site.response("alice"))
    assert r.status_code == 303
    s = requests.Session()
    s.cookies.update(r.cookies)
    page = s.get(whoami_site.base + "/protected/whoami", allow_redirects=False)
    assert re.search(r"<td>REMOTE_USER</td><td>alice\.agent@example\.com</td>", page.text), page.text
    j = s.get(whoami_site.base + "/protected/whoami?format=json", allow_redirects=False).json()
    assert j["env"]["REMOTE_USER"] == "alice.agent@example.com"


def test_authtype_flexsaml_in_a_vhost_without_settings_is_refused_at_configtest(keys):
    """It used to pass -t and answer 500 to every request."""
    res = configtest("<VirtualHost 127.0.0.1:{port}>\nServerName other.example.com\n"
                     "<Location /app>\nAuthType FlexSAML\nRequire valid-user\n</Location>\n"
                     "</VirtualHost>\n")
    assert_refused(res, "AuthType FlexSAML on line", "has no FlexSAML settings", "<VirtualHost",
                   "FlexSAMLSPEntityID")


def test_authtype_flexsaml_with_settings_in_the_main_server_passes(keys):
    res = configtest(fields(keys["cert"]) + "<VirtualHost 127.0.0.1:{port}>\nServerName x.example.com\n"
                     "<Location /app>\nAuthType FlexSAML\nRequire valid-user\n</Location>\n"
                     "</VirtualHost>\n")
    assert res.returncode == 0, res.stderr


def test_authtype_flexsaml_in_the_main_server_without_settings_is_refused(keys):
    res = configtest("<Location /app>\nAuthType FlexSAML\nRequire valid-user\n</Location>\n")
    assert_refused(res, "AuthType FlexSAML on line", "the main server has no FlexSAML settings")


# ---- the IdP certificate file and the SSO URL ----

def cert_refusal(keys, tmp_path, content, mode="w"):
    f = tmp_path / "okta.cert"
    with open(f, mode) as out:
        out.write(content)
    os.chmod(f, 0o644)
    return configtest(fields(str(f))), str(f)


def test_empty_certificate_file(keys, tmp_path):
    res, _ = cert_refusal(keys, tmp_path, "\n")
    assert_refused(res, "FlexSAMLIdPCertificateFile", "is empty", "View SAML setup instructions")
    assert "must be an https URL" not in res.stderr


def test_certificate_cut_short(keys, tmp_path):
    pem = open(keys["cert"]).read()
    res, _ = cert_refusal(keys, tmp_path, pem[:len(pem) // 2])
    assert_refused(res, "-----BEGIN CERTIFICATE----- line but no -----END CERTIFICATE----- line")
    assert "must be an https URL" not in res.stderr


def test_der_certificate_names_the_openssl_command(keys, tmp_path):
    der = subprocess.run(["openssl", "x509", "-in", keys["cert"], "-outform", "DER"],
                         capture_output=True, check=True).stdout
    res, path = cert_refusal(keys, tmp_path, der, "wb")
    assert_refused(res, "DER (binary)", "openssl x509 -inform DER -in %s -out %s.pem" % (path, path))
    assert "must be an https URL" not in res.stderr


def test_sso_url_without_scheme_is_reported_on_its_own_line(keys):
    body = fields(keys["cert"]).replace(SSO, SSO[len("https://"):])
    a = harness.Apache(body, name="conftest")
    try:
        res = a.configtest()
        line = [i + 1 for i, l in enumerate(open(a.conf_path).read().split("\n"))
                if l.startswith("FlexSAMLIdPSSOURL")][0]
    finally:
        a.cleanup()
    assert_refused(res, "Syntax error on line %d of" % line, "FlexSAMLIdPSSOURL",
                   "does not start with https://")


@pytest.mark.parametrize("url,words", [
    (SSO + "/metadata", ("ends in /metadata", "Identity Provider Single Sign-On URL")),
    ("https://example.okta.com/home/example_flex_1/0oa1/aln1", ("app-embed link", "Identity Provider Single Sign-On URL")),
    (harness.ISSUER, ("Identity Provider Issuer", "FlexSAMLIdPIssuer")),
])
def test_sso_url_that_is_another_okta_field_warns(keys, url, words):
    res = configtest(fields(keys["cert"]).replace(SSO, url))
    assert res.returncode == 0, res.stderr
    assert "FlexSAMLIdPSSOURL %s" % url in res.stderr, res.stderr
    for w in words:
        assert w in res.stderr, res.stderr


def test_right_sso_url_does_not_warn(keys):
    res = configtest(fields(keys["cert"]))
    assert res.returncode == 0 and "FlexSAMLIdPSSOURL" not in res.stderr, res.stderr


def test_two_certificates_are_both_trusted(keys, tmp_path):
    """An Okta rotation: the file holds the old certificate first and the new
    one second; a response signed with the new one is accepted, and -t says
    both are trusted."""
    both = tmp_path / "okta-rotation.cert"
    both.write_text(open(keys["other_cert"]).read() + open(keys["cert"]).read())
    os.chmod(both, 0o644)
    res = configtest(fields(str(both)))
    assert res.returncode == 0, res.stderr
    assert "holds 2 certificates" in res.stderr and "trusted" in res.stderr, res.stderr

    port = harness.free_port()
    base = "http://127.0.0.1:%d" % port
    entity, acs = base + "/flexsaml/metadata", base + "/flexsaml/acs"
    a = harness.Apache(harness.sp_conf(SSO, str(both), entity), port=port, name="rotation")
    a.start()
    try:
        for signer in (keys["signer"], keys["other_signer"]):
            xml = saml.build_response(user=USER["alice"], issuer=harness.ISSUER, sp_entity_id=entity,
                                      acs_url=acs, signer=signer)
            r = requests.post(acs, data={"SAMLResponse": saml.b64(xml)}, allow_redirects=False)
            assert r.status_code == 303, r.text[:400]
    finally:
        a.cleanup()
