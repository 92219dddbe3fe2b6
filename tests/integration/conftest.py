"""Fixtures: the test IdP's keys, and a site (Apache + module + test IdP) that
tests drive with `requests`."""
import json
import os
import re
import tempfile
from urllib.parse import urlparse, parse_qs

import pytest
import requests

import harness
from harness import saml

USERS = json.load(open(os.path.join(harness.IDP_DIR, "users.json")))
USER = {u["login"].split(".")[0]: u for u in USERS}  # alice, sam, ada, wendy


@pytest.fixture(scope="session")
def keys():
    d = harness.make_tree("flexsaml-keys-")
    key, cert = saml.make_keys(d)
    other_key, other_cert = saml.make_keys(d, cn="attacker")
    for f in os.listdir(d):
        os.chmod(os.path.join(d, f), 0o644)
    return {"dir": d, "key": key, "cert": cert, "signer": saml.Signer(key, cert),
            "other_signer": saml.Signer(other_key, other_cert), "other_cert": other_cert}


class Site:
    def __init__(self, keys, extra_conf="", name="site", extra_files=None, mpm=harness.EVENT_MPM,
                 https=False):
        self.keys = keys
        port = harness.free_port()
        self.base = "%s://127.0.0.1:%d" % ("https" if https else "http", port)
        if https:
            extra_conf += ("\nLoadModule ssl_module {mods}/mod_ssl.so\nSSLEngine on\n"
                           "SSLCertificateFile %s\nSSLCertificateKeyFile %s\n" % (keys["cert"], keys["key"]))
        self.entity = self.base + "/flexsaml/metadata"
        self.acs = self.base + "/flexsaml/acs"
        self.idp = harness.IdP(keys["key"], keys["cert"], self.entity, self.acs)
        self.apache = harness.Apache(
            harness.sp_conf(self.idp.sso_url, keys["cert"], self.entity, extra_conf),
            port=port, name=name, extra_files=extra_files, mpm=mpm)

    def start(self):
        self.idp.start()
        self.apache.start()
        return self

    def stop(self):
        self.apache.cleanup()
        self.idp.stop()

    # ---- building and posting responses ----
    def response(self, user="sam", **kw):
        """A signed Okta-shaped response for this site, as bytes."""
        args = dict(user=USER[user] if isinstance(user, str) else user, issuer=harness.ISSUER,
                    sp_entity_id=self.entity, acs_url=self.acs, signer=self.keys["signer"])
        args.update(kw)
        return saml.build_response(**args)

    def post(self, xml=None, b64=None, relay_state=None, session=None, **kw):
        s = session or requests.Session()
        data = {"SAMLResponse": b64 if b64 is not None else saml.b64(xml)}
        if relay_state is not None:
            data["RelayState"] = relay_state
        return s.post(self.acs, data=data, allow_redirects=False, **kw)

    def start_login(self, session, path="/protected/"):
        """A protected GET without a session: returns the IdP redirect and the
        parsed AuthnRequest."""
        r = session.get(self.base + path, allow_redirects=False)
        assert r.status_code == 302, r.text
        loc = r.headers["Location"]
        q = parse_qs(urlparse(loc).query)
        return r, loc, saml.parse_authn_request(q["SAMLRequest"][0]), q.get("RelayState", [None])[0]

    def login(self, session=None, user="sam", path="/protected/"):
        """The whole SP-initiated flow through the test IdP's pages."""
        s = session or requests.Session()
        _, loc, req, _ = self.start_login(s, path)
        page = s.get(loc)
        assert page.status_code == 200, page.text
        forms = [f for f in saml.parse_forms(page.text) if f[1].get("user") == USER[user]["login"]]
        assert len(forms) == 1, "the IdP sign-in page lists %s once" % user
        action, fields = forms[0]
        assert fields["request_id"] == req["ID"]
        form = s.post(urlparse(loc)._replace(path=action, query="").geturl(), data=fields)
        assert form.status_code == 200, form.text
        acs, post = saml.parse_form(form.text)
        r = s.post(acs, data=post, allow_redirects=False)
        return s, r

    def cookie_names(self, response):
        return [c.split("=", 1)[0].strip() for c in response.headers.get("Set-Cookie", "").split(",") if "=" in c]

    def env(self, session, path="/protected/env.cgi"):
        r = session.get(self.base + path, allow_redirects=False)
        assert r.status_code == 200, r.text
        return dict(line.split("=", 1) for line in r.text.splitlines() if "=" in line)


def reason_logged(site, mark, reason):
    log = site.apache.log_since(mark)
    m = re.search(r"refused reason=%s id=([A-Za-z0-9_-]+)" % re.escape(reason), log)
    return m.group(1) if m else None


@pytest.fixture(scope="module")
def site(keys):
    s = Site(keys).start()
    yield s
    s.stop()
