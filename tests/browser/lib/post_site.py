#!/usr/bin/python3
"""A private Apache + test IdP for preserve_post.test.js: sessions of 3
seconds (so one ends while the person types), a protected form page and a
CGI that echoes what reaches it. Prints one JSON line {"base": ...} when
ready and stops both servers when its stdin closes."""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))

import conftest  # noqa: E402
from conftest import Site  # noqa: E402

FORM = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Case notes</title></head>
<body><h1>Case notes</h1>
<form method="post" action="/protected/echo.cgi?case=42" enctype="multipart/form-data">
<label>Summary <input name="summary"></label>
<label>Notes <textarea name="notes"></textarea></label>
<label>Recording <input type="file" name="recording"></label>
<button type="submit">Save</button>
</form>
<form method="post" action="/protected/echo.cgi?case=43">
<label>Disposition <input name="disposition"></label>
<button type="submit">Close case</button>
</form></body></html>
"""
ECHO = r"""#!/usr/bin/python3
import hashlib, html, os, sys
body = sys.stdin.buffer.read(int(os.environ.get("CONTENT_LENGTH") or 0))
sys.stdout.write("Content-Type: text/html; charset=utf-8\n\n<!DOCTYPE html><title>Saved</title><pre id=echo>")
sys.stdout.write(html.escape("method=%s\ntype=%s\nsha256=%s\nlength=%d\nuser=%s\n" % (
    os.environ["REQUEST_METHOD"], os.environ.get("CONTENT_TYPE", ""),
    hashlib.sha256(body).hexdigest(), len(body), os.environ.get("REMOTE_USER", ""))))
if len(body) < 2000:
    sys.stdout.write(html.escape("body=%s\n" % body.decode("utf-8", "replace")))
if os.environ.get("CONTENT_TYPE", "").startswith("multipart/form-data"):
    from email.parser import BytesParser
    from email.policy import HTTP
    msg = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + os.environ["CONTENT_TYPE"].encode() + b"\r\n\r\n" + body)
    for part in msg.iter_parts():
        data = part.get_payload(decode=True)
        name = part.get_param("name", header="content-disposition")
        if part.get_filename():
            sys.stdout.write(html.escape("part.%s=%s %s %d\n" % (
                name, part.get_filename(), hashlib.sha256(data).hexdigest(), len(data))))
        else:
            sys.stdout.write(html.escape("part.%s=%s\n" % (
                name, data.decode("utf-8").replace("\r\n", "\\n"))))
sys.stdout.write("</pre>")
"""


def main():
    site = Site(conftest.keys.__wrapped__(), "FlexSAMLSessionLifetime 3s\n", name="browser-post",
                extra_files={"htdocs/protected/form.html": FORM})
    site.apache.write("htdocs/protected/echo.cgi", ECHO, 0o755)
    site.start()
    try:
        print(json.dumps({"base": site.base, "log": os.path.join(site.apache.root, "logs",
                                                                  "error.log")}), flush=True)
        sys.stdin.read()
    finally:
        site.stop()


if __name__ == "__main__":
    main()
