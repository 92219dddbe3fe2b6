"""A FlexSAML site with a person named "José Müller 李" signed in, for
charset.test.js: prints {"url", "cookie_name", "cookie"} as one JSON line,
then serves until stdin closes."""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))

import conftest  # noqa: E402
from conftest import USER, Site  # noqa: E402

ADMIN_ONLY = """
<Location /admin>
    AuthType FlexSAML
    Require flex-role admin
</Location>
"""


def main():
    keys = conftest.keys.__wrapped__()
    site = Site(keys, ADMIN_ONLY, name="utf8",
                extra_files={"htdocs/admin/index.html": "<h1>admin</h1>\n"}).start()
    try:
        person = dict(USER["alice"], firstName="José", lastName="Müller 李")
        r = site.post(site.response(person))
        assert r.status_code == 303, r.text[:300]
        name, value = next(iter(r.cookies.items()))
        print(json.dumps({"url": site.base + "/admin/", "cookie_name": name, "cookie": value,
                          "acs": site.acs}), flush=True)
        sys.stdin.read()
    finally:
        site.stop()


if __name__ == "__main__":
    main()
