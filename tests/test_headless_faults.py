"""The headless and security suites catch defects: each broken target (tests/broken_targets.py) injects one
defect into the embedded hgweb, the relevant part of the suites runs against it, and the run must exit 1 with
a failing check that names the defect. The healthy target passes the whole suite; an unreachable one is a
harness error (exit 2), not a target failure."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from tests.conftest import clean_env, copy_repos, hgweb, run_cli, target_for
from tests.headless_helpers import build_suite_repos

pytestmark = [pytest.mark.integration]

H = "suites/headless/"
S = "suites/security/"

# defect -> the suite files that catch it, how (-k), the failing check's id and message, options
DEFECTS = tomllib.loads((Path(__file__).parent / "data" / "headless_defects.toml").read_text())


@pytest.fixture(scope="session")
def suite_repos(tmp_path_factory):
    """seed `demo`, a hostile repository and a `scratch` push repository; read-only: copy to push."""
    return build_suite_repos(tmp_path_factory.mktemp("suite-set") / "repos")


CRAWL_PAGES = "60"  # the injected links are on every page: a short crawl finds them


def run_suite(server, run_dir, paths, k=None, **target_overrides):
    from hgharness.suites.runner import run_pytest_stage

    target = target_for(server, **target_overrides)
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_pytest_stage("headless", paths, target, run_dir, extra_args=["-k", k] if k else [],
                            extra_env={"HGHARNESS_CRAWL_PAGES": CRAWL_PAGES}, progress=lambda msg: None)


def failing(stage) -> list[dict]:
    return [t for t in stage.tests if t["outcome"] in ("failed", "error")]


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_defect_is_caught(suite_repos, tmp_path, defect):
    case = DEFECTS[defect]
    paths, k, check_id, message = ["suites/" + f for f in case["suites"]], case.get("k"), case["check"], case["says"]
    repos = copy_repos(suite_repos, tmp_path / "repos") if case.get("destructive") else suite_repos
    overrides = {"header_policy": case["header_policy"]} if "header_policy" in case else {}
    with hgweb(repos, wrap=f"tests.broken_targets:{defect}", prefix=case.get("prefix", "")) as server:
        stage = run_suite(server, tmp_path / "run", paths, k, **overrides)
    failed = failing(stage)
    named = [t for t in failed if check_id in t["id"] and message in t["message"]]
    assert stage.exit_code == 1, f"{defect}: exit {stage.exit_code} ({stage.detail}), expected 1"
    assert named, (f"{defect}: no failing check {check_id!r} saying {message!r}; failures: "
                   + "; ".join(f"{t['id']}: {t['message'][:150]}" for t in failed[:5]))


def test_healthy_target_passes_everything(suite_repos, tmp_path):
    """The whole headless + security suite, through the CLI, with pushes into a private copy."""
    repos = copy_repos(suite_repos, tmp_path / "repos")
    with hgweb(repos) as server:
        env = clean_env(HGHARNESS_FIXTURE_DIR=repos, HGHARNESS_USERNAME=server.username,
                        HGHARNESS_PASSWORD=server.password.reveal(), HGHARNESS_EMBEDDED="1",
                        HGHARNESS_CRAWL_PAGES="100")
        r = run_cli("check", "--target", server.url, "-n", "2", "--runs-dir", tmp_path / "runs", env=env)
    out = r.stdout + r.stderr
    assert r.returncode == 0, f"healthy target: exit {r.returncode}\n{out[-3000:]}"
    assert "PASSED" in out and "0 failed" in out, out[-2000:]


@pytest.mark.parametrize("wrap,prefix,paths", [
    ("secure_headers", "", [S + "test_headers.py"]),
    (None, "hg", [H + "test_crawl.py", H + "test_repo_pages.py"]),
], ids=["strict-headers", "path-prefix"])
def test_healthy_variants_pass(suite_repos, tmp_path, wrap, prefix, paths):
    """Controls for two defects: the same checks pass on a target that has the headers under the strict
    policy, and on a healthy target under a path prefix."""
    overrides = {"header_policy": "strict"} if wrap else {}
    kw = {"wrap": f"tests.broken_targets:{wrap}"} if wrap else {}
    with hgweb(suite_repos, prefix=prefix, **kw) as server:
        stage = run_suite(server, tmp_path / "run", paths, **overrides)
    assert stage.exit_code == 0, "; ".join(f"{t['id']}: {t['message'][:200]}" for t in failing(stage))


def test_content_checks_pass_on_a_healthy_hgweb_in_its_gitweb_style(suite_repos, tmp_path):
    """The page checks read what any hgweb style shows or links, not paper's markup (a deployed hgweb may use
    gitweb, which links changesets without printing their nodes)."""
    with hgweb(suite_repos, extra_web_config={"style": "gitweb"}) as server:
        stage = run_suite(server, tmp_path / "run", [H + "test_repo_pages.py", H + "test_pages.py"])
    assert stage.exit_code == 0, "; ".join(f"{t['id']}: {t['message'][:200]}" for t in failing(stage))


def test_known_site_defects_fail_when_the_target_says_so(suite_repos, tmp_path):
    """Stock hgweb's stored XSS in filelog.tmpl is a known defect: reported apart (expected failure) by default,
    a failure under known_issues = "fail" (a team that must not ship it)."""
    with hgweb(suite_repos) as server:
        paths, k = [S + "test_escaping.py", H + "test_pages.py"], "files or raw_file"
        expect = run_suite(server, tmp_path / "expect", paths, k)
        strict = run_suite(server, tmp_path / "fail", paths, k, known_issues="fail")
    assert expect.exit_code == 0 and expect.extra["known_issues"] >= 2, expect.counts
    failed = failing(strict)
    assert strict.exit_code == 1 and len(failed) == expect.extra["known_issues"], strict.counts
    assert all(t["message"].startswith(("[known_issues = fail]", "Failed: [known_issues = fail]"))
               for t in failed), [t["message"] for t in failed]
    ids = " ".join(t["message"] for t in failed)
    assert "hgweb-filelog-feed-title-xss" in ids and "hgweb-raw-file-non-ascii-name-500" in ids, ids


def test_an_empty_repository_a_closed_branch_and_a_secret_changeset_raise_no_false_alarm(suite_repos, tmp_path):
    """What real sites hold and the generated fixtures do not: the checks expect what the site serves (a
    secret changeset is not served, an empty repository has no history)."""
    import subprocess
    import sys

    hg_cmd = [sys.executable, "-c", "from mercurial import dispatch; dispatch.run()"]
    env = clean_env(HGRCPATH=os.devnull, HGUSER="Odd One <odd@example.org>", HGPLAIN="1")

    def run(*args, cwd):
        subprocess.run([*hg_cmd, *args], cwd=cwd, env=env, check=True, capture_output=True)

    repos = copy_repos(suite_repos, tmp_path / "repos")
    run("init", "empty", cwd=repos)
    run("init", "odd", cwd=repos)
    odd = repos / "odd"
    steps = [("a.txt", "one\n", ["commit", "-Am", "first"]), (None, None, ["branch", "feature"]),
             ("a.txt", "two\n", ["commit", "-m", "on feature"]), (None, None, ["commit", "--close-branch", "-m", "x"]),
             (None, None, ["update", "default"]), ("b.txt", "b\n", ["commit", "-Am", "default again"]),
             ("s.txt", "secret\n", ["commit", "-Am", "secret work", "--secret"])]
    for name, data, args in steps:
        if name:
            (odd / name).write_text(data)
        run(*args, cwd=odd)
    with hgweb(repos) as server:
        stage = run_suite(server, tmp_path / "run", [H + "test_smoke.py", H + "test_repo_pages.py",
                                                     H + "test_wire.py", H + "test_json_feeds.py"])
    assert stage.exit_code == 0, "; ".join(f"{t['id']}: {t['message'][:200]}" for t in failing(stage))
    assert any("odd" in t["id"] for t in stage.tests if t["outcome"] == "passed")


def test_a_site_with_archives_switched_off_says_how_to_declare_it(suite_repos, tmp_path):
    """hgweb with allow-archive empty: the archive checks fail naming the `disable` setting; declared, they skip
    and everything else still runs."""
    paths = [H + "test_archives.py", H + "test_not_found.py", S + "test_raw_origin.py"]
    with hgweb(suite_repos, extra_web_config={"allow_archive": ""}) as server:
        undeclared = run_suite(server, tmp_path / "undeclared", paths, "archive")
        declared = run_suite(server, tmp_path / "declared", paths, disable=["archives"])
    assert undeclared.exit_code == 1 and any("`disable` list" in t["message"] for t in failing(undeclared))
    assert declared.exit_code == 0 and declared.counts["passed"] > 0, failing(declared)
    assert not any("archive" in t["id"] and t["outcome"] == "passed" for t in declared.tests)


def test_unreachable_target_is_a_harness_error(suite_repos, tmp_path):
    from hgharness.embedded import free_port

    url = f"http://127.0.0.1:{free_port()}/"
    r = run_cli("check", "--target", url, "--runs-dir", tmp_path / "runs", env=clean_env())
    assert r.returncode == 2, r.stdout + r.stderr
    assert "unreachable" in r.stderr and "Traceback" not in r.stderr, r.stderr
    # straight into the suite (no probe first): the checks report a harness error, not a target failure
    from hgharness.suites.runner import run_pytest_stage
    from hgharness.target import Target

    target = Target(url=url, fixture_dir=str(suite_repos))
    (tmp_path / "run").mkdir()
    stage = run_pytest_stage("headless", [H + "test_pages.py", H + "test_wire.py"], target, tmp_path / "run",
                             extra_args=["-k", "revision_page or heads"], progress=lambda m: None)
    assert stage.exit_code == 2, stage
    assert "unreachable" in stage.detail, stage.detail
