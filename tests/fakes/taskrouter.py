"""A stateful fake of Twilio TaskRouter v1 Workers on 127.0.0.1, written from
docs/taskrouter.md (the TaskRouter contract): Workspaces with Workers; list by FriendlyName
(case-insensitive, `attributes` null in lists, paging with PageToken); fetch
with an ETag; create; update with If-Match (412 on a stale ETag); form-encoded
bodies only (415 otherwise); HTTP Basic auth (401 on wrong credentials);
Twilio's error body {code, message, more_info, status}.

Tests drive it directly (it runs in the test process, in a thread) and inject
faults: fail the next N calls with 500 or 429 (with or without Retry-After),
delay responses, drop connections, change a Worker between the module's fetch
and its update. Every request is recorded for the assertions and for the
conformance check against Twilio's OpenAPI spec (conformance_errors).

Run alone for a demo: python3 tests/fakes/taskrouter.py --port 8089
"""
import base64
import hashlib
import itertools
import json
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

ACCOUNT = "AC" + "a" * 32
USER = "SK" + "0123456789abcdef" * 2
SECRET = "fake-taskrouter-secret-never-logged"
PREFIX = re.compile(r"^/v1/Workspaces/([^/]+)/Workers(?:/([^/]+))?$")
SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")
FORM = "application/x-www-form-urlencoded"
CREATE_FIELDS = {"FriendlyName", "Attributes", "ActivitySid"}
UPDATE_FIELDS = {"Attributes", "FriendlyName", "ActivitySid", "RejectPendingReservations"}
LIST_QUERY = {"ActivityName", "ActivitySid", "Available", "FriendlyName", "TargetWorkersExpression",
              "TaskQueueName", "TaskQueueSid", "Ordering", "PageSize", "Page", "PageToken"}


def _sid(prefix, n):
    return prefix + hashlib.md5(("%s%d" % (prefix, n)).encode()).hexdigest()


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Fault:
    def __init__(self, kind, count, status=500, retry_after=None, seconds=0.0, match=None):
        self.kind, self.count, self.status = kind, count, status
        self.retry_after, self.seconds, self.match = retry_after, seconds, match


