"""The embedded Kallithea target: provisioned as the fixtures say, the suites pass on it, and the permission
checks catch a repository made public by mistake."""

import zipfile
from io import BytesIO

import pytest
import requests

from hgharness import hg
from hgharness.suites.runner import run_pytest_stage
from tests import kallithea_helpers

kallithea, kallithea_target = kallithea_helpers.kallithea, kallithea_helpers.kallithea_target  # fixtures

# one server per session (per xdist worker); the group asks `--dist loadgroup` to keep these tests on one worker
# (pytest 9.2 with xdist 3.8 does not honour it yet: then each worker starts its own server)
pytestmark = [pytest.mark.kallithea, pytest.mark.integration, pytest.mark.xdist_group("kallithea")]

SUITES = ["suites/headless/test_smoke.py", "suites/headless/test_kallithea_accounts.py",
          "suites/headless/test_kallithea_pages.py", "suites/headless/test_kallithea_pull_requests.py",
          "suites/security/test_kallithea_permissions.py", "suites/headless/test_kallithea_views.py"]


def test_fixture_repositories_are_on_the_site_with_every_changeset(kallithea_target, tmp_path):
    t = kallithea_target
    assert sorted(t.site.list_repos(t, requests.Session())) >= sorted(t.repos)
    for name in t.repos:
        local = hg.open_repo(f"{t.fixture_dir}/{name}")
        clone = hg.clone(t, name, tmp_path / name, auth=False)
        assert sorted(hg.nodes(clone)) == sorted(hg.nodes(local)), name
        assert sorted(clone._bookmarks) == sorted(local._bookmarks), f"bookmarks of {name}"
        assert t.site.access(t, name)["owner"] == t.username


def test_the_parents_a_changeset_page_loads_are_the_fixtures(kallithea_target):
    """Kallithea's changeset page loads its parent link by XHR: that answer is what the headless check reads."""
    t = kallithea_target
    name = t.repos[0]
    local = hg.open_repo(f"{t.fixture_dir}/{name}")
    merge = next(ctx for ctx in (local[r] for r in reversed(local)) if len(ctx.parents()) == 2)
    for ctx in (merge, local[0]):
        want = [p.hex().decode() for p in ctx.parents() if p.rev() != -1]
        got = t.site.changeset_parents(requests.Session(), t, name, ctx.hex().decode())
        assert sorted(got) == sorted(want), (ctx.rev(), got, want)
    assert len(want) == 0 and len(merge.parents()) == 2


def test_downloads_are_enabled(kallithea_target):
    t = kallithea_target
    name = t.repos[0]
    tip = t.site.access(t, name)["tip"]
    r = requests.get(t.url_for(t.site.route("archive", name, rev=tip, fmt="zip")), timeout=60)
    assert r.status_code == 200 and r.content[:2] == b"PK", (r.status_code, r.content[:80])
    assert zipfile.ZipFile(BytesIO(r.content)).namelist()


def test_secrets_stay_masked(kallithea):
    assert "********" in repr(kallithea.password) and "********" in f"{kallithea.api_key}"
    log = kallithea.error_log.read_text(errors="replace") + (kallithea.workdir / "setup.log").read_text()
    for secret in (kallithea.password, kallithea.api_key, kallithea.admin_password):
        assert secret.reveal() not in log


def test_user_api_key_in_pages_is_redacted(kallithea, kallithea_target):
    """Kallithea shows a logged-in user's API key in feed links; a saved page must not carry it."""
    from hgharness.secrets import redact

    key = kallithea.user_api_key(kallithea_target.username)
    web = kallithea_target.site.web(kallithea_target)
    assert web.login(kallithea_target.username, kallithea_target.password)
    page = web.get("index").text
    assert key in page  # the leak path exists
    assert key not in redact(page) and "api_key=********" in redact(page)


def test_kallithea_suites_pass(kallithea_target, tmp_path):
    stage = run_pytest_stage("kallithea", SUITES, kallithea_target, tmp_path, progress=lambda m: None)
    failed = [f"{t['id']}: {t['message']}" for t in stage.tests if t["outcome"] in ("failed", "error")]
    assert stage.status == "passed", "\n".join(failed) or stage.detail
    assert stage.counts["passed"] >= 50, stage.counts
    skipped = [t["message"] for t in stage.tests if t["outcome"] == "skipped"]
    assert all("has no page kind" in m for m in skipped), skipped  # only pages Kallithea does not have


def test_permission_checks_fail_on_a_repository_made_public_by_mistake(kallithea, kallithea_target, tmp_path):
    """The same checks pass while the repository is private, and fail once the API flips it public."""
    from hgharness.kallithea.provision import push

    t, site = kallithea_target, kallithea_target.site
    name = "meant-to-be-private"
    site.create_repo(t, name, private=True)
    try:
        push(t, f"{t.fixture_dir}/{t.repos[0]}", name)
        env = {"HGHARNESS_PRIVATE_REPOS": name}
        (tmp_path / "ok").mkdir()
        (tmp_path / "bad").mkdir()
        paths = ["suites/security/test_kallithea_permissions.py"]
        only = ["-k", "private_repository"]  # the checks of the declared-private repository itself
        ok = run_pytest_stage("private", paths, t, tmp_path / "ok", extra_env=env, extra_args=only,
                              progress=lambda m: None)
        assert ok.status == "passed", [x["message"] for x in ok.tests if x["outcome"] != "passed"]
        site.set_public(t, name, True)  # the mistake, made through the API
        assert site.access(t, name)["anonymous"] == "read"
        bad = run_pytest_stage("public", paths, t, tmp_path / "bad", extra_env=env, extra_args=only,
                               progress=lambda m: None)
    finally:
        site.delete_repo(t, name)
    assert bad.status == "failed" and bad.exit_code == 1, bad.detail
    failed = {x["id"].split("::")[-1] for x in bad.tests if x["outcome"] == "failed"}
    assert failed == {"test_private_repository_hidden_from_anonymous",
                      "test_private_repository_hidden_from_another_user"}, failed
    assert bad.counts["passed"] == 1  # the owner still sees it: the failure is the leak, not the setup
    messages = " ".join(x["message"] for x in bad.tests)
    assert f"private {name} is visible to anonymous visitors" in messages


def test_kallithea_browser_flows_pass(kallithea_target, tmp_path):
    """The Selenium flows (login, create, push, changeset, files, fork, pull request, review, private)."""
    stage = run_pytest_stage("kallithea-browser", ["suites/functional/test_kallithea_flows.py"], kallithea_target,
                             tmp_path, progress=lambda m: None)
    failed = [f"{t['id']}: {t['message']}" for t in stage.tests if t["outcome"] in ("failed", "error")]
    assert stage.status == "passed", "\n".join(failed) or stage.detail
    assert stage.counts["passed"] == 6 and not stage.counts["skipped"], stage.counts
