"""Authorization and session policy (issue 18): site roles, `Require
flex-claim`, `FlexSAMLAuth optional`, `FlexSAMLUnauthenticated` and
`FlexSAMLRequireClaims`, each against a real httpd, as a matrix of rules and
people."""
import os
import re
import time

import pytest
import requests

import harness
from conftest import Site, USER

RULES = """
FlexSAMLRoles teamlead qa
FlexSAMLRoleMap Team-Leads teamlead
<Location /team>
    AuthType FlexSAML
    Require flex-role teamlead
</Location>
<Location /insights>
    AuthType FlexSAML
    Require flex-role wfo.*
</Location>
<Location /sales>
    AuthType FlexSAML
    Require flex-claim department sales support
</Location>
<Location /emea>
    AuthType FlexSAML
    Require flex-claim region ~ "^emea-[a-z]+$"
</Location>
<Location /sales-outside-emea>
    AuthType FlexSAML
    <RequireAll>
        Require flex-claim department sales
        Require not flex-claim region ~ ^emea-
    </RequireAll>
</Location>
<Location /sup-or-sales>
    AuthType FlexSAML
    <RequireAny>
        Require flex-role supervisor
        Require flex-claim department sales
    </RequireAny>
</Location>
<Location /hello>
    AuthType FlexSAML
    FlexSAMLAuth optional
    Require valid-user
</Location>
<Location /api401>
    AuthType FlexSAML
    FlexSAMLUnauthenticated 401
    Require valid-user
</Location>
<Location /api403>
    AuthType FlexSAML
    FlexSAMLUnauthenticated 403
    Require valid-user
</Location>
"""
AREAS = ("team", "insights", "sales", "emea", "sales-outside-emea", "sup-or-sales", "api401",
         "api403")
PAGES = {"htdocs/%s/index.html" % a: "<h1>%s</h1>\n" % a for a in AREAS}


def person(base, login, user_type, **attrs):
    u = dict(USER[base], login=login, email=login, userType=user_type)
    return u, [(k, v if isinstance(v, list) else [v]) for k, v in attrs.items()]


PEOPLE = {
    # tina: an agent whose Okta group Team-Leads maps to the site role teamlead
    "tina": person("alice", "tina.lead@example.com", "agent,Team-Leads",
                   department="sales", region="emea-west"),
    "sam": person("sam", "sam.supervisor@example.com", "supervisor",
                  department="support", region="amer-east"),
    "alice": person("alice", "alice.agent@example.com", "agent"),
    "wendy": person("wendy", "wendy.wfo@example.com", "agent,wfo.full_access",
                    department=["marketing", "sales"], region="amer-west"),
}

EXPECTED = {  # area -> people allowed; the others get 403
    "team": {"tina"},
    "insights": {"wendy"},
    "sales": {"tina", "sam", "wendy"},
    "emea": {"tina"},
    "sales-outside-emea": {"wendy"},
    "sup-or-sales": {"tina", "sam", "wendy"},
    "api401": set(PEOPLE),
    "api403": set(PEOPLE),
}


@pytest.fixture(scope="module")
def policy(keys):
    s = Site(keys, RULES, name="policy", extra_files=PAGES)
    s.apache.write("htdocs/hello/env.cgi", harness.ENV_CGI, 0o755)
    s.start()
    s.sessions = {}
    for name, (user, extra) in PEOPLE.items():
        sess = requests.Session()
        r = s.post(s.response(user=user, extra_attributes=extra), session=sess)
        assert r.status_code == 303, (name, r.status_code, r.text)
        s.sessions[name] = sess
    yield s
    s.stop()


@pytest.mark.parametrize("area", sorted(EXPECTED))
@pytest.mark.parametrize("who", sorted(PEOPLE))
def test_matrix_of_rules_and_people(policy, area, who):
    r = policy.sessions[who].get(policy.base + "/%s/" % area, allow_redirects=False)
    want = 200 if who in EXPECTED[area] else 403
    assert r.status_code == want, (who, area, r.status_code)
    if want == 200:
        assert "<h1>%s</h1>" % area in r.text


def test_site_role_reaches_flex_roles(policy):
    env = policy.env(policy.sessions["tina"], "/hello/env.cgi")
    assert env["FLEX_ROLES"] == "agent,teamlead"


