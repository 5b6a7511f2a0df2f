"""Private repositories stay private, permissions do what the site's API says, pushing needs the right to push.

Each access is observed through the web pages (logged-in session) and the wire protocol (as hg sends it).
"""

import pytest

from hgharness.suites.security.access import clone_nodes, index_lists, web_reads, wire_reads
from hgharness.suites.support.kallithea_resources import new_commit, owner, try_push

pytestmark = [pytest.mark.security, pytest.mark.needs("accounts", "permissions", "api")]


def assert_hidden(target, site_admin, private_repos, web, account, http, tmp_path):
    """No channel shows the private repositories to the account (None: anonymous visitors)."""
    who = account.name if account else "anonymous visitors"
    for repo in private_repos:
        tip = site_admin.access(target, repo.name)["tip"]
        shown = web_reads(web, repo.name, tip)
        assert not shown, f"private {repo.name} is visible to {who}: {', '.join(shown)}"
        assert not index_lists(web, repo.name), f"the index lists private {repo.name} to {who}"
        assert not wire_reads(target, repo.name, account, http), f"private {repo.name} is served to {who} over hg"
        got = clone_nodes(target, repo.name, account, tmp_path / repo.name)
        assert got is None, f"{who} cloned private {repo.name} ({len(got)} changesets)"


@pytest.mark.nondestructive
def test_private_repository_hidden_from_anonymous(target, site_admin, private_repos, web_as, http, tmp_path):
    assert_hidden(target, site_admin, private_repos, web_as(None), None, http, tmp_path)


@pytest.mark.nondestructive
def test_private_repository_hidden_from_another_user(target, site_admin, private_repos, other_user, web_as, http,
                                                     tmp_path):
    assert_hidden(target, site_admin, private_repos, web_as(other_user), other_user, http, tmp_path)


@pytest.mark.nondestructive
def test_private_repository_visible_to_its_owner(target, site_admin, private_repos, web_as, http, tmp_path):
    from hgharness import hg

    web = web_as(owner(target))
    for repo in private_repos:
        tip = site_admin.access(target, repo.name)["tip"]
        shown = web_reads(web, repo.name, tip)
        assert set(shown) >= {"summary", "log"}, f"{target.username} cannot see own private {repo.name}: {shown}"
        assert index_lists(web, repo.name), f"the index hides private {repo.name} from its owner"
        assert wire_reads(target, repo.name, owner(target), http), f"{repo.name} not served to its owner over hg"
        got = clone_nodes(target, repo.name, owner(target), tmp_path / repo.name)
        assert got, f"the owner cannot clone private {repo.name}"
        if repo.local is not None:
            expected = hg.nodes(hg.open_repo(repo.local))
            assert sorted(got) == sorted(expected), f"owner's clone of {repo.name}: {len(got)} changesets, " \
                                                    f"expected {len(expected)}"


@pytest.mark.destructive
@pytest.mark.parametrize("level", ["read", "none"])
def test_permissions_follow_the_api(target, site_admin, private_repos, other_user, web_as, http, level):
    """Grant a level through the API; the API reports it and the web and the wire protocol obey it."""
    repo = private_repos[0].name

    def check(what):
        said = site_admin.access(target, repo)
        expect = site_admin.expected_level(said, other_user.name) != "none"
        shown = web_reads(web_as(other_user), repo, said["tip"])
        assert bool(shown) == expect, f"{what}: {other_user.name} sees pages {shown or 'none'} of {repo}, " \
                                      f"the API says {said}"
        assert wire_reads(target, repo, other_user, http) == expect, f"{what}: the wire protocol disagrees"
        return said

    site_admin.grant(target, repo, other_user.name, level)
    try:
        said = check(f"after granting {level}")
        assert said["users"].get(other_user.name) == level, f"the API reports {said['users']} after granting {level}"
    finally:
        site_admin.revoke(target, repo, other_user.name)
    check("after revoking")


@pytest.mark.nondestructive
def test_repository_access_follows_the_api(target, site_admin, private_repos, other_user, http):
    """For every repository the site lists, anonymous and another user's hg access is what the API says."""
    names = set(target.repos or target.site.list_repos(target, http)) | {r.name for r in private_repos}
    wrong = []
    for name in sorted(names):
        said = site_admin.access(target, name)
        for account in (None, other_user):
            who = account.name if account else None
            level = site_admin.expected_level(said, who)
            if wire_reads(target, name, account, http) != (level != "none"):
                wrong.append(f"{name} for {who or 'anonymous'} (API: {level})")
    assert not wrong, f"access differs from what the API says: {', '.join(wrong)}"


@pytest.mark.destructive
def test_push_needs_write_permission(target, site_admin, public_scratch, other_user, tmp_path):
    """Anonymous and read-only users are refused; the owner's push goes through (so refusals mean something)."""
    from hgharness import hg

    if target.anonymous_push:
        pytest.skip("the target's policy allows anonymous push (anonymous_push = true)")
    local = tmp_path / "work"
    hg.clone(target, public_scratch.name, local)
    node = new_commit(local, b"pushed by the permission check\n")
    site_admin.grant(target, public_scratch.name, other_user.name, "read")
    try:
        assert try_push(target, local, public_scratch.name, None), "anonymous push was accepted"
        assert try_push(target, local, public_scratch.name, other_user), f"read-only {other_user.name} could push"
    finally:
        site_admin.revoke(target, public_scratch.name, other_user.name)
    assert site_admin.access(target, public_scratch.name)["tip"] != node, "a refused push reached the repository"
    refused = try_push(target, local, public_scratch.name, owner(target))
    assert refused is None, f"the owner's push was refused: {refused}"
    assert site_admin.access(target, public_scratch.name)["tip"] == node, "the owner's push did not arrive"


@pytest.mark.nondestructive
@pytest.mark.parametrize("kind", ["admin", "admin_users", "admin_settings", "admin_permissions"])
def test_ordinary_user_cannot_open_admin_pages(target, site_admin, web_as, kind):
    r = web_as(owner(target)).get(kind)
    assert r.status_code in (403, 404) or (r.status_code == 302 and "login" in r.headers.get("Location", "")), \
        f"{kind} for the ordinary user {target.username}: HTTP {r.status_code}"


@pytest.mark.nondestructive
def test_login_form_without_csrf_token_is_refused(target, site_admin, web_as):
    web = web_as(None)
    r = web.http.post(web.url("login"), data={"username": target.username, "password": target.password.reveal()},
                      allow_redirects=False, timeout=60)
    assert r.status_code in (400, 403), f"a login post without the CSRF token: HTTP {r.status_code}"
    assert not web.logged_in(), "a login post without the CSRF token logged the session in"