class FakeTaskRouter:
    def __init__(self, user=USER, secret=SECRET, port=0):
        self.user, self.secret = user, secret
        self.lock = threading.RLock()
        self.cancel = threading.Event()  # cuts delays short when the test is done
        self.workspaces = {}              # WS sid -> {WK sid: worker}
        self.requests = []
        self.faults = []
        self.after_fetch = {}             # (ws, lower name) -> fn(attrs) -> attrs
        self._ids = itertools.count(1)
        self._rev = itertools.count(1)
        fake = self

        class Handler(_Handler):
            pass
        Handler.fake = fake
        self.server = _Server(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.cancel.set()
        self.server.shutdown()
        self.server.server_close()

    # ---- state ----
    def add_workspace(self):
        with self.lock:
            sid = _sid("WS", next(self._ids))
            self.workspaces[sid] = {}
            return sid

    def add_worker(self, ws, name, attributes=None):
        with self.lock:
            return self._create(ws, name, json.dumps(attributes if attributes is not None else {}))["sid"]

    def _create(self, ws, name, attributes):
        sid = _sid("WK", next(self._ids))
        now = _now()
        w = {"sid": sid, "account_sid": ACCOUNT, "workspace_sid": ws, "friendly_name": name,
             "attributes": attributes, "activity_sid": _sid("WA", 0), "activity_name": "Offline",
             "available": False, "date_created": now, "date_updated": now, "date_status_changed": now,
             "url": "https://taskrouter.twilio.com/v1/Workspaces/%s/Workers/%s" % (ws, sid),
             "links": {}, "_etag": self._etag()}
        self.workspaces[ws][sid] = w
        return w

    def _etag(self):
        return '"%s"' % hashlib.sha1(str(next(self._rev)).encode()).hexdigest()[:16]

    def _find(self, ws, name):
        for w in self.workspaces.get(ws, {}).values():
            if w["friendly_name"].lower() == name.lower():
                return w
        return None

    def worker(self, ws, name):
        """The Worker named name (case-insensitive) with attributes parsed, or None."""
        with self.lock:
            w = self._find(ws, name)
            if w is None:
                return None
            d = {k: v for k, v in w.items() if not k.startswith("_")}
            d["attributes"] = json.loads(w["attributes"] or "{}")
            d["etag"] = w["_etag"]
            return d

    def workers(self, ws):
        with self.lock:
            return [self.worker(ws, w["friendly_name"]) for w in self.workspaces.get(ws, {}).values()]

    def set_attributes(self, ws, name, attributes):
        """A change made behind the module's back (Console, another system)."""
        with self.lock:
            w = self._find(ws, name)
            w["attributes"] = json.dumps(attributes)
            w["_etag"] = self._etag()
            w["date_updated"] = _now()

    def delete_worker(self, ws, name):
        with self.lock:
            w = self._find(ws, name)
            del self.workspaces[ws][w["sid"]]

    def change_after_fetch(self, ws, name, fn):
        """After the next fetch of this Worker has been answered, fn(attrs)
        rewrites its attributes, so the module's update carries a stale ETag;
        when fn returns None the Worker is deleted instead."""
        with self.lock:
            self.after_fetch[(ws, name.lower())] = fn

    # ---- faults ----
    def fail_next(self, count, status=500, retry_after=None, match=None):
        with self.lock:
            self.faults.append(Fault("fail", count, status=status, retry_after=retry_after, match=match))

    def delay(self, seconds, count=None, match=None):
        """Delays the next count responses (all of them while count is None)."""
        with self.lock:
            self.faults.append(Fault("delay", count, seconds=seconds, match=match))

    def drop_next(self, count, match=None):
        with self.lock:
            self.faults.append(Fault("drop", count, match=match))

    def clear_faults(self):
        with self.lock:
            self.faults = []
        self.cancel.set()
        self.cancel = threading.Event()

    def _take_fault(self, method, path):
        with self.lock:
            for f in self.faults:
                if f.match and not re.search(f.match, method + " " + path):
                    continue
                if f.count is not None:
                    f.count -= 1
                    if f.count <= 0:
                        self.faults.remove(f)
                return f
        return None

    # ---- the request log ----
    def calls(self, method=None, ws=None):
        with self.lock:
            return [r for r in self.requests
                    if (method is None or r["method"] == method) and (ws is None or ws in r["path"])]

    def clear_log(self):
        with self.lock:
            self.requests = []


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A delayed answer to a client that gave up (timeout) meets a closed
        # socket: expected under fault injection, not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle and the
    # client's delayed ACK add 40 ms to every answer on a kept-alive connection.
    disable_nagle_algorithm = True
    fake = None  # set per server

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_DELETE(self):
        self._handle("DELETE")

    def do_PUT(self):
        self._handle("PUT")

    def _send(self, status, body=None, etag=None, extra=()):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if etag:
            self.send_header("ETag", etag)
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.rec["status"] = status

    def _error(self, status, code, message, extra=()):
        self._send(status, {"code": code, "message": message,
                            "more_info": "https://www.twilio.com/docs/errors/%d" % code,
                            "status": status}, extra=extra)

    def _handle(self, method):
        fake = self.fake
        u = urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        self.rec = {"method": method, "path": u.path, "query": parse_qs(u.query, keep_blank_values=True),
                    "content_type": ctype or None, "if_match": self.headers.get("If-Match"),
                    "form": parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True) if raw else {},
                    "raw": raw, "auth_ok": False, "status": None, "t": time.time()}
        with fake.lock:
            fake.requests.append(self.rec)

        fault = fake._take_fault(method, u.path)
        if fault and fault.kind == "drop":
            self.rec["status"] = "dropped"
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if fault and fault.kind == "delay":
            fake.cancel.wait(fault.seconds)
        if fault and fault.kind == "fail":
            extra = [("Retry-After", str(fault.retry_after))] if fault.retry_after is not None else []
            if fault.status == 429:
                return self._error(429, 20429, "Too Many Requests", extra)
            return self._error(fault.status, 20500, "Internal Server Error", extra)

        auth = self.headers.get("Authorization", "")
        want = "Basic " + base64.b64encode(("%s:%s" % (fake.user, fake.secret)).encode()).decode()
        if auth != want:
            return self._error(401, 20003, "Authenticate")
        self.rec["auth_ok"] = True

        m = PREFIX.match(u.path)
        if not m or m.group(1) not in fake.workspaces:
            return self._error(404, 20404, "The requested resource %s was not found" % u.path)
        ws, wk = m.group(1), m.group(2)
        if method == "POST" and ctype != FORM:
            return self._error(415, 19056, "Unsupported Media Type: send %s" % FORM)
        form = {k: v[-1] for k, v in self.rec["form"].items()}
        with fake.lock:
            if wk is None and method == "GET":
                return self._list(ws, {k: v[-1] for k, v in self.rec["query"].items()})
            if wk is None and method == "POST":
                return self._create(ws, form)
            w = fake.workspaces[ws].get(wk)
            if w is None:
                return self._error(404, 20404, "The requested resource %s was not found" % u.path)
            if method == "GET":
                return self._fetch(ws, w)
            if method == "POST":
                return self._update(ws, w, form)
            if method == "DELETE":
                del fake.workspaces[ws][wk]
                return self._send(204)
        return self._error(405, 20004, "Method not allowed")

    def _public(self, w, attributes=True):
        d = {k: v for k, v in w.items() if not k.startswith("_")}
        if not attributes:
            d["attributes"] = None  # the spec: only single-resource reads show it
        return d

    def _list(self, ws, q):
        unknown = set(q) - LIST_QUERY
        if unknown:
            return self._error(400, 20001, "Unknown parameter %s" % sorted(unknown)[0])
        try:
            size = int(q.get("PageSize", "50"))
            start = int(q.get("PageToken", "PT0")[2:])
        except ValueError:
            return self._error(400, 20001, "Invalid PageSize or PageToken")
        if not 1 <= size <= 1000:
            return self._error(400, 20001, "PageSize must be between 1 and 1000")
        ws_workers = list(self.fake.workspaces[ws].values())
        if "FriendlyName" in q:
            ws_workers = [w for w in ws_workers if w["friendly_name"].lower() == q["FriendlyName"].lower()]
        page = ws_workers[start:start + size]
        base = "http://127.0.0.1:%d/v1/Workspaces/%s/Workers" % (self.fake.port, ws)
        keep = {k: v for k, v in q.items() if k not in ("PageToken", "Page")}
        nxt = None
        if start + size < len(ws_workers):
            nxt = base + "?" + urlencode(dict(keep, Page=start // size + 1, PageToken="PT%d" % (start + size)))
        self._send(200, {"workers": [self._public(w, False) for w in page],
                         "meta": {"page": start // size, "page_size": size, "first_page_url": base,
                                  "previous_page_url": None, "next_page_url": nxt,
                                  "url": base + "?" + urlencode(q), "key": "workers"}})

    def _attributes(self, form):
        a = form.get("Attributes", "{}")
        try:
            json.loads(a)
        except ValueError:
            return None
        return a

    def _create(self, ws, form):
        unknown = set(form) - CREATE_FIELDS
        if unknown:
            return self._error(400, 20001, "Unknown parameter %s" % sorted(unknown)[0])
        name = form.get("FriendlyName")
        if not name or len(name) > 64:
            return self._error(400, 20001, "FriendlyName is required and at most 64 characters")
        if self.fake._find(ws, name):
            # Names are unique per Workspace; Twilio's exact answer is not
            # documented (docs/taskrouter.md, One attempt), a 400 is the assumption.
            return self._error(400, 20001, "A Worker with FriendlyName %s already exists" % name)
        attrs = self._attributes(form)
        if attrs is None:
            return self._error(400, 20001, "Attributes must be valid JSON")
        w = self.fake._create(ws, name, attrs)
        self._send(201, self._public(w), etag=w["_etag"])

    def _fetch(self, ws, w):
        self._send(200, self._public(w), etag=w["_etag"])
        fn = self.fake.after_fetch.pop((ws, w["friendly_name"].lower()), None)
        if fn:
            new = fn(json.loads(w["attributes"] or "{}"))
            if new is None:
                del self.fake.workspaces[ws][w["sid"]]
            else:
                w["attributes"] = json.dumps(new)
                w["_etag"] = self.fake._etag()

    def _update(self, ws, w, form):
        unknown = set(form) - UPDATE_FIELDS
        if unknown:
            return self._error(400, 20001, "Unknown parameter %s" % sorted(unknown)[0])
        im = self.headers.get("If-Match")
        if im is not None and im != w["_etag"]:
            return self._error(412, 20412, "Precondition Failed: the ETag does not match")
        if "Attributes" in form:
            attrs = self._attributes(form)
            if attrs is None:
                return self._error(400, 20001, "Attributes must be valid JSON")
            w["attributes"] = attrs
        if "FriendlyName" in form:
            w["friendly_name"] = form["FriendlyName"]
        w["_etag"] = self.fake._etag()
        w["date_updated"] = _now()
        self._send(200, self._public(w), etag=w["_etag"])


# ---- conformance with Twilio's OpenAPI spec ----

def _operations(spec):
    ops = []
    for path, item in spec["paths"].items():
        rx = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")
        for method, op in item.items():
            if method in ("get", "post", "delete", "put", "patch"):
                ops.append((rx, method.upper(), op, path))
    return ops


def conformance_errors(requests, spec):
    """Each request must be an operation of the spec: path and method, query
    and header parameter names, path parameter patterns, and for a body its
    content type, form field names and required fields."""
    ops = _operations(spec)
    errors = []
    for r in requests:
        found = [(rx.match(r["path"]), op, path) for rx, m, op, path in ops if m == r["method"] and rx.match(r["path"])]
        if not found:
            errors.append("%s %s: no such operation" % (r["method"], r["path"]))
            continue
        match, op, path = found[0]
        what = "%s %s (%s)" % (r["method"], path, op.get("operationId"))
        params = op.get("parameters", [])
        by_in = {}
        for p in params:
            by_in.setdefault(p["in"], {})[p["name"]] = p
        for name, value in match.groupdict().items():
            pat = by_in.get("path", {}).get(name, {}).get("schema", {}).get("pattern")
            if pat and not re.match(pat, value):
                errors.append("%s: path parameter %s=%s does not match %s" % (what, name, value, pat))
        for q in r["query"]:
            if q not in by_in.get("query", {}):
                errors.append("%s: query parameter %s is not in the spec" % (what, q))
        if r["if_match"] is not None and "If-Match" not in by_in.get("header", {}):
            errors.append("%s: If-Match is not a parameter of this operation" % what)
        body = op.get("requestBody")
        if r["raw"]:
            if not body:
                errors.append("%s: sends a body the operation does not take" % what)
                continue
            content = body.get("content", {})
            if r["content_type"] not in content:
                errors.append("%s: content type %s, the spec takes %s" % (what, r["content_type"], list(content)))
                continue
            schema = content[r["content_type"]].get("schema", {})
            props = schema.get("properties", {})
            for f in r["form"]:
                if f not in props:
                    errors.append("%s: form field %s is not in the spec" % (what, f))
            for f in schema.get("required", []):
                if f not in r["form"]:
                    errors.append("%s: required form field %s is missing" % (what, f))
        elif body and body.get("required"):
            errors.append("%s: the operation requires a body" % what)
    return errors


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--user", default=USER)
    ap.add_argument("--secret", default=SECRET)
    a = ap.parse_args()
    f = FakeTaskRouter(a.user, a.secret, a.port)
    print("fake TaskRouter on %s, Workspace %s, credentials %s:<secret>" % (f.url, f.add_workspace(), a.user),
          flush=True)
    f.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        f.stop()