def test_403_names_the_claim_rule(policy):
    r = policy.sessions["alice"].get(policy.base + "/emea/", allow_redirects=False)
    assert r.status_code == 403
    assert "Require flex-claim region ~ &quot;^emea-[a-z]+$&quot;" in r.text, r.text
    assert "carries no <code>region</code>" in r.text
    r = policy.sessions["sam"].get(policy.base + "/sales/", allow_redirects=False,
                                   headers={"Accept": "application/json"})
    r = policy.sessions["sam"].get(policy.base + "/emea/", allow_redirects=False,
                                   headers={"Accept": "application/json"})
    assert r.status_code == 403
    assert r.json() == {"error": "forbidden",
                        "required_claim": 'Require flex-claim region ~ "^emea-[a-z]+$"'}
    assert re.search(r"sam.supervisor@example.com fails \"Require flex-claim region ~ .*\" for "
                     r"/emea/: has amer-east", policy.apache.error_log())


def test_optional_auth_greets_the_signed_in(policy):
    env = policy.env(policy.sessions["sam"], "/hello/env.cgi")
    assert env["REMOTE_USER"] == "sam.supervisor@example.com"
    assert env["FLEX_FULL_NAME"] == "Sam Supervisor"


def test_optional_auth_lets_anonymous_through(policy):
    r = requests.get(policy.base + "/hello/env.cgi", allow_redirects=False)
    assert r.status_code == 200, r.text
    env = dict(line.split("=", 1) for line in r.text.splitlines() if "=" in line)
    assert not env.get("REMOTE_USER") and "FLEX_FULL_NAME" not in env
    assert "Set-Cookie" not in r.headers


@pytest.mark.parametrize("area,status", [("api401", 401), ("api403", 403), ("team", 302)])
def test_unauthenticated_answer_per_directory(policy, area, status):
    r = requests.get(policy.base + "/%s/" % area, allow_redirects=False)
    assert r.status_code == status
    if status == 302:
        assert r.headers["Location"].startswith(policy.idp.sso_url)
    else:  # no login started: no login-state cookie
        assert "Set-Cookie" not in r.headers


def test_unauthenticated_xhr_keeps_json_401(policy):
    for area in ("api401", "api403"):
        r = requests.get(policy.base + "/%s/" % area, allow_redirects=False,
                         headers={"X-Requested-With": "XMLHttpRequest"})
        assert r.status_code == 401 and r.json()["error"] == "login_required"


# ---- FlexSAMLRequireClaims ----

@pytest.fixture(scope="module")
def lax(keys):
    s = Site(keys, "FlexSAMLRequireClaims none\nFlexSAMLRequireFlexRole off\n", name="lax").start()
    yield s
    s.stop()


def test_require_claims_none_accepts_no_attributes(lax):
    sess = requests.Session()
    r = lax.post(lax.response(attributes=[]), session=sess)
    assert r.status_code == 303, r.text
    env = lax.env(sess)
    assert env["REMOTE_USER"] == USER["sam"]["login"]
    assert "FLEX_FULL_NAME" not in env and "FLEX_EMAIL" not in env


def test_default_still_requires_flex_claims(site):
    r = site.post(site.response(attributes=[("full_name", ["Sam"]), ("roles", ["agent"])]))
    assert r.status_code == 400 and "missing_claim" in r.text


def test_require_claims_names_the_missing_one(keys):
    s = Site(keys, "FlexSAMLRequireClaims email department\nFlexSAMLRequireFlexRole off\n",
             name="claims").start()
    try:
        mark = len(s.apache.error_log())
        r = s.post(s.response())
        assert r.status_code == 400 and "department" in r.text
        assert "the assertion has no department attribute" in s.apache.log_since(mark)
        r = s.post(s.response(extra_attributes=[("department", ["sales"])]))
        assert r.status_code == 303
    finally:
        s.stop()


# ---- apachectl -t ----

def configtest(keys, extra, loc=""):
    a = harness.Apache(harness.sp_conf("https://x.example/sso", keys["cert"],
                                       "https://p.example/md", extra + loc), name="t18")
    try:
        return a.configtest()
    finally:
        a.cleanup()


def loc(require):
    return "<Location /s>\nAuthType FlexSAML\n%s\n</Location>\n" % require


