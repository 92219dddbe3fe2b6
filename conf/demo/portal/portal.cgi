#!/usr/bin/python3
"""The demo portal's pages: /me/ (who you are), /agent/, /supervisor/, /admin/.

Apache decides who may open which page (`Require flex-role` in the demo's httpd.conf);
this script only shows the identity mod_flexsaml exports: FLEX_FULL_NAME, FLEX_EMAIL,
FLEX_ROLES, FLEX_IMAGE_URL, REMOTE_USER. Every value is HTML-escaped."""
import html
import os

# What each area needs: the same as the demo's <Location> blocks, used here only to
# mark in the menu what this person cannot open.
AREAS = [("agent", "Agent desk", {"agent"}), ("supervisor", "Supervisor", {"supervisor", "admin"}),
         ("admin", "Admin", {"admin"}), ("me", "Who am I", None)]
ROLE_CLASSES = {"agent", "supervisor", "admin"}


def esc(value):
    return html.escape(value or "", quote=True)


env = os.environ
name = env.get("FLEX_FULL_NAME", "") or env.get("REMOTE_USER", "")
email = env.get("FLEX_EMAIL", "")
roles = [r for r in env.get("FLEX_ROLES", "").split(",") if r]
image = env.get("FLEX_IMAGE_URL", "")
user = env.get("REMOTE_USER", "")
path = env.get("SCRIPT_NAME") or env.get("REQUEST_URI", "/me/").split("?")[0]
here = path.strip("/").split("/")[0] or "me"
if here not in {a[0] for a in AREAS}:
    here = "me"
host = env.get("HTTP_HOST") or "%s:%s" % (env.get("SERVER_NAME", "127.0.0.1"), env.get("SERVER_PORT", "80"))
base = "%s://%s" % ("https" if env.get("HTTPS") == "on" else "http", host)


def initials(n):
    parts = [p for p in n.replace("@", " ").replace(".", " ").split() if p[:1].isalpha()]
    return "".join(p[0].upper() for p in parts[:2]) or "?"


def avatar(size):
    img = ""
    if image.lower().startswith(("https://", "http://")):  # never a javascript: or data: URL
        img = '<img src="%s" alt="">' % esc(image)
    return '<span class="avatar %s" title="%s"><span>%s</span>%s</span>' % (
        size, esc(name), esc(initials(name)), img)


def chip(role):
    cls = role if role in ROLE_CLASSES else ""
    return '<span class="role %s">%s</span>' % (cls, esc(role))


def chips(rs):
    return "".join(chip(r) for r in rs) or '<span class="role">none</span>'


def can_open(need):
    return need is None or bool(need & set(roles))


def menu():
    links = []
    for key, label, need in AREAS:
        cls = ["here"] if key == here else []
        if not can_open(need):
            cls.append("locked")
        title = "" if can_open(need) else ' title="needs %s"' % esc(" or ".join(sorted(need)))
        links.append('<a class="%s" href="/%s/"%s>%s</a>' % (" ".join(cls), key, title, esc(label)))
    return "\n    ".join(links)


def page(title, crumb, body):
    return """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%(title)s &middot; Acme Support</title>
<link rel="stylesheet" href="/assets/portal.css">
</head>
<body>
<header class="top"><div class="in">
  <a class="brand" href="/"><span class="dot"></span>Acme Support<small>intranet</small></a>
  <nav class="areas">
    %(menu)s
  </nav>
  <div class="who">%(avatar)s<span class="name" id="who">%(name)s</span>
    <a class="btn ghost" id="logout" href="/flexsaml/logout?ReturnTo=/">Sign out</a></div>
</div></header>
<main>
<div class="crumb">%(crumb)s</div>
%(body)s
</main>
<footer>Signed in through mod_flexsaml as <strong>%(name)s</strong> (%(email)s) with the roles
%(roles)s. <a href="/flexsaml/logout?ReturnTo=/">Sign out</a></footer>
</body>
</html>
""" % {"title": esc(title), "crumb": esc(crumb), "body": body, "menu": menu(), "avatar": avatar("s"),
       "name": esc(name), "email": esc(email) or "no email", "roles": esc(", ".join(roles)) or "none"}


