"""HTTP details of the module's own answers: the content type says what the
body is (JSON for scripts, UTF-8 for pages), a GET on the ACS allows POST,
and a site's own ErrorDocument wins over the module's page."""
import re

import pytest
import requests

from conftest import USER, Site

ADMIN_ONLY = """
<Location /admin>
    AuthType FlexSAML
    Require flex-role admin
</Location>
"""
JSON = {"Accept": "application/json"}
NAME = "José Müller 李"


@pytest.fixture(scope="module")
def site(keys):
    s = Site(keys, ADMIN_ONLY, name="details",
             extra_files={"htdocs/admin/index.html": "<h1>admin</h1>\n"}).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def own_pages(keys):
    conf = ADMIN_ONLY + 'ErrorDocument 403 "the site\'s own 403"\nErrorDocument 400 /errors/400.html\n'
    s = Site(keys, conf, name="ownpages",
             extra_files={"htdocs/admin/index.html": "<h1>admin</h1>\n",
                          "htdocs/errors/400.html": "<h1>site 400</h1>\n"}).start()
    yield s
    s.stop()


def signed_in(site, user):
    r = site.post(site.response(user))
    assert r.status_code == 303, r.text[:300]
    s = requests.Session()
    s.cookies.update(r.cookies)
    return s


def test_json_401_is_application_json(site):
    r = requests.get(site.base + "/protected/", headers=JSON, allow_redirects=False)
    assert r.status_code == 401
    assert r.headers["Content-Type"] == "application/json"
    assert r.json()["error"] == "login_required"


def test_json_403_is_application_json(site):
    s = signed_in(site, "alice")
    r = s.get(site.base + "/admin/", headers=JSON, allow_redirects=False)
    assert r.status_code == 403
    assert r.headers["Content-Type"] == "application/json"
    assert r.json()["required_roles"] == ["admin"]


def test_403_page_declares_utf8_and_shows_the_name(site):
    u = dict(USER["alice"], firstName="José", lastName="Müller 李")
    s = signed_in(site, u)
    r = s.get(site.base + "/admin/", allow_redirects=False)
    assert r.status_code == 403
    assert r.headers["Content-Type"].lower().replace(" ", "") == "text/html;charset=utf-8"
    assert NAME in r.content.decode("utf-8")
    assert NAME in r.text  # what a client decoding by the header sees


def test_refusal_page_declares_utf8(site):
    r = site.post(b64="not base64 *")
    assert r.status_code == 400
    assert r.headers["Content-Type"].lower().replace(" ", "") == "text/html;charset=utf-8"


def test_get_on_acs_allows_post(site):
    r = requests.get(site.acs, allow_redirects=False)
    assert r.status_code == 405
    assert r.headers["Allow"] == "POST"
    assert "method_not_allowed" in r.text


def test_site_error_document_403_wins_for_a_denial(own_pages):
    s = signed_in(own_pages, "alice")
    r = s.get(own_pages.base + "/admin/", allow_redirects=False)
    assert r.status_code == 403
    assert "the site's own 403" in r.text and "Access denied" not in r.text


def test_site_error_document_403_wins_for_a_refusal(own_pages):
    u = dict(USER["alice"], userType="guest")
    r = own_pages.post(own_pages.response(u))
    assert r.status_code == 403
    assert "the site's own 403" in r.text and "no_role" not in r.text


def test_site_error_document_400_path_wins_for_a_refusal(own_pages):
    mark = own_pages.apache.log_mark()
    r = own_pages.post(b64="not base64 *")
    assert r.status_code == 400
    assert "site 400" in r.text and "bad_base64" not in r.text
    # The log line with its reason is still written.
    assert re.search(r"refused reason=bad_base64", own_pages.apache.log_since(mark))


def test_json_for_scripts_keeps_its_body_despite_error_documents(own_pages):
    r = requests.get(own_pages.base + "/admin/", headers=JSON, allow_redirects=False)
    assert r.status_code == 401 and r.headers["Content-Type"] == "application/json"


def test_site_error_document_403_path_wins_for_a_role_denial(keys):
    """A local-path ErrorDocument (the common form, a page of the portal) for a
    person signed in without the role: the status stays 403, the body is the
    site's page, and the denial is still logged."""
    conf = ADMIN_ONLY + "ErrorDocument 403 /errors/403.html\n"
    s = Site(keys, conf, name="ownpath403",
             extra_files={"htdocs/admin/index.html": "<h1>admin</h1>\n",
                          "htdocs/errors/403.html": "<h1>site 403</h1>\n"}).start()
    try:
        mark = s.apache.log_mark()
        r = signed_in(s, "alice").get(s.base + "/admin/", allow_redirects=False)
        assert r.status_code == 403, (r.status_code, r.text[:200])
        assert "site 403" in r.text and "Access denied" not in r.text
        assert "lacks a role for /admin/" in s.apache.log_since(mark)
    finally:
        s.stop()
