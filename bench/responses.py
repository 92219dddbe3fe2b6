"""Fresh signed Okta-shaped responses from the test IdP's library, made in a
few worker processes (signing is the slow part), and the request files that
bench/httpload posts."""
import json
import multiprocessing
import os
import signal
import urllib.parse

from servers import harness, saml

USERS = json.load(open(os.path.join(harness.IDP_DIR, "users.json")))
AGENTS = [u for u in USERS if "agent" in u["userType"].split(",")]


class CachedKeySigner(saml.Signer):
    """The test IdP's Signer, with the private key parsed once per process
    instead of once per signature (the signatures are the same)."""
    _key = None

    def rsa_key(self):
        if self._key is None:
            self._key = saml.Signer.rsa_key(self)
        return self._key


_signer = None


def _init(key, cert):
    global _signer
    # The runner turns SIGTERM into KeyboardInterrupt; a worker just ends (Pool.terminate).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _signer = CachedKeySigner(key, cert)


def _make(job):
    args, users, start, n = job
    out = []
    for i in range(start, start + n):
        xml = saml.build_response(signer=_signer, user=users[i % len(users)], **args)
        out.append(saml.b64(xml))
    return out


class Factory:
    """Makes responses in `workers` processes; use as a context manager."""

    def __init__(self, key, cert, workers=2):
        self.key, self.cert, self.workers = key, cert, workers
        self.pool = None

    def __enter__(self):
        self.pool = multiprocessing.get_context("fork").Pool(self.workers, _init, (self.key, self.cert))
        return self

    def __exit__(self, *exc):
        self.pool.terminate()
        self.pool.join()

    def make(self, server, n, users=None):
        """n distinct signed responses (base64) for `server`, users taken in turn."""
        users = users or USERS
        chunk = max(50, min(2000, n // (self.workers * 4) or 1))
        jobs = [(server.response_args(), users, s, min(chunk, n - s)) for s in range(0, n, chunk)]
        out = []
        for part in self.pool.imap(_make, jobs):
            out.extend(part)
        return out


def acs_request(server, b64):
    body = "SAMLResponse=" + urllib.parse.quote(b64, safe="")
    return ("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: flexsaml-bench\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s"
            % (server.acs_path, server.port, len(body), body)).encode("ascii")


def write_requests(path, server, responses):
    """The httpload input: "<length>\\n<request>" for each response."""
    with open(path, "wb") as f:
        for b64 in responses:
            req = acs_request(server, b64)
            f.write(b"%d\n" % len(req))
            f.write(req)
    return path


def write_lines(path, lines):
    with open(path, "w") as f:
        for line in lines:
            f.write(line + "\n")
    return path
