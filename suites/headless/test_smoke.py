"""Smoke: the site is up and serves every fixture repository, with the right history."""

import pytest

from hgharness import hg

pytestmark = [pytest.mark.smoke, pytest.mark.headless, pytest.mark.nondestructive]


def test_index_lists_every_repository(target, http, fixture_repos):
    r = http.get(target.url_for(target.site.route("index")), timeout=30)
    assert r.status_code == 200, f"index: HTTP {r.status_code}"
    missing = [name for name in fixture_repos if name not in r.text]
    assert not missing, f"index does not list {missing}"


@pytest.mark.parametrize("kind", ["summary", "log", "shortlog", "graph", "tags", "branches"])
def test_repository_pages_show_tip(target, http, checked_repos, kind):
    if kind not in target.site.ROUTES:  # e.g. Kallithea has no tags/branches pages
        pytest.skip(f"site {target.site_name!r} has no page kind {kind!r}")
    for name, path in checked_repos.items():  # not the push repository: its tip moves during the run
        served = hg.open_repo(path).filtered(b"served")  # a secret changeset is not served
        tip = served[b"tip"].hex().decode()
        r = http.get(target.url_for(target.site.route(kind, name)), timeout=30)
        assert r.status_code == 200, f"{kind} of {name}: HTTP {r.status_code}"
        if kind in ("summary", "log", "shortlog", "graph", "tags") and len(served):  # an empty one has no tip
            assert tip[:12] in r.text, f"{kind} of {name} does not show tip {tip[:12]}"


def test_wire_protocol_capabilities(target, http, fixture_repos):
    for name in fixture_repos:
        # the media type hg itself sends: some sites (Kallithea) serve the wire protocol only to it
        r = http.get(target.url_for(target.site.route("capabilities", name)), timeout=30,
                     headers={"Accept": "application/mercurial-0.1"})
        assert r.status_code == 200, f"capabilities of {name}: HTTP {r.status_code}"
        caps = r.text.split()
        for cap in ("batch", "unbundle=HG10GZ,HG10BZ,HG10UN", "getbundle"):
            assert any(c == cap or c.startswith(cap.split("=")[0]) for c in caps), f"{name} lacks {cap}"


def test_clone_has_every_changeset(target, checked_repos, tmp_path):
    for name, path in checked_repos.items():
        expected = hg.nodes(hg.open_repo(path), view=b"served")
        clone = hg.clone(target, name, tmp_path / name.replace("/", "_"), auth=False)
        got = hg.nodes(clone)
        assert sorted(got) == sorted(expected), f"clone of {name}: {len(got)} changesets, expected {len(expected)}"
