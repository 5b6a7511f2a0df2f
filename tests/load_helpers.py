"""Helpers for the load tests: a delayed reference server and reading a load run's files."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import requests

from hgharness.embedded import free_port
from hgharness.procs import ManagedProcess, wait_until

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def delayed_server(workdir: Path, app: str = "tests.load_slow_app:delayed"):
    """gunicorn (gthread: concurrent requests sleep side by side) serving `app` on loopback; yields its URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HGHARNESS_")}
    env["PYTHONPATH"] = str(ROOT)
    error_log = workdir / "gunicorn-error.log"
    proc = ManagedProcess([gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "1", "--worker-class", "gthread",
                           "--threads", "32", "--no-control-socket", "--error-logfile", str(error_log), app],
                          "delayed server", env=env, cwd=str(ROOT), stderr_path=workdir / "stderr.log")
    url = f"http://127.0.0.1:{port}/"

    def up():
        assert proc.alive(), proc.tail()
        try:
            return requests.get(url, timeout=5).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(up, what=f"delayed server at {url}")
        yield url
        assert "Traceback" not in error_log.read_text(errors="replace")
    finally:
        proc.stop()


def only_run_dir(runs_dir: Path) -> Path:
    dirs = [p for p in runs_dir.iterdir() if p.is_dir()]
    assert len(dirs) == 1, f"expected one run directory in {runs_dir}, found {dirs}"
    return dirs[0]


def load_json(path: Path):
    return json.loads(Path(path).read_text())


def gates_by_name(run_dir: Path) -> dict[str, dict]:
    return {g["gate"]: g for g in load_json(run_dir / "slo.json")["gates"]}


def locust_sample_lines(run_dir: Path) -> list[dict]:
    out = []
    for p in sorted((run_dir / "samples").glob("locust-*.jsonl")):
        out += [json.loads(line) for line in p.read_text().splitlines() if line.strip()]
    return out
