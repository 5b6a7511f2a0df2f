"""Issue 16 item 7: a run stopped by Ctrl-C or SIGTERM stops everything it started within seconds, leaves nothing
in the temporary directory, exits 128 + the signal (130, 143) and says in its run directory that it was
interrupted. The signal goes to the harness process only, as `kill PID` does."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import psutil
import pytest

from hgharness.procs import wait_until
from tests.conftest import ROOT, clean_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def start(args, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "hgharness", *args, "--runs-dir", str(tmp_path / "runs")],
                            cwd=ROOT, env=clean_env(TMPDIR=str(tmp)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    return proc, tmp


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def names(procs) -> set[str]:
    out = set()
    for p in procs:
        try:
            out.add(p.name())
        except psutil.NoSuchProcess:
            pass
    return out


def interrupt_when(proc, tmp, sig, ready, what: str):
    """Wait until ready(children) holds, snapshot every descendant, send `sig`; then the harness must exit
    128 + sig and no descendant may outlive it by more than 5 s."""
    try:
        try:
            wait_until(lambda: ready(descendants(proc.pid)) or proc.poll() is not None, timeout=300, interval=0.2,
                       what=what)
        except TimeoutError:
            proc.kill()
        if proc.poll() is not None:
            out, err = proc.communicate(timeout=30)
            pytest.fail(f"no {what} before the harness ended (exit {proc.returncode}): {out[-3000:]} {err[-2000:]}")
        children = descendants(proc.pid)  # the fullest tree, just before the signal
        seen = names(children)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    survivors = lambda: [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]  # noqa: E731
    try:
        wait_until(lambda: not survivors(), timeout=5, what="the harness's children to be gone")
    except TimeoutError:
        pytest.fail(f"still running 5 s after the harness exited: {sorted(names(survivors()))}")
    assert proc.returncode == 128 + sig, (proc.returncode, out[-2000:], err)
    assert "interrupted" in err and "Traceback" not in err, err
    left = [x.name for x in tmp.iterdir() if x.name.startswith("hgharness")]
    assert not left, f"left in the temporary directory: {left}"
    return seen


def summary_of(tmp_path) -> dict:
    [run] = (tmp_path / "runs").iterdir()
    return json.loads((run / "summary.json").read_text())


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_load_stops_locust_and_its_developers(tmp_path, sig):
    proc, tmp = start(["load", "--mix", "push-storm", "--users", "4", "--spawn-rate", "4", "--duration", "5m",
                       "--set", "tiny"], tmp_path)
    runs = tmp_path / "runs"

    def developers_at_work(children):  # a Developer user has cloned into its temporary directory
        return any(runs.glob("*/.tmp/hgharness-hguser-*/*/.hg"))

    interrupt_when(proc, tmp, sig, developers_at_work, "a Developer user's clone")
    summary = summary_of(tmp_path)
    assert (summary["verdict"], summary["exit_code"]) == ("interrupted", 128 + sig), summary
    assert not any(runs.glob("*/.tmp")), "the Locust users' temporary directory was left in the run directory"


def test_sigterm_during_the_browser_flows_stops_workers_drivers_and_browsers(tmp_path):
    proc, tmp = start(["run", "--stages", "headless,functional", "-m", "smoke or functional", "--set", "tiny"],
                      tmp_path)

    def browsers_up(children):
        return {"chromedriver"} <= names(children) and any("chrom" in n and n != "chromedriver"
                                                          for n in names(children))

    seen = interrupt_when(proc, tmp, signal.SIGTERM, browsers_up, "chromedriver and a browser")
    assert "chromedriver" in seen, seen
    summary = summary_of(tmp_path)
    assert summary["verdict"] == "interrupted" and summary["exit_code"] == 143, summary
    assert [s["name"] for s in summary["stages"]] == ["headless"], "only the stage that had ended is listed"