@pytest.mark.parametrize("extra,require,needle", [
    ("", "Require flex-role teamlead", '"teamlead" is not a Flex role'),
    ("FlexSAMLRoles qa\n", "Require flex-role teamlead", '"teamlead" is not a Flex role'),
    ("", "Require flex-role admin,supervisor", "separate roles with spaces"),
    ("FlexSAMLRoleMap Leads teamlead\n", "", "FlexSAMLRoles teamlead"),
    ("FlexSAMLRoles team,lead\n", "", "separate roles with spaces"),
    ("", "Require flex-claim department", "needs at least one value"),
    ("", "Require flex-claim region ~ (emea", "not a valid regular expression"),
    ("", "Require flex-claim region ~ a b", "exactly one regular expression"),
    ("FlexSAMLAuth optional\n", "", "belongs in a <Location>"),
    ("", "FlexSAMLAuth maybe", "FlexSAMLAuth must be required or optional"),
    ("", "FlexSAMLUnauthenticated 404", "FlexSAMLUnauthenticated must be login, 401 or 403"),
    ("FlexSAMLRequireClaims none email\n", "", '"none" stands alone'),
])
def test_configtest_refuses(keys, extra, require, needle):
    res = configtest(keys, extra, loc(require) if require else "")
    assert res.returncode != 0, res.stderr
    assert needle in res.stderr, res.stderr


@pytest.mark.parametrize("extra,require", [
    ("FlexSAMLRoles teamlead\n", "Require flex-role teamlead"),
    ("FlexSAMLRoles teamlead\nFlexSAMLRoleMap Leads TeamLead\n", "Require flex-role TeamLead"),
    ("", "Require flex-role wfo.*"),
    ("", "Require flex-role admin supervisor"),
    ("", 'Require flex-claim region ~ "^emea-(west|east)$"'),
    ("", "FlexSAMLAuth optional\nFlexSAMLUnauthenticated 401"),
    ("FlexSAMLRequireClaims none\n", ""),
])
def test_configtest_accepts(keys, extra, require):
    res = configtest(keys, extra, loc(require) if require else "")
    assert res.returncode == 0, res.stderr


# ---- FlexSAMLSessionIdleTimeout ----

@pytest.fixture(scope="module")
def idle(keys):
    """A 10 s idle timeout on a clock that runs ten times faster (faketime):
    a second of test is ten seconds for the module."""
    s = Site(keys, "FlexSAMLSessionIdleTimeout 10s\n", name="idle")
    s.idp.start()
    s.apache.start(wrapper=("faketime", "-f", "+0 x10"))
    yield s
    s.stop()


def test_idle_session_ends_and_used_one_stays(idle):
    used, left = requests.Session(), requests.Session()
    assert idle.post(idle.response(), session=used).status_code == 303
    assert idle.post(idle.response(user="alice"), session=left).status_code == 303
    start = time.monotonic()
    while time.monotonic() - start < 2.0:  # 20 s of module time, used every ~3 s
        r = used.get(idle.base + "/protected/env.cgi", allow_redirects=False)
        assert r.status_code == 200, "a session in use ended"
        time.sleep(0.3)
    mark = len(idle.apache.error_log())
    r = left.get(idle.base + "/protected/", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(idle.idp.sso_url)
    assert re.search(r"the session of alice.agent@example.com ended: unused for \d+s, past "
                     r"FlexSAMLSessionIdleTimeout 10s", idle.apache.log_since(mark))
    # once ended, it stays ended
    r = left.get(idle.base + "/protected/", allow_redirects=False)
    assert r.status_code == 302
    time.sleep(1.2)
    r = used.get(idle.base + "/protected/", allow_redirects=False)
    assert r.status_code == 302


def test_a_stopped_faketime_server_leaves_nothing_in_dev_shm(keys):
    """The faketime wrapper keeps its clock in /dev/shm and removes it only when it exits by
    itself; stopped by a signal, every such server of the suite left two files behind."""
    s = Site(keys, "", name="ftshm")
    s.apache.start(wrapper=("faketime", "-f", "+0"))
    pid = s.apache.proc.pid
    made = [p for p in harness.faketime_leftovers(pid, ("faketime",)) if os.path.exists(p)]
    s.apache.cleanup()
    assert made, "faketime made no shared memory: this test checks nothing"
    assert not [p for p in made if os.path.exists(p)]
