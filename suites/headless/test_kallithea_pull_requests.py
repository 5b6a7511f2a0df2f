"""Fork, push to the fork, open a pull request, review it: each step checked through the API and the pages.

Covers the page kinds pull_request, pull_request_comment and changeset_comment (routes.PULL_REQUEST_KINDS).
"""

import secrets

import pytest

from hgharness import hg
from hgharness.errors import HarnessError
from hgharness.suites.support.kallithea_resources import new_commit, owner, try_push

pytestmark = [pytest.mark.headless, pytest.mark.destructive,
              pytest.mark.needs("accounts", "forks", "pull_requests", "comments", "api")]


@pytest.fixture
def web(target):
    w = target.site.web(target)
    assert w.login(target.username, target.password), f"login as {target.username} refused"
    yield w
    w.http.close()


def test_fork_has_the_upstream_history(target, fork, site_admin):
    upstream, name = fork
    said = site_admin.api(target).get_repo(name)
    assert said["fork_of"] == upstream, f"the API says {name} is a fork of {said['fork_of']}"
    assert site_admin.access(target, name)["tip"] == site_admin.access(target, upstream)["tip"]


def test_pull_request_without_new_changesets_is_refused(target, fork, web):
    upstream, name = fork
    with pytest.raises(HarnessError, match="refused the pull request"):
        web.create_pull_request(name, upstream, f"empty {secrets.token_hex(3)}")


def test_pull_request_from_a_fork_is_opened_and_reviewed(target, fork, web, site_admin, tmp_path):
    upstream, name = fork
    local = tmp_path / "work"
    hg.clone(target, name, local)
    node = new_commit(local, b"work for a pull request\n")
    assert try_push(target, local, name, owner(target)) is None, "push to the fork refused"

    title = f"hgharness pull request {secrets.token_hex(3)}"
    pr = web.create_pull_request(name, upstream, title, "opened by the pull request check")
    api = site_admin.api(target)
    said = api.get_pullrequest(pr)
    assert said["title"] == title and node in said["revisions"], said
    page = web.get("pull_request", upstream, rev=str(pr), follow=True)
    assert page.status_code == 200 and title in page.text and node[:12] in page.text

    note = f"looks right {secrets.token_hex(3)}"
    r = web.comment_pull_request(upstream, pr, note, status="approved")
    assert r.status_code == 200, f"comment on the pull request: HTTP {r.status_code}"
    said = api.get_pullrequest(pr)
    assert note in [c["text"] for c in said["comments"]]
    assert {"status": "approved", "reviewer": target.username}.items() <= said["statuses"][-1].items(), said
    assert note in web.get("pull_request", upstream, rev=str(pr), follow=True).text

    remark = f"changeset remark {secrets.token_hex(3)}"
    r = web.comment_changeset(name, node, remark)
    assert r.status_code == 200, f"comment on the changeset: HTTP {r.status_code}"
    assert remark in web.get("rev", name, rev=node).text
