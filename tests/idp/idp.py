#!/usr/bin/python3
"""The Okta-like test IdP server.

/usr/bin/python3 tests/idp/idp.py --port N [--host 127.0.0.1] --key K --cert C \
    --users tests/idp/users.json --app-id exk1flexsamltest0h7 --sp-entity-id URL --acs-url URL \
    [--session-not-on-or-after-seconds S]

Prints "ready" on stdout once listening; one log line per request on stderr; stops on SIGTERM/SIGINT.
"""

import argparse
import datetime
import json
import os
import signal
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import saml  # noqa: E402
from idp_pages import metadata_xml, signin_page  # noqa: E402
import saml_logout  # noqa: E402
from lxml import etree  # noqa: E402

MAX_BODY = 1 << 20


class Idp:
    """Configuration + the actions, independent of HTTP."""

    def __init__(self, signer, users, app_id, sp_entity_id, acs_url, session_seconds=None,
                 slo=False, sp_cert=None, key_path=None, session_age=0, ignore_force_authn=False,
                 weak_authn=False):
        self.signer = signer
        # Okta keeps its own session: a login without ForceAuthn reports the
        # AuthnInstant of the person's first sign-in here (session_age seconds
        # before it, to model a long-lived Okta session); ForceAuthn asks
        # again. The two flags model an IdP that ignores ForceAuthn, and one
        # that cannot do the class an SP requests.
        self.session_age = session_age
        self.ignore_force_authn = ignore_force_authn
        self.weak_authn = weak_authn
        self.signed_in = {}  # login -> AuthnInstant of the IdP session
        self.requests = {}   # AuthnRequest ID -> parsed request, from /sso
        self.lock = threading.Lock()
        self.slo = slo
        self.sp_cert = sp_cert
        self.key_path = key_path
        # The SP's SingleLogoutService: its ACS path with /logout for /acs.
        self.sp_slo_url = acs_url.rsplit("/", 1)[0] + "/logout"
        self.logouts = []  # LogoutRequests received from the SP, for tests
        self.users = {u["login"]: u for u in users}
        self.app_id = app_id
        self.issuer = "http://www.okta.com/" + app_id
        self.sp_entity_id = sp_entity_id
        self.acs_url = acs_url
        self.session_seconds = session_seconds
        self.base = "/app/%s" % app_id

    def sso_url(self, host_header):
        return "http://%s%s/sso/saml" % (host_header, self.base)

    def response_form(self, login, request_id=None, relay_state=None):
        now = datetime.datetime.now(datetime.timezone.utc)
        session_end = None
        if self.session_seconds:
            session_end = now + datetime.timedelta(seconds=self.session_seconds)
        with self.lock:
            request = self.requests.pop(request_id, None) if request_id else None
            force = request and request.get("ForceAuthn") in ("true", "1")
            if login not in self.signed_in or (force and not self.ignore_force_authn):
                first = login not in self.signed_in
                self.signed_in[login] = now - datetime.timedelta(
                    seconds=self.session_age if first and not force else 0)
            authn_instant = self.signed_in[login]
        wanted = request and request.get("RequestedAuthnContext")
        xml = saml.build_response(
            signer=self.signer, user=self.users[login], issuer=self.issuer,
            sp_entity_id=self.sp_entity_id, acs_url=self.acs_url,
            in_response_to=request_id or None, now=now, session_not_on_or_after=session_end,
            authn_instant=authn_instant,
            authn_context=wanted[0] if wanted and not self.weak_authn else None)
        return saml.auto_post_form(self.acs_url, saml.b64(xml), relay_state or None)


