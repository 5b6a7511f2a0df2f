"""A long-lived site, run against again and again (as CI does with a staging instance): every run leaves pushes
behind, and a later run on the healthy site must still pass. One embedded hgweb and one embedded Kallithea are
kept up (`hgharness serve`); the main job runs twice, the site is restarted on the same state, and a third run
passes too.

What the second run met before (issue 23): Kallithea 0.7.0 serves its atom and rss feeds from a cache that no push
invalidates (7 days; it outlives a restart), so they lag the repository by the pushes of the first run. That is
the site's defect, now a known issue of its adapter (reported as such, the run passes); a feed that lags on hgweb,
which declares no such issue, fails (tests/broken_targets.py:stale_feeds)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from contextlib import contextmanager

import pytest

from hgharness.cli import LAYERS
from hgharness.procs import wait_until
from tests.conftest import ROOT, clean_env, run_cli

pytestmark = [pytest.mark.integration]

# the whole main job on the tiny set with the short traffic and load steps a CI job may choose, and without the
# capacity search (19 s a run, read-only): what is tested is the state a run leaves behind (pushes, push checks,
# traffic), not throughput; CI time
ECONOMY = {"HGHARNESS_LOAD_DURATION": "10", "HGHARNESS_TRAFFIC_DURATION": "8", "HGHARNESS_CAPACITY": "0"}


@contextmanager
def serve(site: str, workdir, log):
    """`hgharness serve --site SITE --set tiny --workdir W`, as a user keeps it up; stopped with Ctrl-C."""
    with open(log, "a") as f:
        start = log.stat().st_size
        proc = subprocess.Popen([sys.executable, "-m", "hgharness", "serve", "--site", site, "--set", "tiny",
                                 "--workdir", str(workdir)], cwd=ROOT, env=clean_env(), stdout=f,
                                stderr=subprocess.STDOUT, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        def ready():
            text = log.read_text()[start:]
            assert proc.poll() is None, text
            return (m := re.search(r"URL=(\S+)", text)) and m.group(1)

        yield wait_until(ready, timeout=600, what=f"serve --site {site} to print its URL")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)


def main_job(tmp_path, site: str, url: str, workdir, n: int):
    env = clean_env(HGHARNESS_USERNAME="hgharness", HGHARNESS_PASSWORD=(workdir / "password").read_text().strip(),
                    **ECONOMY)
    if (workdir / "api_key").exists():
        env["HGHARNESS_API_KEY"] = (workdir / "api_key").read_text().strip()
    p = run_cli("run", "--target", url, "--site", site, "--runs-dir", tmp_path / "runs", "--run-id", f"run{n}",
                env=env, timeout=1200)
    summary = json.loads((tmp_path / "runs" / f"run{n}" / "summary.json").read_text())
    assert p.returncode == 0, f"run {n} on the long-lived {site}: exit {p.returncode}\n{p.stdout[-4000:]}"
    assert summary["traffic"]["lost"] == 0 and summary["traffic"]["verified"] == summary["traffic"]["pushed"] > 0
    ran = {st["name"]: st["status"] for st in summary["stages"]}
    # every stage of the main job, each passed; but SSH (the long-lived site is a URL with no ssh_url) and the
    # capacity search, left out (ECONOMY), and the fleet stage (one node: no backends)
    assert ran == {name: "skipped" if name in ("ssh", "capacity", "fleet") else "passed"
                   for name in LAYERS.stages}, ran
    ssh = next(st for st in summary["stages"] if st["name"] == "ssh")
    assert "no SSH URL (ssh_url)" in ssh["detail"], ssh
    return p, summary


def _known(tmp_path, n: int) -> str:
    return (tmp_path / "runs" / f"run{n}" / "junit.xml").read_text()


@pytest.mark.parametrize("site", [pytest.param("hgweb", marks=pytest.mark.heavy(280)),
                                  pytest.param("kallithea", marks=[pytest.mark.kallithea, pytest.mark.heavy(370)])])
def test_runs_again_and_after_a_restart_pass_on_a_long_lived_site(tmp_path, site):
    workdir, log = tmp_path / "site", tmp_path / "serve.log"
    log.touch()
    with serve(site, workdir, log) as url:
        main_job(tmp_path, site, url, workdir, 1)
        _, second = main_job(tmp_path, site, url, workdir, 2)  # the first run's pushes are in the history now
    with serve(site, workdir, log) as url:  # the same repositories, a new process (and a new port)
        main_job(tmp_path, site, url, workdir, 3)
    assert "reusing the repositories" in log.read_text()
    stale = [n for n in (2, 3) if "kallithea-feed-stale-after-push" in _known(tmp_path, n)]
    if site == "kallithea":  # the feeds lag by the earlier runs' pushes, named as Kallithea's defect (not failed)
        assert stale == [2, 3], stale
    else:
        assert not stale and "is stale" not in _known(tmp_path, 2) + _known(tmp_path, 3)
