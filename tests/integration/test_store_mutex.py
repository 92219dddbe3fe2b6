"""The session store's mutexes: process-shared pthread mutexes unless a Mutex
directive names flexsaml-cache. The harness's base config has "Mutex
file:... default", which httpd would otherwise apply to them too, turning
every session check into two fcntl calls. A shmcb store is split into
stripes of at least 2 MiB (up to 16), each with its own mutex; a file
mechanism makes that one lock file per stripe, which is how the tests below
count them. lmdb, the default store, takes no mutex of ours: these tests
name shmcb."""
import os
import subprocess

import pytest

from conftest import Site


def children(site):
    out = subprocess.run(["pgrep", "-P", str(site.apache.proc.pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def open_files(pid):
    d = "/proc/%d/fd" % pid
    names = []
    for fd in os.listdir(d):
        try:
            names.append(os.readlink(os.path.join(d, fd)))
        except OSError:
            pass
    return names


def lock_files(site):
    return [n for pid in children(site) for n in open_files(pid) if "flexsaml-cache" in n]


def protected_gets(site, n=20):
    s, r = site.login(user="sam")
    assert r.status_code == 303
    for _ in range(n):
        assert s.get(site.base + "/protected/", allow_redirects=False).status_code == 200


def test_a_default_mutex_line_does_not_make_it_a_file_lock(keys):
    site = Site(keys, "FlexSAMLSessionCache shmcb\n", name="mutex-default").start()
    try:
        assert "Mutex file:" in open(site.apache.conf_path).read()
        protected_gets(site)
        assert children(site)
        assert lock_files(site) == []
    finally:
        site.stop()


@pytest.mark.parametrize("cache,stripes", [
    ("shmcb", 16),                            # shmcb's default here, 32 MiB
    ("shmcb:{root}/run/c(8388608)", 4),
    ("shmcb:{root}/run/c(3145728)", 1),       # two stripes would be under 2 MiB each
    ("shmcb:{root}/run/c", 1),                # shmcb's own default size, 512 KiB
])
def test_a_mutex_directive_naming_it_is_obeyed(keys, cache, stripes):
    conf = "Mutex file:{root}/locks flexsaml-cache\n"
    if cache:
        conf += 'FlexSAMLSessionCache "%s"\n' % cache
    site = Site(keys, conf, name="mutex-file")
    locks = os.path.join(site.apache.root, "locks")
    os.makedirs(locks, mode=0o755)
    site.start()
    try:
        protected_gets(site)
        files = lock_files(site)
        assert files and all(f.startswith(locks) for f in files), files
        # (mod_cgid's daemon, also a child, holds none)
        per_child = [len({f for f in open_files(pid) if "flexsaml-cache" in f}) for pid in children(site)]
        assert set(per_child) - {0} == {stripes}, per_child
    finally:
        site.stop()


def test_an_unknown_mechanism_fails_the_config_test(keys):
    site = Site(keys, "Mutex bogus flexsaml-cache\n", name="mutex-bogus")
    try:
        r = site.apache.configtest()
        assert r.returncode != 0
        assert "bogus" in (r.stdout + r.stderr)
    finally:
        site.apache.cleanup()
        site.idp.stop()
