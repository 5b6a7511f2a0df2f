"""The freshness checks (suites/headless/test_freshness.py) against real servers: the healthy embedded hgweb
passes, publishing or not as it declares; each broken build of tests/freshness_broken.py fails them naming the
view and the write; the embedded Kallithea passes (its stale feeds are its known issue)."""

from __future__ import annotations

import pytest

from tests.conftest import copy_repos, hgweb, target_for
from tests.headless_helpers import build_suite_repos

pytestmark = [pytest.mark.integration]

SUITE = ["suites/headless/test_freshness.py"]
NOT_PUBLISHING = {"phases": {"publish": "False"}}

# broken build -> (-k of the checks run, the failing check, what its message must say: the view and the write)
BROKEN = {
    "json_tags_frozen": ("tag", "test_views_show_the_write[tag]", ["json-tags (json", "after the tag write"]),
    "bookmarks_page_frozen": ("bookmark", "test_views_show_the_write[bookmark]",
                              ["bookmarks (html", "after the bookmark write"]),
    "branchmap_frozen": ("push and not state", "test_views_show_the_write[push]",
                         ["wire:branchmap (wire", "after the push write"]),
    "listkeys_frozen": ("bookmark", "test_views_show_the_write[bookmark]",
                        ["wire:listkeys (wire", "after the bookmark write"]),
    "feeds_frozen": ("new_head", "test_views_show_the_write[new_head]",
                     ["atom-log (atom", "rss-log (rss", "after the new_head write"]),
    "etag_replayed": ("tag", "test_views_show_the_write[tag]", ["304 Not Modified", "after the tag write"]),
    "etag_ignores_bookmarks": ("bookmark", "test_views_show_the_write[bookmark]",
                               ["bookmarks (html", "304 Not Modified", "after the bookmark write"]),
    "history_max_age": ("push and not state", "test_views_show_the_write[push]",
                        ["shortlog (html", "Cache-Control max-age=300", "after the push write"]),
}


@pytest.fixture(scope="session")
def fresh_repos(tmp_path_factory):
    """seed `demo`, `hostile` and the push repository `scratch`; read-only: copy it to push."""
    return build_suite_repos(tmp_path_factory.mktemp("fresh-set") / "repos")


def run_checks(target, run_dir, k=None):
    from hgharness.suites.runner import run_pytest_stage

    run_dir.mkdir(parents=True, exist_ok=True)
    return run_pytest_stage("headless", SUITE, target, run_dir, extra_args=["-k", k] if k else [],
                            progress=lambda msg: None)


def failing(stage) -> list[dict]:
    return [t for t in stage.tests if t["outcome"] in ("failed", "error")]


def explain(stage) -> str:
    return f"exit {stage.exit_code} {stage.counts}: " + "; ".join(
        f"{t['id']}: {t['message'][:400]}" for t in failing(stage))


def test_healthy_hgweb_passes(fresh_repos, tmp_path):
    repos = copy_repos(fresh_repos, tmp_path / "repos")
    with hgweb(repos) as server:
        stage = run_checks(target_for(server), tmp_path / "run")
    assert stage.exit_code == 0 and stage.counts["passed"] == 5, explain(stage)


def test_a_site_that_does_not_publish_passes_when_it_says_so(fresh_repos, tmp_path):
    repos = copy_repos(fresh_repos, tmp_path / "repos")
    with hgweb(repos, extra_config=NOT_PUBLISHING) as server:
        stage = run_checks(target_for(server, publishing=False), tmp_path / "run", k="state")
    assert stage.exit_code == 0 and stage.counts["passed"] == 1, explain(stage)


def test_pushed_changesets_left_draft_on_a_site_declared_publishing_fail(fresh_repos, tmp_path):
    repos = copy_repos(fresh_repos, tmp_path / "repos")
    with hgweb(repos, extra_config=NOT_PUBLISHING) as server:
        stage = run_checks(target_for(server), tmp_path / "run", k="state")
    failed = failing(stage)
    assert stage.exit_code == 1 and len(failed) == 1, explain(stage)
    message = failed[0]["message"]
    assert "test_server_state_after_push" in failed[0]["id"], explain(stage)
    for words in ("listkeys phases says not publishing", "publishing = true", "draft in a pull"):
        assert words in message, message


@pytest.mark.parametrize("build", list(BROKEN))
def test_a_stale_view_is_caught_naming_the_view_and_the_write(fresh_repos, tmp_path, build):
    k, check, says = BROKEN[build]
    repos = copy_repos(fresh_repos, tmp_path / "repos")
    with hgweb(repos, wrap=f"tests.freshness_broken:{build}") as server:
        stage = run_checks(target_for(server), tmp_path / "run", k=k)
    named = [t for t in failing(stage) if check in t["id"] and all(s in t["message"] for s in says)]
    assert stage.exit_code == 1 and named, f"{build}: " + explain(stage)
