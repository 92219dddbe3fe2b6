"""Messages an administrator reads at `apachectl -t` and on the whoami page
name the real fix, with the values of this configuration."""
import re

import pytest
import requests

import harness
from conftest import Site
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
