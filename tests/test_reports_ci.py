"""The CI templates parse, have the jobs, JUnit publishing and artifacts they promise, and call only real
`hgharness` commands with real options: every invocation is parsed by the CLI's own parser."""

import re
import shlex
from pathlib import Path

import pytest
import yaml

from hgharness.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
GITHUB = ROOT / ".github" / "workflows" / "hgharness.yml"
BAMBOO = ROOT / "bamboo-specs" / "bamboo.yml"


def _scripts_github(doc) -> list[str]:
    return [step["run"] for job in doc["jobs"].values() for step in job["steps"] if "run" in step]


def _bamboo_jobs(doc) -> dict:
    names = [j for stage in doc["stages"] for body in stage.values() for j in body["jobs"]]
    return {n: doc[n] for n in names}


def _scripts_bamboo(doc) -> list[str]:
    out = []
    for job in _bamboo_jobs(doc).values():
        for task in job.get("tasks", []) + job.get("final-tasks", []):
            if isinstance(task, dict) and "script" in task:
                script = task["script"]
                out += script["scripts"] if isinstance(script, dict) else [script]
    return out


def invocations(script: str) -> list[list[str]]:
    """Every `hgharness ...` command in a shell script, as argv, with CI expressions replaced by a value."""
    text = re.sub(r"\$\{\{.*?\}\}", "X", script.replace("\\\n", " "))
    text = re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}?", "X", text)
    out = []
    for line in text.splitlines():
        for part in re.split(r"&&|\|\||;|\|", line.split(" #")[0]):
            try:
                words = shlex.split(part)
            except ValueError:
                continue
            if words and words[0] == "hgharness":
                out.append(words[1:])
    return out


def check_invocation(argv: list[str]) -> str | None:
    """None when the real parser accepts argv; else what it said."""
    import contextlib
    import io

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            args = build_parser().parse_args(argv)
    except SystemExit:
        return err.getvalue().strip() or "rejected"
    if not getattr(args, "_module", None):
        return "no command"
    return None


@pytest.fixture(scope="module")
def github():
    return yaml.safe_load(GITHUB.read_text())


@pytest.fixture(scope="module")
def bamboo_docs():
    """Every plan of bamboo.yml (YAML specs hold one entity per document)."""
    return list(yaml.safe_load_all(BAMBOO.read_text()))


@pytest.fixture(scope="module")
def bamboo(bamboo_docs):
    return bamboo_docs[0]


@pytest.fixture(scope="module")
def post_deploy_plan(bamboo_docs):
    return next(d for d in bamboo_docs if d["plan"]["key"] == "POSTDEPLOY")


def test_every_hgharness_command_in_the_templates_is_real(github, bamboo_docs):
    calls = [argv for s in _scripts_github(github) + [x for d in bamboo_docs for x in _scripts_bamboo(d)]
             for argv in invocations(s)]
    assert len(calls) >= 11
    problems = {" ".join(argv): check_invocation(argv) for argv in calls}
    assert {k: v for k, v in problems.items() if v} == {}
    used = {argv[0] for argv in calls}
    assert {"check", "functional", "load", "report", "run"} <= used
    assert ["report", "history"] in [argv[:2] for argv in calls]


def test_the_checker_rejects_what_is_not_a_command():
    assert check_invocation(["no-such-command"])
    assert check_invocation(["load", "--no-such-option", "1"])
    assert check_invocation(["report", "compare", "only-one-dir"])
    assert check_invocation(["report", "compare", "base", "cur", "--threshold", "ten"])
    assert check_invocation(["report", "compare", "base", "cur", "--threshold", "25"]) is None
    assert invocations('set -e\nhgharness check --run-id "x-${{ github.run_id }}" && echo ok \\\n  # note') == \
        [["check", "--run-id", "x-X"]]


