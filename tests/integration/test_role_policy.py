"""The role mapper as configured: FlexSAMLRoleMap, FlexSAMLUnknownRoles and
FlexSAMLRequireFlexRole, seen through real logins."""
import pytest
import requests

from conftest import Site, USER
from harness import saml


def attrs(roles):
    u = USER["alice"]
    return [("full_name", ["Alice Agent"], saml.BASIC), ("email", [u["email"]], saml.BASIC),
            ("roles", roles, saml.BASIC)]


def login(site, roles):
    s = requests.Session()
    mark = site.apache.log_mark()
    r = site.post(site.response("alice", attributes=attrs(roles)), session=s)
    return s, r, site.apache.log_since(mark)


MAP = """
FlexSAMLRoleMap Flex-Supervisors supervisor
FlexSAMLRoleMap "Contact Center Leads" supervisor wfo.team_leader
"""


@pytest.fixture(scope="module")
def drop_site(keys):
    s = Site(keys, MAP, name="drop").start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def keep_site(keys):
    s = Site(keys, MAP + "FlexSAMLUnknownRoles keep\n", name="keep").start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def deny_site(keys):
    s = Site(keys, MAP + "FlexSAMLUnknownRoles deny\n", name="deny").start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def lax_site(keys):
    s = Site(keys, "FlexSAMLRequireFlexRole off\n", name="lax").start()
    yield s
    s.stop()


def test_role_map_aliases(drop_site):
    s, r, _ = login(drop_site, ["flex-supervisors", "contact center leads,agent"])
    assert r.status_code == 303
    assert drop_site.env(s)["FLEX_ROLES"] == "agent,supervisor,wfo.team_leader"


def test_unknown_roles_dropped_and_logged(drop_site):
    s, r, log = login(drop_site, ["agent,Sales-Team"])
    assert r.status_code == 303
    assert drop_site.env(s)["FLEX_ROLES"] == "agent"
    assert "unknown role values (FlexSAMLUnknownRoles drop): sales-team" in log


def test_unknown_roles_kept(keep_site):
    s, r, _ = login(keep_site, ["agent,Sales-Team"])
    assert r.status_code == 303
    assert keep_site.env(s)["FLEX_ROLES"] == "agent,sales-team"


def test_unknown_roles_denied(deny_site):
    s, r, log = login(deny_site, ["agent,Sales-Team"])
    assert r.status_code == 403 and "Reason: <code>no_role</code>" in r.text
    assert "refused reason=no_role" in log and "sales-team" in log
    assert "flexsaml_session" not in r.headers.get("Set-Cookie", "")


def test_mapped_values_are_not_unknown_under_deny(deny_site):
    s, r, _ = login(deny_site, ["Flex-Supervisors"])
    assert r.status_code == 303


def test_only_wfo_roles_is_no_flex_role(drop_site):
    s, r, log = login(drop_site, ["wfo.full_access"])
    assert r.status_code == 403 and "no_role" in r.text and "User type" in r.text
    assert "no Flex role" in log


def test_require_flex_role_off(lax_site):
    s, r, _ = login(lax_site, ["wfo.full_access"])
    assert r.status_code == 303
    assert lax_site.env(s)["FLEX_ROLES"] == "wfo.full_access"
    s, r, _ = login(lax_site, ["guest"])
    assert r.status_code == 303
    assert "FLEX_ROLES" not in lax_site.env(s)
