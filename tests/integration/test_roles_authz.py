"""`Require flex-role` as a real mod_authz_core provider: each demo person
reaches exactly what their roles allow, and it composes with Apache's own."""
import pytest
import requests

import harness
from conftest import Site

AREAS = """
<Location /agent>
    AuthType FlexSAML
    Require flex-role agent
</Location>
<Location /supervisor>
    AuthType FlexSAML
    Require flex-role supervisor admin
</Location>
<Location /admin>
    AuthType FlexSAML
    Require flex-role ADMIN
</Location>
<Location /ops>
    AuthType FlexSAML
    <RequireAny>
        Require ip 127.0.0.1
        Require flex-role admin
    </RequireAny>
</Location>
<Location /ops-remote>
    AuthType FlexSAML
    <RequireAny>
        Require ip 192.0.2.1
        Require flex-role admin
    </RequireAny>
</Location>
<Location /not-agents>
    AuthType FlexSAML
    <RequireAll>
        Require valid-user
        Require not flex-role agent
    </RequireAll>
</Location>
<Location /insights>
    AuthType FlexSAML
    Require flex-role wfo.full_access
</Location>
"""
PAGES = {"htdocs/%s/index.html" % a: "<h1>%s</h1>\n" % a
         for a in ("agent", "supervisor", "admin", "ops", "ops-remote", "not-agents", "insights")}

EXPECTED = {  # area -> people allowed (the rest get 403)
    "agent": {"alice", "wendy"},
    "supervisor": {"sam", "ada"},
    "admin": {"ada"},
    "ops": {"alice", "sam", "ada", "wendy"},
    "ops-remote": {"ada"},
    "not-agents": {"sam", "ada"},
    "insights": {"wendy"},
}


@pytest.fixture(scope="module")
def areas(keys):
    s = Site(keys, AREAS, name="roles", extra_files=PAGES).start()
    s.sessions = {u: s.login(user=u)[0] for u in ("alice", "sam", "ada", "wendy")}
    yield s
    s.stop()


@pytest.mark.parametrize("area", sorted(EXPECTED))
@pytest.mark.parametrize("user", ["alice", "sam", "ada", "wendy"])
def test_each_person_reaches_exactly_their_areas(areas, area, user):
    r = areas.sessions[user].get(areas.base + "/%s/" % area, allow_redirects=False)
    want = 200 if user in EXPECTED[area] else 403
    assert r.status_code == want, (user, area, r.status_code)
    if want == 200:
        assert "<h1>%s</h1>" % area in r.text


@pytest.mark.parametrize("area,status", [("agent", 302), ("admin", 302), ("ops", 200),
                                         ("ops-remote", 302), ("not-agents", 302)])
def test_without_session(areas, area, status):
    r = requests.get(areas.base + "/%s/" % area, allow_redirects=False)
    assert r.status_code == status
    if status == 302:
        assert r.headers["Location"].startswith(areas.idp.sso_url)


def test_403_page_names_required_and_held_roles(areas):
    r = areas.sessions["sam"].get(areas.base + "/admin/", allow_redirects=False)
    assert r.status_code == 403
    assert "<code>admin</code>" in r.text and "<code>supervisor</code>" in r.text
    assert "Sam Supervisor" in r.text and "User type" in r.text
    assert "lacks a role for /admin/" in areas.apache.error_log()


def test_xhr_gets_json(areas):
    h = {"X-Requested-With": "XMLHttpRequest"}
    r = requests.get(areas.base + "/admin/", headers=h, allow_redirects=False)
    assert r.status_code == 401 and r.json()["error"] == "login_required"
    r = areas.sessions["sam"].get(areas.base + "/admin/", headers={"Accept": "application/json"},
                                  allow_redirects=False)
    assert r.status_code == 403
    assert r.json() == {"error": "forbidden", "required_roles": ["admin"], "roles": ["supervisor"]}


def test_typo_in_require_fails_configtest(keys):
    a = harness.Apache(harness.sp_conf("https://x.example/sso", keys["cert"], "https://p.example/md",
                                       "<Location /s>\nAuthType FlexSAML\nRequire flex-role supervsor\n</Location>"),
                       name="typo")
    try:
        res = a.configtest()
    finally:
        a.cleanup()
    assert res.returncode != 0
    assert "supervsor" in res.stderr and "httpd.conf" in res.stderr and "line" in res.stderr


def test_require_flex_role_without_roles_fails_configtest(keys):
    a = harness.Apache(harness.sp_conf("https://x.example/sso", keys["cert"], "https://p.example/md",
                                       "<Location /s>\nAuthType FlexSAML\nRequire flex-role\n</Location>"),
                       name="typo")
    try:
        res = a.configtest()
    finally:
        a.cleanup()
    assert res.returncode != 0 and "at least one role" in res.stderr