def test_github_workflow_jobs_junit_artifacts_and_settings(github):
    jobs = github["jobs"]
    assert {"headless", "functional", "load-smoke"} <= set(jobs)
    for name, job in jobs.items():
        uses = [s.get("uses", "") for s in job["steps"]]
        assert any(u.startswith("mikepenz/action-junit-report@") for u in uses), name
        uploads = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
        assert uploads and uploads[0]["with"]["path"].startswith("history/runs" if name == "post-deploy"
                                                                 else "reports/runs"), name
        assert "cancelled()" in uploads[0]["if"], name  # the run directory is uploaded when checks fail too
    env = github["env"]
    assert env["HGHARNESS_TARGET"] == "${{ vars.HGHARNESS_TARGET }}"
    assert env["HGHARNESS_PASSWORD"] == "${{ secrets.HGHARNESS_PASSWORD }}"
    assert "secrets." not in str({k: v for k, v in env.items() if k != "HGHARNESS_PASSWORD"})
    triggers = github.get("on", github.get(True))  # YAML 1.1 reads the key `on` as true
    assert "pull_request" in triggers and "push" in triggers


def test_github_post_deploy_job_runs_on_schedule_against_the_backends_and_keeps_the_history(github):
    job = github["jobs"]["post-deploy"]
    triggers = github.get("on", github.get(True))
    assert triggers["schedule"][0]["cron"] and "schedule" in job["if"]
    assert job["env"]["HGHARNESS_BACKENDS"] == "${{ vars.HGHARNESS_BACKENDS }}"
    assert job["env"]["HGHARNESS_BUILD_ID"]
    steps = job["steps"]
    runs = [s["run"] for s in steps if "run" in s]
    calls = [argv for r in runs for argv in invocations(r)]
    run_at = next(i for i, a in enumerate(calls) if a[0] == "run")
    history_at = next(i for i, a in enumerate(calls) if a[:2] == ["report", "history"])
    assert run_at < history_at and "history/runs" in calls[history_at]
    history_step = next(s for s in steps if "report history" in s.get("run", ""))
    assert "cancelled()" in history_step["if"]  # the history is drawn when the run failed too
    uses = {s.get("uses", "").split("@")[0]: s for s in steps if "uses" in s}
    assert uses["actions/cache/restore"]["with"]["path"] == uses["actions/cache/save"]["with"]["path"] == \
        "history/runs"
    upload = uses["actions/upload-artifact"]["with"]["path"]
    assert "history/index.html" in upload and "history/runs/" in upload


def test_bamboo_plan_stages_junit_parser_and_artifacts(bamboo):
    assert bamboo["version"] == 2 and {"project-key", "key", "name"} <= set(bamboo["plan"])
    jobs = _bamboo_jobs(bamboo)
    assert set(jobs) == {"Headless", "Functional", "Load smoke"}
    for name, job in jobs.items():
        parsers = [t["test-parser"] for t in job["final-tasks"] if isinstance(t, dict) and "test-parser" in t]
        assert parsers and parsers[0]["type"] == "junit", name
        assert "junit.xml" in parsers[0]["test-results"], name
        assert job["artifacts"][0]["location"] == "reports/runs", name
    assert "password" not in " ".join(bamboo["variables"])  # secrets live in the plan's masked variables
    assert all("bamboo_hgharness_password" in s for s in _scripts_bamboo(bamboo) if "hgharness check" in s)


def test_bamboo_post_deploy_plan_is_scheduled_runs_then_draws_the_history(post_deploy_plan):
    plan = post_deploy_plan
    assert plan["version"] == 2 and plan["triggers"][0]["cron"]["expression"]
    assert "hgharness.backends" in plan["variables"] and "hgharness.build_id" in plan["variables"]
    assert "password" not in " ".join(plan["variables"])
    jobs = _bamboo_jobs(plan)
    assert list(jobs) == ["Post-deploy run"]
    job = jobs["Post-deploy run"]
    def calls(tasks):
        return [argv for t in tasks if isinstance(t, dict) and "script" in t
                for s in t["script"]["scripts"] for argv in invocations(s)]

    main, final = calls(job["tasks"]), calls(job["final-tasks"])
    assert [a[0] for a in main] == ["run"] and [a[:2] for a in final] == [["report", "history"]]
    script = " ".join(s for s in _scripts_bamboo(plan))
    assert "HGHARNESS_BACKENDS=\"${bamboo_hgharness_backends" in script
    assert "bamboo_hgharness_history_dir" in script and plan["docker"]["volumes"]
    assert {a["location"] for a in job["artifacts"]} == {"reports/runs", "reports/history"}
    parsers = [t["test-parser"] for t in job["final-tasks"] if isinstance(t, dict) and "test-parser" in t]
    assert parsers and parsers[0]["type"] == "junit"
