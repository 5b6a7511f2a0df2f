"""Pages only a hosting site has (accounts, forks, pull requests, administration): one row per page kind.

routes.HOSTING_PAGES says who opens each such kind of the Kallithea adapter, PAGES what must hold; kinds shared
with hgweb are checked by the tables of test_pages/test_repo_pages. The pull request and comment kinds are checked
by test_kallithea_pull_requests (they need state of their own).
"""

import json

import pytest

from hgharness import hg
from hgharness.suites.headless.routes import HOSTING_PAGES
from hgharness.suites.support.kallithea_resources import smallest_repo
from hgharness.suites.support.table import Table, skip_unless_routed

pytestmark = [pytest.mark.headless, pytest.mark.nondestructive, pytest.mark.needs("accounts")]

CSRF = "_session_csrf_secret_token"
WHO = {kind: who for who, kinds in HOSTING_PAGES.items() for kind in kinds}
PAGES = Table(tuple(WHO))


class Case:
    def __init__(self, target, web, repo, local):
        self.target, self.web, self.repo, self.local = target, web, repo, local
        self.tip = local[b"tip"]

    def get(self, kind, **kw):
        return self.web.get(kind, self.repo if "{repo}" in self.target.site.ROUTES[kind] else None, **kw)


@PAGES.check("public_journal", "site_search", "forks", "followers", "statistics", "compare", "pull_requests",
             "my_pull_requests", "journal")
def html_ok(c, kind, **kw):
    r = c.get(kind, **kw)
    assert r.status_code == 200 and "text/html" in r.headers.get("Content-Type", ""), \
        f"{kind}: HTTP {r.status_code} {r.headers.get('Content-Type')}"
    return r


@PAGES.check("login", "register", "repo_create", "fork", "pull_request_new")
def form(c, kind):
    r = html_ok(c, kind)
    assert CSRF in r.text and "<form" in r.text, f"{kind}: no form carrying {CSRF}"


@PAGES.check("my_account")
def shows_user(c, kind):
    assert c.target.username in html_ok(c, kind).text, f"{kind} does not name {c.target.username}"


@PAGES.check("admin_repos", "repos_post")
def lists_owned_repo(c, kind):
    if c.target.site.access(c.target, c.repo)["owner"] != c.target.username:
        pytest.skip(f"{c.target.username} does not own {c.repo}")
    assert c.repo in html_ok(c, kind).text, f"{kind} does not list {c.repo}, which {c.target.username} owns"


@PAGES.check("admin", "admin_users", "admin_settings", "admin_permissions")
def refused(c, kind):
    r = c.get(kind)
    assert r.status_code in (403, 404) or "login" in r.headers.get("Location", ""), f"{kind}: HTTP {r.status_code}"


@PAGES.check("repo_settings", "repo_permissions")
def owner_form(c, kind):
    if c.target.site.access(c.target, c.repo)["owner"] != c.target.username:
        pytest.skip(f"{c.target.username} does not own {c.repo}")
    form(c, kind)


@PAGES.check("refs")
def refs(c, kind):
    r = c.get(kind)
    assert r.status_code == 200, f"{kind}: HTTP {r.status_code}"
    shown = {(g["text"], ch["text"]): ch["id"] for g in r.json()["results"] for ch in g["children"]}
    repo, bm = c.local, c.local.branchmap()
    name = lambda b: b.decode("utf-8", "replace")  # noqa: E731
    want = {("Branch" if bm.branchheads(b) else "Closed Branches", name(b)): bm.branchtip(b).hex() for b in bm}
    want.update({("Tag", name(t)): n.hex() for t, n in repo.tags().items()})
    want.update({("Bookmark", name(k)): n.hex() for k, n in repo._bookmarks.items()})
    wrong = sorted(k for k, v in want.items() if shown.get(k) != v)
    extra = sorted(set(shown) - set(want))
    assert not wrong and not extra, f"{kind} of {c.repo}: wrong or missing {wrong[:5]}, unexpected {extra[:5]}"


@PAGES.check("download_file")
def download(c, kind):
    path = sorted(c.tip.manifest())[0]
    r = c.get(kind, rev=c.tip.hex(), path=path.decode("utf-8", "surrogateescape"))
    assert r.status_code == 200 and "attachment" in r.headers.get("Content-Disposition", ""), \
        f"{kind}: HTTP {r.status_code} {r.headers.get('Content-Disposition')}"
    assert r.content == c.tip[path].data(), f"{kind} of {path!r} differs from the fixture's bytes"


@PAGES.check("raw_diff")
def raw_diff(c, kind):
    r = c.get(kind, rev=c.tip.hex())
    assert r.status_code == 200 and r.headers.get("Content-Type", "").startswith("text/plain"), r.status_code
    for f in c.tip.files():
        assert f.decode("utf-8", "replace") in r.text, f"{kind} of {c.tip.hex()[:12]} does not name {f!r}"


@PAGES.check("api")
def api_needs_a_key(c, kind):
    r = c.web.http.post(c.target.url_for(c.target.site.route(kind)), timeout=60,
                        data=json.dumps({"id": 1, "api_key": "", "method": "get_users", "args": {}}))
    assert r.status_code == 200 and r.json().get("error"), f"{kind} without a key: {r.text[:200]}"


@PAGES.check("logout")
def logout(c, kind):
    assert c.web.logged_in()
    c.get(kind)
    assert not c.web.logged_in(), "still logged in after opening the logout page"


@pytest.fixture(scope="module")
def repo(fixture_repos):
    name, path = smallest_repo(fixture_repos)
    return name, hg.open_repo(path)


@pytest.mark.parametrize("kind", sorted(WHO))
def test_kallithea_page(target, repo, kind):
    skip_unless_routed(target, kind)
    web = target.site.web(target)
    if WHO[kind] == "user":
        if not target.has_credentials():
            pytest.skip("needs the target's user: set HGHARNESS_USERNAME and HGHARNESS_PASSWORD")
        assert web.login(target.username, target.password), f"login as {target.username} refused"
    try:
        PAGES.checks[kind](Case(target, web, repo[0], repo[1]), kind)
    finally:
        web.http.close()
