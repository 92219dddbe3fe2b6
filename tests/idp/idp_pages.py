"""What the test IdP serves besides responses: its metadata and the sign-in page."""

import html

from saml_build import NAMEID_EMAIL, NAMEID_UNSPECIFIED

__all__ = ["metadata_xml", "signin_page"]

POST_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
REDIRECT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"


def _e(value):
    return html.escape(str(value), quote=True)


def metadata_xml(issuer, sso_url, cert_b64, slo_url=None):
    """IdP metadata shaped like Okta's (crewjam fixture): signing key, two NameID formats, POST + Redirect SSO."""
    return ("""<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="%(issuer)s">
<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:KeyDescriptor use="signing">
<ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
<ds:X509Data>
<ds:X509Certificate>%(cert)s</ds:X509Certificate>
</ds:X509Data>
</ds:KeyInfo>
</md:KeyDescriptor>
%(slo)s<md:NameIDFormat>%(unspec)s</md:NameIDFormat>
<md:NameIDFormat>%(email)s</md:NameIDFormat>
<md:SingleSignOnService Binding="%(post)s" Location="%(sso)s"/>
<md:SingleSignOnService Binding="%(redirect)s" Location="%(sso)s"/>
</md:IDPSSODescriptor>
</md:EntityDescriptor>
""" % {"issuer": _e(issuer), "cert": cert_b64, "unspec": NAMEID_UNSPECIFIED, "email": NAMEID_EMAIL,
       "post": POST_BINDING, "redirect": REDIRECT_BINDING, "sso": _e(sso_url),
       "slo": ('<md:SingleLogoutService Binding="%s" Location="%s"/>\n' % (REDIRECT_BINDING, _e(slo_url))
               if slo_url else "")}).encode("utf-8")


_CSS = """
*{box-sizing:border-box}
body{margin:0;min-height:100vh;background:#f3f5f8;color:#1d1d21;
 font:15px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:420px;margin:64px auto;background:#fff;border:1px solid #d7d8da;border-radius:6px;
 box-shadow:0 2px 8px rgba(0,0,0,.08);padding:32px 40px 28px}
.brand{text-align:center;font-weight:700;font-size:20px;letter-spacing:.02em;color:#1662dd;margin-bottom:8px}
h1{font-size:22px;font-weight:600;text-align:center;margin:8px 0 4px}
.hint{text-align:center;color:#6e6e78;font-size:13px;margin:0 0 24px;word-break:break-all}
form{margin:0 0 12px}
button{width:100%;text-align:left;cursor:pointer;background:#fff;border:1px solid #c1c1c8;border-radius:4px;
 padding:12px 14px;font:inherit;color:inherit;display:block}
button:hover,button:focus{border-color:#1662dd;box-shadow:0 0 0 2px rgba(22,98,221,.25);outline:none}
.name{display:block;font-weight:600}
.email{display:block;color:#4a4a55;font-size:13px}
.roles{display:inline-block;margin-top:6px;background:#e8f0fd;color:#1662dd;border-radius:10px;
 padding:1px 8px;font-size:12px}
footer{text-align:center;color:#8c8c96;font-size:12px;margin-top:20px}
"""


def signin_page(users, request_id="", relay_state="", audience=""):
    """The "Sign in" page: one form per person, each POSTing user/request_id/relay_state to /login."""
    people = []
    for u in users:
        people.append(
            '<form method="post" action="/login">\n'
            '<input type="hidden" name="request_id" value="%s"/>\n'
            '<input type="hidden" name="relay_state" value="%s"/>\n'
            '<input type="hidden" name="user" value="%s"/>\n'
            '<button type="submit"><span class="name">%s %s</span><span class="email">%s</span>'
            '<span class="roles">%s</span></button>\n</form>\n'
            % (_e(request_id or ""), _e(relay_state or ""), _e(u["login"]), _e(u.get("firstName", "")),
               _e(u.get("lastName", "")), _e(u.get("email", "")), _e(u.get("userType", ""))))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8"/>\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>\n'
        '<title>Sign in</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n'
        '<div class="brand">flexsaml test IdP</div>\n<h1>Sign in</h1>\n'
        '<p class="hint">Choose a person to continue%s</p>\n%s'
        '<footer>Demo people only. No passwords.</footer>\n</main>\n</body>\n</html>\n'
        % (_CSS, (" to " + _e(audience)) if audience else "", "".join(people)))