def table(head, rows):
    return "<table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>" % (
        "".join("<th>%s</th>" % h for h in head),
        "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % c for c in r) for r in rows))


def me():
    flex = sorted((k, v) for k, v in env.items()
                  if k.startswith("FLEX_") or k in ("REMOTE_USER", "AUTH_TYPE"))
    opens = "".join('<li><a href="/%s/">%s</a>%s</li>' % (
        k, esc(label), "" if can_open(need) else ' <span class="note">(needs %s)</span>'
        % esc(" or ".join(sorted(need)))) for k, label, need in AREAS if k != "me")
    body = """
<div class="profile card">
  %(avatar)s
  <div>
    <h1 id="full-name">%(name)s</h1>
    <div class="email" id="email">%(email)s</div>
    <div id="roles">%(chips)s</div>
  </div>
</div>
<div class="cols">
  <div class="card"><h2>Your identity</h2>
    <table><tbody>
      <tr><th class="k">Name</th><td>%(name)s</td></tr>
      <tr><th class="k">Email</th><td>%(email)s</td></tr>
      <tr><th class="k">Roles</th><td>%(chips)s</td></tr>
      <tr><th class="k">Avatar (image_url)</th><td>%(image)s</td></tr>
      <tr><th class="k">User (NameID)</th><td><code>%(user)s</code></td></tr>
    </tbody></table>
    <h2 style="margin-top:22px">Areas</h2><ul>%(opens)s</ul>
  </div>
  <div class="card"><h2>What Apache passes to applications</h2>
    <table><tbody>%(flex)s</tbody></table>
    <p class="note">mod_flexsaml exports these to CGI, PHP and proxied applications
      (as <code>X-Flex-*</code> headers with <code>FlexSAMLPassClaimsAs headers</code>).</p>
  </div>
</div>""" % {
        "avatar": avatar("l"), "name": esc(name), "email": esc(email), "chips": chips(roles),
        "image": ('<a href="%s">%s</a>' % (esc(image), esc(image))) if image else '<span class="note">none sent</span>',
        "user": esc(user), "opens": opens,
        "flex": "".join('<tr><th class="k"><code>%s</code></th><td>%s</td></tr>' % (esc(k), esc(v))
                        for k, v in flex)}
    return page("Who am I", "Who am I", body)


def agent():
    rows = [("#4812", "Voice", "Refund for order 10-4471", "2 min"),
            ("#4815", "Chat", "Cannot sign in to the app", "4 min"),
            ("#4819", "SMS", "Delivery window change", "7 min")]
    body = """<h1>Agent desk</h1>
<p class="lead">Signed in as <strong id="area-name">%s</strong>. Your queue for today.</p>
<div class="card">%s</div>""" % (esc(name), table(
        ["Task", "Channel", "Subject", "Waiting"], [tuple(esc(c) for c in r) for r in rows]))
    return page("Agent desk", "Agent desk", body)


def supervisor():
    team = [("Alice Agent", "available", "Voice, Chat", "14"), ("Wendy Wfo", "busy", "Chat", "11"),
            ("Bob Builder", "busy", "Voice", "9"), ("Carla Costa", "offline", "SMS", "0")]
    rows = [(esc(n), '<span class="status %s"></span>%s' % (s, s.capitalize()), esc(c), esc(h))
            for n, s, c, h in team]
    body = """<h1>Supervisor</h1>
<p class="lead">Signed in as <strong id="area-name">%s</strong>. Your team right now.</p>
<div class="cols">
  <div class="card"><h2>Team</h2>%s</div>
  <div class="card"><h2>Queues</h2>%s
    <p class="note">This page is open to <code>Require flex-role supervisor admin</code>.</p></div>
</div>""" % (esc(name), table(["Agent", "Status", "Channels", "Handled"], rows), table(
        ["Queue", "Waiting", "Longest"], [("Voice", "3", "2:10"), ("Chat", "5", "4:02"), ("SMS", "1", "0:40")]))
    return page("Supervisor", "Supervisor", body)


def admin():
    sp = [("SP entity ID (Audience URI)", "<code>%s/flexsaml/metadata</code>" % esc(base)),
          ("Single sign-on URL (ACS)", "<code>%s/flexsaml/acs</code>" % esc(base)),
          ("SP metadata", '<a href="/flexsaml/metadata">/flexsaml/metadata</a>')]
    areas = [("<code>/agent/</code>", chip("agent")), ("<code>/supervisor/</code>", chip("supervisor") + chip("admin")),
             ("<code>/admin/</code>", chip("admin")), ("<code>/me/</code>", "any signed-in person")]
    body = """<h1>Admin</h1>
<p class="lead">Signed in as <strong id="area-name">%s</strong>. Single sign-on and who opens what.</p>
<div class="cols">
  <div class="card"><h2>Okta SAML app</h2><table><tbody>%s</tbody></table></div>
  <div class="card"><h2>Areas and roles</h2>%s</div>
</div>""" % (esc(name), "".join('<tr><th class="k">%s</th><td>%s</td></tr>' % r for r in sp),
             table(["Area", "Require flex-role"], areas))
    return page("Admin", "Admin", body)


out = {"me": me, "agent": agent, "supervisor": supervisor, "admin": admin}[here]().encode("utf-8")
head = ("Content-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\n"
        "Content-Length: %d\r\n\r\n" % len(out)).encode("ascii")
os.write(1, head + out)
