"""The status handler (Prometheus text, counters shared by every child) and
the whoami handler, each enabled with SetHandler and protected by Require."""
import datetime
import re

import pytest
import requests

from conftest import Site
from harness import saml

CONF = """
<Location /flexsaml/status>
    SetHandler flexsaml-status
    Require ip 127.0.0.1
</Location>
<Location /flexsaml/status-closed>
    SetHandler flexsaml-status
    Require ip 192.0.2.1
</Location>
<Location /protected/whoami>
    SetHandler flexsaml-whoami
</Location>
"""
MPM_TWO_CHILDREN = """LoadModule mpm_prefork_module {mods}/mod_mpm_prefork.so
StartServers 3
MinSpareServers 3
MaxSpareServers 3"""


@pytest.fixture(scope="module")
def ssite(keys):
    # prefork with several children: the counters must add up across processes.
    s = Site(keys, CONF, name="status", mpm=MPM_TWO_CHILDREN).start()
    yield s
    s.stop()


def metric(text, name, **labels):
    lab = ",".join('%s="%s"' % kv for kv in labels.items())
    m = re.search(r"^%s%s (-?\d+)$" % (re.escape(name), re.escape("{%s}" % lab) if lab else ""),
                  text, re.M)
    assert m, "%s %s not in\n%s" % (name, labels, text)
    return int(m.group(1))


def test_counters_after_a_scripted_sequence(ssite):
    for user in ("alice", "sam", "ada"):
        assert ssite.post(ssite.response(user), session=requests.Session()).status_code == 303
    xml = ssite.response("wendy")
    assert ssite.post(xml).status_code == 303
    assert ssite.post(xml).status_code == 400                      # replayed
    old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=2)
    assert ssite.post(ssite.response("alice", now=old)).status_code == 400  # expired
    assert ssite.post(b64="bm90IHhtbA==").status_code == 400       # bad_xml
    assert ssite.post(b64="!!").status_code == 400                 # bad_base64
    text = requests.get(ssite.base + "/flexsaml/status").text
    assert metric(text, "flexsaml_logins_total") == 4
    assert metric(text, "flexsaml_refusals_total", reason="replayed") == 1
    assert metric(text, "flexsaml_refusals_total", reason="expired") == 1
    assert metric(text, "flexsaml_refusals_total", reason="bad_xml") == 1
    assert metric(text, "flexsaml_refusals_total", reason="bad_base64") == 1
    assert metric(text, "flexsaml_refusals_total", reason="signature_invalid") == 0
    assert metric(text, "flexsaml_store_operations_total", op="put") == 4
    assert metric(text, "flexsaml_store_operations_total", op="once") == 5
    assert metric(text, "flexsaml_store_errors_total") == 0
    expiry = metric(text, "flexsaml_idp_certificate_expiry_seconds", issuer="http://www.okta.com/exk1flexsamltest0h7")
    assert 9 * 365 * 86400 < expiry <= 10 * 366 * 86400
    assert re.search(r'^flexsaml_info\{version="[0-9.]+",lasso="2\.[0-9.]+"\} 1$', text, re.M)
    assert "# TYPE flexsaml_refusals_total counter" in text


def test_status_is_protected_by_require(ssite):
    assert requests.get(ssite.base + "/flexsaml/status-closed").status_code == 403


def test_whoami_page_and_json(ssite):
    s, r = ssite.login(user="ada", path="/protected/whoami")
    assert r.headers["Location"] == "/protected/whoami"
    page = s.get(ssite.base + "/protected/whoami")
    assert page.status_code == 200 and "Ada Admin" in page.text and "FLEX_ROLES" in page.text
    j = s.get(ssite.base + "/protected/whoami?format=json").json()
    assert j["name_id"] == "ada.admin@example.com" and j["roles"] == ["admin", "supervisor"]
    assert j["env"]["FLEX_EMAIL"] == "ada.admin@example.com"
    assert 0 < j["expires_in"] <= 8 * 3600


def test_whoami_without_session_starts_a_login(ssite):
    r = requests.get(ssite.base + "/protected/whoami", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(ssite.idp.sso_url)
