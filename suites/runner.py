"""Run a pytest suite as one stage of a job, against a Target, into a run directory.

The suite runs in a child pytest; the Target travels in the environment (never on a command line), its output
is redacted line by line into the run directory, and its exit status is mapped to the harness's:
pytest 0 -> 0, failed checks -> 1, harness errors (unreachable target, usage, internal) -> 2.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hgharness.procs import terminate_tree
from hgharness.secrets import redact
from hgharness.session import StageResult

# Suite paths are spelled "suites/headless/..." in a checkout and installed alike: relative to this folder's parent
# (the checkout's top, or site-packages/hgharness).
LAYERS_DIR = Path(__file__).resolve().parents[1]
# what tox.ini's [pytest] says for a checkout, said again for an installed harness (which has no tox.ini)
PYTEST_OPTIONS = ["--rootdir", str(LAYERS_DIR), "--strict-markers", "-o", "xfail_strict=true", "-p", "no:cacheprovider"]


def run_pytest_stage(name: str, paths: list[str], target, run_dir: Path, markers: str | None = None,
                     workers: str | int | None = None, extra_args: list[str] | None = None,
                     extra_env: dict | None = None, progress=print) -> StageResult:
    run_dir = Path(run_dir).resolve()
    shown, paths = " ".join(paths), [str(LAYERS_DIR / p) for p in paths]
    results = run_dir / f"results-{name}.json"
    junit = run_dir / f"junit-{name}.xml"
    log = run_dir / f"pytest-{name}.log"
    argv = [sys.executable, "-m", "pytest", *paths, *PYTEST_OPTIONS, "-q", "-rfEs",
            f"--junitxml={junit}", "-o", f"junit_suite_name={name}", "-o", "junit_family=xunit2"]
    if markers:
        argv += ["-m", markers]
    if workers not in (None, 0, "0", 1, "1"):
        argv += ["-n", str(workers)]
    argv += extra_args or []
    env = dict(os.environ)
    env.update(target.to_env())
    # the suite's temporary files (browser profiles, pytest's tmp_path) in a directory this process removes, even
    # when the suite is killed before it could tidy up; a short path: Chromium's socket path must fit in 108 bytes
    base = tempfile.gettempdir()
    tmp = Path(tempfile.mkdtemp(prefix=f"hgharness-{name}-", dir=base if len(base) <= 24 else "/tmp"))
    env.update(HGHARNESS_RESULTS=str(results), HGHARNESS_RUN_DIR=str(run_dir), HGHARNESS_STAGE=name, TMPDIR=str(tmp))
    env.update(extra_env or {})
    started = time.monotonic()
    progress(f"[{name}] running {shown}" + (f" -m '{markers}'" if markers else ""))
    try:  # the temporary directory goes whatever fails, the log's opening and the start included
        with open(log, "w", encoding="utf-8") as out:
            proc = subprocess.Popen(argv, cwd=run_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, text=True, errors="replace", start_new_session=True)
            try:
                for line in proc.stdout:
                    line = redact(line)
                    out.write(line)
                    if line.startswith(("FAILED", "ERROR", "HARNESS ERROR")):
                        progress(f"[{name}] {line.rstrip()[:300]}")
                code = proc.wait()
            except BaseException:  # interrupted: the workers, drivers and browsers the suite started go too
                terminate_tree(proc)
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    tests = _read_results(results, name)
    counts = {k: sum(1 for t in tests if t["outcome"] == k) for k in ("passed", "failed", "error", "skipped")}
    harness_errors = sorted({t["harness_error"] for t in tests if t.get("harness_error")})
    exit_code = {0: 0, 1: 1, 5: 0}.get(code, 2)
    if harness_errors:
        exit_code = 2
    status = {0: "passed", 1: "failed", 2: "error"}[exit_code]
    if code == 5 or (exit_code == 0 and not counts["passed"] and not counts["failed"]):
        status = "skipped"
    detail = "; ".join(harness_errors) if harness_errors else ""
    if exit_code == 2 and not detail:
        detail = _last_error_line(log, code)
    ran = counts["passed"] + counts["failed"] + counts["error"]
    known = sum(1 for t in tests if t.get("known_issue"))  # counted in "skipped" too, listed in the report
    progress(f"[{name}] {status}: {counts['passed']} passed, {counts['failed']} failed, {counts['error']} errors, "
             f"{counts['skipped']} skipped{f' ({known} of them known site defects)' if known else ''} "
             f"({ran} checks ran, {time.monotonic() - started:.1f}s)" + (f": {detail}" if detail else ""))
    return StageResult(name, status, exit_code, counts, duration_s=time.monotonic() - started, detail=detail,
                       files=[p.name for p in (junit, log, results) if p.exists()], junit=str(junit), tests=tests,
                       extra={"pytest_exit": code, "known_issues": known})


def _read_results(path: Path, stage: str) -> list[dict]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    for t in data:
        t["stage"] = stage
    return data


def _last_error_line(log: Path, code: int) -> str:
    try:
        lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        lines = []
    for ln in reversed(lines):
        if ln.startswith(("ERROR", "E ", "HARNESS ERROR", "Exit:", "!!!")) or "error" in ln.lower():
            return ln[:300]
    return f"pytest exited with status {code}"