class Handler(BaseHTTPRequestHandler):
    server_version = "flexsaml-test-idp"

    @property
    def idp(self):
        return self.server.idp

    def log_message(self, fmt, *args):
        sys.stderr.write("idp: %s %s\n" % (self.address_string(), fmt % args))

    def _send(self, code, body, ctype="text/plain; charset=utf-8"):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _html(self, page):
        self._send(200, page, "text/html; charset=utf-8")

    def _form(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("request body too large")
        body = self.rfile.read(length).decode("utf-8", "replace")
        return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}

    def _dispatch(self, params):
        path = urlsplit(self.path).path
        idp, post = self.idp, self.command == "POST"
        if path == "/health" and not post:
            return self._send(200, "ok\n")
        if path == idp.base + "/sso/saml/metadata" and not post:
            host = self.headers.get("Host", "127.0.0.1")
            xml = metadata_xml(idp.issuer, idp.sso_url(host), idp.signer.cert_b64(),
                               "http://%s%s/slo/saml" % (host, idp.base) if idp.slo else None)
            return self._send(200, xml, "application/xml; charset=utf-8")
        if path == idp.base + "/sso/saml":
            return self._sso(params)
        if path == "/login" and post:
            return self._login(params)
        if path == idp.base + "/init" and not post:
            return self._init(params)
        if idp.slo and path == idp.base + "/slo/saml" and not post:
            return self._slo(urlsplit(self.path).query)
        if idp.slo and path == idp.base + "/slo/init" and not post:
            url, _ = saml_logout.logout_request_url(idp.sp_slo_url, idp.issuer, params.get("name_id", ""),
                                                    params.get("session_index"), idp.key_path)
            return self._redirect(url)
        if idp.slo and path == idp.base + "/slo/log" and not post:
            return self._send(200, json.dumps(idp.logouts), "application/json")
        return self._send(404, "not found\n")

    def _redirect(self, url):
        self.send_response(302)
        self.send_header("Location", url)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _slo(self, query):
        """The SP's LogoutRequest: checked, recorded, answered with a signed LogoutResponse."""
        root, sig_ok = saml_logout.read_redirect(query, self.idp.sp_cert)
        ns = {"samlp": saml_logout.SAMLP, "saml": saml_logout.SAML}
        entry = {"id": root.get("ID"), "name_id": root.findtext("saml:NameID", namespaces=ns),
                 "session_index": root.findtext("samlp:SessionIndex", namespaces=ns),
                 "issuer": root.findtext("saml:Issuer", namespaces=ns), "signature_ok": sig_ok,
                 "destination": root.get("Destination")}
        entry["kind"] = etree.QName(root).localname
        self.idp.logouts.append(entry)
        if entry["kind"] == "LogoutResponse":  # the SP's answer to our own LogoutRequest
            return self._send(200 if sig_ok is not False else 400, "logged out\n")
        if sig_ok is False:
            return self._send(400, "LogoutRequest signature does not verify\n")
        self._redirect(saml_logout.logout_response_url(self.idp.sp_slo_url, self.idp.issuer, entry["id"],
                                                       self.idp.key_path))

    def _sso(self, params):
        if not params.get("SAMLRequest"):
            return self._send(400, "missing SAMLRequest\n")
        try:
            request = saml.parse_authn_request(params["SAMLRequest"])
        except ValueError as e:
            return self._send(400, "bad SAMLRequest: %s\n" % e)
        with self.idp.lock:
            self.idp.requests[request["ID"]] = request
        self._html(signin_page(self.idp.users.values(), request["ID"], params.get("RelayState", ""),
                               self.idp.sp_entity_id))

    def _login(self, params):
        login = params.get("user", "")
        if login not in self.idp.users:
            return self._send(400, "unknown user %r\n" % login)
        self._html(self.idp.response_form(login, params.get("request_id"), params.get("relay_state")))

    def _init(self, params):
        login = params.get("user")
        if not login:
            return self._html(signin_page(self.idp.users.values(), "", params.get("RelayState", ""),
                                          self.idp.sp_entity_id))
        if login not in self.idp.users:
            return self._send(400, "unknown user %r\n" % login)
        self._html(self.idp.response_form(login, None, params.get("RelayState")))

    def _handle(self, params_fn):
        try:
            self._dispatch(params_fn())
        except ValueError as e:
            self._send(400, "bad request: %s\n" % e)
        except Exception:  # a bug here must show, but must not kill the server
            traceback.print_exc(file=sys.stderr)
            self._send(500, "internal error\n")

    def do_GET(self):
        self._handle(lambda: {k: v[0] for k, v in parse_qs(urlsplit(self.path).query,
                                                             keep_blank_values=True).items()})

    def do_POST(self):
        self._handle(self._form)


def load_users(path):
    with open(path, encoding="utf-8") as f:
        users = json.load(f)
    if not isinstance(users, list) or not all(isinstance(u, dict) and u.get("login") for u in users):
        raise SystemExit("%s: expected a JSON list of objects with a login" % path)
    return users


def parse_args(argv):
    p = argparse.ArgumentParser(description="Okta-like SAML 2.0 test IdP")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--key", required=True, help="IdP private key (PEM)")
    p.add_argument("--cert", required=True, help="IdP certificate (PEM)")
    p.add_argument("--users", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "users.json"))
    p.add_argument("--app-id", default=saml.DEFAULT_APP_ID)
    p.add_argument("--sp-entity-id", required=True, help="the SP entity id (Audience)")
    p.add_argument("--acs-url", required=True, help="the SP ACS URL (Destination, Recipient)")
    p.add_argument("--slo", action="store_true", help="offer Single Logout (metadata + /slo endpoints)")
    p.add_argument("--sp-cert", default=None, help="the SP certificate, to verify its LogoutRequests")
    p.add_argument("--session-not-on-or-after-seconds", type=int, default=None,
                   help="add AuthnStatement SessionNotOnOrAfter = now + S")
    p.add_argument("--session-age", type=int, default=0,
                   help="a person's first sign-in reports an AuthnInstant S seconds old")
    p.add_argument("--ignore-force-authn", action="store_true",
                   help="answer ForceAuthn with the old AuthnInstant (a broken IdP)")
    p.add_argument("--weak-authn", action="store_true",
                   help="always answer PasswordProtectedTransport, whatever was requested")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    idp = Idp(saml.Signer(args.key, args.cert), load_users(args.users), args.app_id,
              args.sp_entity_id, args.acs_url, args.session_not_on_or_after_seconds,
              slo=args.slo, sp_cert=args.sp_cert, key_path=args.key, session_age=args.session_age,
              ignore_force_authn=args.ignore_force_authn, weak_authn=args.weak_authn)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.idp = idp
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), name="idp-http", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    sys.stderr.write("idp: %s listening on http://%s:%d%s/sso/saml\n" % (idp.issuer, host, port, idp.base))
    print("ready", flush=True)
    while not stop.wait(0.2):
        pass
    server.shutdown()
    server.server_close()
    sys.stderr.write("idp: stopped\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
