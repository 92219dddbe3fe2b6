"""Replay across a farm: the same response posted at once to two Apaches sharing the replay
cache (redis://, redis-sentinel://, memcached) and to many threads of one server. Exactly one
login may succeed: SET NX (redis) and add (memcached) are atomic on the server."""
import threading

import pytest
import requests

from harness import saml
from test_farm import memcache_pair, redis, redis_pair, response  # noqa: F401  (fixtures)
from test_redis import sentinel_pair  # noqa: F401  (fixture)

pytestmark = pytest.mark.skipif(__import__("shutil").which("redis-server") is None,
                                reason="redis-server and memcached are installed by scripts/install-deps")


def race(nodes, body, per_node=8):
    results = []
    barrier = threading.Barrier(len(nodes) * per_node)

    def post(node):
        s = requests.Session()
        barrier.wait()
        r = s.post(node.url + "/flexsaml/acs", data={"SAMLResponse": body}, allow_redirects=False, timeout=30)
        results.append(r.status_code)

    threads = [threading.Thread(target=post, args=(n,)) for n in nodes for _ in range(per_node)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(results)


@pytest.mark.parametrize("pair", ["redis_pair", "memcache_pair"])
def test_concurrent_replay_on_one_server_wins_once(request, keys, pair):
    a, _ = request.getfixturevalue(pair)
    wins = []
    for _ in range(10):
        codes = race((a,), saml.b64(response(keys, "alice")), per_node=16)
        wins.append(codes.count(303))
    assert wins == [1] * 10, wins


@pytest.mark.parametrize("pair", ["redis_pair", "sentinel_pair", "memcache_pair"])
def test_concurrent_replay_across_two_servers_wins_once(request, keys, pair):
    a, b = request.getfixturevalue(pair)
    wins = []
    for _ in range(10):
        codes = race((a, b), saml.b64(response(keys, "alice")), per_node=16)
        wins.append(codes.count(303))
        assert set(codes) <= {303, 400}, codes
    assert wins == [1] * 10, wins


def test_sequential_replay_across_two_servers_is_refused(request, keys, redis_pair):
    a, b = redis_pair
    body = saml.b64(response(keys, "alice"))
    assert requests.post(a.url + "/flexsaml/acs", data={"SAMLResponse": body}, allow_redirects=False).status_code == 303
    r = requests.post(b.url + "/flexsaml/acs", data={"SAMLResponse": body}, allow_redirects=False)
    assert r.status_code == 400 and "Reason: <code>replayed</code>" in r.text
