#!/usr/bin/python3
"""The demo portal: shows who mod_flexsaml says you are (all values HTML-escaped)."""
import html
import os


def esc(value):
    return html.escape(value or "", quote=True)


env = os.environ
name = env.get("FLEX_FULL_NAME", "")
email = env.get("FLEX_EMAIL", "")
roles = [r for r in env.get("FLEX_ROLES", "").split(",") if r]
image = env.get("FLEX_IMAGE_URL", "")
user = env.get("REMOTE_USER", "")

avatar = ""
if image.lower().startswith(("https://", "http://")):  # never a javascript: or data: URL
    avatar = '<img class="avatar" src="%s" alt="avatar of %s" width="64" height="64">' % (
        esc(image), esc(name))

rows = [("Name", esc(name)), ("Email", esc(email)), ("User (NameID)", esc(user)),
        ("Roles", ", ".join("<code>%s</code>" % esc(r) for r in roles) or "<em>none</em>"),
        ("Avatar URL", esc(image) or "<em>none</em>")]
flex = sorted((k, v) for k, v in env.items() if k.startswith("FLEX_"))

body = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Portal: %(name)s</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 46em; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; } td, th { padding: .3em .8em; border-bottom: 1px solid #ddd; text-align: left; }
.avatar { float: right; border-radius: 50%%; background: #eee; }
code { background: #f3f3f3; padding: 0 .2em; }
</style>
</head>
<body>
%(avatar)s
<h1>Welcome, %(name)s</h1>
<p>You are signed in through mod_flexsaml.</p>
<table>
%(rows)s
</table>
<h2>Environment from mod_flexsaml</h2>
<table>
%(flex)s
</table>
<p><a href="/">Home</a> &middot; <a href="/flexsaml/logout?ReturnTo=/">Sign out</a></p>
</body>
</html>
""" % {
    "name": esc(name) or esc(user),
    "avatar": avatar,
    "rows": "\n".join("<tr><th>%s</th><td>%s</td></tr>" % r for r in rows),
    "flex": "\n".join("<tr><th><code>%s</code></th><td>%s</td></tr>" % (esc(k), esc(v))
                      for k, v in flex),
}

out = body.encode("utf-8")
head = ("Content-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\n"
        "Content-Length: %d\r\n\r\n" % len(out)).encode("ascii")
os.write(1, head + out)
